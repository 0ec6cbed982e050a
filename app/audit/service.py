"""Recording staff access to personal data."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent


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
