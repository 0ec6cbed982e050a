"""One listener per process, fanning report changes out to that process's open streams.

The ``reports`` table notifies ``report_changes`` after each insert and each update the
console can show (migration e6a8c0b2d4f6), delivered by PostgreSQL on commit only. Every
process serving streams LISTENs on its own connection, so whichever API process a console
is connected to hears every change, however many processes there are.

Delivery guarantee: at most once per stream, in commit order. A notification sent while
the listener's connection is down is lost to it; so, after every reconnection, each open
stream gets a ``resync`` (the console reloads what it shows). So does a stream whose client
reads too slowly for its queue: it loses the events it could not hold, never blocks the
others.

The listener thread starts with the first stream of the process (never in gunicorn's
master: nothing is forked with a live connection), and ends, closing its connection, when
the process has had no stream for a few seconds.
"""

import json
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

CHANNEL = "report_changes"
# Equipment commands' changes of state (app/equipment/events.py), for the staff who run it.
COMMAND_CHANNEL = "equipment_changes"
# What a stream receives besides a change: the server may have missed some.
RESYNC = "resync"
# What a stream receives when its process stops: it ends, and its client reconnects.
END = "end"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportChange:
    """A committed change of a report, as the console's event carries it."""

    id: int
    reference: str | None
    desk: str | None
    previous_desk: str | None
    crew: str | None
    previous_crew: str | None
    status: str
    version: int
    change: str  # "created" | "updated"

    def as_data(self) -> dict:
        return {
            "id": self.id,
            "reference": self.reference,
            "desk": self.desk,
            "previous_desk": self.previous_desk,
            "crew": self.crew,
            "previous_crew": self.previous_crew,
            "status": self.status,
            "version": self.version,
            "change": self.change,
        }


@dataclass(frozen=True)
class CommandChange:
    """A committed change of state of an equipment command."""

    id: int
    asset: str
    kind: str
    name: str
    state: str
    selection: str | None

    def as_data(self) -> dict:
        return {
            "id": self.id,
            "asset": self.asset,
            "kind": self.kind,
            "command": self.name,
            "state": self.state,
            "selection": self.selection,
        }


