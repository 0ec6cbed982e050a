"""Read side of supervision: per desk and per crew figures, each one grouped statement.

Nothing is defined here that is defined elsewhere: overdue is the work lists' (app.worklists.
queries.overdue), a resolution and its service level the open data statistics' (app.opendata),
a crew's workload and load routing's (app.routing.choice: the crew's counter, app.workload),
so that the supervisors' screen, the queues, the published statistics and routing's choice
of crew never disagree.
"""

from datetime import datetime

from sqlalchemy import Select, func, select, true
from sqlalchemy.dialects.postgresql import distinct_on

from app.categories.models import Category
from app.opendata.queries import RESOLVED, resolution
from app.opendata.statistics import within_service_level
from app.organisation.models import Crew, Desk
from app.reports.models import OPEN_STATUSES, Report
from app.routing.choice import counted_workload, holds_open_work, load_ratio
from app.triage.models import ReportEvent
from app.triage.queries import RESOLUTION
from app.worklists.queries import CREW_STATUSES, overdue


def desks() -> Select:
    """Every desk, by code."""
    return select(Desk.id, Desk.code, Desk.name_fr, Desk.name_en, Desk.is_fallback).order_by(
        Desk.code
    )


def open_counts(now: datetime) -> Select:
    """(desk_id, status, reports, overdue) of the open reports, per desk and state."""
    return (
        select(
            Report.desk_id,
            Report.status,
            func.count().label("reports"),
            func.count().filter(overdue(now)).label("overdue"),
        )
        .where(Report.status.in_(OPEN_STATUSES), Report.desk_id.is_not(None))
        .group_by(Report.desk_id, Report.status)
    )


def oldest_open() -> Select:
    """Per desk, its oldest open report (the queue's ``age`` order: created_at, then id)."""
    return (
        select(Report.desk_id, Report.id, Report.reference, Report.created_at)
        .where(Report.status.in_(OPEN_STATUSES), Report.desk_id.is_not(None))
        .ext(distinct_on(Report.desk_id))
        .order_by(Report.desk_id, Report.created_at, Report.id)
    )


def resolved_between(since: datetime, until: datetime) -> Select:
    """(desk_id, status, reports, within_service_level) of the reports resolved or closed
    now whose last resolution falls in [since, until], per desk and state.

    The last resolution is the history's (app.opendata.queries.history: the last time the
    report entered ``resolved``), found among the resolutions since ``since`` only: when a
    report has one there, its last one is there too (or after ``until``, and then it does
    not count)."""
    last = (
        select(ReportEvent.report_id, func.max(ReportEvent.created_at).label("resolved_at"))
        .where(RESOLUTION, ReportEvent.created_at >= since)
        .group_by(ReportEvent.report_id)
        .subquery("last_resolution")
    )
    resolved_at = resolution(last.c.resolved_at)
    return (
        select(
            Report.desk_id,
            Report.status,
            func.count().label("reports"),
            func.count().filter(within_service_level(resolved_at)).label("within"),
        )
        .join(last, last.c.report_id == Report.id)
        .join(Category, Category.id == Report.category_id)
        .where(
            Report.status.in_(RESOLVED),
            Report.desk_id.is_not(None),
            resolved_at <= until,
        )
        .group_by(Report.desk_id, Report.status)
    )


def crews(now: datetime) -> Select:
    """Every crew with its desk, capacity and workload as routing counts it (with the part
    of it assigned or in progress, the overdue part, and each open state's share)."""
    per_state = [func.count().filter(Report.status == s).label(s) for s in OPEN_STATUSES]
    # The workload from the crew's counter, the very number routing weighs the crew by;
    # the parts of it counted over the crew's open reports.
    load = counted_workload(Crew.id).lateral("load")
    work = (
        select(
            func.count().filter(Report.status.in_(CREW_STATUSES)).label("tickets"),
            func.count().filter(overdue(now)).label("overdue"),
            *per_state,
        )
        .select_from(Report)
        .where(holds_open_work(Crew.id))
        .lateral("work")
    )
    return (
        select(
            Crew.code,
            Crew.name,
            Crew.capacity,
            Crew.active,
            Desk.code.label("desk_code"),
            Desk.name_fr.label("desk_name_fr"),
            Desk.name_en.label("desk_name_en"),
            load.c.workload,
            work,
            load_ratio(load.c.workload, Crew.capacity).label("load_ratio"),
        )
        .join(Desk, Desk.id == Crew.desk_id)
        .join(load, true())
        .join(work, true())
        .order_by(Desk.code, Crew.code)
    )
