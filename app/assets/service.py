"""Use cases of the equipment register, and the nearest-asset lookup routing relies on."""

from datetime import datetime

from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from app.assets.models import Asset
from app.errors import NotFound, Unprocessable
from app.geo import service as geo
from app.geo.models import LAMBERT93, WGS84, Commune
from app.pagination import decode_cursor, paginate


def l93_point(lon: float, lat: float):
    """The WGS 84 point, in Lambert-93 (metres), as an SQL expression."""
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84), LAMBERT93)


def nearest_query(kind: str, lon: float, lat: float, within_m: float):
    """The nearest in-use asset of ``kind`` within ``within_m`` metres, and its distance.

    ST_DWithin and the ``<->`` ordering on geom_l93 both use its GiST index; removed
    equipment is never a match.
    """
    point = l93_point(lon, lat)
    return (
        select(Asset, func.ST_Distance(Asset.geom_l93, point).label("distance_m"))
        .where(
            Asset.kind == kind,
            Asset.status != "removed",
            func.ST_DWithin(Asset.geom_l93, point, within_m),
        )
        .order_by(Asset.geom_l93.op("<->")(point))
        .limit(1)
    )


def nearest_asset(
    session: Session, kind: str, lon: float, lat: float, within_m: float
) -> tuple[Asset, float] | None:
    """``(asset, distance in metres)`` of the nearest asset of ``kind``, or None."""
    row = session.execute(nearest_query(kind, lon, lat, within_m)).first()
    return (row[0], float(row[1])) if row else None


def get_by_reference(session: Session, reference: str) -> Asset | None:
    return session.scalar(select(Asset).where(Asset.reference == reference))


def get_asset(session: Session, reference: str) -> Asset:
    asset = get_by_reference(session, reference)
    if asset is None:
        raise NotFound("asset_not_found", reference=reference)
    return asset


def list_assets(
    session: Session,
    *,
    kind: str | None = None,
    status: str | None = None,
    near: tuple[float, float] | None = None,
    radius: int = 500,
    bbox: tuple[float, float, float, float] | None = None,
    after: int | None = None,
    limit: int = 50,
) -> dict:
    """A page of assets in id order, keyset-paginated on id."""
    query = select(Asset).order_by(Asset.id).limit(limit + 1)
    if kind:
        query = query.where(Asset.kind == kind)
    if status:
        query = query.where(Asset.status == status)
    if near:
        query = query.where(func.ST_DWithin(Asset.geom_l93, l93_point(*near), radius))
    if bbox:
        query = query.where(Asset.geom.intersects(func.ST_MakeEnvelope(*bbox, WGS84)))
    if after is not None:
        query = query.where(Asset.id > after)
    rows = list(session.scalars(query))
    return paginate(rows, limit, lambda a: [a.id])


def parse_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1, lambda k: [int(k[0])])
    return key[0] if key else None


def put_asset(session: Session, reference: str, data: dict) -> tuple[Asset, bool]:
    """Create or replace the asset ``reference``; 422 when its point is outside the area."""
    lon, lat = data["location"]["lon"], data["location"]["lat"]
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84)
    commune = session.scalar(
        select(Commune.insee_code)
        .where(func.ST_Covers(Commune.geom, point))
        .order_by(Commune.insee_code)
        .limit(1)
    )
    if commune is None:
        nearest = geo.locate(session, lon, lat).nearest
        raise Unprocessable(
            "outside_service_area",
            commune=nearest["name"] if nearest else "?",
            distance_km=f"{(nearest['distance_m'] if nearest else 0) / 1000:.1f}",
            errors={"json": {"location": ["outside the 23 communes of Dijon Métropole"]}},
        )
    asset = get_by_reference(session, reference)
    created = asset is None
    if created:
        asset = Asset(reference=reference)
        session.add(asset)
    asset.kind = data["kind"]
    asset.status = data["status"]
    asset.name = data.get("name")
    asset.attributes = data.get("attributes") or {}
    asset.geom = WKTElement(f"POINT({lon!r} {lat!r})", srid=WGS84)
    asset.commune_insee = commune
    session.flush()
    session.commit()
    return asset, created


def delete_asset(session: Session, reference: str) -> None:
    asset = get_asset(session, reference)
    session.delete(asset)
    session.commit()


def export_collection(session: Session) -> dict:
    """Every asset as a GeoJSON FeatureCollection, in the import format."""
    features = []
    for asset in session.scalars(select(Asset).order_by(Asset.reference)):
        lon, lat = to_shape(asset.geom).coords[0]
        properties = {**asset.attributes, "reference": asset.reference, "kind": asset.kind}
        properties["status"] = asset.status
        if asset.name:
            properties["name"] = asset.name
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


# The live state as the API gives it, for one asset or many (GeoJSON): stale past the
# feed's freshness limit (plus the source's ttl), as the mobility reads say it.
LIVE = text(
    """
SELECT l.asset_id, l.observed_at, l.status, l.power_state, l.dimming_level, l.control_mode,
       l.mode, l.online, l.fault, l.last_fault, l.last_fault_at, l.entity_id, f.name AS feed,
       l.observed_at < coalesce(CAST(:now AS timestamptz), now())
           - make_interval(secs => f.freshness_limit_seconds + f.source_ttl_seconds) AS stale
FROM asset_live_states l JOIN feeds f ON f.id = l.feed_id
WHERE l.asset_id = ANY(:ids)
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def live_states(session: Session, asset_ids, now: datetime | None = None) -> dict[int, dict]:
    """``{asset id: live state}`` of the assets a feed reports (others: absent)."""
    ids = list(asset_ids)
    if not ids:
        return {}
    rows = session.execute(LIVE, {"ids": ids, "now": now}).mappings()
    return {row["asset_id"]: present_live(row) for row in rows}


def present_live(row) -> dict:
    out = {
        "observed_at": row["observed_at"],
        "stale": bool(row["stale"]),
        "feed": row["feed"],
        "entity_id": row["entity_id"],
        "status": row["status"],
        "fault": row["fault"],
        "last_fault": row["last_fault"],
        "last_fault_at": row["last_fault_at"],
        "power_state": row["power_state"],
        "dimming_level": row["dimming_level"],
        "control_mode": row["control_mode"],
        "mode": row["mode"],
        "online": row["online"],
    }
    return out
