"""Use cases of the organisation domain."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound, Unprocessable
from app.organisation.models import Crew, Desk

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


def list_crews(session: Session) -> list[Crew]:
    return list(session.scalars(select(Crew).order_by(Crew.code)))


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


def crew_by_code(session: Session, code: str, *, field: str | None = "crew") -> Crew:
    crew = session.scalar(select(Crew).where(Crew.code == code))
    if crew is None:
        if field is None:
            raise NotFound("crew_not_found", code=code)
        raise Unprocessable(
            "unknown_crew", code=code, errors={"json": {field: [f"unknown crew: {code}"]}}
        )
    return crew


def put_crew(session: Session, *, code: str, name: str, desk: str) -> tuple[Crew, bool]:
    """Create or update a crew; returns it and whether it was created."""
    (desk_row,) = desks_by_code(session, [desk], field="desk")
    crew = session.scalar(select(Crew).where(Crew.code == code))
    created = crew is None
    if created:
        crew = Crew(code=code, name=name, desk=desk_row)
        session.add(crew)
    else:
        crew.name, crew.desk = name, desk_row
    session.commit()
    return crew, created
