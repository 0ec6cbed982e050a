"""A sensor-opened ticket: attached to the equipment the entity names (every identifier its
Smart Data Model defines, then the nearest asset), and written for an agent in French and
English. Over real HTTP into the real database; every time is explicit."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.assets.models import Asset
from app.feeds import faults, ngsi_ld, service
from app.feeds.models import FeedEntity
from app.feeds.states import Malformed
from app.reports.models import Report
from tests.feeds.factories import CENTRE, example, normalize, road_segment
from tests.feeds.test_faults import FEED, a_feed, an_asset, reports

LIMITS = service.PollLimits(timeout_seconds=2, max_bytes=256 * 1024)
# 18:30 in Dijon: the ticket says so in the city's time.
OBSERVED = "2026-11-24T17:30:00Z"
POLLED = datetime(2026, 11, 24, 17, 31, tzinfo=UTC)


def poll(session, feed_id) -> dict:
    outcome = service.poll_feed(session, feed_id, limits=LIMITS, now=POLLED)
    assert outcome["status"] == "ok", outcome
    return outcome["tickets"]


def guadalajara_light(offset_m: float = 0.0, normalized: bool = False, **changes) -> dict:
    """The shared Smart Data Models Streetlight example (streetPoleNum "2", id ending in
    4567), moved ``offset_m`` east of Dijon's centre and reporting a defective lamp."""
    entity = {k: v for k, v in example("Streetlight").items() if k != "@context"}
    entity.update(
        {
            "status": "defectiveLamp",
            "location": {
                "type": "Point",
                "coordinates": [CENTRE[0] + offset_m / 75_500, CENTRE[1]],
            },
            "observationDateTime": OBSERVED,
            **changes,
        }
    )
    entity = {k: v for k, v in entity.items() if v is not None}
    return normalize(entity) if normalized else entity


def asset_of(report: Report, session) -> str | None:
    return session.scalar(select(Asset.reference).where(Asset.id == report.asset_id))


@pytest.mark.parametrize("normalized", [False, True], ids=["key-values", "normalized"])
def test_the_pole_number_of_the_smart_data_model_finds_the_asset_before_the_nearest(
    session, feed_source, normalized
):
    an_asset(session, "2", offset_m=200)  # the pole the feed names, beyond the snap distance
    an_asset(session, "SL-NEAR", offset_m=5)  # nearer, but the feed names another
    url = feed_source.serve("/l.json", [guadalajara_light(normalized=normalized)])
    assert poll(session, a_feed(session, url))["opened"] == 1
    [report] = reports(session)
    assert asset_of(report, session) == "2"


def test_identifiers_are_tried_in_the_model_s_order_then_the_id_then_the_nearest(
    session, feed_source
):
    for reference, offset in (("LAMP-REF", 300), ("9", 400), ("4567", 500), ("SL-N", 3000)):
        an_asset(session, reference, offset_m=offset)
    lights = [
        # refStreetlight names the lamp: it comes before the pole number and the id.
        guadalajara_light(
            0, id="urn:ngsi-ld:Streetlight:a:4567", refStreetlight="urn:x:LAMP-REF", streetPoleNum=9
        ),
        # A pole number given as a number (refStreetlight naming nothing known, as a
        # list); before the id.
        guadalajara_light(
            1000, id="urn:ngsi-ld:Streetlight:b:4567", streetPoleNum=9, refStreetlight=["u:x"]
        ),
        # A pole number the register does not know: the last segment of the id.
        guadalajara_light(2000, id="urn:ngsi-ld:Streetlight:c:4567", streetPoleNum="77"),
        # Nothing known by name: the nearest asset within the snap distance (10 m away).
        guadalajara_light(2990, id="urn:ngsi-ld:Streetlight:d:0001", streetPoleNum="78"),
    ]
    url = feed_source.serve("/l.json", lights)
    assert poll(session, a_feed(session, url)) == {
        "opened": 4,
        "joined": 0,
        "recovered": 0,
        "failed": 0,
    }
    attached = session.execute(
        select(FeedEntity.entity_id, Asset.reference)
        .join(Report, Report.id == FeedEntity.fault_report_id)
        .join(Asset, Asset.id == Report.asset_id)
    ).all()
    assert dict(attached) == {
        "urn:ngsi-ld:Streetlight:a:4567": "LAMP-REF",
        "urn:ngsi-ld:Streetlight:b:4567": "9",
        "urn:ngsi-ld:Streetlight:c:4567": "4567",
        "urn:ngsi-ld:Streetlight:d:0001": "SL-N",
    }


