import marshmallow as ma

from app.fields import StrictBoolean
from app.notifications.models import PLATFORMS
from app.pagination import PageArgsSchema

# FCM registration tokens are URL-safe: letters, digits, "_", "-" and ":".
TOKEN_PATTERN = r"^[A-Za-z0-9_:-]+$"
TOKEN_MAX = 4096
# A BCP 47 language tag as phones report it (fr-FR, en, en_GB, zh-Hant-TW).
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"

TOKEN_PARAMETER = [
    {
        "in": "path",
        "name": "token",
        "required": True,
        "description": "The FCM registration token",
        "schema": {"type": "string", "pattern": TOKEN_PATTERN, "maxLength": TOKEN_MAX},
    }
]
NOTIFICATION_ID_PARAMETER = [
    {
        "in": "path",
        "name": "notification_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
    }
]


def _token_field(**kwargs):
    return ma.fields.String(
        validate=[ma.validate.Length(min=1, max=TOKEN_MAX), ma.validate.Regexp(TOKEN_PATTERN)],
        metadata={"description": "FCM registration token", "pattern": TOKEN_PATTERN},
        **kwargs,
    )


class DeviceInSchema(ma.Schema):
    token = _token_field(required=True)
    platform = ma.fields.String(required=True, validate=ma.validate.OneOf(PLATFORMS))
    app_version = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=40)
    )
    locale = ma.fields.String(
        load_default="fr",
        validate=[ma.validate.Length(max=35), ma.validate.Regexp(LOCALE_PATTERN)],
        metadata={
            "description": "The phone's language (BCP 47): notifications are written in "
            "English for en*, in French otherwise",
            "pattern": LOCALE_PATTERN,
        },
    )


class DeviceSchema(ma.Schema):
    token = ma.fields.String(required=True)
    platform = ma.fields.String(required=True)
    app_version = ma.fields.String(allow_none=True)
    locale = ma.fields.String(required=True)
    enabled = StrictBoolean(
        required=True,
        metadata={"description": "False once FCM said the token is unregistered or invalid"},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    last_seen_at = ma.fields.AwareDateTime(required=True)


class TokenPathSchema(ma.Schema):
    token = _token_field(required=True)


class NotificationIdPathSchema(ma.Schema):
    notification_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))


class NotificationDataSchema(ma.Schema):
    report_id = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "The report's new state"})
    kind = ma.fields.String(required=True)


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={"description": "The report's new state, or `update` (same state)"},
    )
    language = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Nested(
        NotificationDataSchema,
        required=True,
        metadata={"description": "Deep link: the report it is about"},
    )
    read_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema), required=True)
    next_cursor = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end"},
    )
    unread_count = ma.fields.Integer(required=True)


class NotificationListArgsSchema(PageArgsSchema):
    pass


class MarkAllReadInSchema(ma.Schema):
    up_to = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=2**62),
        metadata={"description": "Only notifications up to this id (the newest shown)"},
    )


class MarkAllReadSchema(ma.Schema):
    marked = ma.fields.Integer(required=True)
    unread_count = ma.fields.Integer(required=True)


class FollowSchema(ma.Schema):
    report_id = ma.fields.Integer(required=True)
    following = StrictBoolean(required=True)
