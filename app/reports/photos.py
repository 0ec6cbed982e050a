"""A report's photos: who adds which photo to a report, accepting the upload, and what a
processed photo does to its report (a ready one dates it for public documents; its GPS may
place a report still without a position).

The photo itself (row, image pipeline, files, presentation) is app.photos, which knows
nothing of reports: this module is where the two meet.
"""

import logging
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.identity import Identity, works_desk
from app.errors import Conflict, Forbidden, Problem
from app.idempotency import service as idempotency
from app.organisation.models import Crew
from app.photos import service as photos
from app.photos.models import PROCESSING, READY, REJECTED, Photo
from app.reports.models import Report, ReportSupporter
from app.reports.service import get_report, place_from_photo
from app.users.models import Role

log = logging.getLogger(__name__)
MAX_PHOTOS = 5


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
    """Store the upload and a ``processing`` photo row; the worker does the rest (queued
    when this commits; a replay queues nothing)."""
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
    photo = photos.add_photo(
        session,
        report_id=report_id,
        upload_key=photos.store_upload(data),
        uploaded_by=uploader.uid,
        kind=kind,
    )
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
    gps = photos.develop(photo)
    if photo.status == READY:
        _touch(session, photo.report_id)
    if photo.status == READY and photo.kind == "report" and gps:
        report = get_report(session, photo.report_id)
        if place_from_photo(session, report, *gps):
            log.info("report placed from photo GPS", extra={"report_id": report.id})
    upload_key, photo.upload_key = photo.upload_key, None
    photo.processed_at = func.now()
    session.commit()
    photos.storage().delete(upload_key)  # only once the outcome is safely recorded
    return photo.status


def _touch(session: Session, report_id: int) -> None:
    """A photo ready is shown with its report on the public lists (a report photo is also
    Open311's media_url): the report changed for public documents, whose caches are keyed
    by the latest update."""
    session.execute(update(Report).where(Report.id == report_id).values(updated_at=func.now()))
