"""Routing, the supervisors' overview and the desk header read the counters (app.workload):
a counter made stale on purpose shows in each of them, and the check finds it; the plans
read no report to know a crew's workload, and the overdue counts from their index."""

from sqlalchemy import select, text, update

from app.organisation.models import Desk
from app.organisation.service import put_crew
from app.routing.choice import choose_crew, choose_crew_statement
from app.supervision import service as supervision
from app.users.models import Role
from app.worklists import queries
from app.workload import service
from app.workload.models import CrewWorkload, DeskOpenCount
from tests.factories import DIJON, make_report
from tests.worklists.test_desk_queue import explain

OPEN = ("new", "acknowledged", "assigned", "in_progress", "reopened")


def test_routing_and_supervision_weigh_crews_by_their_counter(session, crews):
    put_crew(session, code="voirie-nord", name="Voirie Nord", desk="voirie", skills=["pothole"])
    for status in ("assigned", "in_progress", "resolved"):
        make_report(session, crew="voirie-nord", status=status)
    desk_id = session.scalar(select(Desk.id).where(Desk.code == "voirie"))
    crew, why = choose_crew(session, desk_id, "pothole", *DIJON)
    assert (crew.code, why["workload"]) == ("voirie-nord", 2)
    # Stale on purpose: both read it, and the check says so.
    session.execute(
        update(CrewWorkload)
        .where(CrewWorkload.crew_id == crews["voirie-nord"])
        .values(reports=CrewWorkload.reports + 5)
    )
    crew, why = choose_crew(session, desk_id, "pothole", *DIJON)
    assert why["workload"] == 7
    overview = {c["crew"]["code"]: c for c in supervision.crews_workload(session)["crews"]}
    assert (overview["voirie-nord"]["workload"], overview["voirie-nord"]["tickets"]) == (7, 2)
    assert service.drifts(session) == [{"crew": "voirie-nord", "counted": 7, "fresh": 2}]


def test_the_routing_statement_reads_no_report_for_the_workload(session, crews):
    desk_id = session.scalar(select(Desk.id).where(Desk.code == "voirie"))
    plan = explain(session, choose_crew_statement(desk_id, "pothole", *DIJON))
    assert "crew_workload" in plan, plan
    assert " on reports" not in plan, plan


def test_the_desk_header_comes_from_the_counters_and_equals_the_exact_count(
    app, client, auth, session, crews
):
    agent = auth(Role.AGENT)
    for status, due in (("new", -5), ("new", 5), ("assigned", -1), ("reopened", None)):
        make_report(session, crew="voirie-sud", status=status, due_in_hours=due)
    make_report(session, status="resolved", due_in_hours=-5)
    make_report(session, desk="eclairage", crew=None, due_in_hours=-5)
    session.commit()
    default = client.get("/v1/desks/voirie/queue/counts", headers=agent).get_json()
    # The same states in another order: a filtered request, counted over the reports.
    exact = "&".join(f"status={s}" for s in reversed(OPEN))
    counted = client.get(f"/v1/desks/voirie/queue/counts?{exact}", headers=agent).get_json()
    assert (
        default
        == counted
        == {
            "counts": {"new": 2, "acknowledged": 0, "assigned": 1, "in_progress": 0, "reopened": 1},
            "overdue": {
                "new": 1,
                "acknowledged": 0,
                "assigned": 1,
                "in_progress": 0,
                "reopened": 0,
            },
            "total": 4,
            "total_overdue": 2,
        }
    )
    session.execute(
        update(DeskOpenCount).where(DeskOpenCount.status == "reopened").values(reports=3)
    )
    session.commit()
    default = client.get("/v1/desks/voirie/queue/counts", headers=agent).get_json()
    counted = client.get(f"/v1/desks/voirie/queue/counts?{exact}", headers=agent).get_json()
    assert (default["counts"]["reopened"], counted["counts"]["reopened"]) == (3, 1)
    assert service.drifts(session) == [
        {"desk": "voirie", "status": "reopened", "counted": 3, "fresh": 1}
    ]


def test_the_overdue_counts_can_use_their_partial_index(session):
    """Whatever the planner would pick on this small table, the index's predicate is
    provable from the statement as sent (with sequential scans off, it is the index)."""
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = explain(session, queries.open_counts_query(queries.desk_id_of("voirie")))
    assert "ix_reports_open_desk_status_due_at" in plan, plan
