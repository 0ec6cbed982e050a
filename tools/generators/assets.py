"""A demo equipment register for Dijon Métropole (``python -m tools.demo assets generate``).

Counts follow the orders of magnitude of a metropolis of 250,000 people: ~25,000 street-light
poles, ~400 signalised crossings, ~150 cameras, thousands of drains and signs, ~1,500
benches and ~300 schools, nursing homes and hospitals. Dijon gets its share first (it is
denser), the other communes the rest by area. Points come from ST_GeneratePoints with a
seed per commune, so the same seed gives the same dataset; references (SL-000001...) make a
second run change nothing.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.geo.models import Commune

DIJON = "21231"


@dataclass(frozen=True)
class Layer:
    kind: str
    prefix: str
    count: int
    dijon_share: float
    attributes: dict
    name: str | None = None  # "École" -> "École 12"


LAYERS = (
    Layer("street_light", "SL", 25_000, 0.45, {"lamp": "led"}),
    Layer("traffic_signal", "TS", 400, 0.70, {"crossing": "signalised"}),
    Layer("camera", "CAM", 150, 0.80, {}),
    Layer("drain", "DR", 4_000, 0.45, {}),
    Layer("sign", "SG", 3_000, 0.45, {}),
    Layer("bench", "BN", 1_500, 0.50, {}),
    Layer("poi", "POI", 230, 0.50, {"poi": "school"}, "École"),
    Layer("poi", "POI", 55, 0.60, {"poi": "nursing_home"}, "EHPAD"),
    Layer("poi", "POI", 15, 0.80, {"poi": "hospital"}, "Établissement de santé"),
)
TOTAL = sum(layer.count for layer in LAYERS)

INSERT = text("""
WITH plan AS (
    SELECT * FROM unnest(CAST(:communes AS text[]), CAST(:counts AS int[]),
                         CAST(:offsets AS int[]), CAST(:seeds AS int[])) AS p(insee, n, off, seed)
    WHERE n > 0
), pts AS (
    SELECT p.insee, p.off + d.path[1] AS number, d.geom AS g
    FROM plan p
    JOIN communes c ON c.insee_code = p.insee
    CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(c.geom, p.n, p.seed)) AS d
)
INSERT INTO assets (reference, kind, status, name, geom, attributes, commune_insee)
SELECT :prefix || '-' || lpad(number::text, 6, '0'), :kind,
       CASE WHEN number % 53 = 0 THEN 'faulty' ELSE 'in_service' END,
       CASE WHEN CAST(:name AS text) IS NULL THEN NULL ELSE :name || ' ' || number END,
       g, CAST(:attributes AS jsonb), insee
FROM pts
ON CONFLICT (reference) DO NOTHING
""")


def split(total: int, dijon_share: float, areas: dict[str, int]) -> dict[str, int]:
    """``total`` points: ``dijon_share`` of them in Dijon, the rest by commune area."""
    if DIJON not in areas:
        dijon_share = 0.0
    others = sum(a for code, a in areas.items() if code != DIJON) or 1
    counts = {
        code: round(total * dijon_share)
        if code == DIJON
        else int(total * (1 - dijon_share) * a / others)
        for code, a in sorted(areas.items())
    }
    leftover = total - sum(counts.values())
    largest = DIJON if DIJON in counts else max(counts, key=counts.get)
    counts[largest] += leftover
    return counts


def generate(session: Session, *, seed: int = 1) -> Iterator[int]:
    """Insert the demo assets, committing per layer; yields how many were handled so far."""
    areas = dict(session.execute(select(Commune.insee_code, Commune.area_m2)).all())
    if not areas:
        return
    numbers: dict[str, int] = {}  # next number per prefix
    done = 0
    for index, layer in enumerate(LAYERS):
        counts = split(layer.count, layer.dijon_share, areas)
        communes = list(counts)
        offsets = []
        start = numbers.get(layer.prefix, 0)
        for code in communes:
            offsets.append(start)
            start += counts[code]
        numbers[layer.prefix] = start
        session.execute(
            INSERT,
            {
                "communes": communes,
                "counts": [counts[c] for c in communes],
                "offsets": offsets,
                # Positive, distinct per layer and commune, fixed by ``seed``.
                "seeds": [seed * 10_000 + index * 100 + i + 1 for i in range(len(communes))],
                "prefix": layer.prefix,
                "kind": layer.kind,
                "name": layer.name,
                "attributes": json.dumps(layer.attributes, ensure_ascii=False),
            },
        )
        session.commit()
        done += layer.count
        yield done
