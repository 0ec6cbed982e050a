"""Status words of the Smart Data Models mapped to ours, the source's word kept beside it:
residents' apps read one vocabulary whatever broker the city plugs in. Every time is
explicit."""

from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.feeds import ngsi_ld, service, vocabulary
from app.mobility.schemas import BikeStationSchema, ParkingSchema
from tests.feeds.factories import CENTRE, bike_station, car_park, example

OBSERVED = "2026-11-24T10:00:00Z"
POLLED = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)
NEAR = f"lon={CENTRE[0]}&lat={CENTRE[1]}&radius=2000&limit=50"
FEED = {
    "format": "ngsi-ld-document",
    "poll_interval_seconds": 60,
    "freshness_limit_seconds": 600,
    "enabled": True,
}


def load(app, feed_source, name: str, kind: str, entities: list) -> None:
    url = feed_source.serve(f"/{name}.json", entities)
    with app.app_context():
        feed, _ = service.put_feed(db.session, name, {**FEED, "kind": kind, "source_url": url})
        assert service.poll_feed(db.session, feed.id, now=POLLED)["status"] == "ok"
        db.session.remove()


def statuses(client, auth, what: str) -> dict:
    response = client.get(f"/v1/mobility/{what}?{NEAR}", headers=auth())
    assert response.status_code == 200, response.get_json()
    return {
        i["source_id"].rsplit(":", 1)[1]: (i["status"], i["source_status"])
        for i in response.get_json()["items"]
    }


def test_two_brokers_words_for_an_open_car_park_read_the_same(app, client, auth, feed_source):
    load(
        app,
        feed_source,
        "broker-a",
        "parking",
        [car_park(1, status="spacesAvailable", now=POLLED, observed=OBSERVED)],
    )
    load(
        app,
        feed_source,
        "broker-b",
        "parking",
        [car_park(2, status="open", now=POLLED, observed=OBSERVED, offset_m=100)],
    )
    assert statuses(client, auth, "parkings") == {
        "P1": ("open", "spacesAvailable"),
        "P2": ("open", "open"),
    }


def test_every_parking_word_maps_and_a_list_is_read_by_its_most_telling_word(
    app, client, auth, feed_source
):
    spot = {k: v for k, v in example("ParkingSpot").items() if k != "@context"}
    spot.update(
        id="urn:ngsi-ld:ParkingSpot:dijon:S1",
        location={"type": "Point", "coordinates": [CENTRE[0] + 700 / 75_500, CENTRE[1]]},
        observationDateTime=OBSERVED,
    )
    entities = [
        car_park(1, status=["open", "full"], available=0, now=POLLED, observed=OBSERVED),
        car_park(2, status="closedAbnormal", offset_m=100, now=POLLED, observed=OBSERVED),
        car_park(3, status="almostFull", available=4, offset_m=200, now=POLLED, observed=OBSERVED),
        car_park(4, status="fullAtEntrance", offset_m=300, now=POLLED, observed=OBSERVED),
        # An application-specific word: ours says unknown, the source's is kept.
        car_park(5, status="maintenance", offset_m=400, now=POLLED, observed=OBSERVED),
        # No word at all: ours from the counts, nothing beside it.
        car_park(6, available=0, offset_m=500, now=POLLED, observed=OBSERVED),
        car_park(7, available=12, offset_m=600, now=POLLED, observed=OBSERVED),
        spot,  # the Smart Data Models example: "free"
    ]
    load(app, feed_source, "parkings", "parking", entities)
    assert statuses(client, auth, "parkings") == {
        "P1": ("full", "full"),
        "P2": ("closed", "closedAbnormal"),
        "P3": ("almost_full", "almostFull"),
        "P4": ("full", "fullAtEntrance"),
        "P5": ("unknown", "maintenance"),
        "P6": ("full", None),
        "P7": ("open", None),
        "S1": ("open", "free"),
    }


def test_bike_station_words_map_to_ours(app, client, auth, feed_source):
    stations = []
    for number, status in enumerate(("working", "outOfService", "withIncidence", "empty"), 1):
        station = bike_station(number, now=POLLED, offset_m=number * 100)
        station.update(status=status, observationDate=OBSERVED)
        stations.append(station)
    load(app, feed_source, "bikes", "bikes", stations)
    assert statuses(client, auth, "bikes") == {
        "1": ("in_service", "working"),
        "2": ("out_of_service", "outOfService"),
        "3": ("degraded", "withIncidence"),
        "4": ("in_service", "empty"),
    }


@pytest.mark.parametrize("schema, kind", [(ParkingSchema, "parking"), (BikeStationSchema, "bikes")])
def test_the_api_documents_our_statuses_from_the_registry(client, schema, kind):
    components = client.get("/openapi.json").get_json()["components"]["schemas"]
    documented = components[schema.__name__.removesuffix("Schema")]
    assert documented["properties"]["status"]["enum"] == list(vocabulary.STATUSES[kind])
    assert {"status", "source_status"} <= set(documented["required"])


def test_every_registered_status_word_maps_into_its_kind_s_vocabulary():
    for kind, types in ngsi_ld.KIND_TYPES.items():
        for entity_type in types:
            for word in vocabulary.WORDS.get((entity_type, "status"), {}).values():
                assert word.ours is None or word.ours in vocabulary.STATUSES[kind], (
                    entity_type,
                    word,
                )
