"""Dijon-located NGSI-LD entities of the shapes of the Smart Data Models examples.

Every factory that dates what it makes takes ``now``, the instant the poll reading it runs
at (a test's fixed instant, or the ``now`` fixture: the database's clock the service uses):
nothing here reads a clock.
"""

import json
from datetime import datetime, timedelta
from pathlib import Path

from google.transit import gtfs_realtime_pb2

DATA = Path(__file__).parent / "data"
# Place de la Libération, Dijon.
CENTRE = (5.0415, 47.322)


def example(entity_type: str, normalized: bool = False) -> dict:
    suffix = "example-normalized" if normalized else "example"
    return json.loads((DATA / f"{entity_type}.{suffix}.jsonld").read_text())


def ago(now: datetime, **delta) -> str:
    """``delta`` before ``now``, as an NGSI-LD DateTime."""
    return (now - timedelta(**delta)).isoformat(timespec="seconds")


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
    now: datetime,
    available: int = 120,
    total: int = 400,
    offset_m: float = 0.0,
    observed: str | None = None,
    normalized: bool = False,
    **extra,
) -> dict:
    """A car park ``offset_m`` metres east of the centre (about), observed a minute before
    ``now`` unless ``observed`` says when."""
    lon = CENTRE[0] + offset_m / 75_500  # metres per degree of longitude at 47.3° N
    entity = {
        "id": f"urn:ngsi-ld:OffStreetParking:dijon:P{number}",
        "type": "OffStreetParking",
        "name": f"Parking {number}",
        "availableSpotNumber": available,
        "totalSpotNumber": total,
        "location": {"type": "Point", "coordinates": [lon, CENTRE[1]]},
        "observationDateTime": observed or ago(now, minutes=1),
        **extra,
    }
    return normalize(entity) if normalized else entity


def bike_station(
    number: int, *, now: datetime, bikes: int = 7, docks: int = 13, offset_m: float = 0.0
) -> dict:
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
        "observationDate": ago(now, minutes=1),
    }


def streetlight(
    reference: str,
    status: str = "ok",
    *,
    now: datetime,
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
        "observationDateTime": observed or ago(now, minutes=1),
        **extra,
    }
    return normalize(entity) if normalized else entity


def road_segment(
    number: int, *, now: datetime, offset_m: float = 0.0, observed: str | None = None, **values
):
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
        "dateObservedTo": observed or ago(now, minutes=1),
        "laneDirection": "forward",
        **values,
    }


def gbfs_example(file: str) -> list:
    """The ``data.stations`` of the shared GBFS example ``file`` (station_information...)."""
    return json.loads((DATA / f"gbfs-{file}.example.jsonld").read_text())["data"]["stations"]


def gbfs_time(moment: datetime, version: str):
    """POSIX seconds in GBFS v2.3, RFC 3339 in v3.0."""
    return int(moment.timestamp()) if version == "2.3" else moment.isoformat(timespec="seconds")


def gbfs_file(stations: list, version: str, *, now: datetime, ttl: int = 0):
    """A GBFS file of ``stations`` last updated at ``now``."""
    return {
        "last_updated": gbfs_time(now, version),
        "ttl": ttl,
        "version": version,
        "data": {"stations": stations},
    }


def gbfs_stations(version: str, *, reported: datetime) -> tuple[list, list]:
    """The example's stations (station1, station2) placed 100 m apart east of the centre,
    last reported at ``reported``: ``(station_information, station_status)`` entries of this
    GBFS version."""
    template = {
        k: v for k, v in gbfs_example("station_information")[0].items() if k != "station_area"
    }
    statuses = gbfs_example("station_status")
    information = []
    for number, status in enumerate(statuses, 1):
        name = f"Station {number}"
        information.append(
            {
                **template,
                "station_id": status["station_id"],
                "name": name
                if version == "2.3"
                else [
                    {"text": f"{name} (en)", "language": "en"},
                    {"text": name, "language": "fr"},
                ],
                "lat": CENTRE[1],
                "lon": CENTRE[0] + number * 100 / 75_500,
            }
        )
        status["last_reported"] = gbfs_time(reported, version)
        if version == "3.0":
            status["num_vehicles_available"] = status.pop("num_bikes_available")
    return information, statuses


def gbfs_discovery(version: str, urls: dict, *, now: datetime, ttl: int = 0) -> dict:
    """gbfs.json: v2.3 lists the files per language (the English URLs, listed first, are
    not served: French is the one to read), v3.0 once."""
    feeds = [{"name": name, "url": url} for name, url in urls.items()]
    english = [{"name": name, "url": f"{url}.en"} for name, url in urls.items()]
    data = {"feeds": feeds}
    if version == "2.3":
        data = {"en": {"feeds": english}, "fr": {"feeds": feeds}}
    return {
        "last_updated": gbfs_time(now, version),
        "ttl": ttl,
        "version": version,
        "data": data,
    }


def vehicle(vehicle_id: str, *, now: datetime, offset_m: float = 0.0, seen=None, **fields) -> dict:
    """A vehicle ``offset_m`` metres east of the centre (``lat``/``lon`` override it), seen
    20 s before ``now`` unless ``seen`` says when."""
    return {
        "id": vehicle_id,
        "lat": CENTRE[1],
        "lon": CENTRE[0] + offset_m / 75_500,
        "seen": seen or now - timedelta(seconds=20),
        **fields,
    }


def message(*vehicles: dict, sent: datetime) -> bytes:
    """A VehiclePositions FeedMessage of these vehicles sent at ``sent``, serialised."""
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.timestamp = int(sent.timestamp())
    for spec in vehicles:
        entity = feed.entity.add()
        entity.id = f"entity-{spec['id']}"
        position = entity.vehicle
        position.vehicle.id = spec["id"]
        position.vehicle.label = spec.get("label", f"Bus {spec['id']}")
        position.timestamp = int(spec["seen"].timestamp())
        if "route" in spec:
            position.trip.route_id = spec["route"]
            position.trip.trip_id = spec["trip"]
        if "occupancy" in spec:
            position.occupancy_status = spec["occupancy"]
        if spec.get("lat") is not None:
            position.position.latitude = spec["lat"]
            position.position.longitude = spec["lon"]
            for key in ("bearing", "speed"):
                if key in spec:
                    setattr(position.position, key, spec[key])
    return feed.SerializeToString()
