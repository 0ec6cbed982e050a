"""status_notes: what the desk published for the public about a request, in its language;
never an internal note, nor anything a resident typed."""

import pytest

from app.users.models import Role
from tests.open311.conftest import children, get_json, get_xml
from tests.triage.helpers import act, history

REPORT = {
    "category": "pothole",
    "location": {"lon": 5.0415, "lat": 47.3220},
    "answers": {"size": "small"},
    "description": "Devant chez moi, appelez Zorglub au 06 12 34 56 78",
}


def request_of(client, reference: str, lang: str = "fr") -> dict:
    (document,) = get_json(client, f"/requests/{reference}.json", headers={"Accept-Language": lang})
    return document


@pytest.mark.processes
def test_status_notes_follow_what_the_desk_published_and_never_resident_text(
    client, auth, crew_code
):
    resident = auth(uid="ana-311")
    supervisor, crew = auth(Role.SUPERVISOR), auth(Role.CREW)
    filed = client.post("/v1/reports", json=REPORT, headers={**resident, "Idempotency-Key": "s1"})
    assert filed.status_code == 201, filed.get_json()
    report_id, reference = filed.get_json()["id"], filed.get_json()["reference"]
    # Nothing published yet: the field is left out, as every field without a value.
    assert "status_notes" not in request_of(client, reference)

    # To the roads desk (that of the crew), then acknowledged: the state's message.
    assert act(client, supervisor, report_id, "reroute", {"desk": "voirie"}).status_code == 200
    assert act(client, supervisor, report_id, "acknowledge").status_code == 200
    acknowledged = history(client, resident, report_id)[-1]["message"]
    assert request_of(client, reference)["status_notes"] == acknowledged["fr"]
    assert request_of(client, reference, "en")["status_notes"] == acknowledged["en"]

    update = {"message": {"fr": "Intervention prévue lundi.", "en": "Work planned on Monday."}}
    assert act(client, supervisor, report_id, "public_update", update).status_code == 200
    assert request_of(client, reference)["status_notes"] == "Intervention prévue lundi."
    assert request_of(client, reference, "en")["status_notes"] == "Work planned on Monday."

    # An internal note is not published: the notes stay the public update.
    note = {"note": "Voir avec M. Zorglub, 06 12 34 56 78"}
    assert act(client, supervisor, report_id, "note", note).status_code == 200
    assert request_of(client, reference)["status_notes"] == "Intervention prévue lundi."

    assigned = act(client, supervisor, report_id, "assign", {"crew": crew_code})
    assert assigned.status_code == 200, assigned.get_json()
    resolution = {
        "resolution": "repaired",
        "message": {"fr": "Trou rebouché à l'enrobé.", "en": "Pothole filled with asphalt."},
    }
    assert (
        act(client, crew, report_id, "resolve", resolution, staff_headers=supervisor).status_code
        == 200
    )
    resolved = request_of(client, reference)
    assert resolved["status"] == "closed"
    assert resolved["status_notes"] == "Trou rebouché à l'enrobé."
    assert request_of(client, reference, "en")["status_notes"] == "Pothole filled with asphalt."
    xml = children(get_xml(client, f"/requests/{reference}.xml").find("request"))
    assert xml["status_notes"] == "Trou rebouché à l'enrobé."

    # The resident says it is not fixed, in their own words: those stay with the staff.
    reopen = {"reason": "Toujours là, appelez-moi au 06 12 34 56 78"}
    assert act(client, resident, report_id, "reopen", reopen).status_code == 200
    reopened = request_of(client, reference)
    assert reopened["status_notes"] == history(client, resident, report_id)[-1]["message"]["fr"]
    everything = client.get("/open311/v2/requests.json?extensions=true").get_data(as_text=True)
    assert "06 12 34 56 78" not in everything
    assert "Zorglub" not in everything


def test_the_request_list_carries_each_requests_own_notes(client, auth):
    supervisor = auth(Role.SUPERVISOR)
    references = {}
    for n, words in enumerate(("Balisage posé.", "Signalement transmis au département.")):
        body = {**REPORT, "location": {"lon": 5.0415 + 0.003 * n, "lat": 47.3220}}
        body.pop("description")
        filed = client.post(
            "/v1/reports", json=body, headers={**auth(), "Idempotency-Key": f"list-{n}"}
        ).get_json()
        update = {"message": {"fr": words}}
        assert act(client, supervisor, filed["id"], "public_update", update).status_code == 200
        references[filed["reference"]] = words
    listed = get_json(client, "/requests.json", headers={"Accept-Language": "en"})
    # Written in French only: English readers get the French words rather than nothing.
    assert {r["service_request_id"]: r["status_notes"] for r in listed} == references
