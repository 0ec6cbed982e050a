"""app/readonly.py: staff reads in autocommit on a pool of their own, without the ping, read
again once when the pooled connection turns out dead. On committed data (``processes``): in
the rolled-back transaction of the other tests, every session uses the test's connection."""

import psycopg
import pytest
from sqlalchemy import event

from app.readonly import engine_for
from app.users.models import Role
from tests.conftest import server_url
from tests.factories import make_report

pytestmark = pytest.mark.processes

READ_ONLY = "signale read-only"


def backends(app) -> list[tuple[int, str]]:
    """(pid, state) of this app's read-only pool's connections (other apps of the session,
    made by other tests, have read-only pools of their own on the same database)."""
    pool = engine_for(app).pool  # its idle connections: QueuePool keeps them in _pool
    pids = [
        record.dbapi_connection.info.backend_pid
        for record in list(pool._pool.queue)
        if record.dbapi_connection is not None
    ]
    with psycopg.connect(server_url(), autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s AND pid = ANY(%s)",
            (READ_ONLY, pids),
        ).fetchall()


@pytest.fixture(autouse=True)
def _pages_computed(app, monkeypatch):
    """The pages computed at each request: these tests count the page's own statements (the
    queue's cache, which reads the desk's version first: tests/worklists/test_queue_cache.py)."""
    monkeypatch.setitem(app.config, "DESK_QUEUE_CACHE_ENABLED", False)
    # And the read-only pool empty: earlier tests of the session may have left several
    # connections in it, which these tests count and kill one by one.
    engine_for(app).dispose()


def test_a_queue_page_reads_in_autocommit_on_its_own_pool_and_survives_a_lost_connection(
    app, client, auth
):
    report = make_report(app, desk="voirie", crew=None)
    agent = auth(Role.AGENT)
    sent = []

    def record(connection, cursor, statement, *args):
        sent.append(statement)

    engine = engine_for(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        first = client.get("/v1/desks/voirie/queue", headers=agent)
        assert first.status_code == 200, first.get_data(as_text=True)
        assert [item["id"] for item in first.get_json()["items"]] == [report]
        # The page's statement went to the read-only pool, whose connection is left idle
        # (no transaction left open: autocommit), without a ping before it.
        assert len(sent) == 1 and "FROM reports" in sent[0], sent
        (pid, state), *others = backends(app)
        assert not others and state == "idle"
        with engine.connect() as connection:
            assert connection.connection.driver_connection.autocommit is True

        # The server drops the pooled connection (a restart, an administrator): the next
        # page finds it dead, reads again on a new one, and answers.
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        sent.clear()
        again = client.get("/v1/desks/voirie/queue", headers=agent)
        assert again.status_code == 200, again.get_data(as_text=True)
        assert again.get_json() == first.get_json()
        assert len(sent) == 2, sent  # the statement on the dead connection, then again
        assert [p for p, _ in backends(app)] != [pid]

        # The header's counts and the desks' list read the same way.
        counts = client.get("/v1/desks/voirie/queue/counts", headers=agent)
        assert counts.status_code == 200 and counts.get_json()["counts"]["new"] == 1
        assert client.get("/v1/desks", headers=agent).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_database_down_for_good_is_still_a_503_not_a_500(app, client, auth, monkeypatch):
    agent = auth(Role.AGENT)
    assert client.get("/v1/desks/voirie/queue", headers=agent).status_code == 200
    engine = engine_for(app)
    # Every new connection of the read-only pool now fails, and the pooled one is dead.
    (pid, _), *_ = backends(app)
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(engine.pool, "_creator", _refused)
    response = client.get("/v1/desks/voirie/queue", headers=agent)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["code"] == "service_unavailable"


def _refused(*args, **kwargs):
    raise psycopg.OperationalError("connection refused (test)")
