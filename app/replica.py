"""Read-only public traffic served by a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

One mechanism: a view decorated with :func:`public_read` has its request's session bound to
the replica (``db.session``'s class routes every statement there: app.extensions.Session),
where the standby itself makes every transaction read-only. Everything else stays on the
primary: whatever writes, whatever is authenticated beyond the token check (a resident's own
reports, staff queues, the identity lookup itself, which runs before the view), and every
read that must see the caller's own write. The decorated views (a test keeps the list):

- Open311 GeoReport v2: ``GET services``, ``services/<code>``, ``requests``,
  ``requests/<id>`` (not ``tokens/<token>``: a partner asks for it right after its POST);
- open data: ``GET /v1/opendata/files``, ``files/<name>``, ``catalog``, ``statistics/*``;
- mobility: every ``GET /v1/mobility/*``;
- the public lists: ``GET /v1/reports``, ``/v1/reports/geojson``, ``/v1/reports/suggestions``
  (not ``/v1/reports/<id>`` nor ``/v1/me/*``: a resident reads there what they just wrote).

A replica may be unusable; the request is then answered from the primary, never a 500:

- **down**: its connection fails (refused, or not within ``DATABASE_REPLICA_CONNECT_TIMEOUT_
  SECONDS``), at the periodic check or during the request (the view is run again on the
  primary). It is logged once, and the primary serves every request of the process for
  ``DATABASE_REPLICA_RETRY_SECONDS`` before the replica is tried again;
- **behind**: its lag exceeds ``DATABASE_REPLICA_MAX_LAG_SECONDS``;
- **not a standby** (promoted: it no longer follows the primary);
- a statement cancelled there (a recovery conflict), or **not found** there (a 404: the row
  may not have been replayed yet): that request alone is run again on the primary.

The lag is measured by WAL positions on the application's own clock, at most every
``DATABASE_REPLICA_CHECK_SECONDS`` per process: each check reads the primary's WAL flush
position (:data:`PRIMARY_POSITION`: with ``synchronous_commit`` on, as Signale runs, a
commit is visible only once its record is flushed, so everything committed there so far
lies before it) and
keeps it with the time it was read; then the position the replica has replayed
(:data:`REPLICA_POSITION`). The lag is the age of the latest sample the replica has replayed
past: the replica holds everything the primary had committed that long ago. No clock of
either server is involved, an idle primary does not look like a late replica, and a replica
whose WAL receiver stopped does. Hence the bound: **a public answer from the replica lacks
nothing the primary committed more than ``MAX_LAG + CHECK`` seconds before** (10 + 1 by
default); a younger write may be missing. Until the replica is seen past a sample (a
process's first check may find WAL in flight) its lag is unknown: the primary serves, and
beyond MAX_LAG it is behind.

What each process judged is exported at ``/metrics``: ``signale_replica_state{state}`` (1 for
the current state), ``signale_replica_lag_seconds`` (NaN while unknown), and
``signale_public_reads_total{served_by}``: "replica", "primary" (no usable replica) or
"fallback" (begun on the replica, answered by the primary). An operator alerts on the
state, and sees from the counter how much of the public traffic the replica takes.

The caches keyed by a data version (app/cache.py) read the version from the database the
session reads from: a page built from a lagging replica is stored under the replica's (older)
version, never under the primary's newer one, so it cannot outlive the primary's change.
"""

import functools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from flask import current_app
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from app.extensions import READ_BIND, db

log = logging.getLogger(__name__)

EXTENSION = "signale.replica"
# In a session's ``info``: it has used the replica in this request.
USED = "signale.replica_used"

# Positions in the WAL as byte counts (numeric, comparable): how far the primary has flushed
# (a commit is visible only once its record is, synchronous_commit being on), and how far the
# replica has replayed, with whether it is a standby at all. Not the insert position: on an
# idle primary just after a WAL segment switch it stays a page header (40 bytes) past
# anything ever sent, and the replica would look ever later.
PRIMARY_POSITION = text("SELECT pg_current_wal_flush_lsn() - '0/0'::pg_lsn")
REPLICA_POSITION = text(
    "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn() - '0/0'::pg_lsn AS replayed"
)


