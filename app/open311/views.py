"""Open311 GeoReport v2 under /open311/v2 (format by extension), and the admin endpoints
that issue partner keys (/v1/admin/open311-keys, in our OpenAPI document).

The GeoReport endpoints are a plain Flask blueprint, kept out of our OpenAPI document: the
GeoReport v2 specification is their contract, they answer XML as well as JSON, and their
errors are the spec's error documents rather than problem+json.
"""

import logging

import redis
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, g, request
from flask.views import MethodView
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from app import cache as shared_cache
from app import clock, conditional, field_messages, i18n
from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC, Problem
from app.extensions import Blueprint, db
from app.open311 import arguments, ratelimit, service
from app.open311 import cache as document_cache
from app.open311.errors import Open311Error, describe, not_found
from app.open311.formats import errors_document, render, render_requests
from app.open311.queries import Presentation
from app.open311.schemas import (
    ApiKeyCreatedSchema,
    ApiKeyIdPathSchema,
    ApiKeyInSchema,
    ApiKeyListArgsSchema,
    ApiKeyPageSchema,
    ApiKeySchema,
)
from app.pagination import decode_cursor, page_size
from app.replica import public_read
from app.urls import public_base, public_url
from app.users.models import Role

log = logging.getLogger(__name__)

georeport = FlaskBlueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(xml, json):fmt>"
# How long shared caches may keep a document: requests move within minutes, the catalogue
# within days, the discovery document with our releases.
REQUESTS_MAX_AGE = 60
SERVICES_MAX_AGE = 600
DISCOVERY_MAX_AGE = 3600


@georeport.before_request
def _check_request():
    arguments.check_text(request.args, *(str(v) for v in (request.view_args or {}).values()))
    if request.method == "POST":
        arguments.check_text(request.form)
    jurisdiction = request.values.get("jurisdiction_id")
    ours = current_app.config["OPEN311_JURISDICTION_ID"]
    if jurisdiction and jurisdiction != ours:
        raise not_found("jurisdiction_not_found", jurisdiction=jurisdiction[:100], ours=ours)


@georeport.after_request
def _open_to_other_sites(response):
    # Public open data: any web application may read it from the browser.
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _etag(body: bytes) -> str:
    return conditional.etag_of(body, 32)


def cacheable(
    response: Response,
    *,
    max_age: int,
    last_modified=None,
    by_language: bool = True,
    etag: str | None = None,
) -> Response:
    """Public caching of a GET answer (app/conditional.py): its ETag (a hash of the body),
    Last-Modified where the document has a natural one, and Vary on the language its names
    and descriptions are in."""
    return conditional.public(
        response,
        etag=etag or _etag(response.get_data()),
        max_age=max_age,
        last_modified=last_modified,
        vary=("Accept-Language",) if by_language else (),
    )


def cached(build, *, arguments: dict, max_age: int) -> Response:
    """The document ``build()`` answers (a response and its Last-Modified), from the
    server-side cache when it holds it at the current data version (app/open311/cache.py):
    a hit, a 304 included, sends one cheap statement instead of the document's (and the
    database's time, for the default 90-day window of requests)."""
    document = {
        "path": request.path,
        "arguments": arguments,
        "language": i18n.request_language(),
        "base": public_base(),
        "grid_m": current_app.config["OPEN311_LOCATION_GRID_M"],
    }

    def build_entry() -> document_cache.Entry:
        response, last_modified = build()
        body = response.get_data()
        modified = last_modified.timestamp() if last_modified else None
        return document_cache.Entry(body, response.mimetype, _etag(body), modified)

    documents = document_cache.for_app(current_app)
    entry = shared_cache.fetch(documents, db.session, document, build_entry)
    return cacheable(
        entry.response(), max_age=max_age, last_modified=entry.last_modified, etag=entry.etag
    )


