"""GET /v1/reports/{id}/actions: what the console offers on a ticket is exactly what the
transition table lets the caller do now, and nothing out of their reach."""

from app.triage import transitions
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


def available(client, headers, report_id):
    return client.get(f"/v1/reports/{report_id}/actions", headers=headers)


def test_an_agent_is_offered_the_desk_s_actions_from_the_report_s_state(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app, status="new", crew=None)
    response = available(client, agent, report_id)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "new"
    assert "acknowledge" in body["actions"] and "assign" in body["actions"]
    assert "start" not in body["actions"] and "resolve" not in body["actions"]
    # Each offered action is accepted; after acknowledging, it is no longer offered.
    assert act(client, agent, report_id, "acknowledge").status_code == 200
    after = available(client, agent, report_id).get_json()
    assert after["status"] == "acknowledged"
    assert after["version"] == body["version"] + 1
    assert "acknowledge" not in after["actions"]
    assert "assign" in after["actions"]


def test_the_offer_follows_the_table_for_every_state(app, client, auth):
    agent = auth(Role.AGENT)
    for status in ("new", "acknowledged", "assigned", "in_progress", "resolved", "closed"):
        report_id = make_report(app, status=status)
        actions = available(client, agent, report_id).get_json()["actions"]
        expected = [
            name
            for name in transitions.ACTIONS
            if (transition := transitions.TABLE.get((name, status)))
            and Role.AGENT in transition.roles
        ]
        assert actions == expected, status


def test_the_crew_holding_the_ticket_is_offered_its_work_and_an_admin_nothing(app, client, auth):
    report_id = make_report(app, status="assigned")
    assert set(available(client, auth(Role.CREW), report_id).get_json()["actions"]) >= {
        "start",
        "note",
        "hand_back",
    }
    assert available(client, auth(Role.ADMIN), report_id).get_json()["actions"] == []


def test_another_desk_s_agent_a_stranger_and_a_missing_report_are_refused(app, client, auth):
    report_id = make_report(app, desk="allo-mairie", crew=None)
    refused = available(client, auth(Role.AGENT), report_id)
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "not_your_desk"
    assert available(client, auth(Role.RESIDENT), report_id).status_code == 403
    assert available(client, {}, report_id).status_code == 401
    missing = available(client, auth(Role.AGENT), 999_999_999)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
