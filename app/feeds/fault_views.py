"""Admin endpoints of the fault mappings: which equipment states open tickets.

A blueprint of its own beside the feed registry's (views.py), so the two evolve apart.
"""

from flask.views import MethodView

from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.feeds import faults
from app.feeds.models import FAULT_ATTRIBUTES
from app.feeds.schemas import (
    ENTITY_TYPE_PATTERN,
    FAULT_VALUE_PATTERN,
    FaultMappingInSchema,
    FaultMappingPathSchema,
    FaultMappingSchema,
)
from app.users.models import Role

blp = Blueprint(
    "feed_faults",
    __name__,
    url_prefix="/v1/admin",
    description="Equipment states reported by sensor feeds that open tickets (admins)",
)

KEY_PARAMETERS = [
    {
        "in": "path",
        "name": "entity_type",
        "required": True,
        "schema": {"type": "string", "pattern": ENTITY_TYPE_PATTERN, "maxLength": 64},
    },
    {
        "in": "path",
        "name": "attribute",
        "required": True,
        "schema": {"type": "string", "enum": list(FAULT_ATTRIBUTES)},
    },
    {
        "in": "path",
        "name": "value",
        "required": True,
        "schema": {"type": "string", "pattern": FAULT_VALUE_PATTERN, "maxLength": 40},
    },
]


@blp.route("/feed-fault-mappings")
class FaultMappings(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, FaultMappingSchema(many=True))
    def get(self):
        """Every fault mapping, by entity type, attribute and value"""
        return faults.list_mappings(db.session)


@blp.route(
    "/feed-fault-mappings/<string:entity_type>/<string:attribute>/<string:value>",
    parameters=KEY_PARAMETERS,
)
class FaultMapping(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FaultMappingPathSchema, location="path", as_kwargs=True)
    @blp.arguments(FaultMappingInSchema)
    @blp.response(200, FaultMappingSchema)
    @blp.alt_response(
        422, description="Invalid field, or an unknown or inactive category", **PROBLEM_DOC
    )
    def put(self, data, entity_type, attribute, value):
        """Create or replace the mapping of an entity type's attribute value (used from the
        next poll on; `active: false` suspends it)"""
        mapping, _ = faults.put_mapping(db.session, entity_type, attribute, value, data)
        return mapping

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FaultMappingPathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No mapping for this key", **PROBLEM_DOC)
    def delete(self, entity_type, attribute, value):
        """Delete a mapping (this state no longer opens tickets)"""
        faults.delete_mapping(db.session, entity_type, attribute, value)
