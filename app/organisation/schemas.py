import marshmallow as ma

from app.fields import StrictBoolean


class DeskSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_fr = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    is_fallback = StrictBoolean(required=True)


class CrewSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    desk = ma.fields.Pluck(DeskSchema, "code", required=True)


class CrewInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    desk = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))


CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class CrewCodePathSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            CODE_PATTERN, error="lower-case letters, digits and dashes, 1 to 40 characters"
        ),
    )
