"""GET /v1/mobility/traffic: TrafficFlowObserved segments in a box, as GeoJSON."""

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.feeds import service
from app.mobility.congestion import congestion_level
from tests.feeds.factories import CENTRE, ago, road_segment
from tests.feeds.factories import example as example_entity

FEED = {
    "kind": "traffic",
    "format": "ngsi-ld-document",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}
# Explicit times: what the tests check does not depend on the clock.
OBSERVED_AT = "2026-11-24T11:00:00+01:00"
POLLED_AT = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
# About 1.5 km around the centre.
BOX = f"{CENTRE[0] - 0.02:.4f},{CENTRE[1] - 0.01:.4f},{CENTRE[0] + 0.02:.4f},{CENTRE[1] + 0.01:.4f}"


def load(app, feed_source, entities, name="traffic", now=None):
    url = feed_source.serve(f"/{name}.json", entities)
    with app.app_context():
        feed, _ = service.put_feed(db.session, name, {**FEED, "source_url": url})
        assert service.poll_feed(db.session, feed.id, now=now)["status"] == "ok"
        db.session.remove()


def test_segments_in_the_box_as_geojson_with_congestion_and_freshness(
    app, client, auth, feed_source, now
):
    load(
        app,
        feed_source,
        [
            road_segment(1, intensity=420, averageVehicleSpeed=48.0, occupancy=0.08, now=now),
            road_segment(
                2, offset_m=300, intensity=900, occupancy=0.52, observed=ago(now, hours=1), now=now
            ),
            road_segment(3, offset_m=600, averageVehicleSpeed=12.0, now=now),
            road_segment(4, offset_m=5000, intensity=10, now=now),  # outside the box
        ],
    )
    response = client.get(f"/v1/mobility/traffic?bbox={BOX}", headers=auth())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["next_cursor"] is None
    features = body["features"]
    assert [f["properties"]["name"] for f in features] == ["Segment 1", "Segment 2", "Segment 3"]
    assert all(f["type"] == "Feature" and f["geometry"]["type"] == "LineString" for f in features)
    first = features[0]["properties"]
    assert (first["intensity"], first["average_speed_kmh"], first["occupancy"]) == (420, 48.0, 0.08)
    assert first["source_id"] == "urn:ngsi-ld:TrafficFlowObserved:dijon:1"
    assert first["lane_direction"] == "forward"
    assert [f["properties"]["congestion"] for f in features] == ["free", "heavy", "heavy"]
    # Observed an hour ago, with a 10-minute freshness limit: flagged stale.
    assert [f["properties"]["stale"] for f in features] == [False, True, False]
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(
        f"/v1/mobility/traffic?bbox={BOX}",
        headers={**auth(), "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_traffic_is_cursor_paginated_in_id_order(app, client, auth, feed_source, now):
    load(
        app,
        feed_source,
        [road_segment(n, offset_m=100 * n, intensity=n, now=now) for n in range(1, 6)],
    )
    headers, seen, cursor = auth(), [], None
    while True:
        url = f"/v1/mobility/traffic?bbox={BOX}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [f["properties"]["intensity"] for f in page["features"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("", 422, None),
        ("bbox=5.1,47.3,5.0,47.35", 422, "invalid_area"),
        ("bbox=5,47,5.1", 422, None),
        ("bbox=200,47.3,201,47.35", 422, "invalid_area"),
        ("bbox=5.0,47.3,5.1,47.35&cursor=WzFlMzBd", 400, "invalid_cursor"),  # [1e30]
    ],
)
def test_traffic_refuses_what_is_not_a_box_with_a_problem(client, auth, query, status, code):
    response = client.get(f"/v1/mobility/traffic?{query}", headers=auth())
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    if code:
        assert response.get_json()["code"] == code


def test_a_box_outside_lambert93_s_domain_is_empty(app, client, auth, feed_source, now):
    load(app, feed_source, [road_segment(1, intensity=5, now=now)])
    response = client.get("/v1/mobility/traffic?bbox=100,10,120,20", headers=auth())
    assert response.status_code == 200
    assert response.get_json()["features"] == []


