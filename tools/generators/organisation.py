"""Demo organisation for `make run` (``python -m tools.demo routing seed``): routing rules
and a few dozen crews around Dijon.

Generated deterministically from the communes; nothing here is the Métropole's real
organisation. Both seeds leave admins' data alone once it exists.
"""

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.geo.models import LAMBERT93, WGS84, Commune
from app.organisation.models import Crew, Desk, RoutingRule

# Groups of communes a crew can cover (INSEE codes); Dijon is the centre.
SECTORS = {
    "centre": ("21231",),
    "nord": ("21003", "21278", "21315", "21223", "21617"),
    "ouest": ("21485", "21192", "21270", "21617"),
    "sud": ("21166", "21390", "21481", "21355", "21263", "21473", "21106"),
    "est": ("21515", "21540", "21171", "21605", "21452", "21105", "21370"),
}
SECTOR_NAMES = {"centre": "Centre", "nord": "Nord", "ouest": "Ouest", "sud": "Sud", "est": "Est"}

# Category group -> the desk that naturally handles it.
DESK_OF_GROUP = {
    "roads": "voirie",
    "lighting": "eclairage",
    "traffic_signals": "circulation",
    "cleanliness": "proprete",
    "green_spaces": "proprete",
    "snow_ice": "viabilite-hivernale",
    "safety": "securite",
    "other": "allo-mairie",
}
WINTER = [11, 12, 1, 2, 3]
ROCADE_CATEGORIES = ("traffic_light_fault", "sign_damaged")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
DAY_SHIFT = {d: [["07:30", "12:00"], ["13:00", "16:00"]] for d in WEEKDAYS}
LATE_SHIFT = {d: [["13:00", "21:00"]] for d in (*WEEKDAYS, "sat")}
ALL_WEEK = {d: [["06:00", "22:00"]] for d in (*WEEKDAYS, "sat", "sun")}
NIGHTS = {d: [["00:00", "06:00"], ["20:00", "24:00"]] for d in (*WEEKDAYS, "sat", "sun")}

# (desk, crew label, sectors of its zone or None for the whole area, hours, count)
CREW_PLAN = (
    *[("voirie", SECTOR_NAMES[s], (s,), DAY_SHIFT, 2) for s in SECTORS],
    *[("eclairage", SECTOR_NAMES[s], (s,), DAY_SHIFT, 1) for s in SECTORS],
    ("eclairage", "Nuit", None, NIGHTS, 1),
    ("circulation", "Centre", ("centre",), DAY_SHIFT, 1),
    ("circulation", "Nord-Ouest", ("centre", "nord", "ouest"), DAY_SHIFT, 1),
    ("circulation", "Sud-Est", ("centre", "sud", "est"), LATE_SHIFT, 1),
    *[("proprete", SECTOR_NAMES[s], (s,), DAY_SHIFT, 2) for s in SECTORS],
    ("proprete", "Encombrants", None, LATE_SHIFT, 1),
    *[("viabilite-hivernale", SECTOR_NAMES[s], (s,), NIGHTS, 1) for s in SECTORS],
    ("viabilite-hivernale", "Renfort", None, ALL_WEEK, 1),
    ("securite", "Centre", ("centre",), ALL_WEEK, 2),
    ("securite", "Nord-Ouest", ("nord", "ouest"), ALL_WEEK, 1),
    ("securite", "Sud-Est", ("sud", "est"), ALL_WEEK, 1),
)
ROCADE_CREWS = 2
DESK_NAMES = {
    "voirie": "Voirie",
    "eclairage": "Éclairage",
    "circulation": "Circulation",
    "proprete": "Propreté",
    "viabilite-hivernale": "Viabilité hivernale",
    "securite": "Police municipale",
    "videoprotection": "Rocade",
}


def rocade_zone():
    """An approximation of Dijon's ring road (LiNo and Rocade Est): a 300 m buffer on each
    side of an ellipse around central Dijon (4.3 km east-west, 3.6 km north-south). It is
    generated, not surveyed: good enough to demonstrate a zone rule."""
    centre_lon, centre_lat, rx, ry, steps = 5.037, 47.326, 4300.0, 3600.0, 48
    metres_per_lat = 111_200.0
    metres_per_lon = metres_per_lat * math.cos(math.radians(centre_lat))
    ring = [
        (
            centre_lon + rx * math.cos(2 * math.pi * i / steps) / metres_per_lon,
            centre_lat + ry * math.sin(2 * math.pi * i / steps) / metres_per_lat,
        )
        for i in range(steps)
    ]
    ring.append(ring[0])
    line = "LINESTRING(" + ", ".join(f"{lon:.6f} {lat:.6f}" for lon, lat in ring) + ")"
    return func.ST_Multi(
        func.ST_Transform(
            func.ST_Buffer(func.ST_Transform(func.ST_GeomFromText(line, WGS84), LAMBERT93), 300),
            WGS84,
        )
    )


