"""The push dispatcher: works the outbox (notification_deliveries) in the rq worker.

A run claims due pending deliveries (``FOR UPDATE SKIP LOCKED``, and a lease so that no
other run takes them while they are in flight), sends them through the FCM adapter at most
500 per call, and records each outcome: the message id (sent: never sent again), a token
FCM refused for good (failed, and the device disabled), or a transient error (pending again
after an exponential backoff, at least Retry-After, until the attempts run out).

Workflow state lives in the rows, so a job may run twice or be lost: the job is queued
after the commit of the transaction that wrote deliveries, and a periodic sweep queues it
again while due rows are not in flight (Redis flushed, a worker SIGKILLed mid-batch, FCM
down: delayed, never lost). A worker killed between FCM's acceptance and the commit of the
result sends that batch again once the lease is over: FCM has no idempotency key, so
delivery is at least once for that window; the collapse key per report and the
notification id in the data let the app show it once.
"""

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

import redis
from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, exists, func, select, text, update
from sqlalchemy.orm import Session

from app.notifications.fcm import TOKEN_GONE, Outcome, Push, PushSender
from app.notifications.models import FAILED, PENDING, SENT, Delivery, Device
from app.notifications.service import PUSH_PENDING

log = logging.getLogger(__name__)
JOB = "worker.jobs.dispatch_notifications"
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


_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notification_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until < now())
        ORDER BY next_attempt_at, id
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE notification_deliveries AS d
    SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => :lease)
    FROM due, notifications AS n, devices AS v
    WHERE d.id = due.id AND n.id = d.notification_id AND v.id = d.device_id
    RETURNING d.id, d.attempts, d.device_id, v.token, v.enabled, n.id AS notification_id,
              n.title, n.body, n.data, n.collapse_key
    """
)


def dispatch(session: Session, sender: PushSender, policy: Policy) -> Counter:
    """Send every due delivery, batch by batch; returns how many ended how."""
    counts = Counter()
    while True:
        claimed = session.execute(
            _CLAIM, {"batch": policy.batch, "lease": policy.lease_seconds}
        ).all()
        session.commit()  # the lease is visible to other dispatchers from here
        if not claimed:
            return counts
        live = [row for row in claimed if row.enabled]
        gone = [row for row in claimed if not row.enabled]
        if gone:  # disabled since the delivery was written
            _finish(session, gone, [Outcome(error="DEVICE_DISABLED")] * len(gone), policy)
        try:
            outcomes = sender.send([_push(row) for row in live])
        except Exception as exc:  # the whole call failed (credentials...): retry the batch
            log.warning("push batch failed: %s", exc.__class__.__name__, exc_info=exc)
            outcomes = [Outcome(error="SEND_FAILED", detail=str(exc)[:300])] * len(live)
        counts.update(_finish(session, live, outcomes, policy))
        counts["disabled_device"] += len(gone)
        session.commit()
        if len(claimed) < policy.batch:
            return counts


def _push(row) -> Push:
    return Push(
        token=row.token,
        title=row.title,
        body=row.body,
        data={**row.data, "notification_id": str(row.notification_id)},
        collapse_key=row.collapse_key,
    )


def _finish(session: Session, rows, outcomes: list[Outcome], policy: Policy) -> Counter:
    sent, failed, retried, tokens_gone = [], [], [], []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.accepted:
            sent.append({"b_id": row.id, "b_message_id": outcome.message_id})
            continue
        error = f"{outcome.error}: {outcome.detail}" if outcome.detail else outcome.error
        error = error[:500]
        if outcome.error in TOKEN_GONE or outcome.error == "DEVICE_DISABLED":
            failed.append({"b_id": row.id, "b_attempts": row.attempts, "b_error": error})
            if outcome.error in TOKEN_GONE:
                tokens_gone.append({"b_device": row.device_id, "b_reason": outcome.error})
        elif row.attempts >= policy.max_attempts:
            failed.append(
                {"b_id": row.id, "b_attempts": row.attempts, "b_error": f"gave up: {error}"[:500]}
            )
        else:
            retried.append(
                {
                    "b_id": row.id,
                    "b_attempts": row.attempts,
                    "b_error": error,
                    "b_delay": policy.delay(row.attempts, outcome.retry_after),
                }
            )
    d = _DELIVERIES.c
    if sent:
        # Accepted is final, whatever a slower run recorded meanwhile.
        session.execute(
            update(_DELIVERIES)
            .where(d.id == bindparam("b_id"), d.status == PENDING)
            .values(
                status=SENT,
                fcm_message_id=bindparam("b_message_id"),
                sent_at=func.now(),
                lease_until=None,
                last_error=None,
            ),
            sent,
        )
    mine = (d.id == bindparam("b_id"), d.status == PENDING, d.attempts == bindparam("b_attempts"))
    if failed:
        session.execute(
            update(_DELIVERIES)
            .where(*mine)
            .values(status=FAILED, last_error=bindparam("b_error"), lease_until=None),
            failed,
        )
    if retried:
        session.execute(
            update(_DELIVERIES)
            .where(*mine)
            .values(
                last_error=bindparam("b_error"),
                lease_until=None,
                next_attempt_at=func.now()
                + func.make_interval(0, 0, 0, 0, 0, 0, bindparam("b_delay")),
            ),
            retried,
        )
    if tokens_gone:
        devices = Device.__table__
        session.execute(
            update(devices)
            .where(devices.c.id == bindparam("b_device"), devices.c.enabled)
            .values(enabled=False, disabled_reason=bindparam("b_reason"), disabled_at=func.now()),
            tokens_gone,
        )
    return Counter(sent=len(sent), failed=len(failed), retried=len(retried))


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


def _queued_key() -> str:
    from app.jobs import worker_queues

    return f"signale:notifications:dispatch-queued:{worker_queues()[0]}"


def enqueue(*, coalesce: bool = True) -> bool:
    """Queue a dispatcher run, unless one is queued and not started yet (``coalesce``).
    With Redis down the sweep queues it later."""
    from app.extensions import redis_client
    from app.jobs import queue

    try:
        if not redis_client().set(_queued_key(), "1", nx=True, ex=60) and coalesce:
            return False
        queue().enqueue(JOB, job_timeout=900, result_ttl=600, failure_ttl=86400)
        return True
    except (redis.RedisError, OSError):
        log.warning("push dispatcher not queued (Redis unavailable): the sweep will queue it")
        return False


def run(session: Session, config) -> Counter:
    """The dispatcher job: send what is due with the configured FCM sender."""
    from app.extensions import redis_client
    from app.notifications.fcm import from_config

    with contextlib.suppress(redis.RedisError, OSError):
        # Deliveries committed from now on queue another run.
        redis_client().delete(_queued_key())
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
    return enqueue(coalesce=False)


# --- queued after the commit of the transaction that wrote deliveries -----------------------


def _after_commit(session) -> None:
    pending = session.info.pop(PUSH_PENDING, False)
    # Without FCM nobody would send them: the feed has the notifications.
    if pending and has_app_context() and current_app.config.get("FCM_CREDENTIALS"):
        enqueue()


def _after_rollback(session) -> None:
    session.info.pop(PUSH_PENDING, None)


def init_app(app) -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
