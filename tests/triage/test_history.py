"""The report's history: residents see honest progress, never who or internal notes; the
messages come from the templates unless staff write their own."""

import pytest

from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act, history

STAFF_ONLY = {"actor_uid", "actor_role", "internal_note", "details", "public", "client_at"}


def test_residents_see_state_changes_and_public_updates_never_names_or_notes(app, client, auth):
    agent = auth(Role.AGENT, uid="agent-martin")
    crew = auth(Role.CREW, uid="crew-durand")
    report_id = make_report(app, reporter="ana", crew=None)
    act(client, agent, report_id, "acknowledge", {"note": "secret: voisin procédurier"})
    act(client, agent, report_id, "assign", {"crew": "voirie-nord", "note": "secret 2"})
    act(client, agent, report_id, "assign", {"crew": "voirie-nord"})  # same state: internal
    act(client, agent, report_id, "note", {"note": "secret 3"})
    act(client, agent, report_id, "set_priority", {"priority": 1})  # internal
    act(client, agent, report_id, "public_update", {"message": {"fr": "Passage lundi"}})
    act(client, crew, report_id, "start", staff_headers=agent)
    act(client, crew, report_id, "resolve", {"resolution": "repaired"}, staff_headers=agent)

    for resident in (auth(Role.RESIDENT, uid="ana"), auth(Role.RESIDENT, uid="someone")):
        events = history(client, resident, report_id)
        assert [(e["action"], e["to_status"]) for e in events] == [
            ("submit", "new"),
            ("acknowledge", "acknowledged"),
            ("assign", "assigned"),
            ("public_update", "assigned"),
            ("start", "in_progress"),
            ("resolve", "resolved"),
        ]
        assert all(not (STAFF_ONLY & set(e)) for e in events)
        text = str(events)
        assert "secret" not in text and "martin" not in text and "durand" not in text
        assert all(e["desk"]["code"] == "voirie" for e in events)
        assert events[3]["message"] == {"fr": "Passage lundi", "en": "Passage lundi"}
        assert events[5]["reason_code"] == "repaired"

    staff = history(client, auth(Role.SUPERVISOR), report_id)
    assert len(staff) == 9
    assert staff[1]["actor_uid"] == "agent-martin" and staff[1]["internal_note"].startswith(
        "secret"
    )
    assert staff[5]["details"] == {"priority": [3, 1]} and staff[5]["public"] is False
    assert staff[7]["actor_uid"] == "crew-durand"


