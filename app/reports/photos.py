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

from app import clock, i18n
from app.audit import service as audit
from app.auth.identity import Identity, works_desk
from app.errors import Conflict, Forbidden, NotFound, Problem
from app.idempotency import service as idempotency
from app.organisation.models import Crew
from app.photos import boxes
from app.photos import service as photos
from app.photos.models import PROCESSING, READY, REJECTED, Photo
from app.reports.models import Report, ReportSupporter
from app.reports.service import get_report, handles, place_from_photo
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


# --- moderation: the desk's boxes, hiding and publishing; the unblurred original ----------


def set_boxes(
    session: Session,
    *,
    actor: Identity,
    report_id: int,
    photo_id: int,
    versions: list[int] | None,
    keep: set[int],
    add: list[dict],
) -> Photo:
    """Set a photo's blur boxes: ``keep`` the boxes with these ids (the others are removed,
    and stay removed), ``add`` new desk boxes; then write its public files again from the
    unblurred original, before this commits (the old files are withdrawn after). A request
    that changes nothing (a retry) answers the photo as it is."""
    photo = _moderated(session, actor, report_id, photo_id)
    if photo.original_key is None:
        raise Conflict("photo_no_original", id=photo.id)
    unknown = keep - {r["id"] for r in photo.boxes}
    if unknown:
        raise Problem("unknown_box", 422, ids=", ".join(str(i) for i in sorted(unknown)))
    for index, box in enumerate(add):
        if not boxes.inside(box):
            raise Problem("box_outside_image", 422, errors=_box_error(index, "box_outside_image"))
        if not boxes.sized(box):
            raise Problem("box_empty", 422, errors=_box_error(index, "box_empty"))
    updated = boxes.changed(
        photo.boxes, keep=keep, add=add, actor=actor.uid, now=clock.now(session)
    )
    if updated is None:
        return _unchanged(session, photo)
    if len(updated) > boxes.MAX_BOXES:
        raise Problem("too_many_boxes", 422, limit=boxes.MAX_BOXES)
    _check_version(photo, versions)
    photo.boxes = updated
    # A hidden photo has no public files: they are written when it is published.
    withdrawn = [] if photo.hidden else _republished(photo)
    return _moderation_done(session, actor, photo, withdrawn)


def _republished(photo: Photo) -> list[str]:
    """:func:`app.photos.service.republish`, a lost original a clear 409."""
    if photo.original_key is None:
        raise Conflict("photo_no_original", id=photo.id)
    try:
        return photos.republish(photo)
    except FileNotFoundError as exc:  # the storage lost it: nothing left to blur from
        log.error("photo original missing", extra={"photo_id": photo.id})
        raise Conflict("photo_no_original", id=photo.id) from exc


def _box_error(index: int, code: str) -> dict:
    return {"json": {"add": {str(index): [i18n.message(code)]}}}


def set_hidden(
    session: Session,
    *,
    actor: Identity,
    report_id: int,
    photo_id: int,
    versions: list[int] | None,
    hidden: bool,
) -> Photo:
    """Hide a photo from the public, or publish it (it is public once ready and not
    hidden: :attr:`Photo.is_public`); doing it twice is doing it once.

    Hiding withdraws its public files, so an address of them someone already has stops
    answering; only the unblurred original stays, for the report's staff (a photo processed
    before blurring existed is brought in line first, so that it has one). Publishing
    writes the public files again from the original with its boxes blurred: a photo whose
    original the retention schedule deleted cannot be published again (409)."""
    photo = _moderated(session, actor, report_id, photo_id)
    if photo.hidden == hidden:
        return _unchanged(session, photo)
    _check_version(photo, versions)
    if hidden:
        withdrawn = _brought_in_line(photo)
        withdrawn += [key for key in (photo.display_key, photo.thumbnail_key) if key]
        photo.display_key = photo.thumbnail_key = None
    else:
        withdrawn = _republished(photo)
    photo.hidden = hidden
    return _moderation_done(session, actor, photo, withdrawn)


def _brought_in_line(photo: Photo) -> list[str]:
    if photo.detected_at is not None or photo.display_key is None:
        return []
    try:
        return photos.bring_in_line(photo)
    except FileNotFoundError:  # nothing left to keep: hidden all the same
        log.warning("photo display file missing", extra={"photo_id": photo.id})
        return []


