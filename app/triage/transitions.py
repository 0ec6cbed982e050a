"""Which role may do which action on a report in which state, and the state it leads to.

This module is the one table of the ticket's life, one entry per action: its rows, the body
it takes, what it changes besides the state, its words in the API and whether a selection
may get it in bulk. The pipeline, the views (an endpoint per action and per bulk action, 403
for a role that may never do one, their documentation) and the 409 answers (what is allowed
from here, and now) all read it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import marshmallow as ma

from app.errors import Conflict, Forbidden
from app.reports.models import STATUSES
from app.triage import handlers, messages
from app.triage.access import Timing
from app.triage.schemas import (
    ActionInSchema,
    AssignInSchema,
    ChangeCategoryInSchema,
    HandBackInSchema,
    MergeInSchema,
    NoteInSchema,
    PublicUpdateInSchema,
    PublishDescriptionInSchema,
    RejectInSchema,
    ReopenInSchema,
    RerouteInSchema,
    ResolveInSchema,
    SetPriorityInSchema,
)
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


@dataclass(frozen=True)
class Window:
    """A time limit on a row: its roles may do the action only within ``days`` of the
    report's last entry into ``after`` (app.triage.queries.entered); later, 409 ``problem``."""

    after: str
    days: int
    problem: str

    def is_open(self, since: datetime, now: datetime) -> bool:
        return now - since <= timedelta(days=self.days)


# Residents may reopen a resolved report (or one the desk closed since) this long after it
# was resolved: the "resolved" message promises it.
REOPEN_WINDOW_DAYS = 30
REOPEN_WINDOW = Window(after="resolved", days=REOPEN_WINDOW_DAYS, problem="reopen_window_over")


# Compared and hashed by identity: an entry is the action (its rows are a list).
@dataclass(frozen=True, eq=False)
class Action:
    """One triage action: its rows of the table; ``schema``, the body it takes; ``handler``
    (app.triage.handlers), what it changes besides the state; ``summary``, its endpoint's
    summary; ``bulk``, whether a selection of reports may get it at once."""

    name: str
    rows: list[tuple]
    schema: type[ma.Schema]
    summary: str
    handler: Callable | None = None
    bulk: bool = False


