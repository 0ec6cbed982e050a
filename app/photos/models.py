from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal, personal

PROCESSING, READY, REJECTED = "processing", "ready", "rejected"
# The report's own photos (its author's, or the desk's), a crew's "after" photos of the work
# done, and a resident's photos when reopening ("still not fixed").
KINDS = ("report", "after", "reopen")

# The files a photo is published as: once processed, everyone sees them.
STREET_PHOTO = personal(
    "street_photo",
    purpose="handle_report",
    basis="public_task",
    audience=("public",),
    leaves=("public_outputs", "own_export"),
    kept="with_report",
)


class Photo(db.Model):
    """A photo of a report. The upload is kept only until the worker has processed it."""

    __tablename__ = "photos"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=PROCESSING, index=True)
    kind: Mapped[str] = mapped_column(String(10), default="report", server_default="report")
    reject_reason: Mapped[str | None] = mapped_column(
        String(40), info=not_personal("a code: why the pipeline refused the file")
    )
    upload_key: Mapped[str | None] = mapped_column(
        String(200),
        info=personal(
            "original_photo",
            purpose="handle_report",
            basis="public_task",
            audience=("nobody",),
            kept="until_processed",
        ),
    )
    display_key: Mapped[str | None] = mapped_column(String(200), info=STREET_PHOTO)
    thumbnail_key: Mapped[str | None] = mapped_column(String(200), info=STREET_PHOTO)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(
        String(128),
        info=personal(
            "uploader_uid",
            purpose="identify",
            basis="public_task",
            audience=("self",),
            leaves=("own_export",),
            kept="history",
        ),
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
