"""The in-app feed: the resident's notifications, read and unread. It needs no Firebase."""

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.notifications.models import Notification


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
