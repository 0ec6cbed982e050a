from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal, personal
from app.reports.models import Report


class ApiKey(db.Model):
    """A partner application's key for submitting Open311 requests. Only its hash is kept."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(
        String(120), info=not_personal("the partner organisation's or application's name")
    )
    contact: Mapped[str | None] = mapped_column(
        String(320),
        info=personal(
            "partner_contact",
            purpose="partners",
            basis="public_task",
            audience=("admins",),
            kept="while_partner",
        ),
    )
    # The key's first characters, so admins and partners can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the key: keys are 256 random bits, so a fast unsalted hash is enough.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # flask-limiter syntax ("60/minute;1000/day"), counted per key.
    rate_limit: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(
        String(128),
        info=personal(
            "staff_uid",
            purpose="accountability",
            basis="public_task",
            audience=("admins",),
            kept="while_partner",
        ),
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Submission(db.Model):
    """How a report came in through Open311: which key, its token, the media URL given."""

    __tablename__ = "open311_submissions"

    report_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    api_key_id: Mapped[int] = mapped_column(ForeignKey("open311_api_keys.id"), index=True)
    token: Mapped[str] = mapped_column(
        String(36),
        unique=True,
        info=not_personal("Open311's token for the partner's request, a random UUID"),
    )
    # The photo the partner named, fetched by the worker (app/open311/media.py):
    # pending -> fetched (then the photo pipeline) or refused (media_error says why).
    media_url: Mapped[str | None] = mapped_column(String(2000))
    media_status: Mapped[str | None] = mapped_column(String(12))
    media_error: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# GET requests, newest first: a service's requests (service_code), and those updated since
# a date (updated_after, with no date range: without it, a scan of every report). The
# default list (the last 90 days) is served by ix_reports_created_at_id.
LIST_INDEXES = (
    Index(
        "ix_reports_category_created_at_id",
        Report.category_id,
        Report.created_at,
        Report.id,
    ),
    Index("ix_reports_updated_at_id", Report.updated_at, Report.id),
)
