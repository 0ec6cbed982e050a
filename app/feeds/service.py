"""Use cases of the feed registry and of polling: register, poll, store, schedule, purge."""

import logging
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import numpy as np
import orjson
import shapely
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.errors import NotFound, Unprocessable
from app.feeds import broker, live_state
from app.feeds.faults import FaultOutcome, active_mappings, process_faults
from app.feeds.fetching import Budget, Fetcher, FetchError, HttpFetcher
from app.feeds.formats import adapter_for, carried
from app.feeds.models import Feed
from app.feeds.ngsi_ld import KIND_TYPES
from app.feeds.states import EntityState, PollResult
from app.geo.models import WGS84

log = logging.getLogger(__name__)

# The first skipped entities of a poll kept on the feed's health, with their reasons.
SKIPPED_EXAMPLES = 10
NO_VALID_ENTITIES = "no_valid_entities"


@dataclass(frozen=True)
class PollLimits:
    """Bounds of one poll (from the FEEDS_* settings)."""

    timeout_seconds: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    page_size: int = 1000
    max_backoff_seconds: int = 3600
    # States per chunk the store writes while the next is read (store_states).
    store_chunk: int = 5000

    @classmethod
    def from_config(cls, config) -> "PollLimits":
        return cls(
            timeout_seconds=float(config["FEEDS_POLL_TIMEOUT_SECONDS"]),
            max_bytes=int(config["FEEDS_POLL_MAX_BYTES"]),
            page_size=int(config["FEEDS_BROKER_PAGE_SIZE"]),
            max_backoff_seconds=int(config["FEEDS_MAX_BACKOFF_SECONDS"]),
        )


# --- the registry -------------------------------------------------------------------------


def list_feeds(session: Session) -> list[Feed]:
    return list(session.scalars(select(Feed).order_by(Feed.name)))


def get_feed(session: Session, name: str) -> Feed:
    feed = session.scalar(select(Feed).where(Feed.name == name))
    if feed is None:
        raise NotFound("feed_not_found", name=name)
    return feed


def check_format(kind: str, format_: str) -> None:
    """Refuse a feed whose format cannot carry its kind."""
    if kind not in carried(format_):
        kinds = ", ".join(carried(format_))
        raise Unprocessable(
            "feed_kind_format_mismatch",
            kind=kind,
            format=format_,
            kinds=kinds,
            errors={"json": {"kind": [f"a {format_} feed carries {kinds}"]}},
        )


def check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        reason = str(exc)[:100]
        raise Unprocessable(
            "invalid_feed_url", reason=reason, errors={"json": {"source_url": [reason]}}
        ) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Unprocessable(
            "invalid_feed_url",
            reason="not http(s) with a host",
            errors={"json": {"source_url": ["expected http(s)://host/..."]}},
        )


def put_feed(session: Session, name: str, data: dict) -> tuple[Feed, bool]:
    """Create or replace a feed's definition (its health and data are kept); polled soon."""
    check_format(data["kind"], data["format"])
    check_url(data["source_url"])
    feed = session.scalar(select(Feed).where(Feed.name == name))
    created = feed is None
    if created:
        feed = Feed(name=name)
        session.add(feed)
    for key in (
        "kind",
        "format",
        "source_url",
        "poll_interval_seconds",
        "freshness_limit_seconds",
        "enabled",
    ):
        setattr(feed, key, data[key])
    # Pushed notifications besides polling (app/feeds/subscriptions.py keeps them alive).
    feed.subscribe = broker.check_subscribable(data["format"], data.get("subscribe", False))
    feed.next_poll_at = clock.now(session)
    session.commit()
    return feed, created


def delete_feed(session: Session, name: str) -> None:
    """Delete a feed with its entities and their history."""
    session.delete(get_feed(session, name))
    session.commit()


def request_poll(session: Session, name: str) -> Feed:
    """Make the feed due now: the dispatcher queues its poll within seconds (back-off
    included: an admin asking is a reason to try again)."""
    feed = get_feed(session, name)
    feed.next_poll_at = clock.now(session)
    session.commit()
    return feed


