"""Places as callers give them (``lon,lat`` and ``bbox`` query arguments) and Lambert-93,
the metric projection every distance and buffer is computed in."""

from sqlalchemy import func

from app.errors import Unprocessable
from app.geo.models import LAMBERT93, WGS84

# Lambert-93's area of use (mainland France), lon/lat: PROJ refuses to project some points
# far outside it (the south pole, for one), and no report of ours lies out there.
LAMBERT93_DOMAIN = (-9.86, 41.15, 10.38, 51.56)


def in_lambert93_domain(*bounds: float) -> bool:
    """Whether a point ``(lon, lat)`` or a box ``(west, south, east, north)`` lies wholly
    where Lambert-93 is defined."""
    west, south, east, north = bounds * 2 if len(bounds) == 2 else bounds
    d_west, d_south, d_east, d_north = LAMBERT93_DOMAIN
    return d_west <= west and east <= d_east and d_south <= south and north <= d_north


def clip_to_lambert93_domain(bbox: tuple[float, float, float, float]):
    """The part of ``bbox`` where Lambert-93 is defined, or None when there is none."""
    d_west, d_south, d_east, d_north = LAMBERT93_DOMAIN
    west, south = max(bbox[0], d_west), max(bbox[1], d_south)
    east, north = min(bbox[2], d_east), min(bbox[3], d_north)
    if west >= east or south >= north:
        return None
    return west, south, east, north


def lambert93(lon: float, lat: float):
    """The point, projected to Lambert-93 metres (check in_lambert93_domain first)."""
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84), LAMBERT93)


def parse_point(text: str) -> tuple[float, float]:
    lon, lat = (float(v) for v in text.split(","))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Unprocessable(
            "invalid_area",
            errors={"query": {"near": ["lon must be within ±180 and lat within ±90"]}},
        )
    return lon, lat


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in text.split(","))
    if not (-180 <= x1 < x2 <= 180 and -90 <= y1 < y2 <= 90):
        raise Unprocessable(
            "invalid_area",
            errors={
                "query": {
                    "bbox": [
                        "expected min_lon < max_lon and min_lat < max_lat within WGS 84 bounds"
                    ]
                }
            },
        )
    return x1, y1, x2, y2
