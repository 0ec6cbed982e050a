"""Moderation: a desk publishes a report's description (edited of personal details) or
withdraws it; public outputs carry only what was published, never what the reporter wrote."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.notifications.models import Notification
from app.opendata.queries import export_rows
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.factories import make_report
from tests.open311.conftest import children, get_json, get_xml
from tests.triage.helpers import act

WRITTEN = "Gros trou devant chez moi, M. Martin, 12 rue Chabot-Charny, 06 12 34 56 78"
PUBLISHED = "Gros trou dans la chaussée, rue Chabot-Charny"


def reported(app) -> tuple[int, str]:
    report_id = make_report(app, description=WRITTEN)
    with app.app_context():
        reference = db.session.get(Report, report_id).reference
        db.session.remove()
    return report_id, reference


def export_row(app, reference: str) -> dict:
    with app.app_context():
        result = db.session.execute(export_rows(grid_m=50, media_base="/m/")).mappings()
        (row,) = (dict(r) for r in result if r["reference"] == reference)
        db.session.remove()
    return row


def seen_by_another_resident(client, auth, report_id: int) -> dict:
    response = client.get(f"/v1/reports/{report_id}", headers=auth(Role.RESIDENT))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def public_outputs(app, client, auth, report_id: int, reference: str) -> list:
    """The description as each public output shows it: the report to another resident,
    Open311 in JSON and XML, the open data row."""
    (request,) = get_json(client, f"/requests/{reference}.json")
    (element,) = get_xml(client, f"/requests/{reference}.xml")
    return [
        seen_by_another_resident(client, auth, report_id)["public_description"],
        request.get("description"),
        children(element).get("description"),
        export_row(app, reference)["description"],
    ]


@pytest.mark.processes
def test_public_outputs_carry_the_published_text_only_once_a_desk_publishes_it(app, client, auth):
    report_id, reference = reported(app)
    assert public_outputs(app, client, auth, report_id, reference) == [None] * 4

    response = act(
        client, auth(Role.AGENT), report_id, "publish_description", {"description": PUBLISHED}
    )

    assert response.status_code == 200, response.get_json()
    assert public_outputs(app, client, auth, report_id, reference) == [PUBLISHED] * 4
    # The reporter's own words are still theirs, and still nowhere public.
    anyone = client.get(f"/v1/reports/{report_id}").get_data(as_text=True)
    assert (
        "Martin" not in anyone
        and "description" not in client.get(f"/v1/reports/{report_id}").get_json()
    )


def test_withdrawing_takes_the_text_out_of_every_public_output(app, client, auth):
    report_id, reference = reported(app)
    agent = auth(Role.AGENT)
    act(client, agent, report_id, "publish_description", {"description": PUBLISHED})

    response = act(client, agent, report_id, "publish_description", {"description": None})

    assert response.status_code == 200, response.get_json()
    assert public_outputs(app, client, auth, report_id, reference) == [None] * 4


def test_the_history_says_what_moderation_did_to_staff_and_nothing_to_residents(app, client, auth):
    report_id, _ = reported(app)
    agent = auth(Role.AGENT)
    act(client, agent, report_id, "publish_description", {"description": WRITTEN})
    act(client, agent, report_id, "publish_description", {"description": PUBLISHED})
    act(client, agent, report_id, "publish_description", {"description": None})
    with app.app_context():
        events = db.session.scalars(
            select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        ).all()
        seen = [(e.action, e.public, e.details) for e in events]
        told = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.report_id == report_id)
        )
        db.session.remove()
    assert seen == [
        ("publish_description", False, {"published": True, "edited": False}),
        ("publish_description", False, {"published": True, "edited": True}),
        ("publish_description", False, {"published": False, "edited": False}),
    ]
    # Not a public event: residents' history does not show it, and nobody is notified.
    resident = client.get(f"/v1/reports/{report_id}/history", headers=auth(Role.RESIDENT))
    assert resident.status_code == 200
    assert [i["action"] for i in resident.get_json()["items"]] == ["submit"]
    assert told == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": ""}, "description"),
        ({}, "description"),
        ({"description": 7}, "description"),
    ],
)
def test_an_empty_missing_or_non_text_description_is_refused(app, client, auth, body, field):
    report_id, reference = reported(app)

    response = act(client, auth(Role.AGENT), report_id, "publish_description", body)

    assert response.status_code == 422
    problem = response.get_json()
    assert field in problem["errors"]["json"]
    assert public_outputs(app, client, auth, report_id, reference) == [None] * 4


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.CREW, Role.ADMIN])
def test_only_the_desk_may_publish(app, client, auth, role):
    report_id, reference = reported(app)

    response = act(
        client,
        auth(role),
        report_id,
        "publish_description",
        {"description": PUBLISHED},
        staff_headers=auth(Role.AGENT),
    )

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden_role"
    assert public_outputs(app, client, auth, report_id, reference) == [None] * 4
