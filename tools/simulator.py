"""A demo feed source serving live-looking Dijon data (``make run`` starts it).

    python -m tools.simulator --port 8001 [--database-url URL] [--at 2026-11-26T08:00:00Z]

``GET /ngsi-ld/v1/entities?type=T`` with ``limit`` (1-1000, default 20), ``offset``,
``options=keyValues`` (else the normalized form) and ``count=true``, for OffStreetParking,
OnStreetParking, BikeHireDockingStation, TrafficFlowObserved, Streetlight, TrafficSignal and
Device (cameras); ``GET /ngsi-ld/v1/entities/{id}`` and ``PATCH .../{id}/attrs`` for the
equipment, which obeys the centre's commands (tools/sim_equipment.py). Car parks,
street zones, bike stations, road segments and bus and tram lines are placed in Dijon by
hand (``tools/data/simulator-dijon.json``); the street lights are a sample of the demo
equipment register (``python -m tools.demo assets generate``), read from the database, so
their references are real asset references.

The bike stations are also a GBFS v3.0 system (``/gbfs/gbfs.json``, ``station_information``,
``station_status``: the same stations and figures as the NGSI-LD entities), and Divia's
buses and trams a GTFS-Realtime VehiclePositions feed (``/gtfs-rt/vehicle-positions.pb``):
vehicles running back and forth along approximate lines at a steady commercial speed.

Every value is a pure function of the time (Europe/Paris for the daily curves) and of the
entity: the same instant gives the same answer, in any process, so tests can predict it.
Occupancy follows smooth daily curves plus seeded noise; traffic has its rush hours; a
street light's faults start in some half-hour windows (hashed from its reference and the
window), last one to four windows, then it reports ``ok`` again.
"""

import argparse
import hashlib
import json
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from google.transit import gtfs_realtime_pb2

from tools import sim_equipment

PARIS = ZoneInfo("Europe/Paris")
ENTITIES_PATH = "/ngsi-ld/v1/entities"
GBFS_PATH = "/gbfs/"
GBFS_FILES = ("gbfs.json", "station_information.json", "station_status.json")
GBFS_VERSION = "3.0"
# Stations move rarely: their information is announced current for an hour.
GBFS_INFORMATION_TTL = 3600
VEHICLES_PATH = "/gtfs-rt/vehicle-positions.pb"
# Vehicles report their position every 15 seconds.
POSITION_SECONDS = 15
CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20  # the NGSI-LD default page size
# Parking and bike values change once a minute; traffic counts cover 5-minute periods.
SAMPLE_SECONDS = 60
TRAFFIC_PERIOD_SECONDS = 300
# A lane carries at most 1,800 vehicles an hour; a vehicle covers a loop detector over its
# length plus the loop's (about 4.5 + 2 m); stopped traffic still leaves gaps. A road is
# congested, as a source flags it, once its speed falls under 40% of its free flow.
LANE_CAPACITY = 1800
EFFECTIVE_VEHICLE_LENGTH_M = 6.5
MAX_OCCUPANCY = 0.95
CONGESTED_SPEED_SHARE = 0.4
# Street-light faults: a fault may start in each half-hour window, and lasts 1-4 windows.
FAULT_WINDOW_SECONDS = 1800
FAULT_START_RATE = 0.002
FAULT_MAX_WINDOWS = 4
FAULTS = ("defectiveLamp", "brokenLantern", "columnIssue")
# How many of the register's street lights are served (every n-th by reference).
STREETLIGHTS = 3000


