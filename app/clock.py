"""The one clock Signale keeps time by: PostgreSQL's.

Every time that is stored, or compared with a stored time, is the database's: row defaults
(`created_at DEFAULT now()`), SQL conditions (`due_at < now()`) and the instants services
compute in Python all read the same clock, so API servers and workers agree whatever their
hosts' own clocks say (a server a few minutes off would otherwise refuse fresh sensor data
as "in the future", or expire idempotency keys early). ``now()`` is the transaction's start:
one use case sees one instant, the same as the rows it writes.

Service functions that need the time take ``now=`` (tests pass a fixed instant) and default
to :func:`now`. Only what is not compared with stored times keeps the host's clock: token
expiry (set by the identity provider's clock), rate-limit windows and Retry-After delays.
"""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def now(session: Session) -> datetime:
    """The database's time for the session's transaction (aware, UTC offset)."""
    return session.scalar(select(func.now()))