# --- polling ------------------------------------------------------------------------------


def poll_feed(
    session: Session,
    feed_id: int,
    *,
    limits: PollLimits = PollLimits(),
    fetcher_factory: Callable[[Budget], Fetcher] = HttpFetcher,
    now: datetime | None = None,
) -> dict:
    """Poll one feed: read it, store its states and record its health.

    An NGSI-LD source's first document is read before any transaction; the rest (parsing,
    a broker's later pages) is read while what came before is stored, in the poll's
    transaction. A failed read (timeout, HTTP error, oversize, not
    NGSI-LD/GBFS/GTFS-Realtime, nothing valid), on the first page or a later one, stores
    nothing (the transaction is rolled back), so the last good state stays; the failure is
    recorded and the next poll backs off. Never raises for anything the source sends. A
    live read (vehicle positions) replaces the feed's entities and keeps no history; a read
    the source's ttl made unnecessary stores nothing. Equipment faults among the stored
    states open or update tickets (the fault mappings, read once for the poll), in the
    same transaction.
    """
    feed = session.get(Feed, feed_id)
    if feed is None:
        return {"feed": None, "status": "gone"}
    name, url, kind, format_ = feed.name, feed.source_url, feed.kind, feed.format
    source_state = dict(feed.source_state)
    # The database's clock, as for the SQL that finds feeds due and states stale.
    now = now or clock.now(session)
    # No transaction stays open while the source (its first page) is fetched.
    session.rollback()
    result = PollResult()
    error = None
    try:
        adapter = adapter_for(format_, page_size=limits.page_size, state=source_state)
        fetcher = fetcher_factory(Budget(limits.timeout_seconds, limits.max_bytes))
        result = adapter.read(url=url, kind=kind, fetcher=fetcher, now=now)
        if result.pending is None:
            check_valid(result)
    except FetchError as exc:
        error = exc
    except Exception as exc:  # an adapter bug must not stop the other feeds' polls
        error = unexpected(exc, name)

    feed = session.get(Feed, feed_id)
    if feed is None:  # deleted while it was being fetched
        session.rollback()
        return {"feed": name, "status": "gone"}
    changed = 0
    tickets = FaultOutcome()
    if error is None:
        if result.pending is not None:
            result.pending = _read_through(result.pending, result, name)
        try:
            changed, tickets = ingest(session, feed, result, now=now, chunk_size=limits.store_chunk)
        except FetchError as exc:  # a later page failed, or nothing was valid
            # Nothing of this poll is kept: what was stored before the failure goes too.
            session.rollback()
            error, changed = exc, 0
            if exc.code != NO_VALID_ENTITIES:  # a read cut short says nothing of entities
                result = PollResult()
            feed = session.get(Feed, feed_id)
            if feed is None:
                session.rollback()
                return {"feed": name, "status": "gone"}
    feed.last_polled_at = now
    # A read that failed early, or had nothing to read, says nothing of entities.
    if not result.unchanged and (error is None or result.seen):
        feed.entities_seen = result.seen
        feed.entities_skipped = len(result.skipped)
        feed.skipped_examples = [
            {"entity": entity, "reason": reason}
            for entity, reason in result.skipped[:SKIPPED_EXAMPLES]
        ]
    if error is None:
        if result.source_state is not None:
            feed.source_state = result.source_state
        if result.ttl_seconds is not None:
            feed.source_ttl_seconds = result.ttl_seconds
        feed.last_success_at = now
        feed.consecutive_failures = 0
        feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds)
    else:
        feed.last_error_at = now
        feed.last_error_code = error.code
        feed.last_error = error.detail[:500]
        feed.consecutive_failures += 1
        feed.next_poll_at = now + backoff(
            feed.poll_interval_seconds, feed.consecutive_failures, limits.max_backoff_seconds
        )
        log.warning(
            "feed poll failed",
            extra={"feed": name, "code": error.code, "failures": feed.consecutive_failures},
        )
    outcome = {
        "feed": name,
        "status": "ok" if error is None else "failed",
        "error": None if error is None else error.code,
        "seen": result.seen,
        "skipped": len(result.skipped),
        "changed": changed,
        "tickets": tickets.as_dict(),
    }
    session.commit()
    return outcome


