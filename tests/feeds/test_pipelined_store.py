"""A poll's states stored chunk by chunk while the next are read, against the same poll
stored in one chunk: the same stored state, the same refusals, and nothing kept of a poll
that fails part-way, whether the source or the database fails."""

import contextlib
import functools
from dataclasses import replace

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from app.extensions import db
from app.feeds import service
from app.feeds.models import Feed, FeedEntity, FeedObservation
from tests.feeds.factories import ago, car_park

# Pages of 4 entities; chunks of 3 (and 1 and 2) cut across them.
LIMITS = service.PollLimits(timeout_seconds=5, max_bytes=1024 * 1024, page_size=4)
ONE_SHOT = replace(LIMITS, store_chunk=1_000_000)
CHUNKS = (1, 2, 3)
FEED = {
    "kind": "parking",
    "format": "ngsi-ld",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}
P = "urn:ngsi-ld:OffStreetParking:dijon:P"


def a_feed(session, url, name) -> int:
    feed, _ = service.put_feed(session, name, {**FEED, "source_url": url})
    return feed.id


def stored(session, feed_id) -> dict:
    """Everything a poll leaves of a feed: its entities, their history and its health."""
    entities = session.execute(
        select(
            FeedEntity.entity_id,
            FeedEntity.entity_type,
            FeedEntity.name,
            func.ST_AsEWKT(FeedEntity.geom),
            func.ST_AsEWKT(FeedEntity.geom_l93),
            FeedEntity.observed_at,
            FeedEntity.status,
            FeedEntity.available,
            FeedEntity.capacity,
            FeedEntity.occupancy,
            FeedEntity.measures,
        )
        .where(FeedEntity.feed_id == feed_id)
        .order_by(FeedEntity.entity_id)
    ).all()
    history = session.execute(
        select(
            FeedEntity.entity_id,
            FeedObservation.observed_at,
            FeedObservation.status,
            FeedObservation.available,
            FeedObservation.capacity,
            FeedObservation.occupancy,
            FeedObservation.measures,
        )
        .join(FeedEntity, FeedEntity.id == FeedObservation.entity_pk)
        .where(FeedEntity.feed_id == feed_id)
        .order_by(FeedEntity.entity_id, FeedObservation.observed_at)
    ).all()
    feed = session.get(Feed, feed_id)
    health = (
        feed.entities_seen,
        feed.entities_skipped,
        feed.skipped_examples,
        feed.last_error_code,
        feed.consecutive_failures,
    )
    session.rollback()
    return {
        "entities": [tuple(row) for row in entities],
        "history": [tuple(row) for row in history],
        "health": health,
    }


def without_name(outcome: dict) -> dict:
    return {key: value for key, value in outcome.items() if key != "feed"}


def first_poll(now) -> list:
    """Duplicates in different chunks (newer later, as new later, older later), a malformed
    entity and a non-entity in the middle of chunks, and a last partial chunk."""
    bad = {**car_park(6, now=now), "availableSpotNumber": "many"}
    return [
        car_park(1, available=10, observed=ago(now, minutes=5), now=now),
        car_park(2, available=20, observed=ago(now, minutes=3), now=now),
        car_park(3, available=30, observed=ago(now, minutes=1), now=now),
        car_park(4, available=40, now=now, normalized=True),
        bad,
        car_park(5, available=50, now=now),
        "not an entity",
        car_park(1, available=11, observed=ago(now, minutes=2), now=now),
        car_park(7, available=70, now=now, normalized=True),
        car_park(2, available=21, observed=ago(now, minutes=3), now=now),
        car_park(3, available=31, observed=ago(now, minutes=6), now=now),
    ]


