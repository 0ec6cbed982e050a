import re
from datetime import date

import marshmallow as ma

from app.opendata.models import FORMATS
from app.opendata.statistics import TABLES
from app.pagination import PageArgsSchema, page_schema

NAME_PATTERN = (
    r"^(reports(-[0-9]{4}-[0-9]{2}-[0-9]{2})?\.(geojson|csv|parquet)"
    r"|statistics-[a-z-]{1,40}\.(csv|json))$"
)
SCHEMA_NAME_PATTERN = r"^[a-z-]{1,40}$"
SOURCES = ("app", "open311", "sensor")


class FileListArgsSchema(PageArgsSchema):
    format = ma.fields.String(load_default=None, validate=ma.validate.OneOf(FORMATS))
    period = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(("full", "daily")),
        metadata={"description": "`full` (every report) or `daily` (one day's reports)"},
    )
    since = ma.fields.Date(
        load_default=None, metadata={"description": "Daily files of this day and after"}
    )
    until = ma.fields.Date(
        load_default=None, metadata={"description": "Daily files of this day and before"}
    )


class OpenDataFileSchema(ma.Schema):
    class Meta:
        ordered = True

    name = ma.fields.String(required=True, metadata={"example": "reports-2026-11-25.csv"})
    format = ma.fields.String(
        required=True, metadata={"description": "geojson, csv or parquet; csv or json"}
    )
    dataset = ma.fields.String(
        required=True,
        metadata={
            "description": "reports (full), reports-daily, or a statistics table: "
            + ", ".join(TABLES)
        },
    )
    media_type = ma.fields.String(required=True)
    period = ma.fields.String(required=True, metadata={"description": "full or daily"})
    day = ma.fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "Creation date (Europe/Paris) of a daily file's reports"},
    )
    row_count = ma.fields.Integer(required=True)
    size_bytes = ma.fields.Integer(required=True)
    sha256 = ma.fields.String(required=True, metadata={"description": "Also the ETag"})
    modified_at = ma.fields.DateTime(
        required=True, metadata={"description": "When the content last changed"}
    )
    generated_at = ma.fields.DateTime(
        required=True, metadata={"description": "The last export, which found it so"}
    )
    url = ma.fields.String(required=True, metadata={"description": "Where to download it"})


OpenDataFilePageSchema = page_schema(OpenDataFileSchema, "OpenDataFilePage")


MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"


class Month(ma.fields.Field):
    """A calendar month, ``YYYY-MM`` (1900 to 2099): its first day."""

    default_error_messages = {"invalid": "Not a month: give YYYY-MM (2026-01 to 2026-12)."}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": MONTH_PATTERN, "example": "2026-01"}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(MONTH_PATTERN, value, re.ASCII):
            raise self.make_error("invalid")
        return date(int(value[:4]), int(value[5:]), 1)


class StatisticsArgsSchema(ma.Schema):
    """The filters every statistics table takes: the months of the reports' creation."""

    since = Month(
        data_key="from",
        load_default=None,
        metadata={"description": "Reports created in this month (Paris time) and after"},
    )
    until = Month(
        data_key="to",
        load_default=None,
        metadata={
            "description": "Reports created in this month (Paris time) and before (before "
            "`from`: no report)"
        },
    )
    category = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "A category code (pothole...)"},
    )
    commune = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$"),
        metadata={"description": "A commune's INSEE code (21231: Dijon)"},
    )


class ByMonthArgsSchema(StatisticsArgsSchema):
    source = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SOURCES))


class ByDeskArgsSchema(StatisticsArgsSchema):
    desk = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "A desk code (voirie...); `none` for reports without one"},
    )


def _count(description: str):
    return ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": description + " (null: suppressed)"},
    )


_MONTH = {"description": "Month of creation, Paris time", "example": "2026-01"}
_SUPPRESSED = {"description": "Drawn from fewer than min_count reports: figures are null"}
_ALL = " (null: all of them)"


class ReportsByMonthSchema(ma.Schema):
    class Meta:
        ordered = True

    month = ma.fields.String(required=True, metadata=_MONTH)
    category = ma.fields.String(required=True)
    commune = ma.fields.String(required=True, allow_none=True)
    source = ma.fields.String(required=True, metadata={"description": "app, open311 or sensor"})
    reports = _count("Reports created")
    suppressed = ma.fields.Boolean(required=True, metadata=_SUPPRESSED)


class ResolutionTimesSchema(ma.Schema):
    class Meta:
        ordered = True

    category = ma.fields.String(required=True, allow_none=True, metadata={"description": _ALL})
    desk = ma.fields.String(required=True, allow_none=True, metadata={"description": _ALL})
    resolved = _count("Reports resolved")
    median_hours = ma.fields.Float(required=True, allow_none=True)
    p90_hours = ma.fields.Float(required=True, allow_none=True)
    suppressed = ma.fields.Boolean(required=True, metadata=_SUPPRESSED)


class ServiceLevelSchema(ma.Schema):
    class Meta:
        ordered = True

    category = ma.fields.String(required=True, allow_none=True, metadata={"description": _ALL})
    desk = ma.fields.String(required=True, allow_none=True, metadata={"description": _ALL})
    resolved = _count("Reports resolved")
    within_service_level = _count("Of which by their due date")
    share = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "within / resolved, 0 to 1"}
    )
    suppressed = ma.fields.Boolean(required=True, metadata=_SUPPRESSED)


class SourcesSchema(ma.Schema):
    class Meta:
        ordered = True

    month = ma.fields.String(required=True, metadata=_MONTH)
    source = ma.fields.String(required=True, metadata={"description": "app, open311 or sensor"})
    opened_by = ma.fields.String(required=True, metadata={"description": "resident or sensor"})
    reports = _count("Reports created")
    suppressed = ma.fields.Boolean(required=True, metadata=_SUPPRESSED)


def _table_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(
        name,
        (ma.Schema,),
        {
            "table": ma.fields.String(required=True),
            "min_count": ma.fields.Integer(
                required=True,
                metadata={"description": "Figures drawn from fewer reports are suppressed"},
            ),
            "items": ma.fields.List(ma.fields.Nested(item), required=True),
        },
    )


TABLE_SCHEMAS = {
    "reports-by-month": _table_schema(ReportsByMonthSchema, "ReportsByMonthTable"),
    "resolution-times": _table_schema(ResolutionTimesSchema, "ResolutionTimesTable"),
    "service-level": _table_schema(ServiceLevelSchema, "ServiceLevelTable"),
    "sources": _table_schema(SourcesSchema, "SourcesTable"),
}
