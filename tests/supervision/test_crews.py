"""GET /v1/supervision/crews: every crew's workload against its capacity, counted as
routing counts it when it chooses a crew."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.organisation.models import Crew, Desk
from app.organisation.service import put_crew
from app.reports.models import OPEN_STATUSES
from app.routing.choice import choose_crew
from app.supervision import service
from app.users.models import Role
from tests.factories import DIJON

AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def crew(overview: dict, code: str) -> dict:
    (found,) = [c for c in overview["crews"] if c["crew"]["code"] == code]
    return found


def test_workload_per_state_overdue_and_load(session, add_report, crews):
    nord = crews["voirie-nord"]
    add_report(now=AT, crew_id=nord, status="assigned", due_in_hours=-1)
    add_report(now=AT, crew_id=nord, status="in_progress", due_at=AT - TICK, due_in_hours=None)
    add_report(now=AT, crew_id=nord, status="in_progress", due_in_hours=0)  # due now: not late
    add_report(now=AT, crew_id=nord, status="new")  # proposed by routing, not yet assigned
    add_report(now=AT, crew_id=nord, status="resolved", due_in_hours=-10)  # done: not counted
    add_report(now=AT, crew_id=nord, status="closed")
    add_report(now=AT, crew_id=crews["voirie-sud"], status="assigned")
    overview = service.crews_workload(session, now=AT)
    assert overview["as_of"] == AT
    nord_row = crew(overview, "voirie-nord")
    assert nord_row.pop("desk")["code"] == "voirie"
    assert nord_row == {
        "crew": {"code": "voirie-nord", "name": "Voirie Nord"},
        "active": True,
        "capacity": 10,
        "workload": 4,
        "tickets": 3,
        "by_state": {**dict.fromkeys(OPEN_STATUSES, 0), "new": 1, "assigned": 1, "in_progress": 2},
        "overdue": 2,
        "load_ratio": 0.4,
        "over_capacity": False,
    }
    assert crew(overview, "voirie-sud")["workload"] == 1
    assert crew(service.crews_workload(session, now=AT + TICK), "voirie-nord")["overdue"] == 3


def test_a_crew_at_its_capacity_is_over_capacity_and_an_idle_one_is_listed(
    session, add_report, crews
):
    est, _ = put_crew(session, code="voirie-est", name="Voirie Est", desk="voirie", capacity=2)
    put_crew(session, code="nuit", name="Nuit", desk="eclairage", active=False)
    session.commit()
    for _ in range(2):
        add_report(now=AT, crew_id=est.id, status="assigned")
    est = crew(service.crews_workload(session, now=AT), "voirie-est")
    assert (est["workload"], est["capacity"], est["load_ratio"], est["over_capacity"]) == (
        2,
        2,
        1.0,
        True,
    )
    idle = crew(service.crews_workload(session, now=AT), "nuit")
    assert (idle["active"], idle["workload"], idle["load_ratio"]) == (False, 0, 0.0)
    assert idle["desk"]["code"] == "eclairage"
    codes = [
        (c["desk"]["code"], c["crew"]["code"]) for c in service.crews_workload(session)["crews"]
    ]
    assert codes == sorted(codes)


def test_the_workload_is_the_one_routing_chooses_crews_by(session, add_report, crews):
    """Routing's explanation names the chosen crew's workload: the overview says the same."""
    put_crew(session, code="voirie-nord", name="Voirie Nord", desk="voirie", skills=["pothole"])
    session.commit()
    nord = crews["voirie-nord"]
    for status in ("new", "acknowledged", "assigned", "in_progress", "reopened"):
        add_report(crew_id=nord, status=status)
    for status in ("resolved", "closed", "rejected", "duplicate"):
        add_report(crew_id=nord, status=status)
    desk_id = session.scalar(select(Desk.id).where(Desk.code == "voirie"))
    chosen, explanation = choose_crew(session, desk_id, "pothole", *DIJON)
    assert chosen.code == "voirie-nord"
    row = crew(service.crews_workload(session), "voirie-nord")
    assert row["workload"] == explanation["workload"] == 5
    assert row["over_capacity"] == explanation["over_capacity"]


def test_supervisors_and_admins_read_the_crews(client, auth, add_report, crews, now):
    add_report(crew_id=crews["voirie-sud"], status="in_progress", due_in_hours=-1)
    for role in (Role.SUPERVISOR, Role.ADMIN):
        response = client.get("/v1/supervision/crews", headers=auth(role))
        assert response.status_code == 200
        body = response.get_json()
        assert datetime.fromisoformat(body["as_of"]) == now
        sud = crew(body, "voirie-sud")
        assert (sud["workload"], sud["tickets"], sud["overdue"]) == (1, 1, 1)
        assert sud["load_ratio"] == 0.1


def test_without_crews_the_list_is_empty(client, auth, app):
    # token_for creates the members' crew: an admin's token is made first, then it goes.
    headers = auth(Role.ADMIN)
    with app.app_context():
        db.session.execute(Crew.__table__.delete())
        db.session.commit()
        db.session.remove()
    response = client.get("/v1/supervision/crews", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["crews"] == []
