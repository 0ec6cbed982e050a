"""The open-data statistics tables, one entry each: its query, the filters its endpoint
takes, the shape of its rows, its texts. Everything else is built from the entries: the API
endpoints and their OpenAPI text (app.opendata.views), the nightly CSV and JSON files
(app.opendata.service), the catalogue's datasets and the Table Schemas (app.opendata.catalog),
the list of datasets in the files' schema.

A new table: its query in app.opendata.statistics, its row schema and its entry here.
"""

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import marshmallow as ma

from app.opendata import statistics

SOURCES = ("app", "open311", "sensor")
# A row field's Table Schema (frictionless) type, when its marshmallow type does not say it.
FRICTIONLESS_TYPE = "frictionless_type"
_FRICTIONLESS_TYPES = {
    ma.fields.Integer: "integer",
    ma.fields.Float: "number",
    ma.fields.Boolean: "boolean",
}


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


_MONTH = {
    "description": "Month of creation, Paris time",
    "example": "2026-01",
    # Its Table Schema type (not an OpenAPI property: apispec leaves it out).
    FRICTIONLESS_TYPE: "yearmonth",
}
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


# The API's note on every table, after its own summary.
_NOTE = (
    " Reports created in [from, to] (months, Paris time), duplicates excluded; a figure drawn"
    " from fewer than min_count reports is null, flagged suppressed. Also a nightly file."
)


@dataclass(frozen=True)
class StatisticsTable:
    name: str
    query: statistics.Query
    arguments: type[ma.Schema]  # the filters its endpoint takes (the others do not apply)
    row: type[ma.Schema]  # one row: the JSON items; its fields are the CSV's columns
    title: tuple[str, str]  # French, English
    description: tuple[str, str]  # French, English
    summary: str  # the endpoint's, in English (the API's language)

    @cached_property
    def document(self) -> type[ma.Schema]:
        """The table as the API answers it and its JSON file holds it (built once: one
        schema in the OpenAPI document)."""
        return type(
            self.row.__name__.removesuffix("Schema") + "Table",
            (ma.Schema,),
            {
                "table": ma.fields.String(required=True),
                "min_count": ma.fields.Integer(
                    required=True,
                    metadata={"description": "Figures drawn from fewer reports are suppressed"},
                ),
                "items": ma.fields.List(ma.fields.Nested(self.row), required=True),
            },
        )

    @property
    def api_summary(self) -> str:
        return self.summary + _NOTE

    def rows(self, session, filters: statistics.Filters, min_count: int, timeout_ms=None):
        """Its rows, as dicts in column order (see statistics.rows)."""
        return statistics.rows(session, self.query, filters, min_count, timeout_ms)

    def columns(self) -> list[str]:
        """Its column names, in order."""
        return statistics.columns(self.query)

    def column_types(self) -> dict[str, str]:
        """Its columns' Table Schema types."""
        fields = self.row().fields
        return {
            name: fields[name].metadata.get(FRICTIONLESS_TYPE)
            or _FRICTIONLESS_TYPES.get(type(fields[name]), "string")
            for name in self.columns()
        }


TABLES = {
    table.name: table
    for table in (
        StatisticsTable(
            "reports-by-month",
            statistics.reports_by_month,
            ByMonthArgsSchema,
            ReportsByMonthSchema,
            ("Signalements par mois, catégorie, commune et source", "Reports by month, "
             "category, commune and source"),
            (
                "Nombre de signalements créés chaque mois (heure de Paris), par catégorie, "
                "commune et source (application, Open311, capteur), doublons exclus. Les "
                "cellules de trop peu de signalements (moins de min_count, 3 par défaut) "
                "sont masquées.",
                "Number of reports created each month (Paris time), by category, commune "
                "and source (app, Open311, sensor), duplicates excluded. Cells of too few "
                "reports (fewer than min_count, 3 by default) are suppressed.",
            ),
            "Reports per month, category, commune and source.",
        ),
        StatisticsTable(
            "resolution-times",
            statistics.resolution_times,
            ByDeskArgsSchema,
            ResolutionTimesSchema,
            ("Délais de résolution par catégorie et pôle", "Time to resolve by category "
             "and desk"),
            (
                "Médiane et 90e centile du délai de résolution (heures, de la création à la "
                "dernière résolution), par catégorie et par pôle.",
                "Median and 90th percentile of the time to resolve (hours, from creation to "
                "the last resolution), by category and by desk.",
            ),
            "Median and 90th percentile of the hours to resolve (creation to last resolution), "
            "per category and desk, per category, per desk and over all (null: all).",
        ),
        StatisticsTable(
            "service-level",
            statistics.service_level,
            ByDeskArgsSchema,
            ServiceLevelSchema,
            ("Respect des délais de service", "Service level met"),
            (
                "Part des signalements résolus avant leur échéance (niveau de service de la "
                "catégorie), par catégorie et par pôle.",
                "Share of the resolved reports resolved by their due date (the category's "
                "service level), by category and by desk.",
            ),
            "Share of the resolved reports resolved by their due date (the category's service"
            " level), per category and desk, per category, per desk and over all.",
        ),
        StatisticsTable(
            "sources",
            statistics.sources,
            StatisticsArgsSchema,
            SourcesSchema,
            ("Signalements par capteurs et par habitants", "Sensor-opened and "
             "resident-opened reports"),
            (
                "Nombre de signalements créés chaque mois par source, ouverts par un capteur "
                "ou par un habitant (application, Open311).",
                "Number of reports created each month by source, opened by a sensor or by a "
                "resident (app, Open311).",
            ),
            "Reports per month and source (app, open311, sensor): sensor- or resident-opened.",
        ),
    )
}  # fmt: skip
