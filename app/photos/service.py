"""A photo of a report: keeping its upload, the image pipeline, its files and how it is
shown. Knows nothing of reports (app.reports.photos says who adds which photo to a report,
and what a processed photo does to its report): reports import photos, not the reverse."""

import hashlib
import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.jobs import Job, after_commit
from app.photos import blur, boxes, detection, processing
from app.photos.models import PROCESSING, READY, REJECTED, Photo, PhotoFileDeletion
from app.storage import Storage, from_config

log = logging.getLogger(__name__)
# Queued when the photo's row commits; the sweep queues it again if Redis lost it.
PROCESS_PHOTO = Job("worker.jobs.process_photo", id_prefix="photo", retry=(10, 30, 60, 300, 900))


def storage() -> Storage:
    return current_app.extensions["signale.storage"]


def init_app(app) -> None:
    app.extensions["signale.storage"] = from_config(app.config)


def store_upload(data: bytes) -> str:
    """Keep an upload until it is processed; returns its storage key."""
    key = f"uploads/{uuid.uuid4().hex}"
    storage().put(key, data)
    return key


def add_photo(
    session: Session, *, report_id: int, upload_key: str, uploaded_by: str, kind: str = "report"
) -> Photo:
    """A ``processing`` photo of a stored upload, in the caller's transaction (flushes); its
    processing is queued when that transaction commits."""
    photo = Photo(report_id=report_id, upload_key=upload_key, uploaded_by=uploaded_by, kind=kind)
    session.add(photo)
    session.flush()
    after_commit(session, PROCESS_PHOTO, photo.id)
    return photo


def develop(photo: Photo) -> tuple[float, float] | None:
    """Run a ``processing`` photo through the image pipeline: ``ready`` with its files, or
    ``rejected``. The oriented display image, metadata stripped, is kept unblurred under a
    private key; the faces and plates detection finds in it are blurred in the public
    display and thumbnail. Flushes nothing; returns the GPS position it carried (lon, lat),
    if any. A detector's failure raises: the photo stays ``processing`` (never public
    unblurred) and the job is retried."""
    photo.attempts += 1
    store = storage()
    try:
        result = processing.process(store.get(photo.upload_key))
    except processing.Rejected as rejected:
        photo.status, photo.reject_reason = REJECTED, rejected.reason
        log.info("photo rejected", extra={"photo_id": photo.id, "reason": rejected.reason})
        return None
    found = detection.detect(_rgb(result.image))
    photo.boxes = boxes.found(found)
    photo.detected_at = func.now()
    photo.original_key = store_original(store, result.display)
    photo.width, photo.height = result.width, result.height
    if found:
        public = processing.variants(blur.blurred(result.image, found), result.icc)
    else:
        public = result.display, result.thumbnail
    photo.display_key = _put_by_hash(store, "display", public[0])
    photo.thumbnail_key = _put_by_hash(store, "thumbnails", public[1])
    photo.status = READY
    return result.gps


def _rgb(image):
    return image if image.mode == "RGB" else image.convert("RGB")


def store_original(store: Storage, data: bytes) -> str:
    """Keep an unblurred display image under a private key of its own (never content
    addressed: no other photo shares it, so deleting it never breaks another)."""
    key = f"originals/{uuid.uuid4().hex}.jpg"
    store.put(key, data)
    return key


def republish(photo: Photo) -> list[str]:
    """Write the photo's public display and thumbnail again from its unblurred original
    with its active boxes blurred; returns the keys it no longer uses (to withdraw once the
    change commits). Flushes nothing."""
    store = storage()
    image, icc = processing.reopened(store.get(photo.original_key))
    display, thumbnail = processing.variants(blur.blurred(image, boxes.active(photo.boxes)), icc)
    old = (photo.display_key, photo.thumbnail_key)
    photo.display_key = _put_by_hash(store, "display", display)
    photo.thumbnail_key = _put_by_hash(store, "thumbnails", thumbnail)
    photo.width, photo.height = image.size
    return [key for key in old if key and key not in (photo.display_key, photo.thumbnail_key)]


# The columns naming a photo's files in the storage.
PHOTO_FILES = (Photo.upload_key, Photo.display_key, Photo.thumbnail_key, Photo.original_key)


