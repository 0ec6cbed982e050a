"""The desk queue's cache (app/worklists/cache.py) is exact: after every kind of change, the
page and the header counts served are a fresh render's, byte for byte.

Each test reads the pages once to fill the cache and once more (served from it), makes a
change through the service's own endpoints and functions, then compares what is served with
a render with the cache off, and checks that the change did show: a cache that kept serving
the earlier page fails the comparison (``test_without_its_trigger_the_cache_would_serve_a
_stale_page`` shows it does). They commit for real (``processes``): the cache is only read
and filled outside a transaction that has written, as the views' reads in production are."""

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text

from app.auth.tokens import mint_emulator_token
from app.organisation.models import Desk
from app.organisation.service import put_crew
from app.reports.models import OPEN_STATUSES, Report
from app.users.models import Role
from app.users.service import put_user
from app.worklists import cache as queue_cache
from app.worklists.models import DeskQueueVersion
from tests.conftest import PROJECT_ID
from tests.factories import database, make_report
from tests.triage.helpers import act

pytestmark = pytest.mark.processes

# What the console asks for: the default page and another order, a filtered page, the
# default header (from the counters) and a filtered one (counted over the reports).
VIEWS = (
    ("", {}),
    ("", {"sort": "age"}),
    ("", {"status": ["new", "assigned", "duplicate"], "limit": 2}),
    ("/counts", {}),
    ("/counts", {"status": ["new", "acknowledged", "assigned", "duplicate", "resolved"]}),
    ("/counts", {"overdue": "true"}),
)
POTHOLE = {
    "category": "pothole",
    "location": {"lon": 5.0415, "lat": 47.3220},
    "answers": {"size": "small"},
}


@pytest.fixture
def admin(auth):
    return auth(Role.ADMIN)  # works every desk


@contextmanager
def uncached(app):
    """Every page rendered afresh meanwhile (the cache off, as DESK_QUEUE_CACHE_ENABLED)."""
    app.config["DESK_QUEUE_CACHE_ENABLED"] = False
    try:
        yield
    finally:
        app.config["DESK_QUEUE_CACHE_ENABLED"] = True


def served(client, headers, desk: str) -> dict:
    """Each view's body, as the desk's callers get it."""
    bodies = {}
    for path, params in VIEWS:
        response = client.get(f"/v1/desks/{desk}/queue{path}", headers=headers, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)
        bodies[path, repr(params)] = response.get_data(as_text=True)
    return bodies


def fresh(app, client, headers, desk: str) -> dict:
    with uncached(app):
        return served(client, headers, desk)


def exact_across(app, client, headers, change, desks=("voirie",)) -> None:
    """The pages of ``desks``, cached before ``change()``, are after it a fresh render's,
    and each desk's pages did change."""
    before = {desk: served(client, headers, desk) for desk in desks}
    assert {desk: served(client, headers, desk) for desk in desks} == before  # cache hits
    change()
    after = {desk: served(client, headers, desk) for desk in desks}
    assert after == {desk: fresh(app, client, headers, desk) for desk in desks}
    for desk in desks:
        assert after[desk] != before[desk], f"nothing changed at {desk}: the test proves nothing"


def version(app, desk: str = "voirie") -> int:
    with database(app) as session:
        return session.scalar(
            select(func.coalesce(func.sum(DeskQueueVersion.changes), 0))
            .join(Desk, Desk.id == DeskQueueVersion.desk_id)
            .where(Desk.code == desk)
        )


def test_without_its_trigger_the_cache_would_serve_a_stale_page(app, client, admin):
    """The comparison these tests make catches a stale cache: with the version's trigger on
    updates disabled, the page served after a change is the earlier one."""
    report = make_report(app, crew=None)
    before = served(client, admin, "voirie")
    with database(app) as session:
        session.execute(text("ALTER TABLE reports DISABLE TRIGGER reports_desk_queue_update"))
        session.execute(text("UPDATE reports SET priority = 1 WHERE id = :id"), {"id": report})
        session.commit()
        session.execute(text("ALTER TABLE reports ENABLE TRIGGER reports_desk_queue_update"))
        session.commit()
    assert served(client, admin, "voirie") == before
    assert fresh(app, client, admin, "voirie") != before