def check_valid(result: PollResult) -> None:
    """A read whose entities were all malformed fails (nothing valid to keep)."""
    if result.skipped and not result.valid:
        raise FetchError(
            NO_VALID_ENTITIES,
            f"all {len(result.skipped)} entities are malformed; first: {result.skipped[0][1]}",
        )


def unexpected(exc: Exception, name: str) -> FetchError:
    log.exception("feed poll failed unexpectedly", extra={"feed": name})
    return FetchError("internal_error", f"{exc.__class__.__name__} while reading the feed")


def _read_through(
    pending: Iterator[EntityState], result: PollResult, name: str
) -> Iterator[EntityState]:
    """A poll's ``pending`` states as the store takes them: any failure reading them is the
    read's (a FetchError, as when it fails before), then nothing valid fails it too."""
    try:
        yield from pending
    except FetchError:
        raise
    except Exception as exc:  # an adapter bug: this feed's poll fails, not the worker
        raise unexpected(exc, name) from exc
    check_valid(result)


# --- ingestion: what a poll read or a notification brought -----------------------------


INGEST_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('app.feeds.ingest ' || :feed_id))")


def ingest(
    session: Session,
    feed: Feed,
    result: PollResult,
    *,
    notified: bool = False,
    now: datetime | None = None,
    chunk_size: int = PollLimits.store_chunk,
) -> tuple[int, FaultOutcome]:
    """Store the valid states a poll read or a broker ``notified``, then act on them
    (faults: of the notified entities only, a poll's of all): the one path both take, so
    nothing a notification brings is trusted beyond a poll. Flushes only. Returns how many
    entities changed and the fault tickets' outcome.

    A poll's ``pending`` states are read as they are stored; a FetchError reading them
    propagates, and the caller rolls the transaction back."""
    # A poll and a notification of the same feed, or two notifications, one after the
    # other: two fault passes at once could open a ticket twice.
    session.execute(INGEST_LOCK, {"feed_id": feed.id})
    states = result.states if result.pending is None else result.pending
    changed = store_states(session, feed.id, states, history=not result.live, chunk_size=chunk_size)
    if result.live:
        changed += remove_missing(session, feed.id, [s.entity_id for s in result.states])
    # Whatever acts on stored states belongs below: polls and notifications both get it.
    # The equipment's live state from what was just stored (and the commands it settles).
    live_state.refresh(session, feed.id, None, now)
    mappings = active_mappings(session, KIND_TYPES.get(feed.kind, ()))
    among = [state.entity_id for state in result.states] if notified else None
    tickets = process_faults(session, feed.id, feed.name, mappings, among)
    return changed, tickets


def backoff(interval: int, failures: int, ceiling: int) -> timedelta:
    """Delay before the next poll after ``failures`` failures in a row: the interval,
    doubled per failure, at most ``ceiling`` (but never less than the interval)."""
    return timedelta(seconds=min(interval * 2 ** min(failures, 16), max(ceiling, interval)))


# The states of one store, chunk by chunk: each COPY'd into a temporary table (one per
# connection, emptied at commit), then written by one statement. Geometries come as hex
# EWKB. No JIT for what follows in the transaction: PostGIS's function costs make the upsert
# look expensive enough to compile, which took longer than running it. No hash or merge
# join while the chunks are written: a chunk's entities are found by the unique index, a
# cost that follows the chunk, where a hash join reads all the feed's entities for each
# chunk (measured at 50,000 entities in chunks of 5,000: 3.4x the backend's CPU, the
# feed's rows not yet vacuumed).
INCOMING_TABLE = """
SET LOCAL jit = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
CREATE TEMP TABLE IF NOT EXISTS feed_incoming (
    entity_id text, entity_type text, name text, geom geometry, projectable boolean,
    observed_at timestamptz, status text, available integer, capacity integer,
    occupancy double precision, measures jsonb
) ON COMMIT DELETE ROWS;
DELETE FROM feed_incoming
"""
INCOMING_COLUMNS = (
    "entity_id, entity_type, name, geom, projectable, observed_at, status, available,"
    " capacity, occupancy, measures"
)
ENTITY_VALUES = """
        entity_type = i.entity_type, name = i.name, geom = i.geom,
        geom_l93 = CASE WHEN i.projectable THEN ST_Transform(i.geom, 2154) END,
        observed_at = i.observed_at, status = i.status, available = i.available,
        capacity = i.capacity, occupancy = i.occupancy, measures = i.measures,
        updated_at = now()"""
