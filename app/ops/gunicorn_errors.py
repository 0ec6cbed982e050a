"""The answers gunicorn writes itself, before the application sees the request (a request
line or headers over its limits, a malformed request), as problem+json like every other
error of the API instead of gunicorn's HTML page.

gunicorn has no setting or hook for that page: its worker calls ``gunicorn.util.write_error``,
which :func:`install` replaces in each worker (``post_worker_init`` in gunicorn_conf.py).
The request was not read, so its language is not known: French, the service's default.
"""

import json
import uuid
from http import HTTPStatus

from app import i18n
from app.errors import PROBLEM_MEDIA_TYPE, TYPE_BASE

# gunicorn's status -> our code (its own wording is kept as the detail where useful).
CODES = {
    400: "bad_request",
    403: "request_refused",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "header_fields_too_large",
    500: "internal_error",
    501: "transfer_coding_unsupported",
}
DETAIL_MAX = 200


def problem(status: int, detail: str, limits: dict) -> bytes:
    """The whole HTTP answer for gunicorn's ``status`` (``detail``: gunicorn's message)."""
    code = CODES.get(status, "bad_request")
    request_id = uuid.uuid4().hex
    body = {
        "type": TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": i18n.message(
            code,
            i18n.DEFAULT,
            detail=detail[:DETAIL_MAX],
            request_id=request_id,
            **limits,
        ),
        "code": code,
        "request_id": request_id,
    }
    content = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_MEDIA_TYPE}\r\n"
        f"Content-Language: {i18n.DEFAULT}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"X-Request-ID: {request_id}\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    )
    return head.encode("latin-1") + content


def install(cfg) -> None:
    """Make this gunicorn worker answer its own errors as problem+json."""
    from gunicorn import util

    limits = {
        "limit": cfg.limit_request_line,
        "fields": cfg.limit_request_fields,
        "size": cfg.limit_request_field_size,
    }

    def write_error(sock, status_int, reason, mesg):
        util.write_nonblock(sock, problem(int(status_int), str(mesg), limits))

    util.write_error = write_error
