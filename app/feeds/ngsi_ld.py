"""NGSI-LD entities (FIWARE Smart Data Models), key-value or normalized, into entity states.

Pure functions: a document's bytes in, :class:`EntityState` records and the reasons for
each skipped entity out. One malformed entity is skipped and counted; only a document that
is not NGSI-LD at all fails the poll.
"""

import json
import math
from datetime import UTC, datetime, timedelta

import orjson
import shapely
from shapely.geometry import shape

from app.feeds import vocabulary
from app.feeds.states import EntityState, Malformed
from app.geo.arguments import in_lambert93_domain

# Which entity types a feed of each kind carries.
KIND_TYPES = {
    "parking": ("OffStreetParking", "OnStreetParking", "ParkingSpot"),
    "bikes": ("BikeHireDockingStation",),
    "traffic": ("TrafficFlowObserved",),
    "streetlights": ("Streetlight",),
    # Equipment the control centre runs (app/equipment): no Smart Data Model describes a
    # traffic signal's controller, so ``TrafficSignal`` is ours (docs in app/equipment);
    # cameras are the Smart Data Models' ``Device`` (its ``deviceState``).
    "traffic_signals": ("TrafficSignal",),
    "cameras": ("Device",),
}
# Tuples, not sets: a source may send a list or an object where a type name belongs, which
# a set lookup would answer with a TypeError (the whole poll failing) instead of False.
SHORT_TYPES = frozenset(t for types in KIND_TYPES.values() for t in types)
ATTRIBUTE_TYPES = ("Property", "GeoProperty", "Relationship", "LanguageProperty")
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
# The keys of an entity that are not attributes.
NOT_ATTRIBUTES = frozenset(("id", "type", "@context"))
# Where an entity says when it was observed, most specific first.
OBSERVED_AT_ATTRIBUTES = (
    "dateObservedTo",
    "observationDateTime",
    "dateObserved",
    "observationDate",
    "dateModified",
)
# A sensor clock slightly ahead is tolerated; further ahead, the timestamp is wrong.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_ID_LENGTH = 256
# The attributes by which an entity names the equipment it is, most specific first: matched
# to asset references (then the last segment of its id, then the nearest asset) when a fault
# opens a ticket. Streetlight: refStreetlight (how platforms point at a lamp, as our
# simulator does) and the Smart Data Models' streetPoleNum (the pole's number).
EQUIPMENT_IDENTIFIERS = {
    "Streetlight": ("refStreetlight", "streetPoleNum"),
    "TrafficSignal": ("refTrafficSignal", "controllerNum"),
    # The Smart Data Models' Device: the asset it controls, else its serial number.
    "Device": ("controlledAsset", "serialNumber"),
}


class NotNgsiLd(ValueError):
    """The document as a whole is not NGSI-LD entities (the poll fails)."""


