"""Read side for residents: entities near a point, with how fresh each one is."""

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.feeds.ngsi_ld import KIND_TYPES
from app.geo.models import in_lambert93_domain
from app.pagination import decode_cursor, paginate

# ST_DWithin and the distance both use geom_l93 (GiST); entities of disabled feeds are
# hidden (an admin disables a feed whose data is wrong). ``stale``: observed longer ago
# than the feed's freshness limit.
NEAR = text(
    """
SELECT e.id, e.entity_id, e.entity_type, e.name, f.name AS feed, e.observed_at, e.status,
       e.available, e.capacity, e.occupancy, e.measures,
       ST_AsGeoJSON(ST_PointOnSurface(e.geom), 7) AS location,
       ST_AsGeoJSON(e.geom, 7) AS geometry,
       ST_Distance(e.geom_l93, p.l93) AS distance_m,
       e.observed_at < now() - make_interval(secs => f.freshness_limit_seconds) AS stale
FROM feed_entities e
JOIN feeds f ON f.id = e.feed_id,
     (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154) AS l93) p
WHERE f.enabled
  AND e.entity_type = ANY(CAST(:types AS text[]))
  AND ST_DWithin(e.geom_l93, p.l93, :radius)
  AND (CAST(:after_distance AS double precision) IS NULL
       OR (ST_Distance(e.geom_l93, p.l93), e.id) > (:after_distance, :after_id))
ORDER BY distance_m, e.id
LIMIT :limit
"""
)


def parse_near_cursor(key: list) -> tuple[float, int]:
    distance, entity_pk = key
    if isinstance(distance, bool) or isinstance(entity_pk, bool):
        raise ValueError("not a cursor")
    return float(distance), int(entity_pk)


def near(
    session: Session,
    kind: str,
    *,
    lon: float,
    lat: float,
    radius: int,
    limit: int,
    cursor: str | None = None,
) -> dict:
    """A page of the ``kind`` entities within ``radius`` metres, nearest first."""
    after = decode_cursor(cursor, 2, parse_near_cursor)
    if not in_lambert93_domain(lon, lat):
        return {"items": [], "next_cursor": None}  # nowhere near any place we cover
    rows = session.execute(
        NEAR,
        {
            "lon": lon,
            "lat": lat,
            "radius": radius,
            "types": list(KIND_TYPES[kind]),
            "after_distance": after[0] if after else None,
            "after_id": after[1] if after else 0,
            "limit": limit + 1,
        },
    ).mappings()
    items = [
        {**row, "location": json.loads(row["location"]), "geometry": json.loads(row["geometry"])}
        for row in rows
    ]
    return paginate(items, limit, lambda item: [item["distance_m"], item["id"]])