# One entry per action. Read each of its rows, (from-states, to-state, roles[, window]), as:
# "<roles> may <action> a report in any of <from-states> (within <window>); it is then in
# <to-state>". Two rows may give the same action from the same state to different roles.
# Admins configure; they do not work tickets.
_ACTIONS: tuple[Action, ...] = (
    Action(
        "acknowledge",
        rows=[(("new", "reopened"), "acknowledged", DESK)],
        schema=ActionInSchema,
        summary="Acknowledge a new or reopened report (desk)",
        bulk=True,
    ),
    Action(
        "set_priority",
        rows=[(OPEN_WORK, SAME, DESK)],
        schema=SetPriorityInSchema,
        handler=handlers.set_priority,
        summary="Set the priority, 1 urgent to 4 low (desk)",
    ),
    Action(
        "assign",
        # Assigning from `new` acknowledges on the way; from `in_progress` it takes the ticket
        # from one crew to another, which must start it again.
        rows=[(OPEN_WORK, "assigned", DESK)],
        schema=AssignInSchema,
        handler=handlers.assign,
        summary="Assign or reassign one of the desk's crews (desk)",
        bulk=True,
    ),
    Action(
        "reroute",
        # Re-routing re-enters the (new) desk's intake: the crew is chosen again, unassigned.
        rows=[(UNSTARTED, "new", DESK)],
        schema=RerouteInSchema,
        handler=handlers.reroute,
        summary="Re-route to another desk: its crews are chosen from again (desk)",
    ),
    Action(
        "change_category",
        rows=[(UNSTARTED, "new", DESK)],
        schema=ChangeCategoryInSchema,
        handler=handlers.change_category,
        summary="Change the category: routed again in full (desk)",
    ),
    Action(
        "merge",
        rows=[(UNSTARTED, "duplicate", DESK)],
        schema=MergeInSchema,
        handler=handlers.merge,
        summary="Merge into another open report: supporters and followers move over (desk)",
        bulk=True,
    ),
    Action(
        "reject",
        rows=[(UNSTARTED, "rejected", DESK)],
        schema=RejectInSchema,
        handler=handlers.reject,
        summary="Reject with a public reason code (desk)",
    ),
    Action(
        "note",
        rows=[(ANY, SAME, DESK | CREW)],
        schema=NoteInSchema,
        summary="Add an internal note (desk, or the assigned crew)",
    ),
    Action(
        "public_update",
        rows=[(ANY, SAME, DESK)],
        schema=PublicUpdateInSchema,
        summary="Tell residents something without changing the state (desk)",
    ),
    Action(
        "publish_description",
        # Moderation: the desk publishes the description (edited if need be), or withdraws it.
        rows=[(ANY, SAME, DESK)],
        schema=PublishDescriptionInSchema,
        handler=handlers.publish_description,
        summary="Publish the description, edited of personal details, to the public, Open311 "
        "and open data; null withdraws it (desk)",
    ),
    Action(
        "reopen",
        rows=[
            # A resident (the reporter or a supporter) may say "not fixed" within 30 days of
            # the resolution, even once the desk has closed the report.
            (("resolved", "closed"), "reopened", RESIDENT, REOPEN_WINDOW),
            (("resolved", "closed", "rejected", "duplicate"), "reopened", DESK),
        ],
        schema=ReopenInSchema,
        handler=handlers.reopen,
        summary="Reopen: the desk from resolved, closed, rejected or duplicate; the reporter or "
        "a supporter from resolved or closed, within 30 days of the resolution",
    ),
    Action(
        "close",
        rows=[(("resolved",), "closed", DESK)],
        schema=ActionInSchema,
        summary="Close a resolved report (desk)",
    ),
    Action(
        "start",
        rows=[(("assigned",), "in_progress", CREW)],
        schema=ActionInSchema,
        summary="Start work on an assigned ticket (the assigned crew)",
    ),
    Action(
        "resolve",
        # A quick job may be resolved without pressing "start" first.
        rows=[(("assigned", "in_progress"), "resolved", CREW)],
        schema=ResolveInSchema,
        handler=handlers.resolve,
        summary="Resolve with a resolution code (the assigned crew)",
    ),
    Action(
        "hand_back",
        rows=[(("assigned", "in_progress"), "acknowledged", CREW)],
        schema=HandBackInSchema,
        handler=handlers.hand_back,
        summary="Hand the ticket back to the desk with a reason; the crew is cleared "
        "(the assigned crew)",
    ),
)


@dataclass(frozen=True)
class Transition:
    action: str
    from_status: str
    to_status: str  # the from-state when the action keeps it
    roles: frozenset[Role]
    # The roles that may do it only within a time limit, and the limit.
    windows: dict[Role, Window] = field(default_factory=dict)

    def window_for(self, role: Role) -> Window | None:
        return self.windows.get(role)


def _build(actions: tuple[Action, ...]) -> dict[tuple[str, str], Transition]:
    names = [a.name for a in actions]
    assert len(set(names)) == len(names), "an action has two entries"
    table: dict[tuple[str, str], Transition] = {}
    rows = [(a.name, *row) for a in actions for row in a.rows]
    for action, sources, target, roles, *window in rows:
        windows = {role: window[0] for role in roles} if window else {}
        for source in sources:
            assert source in STATUSES and (target is None or target in STATUSES)
            assert all(w.after in STATUSES for w in windows.values())
            to_status = target or source
            found = table.get((action, source))
            if found is not None:
                assert found.to_status == to_status, f"{action} from {source}: two targets"
                assert not found.roles & roles, f"{action} from {source} twice for a role"
                roles_now, windows_now = found.roles | roles, {**found.windows, **windows}
            else:
                roles_now, windows_now = roles, windows
            table[action, source] = Transition(action, source, to_status, roles_now, windows_now)
    # Problems name states and actions in words (app.triage.messages), never by their codes.
    assert set(messages.STATUS_LABELS) == set(STATUSES)
    assert {a for a, _ in table} == set(messages.ACTION_LABELS)
    return table


