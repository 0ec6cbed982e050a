"""The push dispatcher: works the outbox (notification_deliveries) in the rq worker.

A run claims due pending deliveries (their devices locked ``SKIP LOCKED``, and a lease so
that no other run takes them while they are in flight), sends them through the FCM adapter at most
500 per call, and records each outcome: the message id (sent: never sent again), a token
FCM refused for good (failed, and the device disabled), or a transient error (pending again
after an exponential backoff, at least Retry-After, until the attempts run out).

Pushes tell the latest truth: for one device and one collapse key (a report, or an area
subscription), only the newest pending delivery is pushed, and never while another of them
is in flight. The older pending ones are superseded (a final state: never pushed; their
notifications stay in the in-app feed). send_each sends a batch's messages in parallel, in
no order, so a batch holds at most one per device and collapse key; a claim skips a
collapse key with one in flight (in the batch being sent, or another dispatcher's), and
the devices it works on stay locked until its leases are committed, so that a second
dispatcher never works on them meanwhile. A phone offline through a backlog therefore ends on the
newest state, after the older one it may already have got. This holds while leases do: a
push still in flight past its lease (a run stalled that long) may be overtaken; accepted
all the same, it is recorded sent.

Workflow state lives in the rows, so a job may run twice or be lost: the job is queued
after the commit of the transaction that wrote deliveries, and a periodic sweep queues it
again while due rows are not in flight (Redis flushed, a worker SIGKILLed mid-batch, FCM
down: delayed, never lost). A worker killed between FCM's acceptance and the commit of the
result sends that batch again once the lease is over (unless a newer push of the same
report is pending by then: it goes instead): FCM has no idempotency key, so delivery is at
least once for that window; the collapse key per report and the notification id in the
data let the app show it once.

A run keeps FCM busy: while one batch is in flight (on a sending thread), the next one is
claimed and the outcomes of the previous one recorded (on the run's own session: one
thread talks to the database). At most two claimed batches wait for their outcomes to be
recorded, both well within their lease. Once the last batch is recorded, a last claim
takes the newer pushes that its flight held back.

A retry that would come due during the resident's quiet hours (their preferences as they
are when it is recorded) waits until the end of the quiet period, as a push written then
would.
"""

import logging
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app, has_app_context
from sqlalchemy import DateTime, bindparam, exists, func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.jobs import Job
from app.notifications.fcm import TOKEN_GONE, Outcome, Push, PushSender, from_config
from app.notifications.models import PENDING, Delivery, NotificationPreference
from app.notifications.preferences import held_until

log = logging.getLogger(__name__)
_DELIVERIES = Delivery.__table__


