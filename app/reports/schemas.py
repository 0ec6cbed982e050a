import marshmallow as ma

from app.fields import StrictBoolean
from app.geo.schemas import CommuneRefSchema
from app.geojson import page_collection_schema
from app.pagination import PageArgsSchema, page_schema
from app.photos.schemas import PhotoSchema

PHONE_PATTERN = r"^\+?[0-9 .()-]{6,20}$"


class LocationInSchema(ma.Schema):
    lon = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))
    lat = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    accuracy_m = ma.fields.Float(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=0, max=10_000),
        metadata={"description": "Horizontal accuracy of the fix, metres"},
    )


class ContactInSchema(ma.Schema):
    """How the reporter wants to hear back. Never shown to anyone else."""

    name = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=200)
    )
    email = ma.fields.Email(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=320)
    )
    phone = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Regexp(PHONE_PATTERN)
    )
    by_push = StrictBoolean(
        load_default=True, metadata={"description": "Push notifications on progress"}
    )
    by_email = StrictBoolean(
        load_default=False, metadata={"description": "E-mails on progress (needs email)"}
    )


class ReportInSchema(ma.Schema):
    category = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "Category code (GET /v1/categories)"},
    )
    location = ma.fields.Nested(
        LocationInSchema,
        metadata={"description": "Omit it to take the position from the first photo's GPS"},
    )
    address = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=300)
    )
    description = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=2000)
    )
    answers = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=40)),
        values=ma.fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": "Answers to the category's questions"},
    )
    # Optional, not nullable: OpenAPI 3.0 cannot say "this object or null" exactly.
    contact = ma.fields.Nested(ContactInSchema)
    asset_reference = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"),
        metadata={"description": "The equipment (a street light's number...), if the app knows"},
    )
    language = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(["fr", "en"]),
        metadata={
            "description": "Language for messages to the reporter (default: Accept-Language)"
        },
    )


class PointSchema(ma.Schema):
    type = ma.fields.Constant("Point", required=True)
    coordinates = ma.fields.List(
        ma.fields.Float(), required=True, metadata={"description": "[lon, lat], WGS 84"}
    )


class CategoryRefSchema(ma.Schema):
    code = ma.fields.String(required=True)
    group = ma.fields.String(required=True)
    name_fr = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    icon = ma.fields.String(required=True)


class ReportDeskSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_fr = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)


class ReportRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)


class CrewRefSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class ReportSchema(ma.Schema):
    """A report as anyone may see it, its public projection (the same as Open311's and open
    data's): no reporter identity or contact, no free text but what moderation published,
    the position on a grid and the street, never the address as typed."""

    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True, metadata={"description": "e.g. DIJ-2026-004213"})
    status = ma.fields.String(required=True)
    category = ma.fields.Nested(CategoryRefSchema, required=True)
    location = ma.fields.Nested(
        PointSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "Snapped to a 50 m grid (OPEN311_LOCATION_GRID_M); exact for its "
            "reporter and its staff. null until the first photo's GPS gives it"
        },
    )
    address = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "The street and commune at the public position, from the address "
            "register (null when it has none there); the address as typed for its reporter "
            "and its staff"
        },
    )
    public_description = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The description as the desk published it (null until then)"},
    )
    commune = ma.fields.Nested(CommuneRefSchema, required=True, allow_none=True)
    support_count = ma.fields.Integer(required=True)
    desk = ma.fields.Nested(
        ReportDeskSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The control-centre desk handling it (null until placed)"},
    )
    duplicate_of = ma.fields.Nested(
        ReportRefSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The open report of the same problem this one joined"},
    )
    photos = ma.fields.List(
        ma.fields.Nested(PhotoSchema),
        required=True,
        metadata={"description": "Ready photos (the reporter sees all)"},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class ContactSchema(ma.Schema):
    name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    by_push = StrictBoolean()
    by_email = StrictBoolean()


class OwnReportSchema(ReportSchema):
    """A report as its reporter sees it: also what they wrote and how to reach them."""

    is_mine = StrictBoolean(required=True)
    description = ma.fields.String(allow_none=True, required=True)
    answers = ma.fields.Dict(required=True)
    accuracy_m = ma.fields.Float(allow_none=True, required=True)
    language = ma.fields.String(required=True)
    contact = ma.fields.Nested(ContactSchema, allow_none=True, required=True)


class ReportViewSchema(ReportSchema):
    """The public fields always; the reporter's own fields only when the reporter asks; what
    the resident said (description, answers) and the exact place for the report's staff
    (agents of its desk, supervisors, admins, the crew holding it); how the control centre
    handles it (priority, due date, routing explanation, crew) for staff only."""

    is_mine = StrictBoolean(required=True)
    description = ma.fields.String(
        allow_none=True,
        metadata={"description": "What the resident wrote: the reporter and the report's staff"},
    )
    answers = ma.fields.Dict(
        metadata={
            "description": "The answers to the category's questions: the reporter and "
            "the report's staff"
        }
    )
    accuracy_m = ma.fields.Float(allow_none=True)
    language = ma.fields.String()
    contact = ma.fields.Nested(ContactSchema, allow_none=True)
    priority = ma.fields.Integer(metadata={"description": "Staff only: 1 urgent .. 4 low"})
    due_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "Staff only"})
    routing = ma.fields.Dict(
        metadata={
            "description": "Staff only: why routing decided what it did, as it proposed it "
            "(routing.crew is the crew it proposed; `crew` is the one holding the ticket now)"
        }
    )
    crew = ma.fields.Nested(
        CrewRefSchema,
        allow_none=True,
        metadata={"description": "Staff only: the crew holding the ticket now (null: none)"},
    )
    anonymous_support_count = ma.fields.Integer(
        metadata={
            "description": "Staff only: of support_count, the supports of anonymous sign-ins "
            "(which anyone can mint)"
        }
    )
    version = ma.fields.Integer(
        metadata={"description": "Bumped by every action on the report; its ETag"}
    )


def bbox_field() -> ma.fields.String:
    """A ``bbox`` query argument (checked further by :func:`app.geo.arguments.parse_bbox`)."""
    return ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(
            r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$", error="expected min_lon,min_lat,max_lon,max_lat"
        ),
        metadata={"description": "min_lon,min_lat,max_lon,max_lat (WGS 84)"},
    )


class ReportListArgsSchema(PageArgsSchema):
    near = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(
            r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$", error="expected lon,lat in decimal degrees"
        ),
        metadata={"description": "lon,lat: only reports within `radius` of this point"},
    )
    radius = ma.fields.Integer(
        load_default=500,
        validate=ma.validate.Range(min=1, max=5000),
        metadata={"description": "Metres around `near` (max 5000)"},
    )
    bbox = bbox_field()
    category = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    status = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))


ReportPageSchema = page_schema(ReportSchema, "ReportPageSchema")
OwnReportPageSchema = page_schema(OwnReportSchema, "OwnReportPageSchema")


ReportCollectionSchema = page_collection_schema(ReportSchema, "Report", geometry=PointSchema)


class SupportSchema(ma.Schema):
    report_id = ma.fields.Integer(required=True)
    supported = StrictBoolean(required=True)
    support_count = ma.fields.Integer(required=True)


class ReportIdPathSchema(ma.Schema):
    report_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))


class SuggestionArgsSchema(ma.Schema):
    lon = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))
    lat = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))
    category = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))


class SuggestionSchema(ReportSchema):
    distance_m = ma.fields.Float(required=True, metadata={"description": "From the point given"})


class SuggestionListSchema(ma.Schema):
    items = ma.fields.List(
        ma.fields.Nested(SuggestionSchema),
        required=True,
        metadata={"description": "At most 5 open reports within 250 m, nearest first"},
    )


class ReportContactSchema(ma.Schema):
    """A reporter's contact details as staff read them (each read is audited)."""

    report_id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    contact = ma.fields.Nested(
        ContactSchema,
        required=True,
        allow_none=True,
        metadata={"description": "null when the reporter left no contact details"},
    )
