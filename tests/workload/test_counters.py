"""The counters of open work (app.workload) equal a fresh count of the reports after every
kind of change, whoever makes it: each change below goes through the service's own
endpoints and functions, and the check compares every crew's and desk's counter with a
count of the reports (what routing counted before the counters)."""

import random
import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select, text, update

from app.organisation.models import Crew, Desk
from app.organisation.service import delete_crew, put_crew
from app.reports import service as reports
from app.reports.models import CLOSED_STATUSES, STATUSES, Report
from app.users.models import Role
from app.workload import service
from app.workload.models import BASE_SLOT, CrewWorkload, DeskOpenCount
from tests.factories import database, make_report
from tests.feeds.test_fault_tickets import guadalajara_light, poll
from tests.feeds.test_faults import a_feed, an_asset
from tests.triage.helpers import act
from tools.pg import libpq_url

POTHOLE = {
    "category": "pothole",
    "location": {"lon": 5.0415, "lat": 47.3220},
    "answers": {"size": "small"},
}


def counters(app) -> dict:
    """Every non-zero counter, and what a fresh count says where they differ."""
    with database(app) as session:
        drifts = service.drifts(session)
        crews = dict(
            session.execute(
                select(Crew.code, func.sum(CrewWorkload.reports))
                .join(CrewWorkload, CrewWorkload.crew_id == Crew.id)
                .group_by(Crew.code)
                .having(func.sum(CrewWorkload.reports) != 0)
            ).all()
        )
        desks = {
            status: count
            for status, count in session.execute(
                select(DeskOpenCount.status, func.sum(DeskOpenCount.reports))
                .group_by(DeskOpenCount.status)
                .having(func.sum(DeskOpenCount.reports) != 0)
            )
        }
    return {"drifts": drifts, "crews": crews, "states": desks}


def exact(app, crews: dict, states: dict) -> None:
    """The counters hold ``crews`` and ``states`` (all desks), and equal a fresh count."""
    assert counters(app) == {"drifts": [], "crews": crews, "states": states}


def test_every_triage_action_keeps_the_counters_equal_to_a_fresh_count(app, client, auth, crews):
    agent, crew = auth(Role.AGENT), auth(Role.CREW)
    one = make_report(app, crew=None)
    exact(app, {}, {"new": 1})
    assert act(client, agent, one, "acknowledge").status_code == 200
    exact(app, {}, {"acknowledged": 1})
    assert act(client, agent, one, "assign", {"crew": "voirie-sud"}).status_code == 200
    exact(app, {"voirie-sud": 1}, {"assigned": 1})
    # Reassigned: from one crew to the other.
    assert act(client, agent, one, "assign", {"crew": "voirie-nord"}).status_code == 200
    exact(app, {"voirie-nord": 1}, {"assigned": 1})
    assert act(client, crew, one, "start", staff_headers=agent).status_code == 200
    exact(app, {"voirie-nord": 1}, {"in_progress": 1})
    response = act(client, crew, one, "hand_back", {"reason": "needs_equipment"})
    assert response.status_code == 200, response.get_json()
    exact(app, {}, {"acknowledged": 1})
    assert act(client, agent, one, "assign", {"crew": "voirie-nord"}).status_code == 200
    response = act(client, crew, one, "resolve", {"resolution": "repaired"})
    assert response.status_code == 200, response.get_json()
    exact(app, {}, {})
    # Reopened by the desk: the crew that held it holds it again.
    response = act(client, agent, one, "reopen", {"reason": "not_fixed"})
    assert response.status_code == 200, response.get_json()
    exact(app, {"voirie-nord": 1}, {"reopened": 1})
    assert act(client, agent, one, "assign", {"crew": "voirie-nord"}).status_code == 200
    assert act(client, crew, one, "resolve", {"resolution": "repaired"}).status_code == 200
    assert act(client, agent, one, "close").status_code == 200
    exact(app, {}, {})

    two = make_report(app, crew="voirie-sud", status="assigned")
    three = make_report(app, crew="voirie-nord", status="assigned", reporter="bob")
    exact(app, {"voirie-sud": 1, "voirie-nord": 1}, {"assigned": 2})
    response = act(client, agent, two, "reject", {"reason": "not_our_responsibility"})
    assert response.status_code == 200, response.get_json()
    exact(app, {"voirie-nord": 1}, {"assigned": 1})
    four = make_report(app, crew="voirie-sud", status="acknowledged", reporter="cat")
    assert act(client, agent, four, "merge", {"into": three}).status_code == 200
    exact(app, {"voirie-nord": 1}, {"assigned": 1})
    # Reopened from duplicate by the desk, then sent to another desk (no crew of it
    # covers the point: none), then given another category (routed again in full).
    assert act(client, agent, four, "reopen", {"reason": "not_fixed"}).status_code == 200
    exact(app, {"voirie-nord": 1, "voirie-sud": 1}, {"assigned": 1, "reopened": 1})
    supervisor = auth(Role.SUPERVISOR)
    response = act(client, supervisor, four, "reroute", {"desk": "eclairage"})
    assert response.status_code == 200, response.get_json()
    exact(app, {"voirie-nord": 1}, {"assigned": 1, "new": 1})
    response = act(client, supervisor, four, "change_category", {"category": "graffiti"})
    assert response.status_code == 200, response.get_json()
    assert counters(app)["drifts"] == []