def test_messages_come_from_the_category_template_else_the_state_default(app, client, auth):
    supervisor = auth(Role.SUPERVISOR)
    response = client.put(
        "/v1/message-templates/categories/pothole/acknowledged",
        headers=supervisor,
        json={
            "text_fr": "Nid-de-poule {reference} noté par {desk}.",
            "text_en": "Pothole {reference} noted by {desk}.",
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["category"] == "pothole"
    pothole = make_report(app)
    graffiti = make_report(app, category="graffiti")
    for report_id in (pothole, graffiti):
        act(client, supervisor, report_id, "acknowledge")
    message = history(client, auth(Role.RESIDENT), pothole)[-1]["message"]
    assert message["fr"].startswith("Nid-de-poule DIJ-") and message["fr"].endswith("Voirie.")
    assert message["en"].endswith("noted by Roads.")
    default = history(client, auth(Role.RESIDENT), graffiti)[-1]["message"]
    assert default["fr"].endswith("a été pris en compte par le service Voirie.")
    # The agent's own words win over any template.
    rejected = make_report(app)
    act(client, supervisor, rejected, "reject", {"reason": "not_our_responsibility"})
    text = history(client, auth(Role.RESIDENT), rejected)[-1]
    assert text["reason_code"] == "not_our_responsibility"
    assert "ne relève pas de la métropole" in text["message"]["fr"]
    own = make_report(app)
    body = {"reason": "not_our_problem", "message": {"fr": "Voyez Enedis", "en": "Ask Enedis"}}
    act(client, supervisor, own, "reject", body)
    assert history(client, auth(Role.RESIDENT), own)[-1]["message"] == {
        "fr": "Voyez Enedis",
        "en": "Ask Enedis",
    }


def test_supervisors_edit_templates_agents_read_them(app, client, auth):
    agent, supervisor = auth(Role.AGENT), auth(Role.SUPERVISOR)
    listed = client.get("/v1/message-templates", headers=agent).get_json()
    assert {t["status"] for t in listed if t["category"] is None} == {
        "new",
        "acknowledged",
        "assigned",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
        "duplicate",
        "reopened",
    }
    body = {"text_fr": "Fini ({reference})", "text_en": "Done ({reference})"}
    assert (
        client.put("/v1/message-templates/default/closed", headers=agent, json=body).status_code
        == 403
    )
    response = client.put("/v1/message-templates/default/closed", headers=supervisor, json=body)
    assert response.status_code == 200
    assert response.get_json()["updated_by"].startswith("supervisor-")
    bad = client.put(
        "/v1/message-templates/default/closed",
        headers=supervisor,
        json={"text_fr": "Fini {agent}", "text_en": "Done {reference"},
    )
    assert bad.status_code == 422
    assert bad.get_json()["code"] == "invalid_template"
    assert set(bad.get_json()["errors"]["json"]) == {"text_fr", "text_en"}
    url = "/v1/message-templates/categories/graffiti/closed"
    assert client.put(url, headers=supervisor, json=body).status_code == 200
    assert client.delete(url, headers=supervisor).status_code == 204
    missing = client.delete(url, headers=supervisor)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "template_not_found")
    unknown = client.put(
        "/v1/message-templates/categories/nothing/closed", headers=supervisor, json=body
    )
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "category_not_found")


def test_history_pages_with_a_cursor(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    for n in range(3):
        act(client, agent, report_id, "note", {"note": f"n{n}"})
    first = client.get(f"/v1/reports/{report_id}/history?limit=2", headers=agent).get_json()
    assert [e["id"] for e in first["items"]] == [0, 1, 2]  # the submission comes first
    second = client.get(
        f"/v1/reports/{report_id}/history?limit=2&cursor={first['next_cursor']}", headers=agent
    ).get_json()
    assert [e["id"] for e in second["items"]] == [3]
    assert second["next_cursor"] is None
    missing = client.get("/v1/reports/999999/history", headers=agent)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "report_not_found")


@pytest.mark.processes
def test_two_supervisors_creating_one_template_at_once_both_succeed(app, database_url, auth):
    """The other writer holds the template's lock and has inserted it, uncommitted, when
    this PUT arrives: it waits, then replaces it (it used to fail on the unique index)."""
    import threading
    import time

    import psycopg

    from tools.pg import libpq_url

    supervisor = auth(Role.SUPERVISOR)
    with psycopg.connect(libpq_url(database_url)) as other:
        category = other.execute("SELECT id FROM categories WHERE code = 'pothole'").fetchone()[0]
        other.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"message-template {category} closed",)
        )
        other.execute(
            "INSERT INTO message_templates (category_id, status, text_fr, text_en)"
            " VALUES (%s, 'closed', 'Autre', 'Other')",
            (category,),
        )
        answers = []

        def put():
            response = app.test_client().put(
                "/v1/message-templates/categories/pothole/closed",
                headers=supervisor,
                json={"text_fr": "Clos {reference}", "text_en": "Closed {reference}"},
            )
            answers.append((response.status_code, response.get_json()))

        writer = threading.Thread(target=put)
        writer.start()
        time.sleep(1)  # let the PUT reach the lock (or, unfixed, the unique index)
        other.commit()
        writer.join(30)
    assert answers and answers[0][0] == 200, answers
    assert answers[0][1]["text_en"] == "Closed {reference}"
