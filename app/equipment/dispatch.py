"""The command dispatcher: works the outbox (equipment_commands) in the rq worker.

Delivery guarantee: a command is PATCHed to the broker at most once. A run claims due
queued commands (``FOR UPDATE SKIP LOCKED``, and a lease, so no other run takes them while
they are in flight), at most one per asset, never for an asset whose older command is in
flight; the live state at that moment is recorded as ``before``. Each claimed command is
sent on a pool of threads, and its outcome recorded on the run's session: the broker
accepted it (sent, expiring after EQUIPMENT_COMMAND_TIMEOUT_SECONDS unless the reported
state confirms it first: app/equipment/live_state.py), refused it (4xx: failed), or could
not be reached (5xx, timeout, refused connection: queued again after a backoff, without
limit: a broker outage delays a command, never loses it).

A command claimed again (its earlier attempt failed, or its worker was killed after the
PATCH and before recording it: the lease ran out) is first compared with the entity's
current state on the broker: when its ``command`` attribute already carries this command's
id, the PATCH was delivered and is recorded sent without a second one; when the broker
cannot say, the command waits for the next attempt. So a lost record never makes a second,
conflicting command.

A newer command for the same asset supersedes an older unsent one (when it is accepted,
or here when the older one's lease ran out); a newer command sent supersedes an older one
still awaiting its confirmation. The rows hold the workflow state: a job lost with Redis is
queued again by the periodic sweep, which also expires what waited too long.
"""

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, bindparam, exists, func, select, text
from sqlalchemy.orm import Session

from app.equipment import events
from app.equipment.broker import Broker, HttpBroker, Outcome, Unreachable, base_of
from app.equipment.live_state import LIVE_JSON
from app.equipment.models import EquipmentCommand
from app.jobs import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    batch: int = 500
    lease_seconds: int = 60
    retry_base_seconds: float = 5
    retry_max_seconds: float = 300
    timeout_seconds: int = 120
    threads: int = 16

    @classmethod
    def from_config(cls, config) -> "Policy":
        return cls(
            batch=int(config["EQUIPMENT_COMMAND_BATCH"]),
            lease_seconds=int(config["EQUIPMENT_COMMAND_LEASE_SECONDS"]),
            retry_base_seconds=float(config["EQUIPMENT_COMMAND_RETRY_BASE_SECONDS"]),
            retry_max_seconds=float(config["EQUIPMENT_COMMAND_RETRY_MAX_SECONDS"]),
            timeout_seconds=int(config["EQUIPMENT_COMMAND_TIMEOUT_SECONDS"]),
            threads=int(config["EQUIPMENT_COMMAND_THREADS"]),
        )

    def delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds)
        return max(backoff, retry_after or 0)


