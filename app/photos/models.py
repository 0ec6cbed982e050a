from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal, personal

PROCESSING, READY, REJECTED = "processing", "ready", "rejected"
# The report's own photos (its author's, or the desk's), a crew's "after" photos of the work
# done, and a resident's photos when reopening ("still not fixed").
KINDS = ("report", "after", "reopen")
# Where a blur box comes from: a detector (app.photos.detection) or the desk's hand.
AUTO, DESK = "auto", "desk"

# The files a photo is published as: once processed, everyone sees them.
STREET_PHOTO = personal(
    "street_photo",
    purpose="handle_report",
    basis="public_task",
    audience=("public",),
    leaves=("public_outputs", "own_export"),
    kept="with_report",
)

# Who moderated a photo (its boxes: who drew or removed each; the last to moderate it).
MODERATOR_UID = personal(
    "staff_uid",
    purpose="accountability",
    basis="public_task",
    audience=("desk",),
    kept="with_report",
)


class Photo(db.Model):
    """A photo of a report. The upload is kept only until the worker has processed it.

    Its public files (``display_key``, ``thumbnail_key``: content-addressed, served by
    /v1/media) have every active box of ``boxes`` blurred; the same image unblurred is kept
    under ``original_key`` (never served by /v1/media) for the report's desk and the crew
    holding it, until the retention schedule deletes it."""

    __tablename__ = "photos"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="kind"),
        CheckConstraint("jsonb_typeof(boxes) = 'array'", name="boxes_array"),
        # The worker's sweep of photos processed before blurring existed.
        Index(
            "ix_photos_undetected",
            "id",
            postgresql_where=text("status = 'ready' AND detected_at IS NULL"),
        ),
        # The retention rule's photos still holding an unblurred original.
        Index(
            "ix_photos_original_key",
            "report_id",
            postgresql_where=text("original_key IS NOT NULL"),
        ),
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
    # The display image before blurring (originals/<uuid>.jpg): private to the report's staff.
    original_key: Mapped[str | None] = mapped_column(
        String(200),
        info=personal(
            "unblurred_photo",
            purpose="handle_report",
            basis="public_task",
            audience=("desk_audited", "crew"),
            retention="unblurred_photos",
        ),
    )
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
    # The boxes blurred in the public files (app.photos.moderation.BoxRecord as JSON): found
    # by detection (source auto) or drawn by the desk; a removed box stays, with who removed
    # it and when, and is no longer blurred.
    boxes: Mapped[list] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb"), info=MODERATOR_UID
    )
    # When detection ran on it; null for photos processed before blurring existed, which the
    # worker's sweep brings in line (app.photos.moderation.bring_in_line).
    detected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Hidden by the desk: shown to its staff and its author only.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Bumped by every moderation (boxes, hide, publish): the photo's ETag for If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The last member of staff who moderated it, and when.
    moderated_by: Mapped[str | None] = mapped_column(String(128), info=MODERATOR_UID)
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @hybrid_property
    def is_public(self) -> bool:
        """THE public rule: a photo is shown to the public (report view for others, public
        lists, Open311 media_url, open data photo_url) iff processed and not hidden."""
        return self.status == READY and not self.hidden

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls):
        return and_(cls.status == READY, cls.hidden.is_(False))


class PhotoFileDeletion(db.Model):
    """A file to delete from the photo storage, written in the transaction that stops using
    it and done after that commits (app.photos.service.delete_withdrawn_files): a delete lost
    to a crash is done by the next run. A content-addressed file still named by a photo
    row is kept (two photos may share one)."""

    __tablename__ = "photo_file_deletions"

    key: Mapped[str] = mapped_column(
        String(200),
        primary_key=True,
        info=not_personal(
            "the name of a file on its way out (a content hash or a random name, naming "
            "nobody): the file is deleted once its row commits, or within the hour"
        ),
    )
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
