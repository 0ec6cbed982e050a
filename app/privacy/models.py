"""What the retention schedule did: one row per run (app.privacy.retention)."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal


class RetentionRun(db.Model):
    """One run of the retention schedule, nightly by the worker or ``flask privacy
    retention``: per rule, how many rows it deleted or cleared (a dry run: would have)."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    # The database's clock when the run began: every rule's cutoff counts back from it.
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    # {rule name: rows deleted or cleared}; a rule that failed is absent.
    counts: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    # The delays the run applied, in days ({rule name: days}): the configuration may change.
    delays: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    error: Mapped[str | None] = mapped_column(
        Text, info=not_personal("the exception a failed rule raised")
    )