def seed_rules(session: Session) -> int:
    """One rule per category to its natural desk, snow and ice to the winter desk from
    November to March and to roads otherwise, and traffic faults on the ring road to the
    video-supervision desk. Skipped when any rule exists; returns how many were created."""
    if session.scalar(select(RoutingRule.id).limit(1)) is not None:
        return 0
    desks = {d.code: d for d in session.scalars(select(Desk))}
    categories = list(
        session.execute(
            select(Category.code, Category.group).order_by(Category.position, Category.code)
        )
    )
    known = {code for code, _ in categories}
    rules = []
    for offset, code in enumerate(c for c in ROCADE_CATEGORIES if c in known):
        rules.append(
            RoutingRule(
                name=f"Rocade : {code}",
                priority=10 + offset,
                category_code=code,
                desk=desks["videoprotection"],
                zone=rocade_zone(),
            )
        )
    if "snow_ice" in known:
        rules.append(
            RoutingRule(
                name="Neige et verglas, novembre à mars",
                priority=20,
                category_code="snow_ice",
                desk=desks["viabilite-hivernale"],
                months=sorted(WINTER),
            )
        )
        rules.append(
            RoutingRule(
                name="Neige et verglas, hors saison",
                priority=21,
                category_code="snow_ice",
                desk=desks["voirie"],
            )
        )
    for index, (code, group) in enumerate(c for c in categories if c[0] != "snow_ice"):
        desk = desks[DESK_OF_GROUP.get(group, "allo-mairie")]
        rules.append(
            RoutingRule(
                name=f"{code} → {desk.code}", priority=100 + index, category_code=code, desk=desk
            )
        )
    session.add_all(rules)
    session.commit()
    return len(rules)


def _zone_of(insee_codes):
    return (
        select(func.ST_Multi(func.ST_Union(Commune.geom)))
        .where(Commune.insee_code.in_(insee_codes))
        .scalar_subquery()
    )


def _point_in(insee_code: str):
    return (
        select(func.ST_PointOnSurface(Commune.geom))
        .where(Commune.insee_code == insee_code)
        .scalar_subquery()
    )


def seed_crews(session: Session) -> int:
    """About forty crews with skills, zones (groups of communes), depots inside their zones,
    working hours and capacities. Skipped when any crew exists; returns how many."""
    if session.scalar(select(Crew.id).limit(1)) is not None:
        return 0
    desks = {d.code: d for d in session.scalars(select(Desk))}
    groups = {desk: [] for desk in DESK_NAMES}
    for code, group in session.execute(select(Category.code, Category.group)):
        desk = DESK_OF_GROUP.get(group)
        if desk in groups:
            groups[desk].append(code)
    # Out of season, the roads crews clear snow too.
    groups["voirie"] += groups["viabilite-hivernale"]
    groups["videoprotection"] = [c for c in ROCADE_CATEGORIES if c in groups["circulation"]]
    crews = []
    serial = 0
    for desk, label, sectors, hours, count in CREW_PLAN:
        communes = [c for s in sectors for c in SECTORS[s]] if sectors else None
        for n in range(1, count + 1):
            serial += 1
            slug = label.lower().replace(" ", "-")
            crews.append(
                Crew(
                    code=f"{desk}-{slug}-{n}",
                    name=f"{DESK_NAMES[desk]} {label} {n}",
                    desk=desks[desk],
                    skills=sorted(groups[desk]),
                    zone=_zone_of(communes) if communes else None,
                    # The depot sits in one of the zone's communes, a different one per crew.
                    depot=_point_in(communes[(n - 1) % len(communes)] if communes else "21231"),
                    working_hours=hours,
                    capacity=6 + (serial * 7) % 13,
                )
            )
    for n in range(1, ROCADE_CREWS + 1):
        crews.append(
            Crew(
                code=f"videoprotection-rocade-{n}",
                name=f"Rocade {n}",
                desk=desks["videoprotection"],
                skills=sorted(groups["videoprotection"]),
                zone=rocade_zone(),
                depot=func.ST_PointOnSurface(rocade_zone()),
                working_hours=ALL_WEEK,
                capacity=8,
            )
        )
    session.add_all(crews)
    session.commit()
    return len(crews)
