"""Use cases of the organisation domain: desks, crews and routing rules."""

import json
from datetime import time
from pathlib import Path

import marshmallow as ma
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, undefer

from app.categories.models import Category
from app.errors import Conflict, NotFound, Problem, Unprocessable
from app.organisation import geometry
from app.organisation.models import Crew, Desk, RoutingRule
from app.organisation.schemas import DAYS, RoutingRuleFileItemSchema, RoutingRuleSchema

# The desks of the unified control centre (the six merged control rooms plus the desks
# that handle residents' reports). Allô Mairie, the citizen line, is the fallback.
CONTROL_CENTRE_DESKS = (
    ("voirie", "Voirie", "Roads", False),
    ("eclairage", "Éclairage public", "Street lighting", False),
    ("circulation", "Circulation", "Traffic", False),
    ("proprete", "Propreté", "Cleanliness", False),
    ("viabilite-hivernale", "Viabilité hivernale", "Winter maintenance", False),
    ("securite", "Sécurité et police municipale", "Safety and municipal police", False),
    ("videoprotection", "Vidéoprotection", "Video supervision", False),
    ("allo-mairie", "Allô Mairie", "Allô Mairie citizen desk", True),
)

POLYGONS = ("Polygon", "MultiPolygon")


class RoutingFileError(Exception):
    """The routing rules file is not valid; nothing was imported."""


def seed_desks(session: Session) -> int:
    """Create or update the control centre's desks; returns how many were created."""
    existing = {d.code: d for d in session.scalars(select(Desk))}
    created = 0
    for code, name_fr, name_en, fallback in CONTROL_CENTRE_DESKS:
        desk = existing.get(code)
        if desk is None:
            session.add(Desk(code=code, name_fr=name_fr, name_en=name_en, is_fallback=fallback))
            created += 1
        else:
            desk.name_fr, desk.name_en, desk.is_fallback = name_fr, name_en, fallback
    session.commit()
    return created


def list_desks(session: Session) -> list[Desk]:
    return list(session.scalars(select(Desk).order_by(Desk.code)))


def desks_by_code(session: Session, codes: list[str], *, field: str = "desks") -> list[Desk]:
    """The desks named by ``codes``; a 422 naming the unknown ones if any is missing."""
    codes = sorted(set(codes))
    desks = list(session.scalars(select(Desk).where(Desk.code.in_(codes)).order_by(Desk.code)))
    unknown = sorted(set(codes) - {d.code for d in desks})
    if unknown:
        raise Unprocessable(
            "unknown_desk",
            codes=", ".join(unknown),
            errors={"json": {field: [f"unknown desk: {c}" for c in unknown]}},
        )
    return desks


def _check_categories(session: Session, codes: list[str], *, field: str) -> None:
    known = set(session.scalars(select(Category.code).where(Category.code.in_(codes))))
    unknown = sorted(set(codes) - known)
    if unknown:
        raise Unprocessable(
            "unknown_category",
            code=", ".join(unknown),
            errors={"json": {field: [f"unknown category: {c}" for c in unknown]}},
        )


# --- crews ---------------------------------------------------------------------------------


def list_crews(session: Session) -> list[Crew]:
    query = select(Crew).options(undefer(Crew.zone_geojson), undefer(Crew.depot_geojson))
    return list(session.scalars(query.order_by(Crew.code)))


def crew_by_code(session: Session, code: str, *, field: str | None = "crew") -> Crew:
    crew = session.scalar(select(Crew).where(Crew.code == code))
    if crew is None:
        if field is None:
            raise NotFound("crew_not_found", code=code)
        raise Unprocessable(
            "unknown_crew", code=code, errors={"json": {field: [f"unknown crew: {code}"]}}
        )
    return crew


def _check_working_hours(hours: dict) -> dict:
    errors = {}
    for day in DAYS:
        for index, (start, end) in enumerate(hours.get(day) or []):
            if start >= end:
                errors.setdefault(day, {})[index] = [f"{start} is not before {end}"]
    if errors:
        raise Unprocessable("invalid_working_hours", errors={"json": {"working_hours": errors}})
    return {day: [list(p) for p in hours[day]] for day in DAYS if hours.get(day)}


def put_crew(
    session: Session,
    *,
    code: str,
    name: str,
    desk: str,
    skills: list[str] | None = None,
    zone: dict | None = None,
    depot: dict | None = None,
    working_hours: dict | None = None,
    capacity: int = 10,
    active: bool = True,
) -> tuple[Crew, bool]:
    """Create or replace a crew; returns it and whether it was created."""
    (desk_row,) = desks_by_code(session, [desk], field="desk")
    skills = sorted(set(skills or []))
    _check_categories(session, skills, field="skills")
    hours = _check_working_hours(working_hours or {})
    zone_sql = geometry.to_sql(session, zone, field="zone", types=POLYGONS)
    depot_sql = geometry.to_sql(session, depot, field="depot", types=("Point",))
    crew = session.scalar(select(Crew).where(Crew.code == code))
    created = crew is None
    if created:
        crew = Crew(code=code)
        session.add(crew)
    crew.name, crew.desk, crew.skills = name, desk_row, skills
    crew.zone, crew.depot, crew.working_hours = zone_sql, depot_sql, hours
    crew.capacity, crew.active = capacity, active
    session.commit()
    return crew, created


