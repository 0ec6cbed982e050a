"""Polling over real HTTP (a stand-in source on 127.0.0.1) into the real database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.feeds import service
from app.feeds.models import Feed, FeedEntity, FeedObservation
from tests.feeds.factories import ago, car_park, example

# For entities refused whatever their time.
SOME_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024, page_size=2)
FEED = {
    "kind": "parking",
    "format": "ngsi-ld-document",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}


def a_feed(session, url, name="parkings", **changes) -> int:
    feed, _ = service.put_feed(session, name, {**FEED, "source_url": url, **changes})
    return feed.id


def poll(session, feed_id, **kwargs) -> dict:
    return service.poll_feed(session, feed_id, limits=LIMITS, **kwargs)


def states(session) -> dict:
    rows = session.execute(select(FeedEntity.entity_id, FeedEntity.available)).all()
    session.rollback()
    return dict(rows)


def observations(session) -> int:
    return session.scalar(select(func.count()).select_from(FeedObservation))


def test_a_document_poll_stores_states_observations_and_health(session, feed_source, now):
    url = feed_source.serve(
        "/parkings.json", [car_park(1, available=10, now=now), car_park(2, now=now)]
    )
    feed_id = a_feed(session, url)
    outcome = poll(session, feed_id)
    assert outcome == {
        "feed": "parkings",
        "status": "ok",
        "error": None,
        "seen": 2,
        "skipped": 0,
        "changed": 2,
        "tickets": {"opened": 0, "joined": 0, "recovered": 0, "failed": 0},
    }
    assert states(session) == {
        "urn:ngsi-ld:OffStreetParking:dijon:P1": 10,
        "urn:ngsi-ld:OffStreetParking:dijon:P2": 120,
    }
    assert observations(session) == 2
    feed = session.get(Feed, feed_id)
    assert feed.last_success_at is not None
    assert (feed.consecutive_failures, feed.entities_seen, feed.entities_skipped) == (0, 2, 0)
    assert feed.next_poll_at == feed.last_polled_at + timedelta(seconds=60)


def test_a_repeated_observation_is_stored_once_and_a_new_one_is_added(session, feed_source, now):
    first = ago(now, minutes=5)
    url = feed_source.serve("/p.json", [car_park(1, available=10, observed=first, now=now)])
    feed_id = a_feed(session, url)
    poll(session, feed_id)
    assert poll(session, feed_id)["changed"] == 0
    assert observations(session) == 1
    feed_source.serve("/p.json", [car_park(1, available=4, observed=ago(now, minutes=1), now=now)])
    assert poll(session, feed_id)["changed"] == 1
    assert states(session) == {"urn:ngsi-ld:OffStreetParking:dijon:P1": 4}
    assert observations(session) == 2
    # An older observation arriving late does not overwrite the latest state.
    feed_source.serve(
        "/p.json", [car_park(1, available=99, observed=ago(now, minutes=30), now=now)]
    )
    assert poll(session, feed_id)["changed"] == 0
    assert states(session) == {"urn:ngsi-ld:OffStreetParking:dijon:P1": 4}


def test_one_poll_adds_new_entities_updates_newer_ones_and_keeps_those_it_has_later(
    session, feed_source, now
):
    url = feed_source.serve(
        "/p.json",
        [
            car_park(1, available=10, observed=ago(now, minutes=5), now=now),
            car_park(2, available=20, observed=ago(now, minutes=5), now=now),
        ],
    )
    feed_id = a_feed(session, url)
    poll(session, feed_id)
    feed_source.serve(
        "/p.json",
        [
            car_park(1, available=11, observed=ago(now, minutes=1), now=now),  # newer
            car_park(2, available=99, observed=ago(now, minutes=9), now=now),  # older
            car_park(3, available=30, now=now),  # new
        ],
    )
    assert poll(session, feed_id)["changed"] == 2
    assert states(session) == {
        "urn:ngsi-ld:OffStreetParking:dijon:P1": 11,
        "urn:ngsi-ld:OffStreetParking:dijon:P2": 20,
        "urn:ngsi-ld:OffStreetParking:dijon:P3": 30,
    }
    history = session.execute(
        select(FeedEntity.entity_id, FeedObservation.available)
        .join(FeedEntity, FeedEntity.id == FeedObservation.entity_pk)
        .order_by(FeedEntity.entity_id, FeedObservation.observed_at)
    ).all()
    assert [tuple(row) for row in history] == [
        ("urn:ngsi-ld:OffStreetParking:dijon:P1", 10),
        ("urn:ngsi-ld:OffStreetParking:dijon:P1", 11),
        ("urn:ngsi-ld:OffStreetParking:dijon:P2", 20),
        ("urn:ngsi-ld:OffStreetParking:dijon:P3", 30),
    ]


def test_states_stored_twice_in_one_transaction_and_other_shapes_are_written(session, now):
    """The temporary table the states go through is emptied between two stores."""
    from shapely.geometry import Point, Polygon

    from app.feeds.states import EntityState

    feed_id = a_feed(session, "http://127.0.0.1:9/p.json")
    zone = Polygon([(5.04, 47.32), (5.05, 47.32), (5.05, 47.33), (5.04, 47.32)])
    first = [
        EntityState("urn:a", "OnStreetParking", zone, now - timedelta(minutes=2), available=1),
        EntityState("urn:b", "OffStreetParking", Point(5.04, 47.32), now, available=2),
    ]
    second = [EntityState("urn:c", "OffStreetParking", None, now, available=3, point=(5.03, 47.31))]
    assert service.store_states(session, feed_id, first) == 2
    shapes = session.execute(
        select(FeedEntity.entity_id, func.ST_AsText(FeedEntity.geom)).order_by(FeedEntity.entity_id)
    ).all()
    assert [tuple(row) for row in shapes] == [
        ("urn:a", "POLYGON((5.04 47.32,5.05 47.32,5.05 47.33,5.04 47.32))"),
        ("urn:b", "POINT(5.04 47.32)"),
    ]
    # Gone from the table, the first two must not come back with the next store's rows.
    service.remove_missing(session, feed_id, [])
    assert service.store_states(session, feed_id, second) == 1
    assert service.store_states(session, feed_id, []) == 0
    rows = session.execute(
        select(
            FeedEntity.entity_id,
            FeedEntity.available,
            func.ST_AsText(FeedEntity.geom),
            func.ST_SRID(FeedEntity.geom),
            func.ST_SRID(FeedEntity.geom_l93),
        ).order_by(FeedEntity.entity_id)
    ).all()
    assert [tuple(row) for row in rows] == [("urn:c", 3, "POINT(5.03 47.31)", 4326, 2154)]
    assert observations(session) == 1


def test_entities_removed_from_a_live_feed_take_their_history(session, now):
    """No foreign key: a statement trigger deletes the observations of deleted entities."""
    from shapely.geometry import Point

    from app.feeds.states import EntityState

    feed_id = a_feed(session, "http://127.0.0.1:9/p.json")
    kept, gone = (
        EntityState(f"urn:{n}", "OffStreetParking", Point(5.04, 47.32), now) for n in "ab"
    )
    service.store_states(session, feed_id, [kept, gone])
    assert service.remove_missing(session, feed_id, ["urn:a"]) == 1
    left = session.execute(
        select(FeedEntity.entity_id).join(
            FeedObservation, FeedObservation.entity_pk == FeedEntity.id
        )
    ).scalars()
    assert list(left) == ["urn:a"]
    assert observations(session) == 1


def test_an_entity_listed_twice_in_one_poll_keeps_its_latest_observation(session, feed_source, now):
    url = feed_source.serve(
        "/p.json",
        [
            car_park(1, available=1, observed=ago(now, minutes=2), now=now),
            car_park(1, available=2, now=now),
        ],
    )
    outcome = poll(session, a_feed(session, url))
    assert (outcome["status"], outcome["changed"]) == ("ok", 1)
    assert states(session) == {"urn:ngsi-ld:OffStreetParking:dijon:P1": 2}


def test_the_shared_examples_in_both_forms_are_stored(session, feed_source):
    documents = []
    for entity_type in ("OffStreetParking", "OnStreetParking", "ParkingSpot"):
        documents += [example(entity_type), example(entity_type, normalized=True)]
    url = feed_source.serve("/examples.json", documents)
    outcome = poll(session, a_feed(session, url))
    # Each example's two forms share an id: three entities.
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 6, 0)
    assert len(states(session)) == 3
    polygon = session.scalar(
        select(func.GeometryType(FeedEntity.geom)).where(
            FeedEntity.entity_type == "OnStreetParking"
        )
    )
    assert polygon == "POLYGON"


def test_malformed_entities_are_skipped_counted_and_explained(session, feed_source, now):
    bad_type = {**car_park(2, now=now), "availableSpotNumber": "many"}
    no_location = car_park(3, now=now)
    del no_location["location"]
    bad_coordinates = {
        **car_park(4, now=now),
        "location": {"type": "Point", "coordinates": [5, 95]},
    }
    url = feed_source.serve(
        "/p.json", [car_park(1, now=now), bad_type, no_location, bad_coordinates, "not an entity"]
    )
    feed_id = a_feed(session, url)
    outcome = poll(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 5, 4)
    assert list(states(session)) == ["urn:ngsi-ld:OffStreetParking:dijon:P1"]
    feed = session.get(Feed, feed_id)
    assert feed.entities_skipped == 4
    assert feed.skipped_examples == [
        {
            "entity": "urn:ngsi-ld:OffStreetParking:dijon:P2",
            "reason": "availableSpotNumber is not a number",
        },
        {"entity": "urn:ngsi-ld:OffStreetParking:dijon:P3", "reason": "no location"},
        {
            "entity": "urn:ngsi-ld:OffStreetParking:dijon:P4",
            "reason": "location is outside longitude -180..180, latitude -90..90",
        },
        {"entity": "?", "reason": "not a JSON object"},
    ]


def test_a_broker_is_read_page_by_page_with_limit_and_offset(session, feed_source, now):
    entities = [car_park(n, available=n, now=now) for n in range(1, 6)]
    url = feed_source.serve("/ngsi-ld/v1/entities", pages=entities)
    feed_id = a_feed(session, url + "?type=OffStreetParking", format="ngsi-ld")
    outcome = poll(session, feed_id)
    assert (outcome["status"], outcome["seen"]) == ("ok", 5)
    assert len(states(session)) == 5
    assert feed_source.requests == [
        "/ngsi-ld/v1/entities?type=OffStreetParking&limit=2&offset=0",
        "/ngsi-ld/v1/entities?type=OffStreetParking&limit=2&offset=2",
        "/ngsi-ld/v1/entities?type=OffStreetParking&limit=2&offset=4",
    ]


def test_a_broker_s_next_link_is_followed(session, feed_source, now):
    feed_source.serve("/page2", [car_park(3, now=now)])
    url = feed_source.serve(
        "/page1",
        [car_park(1, now=now), car_park(2, now=now)],
        headers={"Link": '</page2>; rel="next"'},
    )
    outcome = poll(session, a_feed(session, url, format="ngsi-ld"))
    assert (outcome["status"], outcome["seen"]) == ("ok", 3)
    assert feed_source.requests[-1] == "/page2"


FAILURES = {
    "http 500": ({"document": b"oops", "status": 500}, "http_status"),
    "timeout": ({"hang": True}, "timeout"),
    "garbage": ({"document": b"<html>maintenance</html>"}, "not_ngsi_ld"),
    "endless body": ({"endless": True}, "too_large"),
    "announced huge body": (
        {"document": b"[]", "headers": {"Content-Length": str(10**9)}},
        "too_large",
    ),
    "not found": ({"document": b"[]", "status": 404}, "http_status"),
    "wrong types only": (
        {"document": [{**car_park(1, now=SOME_INSTANT), "totalSpotNumber": "x"}, {"id": 3}]},
        "no_valid_entities",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failed_poll_keeps_the_last_good_state_and_shows_in_health(
    session, feed_source, failure, now
):
    url = feed_source.serve("/p.json", [car_park(1, available=33, now=now)])
    feed_id = a_feed(session, url)
    assert poll(session, feed_id)["status"] == "ok"
    good_success = session.get(Feed, feed_id).last_success_at
    session.rollback()

    options, code = FAILURES[failure]
    feed_source.serve("/p.json", **options)
    later = now + timedelta(seconds=1)
    outcome = poll(session, feed_id, now=later)
    assert (outcome["status"], outcome["error"]) == ("failed", code)
    assert states(session) == {"urn:ngsi-ld:OffStreetParking:dijon:P1": 33}
    assert observations(session) == 1
    feed = session.get(Feed, feed_id)
    assert feed.last_error_code == code
    assert feed.last_error
    assert feed.consecutive_failures == 1
    assert feed.last_success_at == good_success
    assert feed.last_error_at == later
    assert feed.next_poll_at == later + timedelta(seconds=120)  # backed off: 2 x 60 s


def test_an_unreachable_source_is_a_failure_too(session, feed_source):
    url = feed_source.url("/p.json")
    feed_source.server.server_close()  # nothing listens there any more
    outcome = poll(session, a_feed(session, url))
    assert (outcome["status"], outcome["error"]) == ("failed", "unreachable")


def test_repeated_failures_back_off_up_to_the_ceiling_and_a_success_resets(
    session, feed_source, now
):
    url = feed_source.serve("/p.json", b"down", status=503)
    feed_id = a_feed(session, url)
    delays = []
    for attempt in range(8):
        at = now + timedelta(seconds=attempt)
        poll(session, feed_id, now=at)
        delays.append((session.get(Feed, feed_id).next_poll_at - at).total_seconds())
        session.rollback()
    assert delays == [120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert session.get(Feed, feed_id).consecutive_failures == 8
    session.rollback()
    feed_source.serve("/p.json", [car_park(1, now=now)])
    assert poll(session, feed_id)["status"] == "ok"
    assert session.get(Feed, feed_id).consecutive_failures == 0


def test_due_feeds_are_claimed_once_until_their_poll_or_lease_ends(session, feed_source, now):
    url = feed_source.serve("/p.json", [car_park(1, now=now)])
    due = a_feed(session, url, name="due")
    a_feed(session, url, name="disabled", enabled=False)
    later = a_feed(session, url, name="later")
    session.execute(
        text("UPDATE feeds SET next_poll_at = now() + interval '1 hour' WHERE id = :id"),
        {"id": later},
    )
    session.commit()
    assert service.claim_due_feeds(session, lease_seconds=100) == [due]
    assert service.claim_due_feeds(session, lease_seconds=100) == []
    # Polled five minutes ago by the database's clock: due again, 60 s interval.
    poll(session, due, now=now - timedelta(minutes=5))
    assert service.claim_due_feeds(session, lease_seconds=100) == [due]


def test_the_purge_deletes_observations_older_than_the_retention_only(session, feed_source, now):
    url = feed_source.serve(
        "/p.json",
        [
            car_park(1, observed=ago(now, days=91), now=now),
            car_park(2, observed=ago(now, days=89), now=now),
        ],
    )
    poll(session, a_feed(session, url))
    assert service.purge_observations(session, timedelta(days=90), batch=1) == 1
    kept = session.scalars(select(FeedObservation.observed_at)).all()
    assert len(kept) == 1
    assert kept[0] > now - timedelta(days=90)
    # The latest state stays whatever its age: the stale flag says how old it is.
    assert len(states(session)) == 2


def test_a_feed_deleted_takes_its_entities_and_history(session, feed_source, now):
    url = feed_source.serve("/p.json", [car_park(1, now=now)])
    poll(session, a_feed(session, url))
    service.delete_feed(session, "parkings")
    assert states(session) == {}
    assert observations(session) == 0


def test_a_worker_whose_clock_is_an_hour_slow_stores_fresh_states_and_polls_on_time(
    session, feed_source, now, time_machine
):
    """The poll keeps time by the database's clock (app.clock), as the dispatcher's SQL
    does: a host an hour slow neither refuses fresh states as "in the future" nor makes the
    feed due again at once."""
    url = feed_source.serve("/p.json", [car_park(1, now=now), car_park(2, now=now)])
    feed_id = a_feed(session, url)
    assert service.claim_due_feeds(session, lease_seconds=100) == [feed_id]
    time_machine.move_to(now - timedelta(hours=1), tick=True)

    outcome = poll(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 2, 0)
    feed = session.get(Feed, feed_id)
    assert feed.last_polled_at >= now
    assert feed.next_poll_at == feed.last_polled_at + timedelta(seconds=60)
    session.rollback()
    assert service.claim_due_feeds(session, lease_seconds=100) == []