def test_a_new_report_routed_to_the_desk(app, client, admin, auth, session):
    put_crew(session, code="am", name="Allô", desk="allo-mairie", skills=["pothole"])
    session.commit()

    def intake():
        headers = {**auth(Role.RESIDENT, uid="ana"), "Idempotency-Key": "k1"}
        assert client.post("/v1/reports", headers=headers, json=POTHOLE).status_code == 201

    exact_across(app, client, admin, intake, desks=("allo-mairie",))


def test_triage_actions_status_crew_and_priority(app, client, admin, auth, crews):
    agent = auth(Role.AGENT)
    one = make_report(app, crew=None)
    make_report(app, crew="voirie-sud", status="assigned", reporter="bob")

    def ok(response):
        assert response.status_code == 200, response.get_json()

    exact_across(app, client, admin, lambda: ok(act(client, agent, one, "acknowledge")))
    exact_across(
        app, client, admin, lambda: ok(act(client, agent, one, "assign", {"crew": "voirie-sud"}))
    )
    exact_across(  # reassigned
        app, client, admin, lambda: ok(act(client, agent, one, "assign", {"crew": "voirie-nord"}))
    )
    exact_across(
        app, client, admin, lambda: ok(act(client, agent, one, "set_priority", {"priority": 1}))
    )
    crew = auth(Role.CREW)
    exact_across(
        app, client, admin, lambda: ok(act(client, crew, one, "start", staff_headers=agent))
    )
    exact_across(
        app,
        client,
        admin,
        lambda: ok(act(client, crew, one, "resolve", {"resolution": "repaired"})),
    )


def test_a_report_rerouted_changes_both_desks(app, client, admin, auth):
    supervisor = auth(Role.SUPERVISOR)
    moved = make_report(app, crew=None)
    make_report(app, crew=None, desk="eclairage", reporter="bob")

    def reroute():
        response = act(client, supervisor, moved, "reroute", {"desk": "eclairage"})
        assert response.status_code == 200, response.get_json()

    exact_across(app, client, admin, reroute, desks=("voirie", "eclairage"))


def test_merge_and_bulk_actions(app, client, admin, auth, crews):
    agent = auth(Role.AGENT)
    new = [make_report(app, crew=None, reporter=uid) for uid in ("ana", "bob", "cat", "dan")]

    def bulk(action, versions, **params):
        response = client.post(
            f"/v1/reports/bulk-actions/{action}",
            headers=agent,
            json={"reports": [{"id": i, "version": versions} for i in new[1:]], **params},
        )
        assert response.status_code == 200, response.get_json()
        results = response.get_json()["results"]
        assert {r["http_status"] for r in results} == {200}, results

    exact_across(app, client, admin, lambda: bulk("acknowledge", 1))
    exact_across(app, client, admin, lambda: bulk("assign", 2, crew="voirie-sud"))

    def merge():
        response = act(client, agent, new[1], "merge", {"into": new[0]})
        assert response.status_code == 200, response.get_json()

    exact_across(app, client, admin, merge)


def test_joined_tables_a_crew_renamed_a_category_and_a_commune(app, client, admin, session):
    make_report(app, crew="voirie-nord", status="assigned")

    def rename_crew():
        put_crew(session, code="voirie-nord", name="Voirie Nord-Est", desk="voirie")
        session.commit()

    exact_across(app, client, admin, rename_crew)

    def category_icon():  # whoever writes: plain SQL too
        session.execute(text("UPDATE categories SET icon = 'road-hole' WHERE code = 'pothole'"))
        session.commit()

    exact_across(app, client, admin, category_icon)

    def commune_renamed():
        session.execute(text("UPDATE communes SET name = 'Dijon (21)' WHERE insee_code = '21231'"))
        session.commit()

    try:
        exact_across(app, client, admin, commune_renamed)
    finally:  # communes are reference data, kept between tests
        session.execute(text("UPDATE communes SET name = 'Dijon' WHERE insee_code = '21231'"))
        session.commit()