_NOW = "coalesce(CAST(:now AS timestamptz), now())"
# Older queued commands whose lease ran out while a newer one for the asset was accepted.
_SUPERSEDE_STALE = text(
    f"""
UPDATE equipment_commands c
SET state = 'superseded', lease_until = NULL, settled_at = {_NOW},
    superseded_by_id = (SELECT max(n.id) FROM equipment_commands n
                        WHERE n.asset_id = c.asset_id AND n.id > c.id
                          AND n.state NOT IN ('superseded', 'cancelled', 'rejected'))
WHERE c.state = 'queued' AND (c.lease_until IS NULL OR c.lease_until < {_NOW})
  AND EXISTS (SELECT 1 FROM equipment_commands n
              WHERE n.asset_id = c.asset_id AND n.id > c.id
                AND n.state NOT IN ('superseded', 'cancelled', 'rejected'))
RETURNING c.id
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_CLAIM = text(
    f"""
WITH busy AS (  -- assets with a command in flight: their next one waits (order kept)
    SELECT asset_id FROM equipment_commands
    WHERE state = 'queued' AND lease_until >= {_NOW}
), due AS (
    SELECT c.id FROM equipment_commands c
    WHERE c.state = 'queued' AND c.next_attempt_at <= {_NOW}
      AND (c.lease_until IS NULL OR c.lease_until < {_NOW})
      AND c.asset_id NOT IN (SELECT asset_id FROM busy)
    ORDER BY c.next_attempt_at, c.id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
UPDATE equipment_commands c
SET attempts = c.attempts + 1, lease_until = {_NOW} + make_interval(secs => :lease),
    before = coalesce(c.before, (SELECT {LIVE_JSON.format(p="l.")} FROM asset_live_states l
                                 WHERE l.asset_id = c.asset_id))
FROM due
WHERE c.id = due.id
RETURNING c.id, CAST(c.uid AS text) AS uid, c.attempts, c.entity_id, c.patch,
          (SELECT f.source_url FROM feeds f WHERE f.id = c.feed_id) AS source_url
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_SENT = text(
    f"""
WITH sent AS (
    UPDATE equipment_commands c
    SET state = 'sent', sent_at = {_NOW}, lease_until = NULL, last_error = NULL,
        expires_at = {_NOW} + make_interval(secs => :timeout)
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[])) AS o(id, attempts)
    WHERE c.id = o.id AND c.state = 'queued' AND c.attempts = o.attempts
    RETURNING c.id, c.asset_id
), older AS (
    UPDATE equipment_commands c
    SET state = 'superseded', settled_at = {_NOW}, expires_at = NULL,
        superseded_by_id = sent.id
    FROM sent
    WHERE c.asset_id = sent.asset_id AND c.id < sent.id AND c.state = 'sent'
    RETURNING c.id
)
SELECT 'sent' AS state, id FROM sent UNION ALL SELECT 'superseded', id FROM older
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_FAILED = text(
    f"""
UPDATE equipment_commands c
SET state = 'failed', last_error = o.error, lease_until = NULL, settled_at = {_NOW}
FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:errors AS text[]))
     AS o(id, attempts, error)
WHERE c.id = o.id AND c.state = 'queued' AND c.attempts = o.attempts
RETURNING c.id
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_RETRIED = text(
    f"""
UPDATE equipment_commands c
SET last_error = o.error, lease_until = NULL,
    next_attempt_at = {_NOW} + make_interval(secs => o.delay)
FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:errors AS text[]),
            CAST(:delays AS float8[])) AS o(id, attempts, error, delay)
WHERE c.id = o.id AND c.state = 'queued' AND c.attempts = o.attempts
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_EXPIRE = text(
    f"""
UPDATE equipment_commands
SET state = 'expired', settled_at = {_NOW}, expires_at = NULL,
    last_error = CASE state WHEN 'sent' THEN 'no_matching_state'
                            ELSE 'not_confirmed_in_time' END
WHERE state IN ('sent', 'pending_confirmation') AND expires_at < {_NOW}
RETURNING id
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)))


@dataclass
class _Result:
    id: int
    attempts: int
    outcome: Outcome


def _send_one(broker: Broker, row) -> _Result:
    base = base_of(row.source_url or "")
    if base is None:
        return _Result(row.id, row.attempts, Outcome(refused=True, error="no_broker_for_feed"))
    if row.attempts > 1:
        # An earlier attempt may have reached the broker without being recorded.
        try:
            if broker.command_of(base, row.entity_id) == row.uid:
                return _Result(row.id, row.attempts, Outcome(accepted=True))
        except Unreachable as exc:
            return _Result(row.id, row.attempts, Outcome(error=f"check failed: {exc}"[:300]))
    try:
        outcome = broker.patch(base, row.entity_id, row.patch)
    except Exception as exc:  # an adapter bug must not cost the batch its records
        log.exception("equipment command send failed unexpectedly")
        outcome = Outcome(error=exc.__class__.__name__)
    return _Result(row.id, row.attempts, outcome)