STATES = ("unchecked", "serving", "unreachable", "behind", "not_standby")
# What a process's last check found (1 for its state, 0 for the others) and the lag it
# measured; under gunicorn, each live worker's own (a process judges its replica alone).
STATE = Gauge(
    "signale_replica_state",
    "The read replica's state as this process last judged it (1: the current one)",
    ["state"],
    multiprocess_mode="liveall",
)
LAG = Gauge(
    "signale_replica_lag_seconds",
    "The read replica's lag at this process's last check (NaN: not known)",
    multiprocess_mode="liveall",
)
# Public reads by the server that answered them: "replica", "primary" (no usable replica),
# or "fallback" (begun on the replica, run again on the primary).
PUBLIC_READS = Counter(
    "signale_public_reads_total",
    "Public reads (views under @public_read), by the database that answered",
    ["served_by"],
)
for _server in ("replica", "primary", "fallback"):
    PUBLIC_READS.labels(_server)  # shown at 0 until the first one


@dataclass(frozen=True)
class Verdict:
    """The last check: whether the replica serves (``state`` "serving"), else why not
    ("unchecked": not yet, or its lag not known yet; "unreachable", "behind",
    "not_standby"), with what was seen."""

    state: str
    detail: str = ""
    lag_s: float | None = None

    @property
    def usable(self) -> bool:
        return self.state == "serving"


class Replica:
    """A process's replica: its engine, and whether it may serve now (checked at most every
    ``check_s``, or ``retry_s`` after a failure; one thread checks while the others go on
    with the last verdict). Each change of verdict is logged once."""

    def __init__(
        self,
        engine: Engine,
        primary: Engine,
        *,
        max_lag_s: float,
        check_s: float,
        retry_s: float,
    ):
        self.engine = engine
        self.primary = primary
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self.retry_s = retry_s
        # Seconds, for the checks' schedule and the lag (a test may turn it by hand).
        self.clock = time.monotonic
        self.verdict = Verdict("unchecked")
        self._judge(self.verdict, 0.0)
        self._next_check = 0.0  # checked at the first request, whatever the clock
        self._lock = threading.Lock()
        # (when, the primary's position then), oldest first: as far back as the bound needs.
        self._samples: deque[tuple[float, int]] = deque()

    def usable(self) -> bool:
        """Whether the replica serves this request (a check, when the last one is old)."""
        if self.clock() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._lock.release()
        return self.verdict.usable

    def _check(self) -> None:
        self._sample_primary()
        try:
            with self.engine.connect() as connection:
                row = connection.execute(REPLICA_POSITION).one()
                connection.rollback()
        except sa_exc.DBAPIError as error:
            self.failed(error)
            return
        if not row.standby:
            self._judge(Verdict("not_standby", "it is not in recovery: promoted?"), self.retry_s)
            return
        lag = self._lag(int(row.replayed))
        if lag is None:
            self._judge(Verdict("unchecked", "its lag not known yet"), self.check_s)
        elif lag > self.max_lag_s:
            detail = f"more than {self.max_lag_s:g} s behind the primary"
            self._judge(Verdict("behind", detail, lag), self.check_s)
        else:
            self._judge(Verdict("serving", lag_s=lag), self.check_s)

    def _sample_primary(self) -> None:
        now = self.clock()
        try:
            with self.primary.connect() as connection:
                position = int(connection.execute(PRIMARY_POSITION).scalar_one())
                connection.rollback()
        except sa_exc.DBAPIError as error:  # the lag is judged on the samples already taken
            log.warning("read replica: the primary's WAL position unread: %s", error)
            return
        self._samples.append((now, position))
        # Samples older than the bound (and the newest of those, which may still be the
        # latest one replayed) are no longer needed.
        horizon = now - self.max_lag_s - self.check_s
        while len(self._samples) > 1 and self._samples[1][0] < horizon:
            self._samples.popleft()

    def _lag(self, replayed: int) -> float | None:
        """Seconds since the latest sample the replica has replayed past; past none, at
        least the oldest sample's age, or None while that is within the bound (not known
        yet: a process's first check, WAL in flight)."""
        now = self.clock()
        for taken, position in reversed(self._samples):
            if position <= replayed:
                return max(now - taken, 0.0)
        oldest = now - self._samples[0][0] if self._samples else 0.0
        return oldest if oldest > self.max_lag_s else None

    def failed(self, error: Exception) -> None:
        """The replica failed (a connection refused or lost): the primary serves for
        ``retry_s``."""
        detail = f"{error.__class__.__name__}: {str(error).strip()[:300]}"
        self._judge(Verdict("unreachable", detail), self.retry_s)

    def _judge(self, verdict: Verdict, valid_s: float) -> None:
        before, self.verdict = self.verdict, verdict
        self._next_check = self.clock() + valid_s
        for state in STATES:
            STATE.labels(state).set(1 if state == verdict.state else 0)
        LAG.set(float("nan") if verdict.lag_s is None else verdict.lag_s)
        if verdict.state == before.state:
            return
        if verdict.usable:
            log.info("read replica serving public reads (lag %.3f s)", verdict.lag_s)
        else:
            log.warning(
                "read replica %s, public reads go to the primary: %s (lag %s s)",
                verdict.state,
                verdict.detail,
                "unknown" if verdict.lag_s is None else f"{verdict.lag_s:.3f}",
            )


