"""What goes in and out of triage over HTTP: the actions' bodies (each action's entry in
app.triage.transitions names its own), bulk results, the history, the message templates."""

from functools import cache

import marshmallow as ma

from app.categories.schemas import CODE_PATTERN as CATEGORY_CODE_PATTERN
from app.fields import StrictBoolean
from app.organisation.schemas import CODE_PATTERN
from app.pagination import PageArgsSchema
from app.reports.schemas import ReportDeskSchema
from app.triage import messages
from app.triage.access import CLIENT_CLOCK_SKEW

REPORT_ID = ma.validate.Range(min=1, max=2**62)
_SKEW_MINUTES = CLIENT_CLOCK_SKEW.total_seconds() / 60
# Why a report is rejected: shown to residents (public).
REJECT_REASONS = ("not_our_problem", "not_our_responsibility", "not_found_on_site")
HAND_BACK_REASONS = (
    "not_found_on_site",
    "not_our_responsibility",
    "needs_other_skill",
    "needs_equipment",
    "access_blocked",
    "other",
)
RESOLUTION_CODES = ("repaired", "made_safe", "replaced", "cleaned", "already_fixed", "other")


class MessageInSchema(ma.Schema):
    """A message to residents written by staff (French required; English defaults to it)."""

    fr = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    en = ma.fields.String(validate=ma.validate.Length(min=1, max=2000))


class ActionInSchema(ma.Schema):
    """What every action takes."""

    message = ma.fields.Nested(
        MessageInSchema,
        metadata={
            "description": "Staff: the public message residents get, instead of the "
            "category's template for the new state (and it makes the action public)"
        },
    )
    note = ma.fields.String(
        validate=ma.validate.Length(min=1, max=4000),
        metadata={"description": "Staff: internal note, never shown to residents"},
    )
    client_at = ma.fields.AwareDateTime(
        metadata={
            "description": "When the action was done on the device (offline replays): not "
            "before the ticket was given to the crew (the report's creation for others), nor "
            f"more than {_SKEW_MINUTES:g} minutes after the server's time, else 422 "
            "client_at_out_of_range"
        }
    )


class SetPriorityInSchema(ActionInSchema):
    priority = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=1, max=4),
        metadata={"description": "1 urgent, 2 high, 3 normal, 4 low"},
    )


class AssignInSchema(ActionInSchema):
    crew = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(CODE_PATTERN),
        metadata={"description": "An active crew of the report's desk (GET /v1/crews)"},
    )


class RerouteInSchema(ActionInSchema):
    desk = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(CODE_PATTERN),
        metadata={"description": "Another desk (GET /v1/desks); its crews are chosen from"},
    )


class ChangeCategoryInSchema(ActionInSchema):
    category = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN),
        metadata={
            "description": "An active category: desk, crew, equipment, priority and "
            "due date are routed again"
        },
    )


class MergeInSchema(ActionInSchema):
    into = ma.fields.Integer(
        required=True,
        validate=REPORT_ID,
        metadata={"description": "The original report, still being dealt with"},
    )


class RejectInSchema(ActionInSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(REJECT_REASONS))


class NoteInSchema(ActionInSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=4000))


class PublicUpdateInSchema(ActionInSchema):
    message = ma.fields.Nested(MessageInSchema, required=True)


class PublishDescriptionInSchema(ActionInSchema):
    description = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=4000),
        metadata={
            "description": "The text residents and open data will show: the reporter's "
            "description, with any personal detail edited out; null withdraws it"
        },
    )


class ReopenInSchema(ActionInSchema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=1000),
        metadata={"description": "Why it is not fixed (kept for staff)"},
    )


class ResolveInSchema(ActionInSchema):
    resolution = ma.fields.String(required=True, validate=ma.validate.OneOf(RESOLUTION_CODES))


class HandBackInSchema(ActionInSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(HAND_BACK_REASONS))


# --- bulk -----------------------------------------------------------------------------------


class BulkItemSchema(ma.Schema):
    id = ma.fields.Integer(required=True, validate=REPORT_ID)
    version = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The version read (the report's ETag without quotes)"},
    )


