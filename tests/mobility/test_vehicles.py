"""GET /v1/mobility/vehicles: transit vehicles in a box, as GeoJSON points."""

import pytest

from app.extensions import db
from app.feeds import service
from tests.feeds.factories import CENTRE, message, vehicle

FEED = {
    "kind": "vehicles",
    "format": "gtfs-rt",
    "poll_interval_seconds": 30,
    "freshness_limit_seconds": 120,
    "enabled": True,
}
# About 1.5 km around the centre.
BOX = f"{CENTRE[0] - 0.02:.4f},{CENTRE[1] - 0.01:.4f},{CENTRE[0] + 0.02:.4f},{CENTRE[1] + 0.01:.4f}"


def load(app, feed_source, body: bytes) -> None:
    """Register a GTFS-Realtime feed serving ``body`` and poll it once."""
    url = feed_source.serve("/vehicle-positions.pb", body)
    with app.app_context():
        feed, _ = service.put_feed(db.session, "divia", {**FEED, "source_url": url})
        assert service.poll_feed(db.session, feed.id)["status"] == "ok"
        db.session.remove()


def test_vehicles_are_cursor_paginated_in_id_order(app, client, auth, feed_source, now):
    load(
        app,
        feed_source,
        message(*(vehicle(f"V{n}", offset_m=100 * n, now=now) for n in range(1, 6)), sent=now),
    )
    headers, seen, cursor = auth(), [], None
    while True:
        url = f"/v1/mobility/vehicles?bbox={BOX}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [f["properties"]["source_id"] for f in page["features"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["V1", "V2", "V3", "V4", "V5"]


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("", 422, None),
        ("bbox=5.1,47.3,5.0,47.35", 422, "invalid_area"),
        ("bbox=5,47,5.1", 422, None),
        ("bbox=5.0,47.3,5.1,95", 422, "invalid_area"),
        ("bbox=5.0,47.3,5.1,47.35&cursor=WzFlMzBd", 400, "invalid_cursor"),  # [1e30]
    ],
)
def test_vehicles_refuse_what_is_not_a_box_with_a_problem(client, auth, query, status, code):
    response = client.get(f"/v1/mobility/vehicles?{query}", headers=auth())
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    if code:
        assert response.get_json()["code"] == code


def test_vehicles_are_rate_limited_per_address(app, database_url, token_for):
    import uuid

    from tests.conftest import make_app

    limited = make_app(
        database_url,
        RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex[:8]}",
        RATELIMIT_MOBILITY_PER_IP="2/minute",
    )
    client = limited.test_client()
    responses = [
        client.get(
            f"/v1/mobility/vehicles?bbox={BOX}",
            headers={"Authorization": f"Bearer {token_for(uid=f'app-{n}')}"},
        )
        for n in range(3)
    ]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[-1].get_json()["code"] == "rate_limited"