def name_crew(session: Session, *, code: str, name: str, desk: str) -> tuple[Crew, bool]:
    """Create a crew with default settings, or change only its name and desk."""
    (desk_row,) = desks_by_code(session, [desk], field="desk")
    crew = session.scalar(select(Crew).where(Crew.code == code))
    if crew is None:
        return put_crew(session, code=code, name=name, desk=desk)
    crew.name, crew.desk = name, desk_row
    session.commit()
    return crew, False


def get_crew(session: Session, code: str) -> Crew:
    crew = crew_by_code(session, code, field=None)
    session.refresh(crew)
    return crew


def delete_crew(session: Session, code: str) -> None:
    """Delete a crew; its reports lose their crew. Refused while staff belong to it."""
    from app.users.models import User

    crew = crew_by_code(session, code, field=None)
    members = session.scalar(select(User.firebase_uid).where(User.crew_id == crew.id).limit(1))
    if members is not None:
        raise Conflict("crew_has_members", code=code)
    session.delete(crew)
    session.commit()


# --- routing rules -------------------------------------------------------------------------


def list_rules(session: Session) -> list[RoutingRule]:
    query = select(RoutingRule).options(undefer(RoutingRule.zone_geojson))
    return list(session.scalars(query.order_by(RoutingRule.priority)))


def _rule(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound("routing_rule_not_found", id=rule_id)
    return rule


def _fill_rule(session: Session, rule: RoutingRule, data: dict) -> RoutingRule:
    (desk,) = desks_by_code(session, [data["desk"]], field="desk")
    if data.get("category") is not None:
        _check_categories(session, [data["category"]], field="category")
    if (data.get("starts_at") is None) != (data.get("ends_at") is None):
        raise Unprocessable(
            "invalid_time_window",
            errors={"json": {"ends_at": ["give both starts_at and ends_at, or neither"]}},
        )
    if data.get("starts_at") is not None and data["starts_at"] == data["ends_at"]:
        raise Unprocessable(
            "invalid_time_window",
            errors={"json": {"ends_at": ["the window is empty: ends_at equals starts_at"]}},
        )
    others = select(RoutingRule.id).where(RoutingRule.priority == data["priority"])
    if rule.id is not None:
        others = others.where(RoutingRule.id != rule.id)
    taken = session.scalar(others)
    if taken is not None:
        raise Conflict("routing_priority_taken", priority=data["priority"], id=taken)
    rule.zone = geometry.to_sql(session, data.get("zone"), field="zone", types=POLYGONS)
    rule.name, rule.priority, rule.desk = data["name"], data["priority"], desk
    rule.category_code = data.get("category")
    months = data.get("months")
    rule.months = sorted(set(months)) if months else None
    rule.starts_at = _time(data.get("starts_at"))
    rule.ends_at = _time(data.get("ends_at"))
    rule.active = data.get("active", True)
    return rule


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def create_rule(session: Session, data: dict) -> RoutingRule:
    """Add a routing rule."""
    # Filled before it joins the session: the checks' queries must not flush it half-made.
    rule = _fill_rule(session, RoutingRule(), data)
    session.add(rule)
    session.commit()
    return rule


def replace_rule(session: Session, rule_id: int, data: dict) -> RoutingRule:
    """Replace an existing routing rule."""
    rule = _fill_rule(session, _rule(session, rule_id), data)
    session.commit()
    return rule


def delete_rule(session: Session, rule_id: int) -> None:
    session.delete(_rule(session, rule_id))
    session.commit()


def export_rules(session: Session) -> list[dict]:
    """Every rule, in the import file format, by priority."""
    dumped = RoutingRuleSchema(many=True).dump(list_rules(session))
    return [{k: v for k, v in item.items() if k != "id"} for item in dumped]


def import_rules(session: Session, items: list) -> int:
    """Replace the whole rule set with ``items`` (parsed JSON), in one transaction.

    Rules are an ordered list, not keyed records: the file is the rule set.
    """
    try:
        loaded = RoutingRuleFileItemSchema(many=True).load(items)
    except ma.ValidationError as exc:
        raise RoutingFileError(json.dumps(exc.messages, ensure_ascii=False)) from exc
    priorities = [item["priority"] for item in loaded]
    if len(priorities) != len(set(priorities)):
        raise RoutingFileError("two rules have the same priority")
    session.execute(delete(RoutingRule))
    for item in loaded:
        try:
            session.add(_fill_rule(session, RoutingRule(), item))
            session.flush()
        except Problem as exc:
            session.rollback()
            detail = json.dumps(exc.errors or exc.params, ensure_ascii=False)
            raise RoutingFileError(f"rule {item['name']!r}: {detail}") from exc
    session.commit()
    return len(loaded)


def import_rules_file(session: Session, path: Path) -> int:
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RoutingFileError(f"{path}: {exc}") from exc
    if not isinstance(items, list):
        raise RoutingFileError(f"{path}: expected a JSON list of routing rules")
    return import_rules(session, items)
