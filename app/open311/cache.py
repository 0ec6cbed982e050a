"""Server-side cache of the Open311 GET documents, in Redis, exact rather than stale.

An entry is the response's body and headers, kept under a hash of everything the document
depends on: its path, its arguments (normalised: equivalent URLs share an entry), format,
language, where its photos are served, and a DATA VERSION read by one cheap statement
(``VERSION``): the latest update of any report (every writer of what Open311 shows bumps
``reports.updated_at``; the index on (updated_at, id) answers it), of the catalogue, and a
digest of the desks' and communes' names. A write thus changes the key: the next request
misses and builds the document afresh; entries of old versions expire (``TTL``).

Timestamps are taken before commit, so a slow transaction can commit an update older than
a version already read. An entry whose version is younger than ``SETTLE`` seconds is
therefore kept only that long: a document misses such a transaction for at most that long,
unless the transaction itself lasted longer than that.

Redis down or erring: documents are served uncached (logged once per incident; Redis is
tried again after ``RETRY_S``).
"""

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from flask import Response
from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PREFIX = "open311:document:"
# Bytes stored in the current minute (what bounds the cache's memory, see Settings).
BUDGET_PREFIX = "open311:stored-bytes:"
# After Redis failed, how long documents are served without trying it again.
RETRY_S = 5.0

VERSION = text(
    """
    WITH latest AS (
        SELECT (SELECT max(updated_at) FROM reports) AS reports,
               (SELECT max(updated_at) FROM categories) AS categories
    )
    SELECT current_database() AS database,
           latest.reports,
           latest.categories,
           (SELECT count(*) FROM categories) AS category_count,
           (SELECT md5(string_agg(concat_ws('|', id, name_fr, name_en), ',' ORDER BY id))
              FROM desks) AS desks,
           (SELECT md5(string_agg(concat_ws('|', insee_code, name), ',' ORDER BY insee_code))
              FROM communes) AS communes,
           extract(epoch FROM now() - greatest(latest.reports, latest.categories)) AS age_s
      FROM latest
    """
)


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


class DocumentCache:
    """Get and put entries; every Redis error means "not cached", never an error."""

    def __init__(self, client: redis.Redis, settings: Settings):
        self.client = client
        self.settings = settings
        self._down_until = 0.0

    def key(self, session: Session, document: dict) -> tuple[str, int]:
        """The entry's key for ``document`` (path, arguments...) at the current data
        version, and how long an entry stored under it may live."""
        version = session.execute(VERSION).one()._asdict()
        age_s = version.pop("age_s")
        ttl = self.settings.ttl_s
        if age_s is None or age_s < self.settings.settle_s:
            ttl = self.settings.settle_s
        material = json.dumps({**document, "version": version}, sort_keys=True, default=_plain)
        return PREFIX + hashlib.sha256(material.encode()).hexdigest(), ttl

    def get(self, key: str) -> Entry | None:
        raw = self._call(self.client.get, key)
        try:
            return Entry.load(raw) if raw else None
        except (ValueError, KeyError):  # not an entry of ours: built again, and replaced
            log.warning("open311 cache entry unreadable: %s", key)
            return None

    def put(self, key: str, entry: Entry, ttl_s: int) -> None:
        size = len(entry.body)
        if size > self.settings.max_bytes or not self._within_budget(size):
            return
        self._call(self.client.set, key, entry.dump(), ex=max(ttl_s, 1))

    def _within_budget(self, size: int) -> bool:
        counter = BUDGET_PREFIX + str(int(time.time() // 60))
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
                log.warning("open311 cache unavailable, serving uncached: %s", error)
            self._down_until = time.monotonic() + RETRY_S
            return None
        if self._down_until:
            log.info("open311 cache available again")
            self._down_until = 0.0
        return result


def for_app(app) -> DocumentCache | None:
    """The application's document cache (None when OPEN311_CACHE_ENABLED is off). Its own
    Redis connection, with short timeouts: a cache that hangs is worse than none."""
    config = app.config
    if not config["OPEN311_CACHE_ENABLED"]:
        return None
    cache = app.extensions.get("signale.open311_cache")
    if cache is None:
        client = redis.Redis.from_url(
            config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5
        )
        settings = Settings(
            ttl_s=config["OPEN311_CACHE_TTL_SECONDS"],
            settle_s=config["OPEN311_CACHE_SETTLE_SECONDS"],
            max_bytes=config["OPEN311_CACHE_MAX_BYTES"],
            bytes_per_minute=config["OPEN311_CACHE_BYTES_PER_MINUTE"],
        )
        cache = app.extensions["signale.open311_cache"] = DocumentCache(client, settings)
    return cache