TABLE = _build(_ACTIONS)
# Each action's entry, by name, in the table's order (that of the API's endpoints).
ENTRIES: dict[str, Action] = {a.name: a for a in _ACTIONS}
ACTIONS = tuple(ENTRIES)


def roles_for(action: str) -> frozenset[Role]:
    """Every role that may do ``action`` from some state."""
    return frozenset().union(*(t.roles for t in TABLE.values() if t.action == action))


def allowed_from(action: str, role: Role) -> tuple[str, ...]:
    """The states from which ``role`` may do ``action``, in STATUSES order."""
    return tuple(s for s in STATUSES if role in _roles(action, s))


def allowed_actions(status: str, role: Role, timing: Timing) -> tuple[str, ...]:
    """What ``role`` may do now to a report in ``status``: a row with a time limit counts
    only while its window is open (``timing``)."""
    return tuple(a for a in ACTIONS if _may_now(TABLE.get((a, status)), role, timing))


def _may_now(transition: Transition | None, role: Role, timing: Timing) -> bool:
    if transition is None or role not in transition.roles:
        return False
    window = transition.window_for(role)
    return window is None or window.is_open(timing.since(window.after), timing.now)


def describe(action: str, role: Role) -> str:
    """Whence ``role`` may do ``action``, and within which time limit (the API's docs)."""
    states = allowed_from(action, role)
    windows = dict.fromkeys(w for s in states if (w := TABLE[action, s].window_for(role)))
    limits = "".join(f", within {w.days} days of becoming {w.after}" for w in windows)
    return f"{role.value} from {', '.join(states)}{limits}"


def _roles(action: str, status: str) -> frozenset[Role]:
    transition = TABLE.get((action, status))
    return transition.roles if transition else frozenset()


def require_role(action: str, role: Role) -> None:
    """403 ``forbidden_role`` when ``role`` may never do ``action``, from any state."""
    if role not in roles_for(action):
        raise Forbidden(
            "forbidden_role",
            role=role.value,
            allowed=", ".join(sorted(r.value for r in roles_for(action))),
        )


def decide(action: str, role: Role, status: str, timing: Timing) -> Transition:
    """The transition ``role`` makes by doing ``action`` now on a report in ``status``.

    403 ``forbidden_role`` when the role may never do it; 409 ``transition_not_allowed``
    (naming the current state, the states it is allowed from and what may be done now)
    when it may, but not from this state; 409 with the row's window problem when it may
    from this state, but no longer (saying since when, and what may be done now).
    """
    require_role(action, role)
    transition = TABLE.get((action, status))
    if transition is None or role not in transition.roles:
        allowed = allowed_from(action, role)
        now = allowed_actions(status, role, timing)
        raise Conflict(
            "transition_not_allowed",
            action=messages.action_words(action),
            status=messages.status_words(status),
            allowed_from=messages.status_words(*allowed),
            allowed_now=messages.action_words(*now),
            extra={
                "action": action,
                "current_status": status,
                "allowed_from": list(allowed),
                "allowed_actions": list(now),
            },
        )
    window = transition.window_for(role)
    if window is not None:
        since = timing.since(window.after)
        if not window.is_open(since, timing.now):
            at = f"{window.after}_at"
            raise Conflict(
                window.problem,
                days=window.days,
                **{at: since.date().isoformat()},
                extra={
                    at: since.isoformat(),
                    "current_status": status,
                    "allowed_actions": list(allowed_actions(status, role, timing)),
                },
            )
    return transition
