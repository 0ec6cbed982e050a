import marshmallow as ma

from app.fields import StrictBoolean


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)


class CheckSchema(ma.Schema):
    ok = StrictBoolean(required=True)
    error = ma.fields.String()
    current = ma.fields.List(ma.fields.String())
    head = ma.fields.List(ma.fields.String())


class ReadinessSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "ready or not_ready"})
    checks = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema), required=True
    )
