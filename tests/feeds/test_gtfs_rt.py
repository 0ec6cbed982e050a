"""GTFS-Realtime vehicle positions (protobufs built with the bindings) served over real HTTP,
polled into the real database and read back from GET /v1/mobility/vehicles."""

from datetime import UTC, datetime, timedelta

import pytest
from google.transit import gtfs_realtime_pb2
from sqlalchemy import func, select

from app.extensions import db
from app.feeds import service
from app.feeds.models import Feed, FeedEntity, FeedObservation
from tests.feeds.factories import CENTRE, message, vehicle

LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024)
FEED = {
    "kind": "vehicles",
    "format": "gtfs-rt",
    "poll_interval_seconds": 30,
    "freshness_limit_seconds": 120,
    "enabled": True,
}
# About 1.5 km around the centre.
BOX = f"{CENTRE[0] - 0.02:.4f},{CENTRE[1] - 0.01:.4f},{CENTRE[0] + 0.02:.4f},{CENTRE[1] + 0.01:.4f}"
FEW_SEATS = gtfs_realtime_pb2.VehiclePosition.FEW_SEATS_AVAILABLE


# For a message refused whatever its time.
SOME_INSTANT = datetime(2026, 1, 1, tzinfo=UTC)


def a_feed(session, url) -> int:
    feed, _ = service.put_feed(session, "divia", {**FEED, "source_url": url})
    return feed.id


def poll(session, feed_id, **kwargs) -> dict:
    return service.poll_feed(session, feed_id, limits=LIMITS, **kwargs)


def vehicles(session) -> dict:
    rows = session.execute(select(FeedEntity.entity_id, FeedEntity.measures)).all()
    session.rollback()
    return dict(rows)


def load(app, feed_source, body: bytes) -> dict:
    url = feed_source.serve("/vehicle-positions.pb", body)
    with app.app_context():
        outcome = poll(db.session, a_feed(db.session, url))
        db.session.remove()
    return outcome


def test_vehicles_in_the_box_as_geojson_with_trip_speed_occupancy_and_freshness(
    app, client, auth, feed_source, now
):
    outcome = load(
        app,
        feed_source,
        message(
            vehicle(
                "T1-042",
                label="Tram T1",
                route="T1",
                trip="T1-0712",
                bearing=92.5,
                speed=10.0,
                occupancy=FEW_SEATS,
                now=now,
            ),
            vehicle("L3-007", offset_m=300, seen=now - timedelta(minutes=10), now=now),
            vehicle("L5-001", offset_m=5000, now=now),  # outside the box
            sent=now,
        ),
    )
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 3, 0)
    response = client.get(f"/v1/mobility/vehicles?bbox={BOX}", headers=auth())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["type"], body["next_cursor"]) == ("FeatureCollection", None)
    features = body["features"]
    assert [f["properties"]["source_id"] for f in features] == ["T1-042", "L3-007"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [CENTRE[0], CENTRE[1]]}
    tram = features[0]["properties"]
    assert tram == {
        "source_id": "T1-042",
        "feed": "divia",
        "label": "Tram T1",
        "route_id": "T1",
        "trip_id": "T1-0712",
        "bearing": 92.5,
        "speed_kmh": 36.0,
        "occupancy_status": "few_seats_available",
        "observed_at": tram["observed_at"],
        "stale": False,
    }
    bus = features[1]["properties"]
    assert (bus["route_id"], bus["speed_kmh"], bus["occupancy_status"]) == (None, None, None)
    # Seen ten minutes ago, with a two-minute freshness limit: flagged stale.
    assert bus["stale"] is True
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(
        f"/v1/mobility/vehicles?bbox={BOX}",
        headers={**auth(), "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_vehicles_missing_from_the_latest_message_disappear_and_keep_no_history(
    session, feed_source, now
):
    url = feed_source.serve(
        "/vp.pb", message(vehicle("A", now=now), vehicle("B", offset_m=100, now=now), sent=now)
    )
    feed_id = a_feed(session, url)
    assert poll(session, feed_id)["changed"] == 2
    moved = vehicle("B", offset_m=200, seen=now, route="L3", trip="L3-1", now=now)
    feed_source.serve("/vp.pb", message(moved, sent=now))
    outcome = poll(session, feed_id)
    # B moved, A left service.
    assert (outcome["status"], outcome["changed"]) == ("ok", 2)
    assert vehicles(session) == {"B": {"route_id": "L3", "trip_id": "L3-1"}}
    assert session.scalar(select(func.count()).select_from(FeedObservation)) == 0
    # A message with no vehicle at all (the network at night) empties the map.
    feed_source.serve("/vp.pb", message(sent=now))
    assert poll(session, feed_id)["status"] == "ok"
    assert vehicles(session) == {}


def test_vehicles_without_a_usable_position_are_skipped_counted_and_explained(
    session, feed_source, now
):
    url = feed_source.serve(
        "/vp.pb",
        message(
            vehicle("ok", now=now),
            vehicle("no-position", lat=None, now=now),
            vehicle("north-of-the-pole", lat=95.0, now=now),
            vehicle("null-island", lat=0.0, lon=0.0, now=now),
            vehicle("nan", lat=float("nan"), now=now),
            vehicle("reversing", speed=-3.0, now=now),
            vehicle("future", seen=now + timedelta(hours=1), now=now),
            sent=now,
        ),
    )
    feed_id = a_feed(session, url)
    outcome = poll(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 7, 6)
    assert list(vehicles(session)) == ["ok"]
    assert session.get(Feed, feed_id).skipped_examples == [
        {"entity": "no-position", "reason": "no position"},
        {"entity": "north-of-the-pole", "reason": "latitude is not between -90 and 90"},
        {"entity": "null-island", "reason": "position is 0, 0 (no GPS fix)"},
        {"entity": "nan", "reason": "latitude is not between -90 and 90"},
        {"entity": "reversing", "reason": "speed is not between 0 and 100"},
        {"entity": "future", "reason": "timestamp is in the future"},
    ]


def differential() -> bytes:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL
    return feed.SerializeToString()


FAILURES = {
    "invalid protobuf": ({"document": b"<html>maintenance</html>"}, "not_gtfs_rt"),
    "empty body": ({"document": b""}, "not_gtfs_rt"),
    "differential": ({"document": differential()}, "not_gtfs_rt"),
    "http 500": ({"document": b"oops", "status": 500}, "http_status"),
    "timeout": ({"hang": True}, "timeout"),
    "only invalid vehicles": (
        {"document": message(vehicle("x", lat=None, now=SOME_INSTANT), sent=SOME_INSTANT)},
        "no_valid_entities",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_failed_poll_keeps_the_last_vehicle_positions(session, feed_source, failure, now):
    url = feed_source.serve(
        "/vp.pb", message(vehicle("A", route="T2", trip="T2-1", now=now), sent=now)
    )
    feed_id = a_feed(session, url)
    assert poll(session, feed_id)["status"] == "ok"
    options, code = FAILURES[failure]
    feed_source.serve("/vp.pb", **options)
    later = now + timedelta(seconds=1)
    outcome = poll(session, feed_id, now=later)
    assert (outcome["status"], outcome["error"]) == ("failed", code)
    assert vehicles(session) == {"A": {"route_id": "T2", "trip_id": "T2-1"}}
    feed = session.get(Feed, feed_id)
    assert (feed.last_error_code, feed.consecutive_failures) == (code, 1)
    assert feed.next_poll_at == later + timedelta(seconds=60)
