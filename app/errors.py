"""Domain errors and their RFC 9457 problem+json rendering.

Every error response of the API goes through :func:`problem_response`, so clients can rely
on one shape: ``type``, ``title``, ``status``, ``detail``, ``code`` (stable, machine
readable), ``instance`` and, for validation errors, ``errors`` (field -> messages), all in
the request's language (field messages through :mod:`app.field_messages`).
"""

import logging
from http import HTTPStatus

import marshmallow as ma
import redis
from flask import Response, g, json, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from app import field_messages, i18n

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://signale.metropole-dijon.fr/problems/"

log = logging.getLogger(__name__)


class Problem(Exception):
    """An error a client can act on. ``code`` selects the message in :mod:`app.i18n`."""

    status = 400

    def __init__(
        self,
        error_code: str,
        status: int | None = None,
        /,
        *,
        errors=None,
        headers=None,
        extra=None,
        **params,
    ):
        super().__init__(error_code)
        self.code = error_code
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers or {}
        # RFC 9457 extension members (e.g. the current state of what the client is changing).
        self.extra = extra or {}
        self.params = params


class NotFound(Problem):
    status = 404


class Unauthorized(Problem):
    status = 401

    def __init__(self, error_code: str = "authentication_required", /, **params):
        super().__init__(
            error_code, headers={"WWW-Authenticate": 'Bearer realm="signale"'}, **params
        )


class Forbidden(Problem):
    status = 403


class Conflict(Problem):
    status = 409


class Unprocessable(Problem):
    status = 422


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response of this API is shaped."""

    class Meta:
        # Extension members (RFC 9457 section 3.2): e.g. the current report with a 412.
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"description": "URI identifying the problem type"})
    title = ma.fields.String(metadata={"description": "Short summary of the HTTP status"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(
        metadata={"description": "What went wrong and how to fix it, in the request language"}
    )
    code = ma.fields.String(metadata={"description": "Stable machine-readable error code"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    request_id = ma.fields.String(metadata={"description": "Echo of X-Request-ID"})
    errors = ma.fields.Dict(
        metadata={"description": "Validation errors: field (by location) -> messages"}
    )


# For `Blueprint.alt_response(status, description=..., **PROBLEM_DOC)`.
PROBLEM_DOC = {"schema": ProblemSchema, "content_type": PROBLEM_MEDIA_TYPE}


def problem_response(
    status: int, error_code: str, /, *, errors=None, headers=None, extra=None, **params
) -> Response:
    code = error_code
    lang = i18n.request_language()
    # What a message names from a check (a field message as its reason) is in its language.
    params = {key: field_messages.translate(value, lang) for key, value in params.items()}
    body = {
        **(extra or {}),
        "type": TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": i18n.message(code, lang, **params),
        "code": code,
        "instance": request.path,
    }
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = field_messages.localise_errors(errors, lang)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers["Content-Language"] = lang
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# Codes for the HTTP errors Werkzeug and Flask raise themselves. A 429 is the limiter's, which
# answers it itself (app.ratelimit).
_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "forbidden_role",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    503: "service_unavailable",
}


def handle_problem(error: Problem) -> Response:
    return problem_response(
        error.status,
        error.code,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
        **error.params,
    )


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return handle_unexpected(error)
    data = getattr(error, "data", None) or {}
    code = _HTTP_CODES.get(status, "bad_request")
    params = {}
    errors = None
    headers = dict(data.get("headers") or {})
    if status == 422:
        errors = data.get("messages") or data.get("errors")
        if _is_json_decode_error(errors):
            code, errors = "malformed_json", None
    elif status == 405:
        allowed = error.valid_methods or []
        params = {"method": request.method, "allowed": ", ".join(allowed)}
        headers["Allow"] = ", ".join(allowed)
    elif status == 413:
        from flask import current_app

        params = {"limit": current_app.config.get("MAX_CONTENT_LENGTH")}
    elif status == 400:
        if request.is_json and _body_is_not_json():
            code = "malformed_json"
        params = {"detail": error.description or ""}
    return problem_response(status, code, errors=errors, headers=headers, **params)


def _body_is_not_json() -> bool:
    try:
        json.loads(request.get_data(cache=True) or b"")
    except ValueError:
        return True
    return False


def _is_json_decode_error(errors) -> bool:
    """webargs reports an undecodable JSON body as ``{"json": {"_schema": [...]}}``."""
    if not isinstance(errors, dict) or set(errors) != {"json"}:
        return False
    inner = errors["json"]
    if isinstance(inner, dict) and set(inner) == {"_schema"}:
        return any("Invalid JSON" in str(m) for m in inner["_schema"])
    return False


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.path})
    return problem_response(500, "internal_error", request_id=g.get("request_id", "-"))


def handle_dependency_down(error: Exception) -> Response:
    """PostgreSQL or Redis unreachable: the client may retry; nothing was half-done."""
    log.error("dependency unavailable: %s", error.__class__.__name__, exc_info=error)
    what = "redis" if isinstance(error, redis.RedisError) else "database"
    return problem_response(503, "service_unavailable", headers={"Retry-After": "10"}, detail=what)


def register(app) -> None:
    """Map every error the application can raise to a problem+json response."""
    app.register_error_handler(Problem, handle_problem)
    for dependency_error in (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        # Every connection of the process's pool busy for pool_timeout: with gthread
        # workers, more requests than connections can run at once.
        sa_exc.TimeoutError,
        redis.ConnectionError,
        redis.TimeoutError,
    ):
        app.register_error_handler(dependency_error, handle_dependency_down)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
