import pytest
from sqlalchemy import select

from tests.feeds.factories import car_park


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_feeds_add_list_and_poll(cli, feed_source, now):
    url = feed_source.serve("/p.json", [car_park(1, now=now), {"id": "broken"}])
    added = cli(
        "feeds",
        "add",
        "dijon-p",
        "--kind",
        "parking",
        "--format",
        "ngsi-ld-document",
        "--url",
        url,
        "--interval",
        "30",
    )
    assert added.exit_code == 0, added.output
    assert "feed dijon-p: created" in added.output
    polled = cli("feeds", "poll", "dijon-p")
    assert polled.exit_code == 0, polled.output
    assert "ok, 2 entities seen, 1 skipped, 1 changed" in polled.output
    listed = cli("feeds", "list")
    assert "dijon-p  parking  ngsi-ld-document  every 30s  ok" in listed.output
    assert "seen: 2  skipped: 1  failures: 0" in listed.output


def test_feeds_poll_of_a_failing_feed_exits_with_its_error(cli, feed_source):
    url = feed_source.serve("/p.json", b"down", status=502)
    cli("feeds", "add", "down", "--kind", "parking", "--format", "ngsi-ld", "--url", url)
    polled = cli("feeds", "poll", "down")
    assert polled.exit_code == 1
    assert "http_status: the source answered HTTP 502" in polled.output
    assert "failing" in cli("feeds", "list").output


def test_feeds_add_refuses_what_the_api_refuses(cli):
    result = cli(
        "feeds",
        "add",
        "g",
        "--kind",
        "parking",
        "--format",
        "gbfs",
        "--url",
        "http://127.0.0.1:9/gbfs.json",
    )
    assert result.exit_code != 0
    assert "A gbfs feed cannot carry parking data: choose bikes." in result.output
    assert cli("feeds", "poll", "nope").exit_code != 0
    bad_name = cli(
        "feeds",
        "add",
        "Bad Name",
        "--kind",
        "parking",
        "--format",
        "ngsi-ld",
        "--url",
        "http://127.0.0.1:9/",
    )
    assert bad_name.exit_code != 0


def test_feeds_add_subscribes_a_broker_feed_and_refuses_a_document_feed(cli, session):
    from app.feeds.models import Feed

    url = "http://127.0.0.1:9/ngsi-ld/v1/entities?type=Streetlight"
    added = cli("feeds", "add", "l", "--kind", "streetlights", "--format", "ngsi-ld", "--url", url)
    assert added.exit_code == 0, added.output
    again = cli(
        "feeds",
        "add",
        "l",
        "--kind",
        "streetlights",
        "--format",
        "ngsi-ld",
        "--url",
        url,
        "--subscribe",
    )
    assert again.exit_code == 0, again.output
    assert session.scalar(select(Feed.subscribe).where(Feed.name == "l")) is True
    refused = cli(
        "feeds",
        "add",
        "d",
        "--kind",
        "streetlights",
        "--format",
        "ngsi-ld-document",
        "--url",
        "http://127.0.0.1:9/l.json",
        "--subscribe",
    )
    assert refused.exit_code != 0
    assert "only an ngsi-ld feed can receive notifications" in refused.output
