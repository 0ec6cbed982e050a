"""Server-side cache of GET documents in Redis, exact rather than stale (Open311's
documents: app/open311/cache.py; the open-data statistics: app/opendata/cache.py).

An entry is the response's body and headers, kept under a hash of everything the document
depends on: its path, its arguments (normalised: equivalent URLs share an entry), and a
DATA VERSION read by one cheap statement (each user's ``version``, which also gives
``age_s``: how long ago that version's latest write was). A write thus changes the key: the
next request misses and builds the document afresh; entries of old versions expire (TTL).

Timestamps are taken before commit, so a slow transaction can commit an update older than
a version already read. An entry whose version is younger than ``settle_s`` seconds is
therefore kept only that long: a document misses such a transaction for at most that long,
unless the transaction itself lasted longer than that.

A user whose version is kept in the writers' own transactions (a counter moved by
triggers: app/worklists/cache.py) is ``exact``: no transaction can commit under a version
already read, so its entries need no settling; its statement may take parameters (the
document's ``version_params``) and find no row (nothing to key by, as an unknown desk: the
document is then built, uncached).

A user's version may also say ``own_writes``: the reading transaction has itself written
(uncommitted) data, which it alone sees; its documents are then neither read from the cache
nor stored there.

A cache may also keep the entries its process served last (``local_bytes`` of them, each
until its Redis expiry): a hit there costs the version's statement alone, no Redis round
trip, and is as exact, the key carrying the data version.

Redis down or erring: documents are served uncached (logged once per incident; Redis is
tried again after ``RETRY_S``).
"""

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from flask import Response
from sqlalchemy import Engine, TextClause, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

# After Redis failed, how long documents are served without trying it again.
RETRY_S = 5.0