CHANGED_COLUMNS = (
    "e.id, e.entity_id, e.observed_at, e.status, e.available, e.capacity, e.occupancy, e.measures"
)
# The latest state is written only where the observation is newer than the stored one,
# and exactly those rows become observations (unless the feed keeps no history). A poll
# repeating what the source already said writes nothing. Known entities (nearly all of a
# poll) by a joined UPDATE, cheaper than ON CONFLICT's insert attempt per row; entities new
# to this statement's snapshot by INSERT, whose ON CONFLICT settles a race with another
# writer of the same feed (a notification). The entities written are returned.
UPSERT_LATEST = f"""
WITH updated AS (
    UPDATE feed_entities AS e SET {ENTITY_VALUES}
    FROM feed_incoming AS i
    WHERE e.feed_id = %(feed_id)s AND e.entity_id = i.entity_id
      AND i.observed_at > e.observed_at
    RETURNING {CHANGED_COLUMNS}
), inserted AS (
    INSERT INTO feed_entities AS e (
        feed_id, entity_id, entity_type, name, geom, geom_l93, observed_at, status,
        available, capacity, occupancy, measures, updated_at
    )
    SELECT %(feed_id)s, i.entity_id, i.entity_type, i.name, i.geom,
           CASE WHEN i.projectable THEN ST_Transform(i.geom, 2154) END,
           i.observed_at, i.status, i.available, i.capacity, i.occupancy, i.measures, now()
    FROM feed_incoming AS i
    WHERE NOT EXISTS (
        SELECT FROM feed_entities AS known
        WHERE known.feed_id = %(feed_id)s AND known.entity_id = i.entity_id
    )
    ON CONFLICT (feed_id, entity_id) DO UPDATE SET
        entity_type = excluded.entity_type, name = excluded.name, geom = excluded.geom,
        geom_l93 = excluded.geom_l93, observed_at = excluded.observed_at,
        status = excluded.status, available = excluded.available,
        capacity = excluded.capacity, occupancy = excluded.occupancy,
        measures = excluded.measures, updated_at = now()
    WHERE excluded.observed_at > e.observed_at
    RETURNING {CHANGED_COLUMNS}
), changed AS (
    SELECT * FROM updated UNION ALL SELECT * FROM inserted
)
"""
# No ON CONFLICT: an observation is added only at its entity's new latest time, later than
# any the entity has (its observed_at never goes back), so it cannot exist yet; the check
# per row would cost a fifth of the insert.
OBSERVED = """, observed AS (
    INSERT INTO feed_observations (
        entity_pk, observed_at, status, available, capacity, occupancy, measures
    )
    SELECT id, observed_at, status, available, capacity, occupancy, measures FROM changed
)
"""
UPSERT = UPSERT_LATEST + OBSERVED + "SELECT entity_id FROM changed"
UPSERT_WITHOUT_HISTORY = UPSERT_LATEST + "SELECT entity_id FROM changed"
NEXT_CHUNK = "DELETE FROM feed_incoming"
JOINS_BACK = "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT"
# An entity a chunk wrote, listed again in a later chunk at a time as late or later: as in
# one list, the later state is the one kept. Its observation from the earlier chunk goes
# (first, in a statement of its own: at the same time, the new one has the same key),
# then the entity takes the later state and its observation.
UNOBSERVE = """
DELETE FROM feed_observations AS o USING feed_entities AS e, feed_incoming AS i
WHERE e.feed_id = %(feed_id)s AND e.entity_id = i.entity_id
  AND o.entity_pk = e.id AND o.observed_at = e.observed_at
"""
REWRITE_LATEST = f"""
WITH changed AS (
    UPDATE feed_entities AS e SET {ENTITY_VALUES}
    FROM feed_incoming AS i
    WHERE e.feed_id = %(feed_id)s AND e.entity_id = i.entity_id
      AND i.observed_at >= e.observed_at
    RETURNING {CHANGED_COLUMNS}
)
"""
REWRITE = REWRITE_LATEST + OBSERVED + "SELECT entity_id FROM changed"
REWRITE_WITHOUT_HISTORY = REWRITE_LATEST + "SELECT entity_id FROM changed"
# A point as hex EWKB (little-endian, type Point with an SRID, 4326), without shapely.
EWKB_POINT = struct.Struct("<BIIdd")
EWKB_POINT_WITH_SRID = 0x20000001


