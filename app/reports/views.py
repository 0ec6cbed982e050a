import functools
import hashlib

from flask import Response, current_app, g, json, request
from flask.views import MethodView

from app import cache as shared_cache
from app import conditional, i18n
from app.auth.identity import current_identity, roles_required
from app.conditional import if_match_versions
from app.errors import PROBLEM_DOC, NotFound
from app.extensions import Blueprint, db
from app.geo.arguments import parse_bbox, parse_point
from app.idempotency import service as idempotency
from app.pagination import page_size
from app.photos import processing
from app.photos import service as photos
from app.photos.models import Photo
from app.photos.schemas import (
    BoxesInSchema,
    PhotoKindArgsSchema,
    PhotoPathSchema,
    PhotoSchema,
    PhotoUploadSchema,
)
from app.replica import public_read
from app.reports import cache as page_cache
from app.reports import contact, public, queries, service
from app.reports import photos as report_photos
from app.reports.presentation import REPORT_ID_PARAMETER, report_view
from app.reports.schemas import (
    OwnReportPageSchema,
    OwnReportSchema,
    ReportCollectionSchema,
    ReportContactSchema,
    ReportIdPathSchema,
    ReportInSchema,
    ReportListArgsSchema,
    ReportPageSchema,
    ReportViewSchema,
    SuggestionArgsSchema,
    SuggestionListSchema,
    SupportSchema,
)
from app.users.models import Role

blp = Blueprint(
    "reports", __name__, url_prefix="/v1", description="Residents' reports: submit, read, support"
)

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "description": "A unique key per report (a UUID). Retries with the same key and body get "
    "the original response; keys are kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
# Built once: a schema instance costs more to build than to use (given a class, webargs
# builds one for every request: a tenth of a cached page's time).
OWN_REPORT = OwnReportSchema()
REPORT_IN = ReportInSchema()
LIST_ARGS = ReportListArgsSchema()
SUGGESTION_ARGS = SuggestionArgsSchema()


