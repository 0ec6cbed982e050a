from datetime import UTC

import marshmallow as ma

from app.feeds import formats
from app.feeds.models import FAULT_ATTRIBUTES, NAME_PATTERN
from app.fields import StrictBoolean

# Visible ASCII only (non-ASCII must be percent-encoded): the same in every regex dialect.
URL_PATTERN = r"^https?://[!-~]+$"
# A failed poll's codes: fetching's, each format's refusal of a source not in it, the poll's.
ERROR_CODES = (
    "timeout",
    "http_status",
    "unreachable",
    "too_large",
    *formats.REFUSALS,
    "no_valid_entities",
    "invalid_url",
    "internal_error",
)


class FeedNamePathSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Regexp(NAME_PATTERN))


class FeedInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(formats.KINDS))
    format = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(formats.NAMES),
        metadata={"description": formats.described()},
    )
    source_url = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(max=2000), ma.validate.Regexp(URL_PATTERN)],
        metadata={"description": "http(s) URL polled"},
    )
    poll_interval_seconds = ma.fields.Integer(
        load_default=60, validate=ma.validate.Range(min=10, max=86400)
    )
    freshness_limit_seconds = ma.fields.Integer(
        load_default=600,
        validate=ma.validate.Range(min=10, max=7 * 86400),
        metadata={"description": "Data observed longer ago than this is flagged stale"},
    )
    enabled = StrictBoolean(load_default=True)
    subscribe = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Also receive the broker's notifications (ngsi-ld feeds): changes "
            "are known in seconds; polling goes on as the safety net"
        },
    )


class SkippedEntitySchema(ma.Schema):
    entity = ma.fields.String(required=True, metadata={"description": "Its id, or ?"})
    reason = ma.fields.String(required=True)


class FeedHealthSchema(ma.Schema):
    class Meta:
        ordered = True

    state = ma.fields.String(
        required=True, metadata={"description": "never_polled, ok, failing or disabled"}
    )
    last_polled_at = ma.fields.DateTime(required=True, allow_none=True)
    last_success_at = ma.fields.DateTime(required=True, allow_none=True)
    last_error_at = ma.fields.DateTime(required=True, allow_none=True)
    last_error_code = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": ", ".join(ERROR_CODES[:-1]) + " or " + ERROR_CODES[-1]},
    )
    last_error = ma.fields.String(required=True, allow_none=True)
    consecutive_failures = ma.fields.Integer(required=True)
    entities_seen = ma.fields.Integer(required=True, metadata={"description": "Last poll"})
    entities_skipped = ma.fields.Integer(
        required=True, metadata={"description": "Malformed entities in the last poll"}
    )
    skipped_examples = ma.fields.List(ma.fields.Nested(SkippedEntitySchema), required=True)
    source_ttl_seconds = ma.fields.Integer(
        required=True,
        metadata={
            "description": "How long the source says its data stays current (GBFS ttl): "
            "not fetched again meanwhile, and added to the freshness limit"
        },
    )
    last_notification_at = ma.fields.DateTime(
        required=True, allow_none=True, metadata={"description": "Pushed by the broker"}
    )
    subscription = ma.fields.Nested(
        lambda: FeedSubscriptionSchema(),
        required=True,
        allow_none=True,
        metadata={"description": "The broker subscription, for a feed that subscribes"},
    )


class FeedSchema(ma.Schema):
    class Meta:
        ordered = True

    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    format = ma.fields.String(required=True)
    source_url = ma.fields.String(required=True)
    poll_interval_seconds = ma.fields.Integer(required=True)
    freshness_limit_seconds = ma.fields.Integer(required=True)
    enabled = StrictBoolean(required=True)
    subscribe = StrictBoolean(required=True)
    next_poll_at = ma.fields.DateTime(required=True)
    health = ma.fields.Nested(FeedHealthSchema, required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class PollRequestedSchema(ma.Schema):
    name = ma.fields.String(required=True)
    next_poll_at = ma.fields.DateTime(required=True)


# An NGSI-LD short type (Streetlight), and a status-like value (defectiveLamp, ok).
ENTITY_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
FAULT_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class FaultMappingPathSchema(ma.Schema):
    entity_type = ma.fields.String(required=True, validate=ma.validate.Regexp(ENTITY_TYPE_PATTERN))
    attribute = ma.fields.String(required=True, validate=ma.validate.OneOf(FAULT_ATTRIBUTES))
    value = ma.fields.String(required=True, validate=ma.validate.Regexp(FAULT_VALUE_PATTERN))


class FaultMappingInSchema(ma.Schema):
    category = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN),
        metadata={
            "description": "Code of the category of the ticket this state opens; null: the "
            "equipment works again (its open ticket gets an event)"
        },
    )
    active = StrictBoolean(load_default=True)


class FaultMappingSchema(ma.Schema):
    class Meta:
        ordered = True

    entity_type = ma.fields.String(required=True)
    attribute = ma.fields.String(required=True)
    value = ma.fields.String(required=True)
    category = ma.fields.String(required=True, allow_none=True, attribute="category_code")
    active = StrictBoolean(required=True)
    updated_at = ma.fields.DateTime(required=True)


# --- pushed notifications (app/feeds/subscriptions.py) ------------------------------------

# Entities in one notification: brokers batch a few; more is a misconfigured broker.
MAX_NOTIFIED_ENTITIES = 1000


class BrokerNotificationSchema(ma.Schema):
    """An NGSI-LD Notification, as a broker sends it to a subscription's endpoint."""

    class Meta:
        unknown = ma.EXCLUDE  # @context, triggerReason... of newer NGSI-LD versions

    id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=256),
        metadata={"description": "The notification's id: a notification seen already is ignored"},
    )
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(["Notification"]))
    subscriptionId = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    notifiedAt = ma.fields.AwareDateTime(required=True, default_timezone=UTC)
    data = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_NOTIFIED_ENTITIES),
        metadata={
            "description": "The entities, key-value or normalized, read as the feed's poll "
            "reads them (its kind's types, a valid location); malformed ones are skipped"
        },
    )


class BrokerNotificationReceivedSchema(ma.Schema):
    class Meta:
        ordered = True

    notification = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True,
        metadata={"description": "stored, or duplicate (a notification received already)"},
    )
    seen = ma.fields.Integer()
    skipped = ma.fields.Integer()
    changed = ma.fields.Integer(required=True, metadata={"description": "Entities updated"})
    tickets = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": "Faults"}
    )
    skipped_examples = ma.fields.List(ma.fields.Nested(SkippedEntitySchema))


class FeedSubscriptionSchema(ma.Schema):
    class Meta:
        ordered = True

    state = ma.fields.String(
        required=True,
        metadata={"description": "pending (not made on the broker yet), active or failing"},
    )
    broker_id = ma.fields.String(required=True, allow_none=True)
    entity_types = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(required=True, allow_none=True)
    made_at = ma.fields.DateTime(required=True, allow_none=True)
    renewed_at = ma.fields.DateTime(required=True, allow_none=True)
    recreated = ma.fields.Integer(
        required=True, metadata={"description": "Times made again after the broker forgot it"}
    )
    consecutive_failures = ma.fields.Integer(required=True)
    last_error_at = ma.fields.DateTime(required=True, allow_none=True)
    last_error = ma.fields.String(required=True, allow_none=True)
    last_notification_at = ma.fields.DateTime(required=True, allow_none=True)
    notifications = ma.fields.Integer(required=True, metadata={"description": "Received"})
