"""Live state pushed by the broker: NGSI-LD subscriptions kept alive, notifications received.

A feed that opts in (``subscribe``, NGSI-LD broker feeds only) gets a subscription on its
broker for the entity types it reads, notified to ``/v1/feeds/{name}/notifications`` with a
secret of its own as a header. The cron job (:func:`maintain`) makes it, renews it before it
expires, checks now and then that the broker still knows it and makes it again (with a new
secret: the old one is refused from then on) when the broker forgot it, and deletes it once
the feed is deleted, disabled or opted out. A broker out of reach is tried again later, with
back-off; nothing here raises into the cron.

A notification (:func:`receive`) is authenticated by its secret (compared in constant time
with the stored hash), recorded by id (a replay changes nothing), parsed by the poll's own
parser for the feed's kind (same types, same geometry checks) and stored by the poll's own
path (``service.ingest``: states only newer than the stored ones, then faults), so it is
never trusted beyond what a poll would accept. Polling goes on: it is the safety net for a
notification lost on the way.
"""

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.errors import Problem, Unprocessable
from app.feeds import service
from app.feeds.adapters import parse_entities
from app.feeds.broker import (
    SUBSCRIBABLE_FORMATS,
    BrokerError,
    Forgotten,
    HttpBroker,
    SubscriptionClient,
    subscription_body,
    target_of,
)
from app.feeds.models import NAME_PATTERN, Feed, FeedNotification, FeedSubscription
from app.feeds.ngsi_ld import FUTURE_TOLERANCE
from app.feeds.states import PollResult

log = logging.getLogger(__name__)

# The feeds that want a subscription.
WANTED = Feed.enabled & Feed.subscribe & Feed.format.in_(SUBSCRIBABLE_FORMATS)
# Compared with when no feed matches, so a wrong name costs the same time as a wrong secret.
NO_SECRET = hashlib.sha256(b"no subscription").digest()
# How long notification ids are remembered (a broker retries within minutes).
NOTIFICATIONS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class SubscriptionPolicy:
    """How subscriptions are kept (the FEEDS_SUBSCRIPTION_* settings)."""

    notification_base_url: str
    lifetime_seconds: int = 3600
    renew_before_seconds: int = 900
    check_seconds: int = 300
    retry_seconds: int = 30
    max_backoff_seconds: int = 3600
    throttling_seconds: int = 0
    timeout_seconds: float = 10.0
    # A row being tended is pushed this far ahead, so a second run at once skips it.
    lease_seconds: int = 120

    @classmethod
    def from_config(cls, config) -> "SubscriptionPolicy":
        return cls(
            notification_base_url=config["FEEDS_NOTIFICATION_BASE_URL"]
            or config["PUBLIC_BASE_URL"],
            lifetime_seconds=int(config["FEEDS_SUBSCRIPTION_LIFETIME_SECONDS"]),
            renew_before_seconds=int(config["FEEDS_SUBSCRIPTION_RENEW_BEFORE_SECONDS"]),
            check_seconds=int(config["FEEDS_SUBSCRIPTION_CHECK_SECONDS"]),
            retry_seconds=int(config["FEEDS_SUBSCRIPTION_RETRY_SECONDS"]),
            max_backoff_seconds=int(config["FEEDS_MAX_BACKOFF_SECONDS"]),
            throttling_seconds=int(config["FEEDS_SUBSCRIPTION_THROTTLING_SECONDS"]),
            timeout_seconds=float(config["FEEDS_SUBSCRIPTION_TIMEOUT_SECONDS"]),
        )

    def endpoint(self, feed_name: str) -> str:
        return f"{self.notification_base_url.rstrip('/')}/v1/feeds/{feed_name}/notifications"


def digest(secret: str) -> bytes:
    # The secret is 256 random bits: a plain hash cannot be reversed by guessing.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


# --- keeping subscriptions alive (the cron job) ---------------------------------------------


def maintain(
    session: Session,
    policy: SubscriptionPolicy,
    *,
    client: SubscriptionClient | None = None,
    now: datetime | None = None,
) -> dict:
    """Make, renew, check, re-make or delete every subscription that is due; returns how
    many of each. Safe to run twice at once (each row is leased while it is tended)."""
    client = client or HttpBroker(policy.timeout_seconds)
    now = now or clock.now(session)
    # Feeds newly opted in: a row, due now.
    session.execute(
        insert(FeedSubscription)
        .from_select(
            ["feed_id", "broker_url", "entity_types", "secret_hash", "due_at"],
            select(Feed.id, literal(""), literal(""), literal(NO_SECRET), literal(now)).where(
                WANTED, ~exists().where(FeedSubscription.feed_id == Feed.id)
            ),
        )
        .on_conflict_do_nothing()
    )
    # Feeds deleted, disabled or opted out: their subscription is deleted now (after its
    # back-off, if the broker failed).
    session.execute(
        update(FeedSubscription)
        .where(
            FeedSubscription.due_at > now,
            FeedSubscription.consecutive_failures == 0,
            or_(
                FeedSubscription.feed_id.is_(None),
                FeedSubscription.feed_id.not_in(select(Feed.id).where(WANTED)),
            ),
        )
        .values(due_at=now)
    )
    due = list(
        session.scalars(
            update(FeedSubscription)
            .where(FeedSubscription.due_at <= now)
            .values(due_at=now + timedelta(seconds=policy.lease_seconds))
            .returning(FeedSubscription.id)
        )
    )
    session.execute(
        delete(FeedNotification).where(FeedNotification.received_at < now - NOTIFICATIONS_KEPT)
    )
    session.commit()
    outcomes: Counter = Counter()
    for subscription_pk in sorted(due):
        try:
            outcomes[tend(session, subscription_pk, policy, client, now)] += 1
        except Exception as exc:  # one subscription's bug must not stop the others
            session.rollback()
            log.exception("feed subscription failed unexpectedly", extra={"id": subscription_pk})
            error = BrokerError("internal_error", f"{exc.__class__.__name__} while tending it")
            outcomes[_failed(session, subscription_pk, error, policy, now)] += 1
    return dict(outcomes)


