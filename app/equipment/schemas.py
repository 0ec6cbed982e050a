import marshmallow as ma

from app.assets.models import REFERENCE_PATTERN
from app.equipment.commands import COMMANDS, STATES, described
from app.pagination import PageArgsSchema, page_schema

REASON = ma.fields.String(
    required=True,
    validate=ma.validate.Length(min=3, max=500),
    metadata={"description": "Why (kept in the audit trail): a storm, an event, an accident..."},
)


class CommandPolygonSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(("Polygon", "MultiPolygon")))
    # Any JSON inside (null included): what is not a polygon's rings is the service's
    # invalid_polygon, with the reason.
    coordinates = ma.fields.List(ma.fields.Raw(allow_none=True), required=True)


class CommandStreetSchema(ma.Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=2, max=200),
        metadata={"description": "The street's name as in the Base Adresse Nationale"},
    )
    commune_insee = ma.fields.String(
        load_default=None, validate=ma.validate.Regexp(r"^\d[\dAB]\d{3}$")
    )
    within_m = ma.fields.Integer(
        load_default=25,
        validate=ma.validate.Range(min=1, max=100),
        metadata={"description": "Equipment within this distance of the street's addresses"},
    )


class CommandSelectionSchema(ma.Schema):
    references = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(REFERENCE_PATTERN)),
        validate=ma.validate.Length(min=1, max=5000),
        load_default=None,
    )
    # Absent when not the way chosen, never null: a nullable nested object is documented as
    # "any object or null", which would let a schema-valid {} through to a refusal.
    polygon = ma.fields.Nested(CommandPolygonSchema)
    street = ma.fields.Nested(CommandStreetSchema)


class CommandInSchema(ma.Schema):
    command = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(tuple(COMMANDS)),
        metadata={"description": described()},
    )
    level = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=0, max=100),
        metadata={"description": "dim only: the level, 0-100 %"},
    )
    reason = REASON


class SelectionInSchema(CommandInSchema):
    selection = ma.fields.Nested(
        CommandSelectionSchema,
        required=True,
        metadata={
            "description": "Exactly one of: `references` (a list), `polygon` (GeoJSON drawn "
            "on the map) or `street` (the equipment along a street of the BAN)"
        },
    )


class DecisionSchema(ma.Schema):
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))


class CommandSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True)
    uid = ma.fields.String(required=True, metadata={"description": "As the broker knows it"})
    asset = ma.fields.String(required=True, metadata={"description": "The asset's reference"})
    selection_id = ma.fields.String(required=True, allow_none=True)
    command = ma.fields.String(required=True)
    level = ma.fields.Integer(required=True, allow_none=True)
    reason = ma.fields.String(required=True)
    state = ma.fields.String(
        required=True, metadata={"description": ", ".join(STATES), "enum": list(STATES)}
    )
    requested_by = ma.fields.String(required=True)
    requested_role = ma.fields.String(required=True)
    decided_by = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Who confirmed, rejected or cancelled it"},
    )
    decision_note = ma.fields.String(required=True, allow_none=True)
    needs_second_person = ma.fields.Boolean(required=True)
    expected = ma.fields.Dict(
        required=True, metadata={"description": "The live state that confirms it"}
    )
    before = ma.fields.Dict(
        required=True, allow_none=True, metadata={"description": "The live state when sent"}
    )
    after = ma.fields.Dict(
        required=True, allow_none=True, metadata={"description": "The live state when settled"}
    )
    attempts = ma.fields.Integer(required=True)
    last_error = ma.fields.String(required=True, allow_none=True)
    superseded_by = ma.fields.Integer(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    queued_at = ma.fields.DateTime(required=True, allow_none=True)
    sent_at = ma.fields.DateTime(required=True, allow_none=True)
    expires_at = ma.fields.DateTime(required=True, allow_none=True)
    settled_at = ma.fields.DateTime(required=True, allow_none=True)


CommandPageSchema = page_schema(CommandSchema, "CommandPageSchema")


class SkippedSchema(ma.Schema):
    reference = ma.fields.String(required=True)
    reason = ma.fields.String(
        required=True, metadata={"description": "asset_not_found or asset_not_connected"}
    )


class SelectionOutSchema(ma.Schema):
    class Meta:
        ordered = True

    selection_id = ma.fields.String(required=True)
    command = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)
    commands = ma.fields.List(ma.fields.Nested(CommandSchema), required=True)
    skipped = ma.fields.List(ma.fields.Nested(SkippedSchema), required=True)


class CommandIdPathSchema(ma.Schema):
    command_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))


class HistoryArgsSchema(PageArgsSchema):
    pass


# --- what the console asks before offering a command (app/equipment/queries.py) -------------


class OptionsArgsSchema(ma.Schema):
    asset = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(REFERENCE_PATTERN),
        metadata={"description": "An asset's reference: the commands for it (else per kind)"},
    )


class CommandOptionSchema(ma.Schema):
    class Meta:
        ordered = True

    command = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "The kind of asset"})
    takes_level = ma.fields.Boolean(required=True)
    needs_second_person = ma.fields.Boolean(required=True)


class CommandOptionsSchema(ma.Schema):
    class Meta:
        ordered = True

    commands = ma.fields.List(ma.fields.Nested(CommandOptionSchema), required=True)
    confirms = ma.fields.Boolean(
        required=True,
        metadata={"description": "The caller may confirm or reject others' two-person commands"},
    )
    connected = ma.fields.Boolean(
        metadata={"description": "With `asset`: a feed reports it, so a command can reach it"}
    )


class SelectionPreviewSchema(ma.Schema):
    class Meta:
        ordered = True

    command = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    count = ma.fields.Integer(
        required=True, metadata={"description": "How many commands sending it would make"}
    )
    references = ma.fields.List(ma.fields.String(), required=True)
    skipped = ma.fields.List(ma.fields.Nested(SkippedSchema), required=True)
    needs_second_person = ma.fields.Boolean(required=True)


class OpenTicketSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True, allow_none=True)
    status = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    category_name_fr = ma.fields.String(required=True)
    category_name_en = ma.fields.String(required=True)
    desk = ma.fields.String(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    due_at = ma.fields.DateTime(required=True, allow_none=True)


class OpenTicketListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OpenTicketSchema), required=True)
