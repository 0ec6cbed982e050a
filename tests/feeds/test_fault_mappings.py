"""The fault mappings are data: admins add, suspend and delete them, and the next poll
follows (over real HTTP into the real database)."""

from sqlalchemy import select

from app.categories.models import Category
from app.feeds import faults, service
from app.feeds.models import FeedFaultMapping
from app.reports.models import Report
from tests.feeds.factories import road_segment, streetlight
from tests.feeds.test_faults import an_asset, reports

LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024)
BASE = "/v1/admin/feed-fault-mappings"


def a_feed(session, url, kind, name) -> int:
    feed, _ = service.put_feed(
        session,
        name,
        {
            "kind": kind,
            "format": "ngsi-ld-document",
            "source_url": url,
            "poll_interval_seconds": 60,
            "freshness_limit_seconds": 600,
            "enabled": True,
        },
    )
    return feed.id


def poll(session, feed_id) -> dict:
    outcome = service.poll_feed(session, feed_id, limits=LIMITS)
    assert outcome["status"] == "ok", outcome
    return outcome["tickets"]


def test_the_shipped_mappings_are_listed(client, auth):
    response = client.get(BASE, headers=auth("admin"))
    assert response.status_code == 200
    assert [
        (m["entity_type"], m["attribute"], m["value"], m["category"]) for m in response.json
    ] == [
        ("Streetlight", "status", "brokenLantern", "streetlight_out"),
        ("Streetlight", "status", "columnIssue", "streetlight_out"),
        ("Streetlight", "status", "defectiveLamp", "streetlight_out"),
        ("Streetlight", "status", "ok", None),
    ]
    assert all(m["active"] for m in response.json)


def test_an_added_mapping_for_traffic_counters_opens_a_ticket(
    session, client, auth, feed_source, now
):
    counter = road_segment(1, status="detectorFault", intensity=0, now=now)
    feed_id = a_feed(session, feed_source.serve("/t.json", [counter]), "traffic", "traffic")
    assert poll(session, feed_id)["opened"] == 0  # not mapped yet
    response = client.put(
        f"{BASE}/TrafficFlowObserved/status/detectorFault",
        json={"category": "other"},
        headers=auth("admin"),
    )
    assert response.status_code == 200, response.json
    assert response.json["category"] == "other"
    assert response.json["active"] is True
    # The entity did not change: the next poll opens the ticket for the stored fault.
    assert poll(session, feed_id) == {"opened": 1, "joined": 0, "recovered": 0, "failed": 0}
    [report] = reports(session)
    category = session.scalar(select(Category).where(Category.code == "other"))
    assert (report.source, report.category_id) == ("sensor", category.id)
    assert "detectorFault" in report.description


def test_a_deactivated_mapping_opens_nothing_until_reactivated(
    session, client, auth, feed_source, now
):
    an_asset(session, "SL-0100")
    lights = [streetlight("SL-0100", "defectiveLamp", now=now)]
    feed_id = a_feed(session, feed_source.serve("/l.json", lights), "streetlights", "lights")
    url = f"{BASE}/Streetlight/status/defectiveLamp"
    off = client.put(
        url, json={"category": "streetlight_out", "active": False}, headers=auth("admin")
    )
    assert off.status_code == 200 and off.json["active"] is False
    assert poll(session, feed_id) == {"opened": 0, "joined": 0, "recovered": 0, "failed": 0}
    assert reports(session) == []
    on = client.put(url, json={"category": "streetlight_out"}, headers=auth("admin"))
    assert on.json["active"] is True
    assert poll(session, feed_id)["opened"] == 1


def test_a_deleted_mapping_opens_nothing(session, client, auth, feed_source, now):
    lights = [streetlight("SL-0101", "columnIssue", now=now)]
    feed_id = a_feed(session, feed_source.serve("/l.json", lights), "streetlights", "lights")
    deleted = client.delete(f"{BASE}/Streetlight/status/columnIssue", headers=auth("admin"))
    assert deleted.status_code == 204
    assert poll(session, feed_id)["opened"] == 0
    again = client.delete(f"{BASE}/Streetlight/status/columnIssue", headers=auth("admin"))
    assert again.status_code == 404
    assert again.json["code"] == "fault_mapping_not_found"


def test_a_power_state_mapping_wins_over_an_ok_status(session, client, auth, feed_source, now):
    """A lamp "ok" by its status but "off" by a mapped power state is a fault, not a repair."""
    client.put(
        f"{BASE}/Streetlight/powerState/off",
        json={"category": "streetlight_out"},
        headers=auth("admin"),
    )
    light = streetlight("SL-0102", "ok", now=now)  # the factory says powerState "on" when ok
    light["powerState"] = "off"
    feed_id = a_feed(session, feed_source.serve("/l.json", [light]), "streetlights", "lights")
    assert poll(session, feed_id) == {"opened": 1, "joined": 0, "recovered": 0, "failed": 0}
    assert poll(session, feed_id) == {"opened": 0, "joined": 0, "recovered": 0, "failed": 0}


def test_unknown_or_inactive_categories_and_bad_keys_are_refused(session, client, auth):
    headers = auth("admin")
    url = f"{BASE}/Streetlight/status/flickering"
    unknown = client.put(url, json={"category": "no_such_thing"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.mimetype == "application/problem+json"
    assert unknown.json["code"] == "unknown_category"
    session.execute(
        Category.__table__.update().where(Category.code == "graffiti").values(active=False)
    )
    session.commit()
    inactive = client.put(url, json={"category": "graffiti"}, headers=headers)
    assert inactive.status_code == 422 and inactive.json["code"] == "unknown_category"
    # A sensor cannot answer a category's required questions: every fault would fail.
    questions = client.put(url, json={"category": "traffic_light_fault"}, headers=headers)
    assert questions.status_code == 422
    assert questions.json["code"] == "fault_category_has_required_questions"
    assert "fault" in questions.json["detail"]
    assert client.put(url, json={}, headers=headers).status_code == 422
    # JSON booleans only: 0 is not false.
    zero = client.put(url, json={"category": "streetlight_out", "active": 0}, headers=headers)
    assert zero.status_code == 422 and "active" in zero.json["errors"]["json"]
    bad_attribute = client.put(
        f"{BASE}/Streetlight/colour/red", json={"category": "streetlight_out"}, headers=headers
    )
    assert bad_attribute.status_code == 422
    assert session.get(FeedFaultMapping, ("Streetlight", "status", "flickering")) is None
    # A "works again" value has no category.
    repaired = client.put(
        f"{BASE}/Streetlight/status/repaired", json={"category": None}, headers=headers
    )
    assert repaired.status_code == 200 and repaired.json["category"] is None


def test_seeding_adds_missing_defaults_and_keeps_an_admin_s_change(session, client, auth):
    client.put(
        f"{BASE}/Streetlight/status/ok",
        json={"category": None, "active": False},
        headers=auth("admin"),
    )
    client.delete(f"{BASE}/Streetlight/status/brokenLantern", headers=auth("admin"))
    assert faults.seed_mappings(session) == 1
    assert faults.seed_mappings(session) == 0
    assert session.get(FeedFaultMapping, ("Streetlight", "status", "ok")).active is False
    assert session.get(FeedFaultMapping, ("Streetlight", "status", "brokenLantern")) is not None
    assert session.scalar(select(Report.id)) is None
