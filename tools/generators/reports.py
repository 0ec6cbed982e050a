"""Generating realistic reports in bulk, for benchmarks and demos
(``python -m tools.demo reports generate``).

Points fall inside the communes (60% in Dijon, the rest by area), categories are drawn from
the active catalogue with answers that satisfy their questions, and each report goes to its
category's desk. About 5% are open work for the desks' queues (created in the last 55
days, most of them recently; spread over new, acknowledged, assigned, in_progress and
reopened, the assigned and in-progress ones with a crew of the desk that covers the place);
the others, older, are closed (a few rejected). Priority and due date follow the category's
service level, so part of the open work is overdue, as in a real backlog.
"""

import json
from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.geo.models import Commune
from app.organisation.models import Desk, RoutingRule
from app.routing.intake import priority_for

DIJON = "21231"
DIJON_SHARE = 0.6
OPEN_SHARE = 0.05
# Open work is at most this old; power 3 puts most of it in the last week or two.
OPEN_DAYS = 55
# (cumulative share, state) of the open reports.
OPEN_MIX = ((0.20, "new"), (0.40, "acknowledged"), (0.65, "assigned"), (0.90, "in_progress"))
# ...and the rest of them are reopened.

_OPEN_STATUS = (
    "CASE "
    + " ".join(f"WHEN v < {share} THEN '{state}'" for share, state in OPEN_MIX)
    + " ELSE 'reopened' END"
)

INSERT = text(f"""
WITH pts AS (
    SELECT g, 1 + floor(random() * :k)::int AS pick, random() < :open_share AS open,
           random() AS v, random() AS w
    FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, :n, :seed))).geom AS g
          FROM communes WHERE insee_code = :commune) AS generated
), cats AS (
    SELECT * FROM unnest(CAST(:ids AS int[]), CAST(:codes AS text[]),
                         CAST(:answers AS jsonb[]), CAST(:desks AS int[]),
                         CAST(:priorities AS int[]), CAST(:hours AS int[]))
        WITH ORDINALITY AS t(id, code, answers, desk_id, priority, hours, i)
), drawn AS (
    SELECT pts.g, cats.*,
           CASE WHEN open THEN {_OPEN_STATUS}
                WHEN v < 0.93 THEN 'closed' ELSE 'rejected' END AS status,
           CASE WHEN open THEN now() - power(w, 3) * interval '{OPEN_DAYS} days'
                ELSE now() - interval '{OPEN_DAYS} days'
                     - w * (interval '3 years' - interval '{OPEN_DAYS} days') END AS ts,
           -- an agent raised one report in ten by a level
           CASE WHEN random() < 0.1 THEN greatest(cats.priority - 1, 1)
                ELSE cats.priority END AS priority_set
    FROM pts JOIN cats ON cats.i = pts.pick
), crewed AS (
    SELECT drawn.*,
           CASE WHEN status IN ('assigned', 'in_progress') THEN (
               SELECT c.id FROM crews c
               WHERE c.active AND c.desk_id = drawn.desk_id
                 AND (c.skills = '{{}}' OR drawn.code = ANY (c.skills))
                 AND (c.zone IS NULL OR ST_Covers(c.zone, drawn.g))
               ORDER BY random() LIMIT 1)
           END AS crew_id
    FROM drawn
)
INSERT INTO reports (reference, category_id, status, geom, commune_insee, answers,
                     reporter_uid, language, source, desk_id, crew_id, priority, due_at,
                     created_at, updated_at)
SELECT format_report_reference(ts, nextval('report_reference_seq')),
       id,
       -- no crew of the desk covers the place: still waiting at the desk
       CASE WHEN status IN ('assigned', 'in_progress') AND crew_id IS NULL
            THEN 'acknowledged' ELSE status END,
       g, :commune, answers,
       'generated-' || floor(random() * 100000)::int,
       CASE WHEN random() < 0.9 THEN 'fr' ELSE 'en' END,
       'generated', desk_id, crew_id, priority_set, ts + hours * interval '1 hour', ts, ts
FROM crewed
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


def desks_of(session: Session, categories: list[Category]) -> list[int]:
    """Each category's desk: the first active routing rule for it (or for any category) that
    holds everywhere and at all times, else the fallback desk. Zoned, seasonal and
    time-window rules are passed over: a generated report has no one place or time to test."""
    rules = session.execute(
        select(RoutingRule.category_code, RoutingRule.desk_id)
        .where(
            RoutingRule.active.is_(True),
            RoutingRule.zone.is_(None),
            RoutingRule.months.is_(None),
            RoutingRule.starts_at.is_(None),
        )
        .order_by(RoutingRule.priority)
    ).all()
    fallback = session.scalar(select(Desk.id).order_by(Desk.is_fallback.desc(), Desk.id).limit(1))
    return [
        next((desk for code, desk in rules if code in (category.code, None)), fallback)
        for category in categories
    ]


def generate(
    session: Session,
    count: int,
    *,
    batch: int = 20_000,
    seed: int = 1,
    open_share: float = OPEN_SHARE,
) -> Iterator[int]:
    """Insert ``count`` reports, committing per batch; yields the number inserted so far.
    ``open_share`` of them (about) are open work."""
    categories = list(session.scalars(select(Category).where(Category.active.is_(True))))
    by_category = {
        "k": len(categories),
        "ids": [c.id for c in categories],
        "codes": [c.code for c in categories],
        "answers": [json.dumps(valid_answers(c)) for c in categories],
        "desks": desks_of(session, categories),
        "priorities": [priority_for(c.service_level_hours) for c in categories],
        "hours": [c.service_level_hours for c in categories],
        "open_share": open_share,
    }
    weights = shares(session)
    done = 0
    while done < count:
        size = min(batch, count - done)
        counts = {commune: int(size * share) for commune, share in weights.items()}
        counts[DIJON] += size - sum(counts.values())  # rounding leftovers
        for commune, n in counts.items():
            if n:
                session.execute(INSERT, {"n": n, "seed": seed, "commune": commune, **by_category})
                seed += 1
        session.commit()
        done += size
        yield done
