from flask.views import MethodView

from app.auth.identity import roles_required
from app.extensions import Blueprint, db
from app.supervision import service
from app.supervision.schemas import CrewsWorkloadSchema, DesksArgsSchema, DesksOverviewSchema
from app.users.models import Role

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/v1/supervision",
    description="Supervision (supervisors, admins): every desk's workload, lateness and "
    "service level, every crew's load",
)

SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)


@blp.route("/desks")
class DesksOverview(MethodView):
    @roles_required(blp, *SUPERVISORS)
    @blp.arguments(DesksArgsSchema, location="query")
    @blp.response(200, DesksOverviewSchema)
    def get(self, args):
        """Every desk: its open reports per state, how many are overdue, its oldest open
        report, and the service level of the reports resolved in the last 30 days"""
        return service.desks_overview(db.session, include_resolved=args["include_resolved"])


@blp.route("/crews")
class CrewsWorkload(MethodView):
    @roles_required(blp, *SUPERVISORS)
    @blp.response(200, CrewsWorkloadSchema)
    def get(self):
        """Every crew with its desk, capacity, workload (as routing counts it), overdue
        tickets and load"""
        return service.crews_workload(db.session)
