"""GET /v1/crews/me/tickets: a crew member's tablet lists the crew's open tickets."""

import pytest
from sqlalchemy import update

from app.reports.models import Report
from app.users.models import Role
from tests.factories import DIJON, database

EAST = (5.0565, 47.3220)
FAR_EAST = (5.0715, 47.3220)


@pytest.fixture
def crew_member(auth):
    return auth(Role.CREW)  # a member of voirie-nord


def tickets(client, headers, **params):
    return client.get("/v1/crews/me/tickets", headers=headers, query_string=params)


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def test_only_the_crews_own_open_tickets_nearest_to_the_tablet_first(
    client, crew_member, add_report, crews
):
    mine = crews["voirie-nord"]
    far = add_report(status="assigned", crew_id=mine, at=FAR_EAST, priority=1)
    here = add_report(status="in_progress", crew_id=mine, at=DIJON, priority=4)
    near = add_report(status="assigned", crew_id=mine, at=EAST, priority=2)
    add_report(status="assigned", crew_id=crews["voirie-sud"], at=DIJON)  # another crew's
    for status in ("resolved", "closed", "rejected", "duplicate"):
        add_report(status=status, crew_id=mine, at=DIJON)  # done with
    # Suggested by routing, not dispatched yet, or sent back: the desk's, not the crew's.
    for status in ("new", "acknowledged", "reopened"):
        add_report(status=status, crew_id=mine, at=DIJON)
    response = tickets(client, crew_member, lon=DIJON[0], lat=DIJON[1])
    assert ids_of(response) == [here, near, far]
    items = response.get_json()["items"]
    assert items[0]["distance_m"] < 1 < items[1]["distance_m"] < items[2]["distance_m"]
    assert items[0]["crew"]["code"] == "voirie-nord"


def test_a_ticket_carries_what_the_resident_said(app, client, crew_member, add_report, crews):
    ticket = add_report(status="assigned", crew_id=crews["voirie-nord"], description="Trou profond")
    with database(app) as session:
        session.execute(
            update(Report)
            .where(Report.id == ticket)
            .values(answers={"size": "large", "on_cycle_lane": True})
        )
        session.commit()
    (item,) = tickets(client, crew_member).get_json()["items"]
    assert item["description"] == "Trou profond"
    assert item["answers"] == {"size": "large", "on_cycle_lane": True}
    (synced,) = client.get("/v1/crews/me/sync", headers=crew_member).get_json()["tickets"]
    assert synced["answers"] == item["answers"]


def test_without_a_position_the_most_urgent_come_first(client, crew_member, add_report, crews):
    mine = crews["voirie-nord"]
    later = add_report(status="assigned", crew_id=mine, priority=2, due_in_hours=8)
    urgent = add_report(status="assigned", crew_id=mine, priority=1, due_in_hours=20)
    sooner = add_report(status="in_progress", crew_id=mine, priority=2, due_in_hours=3)
    response = tickets(client, crew_member)
    assert ids_of(response) == [urgent, sooner, later]
    assert "distance_m" not in response.get_json()["items"][0]


@pytest.mark.parametrize("position", [True, False])
def test_tickets_are_cursor_paginated_without_gaps_or_repeats(
    client, crew_member, add_report, crews, position
):
    for n in range(7):
        add_report(
            status="assigned",
            crew_id=crews["voirie-nord"],
            at=DIJON if n < 4 else EAST,
            priority=1 + n % 2,
        )
    params = {"lon": DIJON[0], "lat": DIJON[1]} if position else {}
    everything = ids_of(tickets(client, crew_member, **params))
    seen, cursor = [], None
    while True:
        body = tickets(
            client, crew_member, limit=2, **params, **({"cursor": cursor} if cursor else {})
        ).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(everything) == 7
    assert seen == everything


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"lon": 5.04}, "position_incomplete"),
        ({"lat": 47.3}, "position_incomplete"),
        ({"lon": 100.5, "lat": 10.2}, "position_out_of_range"),
        ({"lon": 500, "lat": 47.3}, "validation_failed"),
    ],
)
def test_a_bad_position_is_a_clear_422(client, crew_member, params, code):
    response = tickets(client, crew_member, **params)
    assert response.status_code == 422
    assert response.get_json()["code"] == code


def test_only_crew_members_have_tickets(client, auth):
    for role in (Role.RESIDENT, Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
        response = tickets(client, auth(role))
        assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")