def test_bulk_actions_keep_the_counters_exact(app, client, auth, crews):
    agent = auth(Role.AGENT)
    new = [make_report(app, crew=None, reporter=uid) for uid in ("ana", "bob", "cat", "dan")]
    response = client.post(
        "/v1/reports/bulk-actions/acknowledge",
        headers=agent,
        json={"reports": [{"id": i, "version": 1} for i in new]},
    )
    assert response.status_code == 200
    exact(app, {}, {"acknowledged": 4})
    response = client.post(
        "/v1/reports/bulk-actions/assign",
        headers=agent,
        json={"reports": [{"id": i, "version": 2} for i in new], "crew": "voirie-sud"},
    )
    assert [r["status"] for r in response.get_json()["results"]] == ["assigned"] * 4
    exact(app, {"voirie-sud": 4}, {"assigned": 4})
    response = client.post(
        "/v1/reports/bulk-actions/merge",
        headers=agent,
        json={"reports": [{"id": i, "version": 3} for i in new[1:]], "into": new[0]},
    )
    assert [r["status"] for r in response.get_json()["results"]] == ["duplicate"] * 3
    exact(app, {"voirie-sud": 1}, {"assigned": 1})


def test_intake_photo_placement_and_sensor_tickets_are_counted(
    app, client, auth, session, feed_source
):
    put_crew(session, code="am", name="Allô", desk="allo-mairie", skills=["pothole"])
    put_crew(session, code="am-lights", name="Feux", desk="allo-mairie")
    session.commit()
    # Intake routes to the fallback desk, whose crew takes it.
    headers = {**auth(Role.RESIDENT, uid="ana"), "Idempotency-Key": "k1"}
    assert client.post("/v1/reports", headers=headers, json=POTHOLE).status_code == 201
    exact(app, {"am": 1}, {"new": 1})
    # A second one at the same place is a duplicate: no open work added.
    headers = {**auth(Role.RESIDENT, uid="bob"), "Idempotency-Key": "k2"}
    assert client.post("/v1/reports", headers=headers, json=POTHOLE).status_code == 201
    exact(app, {"am": 1}, {"new": 1})
    # A report waiting for its photo's position gets its desk and crew then.
    waiting = make_report(session, at=None, desk=None, crew=None, commune=None, reporter="cat")
    exact(app, {"am": 1}, {"new": 1})
    report = session.get(Report, waiting)
    assert reports.place_from_photo(session, report, 5.02, 47.33)
    session.commit()
    assert counters(app)["drifts"] == []
    # A sensor's fault opens a ticket.
    an_asset(session, "SL-1")
    url = feed_source.serve("/l.json", [guadalajara_light()])
    assert poll(session, a_feed(session, url))["opened"] == 1
    found = counters(app)
    assert found["drifts"] == [] and found["states"]["new"] == 3, found


def test_deleting_a_crew_raw_sql_and_truncate_keep_the_counters_exact(app, session, crews):
    for status in ("assigned", "in_progress", "resolved"):
        make_report(session, crew="voirie-sud", status=status)
    make_report(session, crew="voirie-nord", status="assigned")
    exact(app, {"voirie-sud": 2, "voirie-nord": 1}, {"assigned": 2, "in_progress": 1})
    # Its reports lose their crew through the foreign key's ON DELETE SET NULL.
    delete_crew(session, "voirie-sud")
    exact(app, {"voirie-nord": 1}, {"assigned": 2, "in_progress": 1})
    # Whatever writes the table: a Core update, plain SQL, a delete.
    session.execute(update(Report).where(Report.status == "in_progress").values(status="closed"))
    session.execute(text("UPDATE reports SET desk_id = NULL WHERE status = 'assigned'"))
    exact(app, {"voirie-nord": 1}, {})
    session.execute(text("DELETE FROM reports WHERE status = 'assigned'"))
    session.commit()
    exact(app, {}, {})
    make_report(session, crew="voirie-nord", status="assigned")
    # (The change notifications' deferred triggers fired first: TRUNCATE waits for none.)
    session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    session.execute(text("TRUNCATE reports CASCADE"))
    session.commit()
    exact(app, {}, {})


