from datetime import time

import marshmallow as ma

from app.fields import StrictBoolean
from app.geo.schemas import CommuneRefSchema
from app.notifications.kinds import KINDS, SUBJECTS
from app.notifications.models import PLATFORMS
from app.organisation.schemas import CATEGORY_CODE_PATTERN
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
    kind = ma.fields.String(required=True)
    report_id = ma.fields.String(metadata={"description": "Of a report's notification"})
    reference = ma.fields.String(metadata={"description": "Of a report's notification"})
    status = ma.fields.String(metadata={"description": "The report's new state"})
    subscription_id = ma.fields.String(metadata={"description": "Of an area alert"})
    count = ma.fields.String(metadata={"description": "An area alert's new reports"})
    report_ids = ma.fields.String(
        metadata={"description": "An area alert's reports (the first 50), comma-separated"}
    )
    references = ma.fields.String(
        metadata={"description": "Their references, in the same order, comma-separated"}
    )


def _kinds_meaning() -> str:
    others = [f"`{kind.code}` ({kind.meaning})" for kind in KINDS.values() if kind.meaning]
    return "The report's new state, " + ", ".join([*others[:-1], f"or {others[-1]}"])


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    kind = ma.fields.String(
        required=True,
        metadata={"description": _kinds_meaning()},
    )
    language = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Nested(
        NotificationDataSchema,
        required=True,
        metadata={
            "description": "Deep link: the report, or the area subscription and its "
            "new reports, it is about"
        },
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
        for kind in KINDS
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


# --- area subscriptions ---------------------------------------------------------------------

INSEE_PATTERN = r"^[0-9][0-9AB][0-9]{3}$"
RADIUS_MAX_M = 2000
SUBSCRIPTION_ID_PARAMETER = [
    {
        "in": "path",
        "name": "subscription_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
    }
]


class AreaPointSchema(ma.Schema):
    lon = ma.fields.Float(required=True, validate=ma.validate.Range(min=-180, max=180))
    lat = ma.fields.Float(required=True, validate=ma.validate.Range(min=-90, max=90))


class AreaSubscriptionInSchema(ma.Schema):
    """An area is a point with a radius, or a commune: either, not both (422 area_choice)."""

    label = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=60),
        metadata={"description": 'Your name for the area ("Home"): alerts call it that'},
    )
    # Not nullable: left out means no point (a nullable object would accept {} in OpenAPI).
    point = ma.fields.Nested(
        AreaPointSchema,
        load_default=None,
        allow_none=False,
        metadata={"description": "WGS 84, in Dijon Métropole; with radius_m (not commune)"},
    )
    radius_m = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=RADIUS_MAX_M),
        metadata={"description": "Metres around point (1 to 2000)"},
    )
    commune = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(INSEE_PATTERN),
        metadata={"description": "INSEE code of a commune (GET /v1/communes); not with point"},
    )
    categories = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN)),
        load_default=list,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Category codes (GET /v1/categories); empty: all"},
    )


class AreaSubscriptionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    label = ma.fields.String(required=True, allow_none=True)
    point = ma.fields.Nested(AreaPointSchema, required=True, allow_none=True)
    radius_m = ma.fields.Integer(required=True, allow_none=True)
    commune = ma.fields.Nested(CommuneRefSchema, required=True, allow_none=True)
    categories = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Empty: all"}
    )
    last_alert_at = ma.fields.AwareDateTime(
        required=True,
        allow_none=True,
        metadata={"description": "At most one alert an hour: the next comes an hour after"},
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class SubscriptionIdPathSchema(ma.Schema):
    subscription_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))


# --- notification titles --------------------------------------------------------------------

TITLE_KINDS = tuple(KINDS)
TITLE_TEXT = ma.validate.Length(min=1, max=200)
TITLE_KIND_PARAMETER = [
    {
        "in": "path",
        "name": "kind",
        "required": True,
        "schema": {"type": "string", "enum": list(TITLE_KINDS)},
    }
]


class TitleSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    text_fr = ma.fields.String(required=True)
    text_en = ma.fields.String(required=True)
    placeholders = ma.fields.List(ma.fields.String(), required=True)
    edited = StrictBoolean(
        required=True, metadata={"description": "False: the shipped title applies"}
    )
    updated_by = ma.fields.String(required=True, allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True, allow_none=True)


def _placeholders_by_subject() -> str:
    return "Placeholders: " + "; ".join(
        " and ".join("{" + name + "}" for name in subject.placeholders)
        + " for "
        + (subject.called or ", ".join(k.code for k in KINDS.values() if k.subject is subject))
        for subject in SUBJECTS
    )


class TitleInSchema(ma.Schema):
    text_fr = ma.fields.String(
        required=True,
        validate=TITLE_TEXT,
        metadata={"description": _placeholders_by_subject()},
    )
    text_en = ma.fields.String(required=True, validate=TITLE_TEXT)


class TitleKindPathSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(TITLE_KINDS))