def second_poll(now) -> list:
    """Against what the first stored: as old as it (twice, in two chunks), newer, new twice."""
    return [
        car_park(2, available=22, observed=ago(now, minutes=3), now=now),
        car_park(5, available=51, observed=ago(now, seconds=30), now=now),
        car_park(9, available=90, observed=ago(now, minutes=4), now=now),
        car_park(1, available=12, observed=ago(now, minutes=2), now=now),
        car_park(3, total="x", now=now),
        car_park(2, available=23, observed=ago(now, minutes=3), now=now),
        car_park(9, available=91, observed=ago(now, minutes=4), now=now),
    ]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_a_poll_stored_in_chunks_leaves_what_one_chunk_leaves(session, feed_source, now, chunk):
    url = feed_source.serve("/ngsi-ld/v1/entities", pages=first_poll(now))
    url += "?type=OffStreetParking"
    chunked, one_shot = a_feed(session, url, "chunked"), a_feed(session, url, "one-shot")
    chunks = replace(LIMITS, store_chunk=chunk)

    for entities in (first_poll(now), second_poll(now)):
        feed_source.routes["/ngsi-ld/v1/entities"].pages = entities
        outcome = service.poll_feed(session, chunked, limits=chunks, now=now)
        expected = service.poll_feed(session, one_shot, limits=ONE_SHOT, now=now)
        assert without_name(outcome) == without_name(expected)
        assert stored(session, chunked) == stored(session, one_shot)

    # And what both leave is what one list says: the latest observation of each entity,
    # the later of two as new, nothing older than what is stored.
    assert (outcome["seen"], outcome["skipped"], outcome["changed"]) == (7, 1, 2)
    entities = {row[0]: row[7] for row in stored(session, chunked)["entities"]}
    assert entities == {
        f"{P}1": 11,
        f"{P}2": 21,
        f"{P}3": 30,
        f"{P}4": 40,
        f"{P}5": 51,
        f"{P}7": 70,
        f"{P}9": 91,
    }
    history = [(row[0], row[3]) for row in stored(session, chunked)["history"]]
    assert history == [
        (f"{P}1", 11),
        (f"{P}2", 21),
        (f"{P}3", 30),
        (f"{P}4", 40),
        (f"{P}5", 50),
        (f"{P}5", 51),
        (f"{P}7", 70),
        (f"{P}9", 91),
    ]
    skipped = session.get(Feed, chunked).skipped_examples
    assert skipped == [{"entity": f"{P}3", "reason": "totalSpotNumber is not a number"}]


@pytest.mark.parametrize("history", (True, False), ids=("history", "live"))
@pytest.mark.parametrize("chunk", CHUNKS)
def test_states_stored_in_chunks_are_what_one_chunk_stores(session, now, chunk, history):
    """The store itself, duplicates on either side of a chunk's end included, for feeds
    with a history and live ones."""
    from app.feeds import ngsi_ld

    states = [
        ngsi_ld.parse_entity(entity, "parking", now)
        for entity in first_poll(now) + second_poll(now)
        if isinstance(entity, dict)
        and entity["availableSpotNumber"] != "many"
        and entity["totalSpotNumber"] != "x"
    ]
    chunked = a_feed(session, "http://127.0.0.1:9/p", "chunked")
    one_shot = a_feed(session, "http://127.0.0.1:9/p", "one-shot")
    store = functools.partial(service.store_states, session, history=history)
    assert store(chunked, states, chunk_size=chunk) == 7
    assert store(one_shot, states, chunk_size=len(states)) == 7
    assert store(chunked, iter(states), chunk_size=chunk) == 0
    assert store(chunked, iter(()), chunk_size=chunk) == 0
    session.commit()
    assert stored(session, chunked)["entities"] == stored(session, one_shot)["entities"]
    assert stored(session, chunked)["history"] == stored(session, one_shot)["history"]


def test_an_empty_poll_is_the_same_in_chunks(session, feed_source, now):
    url = feed_source.serve("/ngsi-ld/v1/entities", pages=[]) + "?type=OffStreetParking"
    chunked, one_shot = a_feed(session, url, "chunked"), a_feed(session, url, "one-shot")
    outcome = service.poll_feed(session, chunked, limits=replace(LIMITS, store_chunk=2))
    expected = service.poll_feed(session, one_shot, limits=ONE_SHOT)
    assert without_name(outcome) == without_name(expected)
    assert (outcome["status"], outcome["seen"], outcome["changed"]) == ("ok", 0, 0)
    assert stored(session, chunked) == stored(session, one_shot)