def store_states(
    session: Session,
    feed_id: int,
    states: Iterable[EntityState],
    *,
    history: bool = True,
    chunk_size: int = PollLimits.store_chunk,
) -> int:
    """Upsert the latest states and add the new observations (``history``); flushes only.
    Returns how many entities changed. An entity listed twice keeps its latest observation
    (the later in the list of two equal ones), in one chunk or two.

    ``states`` is read ``chunk_size`` at a time: each chunk is COPY'd, then written by one
    statement while the next chunk is read (``states`` may be a generator parsing a broker's
    pages: PostgreSQL and Python work at the same time). Whatever fails on the way raises,
    and the caller's transaction rolls back with everything written before.
    """
    chunks = _chunks(states, chunk_size)
    chunk = next(chunks, None)
    if chunk is None:
        return 0
    session.flush()
    connection = session.connection().connection.driver_connection
    # Each entity's time as first sent, those of them written, and the later states of
    # entities already sent (rare: settled at the end, as one list would have them).
    sent: dict[str, datetime] = {}
    written: set[str] = set()
    later: dict[str, EntityState] = {}
    upsert = UPSERT if history else UPSERT_WITHOUT_HISTORY
    with connection.cursor() as cursor, connection.cursor() as writing:
        cursor.execute(INCOMING_TABLE)
        while chunk is not None:
            fresh = _first_sent(chunk, sent, later)
            if fresh:
                _copy(cursor, fresh)
            # Sent without waiting for its result: the next chunk is read meanwhile.
            with connection.pipeline():
                if fresh:
                    writing.execute(upsert, {"feed_id": feed_id})
                    cursor.execute(NEXT_CHUNK)
                chunk = next(chunks, None)
            if fresh:
                written.update(row[0] for row in writing.fetchall())
        changed = len(written)
        if later:
            changed += _settle_later(cursor, feed_id, later, written, history)
        cursor.execute(JOINS_BACK)
    return changed


def _first_sent(
    chunk: list[EntityState], sent: dict[str, datetime], later: dict[str, EntityState]
) -> list[EntityState]:
    """The chunk's states of entities no earlier chunk sent (noted in ``sent``); the others
    join ``later`` where one list would keep them over the state first sent."""
    fresh = []
    for state in chunk:
        first = sent.get(state.entity_id)
        if first is None:
            sent[state.entity_id] = state.observed_at
            fresh.append(state)
        elif state.observed_at >= first:
            kept = later.get(state.entity_id)
            if kept is None or state.observed_at >= kept.observed_at:
                later[state.entity_id] = state
    return fresh


