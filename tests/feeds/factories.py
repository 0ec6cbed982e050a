"""Dijon-located NGSI-LD entities of the shapes of the Smart Data Models examples."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATA = Path(__file__).parent / "data"
# Place de la Libération, Dijon.
CENTRE = (5.0415, 47.322)


def example(entity_type: str, normalized: bool = False) -> dict:
    suffix = "example-normalized" if normalized else "example"
    return json.loads((DATA / f"{entity_type}.{suffix}.jsonld").read_text())


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat(timespec="seconds")


def normalize(entity: dict) -> dict:
    """The normalized NGSI-LD form of a key-value entity."""
    out = {"id": entity["id"], "type": entity["type"]}
    for key, value in entity.items():
        if key in ("id", "type", "@context"):
            continue
        if key == "location":
            out[key] = {"type": "GeoProperty", "value": value}
        elif key.startswith("ref"):
            out[key] = {"type": "Relationship", "object": value}
        elif key in ("observationDateTime", "dateObservedTo"):
            out[key] = {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
        else:
            out[key] = {"type": "Property", "value": value}
    return out


def car_park(
    number: int,
    *,
    available: int = 120,
    total: int = 400,
    offset_m: float = 0.0,
    observed: str | None = None,
    normalized: bool = False,
    **extra,
) -> dict:
    """A car park ``offset_m`` metres east of the centre (about)."""
    lon = CENTRE[0] + offset_m / 75_500  # metres per degree of longitude at 47.3° N
    entity = {
        "id": f"urn:ngsi-ld:OffStreetParking:dijon:P{number}",
        "type": "OffStreetParking",
        "name": f"Parking {number}",
        "availableSpotNumber": available,
        "totalSpotNumber": total,
        "location": {"type": "Point", "coordinates": [lon, CENTRE[1]]},
        "observationDateTime": observed or ago(minutes=1),
        **extra,
    }
    return normalize(entity) if normalized else entity


def bike_station(number: int, *, bikes: int = 7, docks: int = 13, offset_m: float = 0.0) -> dict:
    lon = CENTRE[0] + offset_m / 75_500
    return {
        "id": f"urn:ngsi-ld:BikeHireDockingStation:dijon:{number}",
        "type": "BikeHireDockingStation",
        "stationName": f"Station {number}",
        "availableBikeNumber": bikes,
        "freeSlotNumber": docks,
        "totalSlotNumber": bikes + docks,
        "status": "working",
        "location": {"type": "Point", "coordinates": [lon, CENTRE[1]]},
        "observationDate": ago(minutes=1),
    }


def streetlight(
    reference: str,
    status: str = "ok",
    *,
    offset_m: float = 0.0,
    observed: str | None = None,
    normalized: bool = False,
    **extra,
) -> dict:
    """A street light ``offset_m`` metres east of the centre, its id ending in ``reference``."""
    lon = CENTRE[0] + offset_m / 75_500
    entity = {
        "id": f"urn:ngsi-ld:Streetlight:dijon:{reference}",
        "type": "Streetlight",
        "status": status,
        "powerState": "off" if status != "ok" else "on",
        "location": {"type": "Point", "coordinates": [lon, CENTRE[1]]},
        "observationDateTime": observed or ago(minutes=1),
        **extra,
    }
    return normalize(entity) if normalized else entity


def road_segment(number: int, *, offset_m: float = 0.0, observed: str | None = None, **values):
    """A TrafficFlowObserved counter on a 200 m segment starting ``offset_m`` east of the centre."""
    lon = CENTRE[0] + offset_m / 75_500
    return {
        "id": f"urn:ngsi-ld:TrafficFlowObserved:dijon:{number}",
        "type": "TrafficFlowObserved",
        "name": f"Segment {number}",
        "location": {
            "type": "LineString",
            "coordinates": [[lon, CENTRE[1]], [lon + 200 / 75_500, CENTRE[1]]],
        },
        "dateObservedTo": observed or ago(minutes=1),
        "laneDirection": "forward",
        **values,
    }