def test_nothing_valid_over_several_pages_fails_the_poll_and_stores_nothing(
    session, feed_source, now
):
    malformed = [{**car_park(n, now=now), "totalSpotNumber": "x"} for n in range(1, 7)]
    url = feed_source.serve("/ngsi-ld/v1/entities", pages=malformed) + "?type=OffStreetParking"
    chunked, one_shot = a_feed(session, url, "chunked"), a_feed(session, url, "one-shot")
    outcome = service.poll_feed(session, chunked, limits=replace(LIMITS, store_chunk=2))
    expected = service.poll_feed(session, one_shot, limits=ONE_SHOT)
    assert without_name(outcome) == without_name(expected)
    assert (outcome["status"], outcome["error"], outcome["seen"]) == (
        "failed",
        "no_valid_entities",
        6,
    )
    assert stored(session, chunked) == stored(session, one_shot)
    assert stored(session, chunked)["entities"] == []


def test_a_later_page_failing_keeps_nothing_of_the_poll(session, feed_source, now):
    """Page 1's chunk was written in the poll's transaction before page 2 failed: it goes
    too, and the feed's health says nothing of the cut-short read's entities."""
    path = "/ngsi-ld/v1/entities"
    first = [car_park(n, available=n, observed=ago(now, minutes=5), now=now) for n in range(1, 7)]
    url = feed_source.serve(path, pages=first) + "?type=OffStreetParking"
    feed_id = a_feed(session, url, "parkings")
    limits = replace(LIMITS, store_chunk=2)
    assert service.poll_feed(session, feed_id, limits=limits, now=now)["changed"] == 6
    before = stored(session, feed_id)

    route = feed_source.routes[path]
    route.pages = [car_park(n, available=50 + n, now=now) for n in range(1, 7)]

    def fail_after_the_first_page(offset):
        route.status = 500 if offset else 200

    route.before = fail_after_the_first_page
    outcome = service.poll_feed(session, feed_id, limits=limits, now=now)
    assert (outcome["status"], outcome["error"], outcome["changed"]) == (
        "failed",
        "http_status",
        0,
    )
    assert feed_source.requests[-1].endswith("offset=4")
    after = stored(session, feed_id)
    assert after["entities"] == before["entities"]
    assert after["history"] == before["history"]
    assert after["health"][:3] == before["health"][:3]
    assert after["health"][3:] == ("http_status", 1)


@pytest.mark.processes  # the poll's own connection, ended by the server mid-poll
def test_the_database_failing_mid_poll_rolls_the_whole_poll_back(
    app, database_url, feed_source, now
):
    path = "/ngsi-ld/v1/entities"
    first = [car_park(n, available=n, observed=ago(now, minutes=5), now=now) for n in range(1, 9)]
    url = feed_source.serve(path, pages=first) + "?type=OffStreetParking"
    limits = replace(LIMITS, store_chunk=3)
    with app.app_context():
        feed_id = a_feed(db.session, url, "parkings")
        assert service.poll_feed(db.session, feed_id, limits=limits)["changed"] == 8
        before = stored(db.session, feed_id)
        db.session.remove()

    route = feed_source.routes[path]
    route.pages = [car_park(n, available=50 + n, now=now) for n in range(1, 9)]
    ended = []

    def end_the_polls_connection(offset):
        # Page 1's first chunk is written (COPY'd, its statement sent) in the poll's
        # transaction: the server ends that transaction's connection now.
        if offset and not ended:
            with psycopg.connect(database_url, autocommit=True) as admin:
                ended.extend(
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND xact_start IS NOT NULL"
                    ).fetchall()
                )

    route.before = end_the_polls_connection
    with app.app_context():
        with pytest.raises((psycopg.OperationalError, sa_exc.DBAPIError)):
            service.poll_feed(db.session, feed_id, limits=limits)
        with contextlib.suppress(sa_exc.DBAPIError, psycopg.Error):
            db.session.rollback()
        db.session.remove()
    assert ended == [(True,)]

    with app.app_context():
        after = stored(db.session, feed_id)
        db.session.remove()
    assert after == before