def unit(*parts) -> float:
    """A number in [0, 1) fixed by ``parts``: the seeded noise (the same in every process,
    unlike ``hash``)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(max(value, low), high)


def floor_time(moment: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the city ------------------------------------------------------------------------------

# Where the car parks, street zones, bike stations, roads and lines are: placed by hand in
# Dijon, kept as data (names, coordinates, capacities) apart from the code that animates them.
DATA_FILE = Path(__file__).resolve().parent / "data" / "simulator-dijon.json"
DIJON = json.loads(DATA_FILE.read_text(encoding="utf-8"))

# Daily occupancy of a car park: a base, bumps (hour, width, height) on working days, and
# how busy Saturdays and Sundays are compared with them.
PROFILES = {
    "centre": (0.12, ((11.5, 2.5, 0.62), (15.5, 2.0, 0.55), (20.5, 1.5, 0.25)), 1.1, 0.45),
    "station": (0.15, ((9.0, 2.0, 0.6), (13.0, 4.0, 0.55), (17.0, 1.5, 0.3)), 0.6, 0.4),
    "shopping": (0.05, ((11.0, 1.5, 0.35), (16.0, 2.5, 0.75)), 1.35, 0.2),
    "park_and_ride": (0.05, ((9.0, 1.5, 0.7), (13.0, 4.5, 0.75), (17.5, 1.0, -0.2)), 0.3, 0.15),
    "hospital": (0.2, ((10.5, 2.5, 0.65), (15.0, 2.5, 0.55)), 0.55, 0.5),
}


@dataclass(frozen=True)
class CarPark:
    slug: str
    name: str
    lon: float
    lat: float
    total: int
    profile: str


CAR_PARKS = tuple(CarPark(**park) for park in DIJON["car_parks"])


@dataclass(frozen=True)
class StreetZone:
    slug: str
    name: str
    lon: float
    lat: float
    total: int

    def outline(self) -> list:
        west, east, south, north = (
            self.lon - 8e-4,
            self.lon + 8e-4,
            self.lat - 2e-4,
            self.lat + 2e-4,
        )
        return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


STREET_ZONES = tuple(StreetZone(**zone) for zone in DIJON["street_zones"])


@dataclass(frozen=True)
class BikeStation:
    slug: str
    name: str
    lon: float
    lat: float
    capacity: int
    central: bool  # fills up in the morning, empties in the evening (else the reverse)


# A station's docks (12 to 24) are seeded by its slug: a real network's stations differ.
BIKE_STATIONS = tuple(
    BikeStation(
        station["slug"],
        station["name"],
        station["lon"],
        station["lat"],
        12 + int(unit("docks", station["slug"]) * 4) * 4,
        station["central"],
    )
    for station in DIJON["bike_stations"]
)


@dataclass(frozen=True)
class Road:
    slug: str
    name: str
    coordinates: tuple
    lanes: int
    free_flow_kmh: float


ROADS = tuple(
    Road(
        road["slug"],
        road["name"],
        tuple(tuple(point) for point in road["coordinates"]),
        road["lanes"],
        road["free_flow_kmh"],
    )
    for road in DIJON["roads"]
)


@dataclass(frozen=True)
class TransitLine:
    """A Divia line: vehicles run back and forth along ``path`` (lon, lat), evenly spaced,
    at ``speed_kmh`` (a commercial speed, stops included)."""

    route_id: str
    name: str
    path: tuple
    vehicles: int
    speed_kmh: float

    @property
    def length(self) -> float:
        return sum(metres(a, b) for a, b in pairwise(self.path))

    @property
    def round_trip_seconds(self) -> float:
        return 2 * self.length / (self.speed_kmh / 3.6)


# APPROXIMATE paths through real Dijon places (stations, squares, termini), not the
# surveyed tracks and routes: enough for a map that moves, not for navigation.
TRANSIT_LINES = tuple(
    TransitLine(
        line["route_id"],
        line["name"],
        tuple((stop["lon"], stop["lat"]) for stop in line["path"]),
        line["vehicles"],
        line["speed_kmh"],
    )
    for line in DIJON["transit_lines"]
)


@dataclass(frozen=True)
class Streetlight:
    reference: str
    lon: float
    lat: float


class City:
    """The simulated city: what each entity type looks like at a given instant."""

    def __init__(
        self, streetlights: list[Streetlight], equipment: sim_equipment.Equipment | None = None
    ):
        self.streetlights = streetlights
        self._faults: dict[int, dict[str, str]] = {}
        # The equipment that obeys commands (tools/sim_equipment.py): signals, cameras, and
        # the commands received by every piece of equipment.
        self.equipment = equipment or sim_equipment.Equipment()
        self._lights = {f"urn:ngsi-ld:Streetlight:dijon:{s.reference}": s for s in streetlights}

    def entities(self, entity_type: str, moment: datetime) -> list[dict]:
        """The entities of ``entity_type`` at ``moment``, key-value form (unknown: none)."""
        builder = {
            "OffStreetParking": self.car_parks,
            "OnStreetParking": self.street_zones,
            "BikeHireDockingStation": self.bike_stations,
            "TrafficFlowObserved": self.traffic,
            "Streetlight": self.lights,
            "TrafficSignal": self.equipment.traffic_signals,
            "Device": self.equipment.devices,
        }.get(entity_type)
        return builder(moment) if builder else []

    def entity(self, entity_id: str, moment: datetime) -> dict | None:
        """One street light, traffic signal or camera by its id (None: unknown)."""
        if entity_id in self._lights:
            return self.lights(moment, [self._lights[entity_id]])[0]
        for entity_type in ("TrafficSignal", "Device"):
            if sim_equipment.entity_type_of(entity_id) == entity_type:
                found = [e for e in self.entities(entity_type, moment) if e["id"] == entity_id]
                return found[0] if found else None
        return None

    def counts(self) -> dict[str, int]:
        return {
            "OffStreetParking": len(CAR_PARKS),
            "OnStreetParking": len(STREET_ZONES),
            "BikeHireDockingStation": len(BIKE_STATIONS),
            "TrafficFlowObserved": len(ROADS),
            "Streetlight": len(self.streetlights),
            "TrafficSignal": len(self.equipment.signals),
            "Device": len(self.equipment.cameras),
        }

    # Parking.

    def car_parks(self, moment: datetime) -> list[dict]:
        sample = floor_time(moment, SAMPLE_SECONDS)
        return [
            _parking(
                "OffStreetParking",
                park.slug,
                park.name,
                park.total,
                occupancy(park.profile, park.slug, sample),
                {"type": "Point", "coordinates": [park.lon, park.lat]},
                sample,
            )
            for park in CAR_PARKS
        ]

    def street_zones(self, moment: datetime) -> list[dict]:
        sample = floor_time(moment, SAMPLE_SECONDS)
        return [
            _parking(
                "OnStreetParking",
                zone.slug,
                zone.name,
                zone.total,
                occupancy("centre", zone.slug, sample),
                {"type": "Polygon", "coordinates": zone.outline()},
                sample,
            )
            for zone in STREET_ZONES
        ]

    # Bikes.

    def bike_stations(self, moment: datetime) -> list[dict]:
        sample = floor_time(moment, SAMPLE_SECONDS)
        return [
            {
                "id": f"urn:ngsi-ld:BikeHireDockingStation:dijon:{station.slug}",
                "type": "BikeHireDockingStation",
                "name": station.name,
                "availableBikeNumber": (bikes := bikes_at(station, sample)),
                "freeSlotNumber": station.capacity - bikes,
                "totalSlotNumber": station.capacity,
                "status": "working",
                "location": {"type": "Point", "coordinates": [station.lon, station.lat]},
                "observationDateTime": iso(sample),
            }
            for station in BIKE_STATIONS
        ]

    # Transit.

    def vehicles(self, moment: datetime) -> list[dict]:
        """Every vehicle of every line at ``moment`` (sampled every POSITION_SECONDS)."""
        sample = floor_time(moment, POSITION_SECONDS)
        return [
            vehicle(line, index, sample) for line in TRANSIT_LINES for index in range(line.vehicles)
        ]

    # Traffic.

    def traffic(self, moment: datetime) -> list[dict]:
        end = floor_time(moment, TRAFFIC_PERIOD_SECONDS)
        start = end - timedelta(seconds=TRAFFIC_PERIOD_SECONDS)
        return [_road(road, start, end) for road in ROADS]

    # Street lights.

    def faults(self, window: int) -> dict[str, str]:
        """The faulty lights of a fault window: reference -> status (cached per window)."""
        if window not in self._faults:
            if len(self._faults) > 8:
                self._faults.clear()
            self._faults[window] = {
                light.reference: status
                for light in self.streetlights
                if (status := fault_status(light.reference, window))
            }
        return self._faults[window]

    def lights(self, moment: datetime, lights: list[Streetlight] | None = None) -> list[dict]:
        window = fault_window(moment)
        since = datetime.fromtimestamp(window * FAULT_WINDOW_SECONDS, UTC)
        faulty = self.faults(window)
        hour = local_hour(moment)
        lit = "on" if hour < 7.5 or hour >= 17.5 else "off"
        entities = [
            {
                "id": f"urn:ngsi-ld:Streetlight:dijon:{light.reference}",
                "type": "Streetlight",
                "status": faulty.get(light.reference, "ok"),
                "powerState": "off" if light.reference in faulty else lit,
                "streetPoleNum": light.reference,
                "location": {"type": "Point", "coordinates": [light.lon, light.lat]},
                "observationDateTime": iso(since),
            }
            for light in (self.streetlights if lights is None else lights)
        ]
        return self.equipment.lights(entities, moment)


def local_hour(moment: datetime) -> float:
    local = moment.astimezone(PARIS)
    return local.hour + local.minute / 60


def day_factor(moment: datetime, saturday: float, sunday: float) -> float:
    weekday = moment.astimezone(PARIS).weekday()
    return saturday if weekday == 5 else sunday if weekday == 6 else 1.0


def occupancy(profile: str, slug: str, sample: datetime) -> float:
    """Share of the spaces taken at ``sample``: the profile's daily curve, scaled by the day
    of the week, plus up to ±3 points of noise seeded by the car park and the minute."""
    base, bumps, saturday, sunday = PROFILES[profile]
    hour = local_hour(sample)
    curve = sum(height * bump(hour, centre, width) for centre, width, height in bumps)
    noise = (unit("parking", slug, int(sample.timestamp())) - 0.5) * 0.06
    return clamp(base + curve * day_factor(sample, saturday, sunday) + noise, 0.0, 0.98)


def _parking(entity_type, slug, name, total, share, location, sample) -> dict:
    available = total - round(total * share)
    return {
        "id": f"urn:ngsi-ld:{entity_type}:dijon:{slug}",
        "type": entity_type,
        "name": name,
        "category": ["public", "feeCharged"],
        "totalSpotNumber": total,
        "availableSpotNumber": available,
        "occupancy": round(1 - available / total, 4),
        "status": ["full"] if available == 0 else ["open", "spacesAvailable"],
        "location": location,
        "observationDateTime": iso(sample),
    }


def bikes_at(station: BikeStation, sample: datetime) -> int:
    """Bikes docked: central stations fill with the morning commute and empty in the
    evening, outer ones the reverse."""
    hour = local_hour(sample)
    swing = 0.35 * bump(hour, 11.5, 3.5) - 0.25 * bump(hour, 19.0, 2.0)
    fill = 0.5 + (swing if station.central else -swing)
    noise = (unit("bikes", station.slug, int(sample.timestamp())) - 0.5) * 0.15
    return round(station.capacity * clamp(fill + noise))


def metres(a: tuple, b: tuple) -> float:
    """Distance between two (lon, lat) points (equirectangular: fine across a city)."""
    mean_lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(mean_lat)
    dy = math.radians(b[1] - a[1])
    return 6_371_000 * math.hypot(dx, dy)


def bearing(a: tuple, b: tuple) -> float:
    """Degrees clockwise from north, from ``a`` towards ``b``."""
    dx = (b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.degrees(math.atan2(dx, b[1] - a[1])) % 360


def along(path: tuple, distance: float) -> tuple[tuple, float]:
    """The point ``distance`` metres along ``path`` and the bearing of its segment."""
    for a, b in pairwise(path):
        step = metres(a, b)
        if distance <= step:
            share = distance / step
            point = (a[0] + (b[0] - a[0]) * share, a[1] + (b[1] - a[1]) * share)
            return point, bearing(a, b)
        distance -= step
    return path[-1], bearing(path[-2], path[-1])


def vehicle(line: TransitLine, index: int, sample: datetime) -> dict:
    """Vehicle ``index`` of ``line``: the line's vehicles are evenly spaced over a round trip
    and run at its speed, so where each is follows from the time alone. A trip is one way
    (direction 0 outbound, 1 back), numbered by the round trips since the epoch."""
    period = line.round_trip_seconds
    trips, phase = divmod(sample.timestamp() / period + index / line.vehicles, 1)
    direction = 0 if phase < 0.5 else 1
    path = line.path if direction == 0 else line.path[::-1]
    point, heading = along(path, (2 * phase - direction) * line.length)
    return {
        "id": f"divia-{line.route_id.lower()}-{index + 1}",
        "label": f"{line.route_id} {index + 1:02d}",
        "route_id": line.route_id,
        "trip_id": f"{line.route_id}-{int(trips)}-{direction}",
        "direction_id": direction,
        "lon": point[0],
        "lat": point[1],
        "bearing": round(heading, 1),
        "speed": round(line.speed_kmh / 3.6, 2),
        "timestamp": int(sample.timestamp()),
    }


def traffic_load(hour: float, slug: str, period: datetime) -> float:
    """0 (empty road) to 1 (demand at the road's capacity): a daytime level with the two rush
    hours on top, scaled by how busy the road is (fixed per road: some saturate at rush
    hour, others stay fluid)."""
    busy = 0.75 + 0.4 * unit("busy", slug)
    rush = max(bump(hour, 8.0, 0.9), bump(hour, 17.75, 1.1))
    noise = (unit("traffic", slug, int(period.timestamp())) - 0.5) * 0.1
    return clamp(0.05 + busy * (0.35 * bump(hour, 13.0, 4.0) + 0.75 * rush) + noise)


def _road(road: Road, start: datetime, end: datetime) -> dict:
    load = traffic_load(local_hour(start), road.slug, end) * day_factor(start, 0.75, 0.5)
    # Vehicles per lane and hour (up to LANE_CAPACITY) and their speed, which falls as the
    # road fills. Occupancy follows from both, as a loop detector measures it: the vehicles
    # per km of lane (flow / speed), each covering the detector over its effective length.
    flow = LANE_CAPACITY * min(1.0, load * 1.2)
    speed = road.free_flow_kmh * (1 - 0.8 * load**2)
    occupancy = min(flow / speed * EFFECTIVE_VEHICLE_LENGTH_M / 1000, MAX_OCCUPANCY)
    return {
        "id": f"urn:ngsi-ld:TrafficFlowObserved:dijon:{road.slug}",
        "type": "TrafficFlowObserved",
        "name": road.name,
        "laneDirection": "forward",
        "intensity": round(road.lanes * flow * TRAFFIC_PERIOD_SECONDS / 3600),
        "occupancy": round(occupancy, 3),
        "averageVehicleSpeed": round(speed, 1),
        "congested": speed < CONGESTED_SPEED_SHARE * road.free_flow_kmh,
        "location": {"type": "LineString", "coordinates": [list(c) for c in road.coordinates]},
        "dateObserved": f"{iso(start)}/{iso(end)}",
        "dateObservedFrom": iso(start),
        "dateObservedTo": iso(end),
    }


def fault_window(moment: datetime) -> int:
    return int(moment.timestamp() // FAULT_WINDOW_SECONDS)


def fault_status(reference: str, window: int) -> str | None:
    """The fault a light reports in ``window``, or None (ok): a fault starts in a window
    with probability FAULT_START_RATE and lasts 1 to FAULT_MAX_WINDOWS windows."""
    for start in range(window - FAULT_MAX_WINDOWS + 1, window + 1):
        if unit("fault", reference, start) < FAULT_START_RATE:
            length = 1 + int(unit("length", reference, start) * FAULT_MAX_WINDOWS)
            if start + length > window:
                return FAULTS[int(unit("kind", reference, start) * len(FAULTS))]
    return None


# --- NGSI-LD forms --------------------------------------------------------------------------

DATE_TIMES = {"observationDateTime", "dateObservedFrom", "dateObservedTo"}


def normalized(entity: dict) -> dict:
    """The normalized NGSI-LD form of a key-value entity."""
    out = {"id": entity["id"], "type": entity["type"]}
    for key, value in entity.items():
        if key in ("id", "type"):
            continue
        if key == "location":
            out[key] = {"type": "GeoProperty", "value": value}
        elif key.startswith("ref"):
            out[key] = {"type": "Relationship", "object": value}
        elif key in DATE_TIMES:
            out[key] = {"type": "Property", "value": {"@type": "DateTime", "@value": value}}
        else:
            out[key] = {"type": "Property", "value": value}
    return out


# --- GBFS and GTFS-Realtime forms ---------------------------------------------------------


def gbfs_document(data: dict, updated: datetime, ttl: int) -> dict:
    return {"last_updated": iso(updated), "ttl": ttl, "version": GBFS_VERSION, "data": data}


def gbfs_discovery(base_url: str, moment: datetime) -> dict:
    feeds = [
        {"name": name.removesuffix(".json"), "url": f"{base_url}{GBFS_PATH}{name}"}
        for name in GBFS_FILES[1:]
    ]
    return gbfs_document({"feeds": feeds}, moment, GBFS_INFORMATION_TTL)


def gbfs_station_information(moment: datetime) -> dict:
    stations = [
        {
            "station_id": station.slug,
            "name": [{"text": station.name, "language": "fr"}],
            "lat": station.lat,
            "lon": station.lon,
            "capacity": station.capacity,
        }
        for station in BIKE_STATIONS
    ]
    return gbfs_document({"stations": stations}, moment, GBFS_INFORMATION_TTL)


def gbfs_station_status(city: City, moment: datetime) -> dict:
    """The NGSI-LD BikeHireDockingStation entities' figures, GBFS-shaped: current until the
    next sample (``ttl``)."""
    sample = floor_time(moment, SAMPLE_SECONDS)
    stations = [
        {
            "station_id": entity["id"].rsplit(":", 1)[1],
            "num_vehicles_available": entity["availableBikeNumber"],
            "num_docks_available": entity["freeSlotNumber"],
            "is_installed": True,
            "is_renting": True,
            "is_returning": True,
            "last_reported": entity["observationDateTime"],
        }
        for entity in city.bike_stations(moment)
    ]
    ttl = SAMPLE_SECONDS - int((moment - sample).total_seconds())
    return gbfs_document({"stations": stations}, sample, ttl)


def vehicle_positions(city: City, moment: datetime) -> bytes:
    """A GTFS-Realtime FeedMessage (full dataset) of every vehicle's position."""
    message = gtfs_realtime_pb2.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = gtfs_realtime_pb2.FeedHeader.FULL_DATASET
    message.header.timestamp = int(floor_time(moment, POSITION_SECONDS).timestamp())
    for found in city.vehicles(moment):
        entity = message.entity.add(id=found["id"])
        position = entity.vehicle
        position.trip.trip_id = found["trip_id"]
        position.trip.route_id = found["route_id"]
        position.trip.direction_id = found["direction_id"]
        position.vehicle.id = found["id"]
        position.vehicle.label = found["label"]
        position.position.longitude = found["lon"]
        position.position.latitude = found["lat"]
        position.position.bearing = found["bearing"]
        position.position.speed = found["speed"]
        position.timestamp = found["timestamp"]
    return message.SerializeToString()


# --- the demo feeds -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoFeed:
    """One feed of the simulator, as `python -m tools.demo feeds demo` registers it."""

    name: str
    kind: str
    entity_type: str
    format: str
    path: str
    interval: int
    freshness: int

    def definition(self, base_url: str) -> dict:
        return {
            "kind": self.kind,
            "format": self.format,
            "source_url": f"{base_url.rstrip('/')}{self.path}",
            "poll_interval_seconds": self.interval,
            "freshness_limit_seconds": self.freshness,
            "enabled": True,
        }


def ngsi_ld(name: str, kind: str, entity_type: str, key_values: bool, *timing: int) -> DemoFeed:
    path = f"{ENTITIES_PATH}?type={entity_type}" + ("&options=keyValues" if key_values else "")
    return DemoFeed(name, kind, entity_type, "ngsi-ld", path, *timing)


# Both NGSI-LD forms are exercised: normalized for parking and traffic, key-values for
# street lights. The bike stations are read as GBFS (the simulator's NGSI-LD bike stations
# are the same stations: registering both would list each station twice). Freshness: a
# few sample periods (street lights change state every half hour at most).
DEMO_FEEDS = (
    ngsi_ld("demo-car-parks", "parking", "OffStreetParking", False, 30, 300),
    ngsi_ld("demo-street-parking", "parking", "OnStreetParking", False, 60, 300),
    DemoFeed(
        "demo-bikes-gbfs",
        "bikes",
        "BikeHireDockingStation",
        "gbfs",
        f"{GBFS_PATH}gbfs.json",
        30,
        300,
    ),
    ngsi_ld("demo-traffic", "traffic", "TrafficFlowObserved", False, 60, 900),
    ngsi_ld("demo-street-lights", "streetlights", "Streetlight", True, 30, 3600),
    ngsi_ld("demo-traffic-signals", "traffic_signals", "TrafficSignal", False, 20, 3600),
    ngsi_ld("demo-cameras", "cameras", "Device", True, 60, 3600),
    DemoFeed("demo-vehicles", "vehicles", "TransitVehicle", "gtfs-rt", VEHICLES_PATH, 20, 120),
)
# Demo feeds of earlier versions that `python -m tools.demo feeds demo` removes: the NGSI-LD bike
# stations, replaced by demo-bikes-gbfs.
RETIRED_DEMO_FEEDS = ("demo-bike-stations",)


# --- the broker -----------------------------------------------------------------------------


class BadRequest(ValueError):
    pass


def page_arguments(query: dict) -> tuple[str, int, int, bool, bool]:
    """``type``, ``limit``, ``offset``, key-values?, count? of an entities query."""

    def one(name: str, default: str | None = None) -> str | None:
        values = query.get(name)
        return values[-1] if values else default

    entity_type = one("type")
    if not entity_type:
        raise BadRequest("type is required (this broker lists entities by type)")
    try:
        limit, offset = int(one("limit", str(DEFAULT_LIMIT))), int(one("offset", "0"))
    except ValueError as exc:
        raise BadRequest("limit and offset must be integers") from exc
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise BadRequest(f"limit must be 1 to {MAX_LIMIT}, offset 0 or more")
    options = set((one("options") or "").split(","))
    return entity_type, limit, offset, "keyValues" in options, one("count") == "true"


class Broker(ThreadingHTTPServer):
    daemon_threads = True
    # The centre sends commands on many connections at once (a selection of a street).
    request_queue_size = 128

    def __init__(self, address, city: City, clock: Callable[[], datetime]):
        super().__init__(address, BrokerHandler)
        self.city = city
        self.clock = clock

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class BrokerHandler(BaseHTTPRequestHandler):
    server: Broker
    server_version = "SignaleFeedSimulator/1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/":
            self._send(200, self._index())
        elif parts.path == ENTITIES_PATH:
            self._entities(parse_qs(parts.query))
        elif parts.path.startswith(f"{ENTITIES_PATH}/"):
            self._entity(unquote(parts.path[len(ENTITIES_PATH) + 1 :]), parse_qs(parts.query))
        elif parts.path.startswith(GBFS_PATH) and parts.path[len(GBFS_PATH) :] in GBFS_FILES:
            self._gbfs(parts.path[len(GBFS_PATH) :])
        elif parts.path == VEHICLES_PATH:
            body = vehicle_positions(self.server.city, self.server.clock())
            self._send_bytes(200, body, "application/x-protobuf")
        else:
            self._error(404, "ResourceNotFound", f"no resource at {parts.path}")

    def do_PATCH(self):
        path = urlsplit(self.path).path
        if path.startswith(f"{ENTITIES_PATH}/") and path.endswith("/attrs"):
            sim_equipment.handle_patch(self, unquote(path[len(ENTITIES_PATH) + 1 : -6]))
        else:
            self._error(404, "ResourceNotFound", f"no resource at {path}")

    def _entity(self, entity_id: str, query: dict) -> None:
        entity = self.server.city.entity(entity_id, self.server.clock())
        if entity is None:
            self._error(404, "ResourceNotFound", f"no entity {entity_id[:100]}")
            return
        if "keyValues" not in ",".join(query.get("options", [])):
            entity = normalized(entity)
        self._send(200, {**entity, "@context": CONTEXT}, "application/ld+json")

    def _index(self) -> dict:
        return {
            "service": "Signale feed simulator (NGSI-LD, GBFS, GTFS-Realtime; demo data for Dijon)",
            "entities": {
                entity_type: f"{self.server.url}{ENTITIES_PATH}?type={entity_type}"
                for entity_type in self.server.city.counts()
            },
            "counts": self.server.city.counts(),
            "gbfs": f"{self.server.url}{GBFS_PATH}gbfs.json",
            "gtfs_rt_vehicle_positions": f"{self.server.url}{VEHICLES_PATH}",
        }

    def _entities(self, query: dict) -> None:
        try:
            entity_type, limit, offset, key_values, count = page_arguments(query)
        except BadRequest as exc:
            self._error(400, "BadRequestData", str(exc))
            return
        found = self.server.city.entities(entity_type, self.server.clock())
        page = found[offset : offset + limit]
        if not key_values:
            page = [normalized(entity) for entity in page]
        page = [{**entity, "@context": CONTEXT} for entity in page]
        headers = {"NGSILD-Results-Count": str(len(found))} if count else {}
        self._send(200, page, "application/ld+json", headers)

    def _gbfs(self, name: str) -> None:
        moment, city = self.server.clock(), self.server.city
        document = {
            "gbfs.json": lambda: gbfs_discovery(self.server.url, moment),
            "station_information.json": lambda: gbfs_station_information(moment),
            "station_status.json": lambda: gbfs_station_status(city, moment),
        }[name]()
        self._send(200, document)

    def _error(self, status: int, kind: str, detail: str) -> None:
        problem = {
            "type": f"https://uri.etsi.org/ngsi-ld/errors/{kind}",
            "title": kind,
            "detail": detail,
        }
        self._send(status, problem)

    def _send(self, status, document, content_type="application/json", headers=None) -> None:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        self._send_bytes(status, body, content_type, headers)

    def _send_bytes(self, status, body: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


# --- the process ----------------------------------------------------------------------------

SAMPLE_LIGHTS = """
SELECT reference, ST_X(geom), ST_Y(geom)
FROM (SELECT reference, geom, row_number() OVER (ORDER BY reference) AS n,
             count(*) OVER () AS total
      FROM assets WHERE kind = 'street_light' AND status <> 'removed') a
WHERE (n - 1) %% GREATEST(1, ceil(total / %(wanted)s::numeric)::int) = 0
ORDER BY reference
"""


def load_streetlights(database_url: str, wanted: int = STREETLIGHTS) -> list[Streetlight]:
    """Every n-th street light of the equipment register, by reference (about ``wanted``)."""
    import psycopg

    from tools.pg import libpq_url

    with psycopg.connect(libpq_url(database_url), connect_timeout=5) as conn:
        rows = conn.execute(SAMPLE_LIGHTS, {"wanted": wanted}).fetchall()
    return [Streetlight(reference, lon, lat) for reference, lon, lat in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="where the street lights are read from (default: DATABASE_URL)",
    )
    parser.add_argument("--streetlights", type=int, default=STREETLIGHTS)
    parser.add_argument(
        "--command-delay", type=float, default=3.0, help="seconds before equipment obeys"
    )
    parser.add_argument(
        "--command-failure-rate", type=float, default=0.03, help="share of commands that fail"
    )
    parser.add_argument(
        "--command-mode",
        choices=sim_equipment.MODES,
        default="normal",
        help="stand-in for a misbehaving broker: error (500), lose, ignore, refuse (422)",
    )
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        help="freeze the clock at this instant (ISO 8601 with offset): replay a rush hour",
    )
    args = parser.parse_args(argv)
    lights: list[Streetlight] = []
    behaviour = sim_equipment.Behaviour(
        delay_seconds=args.command_delay,
        failure_rate=args.command_failure_rate,
        mode=args.command_mode,
    )
    equipment = sim_equipment.Equipment(behaviour=behaviour)
    if args.database_url:
        try:
            lights = load_streetlights(args.database_url, args.streetlights)
            equipment.signals = sim_equipment.load_devices(args.database_url, "traffic_signal", 400)
            equipment.cameras = sim_equipment.load_devices(args.database_url, "camera", 150)
        except Exception as exc:  # a demo without street lights is still a demo
            print(f"feed simulator: no street lights ({exc.__class__.__name__})", file=sys.stderr)
    frozen = args.at.astimezone(UTC) if args.at else None
    try:
        broker = Broker(
            (args.host, args.port), City(lights, equipment), lambda: frozen or datetime.now(UTC)
        )
    except OSError as exc:
        print(
            f"feed simulator: cannot listen on {args.host}:{args.port} ({exc.strerror}): set "
            "SIGNALE_SIMULATOR_PORT, or SIGNALE_SIMULATOR=off",
            file=sys.stderr,
        )
        return 1
    # The launcher stops its children with SIGTERM: leave the serving loop cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"feed simulator on {broker.url} ({len(lights)} street lights)", flush=True)
    try:
        broker.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        broker.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
