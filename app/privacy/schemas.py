import marshmallow as ma

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
