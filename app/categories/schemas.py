import marshmallow as ma

from app.assets.models import KINDS as ASSET_KINDS
from app.categories.models import GROUPS, QUESTION_TYPES
from app.fields import StrictBoolean

CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
QUESTION_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
CHOICE_TYPES = ("single_choice", "multiple_choice")


class ChoiceSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=ma.validate.Regexp(QUESTION_CODE_PATTERN))
    name_fr = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    name_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))


class QuestionSchema(ma.Schema):
    """An extra question, as in an Open311 GeoReport v2 service definition attribute."""

    code = ma.fields.String(required=True, validate=ma.validate.Regexp(QUESTION_CODE_PATTERN))
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(QUESTION_TYPES))
    required = StrictBoolean(load_default=False)
    label_fr = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    label_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    choices = ma.fields.List(
        ma.fields.Nested(ChoiceSchema), load_default=list, validate=ma.validate.Length(max=50)
    )
    min = ma.fields.Float(
        load_default=None,
        allow_none=True,
        metadata={"description": "number: smallest accepted value"},
    )
    max = ma.fields.Float(
        load_default=None,
        allow_none=True,
        metadata={"description": "number: largest accepted value"},
    )
    max_length = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(min=1, max=2000),
        metadata={"description": "text: longest accepted answer"},
    )


class CategoryBodySchema(ma.Schema):
    group = ma.fields.String(required=True, validate=ma.validate.OneOf(list(GROUPS)))
    position = ma.fields.Integer(
        load_default=0, strict=True, validate=ma.validate.Range(min=0, max=10_000)
    )
    name_fr = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    name_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    hint_fr = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=500)
    )
    hint_en = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=500)
    )
    icon = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z0-9-]{1,40}$"))
    photo_required = StrictBoolean(load_default=False)
    urgent_notice_fr = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=500)
    )
    urgent_notice_en = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=500)
    )
    urgent_phone = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Regexp(r"^\+?[0-9 ]{2,20}$")
    )
    questions = ma.fields.List(
        ma.fields.Nested(QuestionSchema), load_default=list, validate=ma.validate.Length(max=20)
    )
    active = StrictBoolean(load_default=True)
    asset_kind = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.OneOf(ASSET_KINDS),
        metadata={"description": "Equipment its reports are attached to (nearest one)"},
    )
    snap_distance_m = ma.fields.Integer(
        load_default=30,
        strict=True,
        validate=ma.validate.Range(min=0, max=500),
        metadata={"description": "How far the nearest equipment may be, metres"},
    )
    duplicate_radius_m = ma.fields.Integer(
        load_default=30,
        strict=True,
        validate=ma.validate.Range(min=0, max=1000),
        metadata={"description": "An open report this near is the same problem; 0: never"},
    )
    duplicate_window_days = ma.fields.Integer(
        load_default=30,
        strict=True,
        validate=ma.validate.Range(min=1, max=365),
        metadata={"description": "...and at most this old, days"},
    )
    service_level_hours = ma.fields.Integer(
        load_default=168,
        strict=True,
        validate=ma.validate.Range(min=1, max=24 * 365),
        metadata={"description": "Time to deal with a report, hours: sets its due date"},
    )


class CategoryFileItemSchema(CategoryBodySchema):
    """One category in an import/export file: the body plus its code."""

    code = ma.fields.String(required=True, validate=ma.validate.Regexp(CODE_PATTERN))


class CategorySchema(CategoryFileItemSchema):
    """A category as the API shows it."""

    class Meta:
        ordered = True


class CategoryGroupSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_fr = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    categories = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)


class CatalogueSchema(ma.Schema):
    groups = ma.fields.List(ma.fields.Nested(CategoryGroupSchema), required=True)


class CategoryCodePathSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(CODE_PATTERN))
