"""Work done on a tablet with no network, replayed later: nothing lost, nothing twice, and
a write overtaken by a newer change answered 409 with both versions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.organisation.service import put_crew
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.triage.helpers import act, etag_of, make_report

OFFLINE_AT = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@pytest.fixture
def other_crew(app):
    with app.app_context():
        put_crew(db.session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        db.session.commit()
        db.session.remove()
    return "voirie-sud"


def replay(client, crew, report_id, etag, key, minutes):
    """The tablet sending a resolve it made offline ``minutes`` after OFFLINE_AT."""
    return client.post(
        f"/v1/reports/{report_id}/actions/resolve",
        headers={**crew, "If-Match": etag, "Idempotency-Key": key},
        json={
            "resolution": "repaired",
            "client_at": (OFFLINE_AT + timedelta(minutes=minutes)).isoformat(),
        },
    )


def state(app, ids) -> dict:
    """Each report's (status, version, crew id, number of events)."""
    with app.app_context():
        rows = {
            r.id: (r.status, r.version, r.crew_id)
            for r in db.session.scalars(select(Report).where(Report.id.in_(ids)))
        }
        events = dict(
            db.session.execute(
                select(ReportEvent.report_id, func.count())
                .where(ReportEvent.report_id.in_(ids))
                .group_by(ReportEvent.report_id)
            ).all()
        )
        db.session.remove()
    return {i: (*rows[i], events.get(i, 0)) for i in ids}


def test_three_offline_resolutions_and_a_reassignment_meanwhile_two_apply_one_conflicts(
    app, client, auth, other_crew
):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    tickets = [make_report(app, status="assigned") for _ in range(3)]
    # The tablet synced: it knows each ticket's version. Then the network goes.
    seen = {t: etag_of(client, crew, t) for t in tickets}
    # Meanwhile the desk gives the second ticket to another crew.
    moved = act(client, agent, tickets[1], "assign", {"crew": other_crew})
    assert moved.status_code == 200

    answers = [replay(client, crew, t, seen[t], f"offline-{n}", n) for n, t in enumerate(tickets)]
    assert [a.status_code for a in answers] == [200, 409, 200]
    assert answers[0].get_json()["status"] == answers[2].get_json()["status"] == "resolved"
    conflict = answers[1].get_json()
    assert answers[1].mimetype == "application/problem+json"
    assert conflict["code"] == "offline_conflict"
    assert conflict["why"] == "not_your_crew_ticket"
    # Both versions: what the tablet did on the version it had, and the ticket now.
    assert conflict["yours"]["version"] == int(seen[tickets[1]].strip('"'))
    assert conflict["yours"]["action"] == "resolve"
    assert conflict["yours"]["request"] == {"resolution": "repaired"}
    assert conflict["yours"]["client_at"].startswith("2026-11-26T07:31")
    assert conflict["current_version"] == int(moved.headers["ETag"].strip('"'))
    assert conflict["current"]["status"] == "assigned"
    assert answers[1].headers["ETag"] == moved.headers["ETag"]
    # The applied ones keep the time the crew did the work.
    with app.app_context():
        event = db.session.scalar(
            select(ReportEvent).where(
                ReportEvent.report_id == tickets[0], ReportEvent.action == "resolve"
            )
        )
        assert event.client_at == OFFLINE_AT
        db.session.remove()

    # The tablet, unsure what got through, sends the same batch again: nothing changes.
    before = state(app, tickets)
    again = [replay(client, crew, t, seen[t], f"offline-{n}", n) for n, t in enumerate(tickets)]
    assert [a.status_code for a in again] == [200, 409, 200]
    assert again[0].get_json() == answers[0].get_json()
    assert again[0].headers["Idempotent-Replayed"] == "true"
    assert again[0].headers["ETag"] == answers[0].headers["ETag"]
    assert state(app, tickets) == before


def test_an_offline_write_still_applies_when_the_change_meanwhile_does_not_touch_it(
    app, client, auth
):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    ticket = make_report(app, status="assigned")
    seen = etag_of(client, crew, ticket)
    assert act(client, agent, ticket, "set_priority", {"priority": 1}).status_code == 200
    response = replay(client, crew, ticket, seen, "k1", 5)
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    assert response.get_json()["priority"] == 1  # the agent's change is kept too


def test_an_online_stale_write_is_still_412_and_an_offline_one_from_a_closed_state_409(
    app, client, auth
):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    ticket = make_report(app, status="assigned")
    seen = etag_of(client, crew, ticket)
    assert act(client, agent, ticket, "set_priority", {"priority": 1}).status_code == 200
    # Without client_at it is not a replay: the usual optimistic check.
    online = act(client, crew, ticket, "start", etag=seen)
    assert online.status_code == 412
    # Resolved by the desk's other means meanwhile (here: rejected): the replay conflicts.
    assert act(client, agent, ticket, "reject", {"reason": "not_found_on_site"}).status_code == 200
    late = replay(client, crew, ticket, seen, "k2", 9)
    assert late.status_code == 409
    assert late.get_json()["why"] in ("transition_not_allowed", "not_your_crew_ticket")
    assert late.get_json()["current"]["status"] == "rejected"


def test_a_key_reused_for_another_write_is_refused(app, client, auth):
    crew = auth(Role.CREW)
    first, second = (make_report(app, status="assigned") for _ in range(2))
    assert replay(client, crew, first, etag_of(client, crew, first), "same", 1).status_code == 200
    reused = client.post(
        f"/v1/reports/{first}/actions/note",
        headers={**crew, "If-Match": etag_of(client, crew, first), "Idempotency-Key": "same"},
        json={"note": "another write"},
    )
    # Another action is another scope: a key is per write, not global.
    assert reused.status_code == 200
    changed_body = replay(client, crew, second, etag_of(client, crew, second), "k3", 1)
    assert changed_body.status_code == 200
    different = client.post(
        f"/v1/reports/{second}/actions/resolve",
        headers={**crew, "If-Match": etag_of(client, crew, second), "Idempotency-Key": "k3"},
        json={"resolution": "made_safe"},
    )
    assert different.status_code == 422
    assert different.get_json()["code"] == "idempotency_key_reused"


def test_a_replay_whose_if_match_names_no_version_of_ours_is_a_clear_conflict(
    app, client, auth, other_crew
):
    crew = auth(Role.CREW)
    ticket = make_report(app, status="assigned", crew=other_crew)  # not this crew's
    response = client.post(
        f"/v1/reports/{ticket}/actions/start",
        headers={**crew, "If-Match": '"0000000000000000000000"'},
        json={"client_at": OFFLINE_AT.isoformat()},
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "offline_conflict"
    assert response.get_json()["yours"]["version"] is None


def test_an_action_without_fields_needs_no_body(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    response = client.post(
        f"/v1/reports/{report_id}/actions/acknowledge",
        headers={**agent, "If-Match": etag_of(client, agent, report_id)},
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "acknowledged"
