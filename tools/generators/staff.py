"""Demo staff accounts for `make run` (``python -m tools.demo staff seed``): an agent per desk
that has work, a supervisor of every desk, an admin, a member of each demo crew and the
privacy officer (the CNIL correspondent).

Their uids start with ``demo-``: the console's sign-in screen offers them in the Auth
emulator's mode (a picker, no password). They are written through the users service, as
an operator's ``flask users set`` would: running the seed again puts the same accounts back.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.organisation.models import Crew, Desk
from app.users.models import Role, User
from app.users.service import put_user

PREFIX = "demo-"
SUPERVISOR = "demo-supervisor"
ADMIN = "demo-admin"
PRIVACY_OFFICER = "demo-privacy-officer"
# The street-lighting agent also watches the traffic signals: one person, two desks, as a
# newcomer can see in the console's desk switcher.
AGENT_DESKS = {
    "voirie": ("voirie",),
    "eclairage": ("eclairage", "circulation"),
    "proprete": ("proprete",),
    "viabilite-hivernale": ("viabilite-hivernale",),
    "securite": ("securite",),
    "videoprotection": ("videoprotection",),
    "allo-mairie": ("allo-mairie",),
}
# Invented people (first names common in France), one per account, in a stable order.
FIRST_NAMES = (
    "Camille", "Julien", "Sophie", "Karim", "Léa", "Thomas", "Nadia", "Lucas", "Inès", "Hugo",
    "Chloé", "Mehdi", "Manon", "Antoine", "Sarah", "Nicolas", "Emma", "Yanis", "Claire",
    "Maxime", "Laura", "Romain", "Amandine", "Bastien", "Élodie", "Damien", "Pauline", "Rémi",
    "Justine", "Olivier", "Margaux", "Vincent", "Aurélie", "Cédric", "Jeanne", "Fabien",
    "Lucie", "Guillaume", "Anaïs", "Sébastien", "Charlotte", "Mathieu", "Agathe", "Loïc",
    "Océane", "Florian", "Marion", "Quentin", "Salomé", "Adrien",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Girard", "Roux", "Fournier",
    "Morel", "Mercier", "Blanc", "Guerin", "Boyer", "Garnier", "Chevalier", "Lambert",
    "Bonnet", "Rousseau", "Vincent", "Muller", "Faure", "Andre", "Gauthier", "Perrin",
)  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    uid: str
    role: Role
    desks: tuple[str, ...] = ()
    crew: str | None = None
    display_name: str | None = None


def agent_uid(desk: str) -> str:
    return f"demo-agent-{desk}"


def crew_member_uid(crew: str) -> str:
    return f"demo-crew-{crew}"


def accounts(session: Session) -> list[DemoAccount]:
    """The demo accounts the organisation in the database calls for: agents of the desks that
    exist, a supervisor of every desk, an admin, one member per active crew."""
    desks = list(session.scalars(select(Desk.code).order_by(Desk.code)))
    crews = list(session.scalars(select(Crew.code).where(Crew.active).order_by(Crew.code)))
    wanted = [
        DemoAccount(agent_uid(desk), Role.AGENT, tuple(d for d in covered if d in desks))
        for desk, covered in AGENT_DESKS.items()
        if desk in desks
    ]
    # A desk added by an admin since gets an agent of its own too.
    covered = {d for account in wanted for d in account.desks}
    wanted += [DemoAccount(agent_uid(d), Role.AGENT, (d,)) for d in desks if d not in covered]
    wanted.append(DemoAccount(SUPERVISOR, Role.SUPERVISOR, tuple(desks)))
    wanted.append(DemoAccount(ADMIN, Role.ADMIN))
    wanted += [DemoAccount(crew_member_uid(crew), Role.CREW, crew=crew) for crew in crews]
    # Last: the others keep the names they had before the role existed.
    wanted.append(DemoAccount(PRIVACY_OFFICER, Role.PRIVACY_OFFICER))
    return [
        DemoAccount(
            a.uid,
            a.role,
            a.desks,
            a.crew,
            f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]} (démo)",
        )
        for i, a in enumerate(wanted)
    ]


def exist(session: Session) -> bool:
    """Whether any demo account is there (an admin may have edited them since)."""
    found = select(User.id).where(User.firebase_uid.like(PREFIX + "%")).limit(1)
    return session.scalar(found) is not None


def seed_staff(session: Session) -> list[DemoAccount]:
    """Create or put back every demo account (users service, as the operator's CLI: no
    actor); returns them."""
    wanted = accounts(session)
    for account in wanted:
        put_user(
            session,
            actor=None,
            uid=account.uid,
            role=account.role,
            display_name=account.display_name,
            desks=list(account.desks),
            crew=account.crew,
        )
    return wanted
