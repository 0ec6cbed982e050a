"""Generating realistic reports in bulk, for benchmarks and demos (``flask reports generate``).

Points fall inside the communes (60% in Dijon, the rest by area), categories are drawn from
the active catalogue with answers that satisfy their questions, and creation times spread
over the past three years (older reports closed).
"""

import json
from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.geo.models import Commune

DIJON = "21231"
DIJON_SHARE = 0.6

INSERT = text("""
WITH pts AS (
    SELECT (ST_Dump(ST_GeneratePoints(geom, :n, :seed))).geom AS g,
           1 + floor(random() * :k)::int AS pick,
           now() - random() * interval '3 years' AS ts
    FROM communes WHERE insee_code = :commune
), cats AS (
    SELECT * FROM unnest(CAST(:ids AS int[]), CAST(:answers AS jsonb[]))
        WITH ORDINALITY AS t(id, answers, i)
)
INSERT INTO reports (reference, category_id, status, geom, commune_insee, answers,
                     reporter_uid, language, source, created_at, updated_at)
SELECT format_report_reference(ts, nextval('report_reference_seq')),
       cats.id,
       CASE WHEN ts < now() - interval '60 days' THEN 'closed' ELSE 'new' END,
       pts.g, :commune, cats.answers,
       'generated-' || floor(random() * 100000)::int,
       CASE WHEN random() < 0.9 THEN 'fr' ELSE 'en' END,
       'generated', ts, ts
FROM pts JOIN cats ON cats.i = pts.pick
""")


def valid_answers(category: Category) -> dict:
    """Answers that pass the category's questions (the first choice, plausible values)."""
    answers = {}
    for question in category.questions or []:
        kind = question["type"]
        if kind == "single_choice":
            answers[question["code"]] = question["choices"][0]["key"]
        elif kind == "multiple_choice":
            answers[question["code"]] = [question["choices"][0]["key"]]
        elif kind == "boolean":
            answers[question["code"]] = False
        elif kind == "number":
            answers[question["code"]] = question.get("min") or 1
        elif question.get("required"):
            answers[question["code"]] = "A1"
    return answers


def shares(session: Session) -> dict[str, float]:
    areas = dict(session.execute(select(Commune.insee_code, Commune.area_m2)).all())
    others = sum(a for code, a in areas.items() if code != DIJON)
    return {
        code: DIJON_SHARE if code == DIJON else (1 - DIJON_SHARE) * area / others
        for code, area in areas.items()
    }


def generate(session: Session, count: int, *, batch: int = 20_000, seed: int = 1) -> Iterator[int]:
    """Insert ``count`` reports, committing per batch; yields the number inserted so far."""
    categories = list(session.scalars(select(Category).where(Category.active.is_(True))))
    ids = [c.id for c in categories]
    answers = [json.dumps(valid_answers(c)) for c in categories]
    weights = shares(session)
    done = 0
    while done < count:
        size = min(batch, count - done)
        counts = {commune: int(size * share) for commune, share in weights.items()}
        counts[DIJON] += size - sum(counts.values())  # rounding leftovers
        for commune, n in counts.items():
            if n:
                session.execute(
                    INSERT,
                    {
                        "n": n,
                        "seed": seed,
                        "k": len(ids),
                        "ids": ids,
                        "answers": answers,
                        "commune": commune,
                    },
                )
                seed += 1
        session.commit()
        done += size
        yield done
