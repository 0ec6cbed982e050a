"""GeoJSON geometries sent by admins: checked for shape here, for validity by PostGIS."""

import json
import math
import re

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Unprocessable
from app.geo.models import WGS84

MAX_POSITIONS = 50_000


def _problem(field: str, reason: str) -> Unprocessable:
    return Unprocessable(
        "invalid_geometry", field=field, reason=reason, errors={"json": {field: [reason]}}
    )


def _check_position(position, where: str) -> str | None:
    if not isinstance(position, list) or len(position) not in (2, 3):
        return f"{where}: a position is [longitude, latitude]"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position):
        return f"{where}: coordinates must be numbers"
    lon, lat = position[0], position[1]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return f"{where}: coordinates must be finite numbers"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return f"{where}: longitude must be within -180..180 and latitude within -90..90"
    return None


def _check_polygon(rings, where: str) -> tuple[str | None, int]:
    if not isinstance(rings, list) or not rings:
        return f"{where}: a polygon is a non-empty list of rings", 0
    count = 0
    for index, ring in enumerate(rings):
        label = f"{where} ring {index}"
        if not isinstance(ring, list) or len(ring) < 4:
            return f"{label}: a ring needs at least 4 positions", count
        for position in ring:
            problem = _check_position(position, label)
            if problem:
                return problem, count
        if ring[0][:2] != ring[-1][:2]:
            return f"{label}: the last position must repeat the first (closed ring)", count
        count += len(ring)
    return None, count


def _shape_problem(geometry: dict, types: tuple[str, ...]) -> str | None:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind not in types:
        return f"type must be one of: {', '.join(types)}"
    if kind == "Point":
        return _check_position(coordinates, "point")
    if kind == "Polygon":
        problem, count = _check_polygon(coordinates, "polygon")
    else:
        if not isinstance(coordinates, list) or not coordinates:
            return "a multipolygon is a non-empty list of polygons"
        problem, count = None, 0
        for index, polygon in enumerate(coordinates):
            problem, n = _check_polygon(polygon, f"polygon {index}")
            count += n
            if problem:
                break
    if problem is None and count > MAX_POSITIONS:
        problem = f"at most {MAX_POSITIONS} positions; simplify the outline"
    return problem


def _advice(reason: str) -> str:
    """PostGIS's reason, with what to do about the usual ones."""
    match = re.match(r"([A-Za-z -]+)\[([-0-9.e]+) ([-0-9.e]+)\]", reason)
    if not match:
        return reason
    what, lon, lat = match.group(1).strip(), float(match.group(2)), float(match.group(3))
    at = f"near longitude {lon:.6f}, latitude {lat:.6f}"
    if what.lower() == "self-intersection":
        return (
            f"the outline crosses itself {at}: reorder the vertices so edges do not cross, "
            "or split it into several polygons"
        )
    if what.lower() == "ring self-intersection":
        return f"a ring touches itself {at}: remove the repeated vertex"
    if what.lower() == "hole lies outside shell":
        return f"a hole lies outside its polygon {at}: move it inside or drop it"
    if what.lower() == "too few points":
        return f"a ring has too few distinct points {at}: use at least 3 distinct vertices"
    return f"{what} {at}"


def to_sql(session: Session, geometry: dict | None, *, field: str, types: tuple[str, ...]):
    """A SQL expression for ``geometry`` (SRID 4326, polygons as MultiPolygon), or None.

    Raises 422 ``invalid_geometry`` naming what to fix when the shape or PostGIS's
    validity check fails.
    """
    if geometry is None:
        return None
    problem = _shape_problem(geometry, types)
    if problem:
        raise _problem(field, problem)
    text = json.dumps({"type": geometry["type"], "coordinates": geometry["coordinates"]})
    shape = func.ST_Force2D(func.ST_SetSRID(func.ST_GeomFromGeoJSON(text), WGS84))
    try:
        with session.begin_nested():
            reason, area = session.execute(
                select(func.ST_IsValidReason(shape), func.ST_Area(shape))
            ).one()
    except (sa_exc.DataError, sa_exc.InternalError) as exc:
        raise _problem(field, "PostGIS cannot read this geometry; check its coordinates") from exc
    if reason != "Valid Geometry":
        raise _problem(field, _advice(reason or "not a valid geometry"))
    if geometry["type"] == "Point":
        return shape
    if not area:
        raise _problem(field, "the polygon has no area: give at least 3 distinct vertices")
    return func.ST_Multi(shape)
