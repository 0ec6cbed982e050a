"""The NGSI-LD adapter's parsing, on the Smart Data Models examples and generated entities."""

import json
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from app.feeds import ngsi_ld
from app.feeds.states import Malformed
from tests.feeds.factories import CENTRE, bike_station, car_park, example

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KIND = {
    "OffStreetParking": "parking",
    "OnStreetParking": "parking",
    "ParkingSpot": "parking",
    "BikeHireDockingStation": "bikes",
    "TrafficFlowObserved": "traffic",
    "Streetlight": "streetlights",
}


def parse(entity, kind="parking"):
    return ngsi_ld.parse_entity(entity, kind, NOW)


@pytest.mark.parametrize("entity_type", sorted(KIND))
def test_both_forms_of_every_shared_example_give_the_same_state(entity_type):
    key_values = parse(example(entity_type), KIND[entity_type])
    normalized = parse(example(entity_type, normalized=True), KIND[entity_type])
    left, right = asdict(key_values), asdict(normalized)
    # Some examples date their observation differently in their two forms.
    left.pop("observed_at"), right.pop("observed_at")
    assert left == right
    assert key_values.entity_type == entity_type


def test_an_off_street_car_park_gives_free_spaces_occupancy_and_observation_time():
    state = parse(example("OffStreetParking", normalized=True))
    assert state.entity_id == "urn:ngsi-ld:OffStreetParking:porto-ParkingLot-23889"
    assert (state.available, state.capacity, state.occupancy) == (132, 414, 0.68)
    assert state.status is None  # the source gives none (the API says open from the counts)
    assert state.observed_at == datetime(2021, 3, 11, 15, 51, 2, tzinfo=UTC)
    assert state.name == "Parque de estacionamento Trindade"
    assert state.geom.geom_type == "Point"


def test_an_on_street_zone_keeps_its_polygon_and_a_spot_counts_as_one_space():
    zone = parse(example("OnStreetParking"))
    assert zone.geom.geom_type == "Polygon"
    assert (zone.available, zone.capacity, zone.occupancy) == (3, 6, 0.5)
    spot = parse(example("ParkingSpot", normalized=True))
    assert (spot.status, spot.available, spot.capacity) == ("free", 1, 1)
    # The normalized form dates the spot by its status's observedAt.
    assert spot.observed_at == datetime(2018, 9, 21, 12, 0, tzinfo=UTC)
    # The key-value form does not date it: as of the poll.
    assert parse(example("ParkingSpot")).observed_at == NOW


def test_bike_station_traffic_and_streetlight_values():
    bikes = parse(example("BikeHireDockingStation"), "bikes")
    assert (bikes.available, bikes.capacity, bikes.measures) == (20, 100, {"free_docks": 10})
    assert bikes.name == "Pune"
    traffic = parse(example("TrafficFlowObserved", normalized=True), "traffic")
    assert traffic.measures == {
        "intensity": 197,
        "average_speed": 52.6,
        "lane_direction": "forward",
    }
    assert traffic.occupancy == 0.76
    assert traffic.observed_at == datetime(2016, 12, 7, 11, 15, tzinfo=UTC)
    light = parse(example("Streetlight", normalized=True), "streetlights")
    assert (light.status, light.measures["power_state"]) == ("ok", "off")
    assert light.measures["equipment"] == {"streetPoleNum": "2"}


def test_the_guadalajara_streetlight_is_kept_but_outside_lambert93():
    assert parse(example("Streetlight"), "streetlights").projectable is False
    assert parse(car_park(1, now=NOW)).projectable is True


@pytest.mark.parametrize("normalized", [False, True], ids=["key-values", "normalized"])
def test_generated_dijon_car_parks_in_both_forms(normalized):
    state = parse(car_park(7, available=0, total=50, normalized=normalized, now=NOW))
    assert state.entity_id == "urn:ngsi-ld:OffStreetParking:dijon:P7"
    assert (state.available, state.capacity, state.occupancy, state.status) == (
        0,
        50,
        1.0,
        None,
    )
    assert state.geom.coords[0] == pytest.approx(CENTRE)


def test_expanded_type_uris_and_occupied_counts_are_understood():
    entity = car_park(
        1, type="https://smartdatamodels.org/dataModel.Parking/OffStreetParking", now=NOW
    )
    del entity["availableSpotNumber"]
    entity["occupiedSpotNumber"] = 300
    state = parse(entity)
    assert (state.entity_type, state.available) == ("OffStreetParking", 100)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"availableSpotNumber": "lots"}, "availableSpotNumber is not a number"),
        ({"availableSpotNumber": True}, "availableSpotNumber is not a number"),
        ({"availableSpotNumber": -1}, "not a whole number"),
        ({"availableSpotNumber": 2.5}, "not a whole number"),
        ({"availableSpotNumber": 500}, "larger than totalSpotNumber"),
        ({"occupancy": 68}, "not a fraction"),
        ({"occupancy": float("nan")}, "occupancy is not a number"),
        ({"location": None}, "no location"),
        ({"location": {"type": "Point", "coordinates": [200, 47.3]}}, "outside longitude"),
        ({"location": {"type": "Point", "coordinates": ["5", "47"]}}, "invalid coordinates"),
        ({"location": {"type": "Point", "coordinates": [5.04]}}, "invalid coordinates"),
        ({"location": {"type": "Point", "coordinates": [float("inf"), 47]}}, "invalid"),
        ({"location": {"type": "Circle", "coordinates": [5, 47]}}, "not a GeoJSON geometry"),
        ({"location": "5.04,47.32"}, "not a GeoJSON geometry"),
        ({"observationDateTime": "yesterday"}, "not an ISO 8601"),
        ({"observationDateTime": 1700000000}, "not a date-time string"),
        ({"observationDateTime": "2099-01-01T00:00:00Z"}, "in the future"),
        ({"status": {"open": True}}, "status is not a string"),
        ({"id": 42}, "id is not a string"),
        ({"id": "x" * 300}, "id is not a string"),
        ({"type": "BikeHireDockingStation"}, "not carried by a parking feed"),
        ({"type": ["OffStreetParking"]}, "type is not a string"),
        # PostgreSQL stores no NUL: refused alone, not failing the poll when written.
        ({"name": "Parking\u0000Darcy"}, "NUL character"),
        ({"id": "urn:ngsi-ld:OffStreetParking:\u0000"}, "NUL character"),
        ({"status": "open\u0000"}, "NUL character"),
    ],
)
def test_malformed_entities_are_refused_with_a_reason(change, reason):
    entity = {**car_park(1, now=NOW), **change}
    if entity["location"] is None:
        del entity["location"]
    with pytest.raises(Malformed, match=reason):
        parse(entity)


