from flask.views import MethodView

from app.extensions import Blueprint, db
from app.organisation import service
from app.organisation.schemas import (
    CODE_PATTERN,
    CrewCodePathSchema,
    CrewInSchema,
    CrewSchema,
    DeskSchema,
)
from app.users.identity import roles_required
from app.users.models import STAFF_ROLES, Role

blp = Blueprint(
    "organisation",
    __name__,
    url_prefix="/v1",
    description="Desks of the control centre and field crews",
)


@blp.route("/desks")
class Desks(MethodView):
    @roles_required(blp, *STAFF_ROLES)
    @blp.response(200, DeskSchema(many=True))
    def get(self):
        """The control centre's desks"""
        return service.list_desks(db.session)


@blp.route("/crews")
class Crews(MethodView):
    @roles_required(blp, *STAFF_ROLES)
    @blp.response(200, CrewSchema(many=True))
    def get(self):
        """Field crews and the desk each belongs to"""
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
    def put(self, data, code):
        """Create or update a crew"""
        crew, _ = service.put_crew(db.session, code=code, **data)
        return crew
