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

The lag, measured on the replica (:data:`LAG`) at most every ``DATABASE_REPLICA_CHECK_
SECONDS`` per process: 0 when its WAL receiver is streaming and has replayed everything it
received; otherwise the age of the last transaction it replayed (``now() -
pg_last_xact_replay_timestamp()``: an overestimate when the primary has been idle, which
errs towards the primary). A public answer from the replica is thus at most
``MAX_LAG + CHECK`` seconds behind the primary, plus what the primary has committed but not
yet sent (the streaming delay: milliseconds on a LAN; ``pg_stat_replication.replay_lag`` on
the primary shows it), and plus the clocks' difference between the two machines.

The caches keyed by a data version (app/cache.py) read the version from the database the
session reads from: a page built from a lagging replica is stored under the replica's (older)
version, never under the primary's newer one, so it cannot outlive the primary's change.
"""

import functools
import logging
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from app.extensions import READ_BIND, db

log = logging.getLogger(__name__)

EXTENSION = "signale.replica"

# The replica's lag in seconds (NULL: it has replayed nothing yet), and whether it is a
# standby at all. pg_stat_wal_receiver has a row while a WAL receiver runs, whatever the
# caller's privileges.
LAG = text(
    """
    SELECT pg_is_in_recovery() AS standby,
           CASE WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
                     AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
           END AS lag_s
    """
)


@dataclass(frozen=True)
class Verdict:
    """The last check: whether the replica serves (``state`` "serving"), else why not
    ("unchecked", "unreachable", "behind", "not_standby"), with what was seen."""

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

    def __init__(self, engine: Engine, *, max_lag_s: float, check_s: float, retry_s: float):
        self.engine = engine
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self.retry_s = retry_s
        # Seconds, for the checks' schedule (a test may turn it by hand).
        self.clock = time.monotonic
        self.verdict = Verdict("unchecked")
        self._next_check = 0.0
        self._lock = threading.Lock()

    def usable(self) -> bool:
        """Whether the replica serves this request (a check, when the last one is old)."""
        if self.clock() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._check()
            finally:
                self._lock.release()
        return self.verdict.usable

    def _check(self) -> None:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(LAG).one()
                connection.rollback()
        except sa_exc.DBAPIError as error:
            self.failed(error)
            return
        lag = None if row.lag_s is None else float(row.lag_s)
        if not row.standby:
            self._judge(Verdict("not_standby", "it is not in recovery: promoted?"), self.retry_s)
        elif lag is None or lag > self.max_lag_s:
            detail = f"more than {self.max_lag_s:g} s behind the primary"
            self._judge(Verdict("behind", detail, lag), self.check_s)
        else:
            self._judge(Verdict("serving", lag_s=lag), self.check_s)

    def failed(self, error: Exception) -> None:
        """The replica failed (a connection refused or lost): the primary serves for
        ``retry_s``."""
        detail = f"{error.__class__.__name__}: {str(error).strip()[:300]}"
        self._judge(Verdict("unreachable", detail), self.retry_s)

    def _judge(self, verdict: Verdict, valid_s: float) -> None:
        before, self.verdict = self.verdict, verdict
        self._next_check = self.clock() + valid_s
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
    # In the URL, the timeout holds for every pool opened on it (the caches' versions').
    url = make_url(url)
    if "connect_timeout" not in url.query:
        timeout = str(int(config["DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS"]))
        url = url.update_query_dict({"connect_timeout": timeout})
    options = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    options["connect_args"] = {
        **options.get("connect_args", {}),
        "application_name": "signale replica",
    }
    app.extensions[EXTENSION] = Replica(
        create_engine(url, **options),
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
            return view(*args, **kwargs)
        session = db.session()
        session.info[READ_BIND] = replica.engine
        try:
            return view(*args, **kwargs)
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
        session.rollback()
        return view(*args, **kwargs)

    wrapper.public_read = True
    return wrapper