def _settle_later(
    cursor, feed_id: int, later: dict[str, EntityState], written: set[str], history: bool
) -> int:
    """Write the later states of entities an earlier chunk sent; returns how many entities
    changed that had not already."""
    params = {"feed_id": feed_id}
    again = [state for entity_id, state in later.items() if entity_id in written]
    if again:  # the earlier state was written: the later one replaces it
        cursor.execute(NEXT_CHUNK)
        _copy(cursor, again)
        if history:
            cursor.execute(UNOBSERVE, params)
        cursor.execute(REWRITE if history else REWRITE_WITHOUT_HISTORY, params)
    first_time = [state for entity_id, state in later.items() if entity_id not in written]
    if not first_time:  # the earlier state was older than the stored one
        return 0
    cursor.execute(NEXT_CHUNK)
    _copy(cursor, first_time)
    cursor.execute(UPSERT if history else UPSERT_WITHOUT_HISTORY, params)
    return len(cursor.fetchall())


def _chunks(states: Iterable[EntityState], size: int) -> Iterator[list[EntityState]]:
    """``states`` in chunks of at most ``size``, each entity once per chunk (its latest)."""
    latest: dict[str, EntityState] = {}
    taken = 0
    for state in states:
        kept = latest.get(state.entity_id)
        if kept is None or state.observed_at >= kept.observed_at:
            latest[state.entity_id] = state
        taken += 1
        if taken == size:
            yield list(latest.values())
            latest, taken = {}, 0
    if latest:
        yield list(latest.values())


def _copy(cursor, chunk: list[EntityState]) -> None:
    # Shapes other than a lon/lat point, to EWKB in one call.
    shaped = [s for s in chunk if s.point is None]
    geoms = shapely.set_srid(np.array([s.geom for s in shaped], dtype=object), WGS84)
    wkb = dict(
        zip(
            map(id, shaped),
            shapely.to_wkb(geoms, hex=True, output_dimension=2, include_srid=True).tolist(),
            strict=True,
        )
    )
    with cursor.copy(f"COPY feed_incoming ({INCOMING_COLUMNS}) FROM STDIN") as copy:
        write = copy.write_row
        point = EWKB_POINT.pack
        for s in chunk:
            write(
                (
                    s.entity_id,
                    s.entity_type,
                    s.name,
                    point(1, EWKB_POINT_WITH_SRID, WGS84, *s.point).hex()
                    if s.point is not None
                    else wkb[id(s)],
                    s.projectable,
                    s.observed_at,
                    s.status,
                    s.available,
                    s.capacity,
                    s.occupancy,
                    orjson.dumps(s.measures).decode() if s.measures else "{}",
                )
            )


def remove_missing(session: Session, feed_id: int, entity_ids: list[str]) -> int:
    """Delete the feed's entities not in ``entity_ids`` (a live feed's vehicles that left
    service); flushes only. Returns how many were deleted."""
    return session.execute(
        text(
            "DELETE FROM feed_entities WHERE feed_id = :feed_id"
            " AND NOT (entity_id = ANY(CAST(:entity_ids AS text[])))"
        ),
        {"feed_id": feed_id, "entity_ids": entity_ids},
    ).rowcount


def claim_due_feeds(session: Session, lease_seconds: int) -> list[int]:
    """The enabled feeds due for a poll, each pushed ``lease_seconds`` ahead so the next
    dispatch does not queue it twice; the poll sets its real next time. A poll lost with
    its job (Redis flushed, worker killed) is retried once the lease ends."""
    ids = list(
        session.scalars(
            update(Feed)
            .where(Feed.enabled, Feed.next_poll_at <= text("now()"))
            .values(next_poll_at=text(f"now() + interval '{int(lease_seconds)} seconds'"))
            .returning(Feed.id)
        )
    )
    session.commit()
    return ids


def purge_observations(session: Session, older_than: timedelta, batch: int = 50_000) -> int:
    """Delete observations older than ``older_than``, one committed batch at a time, so a
    large purge never holds one long transaction (the BRIN index finds the old rows)."""
    total = 0
    while True:
        deleted = session.execute(
            text(
                "DELETE FROM feed_observations WHERE ctid = ANY(ARRAY("
                " SELECT ctid FROM feed_observations WHERE observed_at < now() - :older_than"
                " LIMIT :batch))"
            ),
            {"older_than": older_than, "batch": batch},
        ).rowcount
        session.commit()
        total += deleted
        if deleted < batch:
            return total