def _plain(value) -> str:
    """A version's timestamps in UTC: the same whatever the session's time zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


@dataclass(frozen=True)
class Entry:
    """A cached document: what a response needs to be rebuilt byte for byte."""

    body: bytes
    mimetype: str
    etag: str
    last_modified: float | None

    def dump(self) -> bytes:
        head = {"mimetype": self.mimetype, "etag": self.etag, "lm": self.last_modified}
        return json.dumps(head).encode() + b"\n" + self.body

    @classmethod
    def load(cls, raw: bytes) -> "Entry":
        head, body = raw.split(b"\n", 1)
        fields = json.loads(head)
        return cls(body, fields["mimetype"], fields["etag"], fields["lm"])

    def response(self) -> Response:
        return Response(self.body, mimetype=self.mimetype)


@dataclass(frozen=True)
class Settings:
    """Entries live ``ttl_s`` (``settle_s`` while their version is fresh), none larger than
    ``max_bytes``, and at most ``bytes_per_minute`` are stored each minute: however many
    distinct URLs clients ask for, the cache holds at most about
    ``bytes_per_minute * (ttl_s / 60 + 1)``."""

    ttl_s: int
    settle_s: int
    max_bytes: int
    bytes_per_minute: int
    local_bytes: int = 0


class _Recent:
    """The entries a process served last, by key, up to ``limit`` bytes of bodies, each
    until its expiry (least recently used dropped first)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict[str, tuple[Entry, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if time.monotonic() >= found[1]:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: str, entry: Entry, ttl_s: float) -> None:
        if len(entry.body) > self.limit or ttl_s <= 0:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (entry, time.monotonic() + ttl_s)
            self._bytes += len(entry.body)
            while self._bytes > self.limit:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry, _ = self._entries.pop(key)
        self._bytes -= len(entry.body)


class _Flight:
    """A build under way: the threads that missed the same key wait for its entry."""

    def __init__(self):
        self.done = threading.Event()
        self.entry: Entry | None = None


class DocumentCache:
    """Get and put entries; every Redis error means "not cached", never an error.

    Each user subclasses it with its ``name`` (the Redis keys' prefix), ``version`` (the
    statement of its data version, with an ``age_s`` column) and ``log``."""

    name: str
    version: TextClause
    log: logging.Logger
    # Versions moved in the writers' own transactions: entries live ttl_s from the start.
    exact: bool = False
    # Concurrent misses of one key in a process wait for the first one's build instead of
    # building it each (pages all clients ask again at once after every change).
    single_flight: bool = False

    def __init__(self, client: redis.Redis, settings: Settings, version_pool_size: int = 0):
        self.client = client
        # Versions are read outside a transaction from a pool of this size per database
        # (the primary's, a replica's), or with the session's engine when 0.
        self.version_pool_size = version_pool_size
        self._version_engines: dict[str, Engine] = {}
        self._version_engines_lock = threading.Lock()
        self.settings = settings
        self._down_until = 0.0
        self._recent = _Recent(settings.local_bytes) if settings.local_bytes else None
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()

    def build_once(self, key: str, build, ttl: int) -> Entry:
        """``build()``'s entry, stored under ``key``; when another thread of the process is
        already building it, that one's entry, once done (or our own build, if it failed)."""
        with self._flights_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            return flight.entry if flight.entry is not None else build()
        try:
            flight.entry = build()
            self.put(key, flight.entry, ttl)
            return flight.entry
        finally:
            with self._flights_lock:
                del self._flights[key]
            flight.done.set()

    def key(
        self, session: Session, document: dict, version_params: dict | None = None
    ) -> tuple[str | None, int]:
        """The entry's key for ``document`` (path, arguments...) at the current data
        version (its statement run with ``version_params``), and how long an entry stored
        under it may live; no key (None) when the transaction has written what documents
        show (the version's ``own_writes``), or when the version statement found no row."""
        version = self._read_version(session, version_params or {})
        if version is None or version.pop("own_writes", False):
            return None, 0
        age_s = version.pop("age_s", None)
        ttl = self.settings.ttl_s
        if not self.exact and (age_s is None or age_s < self.settings.settle_s):
            ttl = self.settings.settle_s
        material = json.dumps({**document, "version": version}, sort_keys=True, default=_plain)
        return self.prefix() + hashlib.sha256(material.encode()).hexdigest(), ttl

    def _read_version(self, session: Session, params: dict) -> dict | None:
        """The data version in one round trip: when the session has not begun a transaction
        (the request has read and written nothing yet), outside it, in autocommit, without
        the BEGIN and ROLLBACK the session's transaction would cost (a hit then sends nothing
        else); otherwise in the session's transaction, which may have written.

        Always from the database the session reads from (a read replica: app/replica.py):
        a page built from a replica that lags is stored under the replica's version, never
        under the primary's newer one, where it would be served after the replica caught
        up."""
        if isinstance(session, scoped_session):
            session = session()
        bind = session.get_bind()
        if not isinstance(bind, Engine) or session.in_transaction():
            return _as_dict(session.execute(self.version, params).one_or_none())
        if not self.version_pool_size:
            with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                return _as_dict(connection.execute(self.version, params).one_or_none())
        engine = self._version_engine(bind)
        try:
            return self._version_from_own_pool(engine, params)
        except DBAPIError as error:  # a connection of the pool lost (its pool has no ping)
            if not error.connection_invalidated:
                raise
            return self._version_from_own_pool(engine, params)

    def _version_engine(self, bind: Engine) -> Engine:
        """The version's own pool for ``bind``'s database: in autocommit, without the ping
        each checkout of the application's pool costs (a hit's one statement)."""
        url = bind.url.render_as_string(hide_password=False)
        engine = self._version_engines.get(url)
        if engine is None:
            with self._version_engines_lock:
                engine = self._version_engines.get(url)
                if engine is None:
                    engine = self._version_engines[url] = create_engine(
                        bind.url,
                        isolation_level="AUTOCOMMIT",
                        pool_pre_ping=False,
                        pool_size=self.version_pool_size,
                        max_overflow=self.version_pool_size,
                        connect_args={"application_name": f"signale {self.name} version"},
                    )
        return engine

    def _version_from_own_pool(self, engine: Engine, params: dict) -> dict | None:
        with engine.connect() as connection:
            if params:
                return _as_dict(connection.execute(self.version, params).one_or_none())
            return _as_dict(connection.exec_driver_sql(self.version.text).one_or_none())

    @classmethod
    def prefix(cls) -> str:
        return f"{cls.name}:document:"

    @classmethod
    def budget_prefix(cls) -> str:
        """Bytes stored in the current minute (what bounds the cache's memory)."""
        return f"{cls.name}:stored-bytes:"

    def get(self, key: str) -> Entry | None:
        if self._recent is not None:
            entry = self._recent.get(key)
            if entry is not None:
                return entry
            # The entry and how long it has left, in one round trip.
            pipeline = self.client.pipeline(transaction=False)
            found = self._call(pipeline.get(key).pttl(key).execute)
            raw, left_ms = found if found else (None, 0)
        else:
            raw, left_ms = self._call(self.client.get, key), 0
        try:
            entry = Entry.load(raw) if raw else None
        except (ValueError, KeyError):  # not an entry of ours: built again, and replaced
            self.log.warning("%s cache entry unreadable: %s", self.name, key)
            return None
        if entry is not None and self._recent is not None:
            self._recent.put(key, entry, left_ms / 1000)
        return entry

    def put(self, key: str, entry: Entry, ttl_s: int) -> None:
        size = len(entry.body)
        if size > self.settings.max_bytes or not self._within_budget(size):
            return
        if self._call(self.client.set, key, entry.dump(), ex=max(ttl_s, 1)) and self._recent:
            self._recent.put(key, entry, max(ttl_s, 1))

    def _within_budget(self, size: int) -> bool:
        counter = self.budget_prefix() + str(int(time.time() // 60))
        pipeline = self.client.pipeline(transaction=False)
        pipeline.incrby(counter, size).expire(counter, 120)
        counted = self._call(pipeline.execute)
        return counted is not None and counted[0] <= self.settings.bytes_per_minute

    def _call(self, operation, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return None
        try:
            result = operation(*args, **kwargs)
        except (redis.RedisError, OSError) as error:
            if not self._down_until:
                self.log.warning("%s cache unavailable, serving uncached: %s", self.name, error)
            self._down_until = time.monotonic() + RETRY_S
            return None
        if self._down_until:
            self.log.info("%s cache available again", self.name)
            self._down_until = 0.0
        return result


def _as_dict(row) -> dict | None:
    return None if row is None else row._asdict()


def fetch(
    cache: DocumentCache | None,
    session: Session,
    document: dict,
    build,
    version_params: dict | None = None,
) -> Entry:
    """The entry of ``document`` (path, arguments...): from ``cache`` when it holds it at the
    current data version (one cheap statement, run with ``version_params``), else
    ``build()``'s, stored there."""
    if cache is None:
        return build()
    key, ttl = cache.key(session, document, version_params)
    if key is None:
        return build()
    entry = cache.get(key)
    if entry is None:
        if cache.single_flight:
            return cache.build_once(key, build, ttl)
        entry = build()
        cache.put(key, entry, ttl)
    return entry


def for_app(app, cache_class: type[DocumentCache], config_prefix: str) -> DocumentCache | None:
    """The application's cache of this class (None when ``<config_prefix>_ENABLED`` is
    off). Its own Redis connection, with short timeouts: a cache that hangs is worse than
    none; its own PostgreSQL pool for the version with ``<config_prefix>_VERSION_POOL_SIZE``."""
    config = app.config
    if not config[f"{config_prefix}_ENABLED"]:
        return None
    extension = f"signale.{cache_class.name}_cache"
    cache = app.extensions.get(extension)
    if cache is None:
        client = redis.Redis.from_url(
            config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5
        )
        settings = Settings(
            ttl_s=config[f"{config_prefix}_TTL_SECONDS"],
            settle_s=config[f"{config_prefix}_SETTLE_SECONDS"],
            max_bytes=config[f"{config_prefix}_MAX_BYTES"],
            bytes_per_minute=config[f"{config_prefix}_BYTES_PER_MINUTE"],
            local_bytes=config.get(f"{config_prefix}_LOCAL_BYTES", 0),
        )
        # Pools of its own for the data version, when configured (one per database).
        pool_size = config.get(f"{config_prefix}_VERSION_POOL_SIZE", 0)
        cache = app.extensions[extension] = cache_class(client, settings, pool_size)
    return cache
