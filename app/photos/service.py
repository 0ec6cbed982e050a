"""A photo of a report: keeping its upload, the image pipeline, its files and how it is
shown. Knows nothing of reports (app.reports.photos says who adds which photo to a report,
and what a processed photo does to its report): reports import photos, not the reverse."""

import hashlib
import logging
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.jobs import Job, after_commit
from app.photos import processing
from app.photos.models import PROCESSING, READY, REJECTED, Photo
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
    """Run a ``processing`` photo through the image pipeline: ``ready`` with its display and
    thumbnail files, or ``rejected``. Flushes nothing; returns the GPS position it carried
    (lon, lat), if any."""
    photo.attempts += 1
    store = storage()
    try:
        result = processing.process(store.get(photo.upload_key))
    except processing.Rejected as rejected:
        photo.status, photo.reject_reason = REJECTED, rejected.reason
        log.info("photo rejected", extra={"photo_id": photo.id, "reason": rejected.reason})
        return None
    photo.display_key = _put_by_hash(store, "display", result.display)
    photo.thumbnail_key = _put_by_hash(store, "thumbnails", result.thumbnail)
    photo.width, photo.height = result.width, result.height
    photo.status = READY
    return result.gps


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


def present(photo: Photo, *, owner: bool) -> dict | None:
    """The photo as shown in a report: ready ones to everyone, all of them to the reporter."""
    if photo.status != READY and not owner:
        return None
    return {
        "id": photo.id,
        "kind": photo.kind,
        "status": photo.status,
        "reject_reason": photo.reject_reason,
        "url": f"/v1/media/{photo.display_key}" if photo.display_key else None,
        "thumbnail_url": f"/v1/media/{photo.thumbnail_key}" if photo.thumbnail_key else None,
        "width": photo.width,
        "height": photo.height,
    }


def photos_of(session: Session, report_ids: list[int]) -> dict[int, list[Photo]]:
    """Every photo of these reports, by report, in upload order (one query)."""
    by_report: dict[int, list[Photo]] = {}
    if report_ids:
        query = select(Photo).where(Photo.report_id.in_(report_ids)).order_by(Photo.id)
        for photo in session.scalars(query):
            by_report.setdefault(photo.report_id, []).append(photo)
    return by_report
