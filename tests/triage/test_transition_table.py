"""Every role x every state x every action, through the HTTP API.

The expected table is written out here, not read from app/triage/transitions.py: a change to
the code's table fails this test until the rule is stated here too. Each case sends the
action with the right If-Match on a report in the state, at the caller's desk and assigned
to the caller's crew (so only the role and the state decide), and checks the answer: 200 and
the new state (and one event saying so), 403 forbidden_role, or 409 transition_not_allowed
naming the current state.
"""

import pytest

from app.reports.models import STATUSES
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act, history

R, C, AG, S, AD = Role.RESIDENT, Role.CREW, Role.AGENT, Role.SUPERVISOR, Role.ADMIN
DESK = {AG, S}
ALL = STATUSES
UNSTARTED = ("new", "acknowledged", "assigned", "reopened")
OPEN_WORK = ("new", "acknowledged", "assigned", "in_progress", "reopened")

# action -> [(roles, from-states, to-state or None when it stays)]
EXPECTED = {
    "acknowledge": [(DESK, ("new", "reopened"), "acknowledged")],
    "set_priority": [(DESK, OPEN_WORK, None)],
    "assign": [(DESK, OPEN_WORK, "assigned")],
    "reroute": [(DESK, UNSTARTED, "new")],
    "change_category": [(DESK, UNSTARTED, "new")],
    "merge": [(DESK, UNSTARTED, "duplicate")],
    "reject": [(DESK, UNSTARTED, "rejected")],
    "note": [(DESK | {C}, ALL, None)],
    "public_update": [(DESK, ALL, None)],
    "publish_description": [(DESK, ALL, None)],
    # The resident within 30 days of the resolution (tests/triage/test_actions.py).
    "reopen": [
        (DESK | {R}, ("resolved", "closed"), "reopened"),
        (DESK, ("rejected", "duplicate"), "reopened"),
    ],
    "close": [(DESK, ("resolved",), "closed")],
    "start": [({C}, ("assigned",), "in_progress")],
    "resolve": [({C}, ("assigned", "in_progress"), "resolved")],
    "hand_back": [({C}, ("assigned", "in_progress"), "acknowledged")],
}
BODIES = {
    "acknowledge": {},
    "set_priority": {"priority": 1},
    "assign": {"crew": "voirie-nord"},
    "reroute": {"desk": "eclairage"},
    "change_category": {"category": "graffiti"},
    "merge": {"into": None},  # filled with an open report per case
    "reject": {"reason": "not_our_problem"},
    "note": {"note": "Barrières posées"},
    "public_update": {"message": {"fr": "Intervention prévue lundi"}},
    "publish_description": {"description": "Nid-de-poule profond devant l'école"},
    "reopen": {"reason": "Le trou est toujours là"},
    "close": {},
    "start": {},
    "resolve": {"resolution": "repaired"},
    "hand_back": {"reason": "needs_equipment"},
}


def expected(action: str, role: Role, state: str) -> tuple[int, str]:
    """(HTTP status, new state or error code)."""
    rows = EXPECTED[action]
    if not any(role in roles for roles, _, _ in rows):
        return 403, "forbidden_role"
    for roles, states, target in rows:
        if role in roles and state in states:
            return 200, target or state
    return 409, "transition_not_allowed"


def test_the_expected_table_names_every_action_of_the_api(app):
    spec = app.test_client().get("/openapi.json").get_json()
    actions = {
        path.rsplit("/", 1)[1].replace("-", "_")
        for path in spec["paths"]
        if path.startswith("/v1/reports/{report_id}/actions/")
    }
    assert actions == set(EXPECTED)


@pytest.fixture
def callers(auth):
    return {role: auth(role, uid=f"{role.value}-1") for role in Role}


@pytest.mark.parametrize("state", STATUSES)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_role_doing_the_action_from_the_state(app, client, callers, action, state):
    staff = callers[S]  # reads the ETag, as any caller could
    body = dict(BODIES[action])
    failures = []
    for role in Role:
        # The resident is the reporter; the agent's desk and the crew are the report's.
        report_id = make_report(app, status=state, reporter=f"{R.value}-1")
        if action == "merge":
            body["into"] = make_report(app, status="acknowledged")
        response = act(client, callers[role], report_id, action, body, staff_headers=staff)
        status, outcome = expected(action, role, state)
        got = response.get_json()
        if response.status_code != status:
            failures.append(f"{role.value}: {response.status_code} {got}, expected {status}")
            continue
        if status == 200:
            events = history(client, staff, report_id)
            if got["status"] != outcome or (events[-1]["action"], events[-1]["to_status"]) != (
                action,
                outcome,
            ):
                failures.append(f"{role.value}: now {got['status']}, expected {outcome}")
        elif got["code"] != outcome:
            failures.append(f"{role.value}: {got['code']}, expected {outcome}")
        elif status == 409 and got["current_status"] != state:
            failures.append(f"{role.value}: 409 names {got['current_status']}, not {state}")
    assert failures == []
