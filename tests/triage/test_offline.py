"""Work done on a tablet with no network, replayed later: nothing lost, nothing twice, and
a write overtaken by a newer change answered 409 with both versions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.identity import Identity
from app.errors import Unprocessable
from app.extensions import db
from app.organisation.service import put_crew
from app.reports.models import Report
from app.triage import access, pipeline
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.factories import add_event, make_report
from tests.triage.helpers import act, database_now, etag_of

OFFLINE_AT = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
# The tickets the tablet works on were reported, and given to the crew, before it went offline.
REPORTED_AT = OFFLINE_AT - timedelta(days=1)


@pytest.fixture
def other_crew(app):
    with app.app_context():
        put_crew(db.session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        db.session.commit()
        db.session.remove()
    return "voirie-sud"


def ticket(app, **fields) -> int:
    """A ticket assigned to the members' crew (voirie-nord) since REPORTED_AT."""
    return make_report(app, **{"status": "assigned", "created_at": REPORTED_AT, **fields})


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
    tickets = [ticket(app) for _ in range(3)]
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
    ticket_id = ticket(app)
    seen = etag_of(client, crew, ticket_id)
    assert act(client, agent, ticket_id, "set_priority", {"priority": 1}).status_code == 200
    response = replay(client, crew, ticket_id, seen, "k1", 5)
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    assert response.get_json()["priority"] == 1  # the agent's change is kept too


def test_an_online_stale_write_is_still_412_and_an_offline_one_from_a_closed_state_409(
    app, client, auth
):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    ticket_id = ticket(app)
    seen = etag_of(client, crew, ticket_id)
    assert act(client, agent, ticket_id, "set_priority", {"priority": 1}).status_code == 200
    # Without client_at it is not a replay: the usual optimistic check.
    online = act(client, crew, ticket_id, "start", etag=seen)
    assert online.status_code == 412
    # Resolved by the desk's other means meanwhile (here: rejected): the replay conflicts.
    rejected = act(client, agent, ticket_id, "reject", {"reason": "not_found_on_site"})
    assert rejected.status_code == 200
    late = replay(client, crew, ticket_id, seen, "k2", 9)
    assert late.status_code == 409
    assert late.get_json()["why"] in ("transition_not_allowed", "not_your_crew_ticket")
    assert late.get_json()["current"]["status"] == "rejected"


def test_a_key_reused_for_another_write_is_refused(app, client, auth):
    crew = auth(Role.CREW)
    first, second = (ticket(app) for _ in range(2))
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
    ticket_id = ticket(app, crew=other_crew)  # not this crew's
    response = client.post(
        f"/v1/reports/{ticket_id}/actions/start",
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


# --- the device's time: only a possible one enters the history ------------------------------


def resolve_at(client, crew, report_id, client_at, etag=None):
    return client.post(
        f"/v1/reports/{report_id}/actions/resolve",
        headers={**crew, "If-Match": etag or etag_of(client, crew, report_id)},
        json={"resolution": "repaired", "client_at": client_at.isoformat()},
    )


def test_a_device_time_before_the_ticket_was_given_to_the_crew_is_refused(app, client, auth):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    report_id = make_report(app, status="acknowledged", crew=None, created_at=REPORTED_AT)
    assert act(client, agent, report_id, "assign", {"crew": "voirie-nord"}).status_code == 200
    before = state(app, [report_id])
    # OFFLINE_AT is after the report was made but before the desk gave it to the crew.
    response = resolve_at(client, {**crew, "Accept-Language": "fr"}, report_id, OFFLINE_AT)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "client_at_out_of_range"
    assert list(problem["errors"]["json"]) == ["client_at"]
    assert "l'attribution du ticket à votre équipe" in problem["detail"]
    assert state(app, [report_id]) == before  # nothing written
    # Done after the assignment: taken, with its time.
    done_at = database_now(app)
    response = resolve_at(client, crew, report_id, done_at)
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    with app.app_context():
        event = db.session.scalar(
            select(ReportEvent).where(
                ReportEvent.report_id == report_id, ReportEvent.action == "resolve"
            )
        )
        assert event.client_at == done_at
        db.session.remove()


def test_a_device_time_before_the_report_was_made_or_in_the_future_is_refused(app, client, auth):
    crew = auth(Role.CREW)
    # Given to the crew by intake's routing (no assignment in its history) after OFFLINE_AT.
    report_id = ticket(app, created_at=OFFLINE_AT + timedelta(hours=1))
    early = resolve_at(client, crew, report_id, OFFLINE_AT)
    assert (early.status_code, early.get_json()["code"]) == (422, "client_at_out_of_range")
    tomorrow = database_now(app) + timedelta(days=1)
    late = resolve_at(client, {**crew, "Accept-Language": "en"}, report_id, tomorrow)
    assert (late.status_code, late.get_json()["code"]) == (422, "client_at_out_of_range")
    assert "Check the device's clock" in late.get_json()["detail"]
    assert state(app, [report_id])[report_id][3] == 0


def test_the_device_time_bounds_hold_to_the_second_against_the_injected_clock(app, crew_code):
    """Against fixed instants (``now`` injected): the ticket given to the crew at GIVEN, and
    the server's time NOW."""
    reported, given = OFFLINE_AT - timedelta(hours=3), OFFLINE_AT - timedelta(hours=2)
    now = OFFLINE_AT
    report_id = make_report(app, status="assigned", created_at=reported)
    crew_assign = {"action": "assign", "details": {"crew": [None, "voirie-nord"]}}
    add_event(
        app, report_id, given, from_status="acknowledged", to_status="assigned", **crew_assign
    )
    # Assigned again to the same crew while it works on it: still its ticket since GIVEN.
    add_event(app, report_id, given + timedelta(minutes=30), "start", "assigned", "in_progress")
    add_event(
        app,
        report_id,
        given + timedelta(minutes=40),
        from_status="in_progress",
        to_status="assigned",
        action="assign",
        details={"crew": ["voirie-nord", "voirie-nord"]},
    )
    crew = Identity(uid="crew-1", role=Role.CREW, anonymous=False, email=None, crew="voirie-nord")
    one_second = timedelta(seconds=1)

    def note_at(client_at):
        with app.app_context():
            report = db.session.get(Report, report_id)
            try:
                pipeline.perform(
                    db.session,
                    actor=crew,
                    report_id=report_id,
                    action="note",
                    versions=[report.version],
                    params={"note": "n", "client_at": client_at},
                    now=now,
                )
            except Unprocessable as refused:
                return refused.code
            finally:
                db.session.remove()
        return "ok"

    latest = now + access.CLIENT_CLOCK_SKEW
    outcomes = [note_at(t) for t in (given - one_second, given, given + timedelta(minutes=35))]
    outcomes += [note_at(t) for t in (latest, latest + one_second)]
    assert outcomes == [
        "client_at_out_of_range",
        "ok",
        "ok",
        "ok",
        "client_at_out_of_range",
    ]