class BulkInSchema(ActionInSchema):
    reports = ma.fields.List(
        ma.fields.Nested(BulkItemSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "The selection, each with the version the agent saw"},
    )


@cache
def bulk_schema(schema: type[ActionInSchema]) -> type[BulkInSchema]:
    """The body of a bulk action: the single action's (``schema``) and the selection."""
    if schema is ActionInSchema:
        return BulkInSchema
    return type(f"Bulk{schema.__name__}", (BulkInSchema, schema), {})


class BulkResultSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    ok = StrictBoolean(required=True)
    http_status = ma.fields.Integer(
        required=True, metadata={"description": "What the single action would have answered"}
    )
    status = ma.fields.String(metadata={"description": "Done: the report's new state"})
    version = ma.fields.Integer(metadata={"description": "Done: the report's new version"})
    code = ma.fields.String(metadata={"description": "Refused: the problem's stable code"})
    detail = ma.fields.String(metadata={"description": "Refused: why, in the request language"})
    current_status = ma.fields.String()
    current_version = ma.fields.Integer()
    allowed_actions = ma.fields.List(ma.fields.String())


class BulkOutSchema(ma.Schema):
    results = ma.fields.List(
        ma.fields.Nested(BulkResultSchema),
        required=True,
        metadata={"description": "One per report, in the order sent"},
    )


# --- history --------------------------------------------------------------------------------


class AvailableActionsSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "The report's state"})
    version = ma.fields.Integer(metadata={"description": "The version these actions apply to"})
    actions = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "The actions the caller may do now, in the table's order: each is "
            "`POST /v1/reports/{report_id}/actions/{name}` with `_` written `-`"
        },
    )


class MessageSchema(ma.Schema):
    fr = ma.fields.String(required=True)
    en = ma.fields.String(required=True)


class EventSchema(ma.Schema):
    """One step of a report's life. Residents never see who did it or internal notes."""

    id = ma.fields.Integer(required=True, metadata={"description": "0: the submission"})
    at = ma.fields.AwareDateTime(required=True)
    action = ma.fields.String(required=True)
    from_status = ma.fields.String(required=True, allow_none=True)
    to_status = ma.fields.String(required=True)
    desk = ma.fields.Nested(
        ReportDeskSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The desk that had the report"},
    )
    reason_code = ma.fields.String(required=True, allow_none=True)
    message = ma.fields.Nested(MessageSchema, required=True, allow_none=True)
    actor_uid = ma.fields.String(metadata={"description": "Staff only"})
    actor_role = ma.fields.String(allow_none=True, metadata={"description": "Staff only"})
    public = StrictBoolean(metadata={"description": "Staff only: whether residents see it"})
    client_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "Staff only"})
    internal_note = ma.fields.String(allow_none=True, metadata={"description": "Staff only"})
    details = ma.fields.Dict(metadata={"description": "Staff only: what changed"})


class HistorySchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class HistoryArgsSchema(PageArgsSchema):
    pass


# --- message templates ----------------------------------------------------------------------

TEMPLATE_STATUSES = tuple(messages.DEFAULTS)
TEMPLATE_TEXT = ma.validate.Length(min=1, max=1000)


class TemplateSchema(ma.Schema):
    category = ma.fields.Function(
        lambda t: t.category.code if t.category else None,
        required=True,
        allow_none=True,
        metadata={"description": "null: the default for the state"},
    )
    status = ma.fields.String(required=True)
    text_fr = ma.fields.String(required=True)
    text_en = ma.fields.String(required=True)
    updated_by = ma.fields.String(required=True, allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class TemplateInSchema(ma.Schema):
    text_fr = ma.fields.String(
        required=True,
        validate=TEMPLATE_TEXT,
        metadata={
            "description": "Placeholders: "
            + ", ".join("{" + p + "}" for p in messages.PLACEHOLDERS)
        },
    )
    text_en = ma.fields.String(required=True, validate=TEMPLATE_TEXT)


class TemplateStatusPathSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(TEMPLATE_STATUSES))


class CategoryTemplatePathSchema(TemplateStatusPathSchema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN))
