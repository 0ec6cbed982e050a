"""GET /v1/crews/me/sync: a tablet back on the network learns what changed for its crew."""

import pytest
from sqlalchemy import text

from app.extensions import db
from app.organisation.service import put_crew
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


@pytest.fixture
def other_crew(app):
    with app.app_context():
        put_crew(db.session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        db.session.commit()
        db.session.remove()
    return "voirie-sud"


def sync(client, headers, since=None):
    response = client.get(
        "/v1/crews/me/sync", headers=headers, query_string={"since": since} if since else {}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def age_everything(app):
    """As if every report and event were an hour old: only what happens next is news."""
    with app.app_context():
        db.session.execute(text("UPDATE reports SET updated_at = now() - interval '1 hour'"))
        db.session.execute(text("UPDATE report_events SET created_at = now() - interval '1 hour'"))
        db.session.commit()
        db.session.remove()


def test_a_full_sync_then_only_what_changed_added_and_taken_away(app, client, auth, other_crew):
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    kept, moved, finished = (make_report(app, status="assigned") for _ in range(3))
    elsewhere = make_report(app, status="assigned", crew=other_crew)
    first = sync(client, crew)
    assert first["full"] is True and first["removed"] == []
    assert [t["id"] for t in first["tickets"]] == [kept, moved, finished]
    assert all(t["version"] == 1 for t in first["tickets"])

    age_everything(app)
    # While the tablet is away: the desk changes one ticket, gives one to another crew, a
    # new one arrives, and the crew's colleague resolves one from another tablet.
    assert act(client, agent, kept, "set_priority", {"priority": 1}).status_code == 200
    assert act(client, agent, moved, "assign", {"crew": other_crew}).status_code == 200
    arrived = make_report(app, status="assigned")
    assert act(client, crew, finished, "resolve", {"resolution": "repaired"}).status_code == 200

    second = sync(client, crew, first["cursor"])
    assert second["full"] is False
    assert {t["id"]: t["version"] for t in second["tickets"]} == {kept: 2, arrived: 1}
    assert {t["id"]: t["priority"] for t in second["tickets"]}[kept] == 1
    removed = {r["id"]: r["status"] for r in second["removed"]}
    assert removed == {moved: "assigned", finished: "resolved"}
    assert elsewhere not in removed
    assert second["as_of"] >= first["as_of"]


def test_what_is_older_than_the_cursor_is_not_sent_again(app, client, auth):
    crew = auth(Role.CREW)
    make_report(app, status="assigned")
    age_everything(app)
    first = sync(client, crew)
    assert len(first["tickets"]) == 1
    again = sync(client, crew, first["cursor"])
    assert again["tickets"] == [] and again["removed"] == []


def test_a_cursor_not_from_this_api_is_400(client, auth):
    response = client.get(
        "/v1/crews/me/sync", headers=auth(Role.CREW), query_string={"since": "not-a-cursor"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_cursor"


def test_a_member_whose_crew_was_removed_holds_nothing(app, client, auth):
    from app.organisation.models import Crew

    crew = auth(Role.CREW)
    make_report(app, status="assigned")
    make_report(app, status="assigned", crew=None)  # nobody's: must not show up either
    with app.app_context():
        db.session.execute(text("UPDATE reports SET crew_id = NULL"))
        db.session.query(Crew).filter(Crew.code == "voirie-nord").delete()
        db.session.commit()
        db.session.remove()
    answer = sync(client, crew)
    assert answer["tickets"] == [] and answer["removed"] == []
