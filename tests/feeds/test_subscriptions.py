"""Pushed live state: the feeds' NGSI-LD subscriptions on the simulator's broker (served on
127.0.0.1 in a thread of the test), and the notifications Signale receives for them."""

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.feeds import service, subscriptions
from app.feeds.broker import SECRET_HEADER, target_of
from app.feeds.models import Feed, FeedEntity, FeedNotification, FeedSubscription
from tests.feeds.factories import ago, car_park, streetlight
from tests.servers import free_port
from tools import simulator as sim

LIGHTS = [sim.Streetlight(f"SL-8{n:05d}", 5.03 + n * 5e-4, 47.32) for n in range(5)]
# A Tuesday in Dijon, in the past: what the simulator serves is never "in the future".
TUESDAY = datetime(2026, 11, 24, tzinfo=sim.PARIS)
POLICY = subscriptions.SubscriptionPolicy(
    notification_base_url="http://signale.test",
    lifetime_seconds=3600,
    renew_before_seconds=900,
    check_seconds=300,
    retry_seconds=30,
    max_backoff_seconds=3600,
    timeout_seconds=5,
)
T0 = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


@pytest.fixture
def broker():
    """The simulator's broker in a thread of the test, its clock set by the test."""
    clock = {"now": TUESDAY.replace(hour=11, minute=30)}
    server = sim.Broker(("127.0.0.1", 0), sim.City(LIGHTS), lambda: clock["now"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.clock_setting = clock
    yield server
    server.shutdown()
    server.server_close()


def lights_feed(session, broker_url: str, name: str = "lights", **changes) -> Feed:
    feed, _ = service.put_feed(
        session,
        name,
        {
            "kind": "streetlights",
            "format": "ngsi-ld",
            "source_url": f"{broker_url}/ngsi-ld/v1/entities?type=Streetlight&options=keyValues",
            "poll_interval_seconds": 60,
            "freshness_limit_seconds": 3600,
            "enabled": True,
            "subscribe": True,
            **changes,
        },
    )
    return feed


def maintain(session, now, **kwargs) -> dict:
    return subscriptions.maintain(session, kwargs.pop("policy", POLICY), now=now, **kwargs)


def on_broker(broker) -> list[dict]:
    return list(broker.subscriptions.subscriptions.values())


def secret_of(subscription: dict) -> str:
    (info,) = subscription["notification"]["endpoint"]["receiverInfo"]
    assert info["key"] == SECRET_HEADER
    return info["value"]


def row(session) -> FeedSubscription:
    found = session.scalar(select(FeedSubscription))
    session.refresh(found)
    return found


# --- keeping subscriptions -----------------------------------------------------------------


def test_a_subscribing_feed_gets_a_subscription_of_its_types_notified_to_signale(session, broker):
    lights_feed(session, broker.url)
    assert maintain(session, T0) == {"created": 1}
    (made,) = on_broker(broker)
    assert made["type"] == "Subscription"
    assert made["entities"] == [{"type": "Streetlight"}]
    notification = made["notification"]
    assert notification["format"] == "keyValues"
    assert notification["endpoint"]["uri"] == "http://signale.test/v1/feeds/lights/notifications"
    assert made["expiresAt"] == "2026-11-24T17:00:00Z"
    stored = row(session)
    assert stored.broker_id == made["id"]
    # Only the secret's hash is kept; a fresh secret is long.
    secret = secret_of(made)
    assert len(secret) >= 40
    assert stored.secret_hash == hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in stored.secret_hash
    assert stored.expires_at == T0 + timedelta(hours=1)
    assert stored.due_at == T0 + timedelta(seconds=300)
    # Not due again yet: nothing is asked of the broker, nothing is made twice.
    assert maintain(session, T0 + timedelta(seconds=299)) == {}
    assert len(on_broker(broker)) == 1


def test_a_feed_that_does_not_subscribe_or_has_no_broker_gets_none(session, broker, client, auth):
    lights_feed(session, broker.url, subscribe=False)
    assert maintain(session, T0) == {}
    assert on_broker(broker) == []
    answer = client.put(
        "/v1/admin/feeds/parkings",
        headers=auth("admin"),
        json={
            "kind": "parking",
            "format": "ngsi-ld-document",
            "source_url": "http://127.0.0.1:9/p.json",
            "subscribe": True,
        },
    )
    assert answer.status_code == 422
    assert answer.get_json()["code"] == "feed_not_subscribable"


def test_the_subscription_is_checked_then_renewed_before_it_expires(session, broker):
    lights_feed(session, broker.url)
    maintain(session, T0)
    assert maintain(session, T0 + timedelta(seconds=300)) == {"checked": 1}
    assert row(session).due_at == T0 + timedelta(seconds=600)
    # 45 minutes on: 15 left, the renewal's margin.
    renewal = T0 + timedelta(minutes=45)
    assert maintain(session, renewal) == {"renewed": 1}
    (renewed,) = on_broker(broker)
    assert renewed["expiresAt"] == "2026-11-24T17:45:00Z"
    stored = row(session)
    assert (stored.expires_at, stored.renewed_at) == (renewal + timedelta(hours=1), renewal)
    assert stored.recreated == 0


def test_a_forgotten_subscription_is_made_again_with_a_new_secret(session, broker, client, now):
    lights_feed(session, broker.url)
    maintain(session, T0)
    (first,) = on_broker(broker)
    broker.subscriptions.forget()
    assert maintain(session, T0 + timedelta(seconds=300)) == {"recreated": 1}
    (second,) = on_broker(broker)
    assert second["id"] != first["id"]
    assert secret_of(second) != secret_of(first)
    stored = row(session)
    assert (stored.broker_id, stored.recreated) == (second["id"], 1)
    # The old secret is refused from now on, the new one accepted.
    old = notify(client, secret_of(first), [light("SL-800001", now)], now, first["id"])
    assert old.status_code == 401
    new = notify(client, secret_of(second), [light("SL-800001", now)], now, second["id"])
    assert new.status_code == 200, new.get_json()


def test_a_subscription_forgotten_at_its_renewal_is_made_again(session, broker):
    lights_feed(session, broker.url)
    maintain(session, T0)
    broker.subscriptions.forget()
    assert maintain(session, T0 + timedelta(minutes=45)) == {"recreated": 1}
    assert len(on_broker(broker)) == 1


def test_a_broker_down_at_creation_is_tried_again_later_with_back_off(session, broker):
    lights_feed(session, broker.url)
    broker.subscriptions.refuse = 503
    assert maintain(session, T0) == {"failed": 1}
    stored = row(session)
    assert stored.broker_id is None
    assert stored.last_error == "http_status: creation answered HTTP 503"
    assert stored.due_at == T0 + timedelta(seconds=30)
    assert maintain(session, T0 + timedelta(seconds=29)) == {}
    assert maintain(session, T0 + timedelta(seconds=30)) == {"failed": 1}
    assert row(session).due_at == T0 + timedelta(seconds=90)  # doubled
    broker.subscriptions.refuse = None
    assert maintain(session, T0 + timedelta(seconds=90)) == {"created": 1}
    stored = row(session)
    assert (stored.consecutive_failures, stored.broker_id) == (0, on_broker(broker)[0]["id"])


def test_a_broker_out_of_reach_fails_the_subscription_not_the_cron(session):
    lights_feed(session, f"http://127.0.0.1:{free_port()}")
    lights_feed(session, "http://nowhere.invalid", name="other-lights")
    assert maintain(session, T0) == {"failed": 2}
    errors = sorted(s.last_error.split(":")[0] for s in session.scalars(select(FeedSubscription)))
    assert errors == ["unreachable", "unreachable"]


@pytest.mark.parametrize("how", ["deleted", "disabled", "opted out"])
def test_a_feed_deleted_disabled_or_opted_out_has_its_subscription_deleted(session, broker, how):
    lights_feed(session, broker.url)
    maintain(session, T0)
    assert len(on_broker(broker)) == 1
    if how == "deleted":
        service.delete_feed(session, "lights")
    elif how == "disabled":
        lights_feed(session, broker.url, enabled=False)
    else:
        lights_feed(session, broker.url, subscribe=False)
    # Not waiting for its next check: deleted at the next pass.
    assert maintain(session, T0 + timedelta(seconds=15)) == {"deleted": 1}
    assert on_broker(broker) == []
    assert session.scalar(select(func.count()).select_from(FeedSubscription)) == 0


def test_a_subscription_whose_deletion_fails_is_kept_and_deleted_later(session, broker):
    lights_feed(session, broker.url)
    maintain(session, T0)
    service.delete_feed(session, "lights")
    broker.subscriptions.refuse = 500
    assert maintain(session, T0 + timedelta(seconds=10)) == {"failed": 1}
    assert row(session).feed_id is None
    assert maintain(session, T0 + timedelta(seconds=25)) == {}  # its back-off
    broker.subscriptions.refuse = None
    assert maintain(session, T0 + timedelta(seconds=40)) == {"deleted": 1}
    assert on_broker(broker) == []


def test_a_feed_moved_to_another_broker_is_subscribed_there(session, broker):
    lights_feed(session, broker.url)
    maintain(session, T0)
    other = sim.Broker(("127.0.0.1", 0), sim.City(LIGHTS), lambda: T0)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        lights_feed(session, other.url)
        assert maintain(session, T0 + timedelta(seconds=300)) == {"created": 1}
        assert on_broker(broker) == []
        assert len(on_broker(other)) == 1
    finally:
        other.shutdown()
        other.server_close()


def test_the_policy_notifies_the_public_base_url_unless_told_another(app):
    config = {**app.config, "PUBLIC_BASE_URL": "https://signale.example/"}
    policy = subscriptions.SubscriptionPolicy.from_config(config)
    assert policy.endpoint("lights") == "https://signale.example/v1/feeds/lights/notifications"
    config["FEEDS_NOTIFICATION_BASE_URL"] = "http://signale.internal:8000"
    assert subscriptions.SubscriptionPolicy.from_config(config).endpoint("x") == (
        "http://signale.internal:8000/v1/feeds/x/notifications"
    )


def test_the_cron_tends_the_subscriptions_every_15_seconds(app):
    from worker.cron import scheduler

    with app.app_context():
        jobs = {job.func_name: job.interval for job in scheduler(app.config).get_jobs()}
    assert jobs["worker.jobs.maintain_feed_subscriptions"] == 15


def test_a_new_notification_address_has_the_subscription_made_again(session, broker):
    lights_feed(session, broker.url)
    maintain(session, T0)
    moved = subscriptions.SubscriptionPolicy(notification_base_url="http://signale.internal")
    assert maintain(session, T0 + timedelta(seconds=300), policy=moved) == {"created": 1}
    (made,) = on_broker(broker)
    assert made["notification"]["endpoint"]["uri"] == (
        "http://signale.internal/v1/feeds/lights/notifications"
    )


def test_the_target_is_the_brokers_root_and_the_types_the_kind_carries():
    target = target_of(
        "https://b.example/ctx/ngsi-ld/v1/entities?type=Streetlight,Foo", "streetlights"
    )
    assert (target.broker_url, target.entity_types, target.key_values) == (
        "https://b.example/ctx",
        ("Streetlight",),
        False,
    )
    assert target_of("http://b:1026/ngsi-ld/v1/entities", "parking").entity_types == (
        "OffStreetParking",
        "OnStreetParking",
        "ParkingSpot",
    )


# --- notifications -------------------------------------------------------------------------


def light(reference: str, now: datetime, status: str = "ok", minutes: int = 1, **extra) -> dict:
    return streetlight(reference, status, now=now, observed=ago(now, minutes=minutes), **extra)


def notify(
    client, secret, entities, notified_at, subscription_id, *, name="lights", lang=None, **changes
):
    body = {
        "id": changes.pop("id", f"urn:ngsi-ld:Notification:{uuid.uuid4()}"),
        "type": "Notification",
        "subscriptionId": subscription_id,
        "notifiedAt": notified_at.isoformat(),
        "data": entities,
        **changes,
    }
    headers = {} if secret is None else {SECRET_HEADER: secret}
    if lang is not None:
        headers["Accept-Language"] = lang
    return client.post(f"/v1/feeds/{name}/notifications", json=body, headers=headers)


@pytest.fixture
def subscribed(session, broker):
    """A subscribed feed: (its secret, the broker's id of its subscription)."""
    lights_feed(session, broker.url)
    maintain(session, T0)
    (made,) = on_broker(broker)
    return secret_of(made), made["id"]


def entities(session) -> dict:
    rows = session.execute(
        select(FeedEntity.entity_id, FeedEntity.status, FeedEntity.observed_at)
    ).all()
    session.rollback()
    return {entity_id: (status, observed) for entity_id, status, observed in rows}


def test_a_notification_updates_the_feeds_state_without_a_poll(
    session, client, auth, subscribed, now
):
    secret, subscription_id = subscribed
    answer = notify(
        client,
        secret,
        [light("SL-800001", now, "defectiveLamp"), light("SL-800002", now)],
        now,
        subscription_id,
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() | {"tickets": None} == {
        "notification": answer.get_json()["notification"],
        "status": "stored",
        "seen": 2,
        "skipped": 0,
        "changed": 2,
        "tickets": None,
        "skipped_examples": [],
    }
    stored = entities(session)
    assert stored["urn:ngsi-ld:Streetlight:dijon:SL-800001"] == (
        "defectiveLamp",
        datetime.fromisoformat(ago(now, minutes=1)),
    )
    feed = session.scalar(select(Feed))
    assert feed.last_polled_at is None  # no poll
    health = client.get("/v1/admin/feeds/lights", headers=auth("admin")).get_json()["health"]
    assert health["last_notification_at"] is not None
    assert health["subscription"]["state"] == "active"
    assert health["subscription"]["notifications"] == 1


def test_a_notified_fault_opens_one_ticket_as_a_polled_one_does(session, client, subscribed, now):
    from tests.feeds.test_faults import an_asset, reports

    an_asset(session, "SL-800001")
    secret, subscription_id = subscribed
    fault = light("SL-800001", now, "defectiveLamp", streetPoleNum="SL-800001")
    answer = notify(client, secret, [fault], now, subscription_id)
    assert answer.get_json()["tickets"]["opened"] == 1
    # The same fault notified again (a newer observation): no second ticket.
    again = light("SL-800001", now, "defectiveLamp", minutes=0, streetPoleNum="SL-800001")
    assert notify(client, secret, [again], now, subscription_id).get_json()["changed"] == 1
    (ticket,) = reports(session)
    assert ticket.source == "sensor"


@pytest.mark.parametrize(
    "secret", [None, "", "not-the-secret", "x" * 200], ids=["none", "empty", "wrong", "long"]
)
def test_a_notification_without_the_right_secret_changes_nothing(
    session, client, subscribed, now, secret
):
    _, subscription_id = subscribed
    answer = notify(client, secret, [light("SL-800001", now)], now, subscription_id)
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["code"] == "notification_unauthorized"
    assert entities(session) == {}
    assert session.scalar(select(func.count()).select_from(FeedNotification)) == 0


def test_a_notification_for_another_feed_or_none_is_refused(session, client, subscribed, now):
    secret, subscription_id = subscribed
    for name in ("other", "UPPER", "a" * 70):
        answer = notify(client, secret, [light("SL-800001", now)], now, subscription_id, name=name)
        assert answer.status_code == 401, name
    assert entities(session) == {}


def test_a_notification_of_a_subscription_signale_no_longer_keeps_is_gone(
    session, client, subscribed, now, broker
):
    secret, _ = subscribed
    answer = notify(client, secret, [light("SL-800001", now)], now, "urn:ngsi-ld:Subscription:old")
    assert answer.status_code == 410
    assert answer.get_json()["code"] == "subscription_revoked"
    # Disabled: its notifications are refused until the cron deletes the subscription.
    lights_feed(session, broker.url, enabled=False)
    answer = notify(client, secret, [light("SL-800001", now)], now, subscribed[1])
    assert answer.status_code == 410
    assert entities(session) == {}


def test_a_replayed_notification_changes_nothing(session, client, subscribed, now):
    secret, subscription_id = subscribed
    first = notify(client, secret, [light("SL-800001", now, minutes=5)], now, subscription_id)
    notification_id = first.get_json()["notification"]
    # The same id again, even saying something newer: a replay, ignored.
    again = notify(
        client,
        secret,
        [light("SL-800001", now, "defectiveLamp", minutes=1)],
        now,
        subscription_id,
        id=notification_id,
    )
    assert again.status_code == 200
    assert again.get_json() == {
        "notification": notification_id,
        "status": "duplicate",
        "changed": 0,
    }
    assert entities(session)["urn:ngsi-ld:Streetlight:dijon:SL-800001"][0] == "ok"
    assert session.scalar(select(Feed.id)) is not None
    assert row(session).notifications == 1


def test_a_notification_older_than_the_stored_state_is_ignored(session, client, subscribed, now):
    secret, subscription_id = subscribed
    newer = notify(client, secret, [light("SL-800001", now, "ok", minutes=1)], now, subscription_id)
    assert newer.get_json()["changed"] == 1
    older = notify(
        client,
        secret,
        [light("SL-800001", now, "defectiveLamp", minutes=10)],
        now - timedelta(minutes=9),
        subscription_id,
    )
    assert older.status_code == 200
    assert older.get_json()["changed"] == 0
    assert entities(session)["urn:ngsi-ld:Streetlight:dijon:SL-800001"] == (
        "ok",
        datetime.fromisoformat(ago(now, minutes=1)),
    )


def test_an_entity_without_a_time_is_as_of_its_notification_not_its_arrival(
    session, client, subscribed, now
):
    secret, subscription_id = subscribed
    timeless = light("SL-800001", now)
    del timeless["observationDateTime"]
    notify(client, secret, [timeless], now - timedelta(minutes=3), subscription_id)
    assert entities(session)["urn:ngsi-ld:Streetlight:dijon:SL-800001"][1] == now - timedelta(
        minutes=3
    )


MALFORMED = {
    "not a notification": {"type": "Entity"},
    "no data": {"data": []},
    "data not a list": {"data": {"id": "x"}},
    "no subscription": {"subscriptionId": None},
    "no time": {"notifiedAt": "yesterday"},
    "too many entities": {"data": [{"id": f"x{n}"} for n in range(1001)]},
    "an entity not an object": {"data": ["urn:ngsi-ld:Streetlight:x"]},
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_notification_is_refused_and_changes_nothing(
    session, client, subscribed, now, change
):
    secret, subscription_id = subscribed
    data = change.pop("data", [light("SL-800001", now)])
    answer = notify(client, secret, data, now, subscription_id, **change)
    assert answer.status_code == 422, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert entities(session) == {}
    assert session.scalar(select(func.count()).select_from(FeedNotification)) == 0


BAD_ENTITIES = {
    "another kind's type": lambda now: car_park(1, now=now),
    "no location": lambda now: {**light("SL-800001", now), "location": None},
    "outside the world": lambda now: {
        **light("SL-800001", now),
        "location": {"type": "Point", "coordinates": [500, 47]},
    },
    "in the future": lambda now: light("SL-800001", now, minutes=-60),
    "a NUL in its id": lambda now: {**light("SL-800001", now), "id": "urn:\u0000x"},
}


@pytest.mark.parametrize("bad", BAD_ENTITIES.values(), ids=BAD_ENTITIES.keys())
def test_entities_a_poll_would_refuse_are_refused_and_nothing_is_stored(
    session, client, subscribed, now, bad
):
    secret, subscription_id = subscribed
    answer = notify(client, secret, [bad(now)], now, subscription_id)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["code"] in (
        "notification_no_valid_entities",
        "invalid_character",  # refused for every JSON body (app.extensions)
    )
    assert entities(session) == {}
    # Refused, it is not remembered: the broker's corrected retry is not taken for a replay.
    assert session.scalar(select(func.count()).select_from(FeedNotification)) == 0


def test_a_refused_entity_is_named_with_its_reason_all_in_the_request_language(
    session, client, subscribed, now
):
    secret, subscription_id = subscribed
    located_nowhere = {**light("SL-800001", now), "location": None}
    entity = located_nowhere["id"]
    french = notify(client, secret, [located_nowhere], now, subscription_id, lang="fr")
    assert french.status_code == 422
    assert french.get_json()["errors"] == {
        "json": {"data": [f"entité {entity} : aucune localisation (location)"]}
    }
    assert "(première raison : aucune localisation (location))" in french.get_json()["detail"]
    english = notify(client, secret, [located_nowhere], now, subscription_id, lang="en")
    assert english.get_json()["errors"] == {"json": {"data": [f"entity {entity}: no location"]}}


def test_of_valid_and_malformed_entities_the_valid_are_stored_as_a_poll_would(
    session, client, subscribed, now
):
    secret, subscription_id = subscribed
    answer = notify(
        client, secret, [light("SL-800001", now), car_park(1, now=now)], now, subscription_id
    )
    assert answer.status_code == 200
    assert (answer.get_json()["seen"], answer.get_json()["skipped"]) == (2, 1)
    assert list(entities(session)) == ["urn:ngsi-ld:Streetlight:dijon:SL-800001"]


def test_a_notification_from_the_future_is_refused(session, client, subscribed, now):
    secret, subscription_id = subscribed
    answer = notify(
        client, secret, [light("SL-800001", now)], now + timedelta(hours=1), subscription_id
    )
    assert answer.status_code == 422
    assert answer.get_json()["code"] == "notification_in_the_future"
    assert entities(session) == {}


# --- end to end: the simulator notifies a running Signale ----------------------------------


@pytest.fixture
def signale(app):
    """Signale served over HTTP on 127.0.0.1 in a thread of the test (werkzeug)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.processes
def test_the_simulator_notifies_a_change_of_its_street_lights_and_signale_stores_it(
    app, signale, broker
):
    from app.extensions import db

    clock = broker.clock_setting
    # A minute before dusk (17:30 in the simulator): the lights are off, then on.
    clock["now"] = TUESDAY.replace(hour=17, minute=29)
    with app.app_context():
        lights_feed(db.session, broker.url)
        policy = subscriptions.SubscriptionPolicy(notification_base_url=signale)
        assert maintain(db.session, T0, policy=policy) == {"created": 1}
        db.session.remove()
    store = broker.subscriptions
    assert store.tick() == 0  # what is served now: the starting point
    clock["now"] = TUESDAY.replace(hour=17, minute=31)
    assert store.tick() == 1
    ((_, notification, status),) = store.sent
    assert status == 200
    assert len(notification["data"]) == len(LIGHTS)
    with app.app_context():
        rows = db.session.execute(select(FeedEntity.measures, FeedEntity.observed_at)).all()
        feed = db.session.scalar(select(Feed))
        subscription = db.session.scalar(select(FeedSubscription))
        db.session.remove()
    assert len(rows) == len(LIGHTS)
    assert {measures["power_state"] for measures, _ in rows} == {"on"}
    assert {observed for _, observed in rows} == {TUESDAY.replace(hour=17, minute=30)}
    assert feed.last_polled_at is None
    assert subscription.notifications == 1
    # Nothing changed since: nothing is notified.
    assert store.tick() == 0