@georeport.get(f"/discovery.{FMT}")
def discovery(fmt):
    config = current_app.config
    document = service.discovery(
        url=public_url(georeport.url_prefix + "/"),
        contact=config["OPEN311_CONTACT"],
        key_service=config["OPEN311_KEY_SERVICE"],
        endpoint_type=config["OPEN311_ENDPOINT_TYPE"],
    )
    return cacheable(
        render(fmt, "discovery", document),
        max_age=DISCOVERY_MAX_AGE,
        last_modified=service.CHANGESET,
        by_language=False,
    )


@georeport.get(f"/services.{FMT}")
@public_read
def services(fmt):
    def build():
        document, changed_at = service.services(db.session, i18n.request_language())
        return render(fmt, "services", document), changed_at

    return cached(build, arguments={}, max_age=SERVICES_MAX_AGE)


@georeport.get(f"/services/<service_code>.{FMT}")
@public_read
def service_definition(service_code, fmt):
    def build():
        definition, changed_at = service.service_definition(
            db.session, service_code, i18n.request_language()
        )
        return render(fmt, "service_definition", definition), changed_at

    return cached(build, arguments={}, max_age=SERVICES_MAX_AGE)


def _presentation(extensions: bool) -> Presentation:
    return Presentation(
        grid_m=current_app.config["OPEN311_LOCATION_GRID_M"],
        lang=i18n.request_language(),
        media_base=public_url("v1/media/"),
        extensions=extensions,
    )


@georeport.get(f"/requests.{FMT}")
@public_read
def requests(fmt):
    # The database's clock (app.clock), read only when the default window needs it.
    filters = arguments.search_filters(request.args, now=lambda: clock.now(db.session))

    def build():
        how = _presentation(filters["extensions"])
        found = service.find_requests(db.session, how, filters)
        return render_requests(fmt, found.documents), found.updated_at

    return cached(build, arguments=arguments.normalised(filters), max_age=REQUESTS_MAX_AGE)


@georeport.post(f"/requests.{FMT}")
def create_request(fmt):
    api_key = request.form.get("api_key")
    if not api_key:
        raise Open311Error(403, "api_key_required")
    key = service.authenticate(db.session, api_key)
    if key is None:
        raise Open311Error(403, "api_key_invalid")
    ratelimit.enforce(key)
    submission = arguments.submission(request.form)
    created = service.submit(
        db.session, key=key, submission=submission, language=i18n.request_language()
    )
    return render(fmt, "service_requests", [created], status=201)


@georeport.get(f"/requests/<request_id>.{FMT}")
@public_read
def request_by_id(request_id, fmt):
    extensions = (request.args.get("extensions") or "").lower() == "true"

    def build():
        found = service.get_request(db.session, request_id, _presentation(extensions))
        return render_requests(fmt, found.documents), found.updated_at

    return cached(build, arguments={"extensions": extensions}, max_age=REQUESTS_MAX_AGE)


@georeport.get(f"/tokens/<token>.{FMT}")
def token(token, fmt):
    return render(fmt, "service_requests", [service.request_for_token(db.session, token)])


