"""GBFS (v2.3 and v3.0) bike-share stations into BikeHireDockingStation states.

Pure functions over parsed documents: the ``gbfs.json`` discovery file gives the URLs of
``station_information`` (where each station is) and ``station_status`` (what it has now),
joined per ``station_id``. A document whose envelope is not GBFS fails the poll; one
malformed station is skipped and counted.
"""

import json
import math
from datetime import UTC, datetime, timedelta

import shapely

from app.feeds.ngsi_ld import FUTURE_TOLERANCE, MAX_ID_LENGTH, count
from app.feeds.states import EntityState, Malformed, PollResult
from app.geo.arguments import in_lambert93_domain

ENTITY_TYPE = "BikeHireDockingStation"
FILES = ("station_information", "station_status")
# Station names and the discovery file's language: French first, then English.
LANGUAGES = ("fr", "en")
# A source saying its data stays current longer than this is asked again anyway.
MAX_TTL_SECONDS = 86400


class NotGbfs(ValueError):
    """The document as a whole is not the GBFS file expected (the poll fails)."""


def load(body: bytes, what: str) -> dict:
    """A GBFS file's envelope: an object with ``last_updated``, ``ttl`` and ``data``."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise NotGbfs(f"{what} is not JSON ({exc.__class__.__name__})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise NotGbfs(f"{what} has no data object")
    try:
        last_updated(document.get("last_updated"), "last_updated")
    except Malformed as exc:
        raise NotGbfs(f"{what}: {exc}") from exc
    ttl = document.get("ttl")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise NotGbfs(f"{what}: ttl is not a whole number of seconds")
    return document


def last_updated(value, what: str) -> datetime:
    """A GBFS time: POSIX seconds (v2.3) or RFC 3339 (v3.0)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Malformed(f"{what} is out of range") from exc
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise Malformed(f"{what} is not an RFC 3339 date-time") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise Malformed(f"{what} is not POSIX seconds or an RFC 3339 date-time")


def ttl_seconds(document: dict) -> int:
    return min(document["ttl"], MAX_TTL_SECONDS)


def expires_at(document: dict, now: datetime) -> datetime:
    """When the file's data is due to change: ``ttl`` seconds after it was last updated
    (or after now, when the source's clock is ahead)."""
    updated = min(last_updated(document["last_updated"], "last_updated"), now)
    return updated + timedelta(seconds=ttl_seconds(document))


def _by_language(entries: dict):
    for language in LANGUAGES:
        for key, value in entries.items():
            if key.lower().split("-")[0] == language:
                return value
    return next(iter(entries.values()), None)


def discover(document: dict) -> dict[str, str]:
    """The URLs of station_information and station_status in a discovery file: v3.0's
    ``data.feeds``, or v2.3's ``data.<language>.feeds`` (French, English, else the first)."""
    data = document["data"]
    feeds = data.get("feeds")
    if feeds is None:
        language = _by_language(data)
        feeds = language.get("feeds") if isinstance(language, dict) else None
    if not isinstance(feeds, list):
        raise NotGbfs("the discovery file lists no feeds")
    urls = {
        feed["name"]: feed["url"]
        for feed in feeds
        if isinstance(feed, dict) and isinstance(feed.get("name"), str)
        if isinstance(feed.get("url"), str)
    }
    missing = [name for name in FILES if name not in urls]
    if missing:
        raise NotGbfs(f"the discovery file lists no {' nor '.join(missing)}")
    return {name: urls[name] for name in FILES}


def stations(document: dict, what: str) -> list:
    found = document["data"].get("stations")
    if not isinstance(found, list):
        raise NotGbfs(f"{what} has no data.stations array")
    return found


def station_id(station) -> str:
    if not isinstance(station, dict):
        raise Malformed("not a JSON object")
    value = station.get("station_id")
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise Malformed(f"station_id is not a string of 1 to {MAX_ID_LENGTH} characters")
    return value


def label(station) -> str:
    value = station.get("station_id") if isinstance(station, dict) else None
    return value[:MAX_ID_LENGTH] if isinstance(value, str) and value else "?"


