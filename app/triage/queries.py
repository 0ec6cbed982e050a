"""Read side of a report's history: when it entered a state.

One definition for every output that dates a state: the open data files, the statistics
(time to resolve, service level) and the resident's reopen window all read ``resolved_at``
from :func:`entered`. Only a state change counts: a note, a public update or a sensor's
"working again" written on a resolved report keeps it resolved (``from_status`` =
``to_status``) and moves nothing.
"""

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from app.triage.models import ReportEvent
from app.worklists.queries import CREW_STATUSES

# A state change, whatever the state.
_CHANGED = ReportEvent.from_status != ReportEvent.to_status


def entered(*statuses: str) -> ColumnElement[bool]:
    """The events that brought a report into one of ``statuses`` from another state."""
    return and_(ReportEvent.to_status.in_(statuses), _CHANGED)


# A report's resolutions: every time it was resolved (again, after a reopen).
RESOLUTION = entered("resolved")


def last_entered(report_id, status: str) -> Select:
    """When the report (an id, or a column to correlate with) last entered ``status``: one
    row, ``<status>_at``, null when it never did."""
    return select(func.max(ReportEvent.created_at).label(f"{status}_at")).where(
        ReportEvent.report_id == report_id, entered(status)
    )


def window_start(report_id, status: str) -> Select:
    """Whence a time limit after ``status`` counts (transitions.Window), one row: ``entered``,
    when the report last entered ``status``; ``changed``, when its state last changed, for a
    report whose history never says it entered it (imported). Both null without a state
    change in the history: the report's creation counts. Never a note or any other event
    that keeps the state: writing on a report does not extend its window."""
    return select(
        func.max(ReportEvent.created_at).filter(entered(status)).label("entered"),
        func.max(ReportEvent.created_at).filter(_CHANGED).label("changed"),
    ).where(ReportEvent.report_id == report_id)


def given_to_crew(report_id, crew_code: str) -> Select:
    """When the ticket was last given to the crew: the last assignment to it from another
    crew, or from a state in which it was not working on the ticket (assigning the crew that
    intake suggested). One row, ``given_at``, null when no assignment is in the history."""
    before, after = ReportEvent.details["crew"][0].astext, ReportEvent.details["crew"][1].astext
    return select(func.max(ReportEvent.created_at).label("given_at")).where(
        ReportEvent.report_id == report_id,
        ReportEvent.to_status == "assigned",
        after == crew_code,
        or_(ReportEvent.from_status.not_in(CREW_STATUSES), before.is_distinct_from(crew_code)),
    )
