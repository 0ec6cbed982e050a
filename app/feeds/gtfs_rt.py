"""GTFS-Realtime vehicle positions (a protobuf FeedMessage) into vehicle states.

Pure functions: the message's bytes in, one :class:`EntityState` per vehicle out. A message
that is not a FeedMessage fails the poll; a vehicle without a usable position is skipped
and counted. Trip updates and alerts in the same message are not vehicles: ignored.
"""

import math
from datetime import UTC, datetime

import shapely
from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2

from app.feeds.ngsi_ld import FUTURE_TOLERANCE, MAX_ID_LENGTH
from app.feeds.states import EntityState, Malformed, PollResult
from app.geo.arguments import in_lambert93_domain

ENTITY_TYPE = "TransitVehicle"
OCCUPANCY = gtfs_realtime_pb2.VehiclePosition.OccupancyStatus
FULL_DATASET = gtfs_realtime_pb2.FeedHeader.FULL_DATASET


class NotGtfsRealtime(ValueError):
    """The document as a whole is not a usable FeedMessage (the poll fails)."""


def load(body: bytes):
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise NotGtfsRealtime("not a GTFS-Realtime FeedMessage (invalid protobuf)") from exc
    # An empty body parses too: the required header tells a FeedMessage from nothing.
    if not message.IsInitialized():
        raise NotGtfsRealtime("not a GTFS-Realtime FeedMessage (no header)")
    if message.header.incrementality != FULL_DATASET:
        raise NotGtfsRealtime("differential GTFS-Realtime feeds are not supported")
    return message


def _time(seconds: int, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Malformed(f"{what} is out of range") from exc


def _finite(value: float, what: str, low: float, high: float) -> float:
    """A protobuf float in range, to the 7 significant digits a 32-bit float carries
    (47.322 rather than 47.3219985961914)."""
    if not math.isfinite(value) or not low <= value <= high:
        raise Malformed(f"{what} is not between {low:g} and {high:g}")
    return float(f"{value:.7g}")


def vehicle_id(entity) -> str:
    position = entity.vehicle
    value = position.vehicle.id if position.vehicle.id else entity.id
    if not value or len(value) > MAX_ID_LENGTH:
        raise Malformed(f"vehicle id is not a string of 1 to {MAX_ID_LENGTH} characters")
    return value


def vehicle_state(entity, sent_at: datetime, now: datetime) -> EntityState:
    """One vehicle: where it is, when, on which trip, how full."""
    position = entity.vehicle
    if not position.HasField("position"):
        raise Malformed("no position")
    where = position.position
    lat = _finite(where.latitude, "latitude", -90, 90)
    lon = _finite(where.longitude, "longitude", -180, 180)
    if lat == 0 and lon == 0:
        raise Malformed("position is 0, 0 (no GPS fix)")
    observed = sent_at
    if position.HasField("timestamp"):
        observed = _time(position.timestamp, "timestamp")
    if observed > now + FUTURE_TOLERANCE:
        raise Malformed("timestamp is in the future")
    measures = {
        "route_id": position.trip.route_id or None,
        "trip_id": position.trip.trip_id or None,
        "bearing": _finite(where.bearing, "bearing", 0, 360) if where.HasField("bearing") else None,
        "speed_kmh": round(_finite(where.speed, "speed", 0, 100) * 3.6, 1)
        if where.HasField("speed")
        else None,
        "occupancy_status": OCCUPANCY.Name(position.occupancy_status).lower()
        if position.HasField("occupancy_status")
        else None,
    }
    geom = shapely.Point(lon, lat)
    return EntityState(
        entity_id=vehicle_id(entity),
        entity_type=ENTITY_TYPE,
        name=position.vehicle.label[:200] or None,
        geom=geom,
        projectable=in_lambert93_domain(*geom.bounds),
        observed_at=observed,
        measures={k: v for k, v in measures.items() if v is not None},
    )


def read_vehicles(message, now: datetime) -> PollResult:
    """The message's vehicle positions: the whole live set of the feed."""
    sent_at = _header_time(message, now)
    result = PollResult(live=True)
    for entity in message.entity:
        if not entity.HasField("vehicle") or entity.is_deleted:
            continue
        try:
            result.states.append(vehicle_state(entity, sent_at, now))
        except Malformed as exc:
            result.skipped.append(((entity.vehicle.vehicle.id or entity.id or "?")[:256], str(exc)))
    return result


def _header_time(message, now: datetime) -> datetime:
    """When the message was produced (vehicles without a timestamp were seen then)."""
    if not message.header.HasField("timestamp"):
        return now
    try:
        return min(_time(message.header.timestamp, "header timestamp"), now)
    except Malformed as exc:
        raise NotGtfsRealtime(str(exc)) from exc