@dataclass(frozen=True)
class Policy:
    batch: int = 500
    lease_seconds: int = 120
    max_attempts: int = 8
    retry_base_seconds: float = 30
    retry_max_seconds: float = 3600

    @classmethod
    def from_config(cls, config) -> "Policy":
        return cls(
            batch=min(int(config["NOTIFICATIONS_BATCH"]), 500),
            lease_seconds=int(config["NOTIFICATIONS_LEASE_SECONDS"]),
            max_attempts=int(config["NOTIFICATIONS_MAX_ATTEMPTS"]),
            retry_base_seconds=float(config["NOTIFICATIONS_RETRY_BASE_SECONDS"]),
            retry_max_seconds=float(config["NOTIFICATIONS_RETRY_MAX_SECONDS"]),
        )

    def delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones."""
        backoff = min(self.retry_base_seconds * 2 ** (attempts - 1), self.retry_max_seconds)
        return max(backoff, retry_after or 0)


# A claim takes the devices of the due deliveries it finds (FOR NO KEY UPDATE SKIP LOCKED:
# another claim skips them, writers of new deliveries are not held up, their foreign key
# only takes KEY SHARE), then, in a new statement whose snapshot sees every lease committed
# before the lock was granted, works those devices' pending deliveries per collapse key
# (one report, or area subscription): nothing is claimed while one is in flight, only the
# newest is claimed, the older ones are superseded. So one device never has two of a
# collapse key in flight at once, in one batch or two, in one dispatcher or two.
_LOCK_DEVICES = text(
    """
    WITH clock AS (SELECT coalesce(:now, now()) AS now),
    due AS (
        SELECT device_id FROM notification_deliveries, clock
        WHERE status = 'pending' AND next_attempt_at <= clock.now
          AND (lease_until IS NULL OR lease_until < clock.now)
        ORDER BY next_attempt_at, id
        LIMIT :batch
    )
    SELECT v.id, (SELECT count(*) FROM due) AS due FROM devices AS v
    WHERE v.id IN (SELECT device_id FROM due)
    FOR NO KEY UPDATE OF v SKIP LOCKED
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
_CLAIM = text(
    """
    WITH clock AS (SELECT coalesce(:now, now()) AS now),
    pending AS (
        SELECT d.id, d.device_id, d.notification_id, d.next_attempt_at,
               coalesce(d.lease_until >= clock.now, false) AS in_flight,
               row_number() OVER newest AS rank,
               bool_or(coalesce(d.lease_until >= clock.now, false)) OVER key AS key_in_flight
        FROM notification_deliveries AS d
        JOIN notifications AS n ON n.id = d.notification_id, clock
        WHERE d.device_id = ANY(CAST(:devices AS bigint[])) AND d.status = 'pending'
        WINDOW key AS (PARTITION BY d.device_id, n.collapse_key),
               newest AS (key ORDER BY d.notification_id DESC)
    ),
    superseded AS (
        UPDATE notification_deliveries AS d SET status = 'superseded', lease_until = NULL
        FROM pending AS p
        WHERE d.id = p.id AND p.rank > 1 AND NOT p.in_flight AND d.status = 'pending'
        RETURNING d.id
    ),
    due AS (
        SELECT p.id FROM pending AS p, clock
        WHERE p.rank = 1 AND NOT p.key_in_flight AND p.next_attempt_at <= clock.now
        ORDER BY p.next_attempt_at, p.id
        LIMIT :batch
    ),
    claimed AS (
        UPDATE notification_deliveries AS d
        SET attempts = d.attempts + 1, lease_until = clock.now + make_interval(secs => :lease)
        FROM due, clock, notifications AS n, devices AS v
        WHERE d.id = due.id AND n.id = d.notification_id AND v.id = d.device_id
          AND d.status = 'pending'
        RETURNING d.id, d.attempts, d.device_id, v.token, v.enabled,
                  n.id AS notification_id, n.uid, n.title, n.body, n.data, n.collapse_key
    )
    -- One row at least: how many were superseded, whether or not any was claimed.
    SELECT claimed.*, s.superseded
    FROM (SELECT count(*) AS superseded FROM superseded) AS s LEFT JOIN claimed ON true
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))
# Each statement below records the outcomes of a whole batch (arrays, one per column). The
# attempts must still be the run's: a slower run whose lease was over records nothing.
_SENT = text(
    """
    UPDATE notification_deliveries AS d
    SET status = 'sent', fcm_message_id = o.message_id, sent_at = now(), lease_until = NULL,
        last_error = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:message_ids AS text[])) AS o(id, message_id)
    WHERE d.id = o.id AND d.status IN ('pending', 'superseded')
    """
)  # accepted is final, whatever a slower run recorded meanwhile (superseded past its lease)
_FAILED = text(
    """
    UPDATE notification_deliveries AS d
    SET status = 'failed', last_error = o.error, lease_until = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:errors AS text[]))
         AS o(id, attempts, error)
    WHERE d.id = o.id AND d.status = 'pending' AND d.attempts = o.attempts
    """
)
_RETRIED = text(
    """
    UPDATE notification_deliveries AS d
    SET last_error = o.error, lease_until = NULL, next_attempt_at = o.next_attempt_at
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS int[]), CAST(:errors AS text[]),
                CAST(:next_attempts AS timestamptz[])) AS o(id, attempts, error, next_attempt_at)
    WHERE d.id = o.id AND d.status = 'pending' AND d.attempts = o.attempts
    """
)
_TOKENS_GONE = text(
    """
    UPDATE devices AS v
    SET enabled = false, disabled_reason = o.reason, disabled_at = now()
    FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS o(id, reason)
    WHERE v.id = o.id AND v.enabled
    """
)


@dataclass
class _Batch:
    """Deliveries claimed together: those to push (``live``, sent on the sending thread)
    and those whose device was disabled since they were written (``gone``)."""

    live: list
    gone: list
    full: bool  # as many due as a batch holds: more may be due
    superseded: int = 0  # older pending ones of the claimed devices, not pushed
    sending: Future | None = None

    @property
    def empty(self) -> bool:
        return not self.live and not self.gone


def dispatch(
    session: Session, sender: PushSender, policy: Policy, *, now: datetime | None = None
) -> Counter:
    """Send every due delivery, batch by batch, the next batch claimed and the previous
    one's outcomes recorded while one is in flight; returns how many ended how. ``now``:
    the time it is (the database's clock when not given)."""
    counts = Counter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-send") as sending:
        flying = None
        while True:
            batch = _claim(session, policy, now) if flying is None or flying.full else None
            if batch is not None:
                counts["superseded"] += batch.superseded
                if batch.live:
                    # Queued behind the batch in flight: FCM is not left idle between them.
                    batch.sending = sending.submit(sender.send, [_push(r) for r in batch.live])
            if flying is not None:
                counts.update(_record(session, flying, policy, now))
                if batch is None or batch.empty:
                    # A last look: newer pushes of the reports that were in flight, held
                    # back meanwhile, may go now.
                    flying = None
                    continue
            elif batch.empty:
                return counts
            flying = batch


def _claim(session: Session, policy: Policy, now: datetime | None) -> _Batch:
    claimed, due, superseded = claim_rows(session, policy, now)
    session.commit()  # the leases are visible to other dispatchers from here
    return _Batch(
        live=[row for row in claimed if row.enabled],
        gone=[row for row in claimed if not row.enabled],
        full=due >= policy.batch,
        superseded=superseded,
    )


def claim_rows(session: Session, policy: Policy, now: datetime | None) -> tuple[list, int, int]:
    """Lease the newest due delivery of each collapse key of the devices taken (at most a
    batch), superseding the older pending ones; uncommitted. Returns the rows claimed, how
    many due rows were found, and how many were superseded."""
    params = {"batch": policy.batch, "lease": policy.lease_seconds, "now": now}
    locked = session.execute(_LOCK_DEVICES, params).all()
    if not locked:
        return [], 0, 0
    rows = session.execute(_CLAIM, {**params, "devices": [row.id for row in locked]}).all()
    claimed = [row for row in rows if row.id is not None]
    return claimed, locked[0].due, rows[0].superseded


def _push(row) -> Push:
    return Push(
        token=row.token,
        title=row.title,
        body=row.body,
        data={**row.data, "notification_id": str(row.notification_id)},
        collapse_key=row.collapse_key,
    )


def _record(session: Session, batch: _Batch, policy: Policy, now: datetime | None) -> Counter:
    """Wait for the batch's answers from FCM and record them."""
    if batch.gone:  # disabled since the delivery was written
        gone = [Outcome(error="DEVICE_DISABLED")] * len(batch.gone)
        _finish(session, batch.gone, gone, policy, now)
    counts = Counter(disabled_device=len(batch.gone))
    if batch.sending is not None:
        try:
            outcomes = batch.sending.result()
        except Exception as exc:  # the whole call failed (credentials...): retry the batch
            log.warning("push batch failed: %s", exc.__class__.__name__, exc_info=exc)
            outcomes = [Outcome(error="SEND_FAILED", detail=str(exc)[:300])] * len(batch.live)
        counts.update(_finish(session, batch.live, outcomes, policy, now))
    session.commit()
    return counts


def _finish(
    session: Session, rows, outcomes: list[Outcome], policy: Policy, now: datetime | None
) -> Counter:
    sent, failed, retried, tokens_gone = [], [], [], []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.accepted:
            sent.append((row.id, outcome.message_id))
            continue
        error = f"{outcome.error}: {outcome.detail}" if outcome.detail else outcome.error
        error = error[:500]
        if outcome.error in TOKEN_GONE or outcome.error == "DEVICE_DISABLED":
            failed.append((row.id, row.attempts, error))
            if outcome.error in TOKEN_GONE:
                tokens_gone.append((row.device_id, outcome.error))
        elif row.attempts >= policy.max_attempts:
            failed.append((row.id, row.attempts, f"gave up: {error}"[:500]))
        else:
            retried.append((row, error, policy.delay(row.attempts, outcome.retry_after)))
    if sent:
        ids, message_ids = zip(*sent, strict=True)
        session.execute(_SENT, {"ids": list(ids), "message_ids": list(message_ids)})
    if failed:
        ids, attempts, errors = zip(*failed, strict=True)
        session.execute(
            _FAILED, {"ids": list(ids), "attempts": list(attempts), "errors": list(errors)}
        )
    if retried:
        _retry(session, retried, now)
    if tokens_gone:
        ids, reasons = zip(*tokens_gone, strict=True)
        session.execute(_TOKENS_GONE, {"ids": list(ids), "reasons": list(reasons)})
    return Counter(sent=len(sent), failed=len(failed), retried=len(retried))


def _retry(session: Session, retried: list, now: datetime | None) -> None:
    """Pending again after their delay; past the end of the resident's quiet hours when
    the next attempt would fall in them."""
    now = now or clock.now(session)
    quiet = _quiet_hours(session, {row.uid for row, _, _ in retried})
    next_attempts = []
    for row, _, delay in retried:
        at = now + timedelta(seconds=delay)
        next_attempts.append(held_until(at, *quiet.get(row.uid, (None, None))) or at)
    session.execute(
        _RETRIED,
        {
            "ids": [row.id for row, _, _ in retried],
            "attempts": [row.attempts for row, _, _ in retried],
            "errors": [error for _, error, _ in retried],
            "next_attempts": next_attempts,
        },
    )


def _quiet_hours(session: Session, uids: set[str]) -> dict[str, tuple[time, time]]:
    """The residents' quiet hours as they are now (those who set some)."""
    preference = NotificationPreference
    rows = session.execute(
        select(preference.uid, preference.quiet_start, preference.quiet_end).where(
            preference.uid.in_(uids), preference.quiet_start.is_not(None)
        )
    )
    return {row.uid: (row.quiet_start, row.quiet_end) for row in rows}


def due_waiting(session: Session) -> bool:
    """Whether some delivery is due and not in flight (no job may be working on it)."""
    d = _DELIVERIES.c
    found = session.scalar(
        select(
            exists().where(
                d.status == PENDING,
                d.next_attempt_at <= func.now(),
                d.lease_until.is_(None) | (d.lease_until < func.now()),
            )
        )
    )
    session.rollback()
    return bool(found)


# --- queueing ------------------------------------------------------------------------------


def _pushing() -> bool:
    # Without FCM nobody would send them: the feed has the notifications.
    return has_app_context() and bool(current_app.config.get("FCM_CREDENTIALS"))


# Queued after the commit of a transaction that wrote deliveries (app.notifications.outbox),
# once while a run waits: that run sends them all.
DISPATCH = Job(
    "worker.jobs.dispatch_notifications",
    timeout=900,
    options={"result_ttl": 600, "failure_ttl": 86400},
    when=_pushing,
    coalesce_key="signale:notifications:dispatch-queued",
)


def run(session: Session, config) -> Counter:
    """The dispatcher job: send what is due with the configured FCM sender."""
    DISPATCH.started()  # deliveries committed from now on queue another run
    sender = from_config(config)
    if sender is None:
        log.info("push notifications off (no FCM_CREDENTIALS): the in-app feed only")
        return Counter()
    return dispatch(session, sender, Policy.from_config(config))


def sweep(session: Session, config) -> bool:
    """Queue a dispatcher run when due deliveries wait with none in flight (and FCM is
    configured: without it nobody sends them)."""
    if not config.get("FCM_CREDENTIALS") or not due_waiting(session):
        return False
    return DISPATCH.enqueue(coalesce=False)
