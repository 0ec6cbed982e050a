"""The residents' mobility reads near a point: parkings, bike stations, a parking's history."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.feeds import service
from tests.feeds.factories import CENTRE, ago, bike_station, car_park

PARKING_FEED = {
    "kind": "parking",
    "format": "ngsi-ld-document",
    "source_url": "http://127.0.0.1:9/parkings.json",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
}
NEAR = f"lon={CENTRE[0]}&lat={CENTRE[1]}"


def load(app, feed_source, entities, *, name="parkings", kind="parking", **changes):
    """Register a feed serving ``entities`` and poll it once."""
    url = feed_source.serve(f"/{name}.json", entities)
    with app.app_context():
        feed, _ = service.put_feed(
            db.session,
            name,
            {**PARKING_FEED, "enabled": True, "kind": kind, "source_url": url, **changes},
        )
        assert service.poll_feed(db.session, feed.id)["status"] == "ok"
        db.session.remove()


def test_parkings_near_a_point_nearest_first_with_freshness(app, client, auth, feed_source, now):
    load(
        app,
        feed_source,
        [
            car_park(1, available=0, total=200, offset_m=300, now=now),
            car_park(2, available=50, total=200, offset_m=100, now=now),
            car_park(3, available=10, total=100, offset_m=200, observed=ago(now, hours=2), now=now),
            car_park(4, offset_m=3000, now=now),
        ],
    )
    response = client.get(f"/v1/mobility/parkings?{NEAR}&radius=1000", headers=auth())
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [i["source_id"].rsplit(":", 1)[1] for i in items] == ["P2", "P3", "P1"]
    nearest = items[0]
    assert nearest["distance_m"] == pytest.approx(100, abs=5)
    assert nearest["type"] == "off_street"
    assert (nearest["free_spaces"], nearest["total_spaces"], nearest["occupancy"]) == (
        50,
        200,
        0.75,
    )
    # The source gave no status: ours from the free spaces, none of its own beside it.
    assert (nearest["status"], nearest["source_status"]) == ("open", None)
    assert nearest["location"]["type"] == "Point"
    assert nearest["feed"] == "parkings"
    assert datetime.fromisoformat(nearest["observed_at"]).tzinfo is not None
    # Observed two hours ago, with a 10-minute freshness limit: flagged, not shown as current.
    assert [i["stale"] for i in items] == [False, True, False]
    assert (items[2]["status"], items[2]["source_status"]) == ("full", None)


def test_parkings_answers_carry_an_etag_and_cache_control(app, client, auth, feed_source, now):
    load(app, feed_source, [car_park(1, now=now)])
    headers = auth()
    first = client.get(f"/v1/mobility/parkings?{NEAR}", headers=headers)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(f"/v1/mobility/parkings?{NEAR}", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    # New data: a new tag.
    feed_source.serve(
        "/parkings.json", [car_park(1, available=3, observed=ago(now, seconds=5), now=now)]
    )
    with app.app_context():
        service.poll_feed(db.session, service.get_feed(db.session, "parkings").id)
    changed = client.get(
        f"/v1/mobility/parkings?{NEAR}", headers={**headers, "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.get_json()["items"][0]["free_spaces"] == 3


def test_parkings_are_cursor_paginated(app, client, auth, feed_source, now):
    load(app, feed_source, [car_park(n, offset_m=50 * n, now=now) for n in range(1, 6)])
    headers, seen, cursor = auth(), [], None
    while True:
        url = f"/v1/mobility/parkings?{NEAR}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Parking {n}" for n in range(1, 6)]


def test_a_disabled_feed_and_a_place_outside_france_show_nothing(
    app, client, auth, feed_source, now
):
    load(app, feed_source, [car_park(1, now=now)])
    headers = auth()
    far = client.get("/v1/mobility/parkings?lon=-70&lat=-40", headers=headers)
    assert (far.status_code, far.get_json()["items"]) == (200, [])
    with app.app_context():
        db.session.execute(text("UPDATE feeds SET enabled = false"))
        db.session.commit()
    hidden = client.get(f"/v1/mobility/parkings?{NEAR}", headers=headers)
    assert hidden.get_json()["items"] == []


def test_mobility_reads_need_a_token_and_valid_arguments(client, auth):
    assert client.get(f"/v1/mobility/parkings?{NEAR}").status_code == 401
    bad = client.get("/v1/mobility/parkings?lon=5&lat=95", headers=auth())
    assert (bad.status_code, bad.get_json()["code"]) == (422, "validation_failed")
    missing = client.get("/v1/mobility/bikes?lon=5", headers=auth())
    assert missing.status_code == 422
    cursor = client.get(f"/v1/mobility/parkings?{NEAR}&cursor=nope", headers=auth())
    assert (cursor.status_code, cursor.get_json()["code"]) == (400, "invalid_cursor")


def test_bike_stations_near_a_point(app, client, auth, feed_source, now):
    load(
        app,
        feed_source,
        [
            bike_station(1, bikes=0, docks=20, offset_m=150, now=now),
            bike_station(2, offset_m=40, now=now),
        ],
        name="velodi",
        kind="bikes",
    )
    response = client.get(f"/v1/mobility/bikes?{NEAR}", headers=auth())
    assert response.status_code == 200
    assert "ETag" in response.headers
    items = response.get_json()["items"]
    assert [(i["name"], i["bikes_available"], i["docks_available"]) for i in items] == [
        ("Station 2", 7, 13),
        ("Station 1", 0, 20),
    ]
    assert items[0]["capacity"] == 20
    assert items[0]["stale"] is False
    # Bike stations are not car parks.
    parkings = client.get(f"/v1/mobility/parkings?{NEAR}", headers=auth()).get_json()
    assert parkings["items"] == []


def test_a_parking_s_history_in_hourly_aggregates(app, client, auth, feed_source, now):
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    url = feed_source.serve("/parkings.json", [])
    with app.app_context():
        feed, _ = service.put_feed(
            db.session, "parkings", {**PARKING_FEED, "enabled": True, "source_url": url}
        )
        feed_id = feed.id
        db.session.remove()
    # Two observations in one hour, one in the next.
    for minutes, available in ((10, 100), (40, 50), (70, 20)):
        observed = (hour + timedelta(minutes=minutes)).isoformat()
        feed_source.serve(
            "/parkings.json",
            [car_park(1, available=available, total=200, observed=observed, now=now)],
        )
        with app.app_context():
            assert service.poll_feed(db.session, feed_id)["changed"] == 1
    headers = auth()
    parking = client.get(f"/v1/mobility/parkings?{NEAR}", headers=headers).get_json()["items"][0]
    response = client.get(f"/v1/mobility/parkings/{parking['id']}/history", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert "ETag" in response.headers
    history = response.get_json()
    assert history["id"] == parking["id"]
    first, second = history["hours"]
    assert datetime.fromisoformat(first["hour"]) == hour
    assert first == {
        "hour": first["hour"],
        "observations": 2,
        "occupancy_avg": 0.625,
        "free_spaces_avg": 75.0,
        "free_spaces_min": 50,
        "free_spaces_max": 100,
    }
    assert (second["observations"], second["free_spaces_min"]) == (1, 20)
    # A window that ends before them has nothing.
    end = (hour - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    empty = client.get(
        f"/v1/mobility/parkings/{parking['id']}/history?to={end}", headers=headers
    ).get_json()
    assert empty["hours"] == []


def test_history_refuses_a_backwards_or_too_long_period_and_unknown_parkings(client, auth):
    headers = auth()
    for query in (
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
        "to=0001-01-01T00:00:00Z",
    ):
        response = client.get(f"/v1/mobility/parkings/1/history?{query}", headers=headers)
        assert (response.status_code, response.get_json()["code"]) == (422, "invalid_time_range")
    missing = client.get("/v1/mobility/parkings/999/history", headers=headers)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "parking_not_found")
    # A time without offset is taken as UTC, not refused.
    naive = client.get(
        "/v1/mobility/parkings/999/history?from=2026-01-01T00:00:00&to=2026-01-02T00:00:00",
        headers=headers,
    )
    assert naive.status_code == 404


def test_mobility_reads_are_rate_limited_per_address(app, database_url, token_for):
    import uuid

    from tests.conftest import make_app

    limited = make_app(
        database_url,
        RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex[:8]}",
        RATELIMIT_MOBILITY_PER_IP="3/minute",
    )
    client = limited.test_client()
    responses = [
        client.get(
            f"/v1/mobility/parkings?{NEAR}",
            headers={"Authorization": f"Bearer {token_for(uid=f'app-{n}')}"},
        )
        for n in range(4)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].get_json()["code"] == "rate_limited"
    assert int(responses[-1].headers["Retry-After"]) >= 1
    # Each endpoint counts on its own.
    other = client.get(
        f"/v1/mobility/bikes?{NEAR}", headers={"Authorization": f"Bearer {token_for()}"}
    )
    assert other.status_code == 200
