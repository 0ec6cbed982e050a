"""Loading the communes and locating points in the service area."""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.geo.models import WGS84, Commune

DEFAULT_COMMUNES_FILE = (
    Path(__file__).resolve().parents[2] / "data" / ("dijon-metropole-communes.geojson")
)


class ReferenceDataError(Exception):
    """The reference file is not what we expect; nothing was changed."""


def load_communes(session: Session, path: Path = DEFAULT_COMMUNES_FILE) -> dict:
    """Upsert the communes from a GeoJSON file; returns counts. Idempotent.

    Communes no longer in the file are deleted, so the table mirrors the file.
    """
    try:
        collection = json.loads(Path(path).read_text(encoding="utf-8"))
        features = collection["features"]
        rows = [
            {
                "insee_code": str(f["properties"]["insee_code"]),
                "name": str(f["properties"]["name"]),
                "geometry": json.dumps(f["geometry"]),
            }
            for f in features
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReferenceDataError(
            f"{path}: not a GeoJSON FeatureCollection of communes: {exc}"
        ) from exc
    if not rows:
        raise ReferenceDataError(f"{path}: no features")
    before = set(session.scalars(select(Commune.insee_code)))
    upsert = text(
        """
        INSERT INTO communes (insee_code, name, geom, area_m2)
        SELECT :insee_code, :name, g, round(ST_Area(g::geography))
        FROM (SELECT ST_Multi(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(:geometry), :wgs84)))
              AS g) AS src
        ON CONFLICT (insee_code) DO UPDATE
        SET name = EXCLUDED.name, geom = EXCLUDED.geom, area_m2 = EXCLUDED.area_m2
        """
    )
    for row in rows:
        session.execute(upsert, {**row, "wgs84": WGS84})
    codes = {r["insee_code"] for r in rows}
    stale = before - codes
    if stale:
        session.execute(Commune.__table__.delete().where(Commune.insee_code.in_(stale)))
    session.commit()
    return {"created": len(codes - before), "updated": len(codes & before), "deleted": len(stale)}


def _commune_features():
    return select(
        Commune.insee_code,
        Commune.name,
        Commune.area_m2,
        func.ST_AsGeoJSON(Commune.geom, 6).label("geometry"),
    )


def list_communes(session: Session) -> list[dict]:
    query = _commune_features().order_by(Commune.name)
    return [_feature(row) for row in session.execute(query)]


def get_commune(session: Session, insee_code: str) -> dict | None:
    query = _commune_features().where(Commune.insee_code == insee_code)
    row = session.execute(query).first()
    return _feature(row) if row else None


def service_area(session: Session) -> dict:
    """The service area: the union of all communes, as one GeoJSON feature."""
    row = session.execute(
        select(
            func.ST_AsGeoJSON(func.ST_Union(Commune.geom), 6),
            func.count(),
            func.sum(Commune.area_m2),
        )
    ).one()
    return {
        "type": "Feature",
        "id": "dijon-metropole",
        "geometry": json.loads(row[0]) if row[0] else None,
        "properties": {"name": "Dijon Métropole", "communes": row[1], "area_m2": row[2] or 0},
    }


@dataclass(frozen=True)
class Location:
    inside: bool
    commune: dict | None
    nearest: dict | None


def locate(session: Session, lon: float, lat: float) -> Location:
    """Which commune contains the point; when none does, the nearest one and its distance."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84)
    containing = session.execute(
        select(Commune.insee_code, Commune.name)
        .where(func.ST_Covers(Commune.geom, point))
        .order_by(Commune.insee_code)
        .limit(1)
    ).first()
    if containing:
        commune = {"insee_code": containing.insee_code, "name": containing.name}
        return Location(inside=True, commune=commune, nearest={**commune, "distance_m": 0})
    # Geography distance works for any point on Earth (Lambert-93 is only defined around
    # France); with 23 communes the scan without index costs nothing.
    distance = func.ST_Distance(func.Geography(Commune.geom), func.Geography(point))
    nearest = session.execute(
        select(Commune.insee_code, Commune.name, distance.label("distance"))
        .order_by(distance)
        .limit(1)
    ).first()
    if nearest is None:
        return Location(inside=False, commune=None, nearest=None)
    return Location(
        inside=False,
        commune=None,
        nearest={
            "insee_code": nearest.insee_code,
            "name": nearest.name,
            "distance_m": round(nearest.distance),
        },
    )


def _feature(row) -> dict:
    return {
        "type": "Feature",
        "id": row.insee_code,
        "geometry": json.loads(row.geometry),
        "properties": {"insee_code": row.insee_code, "name": row.name, "area_m2": row.area_m2},
    }