_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@georeport.route("/", methods=_ANY_METHOD, defaults={"anything": ""})
@georeport.route("/<path:anything>", methods=_ANY_METHOD)
def fallback(anything):
    """Unknown paths and formats, or a method a known path does not take."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(method=method)
        except (HTTPException, RequestRedirect):
            continue
        if endpoint != "open311.fallback":
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()


# --- errors: the spec's error documents ----------------------------------------------------


def _format() -> str:
    return "json" if request.path.endswith(".json") else "xml"


def _errors(status: int, descriptions: list[str], headers=None):
    document = errors_document([(status, d) for d in descriptions])
    response = render(_format(), "errors", document, status=status, headers=headers)
    response.headers["Content-Language"] = i18n.request_language()
    return response


@georeport.errorhandler(Open311Error)
def _open311_error(error: Open311Error):
    return _errors(error.status, error.descriptions, error.headers)


# Field names of our intake, as an Open311 client named them.
_FIELDS = {"category": "service_code", "location": "lat/long", "answers": "attribute"}


def _flatten(errors, path=()) -> list[str]:
    if isinstance(errors, dict):
        found = []
        for key, value in errors.items():
            found += _flatten(value, (*path, str(key)))
        return found
    messages = errors if isinstance(errors, list) else [errors]
    names = [p for p in path if p not in ("json", "query", "form")]
    if names and names[0] == "answers" and len(names) > 1:
        field = f"attribute[{names[1]}]"
    elif names:
        field = _FIELDS.get(names[0], names[-1])
    else:
        field = "request"
    return [f"{field}: {'; '.join(str(m) for m in messages)}"]


@georeport.errorhandler(Problem)
def _problem(error: Problem):
    """Shared code (intake, answers) refused the request: said the Open311 way."""
    status = 400 if error.status in (400, 422) else error.status
    descriptions = _flatten(field_messages.localise_errors(error.errors)) if error.errors else []
    # These summaries point at problem+json's "errors" member, which these documents lack.
    if error.code not in ("invalid_answers", "validation_failed") or not descriptions:
        descriptions.insert(0, i18n.message(error.code, **error.params))
    return _errors(status, descriptions, error.headers)


@georeport.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        return _unexpected(error)
    headers = {}
    if status == 404:
        description = describe("not_found")
    elif status == 405:
        allowed = ", ".join(error.valid_methods or [])
        headers["Allow"] = allowed
        description = describe("method_not_allowed", method=request.method, allowed=allowed)
    elif status == 413:
        description = describe("request_too_large")
    else:
        description = f"{error.name}: {error.description}"
    return _errors(status, [description], headers)


def _dependency_down(error: Exception):
    log.error("dependency unavailable: %s", error.__class__.__name__, exc_info=error)
    return _errors(503, [describe("service_unavailable")], {"Retry-After": "10"})


for _down in (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
):
    georeport.register_error_handler(_down, _dependency_down)


@georeport.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("unhandled error", extra={"path": request.path})
    return _errors(500, [describe("internal_error") + f" ({g.get('request_id', '-')})"])


# --- admin: partner keys (in the OpenAPI document) -----------------------------------------

blp = Blueprint(
    "open311_keys",
    __name__,
    url_prefix="/v1",
    description="Open311 partner keys: issue, list, revoke",
)


def _key_cursor(key: list) -> list:
    """A cursor of the key list carries the last key's id (any other value: a bad cursor)."""
    (key_id,) = key
    if type(key_id) is not int or not 0 <= key_id < 2**31:
        raise ValueError("not a key id")
    return [key_id]


@blp.route("/admin/open311-keys")
class ApiKeys(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(ApiKeyListArgsSchema, location="query")
    @blp.response(200, ApiKeyPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Partner keys, revoked ones included (cursor paginated; never the keys themselves)"""
        return service.list_keys(
            db.session,
            after=decode_cursor(args["cursor"], 1, parse=_key_cursor),
            limit=page_size(args["limit"]),
        )

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(ApiKeyInSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data):
        """Issue a key to a partner application: the answer shows it once, only its hash is
        kept"""
        return service.create_key(
            db.session,
            actor=current_identity(),
            name=data["name"],
            contact=data["contact"],
            rate_limit=data["rate_limit"] or current_app.config["OPEN311_DEFAULT_RATE_LIMIT"],
        )


@blp.route(
    "/admin/open311-keys/<int:key_id>",
    parameters=[
        {
            "in": "path",
            "name": "key_id",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        }
    ],
)
class ApiKeyById(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(ApiKeyIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, ApiKeySchema)
    @blp.alt_response(404, description="No such key", **PROBLEM_DOC)
    def delete(self, key_id):
        """Revoke a key: requests with it are refused from now on (the key is kept, revoked)"""
        return service.revoke_key(db.session, key_id)