def load_document(body: bytes) -> list:
    """The entities of a JSON document: an array, one entity, or an ``@graph``."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses and the json module reads (UTF-16, a byte order mark, NaN,
        # integers past 64 bits: the entity holding one is refused on its own), or not JSON.
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise NotNgsiLd(f"not JSON ({exc.__class__.__name__})") from exc
    if isinstance(document, dict) and isinstance(document.get("@graph"), list):
        return document["@graph"]
    if isinstance(document, dict) and "id" in document and "type" in document:
        return [document]
    if isinstance(document, list):
        return document
    raise NotNgsiLd("neither an array of entities, an entity nor an @graph")


def short_type(value) -> str:
    """``OffStreetParking`` also when the broker sends the expanded URI."""
    if not isinstance(value, str):
        raise Malformed("type is not a string")
    if value in SHORT_TYPES:
        return value
    return value.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def flatten(entity: dict) -> tuple[dict, list]:
    """``({attribute: value}, [observedAt...])`` of an entity in either form.

    Normalized attributes are objects typed Property/GeoProperty/Relationship with a
    ``value`` (or ``object``); key-value attributes are the values themselves. JSON-LD typed
    values (``{"@type": "DateTime", "@value": ...}``) are unwrapped in both.
    """
    # Run for every entity of every poll: _is_attribute written out inline.
    attributes, observed = {}, []
    for key, raw in entity.items():
        if key in NOT_ATTRIBUTES:
            continue
        if isinstance(raw, list) and raw and all(_is_attribute(item) for item in raw):
            raw = raw[0]  # multi-attribute (datasetId): the first instance
        if (
            isinstance(raw, dict)
            and raw.get("type") in ATTRIBUTE_TYPES
            and ("value" in raw or "object" in raw)
        ):
            value = raw["value"] if "value" in raw else raw["object"]
            if "observedAt" in raw:
                observed.append(raw["observedAt"])
        else:
            value = raw
        if isinstance(value, dict) and "@value" in value:
            value = value["@value"]
        attributes[key] = value
    return attributes, observed


def _is_attribute(raw) -> bool:
    return (
        isinstance(raw, dict)
        and raw.get("type") in ATTRIBUTE_TYPES
        and ("value" in raw or "object" in raw)
    )


def parse_time(value, what: str) -> datetime:
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a date-time string")
    if "/" in value:  # an ISO 8601 interval: the observation ends at its end
        value = value.rsplit("/", 1)[1]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Malformed(f"{what} is not an ISO 8601 date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def observed_at(attributes: dict, observed: list, now: datetime) -> datetime:
    moment = None
    for name in OBSERVED_AT_ATTRIBUTES:
        if attributes.get(name) is not None:
            moment = parse_time(attributes[name], name)
            break
    if moment is None and observed:
        moment = max(parse_time(value, "observedAt") for value in observed)
    if moment is None:
        return now  # the source does not say: as of this poll
    if moment > now + FUTURE_TOLERANCE:
        raise Malformed("observation time is in the future")
    return moment


def geometry(value):
    """The location as a 2D shapely geometry in WGS 84 lon/lat, or Malformed."""
    if value is None:
        raise Malformed("no location")
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise Malformed("location is not a GeoJSON geometry")
    if value["type"] == "Point":
        point = _point(value.get("coordinates"))
        if point is not None:
            return shapely.Point(point)
    if not _numbers_only(value.get("coordinates")):
        raise Malformed("location has invalid coordinates")
    try:
        geom = shapely.force_2d(shape(value))
    except Exception as exc:  # shapely raises many kinds on malformed coordinates
        raise Malformed("location has invalid coordinates") from exc
    if geom.is_empty:
        raise Malformed("location is empty")
    west, south, east, north = geom.bounds
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise Malformed("location has invalid coordinates")
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise Malformed("location is outside longitude -180..180, latitude -90..90")
    if not geom.is_valid:
        # A self-crossing zone outline is common in real feeds: repaired, not refused (and
        # GEOS functions such as ST_PointOnSurface would fail on it when read).
        geom = shapely.make_valid(geom)
    return geom


def _point(coordinates) -> tuple[float, float] | None:
    """A point's 2D ``(lon, lat)`` without going through GeoJSON parsing or shapely (most
    entities are points: this was a third of the parsing time of a large poll), or None to
    take the general path (which says what is wrong)."""
    if type(coordinates) is not list or len(coordinates) not in (2, 3):
        return None
    # JSON numbers are int or float (a bool is an int to isinstance: refused).
    if not all(type(c) is float or type(c) is int for c in coordinates):
        return None
    lon, lat = coordinates[0], coordinates[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # also NaN and infinities
        if any(type(c) is float and not math.isfinite(c) for c in (lon, lat)):
            return None
        raise Malformed("location is outside longitude -180..180, latitude -90..90")
    return float(lon), float(lat)


def point_of(value) -> tuple[float, float] | None:
    """A GeoJSON Point's well-formed ``(lon, lat)``, else None (``geometry`` then reads the
    location, or says what is wrong with it)."""
    if type(value) is dict and value.get("type") == "Point":
        return _point(value.get("coordinates"))
    return None


def _numbers_only(coordinates, depth: int = 0) -> bool:
    """Nested arrays of numbers (shapely would read "5" as 5)."""
    if not isinstance(coordinates, list) or not coordinates or depth > 4:
        return False
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates):
        return True
    return all(_numbers_only(c, depth + 1) for c in coordinates)


MAX_COUNT = 2**31 - 1


def count(attributes: dict, name: str) -> int | None:
    value = attributes.get(name)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case, first
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{name} is not a number")
    # The range first: math.isfinite cannot take an integer past a float's range.
    if value < 0 or value > MAX_COUNT or not math.isfinite(value) or value != int(value):
        raise Malformed(f"{name} is not a whole number of 0 or more")
    return int(value)


def measure(attributes: dict, name: str) -> float | None:
    value = attributes.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{name} is not a number")
    try:
        value = float(value)  # an integer past a float's range cannot be
    except OverflowError as exc:
        raise Malformed(f"{name} is not a number") from exc
    if not math.isfinite(value):
        raise Malformed(f"{name} is not a number")
    if value < 0:
        raise Malformed(f"{name} is negative")
    return value


def fraction(attributes: dict, name: str) -> float | None:
    value = measure(attributes, name)
    if value is not None and value > 1:
        raise Malformed(f"{name} is not a fraction between 0 and 1")
    return value


def text(attributes: dict, name: str, limit: int = 40) -> str | None:
    value = attributes.get(name)
    if isinstance(value, list):  # several values (status has its own choice): the first
        value = value[0] if value else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{name} is not a string")
    return value[:limit] or None


def source_status(attributes: dict, entity_type: str) -> str | None:
    """The status word as the source gave it; of a list (OffStreetParking's ``["open",
    "full"]``), the one saying most."""
    value = attributes.get("status")
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise Malformed("status is not a string")
        # One word (the usual list) needs no ranking.
        value = (
            (value[0] or None) if len(value) == 1 else vocabulary.most_telling(entity_type, value)
        )
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed("status is not a string")
    return value[:40] or None


def identifier(attributes: dict, name: str) -> str | None:
    """An identifier the source gives as a string or a whole number (a pole number); of a
    list (a Relationship to several), the first."""
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise Malformed(f"{name} is not an identifier of 1 to {MAX_ID_LENGTH} characters")
    return value


def flag(attributes: dict, name: str) -> bool | None:
    value = attributes.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise Malformed(f"{name} is not true or false")


def _parking(attributes: dict) -> dict:
    available = count(attributes, "availableSpotNumber")
    capacity = count(attributes, "totalSpotNumber")
    occupied = count(attributes, "occupiedSpotNumber")
    occupancy = fraction(attributes, "occupancy")
    if available is None and capacity is not None and occupied is not None:
        available = max(capacity - occupied, 0)
    if available is not None and capacity is not None and available > capacity:
        raise Malformed("availableSpotNumber is larger than totalSpotNumber")
    if occupancy is None and available is not None and capacity:
        occupancy = round(1 - available / capacity, 4)
    # No status invented from the counts: the API says full or open from them (vocabulary).
    return {"available": available, "capacity": capacity, "occupancy": occupancy}


def _parking_spot(attributes: dict) -> dict:
    status = source_status(attributes, "ParkingSpot")
    available = {"free": 1, "occupied": 0, "closed": 0}.get(status)
    return {
        "available": available,
        "capacity": 1,
        "occupancy": None if available is None else float(1 - available),
        "status": status,
    }


def _bike_station(attributes: dict) -> dict:
    bikes = count(attributes, "availableBikeNumber")
    docks = count(attributes, "freeSlotNumber")
    return {
        "available": bikes,
        "capacity": count(attributes, "totalSlotNumber"),
        "measures": {"free_docks": docks},
    }


def _traffic(attributes: dict) -> dict:
    return {
        "occupancy": fraction(attributes, "occupancy"),
        "measures": {
            "intensity": count(attributes, "intensity"),
            "average_speed": measure(attributes, "averageVehicleSpeed"),
            "congested": flag(attributes, "congested"),
            "lane_direction": text(attributes, "laneDirection"),
        },
    }


def level(attributes: dict, name: str) -> int | None:
    """A relative level (0 to 1, as the Streetlight model's illuminanceLevel) in percent."""
    value = fraction(attributes, name)
    return None if value is None else round(value * 100)


def command_report(attributes: dict) -> dict | None:
    """What the equipment says of the last command it received (``commandStatus``: id,
    status OK/PENDING/ERROR, info), as the IoT Agents' ``<command>_status`` does."""
    value = attributes.get("commandStatus")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed("commandStatus is not an object")
    report = {
        "id": identifier(value, "id"),
        "status": text(value, "status", 20),
        "info": text(value, "info", 200),
    }
    return {k: v for k, v in report.items() if v is not None} or None


def _streetlight(attributes: dict) -> dict:
    return {
        "measures": {
            "power_state": text(attributes, "powerState"),
            "dimming_level": level(attributes, "illuminanceLevel"),
            "control_mode": text(attributes, "controlMode"),
            "command": command_report(attributes),
        },
    }


def _traffic_signal(attributes: dict) -> dict:
    return {
        "measures": {
            "mode": text(attributes, "mode"),
            "command": command_report(attributes),
        },
    }


def _device(attributes: dict) -> dict:
    return {"measures": {"device_state": text(attributes, "deviceState")}}


READERS = {
    "OffStreetParking": _parking,
    "OnStreetParking": _parking,
    "ParkingSpot": _parking_spot,
    "BikeHireDockingStation": _bike_station,
    "TrafficFlowObserved": _traffic,
    "Streetlight": _streetlight,
    "TrafficSignal": _traffic_signal,
    "Device": _device,
}


def parse_entity(entity, kind: str, now: datetime) -> EntityState:
    """One entity of a feed of ``kind``, validated, as an :class:`EntityState`."""
    if not isinstance(entity, dict):
        raise Malformed("not a JSON object")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id or len(entity_id) > MAX_ID_LENGTH:
        raise Malformed(f"id is not a string of 1 to {MAX_ID_LENGTH} characters")
    entity_type = short_type(entity.get("type"))
    if entity_type not in KIND_TYPES.get(kind, ()):
        raise Malformed(f"type {entity_type[:64]} is not carried by a {kind} feed")
    attributes, observed = flatten(entity)
    location = attributes.get("location")
    point = point_of(location)
    geom = None if point is not None else geometry(location)
    values = READERS[entity_type](attributes)
    # The source's own status word, whatever the type (a counter reporting a detector fault:
    # fault mappings may test it); the API maps it to ours (vocabulary).
    values.setdefault("status", source_status(attributes, entity_type))
    given = values.pop("measures", None)
    measures = {k: v for k, v in given.items() if v is not None} if given else {}
    if entity_type in EQUIPMENT_IDENTIFIERS:
        equipment = {
            name: found
            for name in EQUIPMENT_IDENTIFIERS[entity_type]
            if (found := identifier(attributes, name)) is not None
        }
        if equipment:
            measures["equipment"] = equipment
    name = attributes.get("name") or attributes.get("stationName")
    name = name[:200] if isinstance(name, str) else None
    if _holds_nul(entity_id) or _holds_nul(name) or _holds_nul(values) or _holds_nul(measures):
        # PostgreSQL stores no NUL in a text or a jsonb: refused here, alone, rather than
        # failing the whole poll when it is written.
        raise Malformed("a text holds the NUL character (\\u0000)")
    return EntityState(
        entity_id=entity_id,
        entity_type=entity_type,
        name=name,
        geom=geom,
        point=point,
        projectable=in_lambert93_domain(*(point or geom.bounds)),
        observed_at=observed_at(attributes, observed, now),
        measures=measures,
        **values,
    )


def _holds_nul(value) -> bool:
    """Whether a string in ``value`` (a string, or dicts and lists of them) holds NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False
