"""One way to answer a conditional GET of a public document (mobility, open data, Open311,
the public lists of reports), and to read the versions a write's If-Match claims (a
report's triage actions, a photo's moderation).

The answer is the same for every caller, so shared caches may keep it ``max_age`` seconds
(``private``: only the client's own, for documents that need a token); its strong ETag is a
hash of the body, and a client that already has the body gets 304 (If-None-Match, or
If-Modified-Since where the document has a Last-Modified).
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime

from flask import Response, request
from werkzeug.http import parse_etags


def etag_of(body: bytes, length: int = 64) -> str:
    """A strong entity tag for ``body``: its SHA-256 in hex, the first ``length`` digits
    (the open data gives the whole digest, the mobility reads and Open311 32 of them)."""
    return hashlib.sha256(body).hexdigest()[:length]


def public(
    response: Response,
    *,
    etag: str,
    max_age: int,
    last_modified: datetime | float | None = None,
    vary: Iterable[str] = (),
) -> Response:
    """``response`` tagged, publicly cacheable for ``max_age`` seconds, varying with the
    ``vary`` request headers, and answered 304 when the request's conditions hold."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if last_modified is not None:
        response.last_modified = last_modified
    for header in vary:
        response.vary.add(header)
    return response.make_conditional(request)


def private(response: Response, *, etag: str) -> Response:
    """``response`` tagged, for a document that is the same for every caller but needs a
    token (the public lists of reports): shared caches must not keep it (they would hand it
    to requests without one), the client's own cache may, asking each time whether it still
    holds the current body (``no-cache``), answered 304 when it does."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


def if_match_versions() -> list[int] | None:
    """The versions the client says it saw (strong ETags of If-Match); None when absent."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    tags = parse_etags(header)
    if tags.star_tag:
        return None
    # Other tags (weak ones, foreign ones) can never match: the answer is then 412.
    return [int(tag) for tag in tags.as_set() if tag.isascii() and tag.isdigit() and len(tag) < 12]
