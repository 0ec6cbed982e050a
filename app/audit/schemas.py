import marshmallow as ma

from app.pagination import PeriodArgsSchema, page_schema


class PersonalDataReadArgsSchema(PeriodArgsSchema):
    actor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "Only the reads by this member of staff (Firebase uid)"},
    )
    report = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=2**62),
        metadata={"description": "Only the reads of this report's reporter (report id)"},
    )


class PersonalDataReadSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = ma.fields.AwareDateTime(required=True)
    actor_uid = ma.fields.String(required=True)
    actor_role = ma.fields.String(required=True)
    action = ma.fields.String(
        required=True, metadata={"description": "report.contact.read: contact details read"}
    )
    report_id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True, allow_none=True)
    request_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "X-Request-ID of the read"}
    )


PersonalDataReadPageSchema = page_schema(PersonalDataReadSchema, "PersonalDataReadPageSchema")
