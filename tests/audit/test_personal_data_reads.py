"""Staff reads of a reporter's contact details are audited, and supervisors list them."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.service import REPORT_CONTACT_READ
from app.extensions import db
from app.users.models import Role

CAMILLE = {"name": "Camille", "email": "camille@example.fr", "phone": "0612345678"}


def events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        db.session.remove()
        return rows


def read_contact(client, headers, report_id, request_id=None):
    extra = {"X-Request-ID": request_id} if request_id else {}
    return client.get(f"/v1/reports/{report_id}/contact", headers={**headers, **extra})


def test_an_agent_of_the_desk_reads_the_contact_and_the_read_is_recorded(
    app, client, token_for, add_report, now
):
    report = add_report(contact=CAMILLE)
    headers = {"Authorization": f"Bearer {token_for(Role.AGENT, uid='agent-dan')}"}
    response = read_contact(client, headers, report, request_id="call-back-42")
    assert response.status_code == 200
    body = response.get_json()
    assert body["report_id"] == report
    assert body["contact"] == {**CAMILLE, "by_push": True, "by_email": False}
    (event,) = events(app)
    assert (event.actor_uid, event.actor_role) == ("agent-dan", "agent")
    assert (event.action, event.subject_type, event.subject_id) == (
        REPORT_CONTACT_READ,
        "report",
        str(report),
    )
    assert event.request_id == "call-back-42"
    assert event.details["reference"] == body["reference"]
    assert now <= event.at < now + timedelta(minutes=1)


def test_a_read_of_a_report_without_contact_details_is_recorded_too(app, client, auth, add_report):
    report = add_report()
    response = read_contact(client, auth(Role.SUPERVISOR), report)
    assert (response.status_code, response.get_json()["contact"]) == (200, None)
    assert [e.subject_id for e in events(app)] == [str(report)]


def test_nobody_else_reads_the_contact_and_refusals_record_nothing(app, client, auth, add_report):
    other_desk = add_report(desk="proprete", contact=CAMILLE)
    response = read_contact(client, auth(Role.AGENT), other_desk)
    assert (response.status_code, response.get_json()["code"]) == (403, "not_your_desk")
    for role in (Role.RESIDENT, Role.CREW):
        response = read_contact(client, auth(role), other_desk)
        assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")
        assert "Camille" not in response.get_data(as_text=True)
    response = read_contact(client, auth(Role.ADMIN), 999_999)
    assert (response.status_code, response.get_json()["code"]) == (404, "report_not_found")
    assert events(app) == []


def test_the_staff_view_of_a_report_carries_no_contact_details(client, auth, add_report):
    report = add_report(contact=CAMILLE)
    for role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.CREW):
        body = client.get(f"/v1/reports/{report}", headers=auth(role)).get_json()
        assert "contact" not in body, role
        assert "Camille" not in str(body), role


@pytest.fixture
def three_reads(app, client, token_for, add_report):
    """Reads by two agents of two reports; returns (agents' headers, report ids)."""
    first, second = add_report(contact=CAMILLE), add_report(contact=CAMILLE)
    dan = {"Authorization": f"Bearer {token_for(Role.AGENT, uid='agent-dan')}"}
    eve = {"Authorization": f"Bearer {token_for(Role.AGENT, uid='agent-eve')}"}
    for headers, report in ((dan, first), (eve, first), (dan, second)):
        assert read_contact(client, headers, report).status_code == 200
    return first, second


def log(client, headers, **params):
    return client.get("/v1/audit/personal-data-reads", headers=headers, query_string=params)


def test_supervisors_and_admins_list_the_reads_newest_first_with_filters(
    client, auth, three_reads, now
):
    first, second = three_reads
    for role in (Role.SUPERVISOR, Role.ADMIN):
        response = log(client, auth(role))
        assert response.status_code == 200
        items = response.get_json()["items"]
        assert [(i["actor_uid"], i["report_id"]) for i in items] == [
            ("agent-dan", second),
            ("agent-eve", first),
            ("agent-dan", first),
        ]
        assert items[0]["action"] == REPORT_CONTACT_READ
        assert items[0]["reference"].startswith("DIJ-")
        assert items[0]["request_id"]
    supervisor = auth(Role.SUPERVISOR)
    by_dan = log(client, supervisor, actor="agent-dan").get_json()["items"]
    assert [i["report_id"] for i in by_dan] == [second, first]
    of_first = log(client, supervisor, report=first).get_json()["items"]
    assert [i["actor_uid"] for i in of_first] == ["agent-eve", "agent-dan"]
    both = log(client, supervisor, actor="agent-dan", report=first).get_json()["items"]
    assert len(both) == 1
    assert (
        len(log(client, supervisor, since=(now - timedelta(hours=1)).isoformat()).json["items"])
        == 3
    )
    assert log(client, supervisor, since=(now + timedelta(hours=1)).isoformat()).json["items"] == []
    assert log(client, supervisor, until=(now - timedelta(hours=1)).isoformat()).json["items"] == []


def test_the_log_is_cursor_paginated(client, auth, three_reads):
    supervisor = auth(Role.SUPERVISOR)
    everything = [i["id"] for i in log(client, supervisor).get_json()["items"]]
    seen, cursor = [], None
    while True:
        body = log(client, supervisor, limit=1, **({"cursor": cursor} if cursor else {})).json
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == everything


def test_agents_crews_and_residents_cannot_list_the_log(client, auth, three_reads):
    for role in (Role.AGENT, Role.CREW, Role.RESIDENT):
        response = log(client, auth(role))
        assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")


def test_other_audit_events_are_not_personal_data_reads(app, client, auth):
    # An admin reading a staff account is audited, but is not a read of a reporter's data.
    assert client.get("/v1/admin/users", headers=auth(Role.ADMIN)).status_code == 200
    assert any(e.action == "user.list" for e in events(app))
    assert log(client, auth(Role.SUPERVISOR)).get_json()["items"] == []
