"""Which role may do which action on a report in which state, and the state it leads to.

This module is the one table of the ticket's life: the service, the views (403 for a role
that may never do an action) and the 409 answers (what is allowed from here) all read it.
"""

from dataclasses import dataclass

from app.errors import Conflict, Forbidden
from app.reports.models import STATUSES
from app.users.models import Role

# The desk works tickets: agents on their own desks' reports, supervisors on any desk's.
DESK = frozenset({Role.AGENT, Role.SUPERVISOR})
CREW = frozenset({Role.CREW})
RESIDENT = frozenset({Role.RESIDENT})

# From-state sets, named.
ANY = STATUSES
# Still with the desk or a crew, work not started.
UNSTARTED = ("new", "acknowledged", "assigned", "reopened")
OPEN_WORK = ("new", "acknowledged", "assigned", "in_progress", "reopened")

# The action keeps the report in its state.
SAME = None

# (action, from-states, to-state, roles). Read it as: "<roles> may <action> a report in any
# of <from-states>; it is then in <to-state>". Admins configure; they do not work tickets.
_ROWS: tuple[tuple[str, tuple[str, ...], str | None, frozenset[Role]], ...] = (
    ("acknowledge", ("new", "reopened"), "acknowledged", DESK),
    ("set_priority", OPEN_WORK, SAME, DESK),
    # Assigning from `new` acknowledges on the way; from `in_progress` it takes the ticket
    # from one crew to another, which must start it again.
    ("assign", OPEN_WORK, "assigned", DESK),
    # Re-routing re-enters the (new) desk's intake: the crew is chosen again, unassigned.
    ("reroute", UNSTARTED, "new", DESK),
    ("change_category", UNSTARTED, "new", DESK),
    ("merge", UNSTARTED, "duplicate", DESK),
    ("reject", UNSTARTED, "rejected", DESK),
    ("note", ANY, SAME, DESK | CREW),
    ("public_update", ANY, SAME, DESK),
    # Moderation: the desk publishes the description (edited if need be), or withdraws it.
    ("publish_description", ANY, SAME, DESK),
    # A resident (the reporter or a supporter) may say "not fixed" within 30 days.
    ("reopen", ("resolved",), "reopened", DESK | RESIDENT),
    ("reopen", ("closed", "rejected", "duplicate"), "reopened", DESK),
    ("close", ("resolved",), "closed", DESK),
    ("start", ("assigned",), "in_progress", CREW),
    # A quick job may be resolved without pressing "start" first.
    ("resolve", ("assigned", "in_progress"), "resolved", CREW),
    ("hand_back", ("assigned", "in_progress"), "acknowledged", CREW),
)


@dataclass(frozen=True)
class Transition:
    action: str
    from_status: str
    to_status: str  # the from-state when the action keeps it
    roles: frozenset[Role]


def _build() -> dict[tuple[str, str], Transition]:
    table = {}
    for action, sources, target, roles in _ROWS:
        for source in sources:
            assert source in STATUSES and (target is None or target in STATUSES)
            assert (action, source) not in table, f"{action} from {source} twice"
            table[action, source] = Transition(action, source, target or source, roles)
    return table


TABLE = _build()
ACTIONS = tuple(dict.fromkeys(row[0] for row in _ROWS))
# Why a report is rejected: shown to residents (public).
REJECT_REASONS = ("not_our_problem", "not_our_responsibility", "not_found_on_site")
HAND_BACK_REASONS = (
    "not_found_on_site",
    "not_our_responsibility",
    "needs_other_skill",
    "needs_equipment",
    "access_blocked",
    "other",
)
RESOLUTION_CODES = ("repaired", "made_safe", "replaced", "cleaned", "already_fixed", "other")
# Actions a bulk request may apply to a selection.
BULK_ACTIONS = ("acknowledge", "assign", "merge")
# Residents may reopen a resolved report this long after it was resolved.
REOPEN_WINDOW_DAYS = 30


def roles_for(action: str) -> frozenset[Role]:
    """Every role that may do ``action`` from some state."""
    return frozenset().union(*(t.roles for t in TABLE.values() if t.action == action))


def allowed_from(action: str, role: Role) -> tuple[str, ...]:
    """The states from which ``role`` may do ``action``, in STATUSES order."""
    return tuple(s for s in STATUSES if role in _roles(action, s))


def allowed_actions(status: str, role: Role) -> tuple[str, ...]:
    """What ``role`` may do to a report in ``status``."""
    return tuple(a for a in ACTIONS if role in _roles(a, status))


def _roles(action: str, status: str) -> frozenset[Role]:
    transition = TABLE.get((action, status))
    return transition.roles if transition else frozenset()


def decide(action: str, role: Role, status: str) -> Transition:
    """The transition ``role`` makes by doing ``action`` on a report in ``status``.

    403 ``forbidden_role`` when the role may never do it; 409 ``transition_not_allowed``
    (naming the current state, the states it is allowed from and what may be done now)
    when it may, but not from this state.
    """
    if role not in roles_for(action):
        raise Forbidden(
            "forbidden_role",
            role=role.value,
            allowed=", ".join(sorted(r.value for r in roles_for(action))),
        )
    transition = TABLE.get((action, status))
    if transition is None or role not in transition.roles:
        allowed = allowed_from(action, role)
        now = allowed_actions(status, role)
        raise Conflict(
            "transition_not_allowed",
            action=action,
            status=status,
            allowed_from=", ".join(allowed),
            allowed_now=", ".join(now) or "-",
            extra={
                "action": action,
                "current_status": status,
                "allowed_from": list(allowed),
                "allowed_actions": list(now),
            },
        )
    return transition