def init_app(app) -> None:
    """The application's replica, when ``DATABASE_REPLICA_URL`` names one."""
    config = app.config
    url = config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    app.teardown_appcontext(_end_request)
    # In the URL, the timeout holds for every pool opened on it (the caches' versions').
    url = make_url(url)
    if "connect_timeout" not in url.query:
        timeout = str(int(config["DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS"]))
        url = url.update_query_dict({"connect_timeout": timeout})
    # Every checkout pinged: a replica that went down is found before a statement fails.
    options = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "pool_pre_ping": True}
    options["connect_args"] = {
        **options.get("connect_args", {}),
        "application_name": "signale replica",
    }
    with app.app_context():
        primary = db.engine
    app.extensions[EXTENSION] = Replica(
        create_engine(url, **options),
        primary,
        max_lag_s=float(config["DATABASE_REPLICA_MAX_LAG_SECONDS"]),
        check_s=float(config["DATABASE_REPLICA_CHECK_SECONDS"]),
        retry_s=float(config["DATABASE_REPLICA_RETRY_SECONDS"]),
    )


def for_app(app) -> Replica | None:
    """The application's replica (None without DATABASE_REPLICA_URL)."""
    return app.extensions.get(EXTENSION)


def _status(error: Exception) -> int | None:
    if isinstance(error, HTTPException):
        return error.code
    return getattr(error, "status", None)


def _connection_failed(error: sa_exc.DBAPIError) -> bool:
    """A connection refused, timed out or lost, as against an error the server answered
    (a statement cancelled by a recovery conflict, say): only the former marks it down."""
    return error.connection_invalidated or getattr(error.orig, "sqlstate", None) is None


def _end(session) -> None:
    """End the session's transaction, whose replica connection may be gone (the server
    stopping says so at the ROLLBACK): then its connections are dropped instead."""
    try:
        session.close()
    except sa_exc.DBAPIError as error:
        log.info("read replica: session ended without its rollback: %s", error.orig)
        session.invalidate()


def _end_request(exception=None) -> None:
    # Before Flask-SQLAlchemy's own teardown (registered earlier, run later), whose close
    # would raise from a replica that stopped after the view had its answer.
    if db.session.registry.has() and db.session().info.pop(USED, False):
        _end(db.session())


def public_read(view):
    """Decorate a view that reads public data and need not see the caller's own writes: its
    statements go to the replica when one is usable, else to the primary (as without a
    replica). A connection failure there, a cancelled statement or a 404 runs the view again
    on the primary. Applied under the route's other decorators: the caller's token and
    role are checked first, on the primary."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        replica = for_app(current_app)
        if replica is None or not replica.usable():
            if replica is not None:
                PUBLIC_READS.labels("primary").inc()
            return view(*args, **kwargs)
        session = db.session()
        session.info[READ_BIND] = replica.engine
        session.info[USED] = True
        try:
            answer = view(*args, **kwargs)
            PUBLIC_READS.labels("replica").inc()
            return answer
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as error:
            if _connection_failed(error):
                replica.failed(error)
            else:
                log.info("read replica: %s, answered from the primary", error.orig)
        except Exception as error:
            if _status(error) != 404:
                raise
        finally:
            session.info.pop(READ_BIND, None)
        # Nothing was written (the replica takes no writes): end its transaction, and ask
        # the primary.
        _end(session)
        PUBLIC_READS.labels("fallback").inc()
        return view(*args, **kwargs)

    wrapper.public_read = True
    return wrapper
