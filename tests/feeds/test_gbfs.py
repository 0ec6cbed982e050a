"""GBFS v2.3 and v3.0 systems served over real HTTP (a stand-in on 127.0.0.1), polled into
the real database and read back from GET /v1/mobility/bikes."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.feeds import gbfs, service
from app.feeds.models import Feed, FeedEntity
from tests.feeds.factories import (
    CENTRE,
    gbfs_discovery,
    gbfs_file,
    gbfs_stations,
    gbfs_time,
)

LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024)
FEED = {
    "kind": "bikes",
    "format": "gbfs",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}
VERSIONS = ("2.3", "3.0")


def serve(feed_source, version, information, statuses, *, now, ttl=0, information_ttl=None) -> str:
    """Serve a GBFS system whose files were updated at ``now``; returns its gbfs.json URL."""
    urls = {
        "station_information": feed_source.serve(
            "/gbfs/station_information.json",
            gbfs_file(
                information,
                version,
                now=now,
                ttl=ttl if information_ttl is None else information_ttl,
            ),
        ),
        "station_status": feed_source.serve(
            "/gbfs/station_status.json", gbfs_file(statuses, version, now=now, ttl=ttl)
        ),
    }
    return feed_source.serve("/gbfs/gbfs.json", gbfs_discovery(version, urls, now=now, ttl=ttl))


def a_feed(session, url, **changes) -> int:
    feed, _ = service.put_feed(session, "velodi", {**FEED, "source_url": url, **changes})
    return feed.id


def poll(session, feed_id, **kwargs) -> dict:
    return service.poll_feed(session, feed_id, limits=LIMITS, **kwargs)


def stations(session) -> dict:
    rows = session.execute(
        select(FeedEntity.entity_id, FeedEntity.available, FeedEntity.measures)
    ).all()
    session.rollback()
    return {entity_id: (bikes, measures.get("free_docks")) for entity_id, bikes, measures in rows}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_gbfs_system_is_served_by_the_bikes_endpoint_like_ngsi_ld_stations(
    app, client, auth, feed_source, version, now
):
    reported = now.replace(microsecond=0) - timedelta(minutes=2)
    information, statuses = gbfs_stations(version, reported=reported)
    statuses[1]["is_renting"] = False
    url = serve(feed_source, version, information, statuses, now=now)
    with app.app_context():
        outcome = poll(db.session, a_feed(db.session, url))
        db.session.remove()
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 2, 0)

    response = client.get(f"/v1/mobility/bikes?lon={CENTRE[0]}&lat={CENTRE[1]}", headers=auth())
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    got = [
        (
            i["source_id"],
            i["name"],
            i["bikes_available"],
            i["docks_available"],
            i["capacity"],
            i["status"],
            i["source_status"],
            i["stale"],
            i["feed"],
        )
        for i in items
    ]
    # Both versions give the French name: v2.3's string, v3.0's "fr" text, not the "en" one.
    # Our status, and beside it the Smart Data Models word the station's flags give.
    assert got == [
        ("station1", "Station 1", 1, 3, 16, "in_service", "working", False, "velodi"),
        ("station2", "Station 2", 6, 8, 16, "degraded", "withIncidence", False, "velodi"),
    ]
    assert {datetime.fromisoformat(i["observed_at"]) for i in items} == {reported}
    assert items[0]["location"] == {
        "type": "Point",
        "coordinates": [round(CENTRE[0] + 100 / 75_500, 7), CENTRE[1]],
    }
    assert response.headers["Cache-Control"].startswith("public, max-age=")


@pytest.mark.parametrize(
    "installed, renting, returning, status",
    [
        (True, True, True, "working"),
        (True, False, True, "withIncidence"),
        (True, True, False, "withIncidence"),
        (True, False, False, "outOfService"),
        (False, True, True, "outOfService"),
    ],
)
def test_the_station_status_comes_from_installed_renting_and_returning(
    installed, renting, returning, status
):
    station = {"is_installed": installed, "is_renting": renting, "is_returning": returning}
    assert gbfs.status(station) == status


def test_a_file_is_not_fetched_again_before_its_ttl_expires(session, feed_source, now):
    information, statuses = gbfs_stations("3.0", reported=now)
    url = serve(feed_source, "3.0", information, statuses, now=now, ttl=300, information_ttl=3600)
    feed_id = a_feed(session, url)
    assert poll(session, feed_id, now=now)["changed"] == 2
    assert len(feed_source.requests) == 3

    # Within the ttl: nothing fetched, nothing changed, the stations and health kept.
    statuses[0]["num_vehicles_available"] = 9
    statuses[0]["last_reported"] = gbfs_time(now + timedelta(seconds=60), "3.0")
    feed_source.serve(
        "/gbfs/station_status.json",
        gbfs_file(statuses, "3.0", now=now, ttl=300),
    )
    outcome = poll(session, feed_id, now=now + timedelta(seconds=200))
    assert (outcome["status"], outcome["changed"]) == ("ok", 0)
    assert len(feed_source.requests) == 3
    assert stations(session)["station1"] == (1, 3)
    feed = session.get(Feed, feed_id)
    assert (feed.entities_seen, feed.source_ttl_seconds) == (2, 300)
    session.rollback()

    # The status (and discovery) ttl expired, station_information's has not: only they
    # are fetched again.
    outcome = poll(session, feed_id, now=now + timedelta(seconds=301))
    assert (outcome["status"], outcome["changed"]) == ("ok", 1)
    assert feed_source.requests[3:] == ["/gbfs/gbfs.json", "/gbfs/station_status.json"]
    assert stations(session)["station1"] == (9, 3)


def test_the_freshness_limit_counts_the_source_s_ttl(app, client, auth, feed_source, now):
    information, statuses = gbfs_stations("2.3", reported=now)
    statuses[0]["last_reported"] = gbfs_time(now - timedelta(seconds=800), "2.3")
    statuses[1]["last_reported"] = gbfs_time(now - timedelta(seconds=1000), "2.3")
    # Freshness limit 600 s + ttl 300 s: 800 s old is still current, 1000 s is stale.
    url = serve(feed_source, "2.3", information, statuses, now=now, ttl=300)
    with app.app_context():
        assert poll(db.session, a_feed(db.session, url))["status"] == "ok"
        db.session.remove()
    items = client.get(
        f"/v1/mobility/bikes?lon={CENTRE[0]}&lat={CENTRE[1]}", headers=auth()
    ).get_json()["items"]
    assert [(i["source_id"], i["stale"]) for i in items] == [
        ("station1", False),
        ("station2", True),
    ]


def test_malformed_stations_are_skipped_counted_and_explained(session, feed_source, now):
    information, statuses = gbfs_stations("2.3", reported=now)
    extra = [dict(information[0], station_id=f"s{n}") for n in range(3, 8)]
    del extra[0]["lat"]  # s3: no coordinates
    extra[1]["lat"] = 95  # s4: out of range
    extra[2]["lon"] = "5.04"  # s5: wrong type
    information += extra
    more = [dict(statuses[0], station_id=f"s{n}") for n in range(3, 9)]
    more[3]["num_bikes_available"] = "many"  # s6
    more[4]["is_renting"] = "yes"  # s7
    # s8: in station_status only
    statuses += more
    statuses[1]["last_reported"] = gbfs_time(now + timedelta(hours=1), "2.3")
    feed_id = a_feed(session, serve(feed_source, "2.3", information, statuses, now=now))
    outcome = poll(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 8, 7)
    assert list(stations(session)) == ["station1"]
    feed = session.get(Feed, feed_id)
    assert feed.skipped_examples == [
        {"entity": "s3", "reason": "no coordinates"},
        {"entity": "s4", "reason": "location is outside longitude -180..180, latitude -90..90"},
        {"entity": "s5", "reason": "lon is not a number"},
        {"entity": "station2", "reason": "last_reported is in the future"},
        {"entity": "s6", "reason": "num_bikes_available is not a number"},
        {"entity": "s7", "reason": "is_renting is not true or false"},
        {"entity": "s8", "reason": "not in station_information"},
    ]


def discovery_without_status(feed_source, now):
    document = gbfs_discovery(
        "3.0",
        {"station_information": feed_source.url("/gbfs/station_information.json")},
        now=now,
    )
    return {"path": "/gbfs/gbfs.json", "document": document}


def information_all_malformed(feed_source, now):
    document = gbfs_file([{"station_id": "station1"}], "3.0", now=now)
    return {"path": "/gbfs/station_information.json", "document": document}


def discovery_of_a_local_file(feed_source, now):
    document = gbfs_discovery(
        "2.3",
        {
            "station_information": feed_source.url("/gbfs/station_information.json"),
            "station_status": "file:///etc/passwd",
        },
        now=now,
    )
    return {"path": "/gbfs/gbfs.json", "document": document}


FAILURES = {
    "discovery of a local file": (discovery_of_a_local_file, "not_gbfs"),
    "discovery not json": ({"path": "/gbfs/gbfs.json", "document": b"<html>"}, "not_gbfs"),
    "discovery without station_status": (discovery_without_status, "not_gbfs"),
    "discovery http 500": ({"path": "/gbfs/gbfs.json", "status": 500}, "http_status"),
    "status http 500": ({"path": "/gbfs/station_status.json", "status": 500}, "http_status"),
    "status without stations": (
        {
            "path": "/gbfs/station_status.json",
            "document": {"ttl": 0, "last_updated": 1, "data": {}},
        },
        "not_gbfs",
    ),
    "status with a text ttl": (
        {
            "path": "/gbfs/station_status.json",
            "document": {"ttl": "60", "last_updated": 1, "data": {"stations": []}},
        },
        "not_gbfs",
    ),
    "status timeout": ({"path": "/gbfs/station_status.json", "hang": True}, "timeout"),
    "information stations all malformed": (information_all_malformed, "no_valid_entities"),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_broken_gbfs_file_fails_the_poll_and_keeps_the_last_good_state(
    session, feed_source, failure, now
):
    information, statuses = gbfs_stations("3.0", reported=now)
    feed_id = a_feed(session, serve(feed_source, "3.0", information, statuses, now=now))
    assert poll(session, feed_id)["status"] == "ok"
    good_state = session.get(Feed, feed_id).source_state
    session.rollback()

    options, code = FAILURES[failure]
    options = dict(options(feed_source, now) if callable(options) else options)
    feed_source.serve(options.pop("path"), **options)
    later = now + timedelta(seconds=1)
    outcome = poll(session, feed_id, now=later)
    assert (outcome["status"], outcome["error"]) == ("failed", code)
    assert stations(session) == {"station1": (1, 3), "station2": (6, 8)}
    feed = session.get(Feed, feed_id)
    assert (feed.last_error_code, feed.consecutive_failures) == (code, 1)
    assert feed.last_error
    assert feed.source_state == good_state
    assert feed.next_poll_at == later + timedelta(seconds=120)


@pytest.mark.parametrize(
    "value, expected",
    [
        (1609866125, datetime(2021, 1, 5, 17, 2, 5, tzinfo=UTC)),
        ("2021-01-05T18:02:05+01:00", datetime(2021, 1, 5, 17, 2, 5, tzinfo=UTC)),
    ],
)
def test_gbfs_times_are_posix_seconds_or_rfc3339(value, expected):
    assert gbfs.last_updated(value, "last_reported") == expected


@pytest.mark.parametrize("value", ["yesterday", 10**20, True, None, 3.5])
def test_a_gbfs_time_of_another_shape_is_malformed(value):
    with pytest.raises(gbfs.Malformed):
        gbfs.last_updated(value, "last_reported")
