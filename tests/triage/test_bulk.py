"""Bulk actions: each report of the selection done or refused on its own."""

from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


def test_bulk_acknowledge_reports_each_item_on_its_own(app, client, auth):
    agent = auth(Role.AGENT)
    fresh = make_report(app)
    stale = make_report(app)
    act(client, agent, stale, "set_priority", {"priority": 2})  # now version 2
    resolved = make_report(app, status="resolved")
    other_desk = make_report(app, desk="allo-mairie", crew=None)
    response = client.post(
        "/v1/reports/bulk-actions/acknowledge",
        headers=agent,
        json={
            "reports": [
                {"id": fresh, "version": 1},
                {"id": stale, "version": 1},
                {"id": resolved, "version": 1},
                {"id": other_desk, "version": 1},
                {"id": 999999, "version": 1},
            ],
            "note": "Tournée du matin",
        },
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["id"], r["http_status"], r.get("code")) for r in results] == [
        (fresh, 200, None),
        (stale, 412, "report_changed"),
        (resolved, 409, "transition_not_allowed"),
        (other_desk, 403, "not_your_desk"),
        (999999, 404, "report_not_found"),
    ]
    assert results[0] == {
        "id": fresh,
        "ok": True,
        "http_status": 200,
        "status": "acknowledged",
        "version": 2,
    }
    assert (results[1]["current_version"], results[1]["current_status"]) == (2, "new")
    assert results[2]["current_status"] == "resolved"
    assert client.get(f"/v1/reports/{stale}", headers=agent).get_json()["status"] == "new"


def test_bulk_assign_and_merge(app, client, auth):
    agent = auth(Role.AGENT)
    first, second = make_report(app, crew=None), make_report(app, crew=None)
    response = client.post(
        "/v1/reports/bulk-actions/assign",
        headers=agent,
        json={
            "reports": [{"id": first, "version": 1}, {"id": second, "version": 1}],
            "crew": "voirie-nord",
        },
    )
    assert [r["status"] for r in response.get_json()["results"]] == ["assigned", "assigned"]
    original = make_report(app, reporter="ana")
    copies = [make_report(app, reporter=uid) for uid in ("bob", "cat")]
    response = client.post(
        "/v1/reports/bulk-actions/merge",
        headers=agent,
        json={"reports": [{"id": c, "version": 1} for c in copies], "into": original},
    )
    assert [r["status"] for r in response.get_json()["results"]] == ["duplicate", "duplicate"]
    target = client.get(f"/v1/reports/{original}", headers=agent)
    assert target.get_json()["support_count"] == 2
    assert target.headers["ETag"] == '"3"'  # each merge moved the original on


def test_bulk_actions_are_for_the_desk(app, client, auth):
    response = client.post(
        "/v1/reports/bulk-actions/acknowledge",
        headers=auth(Role.CREW),
        json={"reports": [{"id": make_report(app), "version": 1}]},
    )
    assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")
