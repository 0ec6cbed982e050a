"""The photos' files. Adding a photo to a report and reading its status are the report's
sub-resources (app.reports.views, under this blueprint's tag)."""

from flask import Response
from flask.views import MethodView

from app.errors import PROBLEM_DOC, NotFound
from app.extensions import Blueprint
from app.photos import service

blp = Blueprint("photos", __name__, url_prefix="/v1", description="Report photos")

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
