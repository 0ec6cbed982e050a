"""A report's history as residents and staff read it: its events, oldest first, opened
by its submission."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.identity import Identity
from app.errors import NotFound
from app.organisation.models import Desk
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.users.models import STAFF_ROLES

# Reason codes residents see in the history; a crew's hand-back reason stays internal.
PUBLIC_REASON_ACTIONS = ("reject", "resolve")


def history(
    session: Session, *, viewer: Identity, report_id: int, after: int | None, limit: int
) -> dict:
    """The report's events, oldest first (keyset on the event id). Residents get the public
    ones without who did them or internal notes; staff get everything. The first page opens
    with the report's submission."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    staff = viewer.role in STAFF_ROLES
    query = select(ReportEvent).where(ReportEvent.report_id == report_id)
    if not staff:
        query = query.where(ReportEvent.public.is_(True))
    if after is not None:
        query = query.where(ReportEvent.id > after)
    events = list(session.scalars(query.order_by(ReportEvent.id).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    items = [_present_event(e, staff=staff) for e in events]
    if after is None:
        items.insert(0, _submission(session, report, staff=staff))
    return {"items": items, "next_cursor": events[-1].id if more and events else None}


def _submission(session: Session, report: Report, *, staff: bool) -> dict:
    first = session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)
    )
    item = {
        "id": 0,
        "at": report.created_at,
        "action": "submit",
        "from_status": None,
        "to_status": first.from_status if first else report.status,
        "desk": _desk(first.desk if first else report.desk),
        "reason_code": None,
        "message": None,
    }
    if staff:
        item.update(
            actor_role=None,
            public=True,
            client_at=None,
            internal_note=None,
            details={},
        )
    return item


def _present_event(event: ReportEvent, *, staff: bool) -> dict:
    item = {
        "id": event.id,
        "at": event.created_at,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "desk": _desk(event.desk),
        "reason_code": event.reason_code
        if staff or event.action in PUBLIC_REASON_ACTIONS
        else None,
        "message": None
        if event.message_fr is None
        else {"fr": event.message_fr, "en": event.message_en},
    }
    if staff:
        item.update(
            actor_uid=event.actor_uid,
            actor_role=event.actor_role,
            public=event.public,
            client_at=event.client_at,
            internal_note=event.internal_note,
            details=event.details,
        )
    return item


def _desk(desk: Desk | None) -> dict | None:
    if desk is None:
        return None
    return {"code": desk.code, "name_fr": desk.name_fr, "name_en": desk.name_en}