def tend(
    session: Session,
    subscription_pk: int,
    policy: SubscriptionPolicy,
    client: SubscriptionClient,
    now: datetime,
) -> str:
    """Do what one subscription needs now; returns what was done (or ``failed``)."""
    subscription = session.get(FeedSubscription, subscription_pk)
    if subscription is None:
        session.rollback()
        return "gone"
    feed = session.get(Feed, subscription.feed_id) if subscription.feed_id else None
    broker_url, broker_id = subscription.broker_url, subscription.broker_id
    wanted = (
        feed is not None and feed.enabled and feed.subscribe and feed.format in SUBSCRIBABLE_FORMATS
    )
    if not wanted:
        session.rollback()  # no transaction stays open while the broker is asked
        if broker_id:
            try:
                client.delete(broker_url, broker_id)
            except BrokerError as exc:
                return _failed(session, subscription_pk, exc, policy, now)
        session.execute(delete(FeedSubscription).where(FeedSubscription.id == subscription_pk))
        session.commit()
        return "deleted"
    target = target_of(feed.source_url, feed.kind)
    name, expires_at = feed.name, subscription.expires_at
    moved = (broker_url, subscription.entity_types, subscription.endpoint) != (
        target.broker_url,
        target.types_text,
        policy.endpoint(feed.name),
    )
    session.rollback()
    if broker_id is None:
        return _make(session, subscription_pk, name, target, policy, client, now)
    if moved:  # the feed's source changed: the old broker's subscription goes
        try:
            client.delete(broker_url, broker_id)
        except BrokerError as exc:
            log.warning("old feed subscription not deleted", extra={"error": exc.code})
        return _make(session, subscription_pk, name, target, policy, client, now)
    try:
        if expires_at is None or expires_at - now <= timedelta(seconds=policy.renew_before_seconds):
            expires_at = now + timedelta(seconds=policy.lifetime_seconds)
            client.renew(broker_url, broker_id, expires_at)
            done = "renewed"
        else:
            client.get(broker_url, broker_id)
            done = "checked"
    except Forgotten:
        log.warning("the broker forgot a feed subscription", extra={"feed": name})
        return _make(session, subscription_pk, name, target, policy, client, now, again=True)
    except BrokerError as exc:
        return _failed(session, subscription_pk, exc, policy, now)
    subscription = session.get(FeedSubscription, subscription_pk)
    if subscription is not None:
        if done == "renewed":
            subscription.expires_at = expires_at
            subscription.renewed_at = now
        _succeeded(subscription, policy, now)
    session.commit()
    return done


def _make(session, subscription_pk, name, target, policy, client, now, *, again=False) -> str:
    """Make the subscription on the broker with a new secret, stored (hashed) first: a
    notification the broker sends as soon as it is made is already recognised."""
    secret = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=policy.lifetime_seconds)
    subscription = session.get(FeedSubscription, subscription_pk)
    if subscription is None:
        session.rollback()
        return "gone"
    subscription.secret_hash = digest(secret)
    subscription.broker_id = None
    subscription.broker_url = target.broker_url
    subscription.entity_types = target.types_text
    subscription.endpoint = policy.endpoint(name)
    session.commit()
    body = subscription_body(
        target,
        endpoint=policy.endpoint(name),
        secret=secret,
        expires_at=expires_at,
        throttling=policy.throttling_seconds,
    )
    try:
        broker_id = client.create(target.broker_url, body)
    except BrokerError as exc:
        return _failed(session, subscription_pk, exc, policy, now)
    subscription = session.get(FeedSubscription, subscription_pk)
    if subscription is None:  # deleted meanwhile: the cron deletes nothing it cannot name
        session.rollback()
        with contextlib.suppress(BrokerError):  # else it expires by itself
            client.delete(target.broker_url, broker_id)
        return "gone"
    subscription.broker_id = broker_id
    subscription.expires_at = expires_at
    subscription.made_at = now
    if again:
        subscription.recreated += 1
    _succeeded(subscription, policy, now)
    session.commit()
    return "recreated" if again else "created"


