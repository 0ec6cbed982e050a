import marshmallow as ma

from app.geo.schemas import CommuneRefSchema
from app.geojson import page_collection_schema
from app.organisation.schemas import CATEGORY_CODE_PATTERN, CODE_PATTERN
from app.pagination import PageArgsSchema, page_schema
from app.reports.models import OPEN_STATUSES, STATUSES
from app.reports.schemas import CategoryRefSchema, CrewRefSchema, PointSchema, bbox_field
from app.worklists.queries import SORTS

_OPEN = ", ".join(OPEN_STATUSES)


def _many(inner: ma.fields.Field, description: str) -> ma.fields.List:
    """A filter that takes one or more values: ``?status=new&status=reopened``."""
    return ma.fields.List(
        inner,
        load_default=list,
        validate=ma.validate.Length(max=30),
        metadata={"description": description},
    )


class QueueFilterArgsSchema(ma.Schema):
    """The filters of a desk's queue; every one given must hold."""

    status = _many(
        ma.fields.String(validate=ma.validate.OneOf(STATUSES)),
        f"Report states (default: the open ones, {_OPEN})",
    )
    category = _many(
        ma.fields.String(validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN)),
        "Category codes",
    )
    commune = _many(
        ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{5}$")),
        "Communes, by INSEE code",
    )
    crew = _many(ma.fields.String(validate=ma.validate.Regexp(CODE_PATTERN)), "Crew codes")
    priority = _many(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=4)),
        "Priorities: 1 urgent, 2 high, 3 normal, 4 low",
    )
    overdue = ma.fields.Boolean(
        load_default=None,
        metadata={
            "description": "true: only open reports past their due date; false: only the others"
        },
    )
    bbox = bbox_field()
    q = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=3, max=100),
        metadata={
            "description": "Text in the description or the reference (case-insensitive, "
            "3 characters at least)"
        },
    )


class QueueArgsSchema(QueueFilterArgsSchema, PageArgsSchema):
    sort = ma.fields.String(
        load_default="priority",
        validate=ma.validate.OneOf(SORTS),
        metadata={
            "description": "priority: most urgent first, then earliest due (default); "
            "age: oldest first; distance: nearest to `near` first"
        },
    )
    near = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(
            r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$", error="expected lon,lat in decimal degrees"
        ),
        metadata={
            "description": "lon,lat (WGS 84): items carry their distance from it in metres; "
            "required by sort=distance"
        },
    )


class TicketArgsSchema(PageArgsSchema):
    lon = ma.fields.Float(
        load_default=None,
        validate=ma.validate.Range(min=-180, max=180),
        metadata={"description": "The tablet's longitude (WGS 84), with lat: nearest first"},
    )
    lat = ma.fields.Float(
        load_default=None,
        validate=ma.validate.Range(min=-90, max=90),
        metadata={"description": "The tablet's latitude (WGS 84), with lon"},
    )


class WorkItemSchema(ma.Schema):
    """A report as a work-list item: staff fields, never the reporter's identity or contact."""

    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    priority = ma.fields.Integer(required=True, metadata={"description": "1 urgent .. 4 low"})
    due_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    overdue = ma.fields.Boolean(
        required=True, metadata={"description": "Open and past its due date"}
    )
    category = ma.fields.Nested(CategoryRefSchema, required=True)
    commune = ma.fields.Nested(CommuneRefSchema, required=True, allow_none=True)
    crew = ma.fields.Nested(CrewRefSchema, required=True, allow_none=True)
    address = ma.fields.String(required=True, allow_none=True)
    description = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "What the resident wrote"}
    )
    answers = ma.fields.Dict(
        required=True,
        metadata={"description": "The resident's answers to the category's questions"},
    )
    crew_over_capacity = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "Routing gave the ticket to the crew holding it although every "
            "candidate crew was at or over capacity (the report's routing.crew says how full)"
        },
    )
    location = ma.fields.Nested(PointSchema, required=True, allow_none=True)
    support_count = ma.fields.Integer(required=True)
    anonymous_support_count = ma.fields.Integer(
        required=True,
        metadata={"description": "Of support_count, the supports of anonymous sign-ins"},
    )
    version = ma.fields.Integer(
        required=True, metadata={"description": "The report's version: its ETag for If-Match"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    distance_m = ma.fields.Float(
        metadata={"description": "Metres from the point given (near, or lon and lat)"}
    )


WorkPageSchema = page_schema(WorkItemSchema, "WorkPageSchema")


WorkCollectionSchema = page_collection_schema(
    WorkItemSchema, "WorkItem", geometry=PointSchema, nullable=True
)


class QueueCountsSchema(ma.Schema):
    counts = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Reports per state asked for (zeros included)"},
    )
    overdue = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Of which overdue, per state"},
    )
    total = ma.fields.Integer(required=True)
    total_overdue = ma.fields.Integer(required=True)


class DeskPathSchema(ma.Schema):
    desk = ma.fields.String(required=True, validate=ma.validate.Regexp(CODE_PATTERN))


class SyncArgsSchema(ma.Schema):
    since = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=200),
        metadata={"description": "The cursor of the previous sync; none for a full one"},
    )


class RemovedTicketSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True)


class CrewSyncSchema(ma.Schema):
    """What changed for the crew since the cursor."""

    full = ma.fields.Boolean(
        required=True,
        metadata={"description": "No cursor was given: `tickets` is the whole list"},
    )
    tickets = ma.fields.List(
        ma.fields.Nested(WorkItemSchema),
        required=True,
        metadata={
            "description": "The crew's open tickets changed since the cursor (may "
            "repeat ones already seen: keep each ticket's highest version)"
        },
    )
    removed = ma.fields.List(
        ma.fields.Nested(RemovedTicketSchema),
        required=True,
        metadata={"description": "Tickets the crew held and no longer does: drop them"},
    )
    cursor = ma.fields.String(required=True, metadata={"description": "For the next sync"})
    as_of = ma.fields.AwareDateTime(required=True)
