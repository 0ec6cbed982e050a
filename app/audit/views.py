from flask.views import MethodView

from app.audit import service
from app.audit.schemas import PersonalDataReadArgsSchema, PersonalDataReadPageSchema
from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.pagination import page_size
from app.users.models import Role

blp = Blueprint(
    "audit", __name__, url_prefix="/v1", description="Audit log of staff access to personal data"
)


@blp.route("/audit/personal-data-reads")
class PersonalDataReads(MethodView):
    @roles_required(blp, Role.SUPERVISOR, Role.ADMIN, Role.PRIVACY_OFFICER)
    @blp.arguments(PersonalDataReadArgsSchema, location="query")
    @blp.response(200, PersonalDataReadPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Staff reads of reporters' contact details: who, when, which report, which
        request; newest first (cursor paginated)"""
        return service.personal_data_reads(
            db.session,
            actor_uid=args["actor"],
            report_id=args["report"],
            since=args["since"],
            until=args["until"],
            after=service.parse_cursor(args["cursor"]),
            limit=page_size(args["limit"]),
        )
