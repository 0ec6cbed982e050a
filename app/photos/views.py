import functools
import hashlib

from flask import Response, json, request
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC, NotFound
from app.extensions import Blueprint, db
from app.idempotency import service as idempotency
from app.photos import processing, service
from app.photos.models import Photo
from app.photos.schemas import (
    PhotoKindArgsSchema,
    PhotoPathSchema,
    PhotoSchema,
    PhotoUploadSchema,
)
from app.reports.views import IDEMPOTENCY_KEY_PARAMETER, REPORT_ID_PARAMETER

blp = Blueprint("photos", __name__, url_prefix="/v1", description="Report photos")

PHOTO_PARAMETERS = [
    *REPORT_ID_PARAMETER,
    {
        "in": "path",
        "name": "photo_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    },
]
MEDIA_PARAMETER = [
    {
        "in": "path",
        "name": "key",
        "required": True,
        "schema": {
            "type": "string",
            "pattern": r"^(display|thumbnails)/[0-9a-f]{2}/"
            r"[0-9a-f]{64}\.jpg$",
        },
    }
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


@blp.route("/reports/<int:report_id>/photos", parameters=REPORT_ID_PARAMETER)
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
        outcome = service.accept_upload(
            db.session,
            uploader=identity,
            report_id=report_id,
            data=data,
            kind=args["kind"],
            idempotency_key=key,
            request_fingerprint=hashlib.sha256(args["kind"].encode() + b"\n" + data).hexdigest(),
            render=lambda photo: PhotoSchema().dump(service.present(photo, owner=True)),
        )
        if not outcome.replayed:
            service.enqueue(outcome.body["id"])
        response = Response(
            json.dumps(outcome.body), status=outcome.status_code, mimetype="application/json"
        )
        response.headers["Location"] = outcome.location
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response


@blp.route("/reports/<int:report_id>/photos/<int:photo_id>", parameters=PHOTO_PARAMETERS)
class PhotoById(MethodView):
    @roles_required(blp)
    @blp.arguments(PhotoPathSchema, location="path", as_kwargs=True)
    @blp.response(200, PhotoSchema)
    @blp.alt_response(404, description="No such photo (or not visible to you)", **PROBLEM_DOC)
    def get(self, report_id, photo_id):
        """One photo: its processing status; others see ready photos only"""
        photo = db.session.get(Photo, photo_id)
        view = None
        if photo is not None and photo.report_id == report_id:
            view = service.present(photo, owner=photo.uploaded_by == current_identity().uid)
        if view is None:
            raise NotFound("photo_not_found", id=photo_id)
        return view


@blp.route("/media/<path:key>", parameters=MEDIA_PARAMETER)
class Media(MethodView):
    @blp.response(200, content_type="image/jpeg", description="The image (metadata stripped)")
    @blp.alt_response(404, description="No such image", **PROBLEM_DOC)
    def get(self, key):
        """A processed photo (display size or thumbnail); names are content hashes"""
        if not key.startswith(("display/", "thumbnails/")) or not key.endswith(".jpg"):
            raise NotFound("not_found")
        try:
            data = service.storage().get(key)
        except (FileNotFoundError, ValueError) as exc:
            raise NotFound("not_found") from exc
        response = Response(data, mimetype="image/jpeg")
        # Content-addressed: the bytes behind a name never change.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
