"""Use cases of notifications: residents' devices, the notifications written with each
public event of a report (the outbox), and the in-app feed.

Pushes are sent by the dispatcher (:mod:`app.notifications.dispatch`) from the delivery rows
written here; the feed needs no Firebase at all.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, DateTime, any_, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on, insert
from sqlalchemy.orm import Session

from app import clock, i18n
from app.auth.identity import Identity, is_internal_uid
from app.errors import NotFound, Unprocessable
from app.notifications import messages
from app.notifications.models import (
    PENDING,
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    NotificationTitle,
)
from app.reports.models import Report, ReportFollower
from app.triage.models import ReportEvent

# Set on the session when a transaction wrote deliveries: the dispatcher is queued after
# its commit (app.notifications.dispatch), never before.
PUSH_PENDING = "signale.notifications.push_pending"
# Quiet hours are the resident's local time, which is Dijon's.
LOCAL_TIME = ZoneInfo("Europe/Paris")
# What a notification can be about: the report's new state, or "update" (same state).
KINDS = tuple(messages.TITLES)
_ROWS_PER_INSERT = 1000


# --- devices --------------------------------------------------------------------------------


def register_device(
    session: Session,
    *,
    uid: str,
    token: str,
    platform: str,
    app_version: str | None,
    locale: str,
) -> Device:
    """Register the FCM token for ``uid``, or update it (re-enabled, seen now). A token that
    moves to another account loses the pushes still pending for the previous one."""
    previous = session.execute(
        select(Device.id, Device.uid).where(Device.token == token).with_for_update()
    ).first()
    if previous is not None and previous.uid != uid:
        session.execute(
            delete(Delivery).where(Delivery.device_id == previous.id, Delivery.status == PENDING)
        )
    values = {
        "uid": uid,
        "platform": platform,
        "app_version": app_version,
        "locale": locale,
        "enabled": True,
        "disabled_reason": None,
        "disabled_at": None,
        "last_seen_at": func.now(),
    }
    device_id = session.execute(
        insert(Device)
        .values(token=token, **values)
        .on_conflict_do_update(index_elements=["token"], set_=values)
        .returning(Device.id)
    ).scalar_one()
    session.commit()
    return session.get(Device, device_id, populate_existing=True)


def remove_device(session: Session, *, uid: str, token: str) -> None:
    """Forget the caller's token (its pending pushes go with it); 404 if it is not theirs."""
    removed = session.execute(
        delete(Device).where(Device.token == token, Device.uid == uid).returning(Device.id)
    ).first()
    if removed is None:
        session.rollback()
        raise NotFound("device_not_found")
    session.commit()


def prune_devices(session: Session, *, unseen_for: timedelta) -> int:
    """Delete the tokens not registered again for ``unseen_for`` (FCM expires them too)."""
    removed = session.execute(
        delete(Device).where(Device.last_seen_at < func.now() - unseen_for).returning(Device.id)
    ).all()
    session.commit()
    return len(removed)


def language_of(locale: str | None) -> str:
    """The language of ours a device locale reads best: English for English, else French."""
    if locale and locale.lower().replace("_", "-").split("-")[0] == "en":
        return "en"
    return i18n.DEFAULT


# --- following a report -----------------------------------------------------------------


