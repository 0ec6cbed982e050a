"""The outbox: the notifications written with each public event of a report, in the
event's transaction, and one pending push delivery per device of each resident told.

Pushes are sent by the dispatcher (:mod:`app.notifications.dispatch`) from the delivery rows
written here; the in-app feed (:mod:`app.notifications.inbox`) needs no Firebase at all.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, any_, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from app import clock, i18n
from app.auth.identity import is_internal_uid
from app.jobs import after_commit
from app.notifications.devices import languages_of
from app.notifications.dispatch import DISPATCH
from app.notifications.kinds import KINDS, UPDATE
from app.notifications.models import Delivery, Device, Notification
from app.notifications.preferences import held_until, of_residents
from app.notifications.titles import render_title, title_texts
from app.reports.models import Report, ReportFollower
from app.triage.models import ReportEvent

_ROWS_PER_INSERT = 1000


def audience(session: Session, report: Report) -> set[str]:
    """Who is told of the report's public events: its reporter and followers (a supporter
    follows from their "me too" on, until they unfollow)."""
    followers = session.scalars(
        select(ReportFollower.uid).where(ReportFollower.report_id == report.id)
    )
    uids = {report.reporter_uid, *followers}
    # Open311 partners' and sensors' reports carry internal uids nobody signs in with.
    return {uid for uid in uids if uid and not is_internal_uid(uid)}


def notify(
    session: Session,
    *,
    event: ReportEvent,
    report: Report,
    recipients: Iterable[str],
    now: datetime | None = None,
) -> int:
    """Write one notification per recipient of the (flushed, public) event, each in the
    recipient's language, and one pending delivery per enabled device of theirs, unless
    they muted the kind; during their quiet hours the delivery waits until the end of them
    (``now`` is the time it is). Flushes only: the caller's transaction commits them with
    the event. Returns how many notifications."""
    uids = sorted(set(recipients))
    if not event.public or not uids:
        return 0
    languages = languages_of(session, uids)
    kind = event.to_status if event.from_status != event.to_status else UPDATE
    data = {"report_id": str(report.id), "reference": report.reference, "status": report.status}
    titles = title_texts(session, kind)
    rows = []
    for uid in uids:
        language = languages.get(uid)
        if language is None:
            # No device: the reporter's language when they filed, else ours.
            language = report.language if uid == report.reporter_uid else i18n.DEFAULT
        body = event.message_en if language == "en" else event.message_fr
        rows.append(
            {
                "uid": uid,
                "report_id": report.id,
                "event_id": event.id,
                "language": language,
                "title": render_title(
                    kind, titles.get(language, titles["fr"]), {"reference": report.reference}
                ),
                "body": body or event.message_fr or "",
                "data": data,
            }
        )
    return write(session, kind, report.id, rows, now or clock.now(session))


def write(session: Session, kind: str, subject_id: int, rows: list[dict], now: datetime) -> int:
    """Write the notifications ``rows`` of ``kind`` (uid, language, title, body, data and,
    of a report's event, report_id and event_id) about one subject (a report, an area
    subscription; the collapse key), at most one per resident and event, and their pending
    deliveries: the one writer of the outbox. ``now`` is the time it is (quiet hours).
    Flushes only: the caller's transaction commits them. Returns how many were written."""
    collapse_key = KINDS[kind].subject.collapse_key(subject_id)
    rows = [
        {**row, "kind": kind, "data": {**row["data"], "kind": kind}, "collapse_key": collapse_key}
        for row in rows
    ]
    written = []
    # In slices: one statement takes at most 65,535 parameters (9 a row here).
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        written += session.execute(
            insert(Notification)
            .values(rows[start : start + _ROWS_PER_INSERT])
            .on_conflict_do_nothing(constraint="uq_notifications_event_id_uid")
            .returning(Notification.id, Notification.uid)
        ).all()
    _queue_pushes(session, written, kind, now)
    return len(written)


def _queue_pushes(session: Session, written, kind: str, now: datetime) -> None:
    """One pending delivery per enabled device of the notifications ``written`` (rows of
    id, uid) of ``kind``, unless their resident muted the kind; during their quiet hours
    the delivery waits until the end of them. Flushes only."""
    # Pushes by the time they may go (None: at once), as each resident chose.
    preferences = of_residents(session, [row.uid for row in written])
    due: dict[datetime | None, list[int]] = {}
    for row in written:
        preference = preferences.get(row.uid)
        if preference is None:
            due.setdefault(None, []).append(row.id)
        elif kind not in preference.push_off:
            quiet = (preference.quiet_start, preference.quiet_end)
            due.setdefault(held_until(now, *quiet), []).append(row.id)
    for at, ids in due.items():
        columns = [Notification.id, Device.id]
        if at is not None:
            columns.append(literal(at, DateTime(timezone=True)))
        deliveries = session.execute(
            insert(Delivery)
            .from_select(
                ["notification_id", "device_id"] + (["next_attempt_at"] if at else []),
                select(*columns)
                .join(Device, (Device.uid == Notification.uid) & Device.enabled)
                .where(Notification.id == any_(literal(ids, ARRAY(BigInteger)))),
            )
            .on_conflict_do_nothing()
            .returning(Delivery.id)
        ).all()
        if deliveries:
            # Queued once the deliveries are committed, never before.
            after_commit(session, DISPATCH)