def test_a_change_elsewhere_keeps_the_desks_version_and_its_entries(app, client, admin, session):
    """Another desk's change, or an update of a joined table that the page does not show,
    leaves the desk's version where it was: its entries are still served."""
    make_report(app, crew="voirie-nord", status="assigned")
    served(client, admin, "voirie")
    kept = version(app)
    make_report(app, crew=None, desk="eclairage", reporter="bob")
    session.execute(text("UPDATE crews SET capacity = capacity + 1"))
    session.execute(text("UPDATE categories SET hint_fr = 'Taille ?' WHERE code = 'pothole'"))
    session.commit()
    assert version(app) == kept
    assert served(client, admin, "voirie") == fresh(app, client, admin, "voirie")


def test_the_counts_served_are_a_fresh_count(app, client, admin, auth, crews):
    agent = auth(Role.AGENT)
    for status in ("new", "acknowledged", "assigned", "resolved"):
        make_report(app, crew="voirie-sud" if status == "assigned" else None, status=status)
    make_report(app, crew=None, due_in_hours=-3, reporter="late")
    counts = served(client, admin, "voirie")["/counts", "{}"]
    with database(app) as session:
        rows = session.execute(
            select(Report.status, func.count())
            .join(Desk, Desk.id == Report.desk_id)
            .where(Desk.code == "voirie", Report.status.in_(OPEN_STATUSES))
            .group_by(Report.status)
        ).all()
    body = client.get("/v1/desks/voirie/queue/counts", headers=admin).get_json()
    assert body["counts"] == {status: dict(rows).get(status, 0) for status in OPEN_STATUSES}
    assert body["total_overdue"] == 1
    assert client.get("/v1/desks/voirie/queue/counts", headers=agent).get_data(as_text=True) == (
        counts
    )


def test_only_callers_of_the_desk_get_its_cached_page(app, client, admin, auth, add_report):
    """The caller's right to the desk is checked before the cache: an agent of another desk
    is refused the page the admin's read left there, and gets their own desk's."""
    add_report()
    add_report(desk="eclairage")
    voirie = served(client, admin, "voirie")
    with database(app) as session:
        put_user(session, actor=None, uid="agent-eclairage", role=Role.AGENT, desks=["eclairage"])
        session.commit()
    other = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'agent-eclairage')}"}
    for path, params in VIEWS:
        response = client.get(f"/v1/desks/voirie/queue{path}", headers=other, query_string=params)
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["code"] == "not_your_desk"
    assert client.get("/v1/desks/voirie/queue", headers=auth(Role.RESIDENT)).status_code == 403
    assert client.get("/v1/desks/voirie/queue").status_code == 401
    mine = served(client, other, "eclairage")
    assert mine != voirie and mine == fresh(app, client, admin, "eclairage")
    assert served(client, auth(Role.AGENT), "voirie") == voirie


def test_a_client_that_has_the_page_gets_304(client, admin, add_report):
    add_report()
    first = client.get("/v1/desks/voirie/queue", headers=admin)
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get(
        "/v1/desks/voirie/queue", headers={**admin, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    add_report(priority=1)
    changed = client.get(
        "/v1/desks/voirie/queue", headers={**admin, "If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_the_version_moves_with_each_change_and_carries_the_next_due_date(app, add_report, now):
    """Time alone makes reports overdue: the key carries the desk's next due date among its
    open reports (at or after the database's clock), so it moves when one passes."""
    soon = add_report(due_in_hours=2)
    add_report(due_in_hours=1, status="resolved")  # closed: never overdue
    add_report(due_in_hours=-1)  # overdue already
    add_report(due_in_hours=5, desk="eclairage")
    with database(app) as session:
        row = session.execute(queue_cache.VERSION, {"desk": "voirie"}).one()
        due = session.scalar(select(Report.due_at).where(Report.id == soon))
        assert row.next_due == due
        assert row.version == version(app) and row.version >= 3
        assert session.execute(queue_cache.VERSION, {"desk": "nowhere"}).one_or_none() is None


def test_the_version_trigger_comes_with_a_migration(app):
    with database(app) as session:
        triggers = set(
            session.scalars(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgname LIKE '%desk_queue%'"
                )
            )
        )
    assert {
        "reports_desk_queue_insert",
        "reports_desk_queue_update",
        "reports_desk_queue_delete",
        "reports_desk_queues_truncate",
        "categories_desk_queues_update",
        "communes_desk_queues_insert",
        "crews_desk_queues_update",
    } <= triggers
