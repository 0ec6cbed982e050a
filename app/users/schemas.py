import marshmallow as ma

from app.fields import StrictBoolean
from app.pagination import PageArgsSchema, page_schema
from app.users.models import ACCOUNT_ROLES, Role


class MeSchema(ma.Schema):
    uid = ma.fields.String(required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    anonymous = StrictBoolean(
        required=True, metadata={"description": "Signed in with Firebase anonymous sign-in"}
    )
    email = ma.fields.String(allow_none=True)
    display_name = ma.fields.String(allow_none=True)
    desks = ma.fields.List(ma.fields.String(), metadata={"description": "Desk codes worked"})
    crew = ma.fields.String(allow_none=True, metadata={"description": "Crew code (crew role)"})


class StaffUserSchema(ma.Schema):
    uid = ma.fields.String(attribute="firebase_uid", required=True)
    role = ma.fields.Enum(Role, by_value=True, required=True)
    display_name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    active = StrictBoolean()
    desks = ma.fields.Pluck("DeskRefSchema", "code", many=True)
    crew = ma.fields.Pluck("DeskRefSchema", "code", allow_none=True)
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class DeskRefSchema(ma.Schema):
    code = ma.fields.String()


class StaffUserInSchema(ma.Schema):
    role = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([r.value for r in ACCOUNT_ROLES]),
        metadata={"description": "One of " + ", ".join(r.value for r in ACCOUNT_ROLES)},
    )
    display_name = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=200)
    )
    email = ma.fields.Email(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=320)
    )
    desks = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=40)),
        load_default=list,
        validate=ma.validate.Length(max=20),
        metadata={"description": "Desk codes (agent and supervisor: at least one)"},
    )
    crew = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "Crew code (crew role only)"},
    )
    active = StrictBoolean(load_default=True)

    @ma.post_load
    def to_role(self, data, **kwargs):
        return {**data, "role": Role(data["role"])}


class UserListArgsSchema(PageArgsSchema):
    role = ma.fields.Enum(Role, by_value=True, load_default=None)


StaffUserPageSchema = page_schema(StaffUserSchema, "StaffUserPageSchema")


class UidPathSchema(ma.Schema):
    uid = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "Firebase uid"},
    )