def _moderated(session: Session, actor: Identity, report_id: int, photo_id: int) -> Photo:
    """The photo, locked, if ``actor`` works the report's desk and it is ready."""
    report = get_report(session, report_id)
    desk = report.desk.code if report.desk else None
    if not works_desk(actor, desk):
        raise Forbidden("not_your_desk", desk=desk or "-", desks=", ".join(actor.desks) or "-")
    photo = session.get(Photo, photo_id, with_for_update=True)
    if photo is None or photo.report_id != report_id:
        raise NotFound("photo_not_found", id=photo_id)
    if photo.status != READY:
        raise Conflict("photo_not_ready", id=photo.id, status=photo.status)
    return photo


def _check_version(photo: Photo, versions: list[int] | None) -> None:
    if versions is None:
        raise Problem("photo_if_match_required", 428)
    if photo.version not in versions:
        raise Problem(
            "photo_changed",
            412,
            headers={"ETag": photo_etag(photo)},
            extra={"current_version": photo.version},
        )


def photo_etag(photo: Photo) -> str:
    """A photo's ETag: its moderation version, as a strong entity tag."""
    return f'"{photo.version}"'


def _unchanged(session: Session, photo: Photo) -> Photo:
    session.commit()  # releases the lock; nothing changed
    return photo


def _moderation_done(session: Session, actor: Identity, photo: Photo, withdrawn) -> Photo:
    photo.version += 1
    photo.moderated_by, photo.moderated_at = actor.uid, func.now()
    _touch(session, photo.report_id)
    photos.withdraw_files(session, withdrawn)
    session.commit()
    photos.delete_withdrawn_files(session)
    session.refresh(photo)
    return photo


def read_original(
    session: Session, *, viewer: Identity, report_id: int, photo_id: int, request_id: str | None
) -> bytes:
    """The unblurred original of a photo, for the report's own staff (agents of its desk,
    supervisors, admins, the crew holding it); every read recorded in the audit log as a
    read of personal data, committed before the image is answered."""
    report = get_report(session, report_id)
    crew = session.get(Crew, report.crew_id) if report.crew_id is not None else None
    if viewer.role == Role.RESIDENT or not handles(viewer, report, crew):
        raise Forbidden("photo_original_not_allowed")
    photo = session.get(Photo, photo_id)
    if photo is None or photo.report_id != report_id:
        raise NotFound("photo_not_found", id=photo_id)
    if photo.original_key is None:
        raise NotFound("photo_no_original", id=photo.id)
    try:
        data = photos.storage().get(photo.original_key)
    except FileNotFoundError as exc:
        raise NotFound("photo_no_original", id=photo.id) from exc
    audit.record(
        session,
        actor=viewer,
        action=audit.PHOTO_ORIGINAL_READ,
        subject_type="report",
        subject_id=report.id,
        request_id=request_id,
        reference=report.reference,
        desk=report.desk.code if report.desk else None,
        photo_id=photo.id,
    )
    session.commit()
    return data


def is_staff_of(session: Session, identity: Identity, report: Report) -> bool:
    """Whether ``identity`` is of the report's own staff (its desk's agents, supervisors,
    admins, the crew holding it): they see its hidden photos and their moderation."""
    crew = session.get(Crew, report.crew_id) if report.crew_id is not None else None
    return identity.role != Role.RESIDENT and handles(identity, report, crew)


def bring_in_line(session: Session, *, limit: int = 50) -> int:
    """Bring photos processed before blurring existed in line (ready, detection never run on
    them): up to ``limit``, each in its own transaction, its report touched for the public
    lists. Returns how many. Safe to run twice, or at once (locked photos are skipped)."""
    ids = list(
        session.scalars(
            select(Photo.id)
            .where(Photo.status == READY, Photo.detected_at.is_(None))
            .order_by(Photo.id)
            .limit(limit)
        )
    )
    session.rollback()
    done = 0
    for photo_id in ids:
        photo = session.get(Photo, photo_id, with_for_update={"skip_locked": True})
        if photo is None or photo.detected_at is not None or photo.display_key is None:
            session.rollback()
            continue
        try:
            withdrawn = photos.bring_in_line(photo)
        except FileNotFoundError:
            # Its display file is gone: nothing left to blur; the desk sees it undetected.
            log.warning("photo display file missing", extra={"photo_id": photo_id})
            session.rollback()
            continue
        photo.version += 1
        _touch(session, photo.report_id)
        photos.withdraw_files(session, withdrawn)
        session.commit()
        done += 1
    photos.delete_withdrawn_files(session)
    return done
