"""Recording staff access to personal data."""

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.pagination import decode_cursor, paginate

# A member of staff read a reporter's contact details (GET /v1/reports/{id}/contact).
REPORT_CONTACT_READ = "report.contact.read"
# A member of staff saw a photo's unblurred original (GET .../photos/{id}/original).
PHOTO_ORIGINAL_READ = "report.photo.original.read"
# What the personal-data read log lists: reads of residents' personal data by staff.
PERSONAL_DATA_READS = (REPORT_CONTACT_READ, PHOTO_ORIGINAL_READ)


def record(
    session: Session,
    *,
    actor,
    action: str,
    subject_type: str,
    subject_id: str,
    request_id: str | None = None,
    **details,
) -> None:
    """Add an audit event to the caller's transaction (it commits with the use case)."""
    session.add(
        AuditEvent(
            actor_uid=actor.uid,
            actor_role=actor.role.value,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            request_id=request_id,
            details=details,
        )
    )


def events_for(session: Session, subject_type: str, subject_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id)
            )
            .order_by(AuditEvent.id)
        )
    )


def personal_data_reads(
    session: Session,
    *,
    actor_uid: str | None = None,
    report_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: list | None = None,
    limit: int = 50,
) -> dict:
    """A page of staff reads of reporters' personal data, newest first, keyset-paginated on
    (at, id); ``since`` inclusive, ``until`` exclusive."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.action.in_(PERSONAL_DATA_READS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit + 1)
    )
    if actor_uid is not None:
        query = query.where(AuditEvent.actor_uid == actor_uid)
    if report_id is not None:
        query = query.where(
            AuditEvent.subject_type == "report", AuditEvent.subject_id == str(report_id)
        )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if after is not None:
        query = query.where(tuple_(AuditEvent.at, AuditEvent.id) < tuple(after))
    page = paginate(list(session.scalars(query)), limit, lambda e: [e.at.isoformat(), e.id])
    page["items"] = [
        {
            "id": event.id,
            "at": event.at,
            "actor_uid": event.actor_uid,
            "actor_role": event.actor_role,
            "action": event.action,
            "report_id": int(event.subject_id),
            "reference": event.details.get("reference"),
            "request_id": event.request_id,
        }
        for event in page["items"]
    ]
    return page


def parse_cursor(cursor: str | None) -> list | None:
    """(at, id) from a cursor issued by :func:`personal_data_reads`."""
    return decode_cursor(cursor, 2, lambda k: [datetime.fromisoformat(k[0]), int(k[1])])
