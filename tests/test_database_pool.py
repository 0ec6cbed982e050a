"""The primary's pool: its size from the settings, and connections checked at checkout only
after idling (app.extensions.init_database)."""

import psycopg
import pytest
from sqlalchemy import text

from app.extensions import db
from app.users.models import Role
from tests.conftest import make_app

POTHOLE = {
    "category": "pothole",
    "location": {"lon": 5.0415, "lat": 47.3220},
    "answers": {"size": "small"},
}


def _pooled_backend(app) -> int:
    """The server process of the pool's connection (returned to the pool after)."""
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
    return pid


def test_the_pool_keeps_the_configured_number_of_connections(database_url):
    app = make_app(database_url, DATABASE_POOL_SIZE=7, DATABASE_POOL_OVERFLOW=3)
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow) == (7, 3)


@pytest.mark.processes  # real pooled connections, not the test's transaction
def test_a_connection_that_died_while_idle_is_replaced_before_the_request_uses_it(
    database_url, token_for
):
    """The server ended the pooled connection (a restart, a cut): after the idle time the
    checkout's ping finds it dead and the request runs on a new one (0 s: every checkout
    is after the idle time, whatever the clock)."""
    app = make_app(database_url, DATABASE_PING_AFTER_IDLE_SECONDS=0)
    client = app.test_client()
    headers = {
        "Authorization": f"Bearer {token_for(Role.RESIDENT, uid='pinged')}",
        "Idempotency-Key": "after-idle",
    }
    dead = _pooled_backend(app)
    with psycopg.connect(database_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (dead,)).fetchone()[0]
    response = client.post("/v1/reports", json=POTHOLE, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _pooled_backend(app) != dead


def test_the_service_s_connections_never_compile_statements_with_jit(database_url):
    # A plan over a long history looks expensive enough to be compiled, which took more time
    # than running it (benchmarks/bench_history.py): off on every pool of the primary.
    from app import readonly

    app = make_app(database_url)
    with app.app_context():
        engines = (db.engine, readonly.engine_for(app))
        settings = []
        for engine in engines:
            with engine.connect() as connection:
                settings.append(connection.exec_driver_sql("SHOW jit").scalar())
    assert settings == ["off", "off"]
