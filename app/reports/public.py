"""The public projection of a report: what everyone but its reporter and its staff is shown,
on every channel (the API's lists, map, suggestions and report view, Open311, open data).

A report's position can be a resident's front door, and the address a resident types can
carry a name or a phone number. So the projection gives:

- the position snapped to a grid (``OPEN311_LOCATION_GRID_M`` Lambert-93 metres, 50 by
  default), in WGS 84 to a millionth of a degree (about 0.1 m: more digits would only say
  the grid's arithmetic);
- as the address, the street and commune of the address register's address nearest that
  snapped position (within ``STREET_RADIUS_M``), never what the resident typed; none when
  the register has no address there.

Every field derives from the snapped position, so that no combination of them, and no two
channels together, locate a report more finely than the grid. Searches by place on the
public channels (``within``, ``in_box``, ``distance``) compare the same snapped position:
a search cannot locate a report more finely either. What else a public report shows (its
category, state, the description as moderation published it) carries nothing of the
reporter's.
"""

import math
from dataclasses import dataclass

from sqlalchemy import Float, Numeric, and_, cast, func, select, true
from sqlalchemy.orm import Session

from app.addresses.models import Address
from app.geo.models import WGS84
from app.reports.models import Report

# The register's address nearest the snapped position names the street up to this far.
STREET_RADIUS_M = 100
# Lambert-93 metres differ from metres on the ground by less than this, in the metropolis.
_SCALE_MARGIN = 1.01


def grid_of(config) -> int:
    """The grid of every public output, in Lambert-93 metres (one grid: two would locate a
    report more finely than either)."""
    return int(config["OPEN311_LOCATION_GRID_M"])


def snapped(grid_m: int):
    """The report's position snapped to the grid, in Lambert-93."""
    return func.ST_SnapToGrid(Report.geom_l93, grid_m)


def _degrees(value):
    return cast(func.round(cast(value, Numeric), 6), Float)


def street(point):
    """The street and commune ("Rue de la Liberté 21000 Dijon": the register's label without
    its number) of the address nearest ``point`` (Lambert-93) within STREET_RADIUS_M, as a
    scalar subquery (KNN on the register's Lambert-93 GiST index); NULL when there is none."""
    return (
        select(func.concat_ws(" ", Address.nom_voie, Address.code_postal, Address.nom_commune))
        .where(func.ST_DWithin(Address.geom_l93, point, STREET_RADIUS_M))
        .order_by(Address.geom_l93.op("<->")(point), Address.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )


def place(grid_m: int):
    """THE public projection of the outer query's report, as a LATERAL subquery (join it ON
    true): columns ``lon``, ``lat`` (the snapped position, WGS 84) and ``address`` (the
    street and commune there). All NULL for a report without a position yet."""
    point = snapped(grid_m)
    position = func.ST_Transform(point, WGS84)
    return (
        select(
            _degrees(func.ST_X(position)).label("lon"),
            _degrees(func.ST_Y(position)).label("lat"),
            street(point).label("address"),
        )
        .correlate(Report)
        .lateral("public_place")
    )


@dataclass(frozen=True)
class PublicPlace:
    """One report's public projection, as :func:`place` gives it."""

    lon: float | None
    lat: float | None
    address: str | None

    @classmethod
    def of(cls, row) -> "PublicPlace":
        return cls(lon=row.lon, lat=row.lat, address=row.address)

    @property
    def location(self) -> dict | None:
        if self.lon is None:
            return None
        return {"type": "Point", "coordinates": [self.lon, self.lat]}


def place_of(session: Session, report_id: int, grid_m: int) -> PublicPlace:
    """The public projection of one report."""
    projected = place(grid_m)
    row = session.execute(
        select(projected.c.lon, projected.c.lat, projected.c.address)
        .select_from(Report)
        .join(projected, true())
        .where(Report.id == report_id)
    ).one()
    return PublicPlace.of(row)


def _slack(grid_m: int) -> float:
    """How far snapping may move a point: half the grid cell's diagonal."""
    return grid_m / math.sqrt(2) * _SCALE_MARGIN


def within(grid_m: int, here, metres: float):
    """The report's public position is within ``metres`` of ``here`` (Lambert-93). The
    exact position, within the snapping's reach more, lets the GiST index find the few
    candidates first."""
    return and_(
        func.ST_DWithin(Report.geom_l93, here, metres + _slack(grid_m)),
        func.ST_DWithin(snapped(grid_m), here, metres),
    )


def distance(grid_m: int, here):
    """Metres from the report's public position to ``here`` (Lambert-93)."""
    return func.ST_Distance(snapped(grid_m), here)


def in_box(grid_m: int, west: float, south: float, east: float, north: float):
    """The report's public position is in the box (WGS 84 degrees). The exact position in
    the box widened by the snapping's reach lets the GiST index find the candidates first."""
    slack = _slack(grid_m)
    widest = min(max(abs(south), abs(north)), 89.0)
    dlat = slack / 110_574
    dlon = min(slack / (111_320 * math.cos(math.radians(widest))), 360.0)
    box = func.ST_MakeEnvelope(west, south, east, north, WGS84)
    return and_(
        Report.geom.intersects(func.ST_Expand(box, dlon, dlat)),
        func.ST_Intersects(func.ST_Transform(snapped(grid_m), WGS84), box),
    )
