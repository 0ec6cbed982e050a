import json
from datetime import time

import marshmallow as ma

from app.fields import StrictBoolean

CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
# "HH:MM", local time in Europe/Paris; "24:00" only closes a working period.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
END_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class GeoJSONGeometry(ma.fields.Dict):
    """A GeoJSON geometry object of the given types. Only its outline is checked here;
    coordinates are checked by the service (422 ``invalid_geometry`` saying what to fix)."""

    def __init__(self, *types: str, **kwargs):
        self.types = types
        description = kwargs.pop("metadata", {}).get(
            "description", f"GeoJSON {' or '.join(types)}, WGS 84 longitude/latitude"
        )
        super().__init__(metadata=geometry_field_schema(types, description), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value.get("type") not in self.types:
            raise ma.ValidationError(f"type must be one of: {', '.join(self.types)}")
        if "coordinates" not in value:
            raise ma.ValidationError("coordinates are required")
        return value


def geometry_field_schema(types: tuple[str, ...], description: str) -> dict:
    return {
        "type": "object",
        "nullable": True,
        "description": description,
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": list(types)},
            "coordinates": {"type": "array"},
        },
    }


class DeskSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name_fr = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    is_fallback = StrictBoolean(required=True)


def _time_pair():
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(END_TIME_PATTERN)),
        validate=ma.validate.Length(equal=2),
        metadata={"description": "[start, end], local time HH:MM; end after start"},
    )


class WorkingHoursSchema(ma.Schema):
    """Working periods per weekday: {"mon": [["07:30", "12:00"], ["13:00", "16:00"]], ...}."""

    class Meta:
        ordered = True

    mon = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    tue = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    wed = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    thu = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    fri = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    sat = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))
    sun = ma.fields.List(_time_pair(), validate=ma.validate.Length(max=4))


class CrewSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    desk = ma.fields.Pluck(DeskSchema, "code", required=True)
    skills = ma.fields.List(ma.fields.String(), required=True)
    zone = ma.fields.Function(
        lambda crew: _geojson(crew.zone_geojson),
        required=True,
        metadata={"description": "GeoJSON MultiPolygon; null: the whole service area"},
    )
    depot = ma.fields.Function(
        lambda crew: _geojson(crew.depot_geojson),
        required=True,
        metadata={"description": "GeoJSON Point, or null"},
    )
    working_hours = ma.fields.Nested(WorkingHoursSchema, required=True)
    capacity = ma.fields.Integer(required=True)
    active = StrictBoolean(required=True)


class CrewInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    desk = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    skills = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN)),
        load_default=list,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Codes of the categories the crew handles"},
    )
    zone = GeoJSONGeometry(
        "Polygon",
        "MultiPolygon",
        load_default=None,
        allow_none=True,
        metadata={"description": "Service zone; null or absent: the whole service area"},
    )
    depot = GeoJSONGeometry("Point", load_default=None, allow_none=True)
    working_hours = ma.fields.Nested(WorkingHoursSchema, load_default=dict)
    capacity = ma.fields.Integer(
        load_default=10,
        strict=True,
        validate=ma.validate.Range(min=1, max=10_000),
        metadata={"description": "How many open reports the crew can carry"},
    )
    active = StrictBoolean(load_default=True)


class CrewCodePathSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            CODE_PATTERN, error="lower-case letters, digits and dashes, 1 to 40 characters"
        ),
    )


class RoutingRuleInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    priority = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=0, max=1_000_000),
        metadata={"description": "Lower first; unique"},
    )
    category = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN),
        metadata={"description": "Category code; null: any category"},
    )
    desk = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    zone = GeoJSONGeometry(
        "Polygon",
        "MultiPolygon",
        load_default=None,
        allow_none=True,
        metadata={"description": "Where the rule applies; null or absent: everywhere"},
    )
    months = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=12)),
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=12),
        metadata={"description": "Months (1-12, Europe/Paris) when it applies; null: all year"},
    )
    starts_at = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(TIME_PATTERN),
        metadata={"description": "Daily window start, local HH:MM; with ends_at"},
    )
    ends_at = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(TIME_PATTERN),
        metadata={"description": "Daily window end (excluded); before starts_at: wraps midnight"},
    )
    active = StrictBoolean(load_default=True)


class RoutingRuleSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    priority = ma.fields.Integer(required=True)
    category = ma.fields.String(attribute="category_code", required=True, allow_none=True)
    desk = ma.fields.Pluck(DeskSchema, "code", required=True)
    zone = ma.fields.Function(
        lambda rule: _geojson(rule.zone_geojson),
        required=True,
        metadata={"description": "GeoJSON MultiPolygon, or null: everywhere"},
    )
    months = ma.fields.List(ma.fields.Integer(), required=True, allow_none=True)
    starts_at = ma.fields.Function(lambda rule: _hhmm(rule.starts_at), required=True)
    ends_at = ma.fields.Function(lambda rule: _hhmm(rule.ends_at), required=True)
    active = StrictBoolean(required=True)


class RoutingRuleFileItemSchema(RoutingRuleInSchema):
    """One rule in an import/export file (the list is the whole rule set, in any order)."""


class RuleIdPathSchema(ma.Schema):
    rule_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1)
    )


def _geojson(text: str | None):
    return json.loads(text) if text else None


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None
