import marshmallow as ma

from app.opendata.models import FORMATS
from app.opendata.tables import TABLES
from app.pagination import PageArgsSchema, page_schema

NAME_PATTERN = (
    r"^(reports(-[0-9]{4}-[0-9]{2}-[0-9]{2})?\.(geojson|csv|parquet)"
    r"|statistics-[a-z-]{1,40}\.(csv|json))$"
)
SCHEMA_NAME_PATTERN = r"^[a-z-]{1,40}$"


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
