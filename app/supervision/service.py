"""Use cases of supervision (supervisors and admins): the desks' overview and the crews'
workloads. Read only: nothing here writes."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app import clock
from app.reports.models import OPEN_STATUSES
from app.routing.explanation import over_capacity
from app.supervision import queries

# The service level and the resolved counts cover the reports resolved in this many days.
WINDOW_DAYS = 30
RESOLVED_STATES = ("resolved", "closed")


def desks_overview(
    session: Session, *, include_resolved: bool = False, now: datetime | None = None
) -> dict:
    """Every desk (empty ones included): its open reports per state, how many are overdue,
    its oldest open report and its age, and the service level of the reports resolved in
    the last WINDOW_DAYS days; with ``include_resolved``, the resolved and closed reports
    of that window counted per state too. Times count from ``now`` (the database's clock)."""
    now = now or clock.now(session)
    since = now - timedelta(days=WINDOW_DAYS)
    states = OPEN_STATUSES + (RESOLVED_STATES if include_resolved else ())
    overview = {
        row.id: {
            "desk": {"code": row.code, "name_fr": row.name_fr, "name_en": row.name_en},
            "is_fallback": row.is_fallback,
            "counts": dict.fromkeys(states, 0),
            "open": 0,
            "overdue": 0,
            "oldest_open": None,
            "service_level": {"resolved": 0, "within_service_level": 0, "share": None},
        }
        for row in session.execute(queries.desks())
    }
    for row in session.execute(queries.open_counts(now)):
        desk = overview[row.desk_id]
        desk["counts"][row.status] = row.reports
        desk["open"] += row.reports
        desk["overdue"] += row.overdue
    for row in session.execute(queries.oldest_open()):
        overview[row.desk_id]["oldest_open"] = {
            "id": row.id,
            "reference": row.reference,
            "created_at": row.created_at,
            "age_seconds": max(0, int((now - row.created_at).total_seconds())),
        }
    for row in session.execute(queries.resolved_between(since, now)):
        desk = overview[row.desk_id]
        if include_resolved:
            desk["counts"][row.status] = row.reports
        level = desk["service_level"]
        level["resolved"] += row.reports
        level["within_service_level"] += row.within
    for desk in overview.values():
        level = desk["service_level"]
        if level["resolved"]:
            level["share"] = round(level["within_service_level"] / level["resolved"], 4)
    return {
        "as_of": now,
        "window": {"days": WINDOW_DAYS, "since": since, "until": now},
        "desks": list(overview.values()),
    }


def crews_workload(session: Session, *, now: datetime | None = None) -> dict:
    """Every crew with its desk, its capacity and its workload as routing counts it, how
    much of that is assigned or in progress and how much overdue, and its load (workload
    for capacity). Times count from ``now`` (the database's clock)."""
    now = now or clock.now(session)
    crews = []
    for row in session.execute(queries.crews(now)):
        crews.append(
            {
                "crew": {"code": row.code, "name": row.name},
                "desk": {
                    "code": row.desk_code,
                    "name_fr": row.desk_name_fr,
                    "name_en": row.desk_name_en,
                },
                "active": row.active,
                "capacity": row.capacity,
                "workload": row.workload,
                "tickets": row.tickets,
                "by_state": {state: getattr(row, state) for state in OPEN_STATUSES},
                "overdue": row.overdue,
                "load_ratio": round(row.load_ratio, 4),
                "over_capacity": over_capacity(row.workload, row.capacity),
            }
        )
    return {"as_of": now, "crews": crews}