def test_every_fault_from_an_independent_broker_is_attached_to_the_pole_it_names(
    session, feed_source
):
    """Ten SDM-shaped street lights from a paginated broker, ids of its own, each naming its
    pole by streetPoleNum, 60 m from where the register has it (beyond the 30 m snap)."""
    lights = []
    for n in range(10):
        an_asset(session, f"EP-{n:04d}", offset_m=n * 200 + 60)
        lights.append(
            guadalajara_light(
                n * 200,
                id=f"urn:ngsi-ld:Streetlight:broker:{n:08x}",
                streetPoleNum=f"EP-{n:04d}",
            )
        )
    url = feed_source.serve("/ngsi-ld/v1/entities", pages=lights)
    feed, _ = service.put_feed(
        session, "broker", {**FEED, "format": "ngsi-ld", "source_url": f"{url}?type=Streetlight"}
    )
    outcome = service.poll_feed(
        session, feed.id, limits=service.PollLimits(timeout_seconds=2, page_size=3), now=POLLED
    )
    assert outcome["tickets"] == {"opened": 10, "joined": 0, "recovered": 0, "failed": 0}
    assert sorted(asset_of(r, session) for r in reports(session)) == [
        f"EP-{n:04d}" for n in range(10)
    ]


def test_the_ticket_is_written_for_an_agent_in_french_then_english(session, feed_source):
    an_asset(session, "2", offset_m=200)
    url = feed_source.serve("/l.json", [guadalajara_light()])
    poll(session, a_feed(session, url, name="eclairage-nord"))
    [report] = reports(session)
    assert report.description == (
        "Panne signalée automatiquement par le flux de capteurs « eclairage-nord » : lampe "
        "défectueuse (status = defectiveLamp), observée le 24/11/2026 à 18:30 (heure de "
        "Paris).\n"
        "Équipement : lampadaire 2 (le capteur le désigne par streetPoleNum).\n"
        "Capteur : urn:ngsi-ld:Streetlight:streetlight:guadalajara:4567.\n"
        "\n"
        "Fault reported automatically by the sensor feed “eclairage-nord”: defective lamp "
        "(status = defectiveLamp), observed on 2026-11-24 at 18:30 (Paris time).\n"
        "Equipment: street light 2 (the sensor names it by streetPoleNum).\n"
        "Sensor: urn:ngsi-ld:Streetlight:streetlight:guadalajara:4567."
    )


def test_the_ticket_says_how_the_equipment_was_found_or_that_none_was(session, feed_source):
    an_asset(session, "SL-0001", offset_m=12)
    lights = [
        guadalajara_light(0, id="urn:ngsi-ld:Streetlight:x:1", streetPoleNum=None),
        guadalajara_light(
            3000, id="urn:ngsi-ld:Streetlight:x:2", streetPoleNum=None, status="columnIssue"
        ),
    ]
    poll(session, a_feed(session, feed_source.serve("/l.json", lights)))
    near, alone = reports(session)
    assert (
        "Équipement : lampadaire SL-0001 (l'équipement de ce type le plus proche du capteur, "
        "à 12 m)." in near.description
    )
    assert (
        "Equipment: street light SL-0001 (the nearest of its kind to the sensor, 12 m away)."
        in near.description
    )
    assert alone.asset_id is None
    assert "problème de mât (status = columnIssue)" in alone.description
    assert (
        "Équipement : aucun équipement « lampadaire » du registre ne correspond au capteur ni "
        "ne se trouve à moins de 30 m : à identifier sur place." in alone.description
    )
    assert "Equipment: no street light of the register matches the sensor or is within 30 m" in (
        alone.description
    )


def test_a_counter_s_ticket_names_the_sensor_and_keeps_an_unregistered_word(session, feed_source):
    faults.put_mapping(
        session,
        "TrafficFlowObserved",
        "status",
        "detectorFault",
        {"category": "other", "active": True},
    )
    counter = road_segment(1, now=POLLED, status="detectorFault", intensity=0, observed=OBSERVED)
    feed, _ = service.put_feed(
        session,
        "comptages",
        {**FEED, "kind": "traffic", "source_url": feed_source.serve("/t.json", [counter])},
    )
    poll(session, feed.id)
    [report] = reports(session)
    assert report.description.splitlines() == [
        "Panne signalée automatiquement par le flux de capteurs « comptages » : detectorFault "
        "(status = detectorFault), observée le 24/11/2026 à 18:30 (heure de Paris).",
        "Capteur : Segment 1 (urn:ngsi-ld:TrafficFlowObserved:dijon:1).",
        "",
        "Fault reported automatically by the sensor feed “comptages”: detectorFault "
        "(status = detectorFault), observed on 2026-11-24 at 18:30 (Paris time).",
        "Sensor: Segment 1 (urn:ngsi-ld:TrafficFlowObserved:dijon:1).",
    ]


def test_an_identifier_that_is_not_one_is_refused_with_a_reason():
    with pytest.raises(Malformed, match="streetPoleNum is not an identifier"):
        ngsi_ld.parse_entity(guadalajara_light(streetPoleNum={"n": 2}), "streetlights", POLLED)
    state = ngsi_ld.parse_entity(guadalajara_light(streetPoleNum=2), "streetlights", POLLED)
    assert state.measures["equipment"] == {"streetPoleNum": "2"}
