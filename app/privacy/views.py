from flask import g
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.i18n import request_language
from app.photos.service import storage
from app.privacy import service
from app.privacy.schemas import ErasureSchema, MyDataSchema

blp = Blueprint(
    "privacy", __name__, url_prefix="/v1", description="Residents' rights over their data"
)


@blp.route("/me/data")
class MyData(MethodView):
    @roles_required(blp)
    @blp.response(200, MyDataSchema)
    def get(self):
        """Everything Signale holds about the caller, as one document (GDPR art. 15, 20)"""
        return service.export(db.session, identity=current_identity())


@blp.route("/me")
class MyErasure(MethodView):
    @roles_required(blp)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(
        403, description="Staff accounts are managed by admins, not erased", **PROBLEM_DOC
    )
    def delete(self):
        """Erase the caller's personal data (GDPR art. 17); idempotent: a second call
        answers the same shape with zero counts"""
        counts, files = service.erase(
            db.session, identity=current_identity(), request_id=g.request_id
        )
        # After the commit: a file whose deletion fails is linked to nothing any more.
        service.delete_files(storage(), files)
        return service.answer(counts, request_language())
