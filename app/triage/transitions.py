"""Which role may do which action on a report in which state, and the state it leads to.

This module is the one table of the ticket's life: the pipeline, the views (403 for a role
that may never do an action) and the 409 answers (what is allowed from here, and now) all
read it.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.errors import Conflict, Forbidden
from app.reports.models import STATUSES
from app.triage import messages
from app.triage.access import Timing
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

# (action, from-states, to-state, roles[, window]). Read it as: "<roles> may <action> a
# report in any of <from-states> (within <window>); it is then in <to-state>". Two rows may
# give the same action from the same state to different roles. Admins configure; they do
# not work tickets.
_ROWS: tuple[tuple, ...] = (
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
    # A resident (the reporter or a supporter) may say "not fixed" within 30 days of the
    # resolution, even once the desk has closed the report.
    ("reopen", ("resolved", "closed"), "reopened", RESIDENT, REOPEN_WINDOW),
    ("reopen", ("resolved", "closed", "rejected", "duplicate"), "reopened", DESK),
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
    # The roles that may do it only within a time limit, and the limit.
    windows: dict[Role, Window] = field(default_factory=dict)

    def window_for(self, role: Role) -> Window | None:
        return self.windows.get(role)


def _build() -> dict[tuple[str, str], Transition]:
    table: dict[tuple[str, str], Transition] = {}
    for action, sources, target, roles, *window in _ROWS:
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