@blp.route("/reports")
class Reports(MethodView):
    @roles_required(blp, Role.RESIDENT, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    @blp.doc(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(REPORT_IN)
    @blp.response(
        201,
        OwnReportSchema,
        headers={"Location": {"description": "URL of the report", "schema": {"type": "string"}}},
    )
    @blp.alt_response(400, description="Idempotency-Key missing or malformed", **PROBLEM_DOC)
    @blp.alt_response(409, description="Same Idempotency-Key still being processed", **PROBLEM_DOC)
    def post(self, data):
        """Submit a report (Idempotency-Key required)"""
        identity = current_identity()
        key = idempotency.check_key(request.headers.get("Idempotency-Key"))
        outcome = service.submit_report(
            db.session,
            reporter=identity,
            data=data,
            language=data.get("language") or i18n.request_language(),
            idempotency_key=key,
            request_fingerprint=idempotency.fingerprint(request.get_json(silent=True)),
            render=lambda report: OWN_REPORT.dump(service.present(report, identity.uid)),
        )
        response = Response(
            json.dumps(outcome.body), status=outcome.status_code, mimetype="application/json"
        )
        if outcome.location:
            response.headers["Location"] = outcome.location
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @roles_required(blp)
    @blp.arguments(LIST_ARGS, location="query")
    @blp.response(200, ReportPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @public_read
    def get(self, args):
        """Public reports near a point or in a box, newest first (cursor paginated)"""
        return _public_page(args, geojson=False)


@blp.route("/reports/geojson")
class ReportsGeoJSON(MethodView):
    @roles_required(blp)
    @blp.arguments(LIST_ARGS, location="query")
    @blp.response(200, ReportCollectionSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @public_read
    def get(self, args):
        """The same list as a GeoJSON FeatureCollection for maps (`next_cursor` included)"""
        return _public_page(args, geojson=True)


def _shared(build, arguments: dict) -> Response:
    """The public page ``build()`` writes (JSON text), answered as is (no parsing, no
    serialising: app.reports.documents), from the server-side cache when it holds it at the
    current data version (app/reports/cache.py), tagged for conditional GETs. The page is
    the same for every caller, so the entry is shared; the caller's token is checked
    before."""
    document = {
        "path": request.path,
        "arguments": arguments,
        "grid_m": public.grid_of(current_app.config),
    }

    def build_entry() -> shared_cache.Entry:
        body = build().encode()
        return shared_cache.Entry(body, "application/json", conditional.etag_of(body, 32), None)

    entry = shared_cache.fetch(page_cache.for_app(current_app), db.session, document, build_entry)
    return conditional.private(entry.response(), etag=entry.etag)


def _public_page(args: dict, *, geojson: bool) -> Response:
    near, bbox = args.get("near"), args.get("bbox")
    # Normalised: equivalent URLs share an entry (and bad ones are refused before).
    arguments = {
        "after": queries.parse_cursor(args.get("cursor")),  # a bad cursor: 400 first
        "near": list(parse_point(near)) if near else None,
        "radius": args.get("radius", 500) if near else None,
        "bbox": list(parse_bbox(bbox)) if bbox else None,
        "category": args.get("category") or None,
        "status": args.get("status") or None,
        "limit": page_size(args.get("limit")),
    }
    return _shared(
        lambda: queries.public_page(
            db.session,
            grid_m=public.grid_of(current_app.config),
            geojson=geojson,
            near=near,
            radius=args.get("radius", 500),
            bbox=bbox,
            category=arguments["category"],
            status=arguments["status"],
            after=arguments["after"],
            limit=arguments["limit"],
        ),
        arguments,
    )


@blp.route("/reports/suggestions")
class Suggestions(MethodView):
    @roles_required(blp)
    @blp.arguments(SUGGESTION_ARGS, location="query")
    @blp.response(200, SuggestionListSchema)
    @blp.alt_response(422, description="No such category", **PROBLEM_DOC)
    @public_read
    def get(self, args):
        """Before submitting: "is it one of these?" (open reports of the category within
        250 m, best 5, nearest first)"""
        category = service.active_category(db.session, args["category"], field="category")
        lon, lat = args["lon"], args["lat"]
        return _shared(
            lambda: queries.suggestions(
                db.session,
                lon=lon,
                lat=lat,
                category=category.code,
                grid_m=public.grid_of(current_app.config),
            ),
            {"lon": lon, "lat": lat, "category": category.code},
        )


@blp.route("/me/reports")
class MyReports(MethodView):
    @roles_required(blp)
    @blp.arguments(LIST_ARGS, location="query")
    @blp.response(200, OwnReportPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """The caller's own reports, with what they wrote (cursor paginated)"""
        uid = current_identity().uid
        page = queries.own_reports(
            db.session,
            reporter_uid=uid,
            near=args.get("near"),
            radius=args.get("radius", 500),
            bbox=args.get("bbox"),
            category=args.get("category"),
            status=args.get("status"),
            after=queries.parse_cursor(args.get("cursor")),
            limit=page_size(args.get("limit")),
        )
        # The reporter's own fields and exact places: this list is theirs alone.
        shown = photos.photos_of(db.session, [r.id for r in page["items"]])
        page["items"] = [service.present(r, uid, shown.get(r.id, ())) for r in page["items"]]
        return page


@blp.route("/reports/<int:report_id>", parameters=REPORT_ID_PARAMETER)
class ReportById(MethodView):
    @roles_required(blp)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(
        200,
        ReportViewSchema,
        headers={
            "ETag": {
                "description": "The report's version: send it in If-Match with every action",
                "schema": {"type": "string"},
            }
        },
    )
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def get(self, report_id):
        """One report: its public projection (the position on a 50 m grid, the street);
        the reporter's own fields for the reporter; for the report's staff (agents of its
        desk, supervisors, admins, the crew holding it) what the resident said and where
        exactly; for staff, how it is handled"""
        report = service.get_report(db.session, report_id)
        return report_view(report), {"ETag": f'"{report.version}"'}


@blp.route("/reports/<int:report_id>/contact", parameters=REPORT_ID_PARAMETER)
class ReportContact(MethodView):
    @roles_required(blp, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, ReportContactSchema)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def get(self, report_id):
        """The reporter's contact details, for the desk to call back: agents of the
        report's desk, supervisors and admins. Every read is recorded in the audit log."""
        return contact.read_contact(
            db.session, viewer=current_identity(), report_id=report_id, request_id=g.request_id
        )


@blp.route("/reports/<int:report_id>/support", parameters=REPORT_ID_PARAMETER)
class Support(MethodView):
    @roles_required(blp, Role.RESIDENT)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, SupportSchema)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    @blp.alt_response(
        409, description="The reporter cannot support their own report", **PROBLEM_DOC
    )
    def post(self, report_id):
        """Support a report ("me too"): counted once per resident, who then follows it"""
        return service.support(db.session, resident=current_identity(), report_id=report_id)


PHOTO_PARAMETERS = [
    *REPORT_ID_PARAMETER,
    {
        "in": "path",
        "name": "photo_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    },
]


def body_limit(limit: int):
    """Let this endpoint read a body up to ``limit`` bytes (the app's default is 1 MB)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = limit
            return view(*args, **kwargs)

        return wrapper

    return decorator


PHOTO_ETAG_HEADER = {
    "ETag": {
        "description": "The photo's moderation version: send it in If-Match",
        "schema": {"type": "string"},
    }
}
# A report's photos: its sub-resources, documented under the photos' tag (app.photos.views,
# which serves the files they become).
PHOTOS_TAG = ["photos"]


@blp.route("/reports/<int:report_id>/photos", parameters=REPORT_ID_PARAMETER, tags=PHOTOS_TAG)
class Photos(MethodView):
    @roles_required(blp)
    @body_limit(processing.MAX_BYTES + 64 * 1024)
    @blp.doc(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(PhotoKindArgsSchema, location="query")
    @blp.arguments(PhotoUploadSchema, location="files")
    @blp.response(202, PhotoSchema)
    @blp.alt_response(400, description="Idempotency-Key missing or malformed", **PROBLEM_DOC)
    @blp.alt_response(
        403,
        description="Not this caller's to add (not_your_report, photo_not_allowed)",
        **PROBLEM_DOC,
    )
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    @blp.alt_response(
        409,
        description="Five photos of this kind already, or same key in progress",
        **PROBLEM_DOC,
    )
    @blp.alt_response(413, description="Over 20 MB", **PROBLEM_DOC)
    def post(self, args, files, report_id):
        """Add a photo (multipart `file`); processed in the background, then `ready`. `kind`:
        the report's own (its author, or its desk), `after` (the crew holding the ticket,
        or the desk), `reopen` (its author or a supporter)"""
        identity = current_identity()
        key = idempotency.check_key(request.headers.get("Idempotency-Key"))
        data = files["file"].read()
        outcome = report_photos.accept_upload(
            db.session,
            uploader=identity,
            report_id=report_id,
            data=data,
            kind=args["kind"],
            idempotency_key=key,
            request_fingerprint=hashlib.sha256(args["kind"].encode() + b"\n" + data).hexdigest(),
            render=lambda photo: PhotoSchema().dump(photos.present(photo, owner=True)),
        )
        response = Response(
            json.dumps(outcome.body), status=outcome.status_code, mimetype="application/json"
        )
        response.headers["Location"] = outcome.location
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response


@blp.route(
    "/reports/<int:report_id>/photos/<int:photo_id>",
    parameters=PHOTO_PARAMETERS,
    tags=PHOTOS_TAG,
)
class PhotoById(MethodView):
    @roles_required(blp)
    @blp.arguments(PhotoPathSchema, location="path", as_kwargs=True)
    @blp.response(200, PhotoSchema, headers=PHOTO_ETAG_HEADER)
    @blp.alt_response(404, description="No such photo (or not visible to you)", **PROBLEM_DOC)
    def get(self, report_id, photo_id):
        """One photo: its processing status to its uploader, with its moderation to the
        report's staff; others see public photos only (ready and not hidden)"""
        identity = current_identity()
        photo = db.session.get(Photo, photo_id)
        view = None
        if photo is not None and photo.report_id == report_id:
            report = service.get_report(db.session, report_id)
            view = photos.present(
                photo,
                owner=photo.uploaded_by == identity.uid,
                staff=report_photos.is_staff_of(db.session, identity, report),
            )
        if view is None:
            raise NotFound("photo_not_found", id=photo_id)
        return view, {"ETag": report_photos.photo_etag(photo)}


PHOTO_IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The photo's ETag (GET the photo): a stale one gets 412, a missing one 428. "
    "A request that changes nothing (a retry) answers 200 whatever it says.",
    "schema": {"type": "string", "maxLength": 200},
}
MODERATION_ERRORS = (
    (403, "Not an agent of the report's desk, a supervisor or an admin"),
    (404, "No such report or photo"),
    (409, "The photo is not ready (photo_not_ready) or has no unblurred original left"),
    (412, "Stale If-Match: the photo was moderated since"),
    (
        422,
        "A box outside [0, 1] (box_outside_image), empty (box_empty), too many "
        "(too_many_boxes) or unknown ids (unknown_box)",
    ),
    (428, "If-Match missing"),
)


def moderation_doc(view):
    view = blp.doc(parameters=[PHOTO_IF_MATCH_PARAMETER])(view)
    for status, description in MODERATION_ERRORS:
        view = blp.alt_response(status, description=description, **PROBLEM_DOC)(view)
    return view


def _moderated(photo):
    return photos.present(photo, owner=False, staff=True), {"ETag": report_photos.photo_etag(photo)}


@blp.route(
    "/reports/<int:report_id>/photos/<int:photo_id>/boxes",
    parameters=PHOTO_PARAMETERS,
    tags=PHOTOS_TAG,
)
class PhotoBoxes(MethodView):
    @roles_required(blp, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    @moderation_doc
    @blp.arguments(PhotoPathSchema, location="path", as_kwargs=True)
    @blp.arguments(BoxesInSchema)
    @blp.response(200, PhotoSchema, headers=PHOTO_ETAG_HEADER)
    def put(self, data, report_id, photo_id):
        """Set the photo's blur boxes (the report's desk): `keep` some by id, `add` new
        ones; a removed box stays removed. The public files are written again at once, blurred;
        the old ones are withdrawn"""
        photo = report_photos.set_boxes(
            db.session,
            actor=current_identity(),
            report_id=report_id,
            photo_id=photo_id,
            versions=if_match_versions(),
            keep=set(data["keep"]),
            add=data["add"],
        )
        return _moderated(photo)


def _visibility_view(hidden: bool, summary: str):
    def post(self, report_id, photo_id):
        photo = report_photos.set_hidden(
            db.session,
            actor=current_identity(),
            report_id=report_id,
            photo_id=photo_id,
            versions=if_match_versions(),
            hidden=hidden,
        )
        return _moderated(photo)

    post.__doc__ = summary
    decorators = (
        roles_required(blp, Role.AGENT, Role.SUPERVISOR, Role.ADMIN),
        moderation_doc,
        blp.arguments(PhotoPathSchema, location="path", as_kwargs=True),
        blp.response(200, PhotoSchema, headers=PHOTO_ETAG_HEADER),
    )
    for decorator in reversed(decorators):
        post = decorator(post)
    return post


@blp.route(
    "/reports/<int:report_id>/photos/<int:photo_id>/hide",
    parameters=PHOTO_PARAMETERS,
    tags=PHOTOS_TAG,
)
class PhotoHide(MethodView):
    post = _visibility_view(
        True,
        "Hide the photo from the public (the report's desk): its public files are withdrawn "
        "(their addresses stop answering) and only the unblurred original stays, for the "
        "report's staff. Hiding a hidden photo changes nothing",
    )


@blp.route(
    "/reports/<int:report_id>/photos/<int:photo_id>/publish",
    parameters=PHOTO_PARAMETERS,
    tags=PHOTOS_TAG,
)
class PhotoPublish(MethodView):
    post = _visibility_view(
        False,
        "Publish a hidden photo again (the report's desk): its public files are written "
        "again from the original, its boxes blurred (409 photo_no_original once the "
        "retention schedule deleted the original). Publishing a public photo changes nothing",
    )


@blp.route(
    "/reports/<int:report_id>/photos/<int:photo_id>/original",
    parameters=PHOTO_PARAMETERS,
    tags=PHOTOS_TAG,
)
class PhotoOriginal(MethodView):
    @roles_required(blp, Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.CREW)
    @blp.arguments(PhotoPathSchema, location="path", as_kwargs=True)
    @blp.response(
        200, content_type="image/jpeg", description="The unblurred image (metadata stripped)"
    )
    @blp.alt_response(
        403,
        description="Not the report's desk staff nor the crew holding it",
        **PROBLEM_DOC,
    )
    @blp.alt_response(
        404,
        description="No such photo, or no unblurred original kept (photo_no_original)",
        **PROBLEM_DOC,
    )
    def get(self, report_id, photo_id):
        """The photo unblurred, for the report's own staff (agents of its desk,
        supervisors, admins, the crew holding it). Every view is recorded in the audit log
        as a read of personal data; never cached"""
        data = report_photos.read_original(
            db.session,
            viewer=current_identity(),
            report_id=report_id,
            photo_id=photo_id,
            request_id=g.request_id,
        )
        response = Response(data, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, no-store"
        return response
