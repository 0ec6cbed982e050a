"""Read side for residents: entities near a point, with how fresh each one is."""

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.feeds.formats import KIND_ENTITY_TYPES
from app.feeds.models import FeedEntity
from app.geo.arguments import clip_to_lambert93_domain, in_lambert93_domain
from app.pagination import decode_cursor, paginate

# ST_DWithin and the distance both use geom_l93 (GiST); entities of disabled feeds are
# hidden (an admin disables a feed whose data is wrong). ``stale``: observed longer ago
# than the feed's freshness limit, plus the source's ttl (during which it is not asked).
NEAR = text(
    """
SELECT e.id, e.entity_id, e.entity_type, e.name, f.name AS feed, e.observed_at, e.status,
       e.available, e.capacity, e.occupancy, e.measures,
       ST_AsGeoJSON(ST_PointOnSurface(e.geom), 7) AS location,
       ST_AsGeoJSON(e.geom, 7) AS geometry,
       ST_Distance(e.geom_l93, p.l93) AS distance_m,
       e.observed_at < now() - make_interval(secs => f.freshness_limit_seconds
                                             + f.source_ttl_seconds) AS stale
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
            "types": list(KIND_ENTITY_TYPES[kind]),
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


# The primary key (entity, time) finds the window; hours are UTC-aligned (so local hours
# in France too).
HOURLY = text(
    """
SELECT date_bin('1 hour', observed_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
       count(*) AS observations,
       avg(occupancy) AS occupancy_avg,
       avg(available) AS free_spaces_avg,
       min(available) AS free_spaces_min,
       max(available) AS free_spaces_max
FROM feed_observations
WHERE entity_pk = :entity_pk AND observed_at >= :start AND observed_at < :end
GROUP BY 1
ORDER BY 1
"""
)


def hourly_history(
    session: Session, kind: str, entity_pk: int, start: datetime, end: datetime
) -> dict:
    """Hourly aggregates of one ``kind`` entity's observations in [start, end)."""
    entity = session.get(FeedEntity, entity_pk)
    if entity is None or entity.entity_type not in KIND_ENTITY_TYPES[kind]:
        raise NotFound("parking_not_found", id=entity_pk)
    rows = session.execute(HOURLY, {"entity_pk": entity_pk, "start": start, "end": end})
    hours = [
        {
            **row,
            "occupancy_avg": None
            if row["occupancy_avg"] is None
            else round(row["occupancy_avg"], 4),
            "free_spaces_avg": None
            if row["free_spaces_avg"] is None
            else round(float(row["free_spaces_avg"]), 1),
        }
        for row in rows.mappings()
    ]
    return {"id": entity.id, "name": entity.name, "from_": start, "to": end, "hours": hours}


def parse_id_cursor(key: list) -> list[int]:
    (entity_pk,) = key
    if isinstance(entity_pk, bool) or not isinstance(entity_pk, int) or not 0 < entity_pk < 2**63:
        raise ValueError("not a cursor")
    return [entity_pk]


# Traffic (or vehicles) in a box: the box (segmentized so its edges follow the meridians
# and parallels) projected to Lambert-93 meets geom_l93's GiST index; one page in id order.
IN_BOX = text(
    """
SELECT e.id, e.entity_id, e.name, f.name AS feed, e.observed_at, e.occupancy, e.measures,
       ST_AsGeoJSON(e.geom, 7) AS geometry,
       e.observed_at < now() - make_interval(secs => f.freshness_limit_seconds
                                             + f.source_ttl_seconds) AS stale
FROM feed_entities e
JOIN feeds f ON f.id = e.feed_id,
     (SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(:west, :south, :east, :north, 4326),
                                        0.01), 2154) AS l93) b
WHERE f.enabled
  AND e.entity_type = ANY(CAST(:types AS text[]))
  AND ST_Intersects(e.geom_l93, b.l93)
  AND e.id > :after_id
ORDER BY e.id
LIMIT :limit
"""
)


def in_box(
    session: Session,
    kind: str,
    bbox: tuple[float, float, float, float],
    *,
    limit: int,
    cursor: str | None = None,
) -> dict:
    """A page of the ``kind`` entities meeting ``bbox`` (WGS 84), in id order."""
    after = decode_cursor(cursor, 1, parse_id_cursor)
    # Only the part of the box where Lambert-93 is defined (PROJ may refuse the rest).
    clipped = clip_to_lambert93_domain(bbox)
    if clipped is None:
        return {"items": [], "next_cursor": None}
    west, south, east, north = clipped
    rows = session.execute(
        IN_BOX,
        {
            "west": west,
            "south": south,
            "east": east,
            "north": north,
            "types": list(KIND_ENTITY_TYPES[kind]),
            "after_id": after[0] if after else 0,
            "limit": limit + 1,
        },
    ).mappings()
    items = [{**row, "geometry": json.loads(row["geometry"])} for row in rows]
    return paginate(items, limit, lambda item: [item["id"]])
