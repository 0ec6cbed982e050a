"""Geocoding a written address against the register: the best trigram match (pg_trgm) of
its normalised form, among the addresses of the same house number when one is given.

"12 rue de la Liberte, Dijon", "12 RUE DE LA LIBERTÉ 21000" and "12 r de la liberte
dijon" all find "12 Rue de la Liberté 21000 Dijon". A match below the threshold is no
match; two different addresses scoring nearly the same (the same street in two communes,
a street without its number) are ambiguous: we never guess between places.
"""

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

# Below this trigram similarity to every address: no match.
MIN_SIMILARITY = 0.5
# A runner-up this close to the best one, elsewhere: ambiguous.
AMBIGUITY_MARGIN = 0.08
CANDIDATES = 5
_NUMBER = re.compile(r"^\s*(\d{1,5})\s*(bis|ter|quater|quinquies|[a-z](?![a-z]))?\b", re.I)


def normalised(expression: str) -> str:
    """SQL: ``expression`` lower case, unaccented, every run of other characters than
    letters and digits as one space. The register and the written address go through it."""
    return f"btrim(regexp_replace(lower(unaccent({expression})), '[^a-z0-9]+', ' ', 'g'))"


MATCH = text(f"""
WITH q AS (SELECT {normalised("CAST(:written AS text)")} AS q)
SELECT a.id, a.label, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,
       similarity(a.search, q.q) AS score
FROM addresses a, q
WHERE a.search % q.q
  AND (CAST(:numero AS int) IS NULL
       OR (a.numero = :numero AND a.rep IS NOT DISTINCT FROM CAST(:rep AS text)))
ORDER BY score DESC, a.id
LIMIT :limit
""")

BY_ID = text("SELECT id, label, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM addresses WHERE id = :id")


@dataclass(frozen=True)
class Place:
    id: str
    label: str
    lon: float
    lat: float


class NoMatch(Exception):
    """No address of the register matches."""


class Ambiguous(Exception):
    """Several addresses match about as well; ``labels`` names them, best first."""

    def __init__(self, labels: list[str]):
        super().__init__(", ".join(labels))
        self.labels = labels


def house_number(written: str) -> tuple[int | None, str | None]:
    """The house number and its suffix at the start of ``written``, if any."""
    match = _NUMBER.match(written)
    if not match:
        return None, None
    rep = match.group(2)
    return int(match.group(1)), rep.lower() if rep else None


def geocode(session: Session, written: str) -> Place:
    """The register's address ``written`` designates; NoMatch or Ambiguous otherwise."""
    numero, rep = house_number(written)
    rows = session.execute(
        MATCH, {"written": written, "numero": numero, "rep": rep, "limit": CANDIDATES}
    ).all()
    if not rows or rows[0].score < MIN_SIMILARITY:
        raise NoMatch(written)
    best = rows[0]
    rivals = [
        row
        for row in rows[1:]
        if row.score >= best.score - AMBIGUITY_MARGIN and (row.lon, row.lat) != (best.lon, best.lat)
    ]
    if rivals:
        raise Ambiguous([best.label, *(row.label for row in rivals)])
    return Place(id=best.id, label=best.label, lon=best.lon, lat=best.lat)


def by_id(session: Session, address_id: str) -> Place:
    """The register's address of BAN id ``address_id``; NoMatch otherwise."""
    row = session.execute(BY_ID, {"id": address_id}).one_or_none()
    if row is None:
        raise NoMatch(address_id)
    return Place(id=row.id, label=row.label, lon=row.lon, lat=row.lat)
