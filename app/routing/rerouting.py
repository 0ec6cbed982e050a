"""Routing a report again when the desk changes it: another category (routed in full, as
intake would) or another desk (its crews chosen from again). Flushes nothing: the triage
action that calls these commits the change with its event.
"""

from datetime import timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.organisation.models import Desk
from app.reports.models import Report
from app.routing import choice, explanation, intake


def to_desk(session: Session, report: Report, desk: Desk, *, by: str) -> None:
    """Send the report to ``desk`` by hand (``by``: the role doing it); the desk's
    best-fitting crew takes it, as intake would choose."""
    routing = dict(report.routing or {})
    old_desk = report.desk.code if report.desk else None
    routing["desk"] = explanation.desk_forced(desk.code, by, old_desk)
    report.desk = desk
    report.crew_id = _choose_crew(session, report, report.category, desk, routing)
    report.routing = routing


def for_category(session: Session, report: Report, category: Category) -> None:
    """Route the report again as intake would for ``category`` (equipment, priority from
    the service level raised near a sensitive place, desk by the rules, crew among that
    desk's), due date from its creation. Called before the report takes the category, so it
    cannot be found as its own duplicate; another open report found is only pointed out."""
    old_code = report.category.code
    priority = intake.priority_for(category.service_level_hours)
    explained = explanation.started(category.service_level_hours, priority)
    asset_id, desk, crew_id = None, report.desk, report.crew_id
    if report.geom is not None:
        lon, lat = _lon_lat(report)
        routed = intake.route(session, category.code, lon, lat)
        explained, asset_id, priority = dict(routed.explanation), routed.asset_id, routed.priority
        if routed.desk is not None:  # a detached Desk built from the lookup's row
            desk = session.get(Desk, routed.desk.id)
            crew_id = routed.crew_id
        if routed.original is not None:
            # Not made a duplicate here: the desk merges it if it is one. Its crew is chosen
            # as for any report.
            explained["duplicate"] = explanation.possible_duplicate(explained["duplicate"])
            crew_id = _choose_crew(session, report, category, desk, explained)
    explained["category"] = explanation.category_changed(old_code, category.code)
    report.category = category
    report.desk = desk
    report.crew_id = crew_id
    report.asset_id = asset_id
    report.priority = priority
    report.due_at = report.created_at + timedelta(hours=category.service_level_hours)
    report.routing = explained


def _choose_crew(
    session: Session, report: Report, category: Category, desk: Desk | None, routing: dict
) -> int | None:
    """The desk's best-fitting crew for the report (as intake chooses), with the why."""
    chosen = None
    if report.geom is not None and desk is not None:
        lon, lat = _lon_lat(report)
        chosen = choice.choose_crew(session, desk.id, category.code, lon, lat)
    if chosen is None:
        routing["crew"] = explanation.no_crew()
        return None
    crew, why = chosen
    routing["crew"] = why
    return crew.id


def _lon_lat(report: Report) -> tuple[float, float]:
    lon, lat = to_shape(report.geom).coords[0]
    return lon, lat
