"""The callers' staff rows, kept a few seconds in each process: every authenticated request
needs its caller's role, desks and crew, and reading them cost a round trip to PostgreSQL
(with the transaction around it) on every call, most of ``GET /v1/me``'s time.

The bound on staleness: a change of a staff account (role, desks, crew, deactivation,
removal) made through the API or the CLI (app/users/service.py) is seen at once by the
process that made it (the entry is dropped after its commit), and by every other process
within ``IDENTITY_CACHE_SECONDS`` (default 5) of that commit: entries expire that long
after they were read. A demoted or deactivated agent thus loses their rights within that
bound everywhere, a cluster included. ``IDENTITY_CACHE_SECONDS = 0`` turns the cache off.

Residents (no staff row) are cached as such, so a resident made an agent gets the role
within the same bound. Entries are the row's values, never the token's claims, which are
read from each request's token. The clock is the host's monotonic one (nothing here is
compared with stored times), injected for tests.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

EXTENSION = "signale.identity_cache"
# A session's staff accounts changed in its transaction (uids), dropped after commit.
CHANGED_KEY = "signale.staff_changed"


@dataclass(frozen=True)
class StaffRow:
    """What the users table says about a uid."""

    user_id: int
    role: str
    active: bool
    email: str | None
    display_name: str | None
    desks: tuple[str, ...]
    crew: str | None


# A uid with no staff row: a resident.
RESIDENT = None
MISS = object()


class IdentityCache:
    def __init__(
        self, ttl_s: float, max_entries: int = 20_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, StaffRow | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def get(self, uid: str):
        """The cached row (``RESIDENT`` for none), or ``MISS``."""
        if not self.enabled:
            return MISS
        with self._lock:
            entry = self._entries.get(uid)
            if entry is None or entry[0] <= self.clock():
                self.misses += 1
                return MISS
            self.hits += 1
            return entry[1]

    def put(self, uid: str, row: StaffRow | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._entries[uid] = (self.clock() + self.ttl_s, row)
            self._entries.move_to_end(uid)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, uids: Iterable[str]) -> None:
        with self._lock:
            for uid in uids:
                self._entries.pop(uid, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def staff_changed(session: Session, uid: str) -> None:
    """Called by a use case that changes ``uid``'s staff account: once its transaction
    commits, this process forgets the uid's cached row."""
    session.info.setdefault(CHANGED_KEY, set()).add(uid)


def current_cache() -> IdentityCache | None:
    """The identity cache of the current app; None outside an app."""
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


@event.listens_for(Session, "after_commit")
def _drop_changed(session):
    changed = session.info.pop(CHANGED_KEY, None)
    cache = current_cache() if changed else None
    if cache is not None:
        cache.forget(changed)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    session.info.pop(CHANGED_KEY, None)
