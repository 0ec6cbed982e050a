"""The feed registry's admin endpoints."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.feeds import service
from tests.feeds.factories import CENTRE, car_park

PARKING_FEED = {
    "kind": "parking",
    "format": "ngsi-ld-document",
    "source_url": "http://127.0.0.1:9/parkings.json",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
}
NEAR = f"lon={CENTRE[0]}&lat={CENTRE[1]}"


def test_an_admin_registers_reads_lists_replaces_and_deletes_a_feed(client, auth):
    admin = auth("admin")
    created = client.put("/v1/admin/feeds/parkings-dijon", json=PARKING_FEED, headers=admin)
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    assert body["name"] == "parkings-dijon"
    assert body["enabled"] is True
    assert body["health"]["state"] == "never_polled"
    assert body["health"]["consecutive_failures"] == 0
    replaced = client.put(
        "/v1/admin/feeds/parkings-dijon",
        json={**PARKING_FEED, "enabled": False, "poll_interval_seconds": 30},
        headers=admin,
    )
    assert replaced.get_json()["poll_interval_seconds"] == 30
    assert replaced.get_json()["health"]["state"] == "disabled"
    listed = client.get("/v1/admin/feeds", headers=admin).get_json()
    assert [f["name"] for f in listed] == ["parkings-dijon"]
    one = client.get("/v1/admin/feeds/parkings-dijon", headers=admin)
    assert one.get_json()["source_url"] == PARKING_FEED["source_url"]
    assert client.delete("/v1/admin/feeds/parkings-dijon", headers=admin).status_code == 204
    missing = client.get("/v1/admin/feeds/parkings-dijon", headers=admin)
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "feed_not_found"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"format": "gbfs"}, "feed_kind_format_mismatch"),
        ({"format": "gtfs-rt"}, "feed_kind_format_mismatch"),
        ({"format": "gtfs-rt", "kind": "bikes"}, "feed_kind_format_mismatch"),
        ({"kind": "vehicles"}, "feed_kind_format_mismatch"),
        ({"format": "siri"}, "validation_failed"),
        ({"source_url": "http://[::1/x"}, "invalid_feed_url"),
        ({"source_url": "ftp://example.org/x"}, "validation_failed"),
        ({"poll_interval_seconds": 1}, "validation_failed"),
        # JSON booleans only: 0 is not false.
        ({"enabled": 0}, "validation_failed"),
    ],
)
def test_a_feed_whose_format_cannot_carry_its_kind_is_refused(client, auth, change, code):
    response = client.put(
        "/v1/admin/feeds/x", json={**PARKING_FEED, **change}, headers=auth("admin")
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["code"] == code


def test_asking_for_a_poll_makes_the_feed_due_now(app, client, auth):
    admin = auth("admin")
    client.put("/v1/admin/feeds/p", json=PARKING_FEED, headers=admin)
    with app.app_context():
        db.session.execute(text("UPDATE feeds SET next_poll_at = now() + interval '1 hour'"))
        db.session.commit()
        assert service.claim_due_feeds(db.session, lease_seconds=60) == []
    response = client.post("/v1/admin/feeds/p/polls", headers=admin)
    assert response.status_code == 202
    with app.app_context():
        assert len(service.claim_due_feeds(db.session, lease_seconds=60)) == 1


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


def test_a_failing_feed_shows_its_error_in_health(app, client, auth, feed_source, now):
    load(app, feed_source, [car_park(1, now=now)])
    feed_source.serve("/parkings.json", b"boom", status=500)
    with app.app_context():
        feed = service.get_feed(db.session, "parkings")
        service.poll_feed(db.session, feed.id, now=now + timedelta(seconds=1))
    health = client.get("/v1/admin/feeds/parkings", headers=auth("admin")).get_json()["health"]
    assert health["state"] == "failing"
    assert health["last_error_code"] == "http_status"
    assert "500" in health["last_error"]
    assert health["consecutive_failures"] == 1
    # Residents still get the last good state.
    items = client.get(f"/v1/mobility/parkings?{NEAR}", headers=auth()).get_json()["items"]
    assert len(items) == 1
