"""The mobility reads' statements: what their plans use."""

import random

from shapely.geometry import Point
from sqlalchemy import text

from app.feeds import service
from app.feeds.states import EntityState
from app.mobility import queries

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


def test_parkings_near_a_point_use_the_lambert93_gist_index(session, now):
    rng = random.Random(7)

    def spread(entity_type: str, count: int) -> list[EntityState]:
        return [
            EntityState(
                entity_id=f"urn:ngsi-ld:{entity_type}:{n}",
                entity_type=entity_type,
                geom=Point(4.95 + rng.random() * 0.2, 47.27 + rng.random() * 0.1),
                observed_at=now,
            )
            for n in range(count)
        ]

    lights = a_feed(session, "http://127.0.0.1:9/l.json", name="lights", kind="streetlights")
    parkings = a_feed(session, "http://127.0.0.1:9/p.json")
    service.store_states(session, lights, spread("Streetlight", 20_000))
    service.store_states(session, parkings, spread("OffStreetParking", 60))
    session.commit()
    session.execute(text("ANALYZE feed_entities"))
    params = {
        "lon": 5.0415,
        "lat": 47.322,
        "radius": 500,
        "types": ["OffStreetParking", "OnStreetParking", "ParkingSpot"],
        "after_distance": None,
        "after_id": 0,
        "limit": 51,
    }
    plan = session.execute(text("EXPLAIN (FORMAT JSON) " + queries.NEAR.text), params).scalar()

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    every = list(nodes(plan[0]["Plan"]))
    assert "idx_feed_entities_geom_l93" in {n.get("Index Name") for n in every}, plan
    assert not [
        n
        for n in every
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "feed_entities"
    ], plan
