"""The explanation agents read (a report's ``routing``): what routing records about each of
its decisions (priority, equipment, duplicate, desk, crew) and why, worded here only.

Intake writes it whole; re-routing by the desk (another category, another desk) rewrites the
entries it decides again.
"""

from app.organisation.models import Desk, RoutingRule

CREW_CHOICE = (
    "lowest open workload for its capacity among the desk's crews covering the point with "
    "the skill, then nearest depot"
)


def started(hours: int, priority: int) -> dict:
    """The explanation's first entries: the priority the category's service level gives; no
    equipment or duplicate found (yet)."""
    return {
        "service_level": {
            "hours": hours,
            "priority": priority,
            "why": "the category's service level",
        },
        "asset": None,
        "duplicate": None,
    }


def raise_near_place(explanation: dict, priority: int, place: list, radius_m: int) -> None:
    """The priority raised by a sensitive place (``place``: reference, name, kind) nearby."""
    reference, name, kind = place
    explanation["service_level"].update(
        priority=priority,
        why=f"the category's service level, raised: within {radius_m} m of "
        f"{kind or 'a sensitive place'} {name or reference}",
    )


def asset(
    asset_id: int, reference: str, kind: str | None, *, named: bool, snap_m=None, metres=None
) -> dict:
    """The equipment the report is attached to: named by the app, or the nearest one."""
    return {
        "id": asset_id,
        "reference": reference,
        "why": f"named by the app ({kind})"
        if named
        else f"nearest {kind} within {snap_m} m: {metres} m",
    }


def duplicate(
    report_id: int, reference: str, category_code: str, *, on_asset: bool, radius_m, days
) -> dict:
    """The open report this one duplicates: on the same equipment, else the nearest."""
    return {
        "report_id": report_id,
        "reference": reference,
        "why": f"open {category_code} report on the same equipment"
        if on_asset
        else f"open {category_code} report within {radius_m} m, "
        f"filed in the last {days} days (the nearest)",
    }


def possible_duplicate(entry: dict) -> dict:
    """A duplicate found when the desk routes a report again: pointed out, not merged."""
    return {**entry, "why": "possible duplicate, not merged: " + entry["why"]}


def desk_by_rule(rule: RoutingRule | None, desk: Desk) -> dict:
    """The desk decision: the first matching rule's desk, else the fallback desk."""
    if rule is None:
        return {"rule": "fallback", "desk": desk.code}
    return {"rule": {"id": rule.id, "name": rule.name}, "desk": desk.code}


def desk_forced(desk_code: str, role: str, old_desk: str | None) -> dict:
    """The desk decision made by hand: a re-routing by staff."""
    return {
        "rule": "forced",
        "desk": desk_code,
        "why": f"re-routed by the {role} from the {old_desk or 'no'} desk",
    }


def over_capacity(workload: int, capacity: int) -> bool:
    """A crew is full when its workload (choice.holds_open_work) reaches its capacity."""
    return workload >= capacity


def crew_chosen(code: str, workload: int, capacity: int, metres: float | None) -> dict:
    """The crew chosen (intake, re-routing). The crews are ordered by workload for capacity,
    so when the chosen one is full every candidate is: ``over_capacity`` says so, and the
    explanation says it in words for the desk."""
    full = over_capacity(workload, capacity)
    why = CREW_CHOICE
    if full:
        why += (
            f"; every candidate crew is at or over capacity ({code}: {workload} open "
            f"tickets for a capacity of {capacity}): share the work out or add a crew"
        )
    return {
        "crew": code,
        "workload": workload,
        "capacity": capacity,
        "depot_distance_m": None if metres is None else round(metres),
        "over_capacity": full,
        "why": why,
    }


def no_crew() -> dict:
    """No crew of the desk fits."""
    return {
        "crew": None,
        "why": "no active crew of this desk covers the point with the skill: "
        "the desk assigns one by hand",
    }


def crew_of_original() -> dict:
    """A duplicate goes to the desk but to no crew (its original has one)."""
    return {"crew": None, "why": "a duplicate: the original report's crew handles it"}


def switched_off() -> dict:
    """Routing is switched off: no desk or crew decided."""
    return {"why": "routing switched off"}


def category_changed(old_code: str, new_code: str) -> dict:
    """The desk changed the report's category, and routed it again."""
    return {"from": old_code, "to": new_code, "why": "changed by the desk"}
