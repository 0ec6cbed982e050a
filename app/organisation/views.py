from flask.views import MethodView

from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.organisation import service
from app.organisation.schemas import (
    CODE_PATTERN,
    CrewCodePathSchema,
    CrewInSchema,
    CrewSchema,
    DeskSchema,
    RoutingRuleInSchema,
    RoutingRuleSchema,
    RuleIdPathSchema,
)
from app.readonly import read_only
from app.users.models import STAFF_ROLES, Role

blp = Blueprint(
    "organisation",
    __name__,
    url_prefix="/v1",
    description="Desks of the control centre, field crews and routing rules",
)

INVALID_INPUT = "Invalid field, unknown desk or category, or invalid geometry (invalid_geometry)"


@blp.route("/desks")
class Desks(MethodView):
    @roles_required(blp, *STAFF_ROLES)
    @blp.response(200, DeskSchema(many=True))
    @read_only
    def get(self):
        """The control centre's desks"""
        return service.list_desks(db.session)


@blp.route("/crews")
class Crews(MethodView):
    @roles_required(blp, *STAFF_ROLES)
    @blp.response(200, CrewSchema(many=True))
    def get(self):
        """Field crews: desk, skills, zone, depot, working hours, capacity"""
        return service.list_crews(db.session)


@blp.route(
    "/admin/crews/<string:code>",
    parameters=[
        {
            "in": "path",
            "name": "code",
            "required": True,
            "schema": {"type": "string", "pattern": CODE_PATTERN, "maxLength": 40},
        }
    ],
)
class AdminCrew(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(CrewCodePathSchema, location="path", as_kwargs=True)
    @blp.arguments(CrewInSchema)
    @blp.response(200, CrewSchema)
    @blp.alt_response(422, description=INVALID_INPUT, **PROBLEM_DOC)
    def put(self, data, code):
        """Create or replace a crew (GeoJSON zone and depot)"""
        crew, _ = service.put_crew(db.session, code=code, **data)
        return service.get_crew(db.session, crew.code)

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(CrewCodePathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No crew with this code", **PROBLEM_DOC)
    @blp.alt_response(409, description="Staff still belong to this crew", **PROBLEM_DOC)
    def delete(self, code):
        """Delete a crew (its reports keep their desk and lose the crew)"""
        service.delete_crew(db.session, code)


RULE_ID_PARAMETER = [
    {
        "in": "path",
        "name": "rule_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }
]


@blp.route("/admin/routing-rules")
class AdminRoutingRules(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, RoutingRuleSchema(many=True))
    def get(self):
        """Routing rules, in priority order"""
        return service.list_rules(db.session)

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(RoutingRuleInSchema)
    @blp.response(201, RoutingRuleSchema)
    @blp.alt_response(409, description="Another rule has this priority", **PROBLEM_DOC)
    @blp.alt_response(422, description=INVALID_INPUT, **PROBLEM_DOC)
    def post(self, data):
        """Add a routing rule"""
        return service.create_rule(db.session, data)


@blp.route("/admin/routing-rules/<int:rule_id>", parameters=RULE_ID_PARAMETER)
class AdminRoutingRule(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(RuleIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(RoutingRuleInSchema)
    @blp.response(200, RoutingRuleSchema)
    @blp.alt_response(404, description="No routing rule with this id", **PROBLEM_DOC)
    @blp.alt_response(409, description="Another rule has this priority", **PROBLEM_DOC)
    @blp.alt_response(422, description=INVALID_INPUT, **PROBLEM_DOC)
    def put(self, data, rule_id):
        """Replace a routing rule"""
        return service.replace_rule(db.session, rule_id, data)

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(RuleIdPathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No routing rule with this id", **PROBLEM_DOC)
    def delete(self, rule_id):
        """Delete a routing rule"""
        service.delete_rule(db.session, rule_id)