class Stream:
    """One open event stream: the changes its caller may see, in a bounded queue."""

    def __init__(self, accepts: Callable[[ReportChange], bool], size: int, commands: bool = False):
        self.accepts = accepts
        # Whether its caller is told of equipment commands.
        self.commands = commands
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._overflowed = threading.Event()

    def offer(self, item) -> None:
        """Called by the listener thread: never blocks."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._overflowed.set()

    def next(self, timeout: float):
        """The next change or ``RESYNC``; None when nothing came within ``timeout`` s."""
        if self._overflowed.is_set():
            # What the queue still holds is older than what was lost: reload instead.
            self._overflowed.clear()
            self._drain()
            return RESYNC
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


class StreamsFull(Exception):
    """This process already serves as many streams as it may."""


class Hub:
    """The process's streams and the listener thread that feeds them."""

    def __init__(
        self,
        database_url: str,
        *,
        max_streams: int,
        queue_size: int = 1000,
        poll_seconds: float = 5.0,
        backoff_seconds: tuple[float, ...] = (0.5, 1, 2, 5, 10),
    ):
        self.dsn = libpq_dsn(database_url)
        self.max_streams = max_streams
        self.queue_size = queue_size
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()
        self._codes: dict[tuple[str, int], str] = {}
        self.connections = 0  # successful LISTENs, for tests and logs

    # Streams --------------------------------------------------------------------------

    def open(self, accepts: Callable[[ReportChange], bool], commands: bool = False) -> Stream:
        """A new stream (and the listener, if it is not running yet); StreamsFull beyond
        ``max_streams``. ``commands``: its caller is told of equipment commands too."""
        stream = Stream(accepts, self.queue_size, commands)
        with self._lock:
            if len(self._streams) >= self.max_streams:
                raise StreamsFull()
            self._streams.add(stream)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="signale-live-listener", daemon=True
                )
                self._thread.start()
        return stream

    def close(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._streams)

    def wait_listening(self, timeout: float) -> bool:
        """Whether the listener is LISTENing (a stream opened now hears what commits next)."""
        return self._listening.wait(timeout)

    def publish(self, item) -> None:
        """Give ``item`` (a ReportChange or CommandChange, or RESYNC to all) to every stream
        that accepts it."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            if isinstance(item, CommandChange):
                if stream.commands:
                    stream.offer(item)
            elif item in (RESYNC, END) or stream.accepts(item):
                stream.offer(item)

    def end_all(self) -> None:
        """End every open stream (the process is stopping: its clients reconnect to
        another at once, instead of holding the shutdown until gunicorn's graceful
        timeout)."""
        self.publish(END)

    # The listener thread --------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        listened = False
        while not self._retire():
            try:
                with psycopg.connect(
                    self.dsn,
                    autocommit=True,
                    application_name="signale-live-listener",
                    # A vanished server or network is noticed within about a minute.
                    keepalives=1,
                    keepalives_idle=30,
                    keepalives_interval=10,
                    keepalives_count=3,
                ) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    connection.execute(f"LISTEN {COMMAND_CHANNEL}")
                    self._load_codes(connection)
                    self.connections += 1
                    if listened or failures:
                        # Changes committed while we were not listening were not heard.
                        self.publish(RESYNC)
                    listened, failures = True, 0
                    self._listening.set()
                    self._listen(connection)
            except psycopg.Error as exc:
                self._listening.clear()
                delay = self.backoff_seconds[min(failures, len(self.backoff_seconds) - 1)]
                failures += 1
                log.warning(
                    "live listener lost its database connection; reconnecting",
                    extra={"error": str(exc).strip()[:200], "retry_in_s": delay},
                )
                time.sleep(delay)
            except Exception:  # a bug must not silence every console of the process
                self._listening.clear()
                log.exception("live listener failed; restarting")
                failures += 1
                time.sleep(self.backoff_seconds[-1])

    def _retire(self) -> bool:
        """With no stream left, the thread ends and its connection closes (the next stream
        starts another)."""
        with self._lock:
            if self._streams:
                return False
            self._thread = None
            self._listening.clear()
            return True

    def _listen(self, connection: psycopg.Connection) -> None:
        while True:
            # Stop after the first notification (and those in the same packet) to query
            # codes outside the generator, which holds the connection.
            batch = list(connection.notifies(timeout=self.poll_seconds, stop_after=1))
            if not batch:
                if self.open_streams == 0:
                    return
                # No traffic: make sure the connection is still there (a terminated backend
                # is usually noticed at once, as its socket closes).
                connection.execute("SELECT 1")
                continue
            for notify in batch:
                if notify.channel == COMMAND_CHANNEL:
                    command = _command_change(notify.payload)
                    if command is not None:
                        self.publish(command)
                    continue
                change = self._change(connection, notify.payload)
                if change is not None:
                    self.publish(change)

    def _change(self, connection, payload: str) -> ReportChange | None:
        try:
            data = json.loads(payload)
            ids = {
                "desk": ("desk", data["desk_id"]),
                "previous_desk": ("desk", data["previous_desk_id"]),
                "crew": ("crew", data["crew_id"]),
                "previous_crew": ("crew", data["previous_crew_id"]),
            }
            if any(key[1] is not None and key not in self._codes for key in ids.values()):
                self._load_codes(connection)  # a desk or crew created since
            codes = {
                name: self._codes.get(key) if key[1] is not None else None
                for name, key in ids.items()
            }
            return ReportChange(
                id=int(data["id"]),
                reference=data["reference"],
                status=data["status"],
                version=int(data["version"]),
                change=data["change"],
                **codes,
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable report_changes payload", extra={"payload": payload[:200]})
            return None

    def _load_codes(self, connection) -> None:
        rows = connection.execute(
            "SELECT 'desk', id, code FROM desks UNION ALL SELECT 'crew', id, code FROM crews"
        ).fetchall()
        self._codes = {(kind, id_): code for kind, id_, code in rows}


def _command_change(payload: str) -> CommandChange | None:
    try:
        data = json.loads(payload)
        return CommandChange(
            id=int(data["id"]),
            asset=str(data["asset"]),
            kind=str(data["kind"]),
            name=str(data["name"]),
            state=str(data["state"]),
            selection=data.get("selection"),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable equipment_changes payload", extra={"payload": payload[:200]})
        return None


def libpq_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no ``+psycopg`` driver part)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def server_sent_event(event: str, data: dict, event_id: str | None = None) -> str:
    """One server-sent event, in its wire format."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def init_app(app) -> None:
    """The application's hub (no thread, no connection until its first stream)."""
    app.extensions["signale.live"] = Hub(
        app.config["SQLALCHEMY_DATABASE_URI"],
        max_streams=int(app.config["EVENTS_MAX_STREAMS_PER_PROCESS"]),
        queue_size=int(app.config["EVENTS_QUEUE_SIZE"]),
    )


def end_streams_on_exit(app, worker) -> None:
    """When gunicorn asks ``worker`` to stop (SIGTERM: a restart, a deploy, `make run`
    stopping), its streams end first."""
    live = app.extensions["signale.live"]
    stop = worker.handle_exit

    def handle_exit(sig, frame):
        live.end_all()
        stop(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def fit_to_threads(app, threads: int) -> int:
    """Under a server of ``threads`` threads per process (gunicorn's gthread), streams may
    take all but EVENTS_API_THREADS of them: the rest of the API always has those. Returns
    the process's cap on streams."""
    live = app.extensions["signale.live"]
    room = max(0, threads - int(app.config["EVENTS_API_THREADS"]))
    if live.max_streams > room:
        log.warning(
            "fewer event streams per process than configured: threads are kept for the API",
            extra={
                "configured": live.max_streams,
                "threads": threads,
                "api_threads": int(app.config["EVENTS_API_THREADS"]),
                "cap": room,
            },
        )
        live.max_streams = room
    return live.max_streams
