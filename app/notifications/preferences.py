"""What a resident wants pushed: kinds muted, and quiet hours (local time) during which
pushes wait until the end. The in-app feed gets every notification whatever is set here."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.errors import Unprocessable
from app.notifications.kinds import KINDS
from app.notifications.models import NotificationPreference

# Quiet hours are the resident's local time, which is Dijon's.
LOCAL_TIME = ZoneInfo("Europe/Paris")


def preferences(session: Session, *, uid: str) -> dict:
    """The resident's push preferences (defaults when never set: all on, no quiet hours)."""
    return _present(session.get(NotificationPreference, uid))


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
    return _present(session.get(NotificationPreference, uid, populate_existing=True))


def _present(found: NotificationPreference | None) -> dict:
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


def of_residents(session: Session, uids: list[str]) -> dict[str, NotificationPreference]:
    """The preferences of those of ``uids`` who set some."""
    if not uids:
        return {}
    found = session.scalars(
        select(NotificationPreference).where(NotificationPreference.uid.in_(uids))
    )
    return {preference.uid: preference for preference in found}


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
