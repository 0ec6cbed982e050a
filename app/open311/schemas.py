import marshmallow as ma

from app.fields import StrictBoolean
from app.pagination import PageArgsSchema, page_schema

# flask-limiter syntax, restricted to what is unambiguous: "60/minute;1000/day".
RATE_LIMIT_PATTERN = (
    r"^[1-9][0-9]{0,5}/(second|minute|hour|day)(;[1-9][0-9]{0,5}/(second|minute|hour|day)){0,3}$"
)


class ApiKeyInSchema(ma.Schema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=120),
        metadata={"description": "The partner application"},
    )
    contact = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=320),
        metadata={"description": "Whom to reach at the partner about this key"},
    )
    rate_limit = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(RATE_LIMIT_PATTERN),
        metadata={
            "description": "Requests this key may create, e.g. 60/minute;1000/day "
            "(default OPEN311_DEFAULT_RATE_LIMIT)"
        },
    )


class ApiKeySchema(ma.Schema):
    """A partner key, without the key itself (only its hash is stored)."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    contact = ma.fields.String(required=True, allow_none=True)
    prefix = ma.fields.String(
        required=True, metadata={"description": "The key's first characters, to recognise it"}
    )
    rate_limit = ma.fields.String(required=True)
    created_by = ma.fields.String(required=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    revoked_at = ma.fields.AwareDateTime(required=True, allow_none=True)
    active = StrictBoolean(required=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    api_key = ma.fields.String(
        required=True,
        metadata={"description": "The key to give the partner: shown once, never again"},
    )


class ApiKeyIdPathSchema(ma.Schema):
    key_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))


ApiKeyListArgsSchema = PageArgsSchema
ApiKeyPageSchema = page_schema(ApiKeySchema, "ApiKeyPageSchema")
