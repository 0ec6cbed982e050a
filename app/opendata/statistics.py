"""Aggregated statistics of the reports, computed by PostgreSQL: the API's answers and the
nightly files are the same queries.

Which reports count: those the exports publish (a position is known), less duplicates (a
duplicate is the same problem reported again: it is never resolved on its own, and counting
it would count a problem twice; their number shows as supporters and in the exports).
Months are calendar months in Dijon (Europe/Paris) of the report's creation; every filter
is on the report's creation, so a table covers the reports made in a period.

Times to resolve are the exports' (``app.opendata.queries.resolution``): from the creation
to the last resolution in the history, for a report that is resolved or closed now (a
reopened and resolved again report counts from its last resolution; a reopened one still
open does not count). The service level is met when that resolution is no later than the
report's due date (set from its category's service level at intake), or, for a report
without one, than its creation plus the category's ``service_level_hours`` now.

Small cells: a figure drawn from fewer than ``min_count`` reports (OPENDATA_STATISTICS_
MIN_COUNT, 3) is published as null with ``suppressed`` true, so that no figure describes
one or two reports. Empty cells are not listed.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Numeric,
    Select,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)

from app.categories.models import Category
from app.opendata.queries import TIMEZONE, history, published, resolution, seconds_to_resolve
from app.organisation.models import Desk
from app.reports.models import Report

DEFAULT_MIN_COUNT = 3
# Who opened a report: a sensor's fault (feeds), or a resident (the app, Open311 partners).
SENSOR_SOURCES = ("sensor",)
# Desk code for the reports no desk holds (routing always finds one; an edit may not).
NO_DESK = "none"


@dataclass(frozen=True)
class Filters:
    """Which reports a table covers: created in [since, until] (first days of months, in
    Dijon), of a category, commune, desk, source (each optional)."""

    since: date | None = None
    until: date | None = None
    category: str | None = None
    commune: str | None = None
    desk: str | None = None
    source: str | None = None


def _local(month: date):
    # Midnight of the first of the month in Dijon, as an instant: the created_at index serves.
    return func.timezone(TIMEZONE, cast(literal(month), DateTime))


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _counted(filters: Filters) -> list:
    """The WHERE of every table: published, not a duplicate, the filters."""
    where = [published(), Report.duplicate_of_id.is_(None), Report.status != "duplicate"]
    if filters.since:
        where.append(Report.created_at >= _local(filters.since))
    if filters.until:
        where.append(Report.created_at < _local(_next_month(filters.until)))
    if filters.category:
        where.append(Category.code == filters.category)
    if filters.commune:
        where.append(Report.commune_insee == filters.commune)
    if filters.desk:
        where.append(func.coalesce(Desk.code, NO_DESK) == filters.desk)
    if filters.source:
        where.append(Report.source == filters.source)
    return where


def _month():
    local = func.timezone(TIMEZONE, Report.created_at)
    return func.to_char(cast(func.date_trunc("month", local), Date), "YYYY-MM")


def _kept(value, n, min_count: int):
    """``value`` when ``n`` reports at least make it, else null."""
    return case((n >= min_count, value))


def _round(value, digits: int):
    return cast(func.round(cast(value, Numeric), digits), Float)


def reports_by_month(filters: Filters, min_count: int) -> Select:
    """Reports per month, category, commune and source."""
    month, n = _month().label("month"), func.count()
    return (
        select(
            month,
            Category.code.label("category"),
            Report.commune_insee.label("commune"),
            Report.source,
            _kept(n, n, min_count).label("reports"),
            (n < min_count).label("suppressed"),
        )
        .select_from(Report)
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .where(*_counted(filters))
        .group_by(month, Category.code, Report.commune_insee, Report.source)
        .order_by(month, Category.code, Report.commune_insee, Report.source)
    )


def sources(filters: Filters, min_count: int) -> Select:
    """Reports per month and source, and whether a sensor or a resident opened them."""
    month, n = _month().label("month"), func.count()
    opened_by = case((Report.source.in_(SENSOR_SOURCES), "sensor"), else_="resident")
    return (
        select(
            month,
            Report.source,
            opened_by.label("opened_by"),
            _kept(n, n, min_count).label("reports"),
            (n < min_count).label("suppressed"),
        )
        .select_from(Report)
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .where(*_counted(filters))
        .group_by(month, Report.source)
        .order_by(month, Report.source)
    )


def _resolved(filters: Filters):
    """One row per counted report resolved now: category, desk, hours to resolve, and
    whether that was within its service level."""
    events = history()
    resolved_at = resolution(events)
    deadline = func.coalesce(
        Report.due_at,
        Report.created_at + func.make_interval(0, 0, 0, 0, Category.service_level_hours),
    )
    return (
        select(
            Category.code.label("category"),
            func.coalesce(Desk.code, NO_DESK).label("desk"),
            (seconds_to_resolve(resolved_at) / 3600).label("hours"),
            (resolved_at <= deadline).label("on_time"),
        )
        .select_from(Report)
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .join(events, events.c.report_id == Report.id)
        .where(*_counted(filters), resolved_at.is_not(None))
        .subquery("resolved")
    )


def _per_category_and_desk(resolved, *measures) -> Select:
    """Rows per category and desk, per category (desk null: every desk), per desk
    (category null: every category), and over all (both null)."""
    return (
        select(resolved.c.category, resolved.c.desk, *measures)
        .group_by(
            func.grouping_sets(
                tuple_(resolved.c.category, resolved.c.desk),
                tuple_(resolved.c.category),
                tuple_(resolved.c.desk),
                literal_column("()"),
            )
        )
        # The overall set () gives a row even over no report at all.
        .having(func.count() > 0)
        .order_by(resolved.c.category.nulls_last(), resolved.c.desk.nulls_last())
    )


def resolution_times(filters: Filters, min_count: int) -> Select:
    """Median and 90th percentile of the hours to resolve."""
    resolved = _resolved(filters)
    n = func.count()

    def percentile(p: float, name: str):
        value = func.percentile_cont(p).within_group(resolved.c.hours)
        return _kept(_round(value, 1), n, min_count).label(name)

    return _per_category_and_desk(
        resolved,
        _kept(n, n, min_count).label("resolved"),
        percentile(0.5, "median_hours"),
        percentile(0.9, "p90_hours"),
        (n < min_count).label("suppressed"),
    )


def service_level(filters: Filters, min_count: int) -> Select:
    """The share of the resolved reports resolved by their due date."""
    resolved = _resolved(filters)
    n = func.count()
    within = func.count().filter(resolved.c.on_time)
    return _per_category_and_desk(
        resolved,
        _kept(n, n, min_count).label("resolved"),
        _kept(within, n, min_count).label("within_service_level"),
        _kept(_round(cast(within, Float) / n, 4), n, min_count).label("share"),
        (n < min_count).label("suppressed"),
    )


@dataclass(frozen=True)
class Table:
    name: str
    query: object
    # The filters its API endpoint takes (the others do not apply to it).
    filters: tuple[str, ...]
    title: tuple[str, str]  # French, English
    description: tuple[str, str]


TABLES = {
    table.name: table
    for table in (
        Table(
            "reports-by-month",
            reports_by_month,
            ("since", "until", "category", "commune", "source"),
            ("Signalements par mois, catégorie, commune et source", "Reports by month, "
             "category, commune and source"),
            (
                "Nombre de signalements créés chaque mois (heure de Paris), par catégorie, "
                "commune et source (application, Open311, capteur), doublons exclus. Les "
                "cellules de moins de 3 signalements sont masquées.",
                "Number of reports created each month (Paris time), by category, commune "
                "and source (app, Open311, sensor), duplicates excluded. Cells of fewer "
                "than 3 reports are suppressed.",
            ),
        ),
        Table(
            "resolution-times",
            resolution_times,
            ("since", "until", "category", "commune", "desk"),
            ("Délais de résolution par catégorie et pôle", "Time to resolve by category "
             "and desk"),
            (
                "Médiane et 90e centile du délai de résolution (heures, de la création à la "
                "dernière résolution), par catégorie et par pôle.",
                "Median and 90th percentile of the time to resolve (hours, from creation to "
                "the last resolution), by category and by desk.",
            ),
        ),
        Table(
            "service-level",
            service_level,
            ("since", "until", "category", "commune", "desk"),
            ("Respect des délais de service", "Service level met"),
            (
                "Part des signalements résolus avant leur échéance (niveau de service de la "
                "catégorie), par catégorie et par pôle.",
                "Share of the resolved reports resolved by their due date (the category's "
                "service level), by category and by desk.",
            ),
        ),
        Table(
            "sources",
            sources,
            ("since", "until", "category", "commune"),
            ("Signalements par capteurs et par habitants", "Sensor-opened and "
             "resident-opened reports"),
            (
                "Nombre de signalements créés chaque mois par source, ouverts par un capteur "
                "ou par un habitant (application, Open311).",
                "Number of reports created each month by source, opened by a sensor or by a "
                "resident (app, Open311).",
            ),
        ),
    )
}  # fmt: skip


def rows(session, name: str, filters: Filters, min_count: int) -> list[dict]:
    """A table's rows, as dicts in column order."""
    return [dict(row) for row in session.execute(TABLES[name].query(filters, min_count)).mappings()]


def columns(name: str) -> list[str]:
    """A table's column names, in order (without running it)."""
    return [c.name for c in TABLES[name].query(Filters(), DEFAULT_MIN_COUNT).selected_columns]
