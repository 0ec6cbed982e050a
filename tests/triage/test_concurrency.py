"""ETags: every write names the version it read; two agents never overwrite each other."""

import threading
import time

import pytest
from sqlalchemy import text

from app.extensions import db
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act, etag_of


def test_the_report_carries_its_version_as_etag_and_each_action_moves_it(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    first = etag_of(client, agent, report_id)
    response = act(client, agent, report_id, "acknowledge", etag=first)
    assert response.status_code == 200
    assert response.headers["ETag"] != first
    assert response.headers["ETag"] == etag_of(client, agent, report_id)
    assert response.get_json()["version"] == int(response.headers["ETag"].strip('"'))
    # Residents get the same ETag (what they may reopen is the same report).
    assert etag_of(client, auth(Role.RESIDENT, uid="ana"), report_id) == response.headers["ETag"]


def test_without_if_match_the_write_is_refused_with_428(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    for headers in (agent, {**agent, "If-Match": "*"}):
        response = client.post(f"/v1/reports/{report_id}/actions/acknowledge", headers=headers)
        assert response.status_code == 428
        assert response.get_json()["code"] == "if_match_required"
        assert response.mimetype == "application/problem+json"


def test_a_stale_etag_gets_412_with_the_current_report(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    stale = etag_of(client, agent, report_id)
    assert act(client, agent, report_id, "set_priority", {"priority": 2}).status_code == 200
    response = act(client, agent, report_id, "acknowledge", etag=stale)
    assert response.status_code == 412
    problem = response.get_json()
    assert problem["code"] == "report_changed"
    assert problem["current_status"] == "new"
    assert problem["current"]["priority"] == 2
    assert problem["current"]["version"] == problem["current_version"] == 2
    assert response.headers["ETag"] == '"2"'
    # Nothing was written by the refused action.
    assert etag_of(client, agent, report_id) == '"2"'
    # A weak or unknown tag never matches; a list matches if one of its tags does.
    assert act(client, agent, report_id, "acknowledge", etag='W/"2"').status_code == 412
    assert act(client, agent, report_id, "acknowledge", etag='"9", "2"').status_code == 200


@pytest.mark.processes
def test_two_agents_racing_on_one_report_exactly_one_wins_the_other_gets_412(app, auth):
    first, second = auth(Role.AGENT, uid="agent-a"), auth(Role.AGENT, uid="agent-b")
    report_id = make_report(app)
    etag = etag_of(app.test_client(), first, report_id)
    start = threading.Barrier(2)
    answers = []

    def write(headers, body):
        client = app.test_client()
        start.wait()
        answers.append(act(client, headers, report_id, "set_priority", body, etag=etag))

    threads = [
        threading.Thread(target=write, args=(first, {"priority": 1})),
        threading.Thread(target=write, args=(second, {"priority": 4})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [200, 412]
    winner = next(a for a in answers if a.status_code == 200).get_json()
    loser = next(a for a in answers if a.status_code == 412).get_json()
    assert loser["current"]["priority"] == winner["priority"]
    assert loser["current_version"] == winner["version"] == 2


@pytest.mark.processes
def test_the_database_decides_when_both_read_the_same_version(app, auth):
    """The second writer read version 1 before the first committed: its version claim waits
    for the first's row lock, then finds the row moved on, and answers 412."""
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    etag = etag_of(app.test_client(), agent, report_id)
    answers = []
    with app.app_context():
        other = db.engine.connect()
        first_writer = other.begin()
        other.execute(
            text("UPDATE reports SET version = version + 1 WHERE id = :id"), {"id": report_id}
        )
        thread = threading.Thread(
            target=lambda: answers.append(
                act(app.test_client(), agent, report_id, "acknowledge", etag=etag)
            )
        )
        thread.start()
        waiting = 0
        for _ in range(200):
            waiting = db.session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            db.session.rollback()
            if waiting:
                break
            time.sleep(0.02)
        first_writer.commit()
        other.close()
        thread.join(30)
        db.session.remove()
    assert waiting == 1, "the second writer should have waited for the first's row lock"
    assert answers[0].status_code == 412
    assert answers[0].get_json()["current_version"] == 2


def test_an_if_match_that_is_not_one_of_our_etags_never_matches(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    for value in ("²", '"²"', "abc", '"1', '"99999999999999999999"', 'W/"1"'):
        response = act(client, agent, report_id, "acknowledge", etag=value)
        assert response.status_code == 412, value
    assert act(client, agent, report_id, "acknowledge", etag="1").status_code == 200
