"""Aggregated statistics of the reports, computed by PostgreSQL: the API's answers and the
nightly files are the same queries.

Which reports count: those the exports publish (a position is known), less duplicates (a
duplicate is the same problem reported again: it is never resolved on its own, and counting
it would count a problem twice; their number shows as supporters and in the exports).
Months are calendar months in Dijon (Europe/Paris) of the report's creation; every filter
is on the report's creation, so a table covers the reports made in a period.

Times to resolve are the exports' (``app.opendata.queries.resolution``): from the creation
to the last resolution in the history (the last time it entered ``resolved``: a note or a
public update on a resolved report moves nothing), for a report that is resolved or closed
now (a reopened and resolved again report counts from its last resolution; a reopened one
still open does not count). The service level is met when that resolution is no later than the
report's due date (set from its category's service level at intake), or, for a report
without one, than its creation plus the category's ``service_level_hours`` now.

Which tables are published, and how, is app.opendata.tables.

Small cells: a figure drawn from fewer than ``min_count`` reports (the setting
OPENDATA_STATISTICS_MIN_COUNT, 3) is published as null with ``suppressed`` true, so that no
figure describes one or two reports. Empty cells are not listed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
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
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from app.categories.models import Category
from app.opendata.queries import (
    RESOLVED,
    TIMEZONE,
    history,
    last_resolution,
    published,
    resolution,
    seconds_to_resolve,
)
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


# A table's query: the reports the filters keep, small cells suppressed below a count.
Query = Callable[[Filters, int], Select]


def _local(month: date):
    # Midnight of the first of the month in Dijon, as an instant: the created_at index serves.
    return func.timezone(TIMEZONE, cast(literal(month), DateTime))


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _code_of(model, code: str):
    return select(model.id).where(model.code == code).scalar_subquery()


def _counted(filters: Filters) -> list:
    """The WHERE of every table: published, not a duplicate, the filters (on the reports'
    own columns: the aggregation reads one table, names are joined to its few rows)."""
    where = [published(), Report.duplicate_of_id.is_(None), Report.status != "duplicate"]
    if filters.since:
        where.append(Report.created_at >= _local(filters.since))
    if filters.until:
        where.append(Report.created_at < _local(_next_month(filters.until)))
    if filters.category:
        where.append(Report.category_id == _code_of(Category, filters.category))
    if filters.commune:
        where.append(Report.commune_insee == filters.commune)
    if filters.desk == NO_DESK:
        where.append(Report.desk_id.is_(None))
    elif filters.desk:
        where.append(Report.desk_id == _code_of(Desk, filters.desk))
    if filters.source:
        where.append(Report.source == filters.source)
    return where


# The first instants of the months (in Dijon) from the first report's to the last's: a
# report's month is found among them by binary search (width_bucket), as converting each
# report's date to Dijon's time is what took longest (2 s of a 1M-report table).
_MONTH_STARTS = literal_column(
    f"""(SELECT array_agg(timezone('{TIMEZONE}', m) ORDER BY m)
        FROM generate_series(
            date_trunc('month', timezone('{TIMEZONE}', (SELECT min(created_at) FROM reports))),
            timezone('{TIMEZONE}', (SELECT max(created_at) FROM reports)),
            interval '1 month') AS m)""",
    type_=ARRAY(DateTime(timezone=True)),
)


def _month_bucket():
    return func.width_bucket(Report.created_at, _MONTH_STARTS).label("bucket")


def _month_label(bucket):
    """``2026-01``: the month of a bucket."""
    return func.to_char(func.timezone(TIMEZONE, _MONTH_STARTS[bucket]), "YYYY-MM")


def _kept(value, n, min_count: int):
    """``value`` when ``n`` reports at least make it, else null."""
    return case((n >= min_count, value))


def _round(value, digits: int):
    return cast(func.round(cast(value, Numeric), digits), Float)


def reports_by_month(filters: Filters, min_count: int) -> Select:
    """Reports per month, category, commune and source."""
    cells = (
        select(
            _month_bucket(),
            Report.category_id,
            Report.commune_insee,
            Report.source,
            func.count().label("n"),
        )
        .where(*_counted(filters))
        .group_by(literal_column("bucket"), Report.category_id, Report.commune_insee, Report.source)
        .subquery("cells")
    )
    month = _month_label(cells.c.bucket).label("month")
    return (
        select(
            month,
            Category.code.label("category"),
            cells.c.commune_insee.label("commune"),
            cells.c.source,
            _kept(cells.c.n, cells.c.n, min_count).label("reports"),
            (cells.c.n < min_count).label("suppressed"),
        )
        .join(Category, cells.c.category_id == Category.id)
        .order_by(cells.c.bucket, Category.code, cells.c.commune_insee, cells.c.source)
    )


def sources(filters: Filters, min_count: int) -> Select:
    """Reports per month and source, and whether a sensor or a resident opened them."""
    cells = (
        select(_month_bucket(), Report.source, func.count().label("n"))
        .where(*_counted(filters))
        .group_by(literal_column("bucket"), Report.source)
        .subquery("cells")
    )
    opened_by = case((cells.c.source.in_(SENSOR_SOURCES), "sensor"), else_="resident")
    return select(
        _month_label(cells.c.bucket).label("month"),
        cells.c.source,
        opened_by.label("opened_by"),
        _kept(cells.c.n, cells.c.n, min_count).label("reports"),
        (cells.c.n < min_count).label("suppressed"),
    ).order_by(cells.c.bucket, cells.c.source)


def _narrow(filters: Filters) -> bool:
    """Whether the filters keep a small part of the reports (a period, a category): then
    each kept report's events are looked up by index, else every report's are aggregated
    at once (measured on 1M reports: 1 s against 10 for a year of potholes, and the other
    way round over the whole history, 36 s against 10)."""
    return bool(filters.since or filters.until or filters.category)


def service_deadline():
    """When a report is due by its service level: its due date (set at intake from its
    category's service level), else its creation plus the category's ``service_level_hours``
    now (needs the report's category joined)."""
    return func.coalesce(
        Report.due_at,
        Report.created_at + func.make_interval(0, 0, 0, 0, Category.service_level_hours),
    )


def within_service_level(resolved_at):
    """The one definition of a resolution within the service level: ``resolved_at`` (the
    report's resolution, ``app.opendata.queries.resolution``) no later than its
    :func:`service_deadline`. The statistics' ``service-level`` table and the supervisors'
    desk overview both count it."""
    return resolved_at <= service_deadline()


def _resolved(filters: Filters):
    """One row per counted report resolved now: category, desk (0: none), hours to resolve,
    and whether that was within its service level."""
    query = select().join(Category, Report.category_id == Category.id)
    if _narrow(filters):
        events = last_resolution()
        query = query.join(events, true())
    else:
        events = history(taken_up=False)
        query = query.join(events, events.c.report_id == Report.id)
    resolved_at = resolution(events.c.resolved_at)
    return (
        query.add_columns(
            Report.category_id,
            func.coalesce(Report.desk_id, 0).label("desk_id"),
            (cast(seconds_to_resolve(resolved_at), Float) / literal(3600.0, Float)).label("hours"),
            within_service_level(resolved_at).label("on_time"),
        )
        # Implied by a resolution (which only these have): lets the scan skip the others.
        .where(*_counted(filters), Report.status.in_(RESOLVED), resolved_at.is_not(None))
        .subquery("resolved")
    )


def _per_category_and_desk(resolved, *measures) -> Select:
    """Rows per category and desk, per category (desk null: every desk), per desk
    (category null: every category), and over all (both null)."""
    groups = (
        select(
            resolved.c.category_id,
            resolved.c.desk_id,
            func.grouping(resolved.c.category_id).label("all_categories"),
            func.grouping(resolved.c.desk_id).label("all_desks"),
            *measures,
        )
        .group_by(
            func.grouping_sets(
                tuple_(resolved.c.category_id, resolved.c.desk_id),
                tuple_(resolved.c.category_id),
                tuple_(resolved.c.desk_id),
                literal_column("()"),
            )
        )
        # The overall set () gives a row even over no report at all.
        .having(func.count() > 0)
        .subquery("groups")
    )
    category = case((groups.c.all_categories == 0, Category.code)).label("category")
    desk = case((groups.c.all_desks == 0, func.coalesce(Desk.code, NO_DESK))).label("desk")
    return (
        select(category, desk, *(groups.c[m.name] for m in measures))
        .select_from(groups)
        .outerjoin(Category, groups.c.category_id == Category.id)
        .outerjoin(Desk, groups.c.desk_id == Desk.id)
        .order_by(category.nulls_last(), desk.nulls_last())
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


def rows(
    session, query: Query, filters: Filters, min_count: int, timeout_ms: int | None = None
) -> list[dict]:
    """A table's rows (``query``: one of the table queries above), as dicts in column order;
    PostgreSQL cancels the query after ``timeout_ms`` (QueryCanceled), if given."""
    if timeout_ms is not None:
        session.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(timeout_ms)}
        )
    # One pass over every report, aggregated in memory rather than sorted on disk; too
    # short for JIT compilation to pay (it took a third of a second of 11).
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL jit = off"))
    return [dict(row) for row in session.execute(query(filters, min_count)).mappings()]


def columns(query: Query) -> list[str]:
    """A table query's column names, in order (without running it)."""
    return [c.name for c in query(Filters(), DEFAULT_MIN_COUNT).selected_columns]