def follow(session: Session, *, uid: str, report_id: int) -> dict:
    """Follow a report (again: no change). Its reporter is told anyway: a no-op for them."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    if report.reporter_uid != uid:
        session.execute(
            insert(ReportFollower)
            .values(report_id=report_id, uid=uid, reason="follow")
            .on_conflict_do_nothing()
        )
    session.commit()
    return {"report_id": report_id, "following": True}


def unfollow(session: Session, *, uid: str, report_id: int) -> None:
    """Stop following a report, whether followed or supported (the support still counts).
    Not following it: no change. Its reporter is always told (preferences mute pushes)."""
    if session.get(Report, report_id) is None:
        raise NotFound("report_not_found", id=report_id)
    session.execute(
        delete(ReportFollower).where(
            ReportFollower.report_id == report_id, ReportFollower.uid == uid
        )
    )
    session.commit()


# --- the outbox: written in the event's transaction -----------------------------------------


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
    kind = event.to_status if event.from_status != event.to_status else "update"
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
                "kind": kind,
                "language": language,
                "title": messages.render_title(
                    kind, titles.get(language, titles["fr"]), {"reference": report.reference}
                ),
                "body": body or event.message_fr or "",
                "data": {**data, "kind": kind},
                "collapse_key": f"report-{report.id}",
            }
        )
    written = []
    # In slices: one statement takes at most 65,535 parameters (9 a row here).
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        written += session.execute(
            insert(Notification)
            .values(rows[start : start + _ROWS_PER_INSERT])
            .on_conflict_do_nothing(constraint="uq_notifications_event_id_uid")
            .returning(Notification.id, Notification.uid)
        ).all()
    queue_pushes(session, written, kind, now or clock.now(session))
    return len(written)


def queue_pushes(session: Session, written, kind: str, now: datetime) -> None:
    """One pending delivery per enabled device of the notifications ``written`` (rows of
    id, uid) of ``kind``, unless their resident muted the kind; during their quiet hours
    the delivery waits until the end of them. Flushes only."""
    # Pushes by the time they may go (None: at once), as each resident chose.
    preferences = _preferences(session, [row.uid for row in written])
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
            session.info[PUSH_PENDING] = True


def held_until(now: datetime, quiet_start: time | None, quiet_end: time | None):
    """When a push may go if it is ``now`` (aware): the end of the quiet period (local
    time, which may span midnight; the end excluded) ``now`` falls in, else None."""
    if quiet_start is None or quiet_end is None:
        return None
    local = now.astimezone(LOCAL_TIME)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    if quiet_start < quiet_end:
        if not quiet_start <= clock < quiet_end:
            return None
    elif clock >= quiet_start:
        day += timedelta(days=1)  # quiet until tomorrow morning
    elif clock >= quiet_end:
        return None
    return datetime.combine(day, quiet_end, tzinfo=LOCAL_TIME).astimezone(UTC)


def _preferences(session: Session, uids: list[str]) -> dict[str, NotificationPreference]:
    if not uids:
        return {}
    found = session.scalars(
        select(NotificationPreference).where(NotificationPreference.uid.in_(uids))
    )
    return {preference.uid: preference for preference in found}


# --- preferences ----------------------------------------------------------------------------


def preferences(session: Session, *, uid: str) -> dict:
    """The resident's push preferences (defaults when never set: all on, no quiet hours)."""
    return _present_preferences(session.get(NotificationPreference, uid))


def set_preferences(
    session: Session, *, uid: str, push: dict[str, bool], quiet_hours: dict | None
) -> dict:
    """Replace the resident's push preferences: ``push`` per kind (kinds not given: on),
    ``quiet_hours`` {start, end} local times (start == end is refused: no period), or
    None."""
    if quiet_hours and quiet_hours["start"] == quiet_hours["end"]:
        raise Unprocessable("quiet_hours_empty", start=quiet_hours["start"].strftime("%H:%M"))
    values = {
        "push_off": sorted(kind for kind in KINDS if not push.get(kind, True)),
        "quiet_start": quiet_hours["start"] if quiet_hours else None,
        "quiet_end": quiet_hours["end"] if quiet_hours else None,
        "updated_at": func.now(),
    }
    session.execute(
        insert(NotificationPreference)
        .values(uid=uid, **values)
        .on_conflict_do_update(index_elements=["uid"], set_=values)
    )
    session.commit()
    return _present_preferences(session.get(NotificationPreference, uid, populate_existing=True))


def _present_preferences(found: NotificationPreference | None) -> dict:
    muted = set(found.push_off) if found else set()
    quiet = None
    if found is not None and found.quiet_start is not None:
        quiet = {"start": found.quiet_start, "end": found.quiet_end}
    return {
        "push": {kind: kind not in muted for kind in KINDS},
        "quiet_hours": quiet,
        "time_zone": LOCAL_TIME.key,
        "updated_at": found.updated_at if found else None,
    }


# --- titles ---------------------------------------------------------------------------------