@pytest.mark.parametrize(
    "congested, occupancy, speed, level",
    [
        (True, 0.05, 50.0, "heavy"),
        (None, 0.14, None, "free"),
        (None, 0.15, None, "moderate"),
        (None, 0.35, 50.0, "heavy"),
        (None, None, 35.0, "free"),
        (None, None, 20.0, "moderate"),
        (None, None, 19.9, "heavy"),
        (False, None, None, "free"),
        (None, None, None, "unknown"),
        # The source says the lane was not congested: the measures say moderate at most.
        (False, 0.52, 20.0, "moderate"),
        (False, None, 12.0, "moderate"),
        (False, 0.2, None, "moderate"),
        (False, 0.05, 48.0, "free"),
    ],
)
def test_the_congestion_rule(congested, occupancy, speed, level):
    assert congestion_level(congested, occupancy, speed, 50.0) == level


@pytest.mark.parametrize(
    "values, level",
    [
        # The Smart Data Models example (Valladolid): a detector occupied 76% of the time.
        ({}, "heavy"),
        # Readings of the demo simulator on a Tuesday (Rocade Est at 11:00, Avenue Jean
        # Jaurès at 08:00, Avenue de Langres at 08:00).
        ({"averageVehicleSpeed": 84.2, "occupancy": 0.047, "congested": False}, "free"),
        ({"averageVehicleSpeed": 20.6, "occupancy": 0.568, "congested": False}, "moderate"),
        ({"averageVehicleSpeed": 16.9, "occupancy": 0.694, "congested": True}, "heavy"),
        # A source without occupancy nor flag: the speed against the 50 km/h reference.
        ({"averageVehicleSpeed": 78.7, "occupancy": None, "intensity": 120}, "free"),
    ],
)
def test_the_three_levels_with_real_values_through_the_api(
    app, client, auth, feed_source, values, level
):
    example = {k: v for k, v in example_entity("TrafficFlowObserved").items() if k != "@context"}
    # The example's shape and values, placed in Dijon, with the values of the case.
    entity = {**example, **road_segment(1, now=POLLED_AT, observed=OBSERVED_AT), **values}
    entity = {k: v for k, v in entity.items() if v is not None}
    load(app, feed_source, [entity], now=POLLED_AT)
    response = client.get(f"/v1/mobility/traffic?bbox={BOX}", headers=auth())
    assert response.status_code == 200, response.get_json()
    [feature] = response.get_json()["features"]
    assert feature["properties"]["congestion"] == level


def test_traffic_in_a_box_uses_the_lambert93_gist_index(session, now):
    """20,000 street lights and 300 road segments spread over the metropolis: the box query
    must find its segments through geom_l93's GiST index, never by scanning every entity
    (nor by walking the primary key in id order and filtering each row)."""
    import json
    import random

    from shapely.geometry import LineString, Point
    from sqlalchemy import text

    from app.feeds.states import EntityState
    from app.mobility import queries

    rng = random.Random(11)

    def spot() -> tuple[float, float]:
        return 4.95 + rng.random() * 0.2, 47.27 + rng.random() * 0.1

    lights = [
        EntityState(f"urn:ngsi-ld:Streetlight:{n}", "Streetlight", Point(*spot()), now)
        for n in range(20_000)
    ]
    segments = []
    for n in range(300):
        lon, lat = spot()
        line = LineString([(lon, lat), (lon + 0.003, lat + 0.001)])
        segments.append(
            EntityState(f"urn:ngsi-ld:TrafficFlowObserved:{n}", "TrafficFlowObserved", line, now)
        )
    feeds = {}
    for name, kind in (("lights", "streetlights"), ("traffic", "traffic")):
        feed, _ = service.put_feed(
            session, name, {**FEED, "kind": kind, "source_url": f"http://127.0.0.1:9/{name}"}
        )
        feeds[kind] = feed.id
    service.store_states(session, feeds["streetlights"], lights)
    service.store_states(session, feeds["traffic"], segments)
    session.commit()
    session.execute(text("ANALYZE feed_entities"))
    session.execute(text("ANALYZE feeds"))
    params = {
        "west": CENTRE[0] - 0.02,
        "south": CENTRE[1] - 0.01,
        "east": CENTRE[0] + 0.02,
        "north": CENTRE[1] + 0.01,
        "types": ["TrafficFlowObserved"],
        "after_id": 0,
        "limit": 51,
    }
    plan = session.execute(text("EXPLAIN (FORMAT JSON) " + queries.IN_BOX.text), params).scalar()

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    every = list(nodes(plan[0]["Plan"]))
    indexes = {n["Index Name"] for n in every if "Index Name" in n}
    assert indexes == {"idx_feed_entities_geom_l93"}, json.dumps(plan)
    assert not [
        n
        for n in every
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "feed_entities"
    ], json.dumps(plan)