def claim(session: Session, policy: Policy, now: datetime | None = None) -> list:
    """Supersede stale older commands, then lease a batch of due ones; commits (the
    leases are visible to other runs from here). Returns the rows claimed."""
    superseded = [r.id for r in session.execute(_SUPERSEDE_STALE, {"now": now})]
    events.record(session, superseded)
    rows = session.execute(
        _CLAIM, {"now": now, "batch": policy.batch, "lease": policy.lease_seconds}
    ).all()
    session.commit()
    return rows


def record(session: Session, results: list[_Result], policy: Policy, now=None) -> Counter:
    """Record a batch's outcomes (only where the attempt is still the run's); commits."""
    sent = [r for r in results if r.outcome.accepted]
    refused = [r for r in results if r.outcome.refused]
    retried = [r for r in results if not r.outcome.accepted and not r.outcome.refused]
    told = []
    if sent:
        rows = session.execute(
            _SENT,
            {
                "ids": [r.id for r in sent],
                "attempts": [r.attempts for r in sent],
                "timeout": policy.timeout_seconds,
                "now": now,
            },
        ).all()
        told += [row.id for row in rows]
    if refused:
        rows = session.execute(
            _FAILED,
            {
                "ids": [r.id for r in refused],
                "attempts": [r.attempts for r in refused],
                "errors": [(r.outcome.error or "refused")[:500] for r in refused],
                "now": now,
            },
        )
        told += [row.id for row in rows]
    if retried:
        session.execute(
            _RETRIED,
            {
                "ids": [r.id for r in retried],
                "attempts": [r.attempts for r in retried],
                "errors": [(r.outcome.error or "error")[:500] for r in retried],
                "delays": [policy.delay(r.attempts, r.outcome.retry_after) for r in retried],
                "now": now,
            },
        )
    events.record(session, told)
    session.commit()
    return Counter(sent=len(sent), failed=len(refused), retried=len(retried))


def dispatch(
    session: Session, broker: Broker, policy: Policy, *, now: datetime | None = None
) -> Counter:
    """Send every due command, batch by batch; returns how many ended how. ``now``: the
    time it is (the database's clock when not given)."""
    counts = Counter()
    counts["expired"] = expire(session, now=now)
    with ThreadPoolExecutor(max_workers=policy.threads, thread_name_prefix="command") as pool:
        while True:
            rows = claim(session, policy, now)
            if not rows:
                return counts
            results = list(pool.map(lambda row: _send_one(broker, row), rows))
            counts.update(record(session, results, policy, now))
            if len(rows) < policy.batch:
                # One more look: commands held back behind the ones just in flight.
                continue


def expire(session: Session, *, now: datetime | None = None) -> int:
    """Expire the sent commands no state confirmed in time, and the commands nobody
    confirmed in time; commits. Returns how many."""
    ids = [row.id for row in session.execute(_EXPIRE, {"now": now})]
    events.record(session, ids)
    session.commit()
    return len(ids)


def due_waiting(session: Session) -> bool:
    c = EquipmentCommand
    found = session.scalar(
        select(
            exists().where(
                c.state == "queued",
                c.next_attempt_at <= func.now(),
                c.lease_until.is_(None) | (c.lease_until < func.now()),
            )
        )
    )
    session.rollback()
    return bool(found)


# Queued after the commit of a transaction that queued commands, once while a run waits.
DISPATCH = Job(
    "worker.jobs.dispatch_equipment_commands",
    timeout=900,
    options={"result_ttl": 600, "failure_ttl": 86400},
    coalesce_key="signale:equipment:dispatch-queued",
)


def run(session: Session, config) -> Counter:
    """The dispatcher job: send what is due to the brokers."""
    DISPATCH.started()
    broker = HttpBroker(timeout=float(config["EQUIPMENT_BROKER_TIMEOUT_SECONDS"]))
    try:
        return dispatch(session, broker, Policy.from_config(config))
    finally:
        broker.close()


def sweep(session: Session, config) -> bool:
    """Expire what waited too long, and queue a dispatcher run when due commands wait
    with none in flight (a lost job, a killed worker's lease over, retries come due)."""
    expire(session)
    if not due_waiting(session):
        return False
    return DISPATCH.enqueue(coalesce=False)
