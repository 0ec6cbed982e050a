"""Equipment faults from a streetlight feed become tickets, over real HTTP and the real
database (routing, duplicates and events included)."""

from sqlalchemy import func, select

from app.assets.service import put_asset
from app.categories.models import Category
from app.feeds import service
from app.feeds.models import FeedEntity
from app.reports.models import Report
from app.triage.models import ReportEvent
from tests.factories import make_report
from tests.feeds.factories import CENTRE, ago, streetlight

LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024)
FEED = {
    "kind": "streetlights",
    "format": "ngsi-ld-document",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}


def a_feed(session, url, name="lights") -> int:
    feed, _ = service.put_feed(session, name, {**FEED, "source_url": url})
    return feed.id


def an_asset(session, reference: str, offset_m: float = 0.0) -> int:
    lon = CENTRE[0] + offset_m / 75_500
    asset, _ = put_asset(
        session,
        reference,
        {
            "kind": "street_light",
            "status": "in_service",
            "location": {"lon": lon, "lat": CENTRE[1]},
        },
    )
    session.commit()
    return asset.id


def poll(session, feed_id) -> dict:
    outcome = service.poll_feed(session, feed_id, limits=LIMITS)
    assert outcome["status"] == "ok", outcome
    return outcome["tickets"]


def reports(session) -> list[Report]:
    found = list(session.scalars(select(Report).order_by(Report.id)))
    session.rollback()
    return found


def events(session, action="sensor_ok") -> list[ReportEvent]:
    found = list(session.scalars(select(ReportEvent).where(ReportEvent.action == action)))
    session.rollback()
    return found


def test_a_defect_opens_exactly_one_ticket_however_many_polls_repeat_it(session, feed_source, now):
    asset_id = an_asset(session, "SL-0042", offset_m=5)
    an_asset(session, "SL-0043", offset_m=2)  # nearer, but the reference decides
    feed_id = a_feed(
        session,
        feed_source.serve(
            "/l.json", [streetlight("SL-0042", "ok", observed=ago(now, minutes=40), now=now)]
        ),
    )
    assert poll(session, feed_id)["opened"] == 0
    for minutes, status in ((30, "defectiveLamp"), (20, "defectiveLamp"), (10, "brokenLantern")):
        feed_source.serve(
            "/l.json", [streetlight("SL-0042", status, observed=ago(now, minutes=minutes), now=now)]
        )
        poll(session, feed_id)
    [report] = reports(session)
    category = session.scalar(select(Category).where(Category.code == "streetlight_out"))
    assert report.source == "sensor"
    assert report.reporter_uid == "sensor:lights"
    assert report.category_id == category.id
    assert report.asset_id == asset_id
    assert report.status == "new"
    assert report.desk_id is not None  # routed like any report
    assert report.commune_insee == "21231"
    assert session.scalar(select(FeedEntity.fault_report_id)) == report.id


def test_repeating_the_same_poll_opens_no_second_ticket(session, feed_source, now):
    an_asset(session, "SL-1")
    url = feed_source.serve("/l.json", [streetlight("SL-1", "columnIssue", now=now)])
    feed_id = a_feed(session, url)
    assert poll(session, feed_id) == {"opened": 1, "joined": 0, "recovered": 0, "failed": 0}
    assert poll(session, feed_id) == {"opened": 0, "joined": 0, "recovered": 0, "failed": 0}
    assert len(reports(session)) == 1


def test_ok_afterwards_adds_a_staff_event_and_leaves_the_ticket_open(session, feed_source, now):
    an_asset(session, "SL-7")
    feed_id = a_feed(
        session,
        feed_source.serve(
            "/l.json",
            [streetlight("SL-7", "defectiveLamp", observed=ago(now, minutes=20), now=now)],
        ),
    )
    poll(session, feed_id)
    feed_source.serve(
        "/l.json", [streetlight("SL-7", "ok", observed=ago(now, minutes=10), now=now)]
    )
    assert poll(session, feed_id)["recovered"] == 1
    [event] = events(session)
    [report] = reports(session)
    assert (event.report_id, event.actor_uid, event.public) == (report.id, "sensor:lights", False)
    assert event.from_status == event.to_status == report.status == "new"
    assert event.details["entity"] == "urn:ngsi-ld:Streetlight:dijon:SL-7"
    # Still ok: no second event. Faulty again while the ticket is open: no second ticket.
    feed_source.serve("/l.json", [streetlight("SL-7", "ok", observed=ago(now, minutes=5), now=now)])
    assert poll(session, feed_id)["recovered"] == 0
    feed_source.serve(
        "/l.json", [streetlight("SL-7", "defectiveLamp", observed=ago(now, minutes=1), now=now)]
    )
    assert poll(session, feed_id) == {"opened": 0, "joined": 1, "recovered": 0, "failed": 0}
    assert len(reports(session)) == 1
    assert len(events(session)) == 1


def test_an_unmapped_status_opens_nothing(session, feed_source, now):
    an_asset(session, "SL-9")
    feed_id = a_feed(
        session, feed_source.serve("/l.json", [streetlight("SL-9", "dimmed", now=now)])
    )
    assert poll(session, feed_id) == {"opened": 0, "joined": 0, "recovered": 0, "failed": 0}
    assert reports(session) == []


def test_a_fault_on_an_asset_with_an_open_report_joins_it(session, feed_source, client, auth, now):
    asset_id = an_asset(session, "SL-5")
    resident_id = make_report(
        session,
        reference="DIJ-2026-900001",
        category="streetlight_out",
        status="acknowledged",
        desk=None,
        crew=None,
        asset_id=asset_id,
        reporter="resident-1",
        at=CENTRE,
        commune=None,
    )
    feed_id = a_feed(
        session, feed_source.serve("/l.json", [streetlight("SL-5", "brokenLantern", now=now)])
    )
    assert poll(session, feed_id)["joined"] == 1
    assert [r.id for r in reports(session)] == [resident_id]
    assert session.scalar(select(FeedEntity.fault_report_id)) == resident_id


def test_the_asset_is_the_named_one_else_the_nearest_within_the_snap_distance(
    session, feed_source, now
):
    named = an_asset(session, "LAMP-A", offset_m=45)  # beyond the snap: named only
    near = an_asset(session, "LAMP-B", offset_m=112)
    an_asset(session, "LAMP-C", offset_m=160)  # 60 m away: beyond the 30 m snap distance
    lights = [
        # Normalized, naming its equipment by refStreetlight (a Relationship).
        streetlight(
            "X1",
            "defectiveLamp",
            normalized=True,
            refStreetlight="urn:ngsi-ld:Asset:LAMP-A",
            now=now,
        ),
        streetlight("X2", "defectiveLamp", offset_m=100, now=now),
    ]
    feed_id = a_feed(session, feed_source.serve("/l.json", lights))
    assert poll(session, feed_id)["opened"] == 2
    assert [r.asset_id for r in reports(session)] == [named, near]


def test_a_fault_outside_the_area_is_counted_and_the_poll_still_succeeds(session, feed_source, now):
    paris = {"type": "Point", "coordinates": [2.3522, 48.8566]}
    feed_id = a_feed(
        session,
        feed_source.serve("/l.json", [streetlight("P1", "defectiveLamp", location=paris, now=now)]),
    )
    assert poll(session, feed_id) == {"opened": 0, "joined": 0, "recovered": 0, "failed": 1}
    assert reports(session) == []
    assert session.scalar(select(func.count()).select_from(FeedEntity)) == 1
