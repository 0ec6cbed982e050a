from datetime import datetime

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import personal

# The reads of personal data go after the retention schedule's delay; the rest stays.
_LOGGED = personal(
    "staff_uid",
    purpose="access_audit",
    basis="legal_obligation",
    audience=("supervisors", "privacy_officer"),
    retention="personal_data_reads",
    kept="other_audit_events",
)


class AuditEvent(db.Model):
    """One staff access to personal data. Append-only: nothing updates or deletes rows."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # A member of staff's uid; an erasure's event names a tombstone, not the resident.
    actor_uid: Mapped[str] = mapped_column(String(128), index=True, info=_LOGGED)
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    # A report's id, or the uid of the staff account an admin read or changed.
    subject_id: Mapped[str] = mapped_column(String(128), info=_LOGGED)
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
