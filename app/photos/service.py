"""Use cases of photos: accepting an upload, processing it, sweeping what Redis lost."""

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.identity import Identity, works_desk
from app.errors import Conflict, Forbidden, Problem
from app.idempotency import service as idempotency
from app.organisation.models import Crew
from app.photos import processing
from app.photos.models import PROCESSING, READY, REJECTED, Photo
from app.reports.models import Report, ReportSupporter
from app.reports.service import get_report, place_from_photo
from app.storage import Storage, from_config
from app.users.models import Role

log = logging.getLogger(__name__)
MAX_PHOTOS = 5


def storage() -> Storage:
    return current_app.extensions["signale.storage"]


def init_app(app) -> None:
    app.extensions["signale.storage"] = from_config(app.config)


def accept_upload(
    session: Session,
    *,
    uploader: Identity,
    report_id: int,
    data: bytes,
    kind: str = "report",
    idempotency_key: str,
    request_fingerprint: str,
    render: Callable[[Photo], dict],
) -> idempotency.Outcome:
    """Store the upload and a ``processing`` photo row; the worker does the rest."""
    claim = {
        "owner": uploader.uid,
        "scope": idempotency.request_scope("POST", f"/v1/reports/{report_id}/photos"),
        "key": idempotency_key,
        "request_fingerprint": request_fingerprint,
    }
    replay = idempotency.begin(session, **claim)
    if replay is not None:
        session.rollback()
        return replay
    report = get_report(session, report_id)
    check_uploader(session, uploader, report, kind)
    kept = session.scalar(
        select(func.count())
        .select_from(Photo)
        .where(Photo.report_id == report_id, Photo.kind == kind, Photo.status != REJECTED)
    )
    if kept >= MAX_PHOTOS:
        raise Conflict("too_many_photos", limit=MAX_PHOTOS)
    if not data:
        raise Problem("empty_upload", 422, errors={"files": {"file": ["the file is empty"]}})
    key = f"uploads/{uuid.uuid4().hex}"
    storage().put(key, data)
    photo = Photo(report_id=report_id, upload_key=key, uploaded_by=uploader.uid, kind=kind)
    session.add(photo)
    session.flush()
    outcome = idempotency.complete(
        session,
        **claim,
        status_code=202,
        body=render(photo),
        location=f"/v1/reports/{report_id}/photos/{photo.id}",
    )
    session.commit()
    return outcome


def check_uploader(session: Session, uploader: Identity, report: Report, kind: str) -> None:
    """Who adds which photos: the report's own, its author or the staff of its desk; "after"
    photos, the crew holding the ticket or the desk; reopening ones, its author or a
    supporter."""
    desk = report.desk.code if report.desk else None
    if kind == "report":
        if report.reporter_uid == uploader.uid or works_desk(uploader, desk):
            return
        if uploader.role == Role.RESIDENT:
            raise Forbidden("not_your_report")
    elif kind == "after":
        if works_desk(uploader, desk) or (
            uploader.role == Role.CREW
            and report.crew_id is not None
            and report.crew_id == session.scalar(select(Crew.id).where(Crew.code == uploader.crew))
        ):
            return
    elif report.reporter_uid == uploader.uid or session.get(
        ReportSupporter, (report.id, uploader.uid)
    ):
        return
    raise Forbidden("photo_not_allowed", kind=kind)


def process_photo(session: Session, photo_id: int) -> str:
    """Process one upload; safe to run twice. Returns the photo's resulting status."""
    photo = session.get(Photo, photo_id, with_for_update={"skip_locked": True})
    if photo is None or photo.status != PROCESSING:
        session.rollback()
        return photo.status if photo else "missing"
    photo.attempts += 1
    store = storage()
    try:
        result = processing.process(store.get(photo.upload_key))
    except processing.Rejected as rejected:
        photo.status, photo.reject_reason = REJECTED, rejected.reason
        log.info("photo rejected", extra={"photo_id": photo_id, "reason": rejected.reason})
    else:
        photo.display_key = _put_by_hash(store, "display", result.display)
        photo.thumbnail_key = _put_by_hash(store, "thumbnails", result.thumbnail)
        photo.width, photo.height = result.width, result.height
        photo.status = READY
        if photo.kind == "report":
            _touch(session, photo.report_id)
        if result.gps and photo.kind == "report":
            report = get_report(session, photo.report_id)
            if place_from_photo(session, report, *result.gps):
                log.info("report placed from photo GPS", extra={"report_id": report.id})
    upload_key, photo.upload_key = photo.upload_key, None
    photo.processed_at = func.now()
    session.commit()
    store.delete(upload_key)  # only once the outcome is safely recorded
    return photo.status


def _touch(session: Session, report_id: int) -> None:
    """A report photo ready is the report's public photo (Open311's media_url): the report
    changed for public documents, whose cache is keyed by the latest update."""
    session.execute(update(Report).where(Report.id == report_id).values(updated_at=func.now()))


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


def enqueue(photo_id: int) -> bool:
    """Queue the processing job; with Redis down the sweep will queue it later."""
    from rq import Retry

    from app.jobs import queue

    try:
        queue().enqueue(
            "worker.jobs.process_photo",
            photo_id,
            job_id=f"photo-{photo_id}",
            retry=Retry(max=5, interval=[10, 30, 60, 300, 900]),
        )
        return True
    except (redis.RedisError, OSError):
        log.warning(
            "photo not queued (Redis unavailable): the sweep will queue it",
            extra={"photo_id": photo_id},
        )
        return False
