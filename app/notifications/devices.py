"""Residents' devices: the FCM tokens pushes go to, and the language each resident reads
(their latest device's locale)."""

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from app import i18n
from app.errors import NotFound
from app.notifications.models import PENDING, Delivery, Device


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


def language_of(locale: str | None) -> str:
    """The language of ours a device locale reads best: English for English, else French."""
    if locale and locale.lower().replace("_", "-").split("-")[0] == "en":
        return "en"
    return i18n.DEFAULT


def languages_of(session: Session, uids: list[str]) -> dict[str, str]:
    """Each resident's language, from the locale of their most recently seen device."""
    rows = session.execute(
        select(Device.uid, Device.locale)
        .where(Device.uid.in_(uids))
        .ext(distinct_on(Device.uid))
        .order_by(Device.uid, Device.enabled.desc(), Device.last_seen_at.desc())
    )
    return {row.uid: language_of(row.locale) for row in rows}