def test_a_stale_counter_is_found_and_repaired(app, session, crews):
    make_report(session, crew="voirie-nord", status="assigned")
    make_report(session, crew="voirie-sud", status="in_progress")
    session.commit()
    assert service.check(session) == []
    # As a restore, or triggers disabled for a bulk load, would leave them.
    nord = crews["voirie-nord"]
    session.execute(update(CrewWorkload).where(CrewWorkload.crew_id == nord).values(reports=7))
    session.execute(
        update(DeskOpenCount).where(DeskOpenCount.status == "in_progress").values(reports=0)
    )
    session.commit()
    stale = [
        {"crew": "voirie-nord", "counted": 7, "fresh": 1},
        {"desk": "voirie", "status": "in_progress", "counted": 0, "fresh": 1},
    ]
    result = app.test_cli_runner().invoke(args=["workload", "check"])
    assert result.exit_code == 1
    assert "voirie-nord: counter 7, fresh count 1" in result.output
    assert service.check(session) == stale  # checking changes nothing
    assert service.check(session, repair=True) == stale
    assert service.check(session) == []
    result = app.test_cli_runner().invoke(args=["workload", "check"])
    assert (result.exit_code, result.output.strip()) == (
        0,
        "counters of open work: all equal to a fresh count",
    )


def test_the_counters_follow_every_state_as_routing_counts_it(app, session, crews):
    """Open work is every state but those of CLOSED_STATUSES, as app.routing.choice.
    holds_open_work says: one report through every state, from and to each."""
    report_id = make_report(session, crew="voirie-nord", status="new")
    for status in (*STATUSES, *reversed(STATUSES)):
        session.execute(update(Report).where(Report.id == report_id).values(status=status))
        expected = {} if status in CLOSED_STATUSES else {"voirie-nord": 1}
        assert counters(app)["crews"] == expected, status
        assert service.drifts(session) == [], status


@pytest.mark.processes
def test_concurrent_assignments_and_resolutions_through_the_api_stay_exact(app, auth, crews):
    """Two agents assign and a crew resolves at once, each request its own transaction."""
    agents = [auth(Role.AGENT, uid=f"agent-{n}") for n in range(2)]
    crew = auth(Role.CREW)
    batches = [[make_report(app, crew=None) for _ in range(6)] for _ in agents]
    start = threading.Barrier(len(agents))
    answers = []

    def work(headers, batch):
        client = app.test_client()
        start.wait()
        for n, report_id in enumerate(batch):
            first, then = ("voirie-nord", "voirie-sud") if n % 2 else ("voirie-sud", "voirie-nord")
            answers.append(act(client, headers, report_id, "assign", {"crew": first}).status_code)
            answers.append(act(client, headers, report_id, "assign", {"crew": then}).status_code)
            if then == "voirie-nord":
                body = {"resolution": "repaired"}
                status = act(client, crew, report_id, "resolve", body, staff_headers=headers)
                answers.append(status.status_code)

    threads = [
        threading.Thread(target=work, args=pair) for pair in zip(agents, batches, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * 30, answers
    exact(app, {"voirie-sud": 6}, {"assigned": 6})


CONNECTIONS = 20


@pytest.mark.processes
def test_many_connections_changing_several_reports_at_once_stay_exact_and_never_wait(
    app, database_url, crews
):
    """Twenty connections at once, each moving two reports a transaction between crews,
    states and desks in any order: no deadlock, no count lost; then the slots of the
    connections gone fold into slot 0 and the counts are the same."""
    with database(app) as session:
        ids = [
            make_report(session, crew="voirie-nord", status="assigned", reporter=f"r{n}")
            for n in range(CONNECTIONS)
        ]
        desks = list(session.scalars(select(Desk.id).order_by(Desk.id)))[:2]
    crew_ids = [crews["voirie-nord"], crews["voirie-sud"], None]
    states = ("new", "assigned", "in_progress", "resolved", "reopened", "duplicate")
    connections = [psycopg.connect(libpq_url(database_url)) for _ in ids]
    start = threading.Barrier(len(connections))
    failures = []

    def work(conn, own, seed):
        rnd = random.Random(seed)
        start.wait()
        try:
            for _ in range(25):
                with conn.transaction():
                    # In id order: two transactions never wait on each other's report.
                    for report_id in sorted({own, rnd.choice(ids)}):
                        change = (rnd.choice(crew_ids), rnd.choice(states), rnd.choice(desks))
                        conn.execute(
                            "UPDATE reports SET crew_id = %s, status = %s, desk_id = %s "
                            "WHERE id = %s",
                            (*change, report_id),
                        )
        except psycopg.Error as exc:  # a deadlock would be one
            failures.append(exc)

    threads = [
        threading.Thread(target=work, args=(conn, own, n))
        for n, (conn, own) in enumerate(zip(connections, ids, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    pids = {conn.info.backend_pid for conn in connections}
    for conn in connections:
        conn.close()
    assert failures == []
    found = counters(app)
    assert found["drifts"] == [] and found["states"], found
    with database(app) as session:
        slots = set(session.scalars(select(CrewWorkload.slot)))
        assert pids & slots  # the connections wrote slots of their own
        while session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
            {"pids": list(pids)},
        ):
            session.rollback()  # the backends closed are on their way out
            time.sleep(0.05)
        assert service.fold(session) > 0
        slots = set(session.scalars(select(CrewWorkload.slot)))
        slots |= set(session.scalars(select(DeskOpenCount.slot)))
    assert not pids & slots and BASE_SLOT in slots
    assert counters(app) == found
