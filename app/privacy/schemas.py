import marshmallow as ma

from app.pagination import page_schema
from app.privacy.service import DELETED, DETACHED, KINDS


def _section(description: str) -> ma.fields.List:
    return ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": description})


class MyDataSchema(ma.Schema):
    """Everything Signale holds about the caller (GDPR articles 15 and 20)."""

    uid = ma.fields.String(required=True)
    generated_at = ma.fields.String(required=True, metadata={"description": "ISO 8601"})
    account = ma.fields.Dict(
        required=True,
        metadata={"description": "The token's identity; the staff account, if any"},
    )
    reports = _section("Reports filed, with description, answers, address and contact given")
    photos = _section("Photos uploaded, with links to their files once processed")
    supports = _section("Reports supported (“me too”)")
    follows = _section("Reports followed")
    area_subscriptions = _section("Areas watched for new reports")
    devices = _section("Devices registered for push notifications")
    notifications = _section("Notifications received (the in-app feed)")
    notification_preferences = _section("Kinds muted and quiet hours")
    actions = _section("The caller's own actions in the reports' history")
    personal_data_reads = _section(
        "Staff reads of the contact details and the unblurred photos of the caller's "
        "reports: who, when"
    )


class ErasureItemSchema(ma.Schema):
    kind = ma.fields.String(
        required=True, validate=ma.validate.OneOf([kind for kind, _, _ in KINDS])
    )
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf((DELETED, DETACHED)))
    count = ma.fields.Integer(required=True)
    reason = ma.fields.String(
        required=True, metadata={"description": "What was done and why, in the request language"}
    )


class ErasureSchema(ma.Schema):
    """What an erasure deleted, and what it kept detached from the person (GDPR article 17)."""

    message = ma.fields.String(required=True)
    deleted = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    detached = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Kept for the city's public task, naming nobody"},
    )
    items = ma.fields.List(ma.fields.Nested(ErasureItemSchema), required=True)


# The privacy officer's view: the register, the retention runs, the erasures.


class RetentionRunSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    started_at = ma.fields.AwareDateTime(required=True)
    finished_at = ma.fields.AwareDateTime(
        required=True, allow_none=True, metadata={"description": "Null while it runs"}
    )
    dry_run = ma.fields.Boolean(
        required=True, metadata={"description": "Counted what it would delete; changed nothing"}
    )
    counts = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Rows deleted or cleared per rule (a rule that failed is absent)"},
    )
    delays = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Float(),
        required=True,
        metadata={"description": "The delay each rule applied, in days"},
    )
    total = ma.fields.Integer(required=True)
    error = ma.fields.String(required=True, allow_none=True)


RetentionRunPageSchema = page_schema(RetentionRunSchema, "RetentionRunPageSchema")


class ErasureRecordSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.AwareDateTime(required=True)
    request_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "X-Request-ID of the erasure"}
    )
    deleted = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    detached = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Kept for the city's public task, naming nobody"},
    )


ErasureRecordPageSchema = page_schema(ErasureRecordSchema, "ErasureRecordPageSchema")


class CodedTextSchema(ma.Schema):
    code = ma.fields.String(required=True)
    text = ma.fields.String(required=True, metadata={"description": "In the request language"})


class ColumnRetentionSchema(ma.Schema):
    rule = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The retention rule that deletes or clears it, if any"},
    )
    days = ma.fields.Float(required=True, allow_none=True, metadata={"description": "As set"})
    setting = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "RETENTION_<RULE>_DAYS"}
    )
    summary = ma.fields.String(required=True, metadata={"description": "How long, in words"})


class RegisterColumnSchema(ma.Schema):
    column = ma.fields.String(required=True)
    what = ma.fields.Nested(CodedTextSchema, required=True)
    purpose = ma.fields.Nested(CodedTextSchema, required=True)
    basis = ma.fields.Nested(
        CodedTextSchema, required=True, metadata={"description": "GDPR article 6"}
    )
    audience = ma.fields.List(
        ma.fields.Nested(CodedTextSchema),
        required=True,
        metadata={"description": "Who can see it"},
    )
    retention = ma.fields.Nested(ColumnRetentionSchema, required=True)
    leaves = ma.fields.List(
        ma.fields.Nested(CodedTextSchema),
        required=True,
        metadata={"description": "Where it may leave the system (none: it does not)"},
    )


class RegisterTableSchema(ma.Schema):
    table = ma.fields.String(required=True)
    description = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "What the table holds"}
    )
    columns = ma.fields.List(ma.fields.Nested(RegisterColumnSchema), required=True)


class RetentionRuleSchema(ma.Schema):
    name = ma.fields.String(required=True)
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(("delete", "clear")))
    days = ma.fields.Float(required=True, metadata={"description": "The delay as configured"})
    setting = ma.fields.String(required=True)
    what = ma.fields.String(required=True)
    counted_from = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)


class RegisterSchema(ma.Schema):
    """The register of processing activities (GDPR article 30), generated from the models'
    marks and the retention schedule."""

    language = ma.fields.String(required=True)
    tables = ma.fields.List(ma.fields.Nested(RegisterTableSchema), required=True)
    retention_rules = ma.fields.List(ma.fields.Nested(RetentionRuleSchema), required=True)