def test_a_normalized_attribute_with_a_wrong_value_type_is_refused():
    entity = car_park(1, normalized=True, now=NOW)
    entity["totalSpotNumber"] = {"type": "Property", "value": "400"}
    with pytest.raises(Malformed, match="totalSpotNumber is not a number"):
        parse(entity)


def test_an_entity_that_is_not_an_object_is_refused():
    with pytest.raises(Malformed, match="not a JSON object"):
        parse(["urn:ngsi-ld:OffStreetParking:1"])


@pytest.mark.parametrize(
    "body",
    [b"<html>Bad gateway</html>", b"", b"42", b'"entities"', b'{"error": "x"}', b"[" * 100_000],
    ids=["html", "empty", "number", "string", "object", "deep nesting"],
)
def test_a_document_that_is_not_ngsi_ld_is_refused_as_a_whole(body):
    with pytest.raises(ngsi_ld.NotNgsiLd):
        ngsi_ld.load_document(body)


def test_a_document_may_be_an_array_one_entity_or_a_graph():
    entity = bike_station(1, now=NOW)
    assert ngsi_ld.load_document(b"[]") == []
    for document in ([entity], entity, {"@context": [], "@graph": [entity]}):
        import json

        assert ngsi_ld.load_document(json.dumps(document).encode()) == [entity]


def test_a_self_crossing_zone_outline_is_repaired_not_refused():
    bow_tie = [[[5.04, 47.32], [5.05, 47.33], [5.05, 47.32], [5.04, 47.33], [5.04, 47.32]]]
    entity = {**car_park(1, now=NOW), "type": "OnStreetParking"}
    entity["location"] = {"type": "Polygon", "coordinates": bow_tie}
    state = parse(entity)
    assert state.geom.is_valid
    assert state.geom.area > 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("\ufeff[]".encode(), []),  # a byte order mark
        ("[]".encode("utf-16"), []),
        (b'[{"id": "x", "type": "y", "occupancy": NaN}]', [{"id": "x", "type": "y"}]),
    ],
    ids=["bom", "utf-16", "nan"],
)
def test_documents_the_fast_decoder_refuses_are_read_as_before(body, expected):
    entities = ngsi_ld.load_document(body)
    assert [{k: v for k, v in e.items() if k in ("id", "type")} for e in entities] == expected


def test_a_count_past_64_bits_in_a_document_refuses_its_entity():
    body = json.dumps([car_park(1, now=NOW, total=1)]).replace(
        '"totalSpotNumber": 1,', '"totalSpotNumber": 1' + "0" * 30 + ","
    )
    (entity,) = ngsi_ld.load_document(body.encode())
    with pytest.raises(Malformed, match="totalSpotNumber is not a whole number"):
        parse(entity)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"totalSpotNumber": 10**30}, "totalSpotNumber is not a whole number"),
        ({"occupancy": 10**400}, "occupancy is not a number"),
        ({"location": {"type": "Point", "coordinates": [10**400, 47]}}, "outside longitude"),
        ({"location": {"type": ["Point"], "coordinates": [5, 47]}}, "not a GeoJSON geometry"),
        ({"location": {"type": "Point", "coordinates": [5.04, 47.3, "high"]}}, "invalid"),
        ({"location": {"type": "Point", "coordinates": [True, 47.3]}}, "invalid"),
    ],
)
def test_values_that_once_stopped_the_whole_poll_refuse_only_their_entity(change, reason):
    with pytest.raises(Malformed, match=reason):
        parse({**car_park(1, now=NOW), **change})


def test_an_attribute_typed_by_a_list_is_a_plain_value_not_an_error():
    entity = car_park(1, normalized=True, now=NOW)
    entity["name"] = {"type": ["Property"], "value": "P1"}
    # Not an NGSI-LD attribute: the object itself is the name's value, which is no string.
    assert parse(entity).name is None


def test_a_point_keeps_its_numbers_and_a_third_coordinate_is_dropped():
    entity = car_park(1, now=NOW)
    entity["location"] = {"type": "Point", "coordinates": [5, 47.3, 240.5]}
    state = parse(entity)
    assert state.point == (5.0, 47.3)
    assert state.geom.wkt == "POINT (5 47.3)"
    assert state.projectable is True