def _succeeded(subscription: FeedSubscription, policy: SubscriptionPolicy, now: datetime):
    subscription.consecutive_failures = 0
    subscription.due_at = min(
        now + timedelta(seconds=policy.check_seconds),
        subscription.expires_at - timedelta(seconds=policy.renew_before_seconds),
    )


def _failed(session, subscription_pk, error: BrokerError, policy, now) -> str:
    subscription = session.get(FeedSubscription, subscription_pk)
    if subscription is None:
        session.rollback()
        return "gone"
    subscription.consecutive_failures += 1
    subscription.last_error_at = now
    subscription.last_error = f"{error.code}: {error.detail}"[:500]
    subscription.due_at = now + service.backoff(
        policy.retry_seconds, subscription.consecutive_failures - 1, policy.max_backoff_seconds
    )
    session.commit()
    log.warning(
        "feed subscription failed",
        extra={"code": error.code, "failures": subscription.consecutive_failures},
    )
    return "failed"


# --- notifications --------------------------------------------------------------------------


def authenticate(session: Session, feed_name: str, secret: str | None) -> int:
    """The subscription whose secret a notification for ``feed_name`` carries, or 401."""
    row = None
    if re.fullmatch(NAME_PATTERN, feed_name):
        row = session.execute(
            select(FeedSubscription.id, FeedSubscription.secret_hash)
            .join(Feed, Feed.id == FeedSubscription.feed_id)
            .where(Feed.name == feed_name)
        ).first()
    session.rollback()
    expected = row.secret_hash if row is not None else NO_SECRET
    matches = hmac.compare_digest(digest(secret or ""), expected)
    if row is None or not secret or not matches:
        raise Problem("notification_unauthorized", 401)
    return row.id


def receive(session: Session, subscription_pk: int, notification: dict, now=None) -> dict:
    """Store what an authenticated notification says, as a poll would; a replayed
    notification id changes nothing. Commits once."""
    now = now or clock.now(session)
    subscription = session.get(FeedSubscription, subscription_pk)
    feed = session.get(Feed, subscription.feed_id) if subscription else None
    wanted = (
        feed is not None and feed.enabled and feed.subscribe and feed.format in SUBSCRIBABLE_FORMATS
    )
    if not wanted or (
        subscription.broker_id is not None
        and notification["subscriptionId"] != subscription.broker_id
    ):
        session.rollback()
        raise Problem("subscription_revoked", 410)
    notified_at = notification["notifiedAt"]
    if notified_at > now + FUTURE_TOLERANCE:
        session.rollback()
        raise Unprocessable(
            "notification_in_the_future",
            errors={"json": {"notifiedAt": ["later than the server's time"]}},
        )
    new = session.scalar(
        insert(FeedNotification)
        .values(
            subscription_pk=subscription_pk, notification_id=notification["id"], received_at=now
        )
        .on_conflict_do_nothing()
        .returning(FeedNotification.notification_id)
    )
    if new is None:
        session.rollback()
        return {"notification": notification["id"], "status": "duplicate", "changed": 0}
    # An entity that gives no time of its own is as of the notification (not of its
    # arrival): a late notification does not overwrite a newer state.
    result = PollResult()
    parse_entities(notification["data"], feed.kind, min(notified_at, now), result)
    if not result.states:
        session.rollback()
        _, reason = result.skipped[0]
        raise Unprocessable(
            "notification_no_valid_entities",
            count=len(result.skipped),
            reason=reason,
            errors={
                "json": {
                    "data": [f"entity {entity}: {reason}" for entity, reason in result.skipped[:10]]
                }
            },
        )
    changed, tickets = service.ingest(session, feed, result, notified=True, now=now)
    session.execute(
        update(FeedSubscription)
        .where(FeedSubscription.id == subscription_pk)
        .values(last_notification_at=now, notifications=FeedSubscription.notifications + 1)
    )
    session.commit()
    return {
        "notification": notification["id"],
        "status": "stored",
        "seen": result.seen,
        "skipped": len(result.skipped),
        "changed": changed,
        "tickets": tickets.as_dict(),
        "skipped_examples": [
            {"entity": entity, "reason": reason} for entity, reason in result.skipped[:10]
        ],
    }


def subscription_of(session: Session, feed_id: int) -> dict | None:
    """A feed's subscription as its health shows it (None if it has none)."""
    subscription = session.scalar(
        select(FeedSubscription).where(FeedSubscription.feed_id == feed_id)
    )
    if subscription is None:
        return None
    if subscription.consecutive_failures:
        state = "failing"
    elif subscription.broker_id is None:
        state = "pending"
    else:
        state = "active"
    fields = (
        "broker_id",
        "entity_types",
        "expires_at",
        "made_at",
        "renewed_at",
        "recreated",
        "consecutive_failures",
        "last_error_at",
        "last_error",
        "last_notification_at",
        "notifications",
    )
    return {"state": state, **{key: getattr(subscription, key) for key in fields}}
