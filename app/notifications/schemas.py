from datetime import time

import marshmallow as ma

from app.fields import StrictBoolean
from app.notifications.messages import TITLES
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


# "HH:MM", local time in Europe/Paris.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class LocalTime(ma.fields.String):
    """A local time of day as "HH:MM"."""

    def __init__(self, *, metadata=None, **kwargs):
        metadata = {"pattern": TIME_PATTERN, **(metadata or {})}
        super().__init__(validate=ma.validate.Regexp(TIME_PATTERN), metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        self._validate(text)
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))

    def _validate(self, value):
        if isinstance(value, str):
            super()._validate(value)


class QuietHoursSchema(ma.Schema):
    start = LocalTime(required=True)
    end = LocalTime(
        required=True,
        metadata={"description": "Excluded; before `start`, the quiet period spans midnight"},
    )


PushKindsSchema = ma.Schema.from_dict(
    {
        kind: StrictBoolean(
            load_default=True,
            metadata={"description": f"Push notifications of kind `{kind}` (default true)"},
        )
        for kind in TITLES
    },
    name="PushKinds",
)


class NotificationPreferencesInSchema(ma.Schema):
    push = ma.fields.Nested(
        PushKindsSchema,
        required=True,
        metadata={
            "description": "Per kind (the report's new state, or `update`): pushed or not; "
            "kinds left out are pushed. The in-app feed always gets them."
        },
    )
    quiet_hours = ma.fields.Nested(
        QuietHoursSchema,
        load_default=None,
        allow_none=False,
        metadata={
            "description": "Local times (Europe/Paris) during which pushes wait until the "
            "end; left out: none"
        },
    )


class NotificationPreferencesSchema(ma.Schema):
    push = ma.fields.Dict(keys=ma.fields.String(), values=StrictBoolean(), required=True)
    quiet_hours = ma.fields.Nested(QuietHoursSchema, required=True, allow_none=True)
    time_zone = ma.fields.String(required=True, metadata={"description": "Of quiet hours"})
    updated_at = ma.fields.AwareDateTime(required=True, allow_none=True)