def name(value) -> str | None:
    """v2.3's string, or v3.0's ``[{"text", "language"}]`` (French, English, else the first)."""
    if isinstance(value, list):
        texts = {
            entry.get("language") if isinstance(entry.get("language"), str) else "": entry
            for entry in value
            if isinstance(entry, dict) and isinstance(entry.get("text"), str)
        }
        chosen = _by_language(texts) if texts else None
        value = chosen["text"] if chosen else None
    if value is not None and not isinstance(value, str):
        raise Malformed("name is not a string nor localized strings")
    return value[:200] if value else None


def coordinate(station: dict, key: str, limit: int) -> float:
    value = station.get(key)
    if value is None:
        raise Malformed("no coordinates")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"{key} is not a number")
    if not -limit <= value <= limit:
        raise Malformed("location is outside longitude -180..180, latitude -90..90")
    return float(value)


def information(station) -> tuple[str, dict]:
    """One station of station_information: its id and where it is (JSON-serialisable, kept
    between polls while the file is current)."""
    sid = station_id(station)
    return sid, {
        "name": name(station.get("name")),
        "lon": coordinate(station, "lon", 180),
        "lat": coordinate(station, "lat", 90),
        "capacity": count(station, "capacity"),
    }


def required_flag(station: dict, key: str) -> bool:
    value = station.get(key)
    if not isinstance(value, bool):
        raise Malformed(f"{key} is not true or false")
    return value


def status(station: dict) -> str:
    """BikeHireDockingStation's status: outOfService when not installed or neither renting
    nor returning, withIncidence when only one of them, else working."""
    installed = required_flag(station, "is_installed")
    renting = required_flag(station, "is_renting")
    returning = required_flag(station, "is_returning")
    if not installed or not (renting or returning):
        return "outOfService"
    return "working" if renting and returning else "withIncidence"


def station_state(station: dict, where: dict, updated: datetime, now: datetime) -> EntityState:
    """A station of station_status, joined with its station_information."""
    # v3.0 renamed num_bikes_available num_vehicles_available.
    bikes_key = "num_vehicles_available" if "num_vehicles_available" in station else None
    bikes = count(station, bikes_key or "num_bikes_available")
    if bikes is None:
        raise Malformed("no num_bikes_available")
    observed = updated
    if station.get("last_reported") is not None:
        observed = last_updated(station["last_reported"], "last_reported")
    if observed > now + FUTURE_TOLERANCE:
        raise Malformed("last_reported is in the future")
    docks = count(station, "num_docks_available")
    geom = shapely.Point(where["lon"], where["lat"])
    return EntityState(
        entity_id=station["station_id"],
        entity_type=ENTITY_TYPE,
        name=where["name"],
        geom=geom,
        projectable=in_lambert93_domain(*geom.bounds),
        observed_at=observed,
        status=status(station),
        available=bikes,
        capacity=where["capacity"],
        measures={} if docks is None else {"free_docks": docks},
    )


def read_information(document: dict) -> dict:
    """station_information as kept between polls: ``{"stations": {id: where}, "skipped":
    [[id, reason]...]}``."""
    where, skipped = {}, []
    for station in stations(document, "station_information"):
        try:
            sid, place = information(station)
        except Malformed as exc:
            skipped.append([label(station), str(exc)])
            continue
        where[sid] = place
    return {"stations": where, "skipped": skipped}


def join(information: dict, document: dict, now: datetime) -> PollResult:
    """station_status joined per station_id with station_information (as read_information
    gives it). Each station counts once: skipped when either file's entry is malformed or
    when it is in one file only."""
    where = information["stations"]
    result = PollResult(skipped=[(sid, reason) for sid, reason in information["skipped"]])
    refused = {sid for sid, _ in information["skipped"]}
    updated = last_updated(document["last_updated"], "last_updated")
    reported = set()
    for station in stations(document, "station_status"):
        try:
            sid = station_id(station)
            reported.add(sid)
            if sid in refused:
                continue
            if sid not in where:
                raise Malformed("not in station_information")
            result.states.append(station_state(station, where[sid], updated, now))
        except Malformed as exc:
            result.skipped.append((label(station), str(exc)))
    result.skipped += [(sid, "not in station_status") for sid in sorted(where.keys() - reported)]
    return result