def title_texts(session: Session, kind: str) -> dict[str, str]:
    """The title template of ``kind`` per language: the edited one, else the shipped one."""
    edited = session.get(NotificationTitle, kind)
    if edited is not None:
        return {"fr": edited.text_fr, "en": edited.text_en}
    fr, en = messages.TITLES.get(kind, messages.TITLES["update"])
    return {"fr": fr, "en": en}


def list_titles(session: Session) -> list[dict]:
    """Every kind's title, edited or shipped (``edited`` false, no author)."""
    edited = {row.kind: row for row in session.scalars(select(NotificationTitle))}
    return [_present_title(kind, edited.get(kind)) for kind in KINDS]


def put_title(session: Session, *, actor: Identity, kind: str, text_fr: str, text_en: str) -> dict:
    """Replace the title of a kind of notification (both languages)."""
    errors = {
        field: found
        for field, text in (("text_fr", text_fr), ("text_en", text_en))
        if (found := messages.title_errors(kind, text))
    }
    if errors:
        raise Unprocessable(
            "invalid_title",
            kind=kind,
            placeholders=", ".join("{" + p + "}" for p in messages.placeholders(kind)),
            errors={"json": errors},
        )
    values = {"text_fr": text_fr, "text_en": text_en, "updated_by": actor.uid}
    session.execute(
        insert(NotificationTitle)
        .values(kind=kind, **values)
        .on_conflict_do_update(index_elements=["kind"], set_={**values, "updated_at": func.now()})
    )
    session.commit()
    return _present_title(kind, session.get(NotificationTitle, kind, populate_existing=True))


def _present_title(kind: str, edited: NotificationTitle | None) -> dict:
    fr, en = messages.TITLES[kind]
    return {
        "kind": kind,
        "text_fr": edited.text_fr if edited else fr,
        "text_en": edited.text_en if edited else en,
        "placeholders": list(messages.placeholders(kind)),
        "edited": edited is not None,
        "updated_by": edited.updated_by if edited else None,
        "updated_at": edited.updated_at if edited else None,
    }


def languages_of(session: Session, uids: list[str]) -> dict[str, str]:
    """Each resident's language, from the locale of their most recently seen device."""
    rows = session.execute(
        select(Device.uid, Device.locale)
        .where(Device.uid.in_(uids))
        .ext(distinct_on(Device.uid))
        .order_by(Device.uid, Device.enabled.desc(), Device.last_seen_at.desc())
    )
    return {row.uid: language_of(row.locale) for row in rows}


# --- the in-app feed ------------------------------------------------------------------------


def feed(session: Session, *, uid: str, before: int | None, limit: int) -> dict:
    """The resident's notifications, newest first (keyset on the id), and how many are
    unread."""
    query = select(Notification).where(Notification.uid == uid)
    if before is not None:
        query = query.where(Notification.id < before)
    items = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return {
        "items": items,
        "next_cursor": items[-1].id if more and items else None,
        "unread_count": unread_count(session, uid),
    }


def unread_count(session: Session, uid: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.uid == uid, Notification.read_at.is_(None))
    )


def mark_read(session: Session, *, uid: str, notification_id: int) -> Notification:
    """Mark one of the resident's notifications read (again: no change); 404 if not theirs."""
    notification = session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.uid == uid)
    )
    if notification is None:
        raise NotFound("notification_not_found", id=notification_id)
    if notification.read_at is None:
        notification.read_at = func.now()
    session.commit()
    return session.get(Notification, notification_id, populate_existing=True)


def mark_all_read(session: Session, *, uid: str, up_to: int | None) -> dict:
    """Mark the resident's unread notifications read, up to ``up_to`` (the newest the app
    showed) if given, so that one arriving meanwhile stays unread."""
    query = update(Notification).where(Notification.uid == uid, Notification.read_at.is_(None))
    if up_to is not None:
        query = query.where(Notification.id <= up_to)
    marked = session.execute(query.values(read_at=func.now()).returning(literal(1))).all()
    count = unread_count(session, uid)
    session.commit()
    return {"marked": len(marked), "unread_count": count}