def bring_in_line(photo: Photo) -> list[str]:
    """A ready photo processed before blurring existed: its current display image becomes
    its unblurred original, detection runs on it, and its public files are written again
    with what it found blurred. Returns the keys it no longer uses (to withdraw once this
    commits). Flushes nothing."""
    store = storage()
    data = store.get(photo.display_key)
    image, _ = processing.reopened(data)
    found = detection.detect(_rgb(image))
    photo.boxes = boxes.found(found)
    photo.detected_at = func.now()
    photo.original_key = store_original(store, data)
    # Nothing found: its files stay as they are (the same URLs).
    return republish(photo) if found else []


def withdraw_files(session: Session, keys: list[str]) -> None:
    """Queue these files for deletion, in the caller's transaction (flushes): done by
    :func:`delete_withdrawn_files` after the commit, or by its next run."""
    if keys:
        session.execute(
            insert(PhotoFileDeletion)
            .values([{"key": key} for key in dict.fromkeys(keys)])
            .on_conflict_do_nothing()
        )


def delete_withdrawn_files(session: Session, *, limit: int = 1000) -> int:
    """Delete the queued files no photo row names any more (a content-addressed file two
    photos share stays with the other), then their queue rows; commits. Returns how many
    files were deleted. Safe to run twice, or at once (rows others hold are skipped)."""
    queued = list(
        session.scalars(
            select(PhotoFileDeletion.key)
            .order_by(PhotoFileDeletion.queued_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not queued:
        session.rollback()
        return 0
    used = set()
    for column in PHOTO_FILES:
        used |= set(session.scalars(select(column).where(column.in_(queued))))
    store = storage()
    deleted = 0
    for key in queued:
        if key not in used:
            store.delete(key)  # a missing file is no error: the row goes all the same
            deleted += 1
    session.execute(delete(PhotoFileDeletion).where(PhotoFileDeletion.key.in_(queued)))
    session.commit()
    return deleted


def _put_by_hash(store: Storage, prefix: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{prefix}/{digest[:2]}/{digest}.jpg"
    if not store.exists(key):
        store.put(key, data)
    return key


def due_for_processing(session: Session, older_than: timedelta) -> list[int]:
    """Photos still processing after ``older_than``: their job may have been lost."""
    ids = list(
        session.scalars(
            select(Photo.id)
            .where(Photo.status == PROCESSING, Photo.created_at < func.now() - older_than)
            .order_by(Photo.id)
            .limit(1000)
        )
    )
    session.rollback()
    return ids


def present(photo: Photo, *, owner: bool, staff: bool = False) -> dict | None:
    """The photo as shown in a report: public ones (:attr:`Photo.is_public`) to everyone;
    all of them to their uploader (with ``public``: whether others see it) and to the
    report's own staff (``staff``: with its moderation). Every URL is of the blurred
    files: the unblurred original has its own, audited, endpoint."""
    if not photo.is_public and not (owner or staff):
        return None
    view = {
        "id": photo.id,
        "kind": photo.kind,
        "status": photo.status,
        "reject_reason": photo.reject_reason,
        "url": f"/v1/media/{photo.display_key}" if photo.display_key else None,
        "thumbnail_url": f"/v1/media/{photo.thumbnail_key}" if photo.thumbnail_key else None,
        "width": photo.width,
        "height": photo.height,
    }
    if owner or staff:
        view["public"] = photo.is_public
    if staff:
        view["moderation"] = moderation(photo)
    return view


def moderation(photo: Photo) -> dict:
    """What the report's staff see of a photo's moderation: its boxes (removed ones too),
    whether it is hidden, its version (ETag), whether an unblurred original is kept."""
    return {
        "version": photo.version,
        "hidden": photo.hidden,
        "boxes": boxes.shown(photo.boxes),
        "has_original": photo.original_key is not None,
        "detected": photo.detected_at is not None,
        "moderated_by": photo.moderated_by,
        "moderated_at": photo.moderated_at,
    }


def photos_of(session: Session, report_ids: list[int]) -> dict[int, list[Photo]]:
    """Every photo of these reports, by report, in upload order (one query)."""
    by_report: dict[int, list[Photo]] = {}
    if report_ids:
        query = select(Photo).where(Photo.report_id.in_(report_ids)).order_by(Photo.id)
        for photo in session.scalars(query):
            by_report.setdefault(photo.report_id, []).append(photo)
    return by_report
