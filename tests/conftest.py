"""Test fixtures on the real engines: a PostgreSQL/PostGIS database created for this run,
and Redis (database 15 of the server in REDIS_URL).

`make test` provisions both and sets DATABASE_URL / REDIS_URL. Run bare, the suite uses the
same defaults as the service.

No test may depend on today's date: with TEST_CLOCK_SHIFT_DAYS set (365, say), this
process's clock is moved by that many days (time-machine) before any test is imported, while
PostgreSQL, Redis and the processes tests start keep the real time, as a skewed application
server would (`TEST_CLOCK_SHIFT_DAYS=365 make test`). tests/test_clock.py runs a subset so.
"""

import os
import tempfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import flask_sqlalchemy.session
import psycopg
import pytest
import redis
import time_machine
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.auth.cache import EXTENSION as IDENTITY_CACHE
from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.users.models import Role
from tools.launcher import DEFAULT_REDIS_URL
from tools.pg import DEFAULT_DATABASE_URL, libpq_url, with_database

# Before any test module (or the conftest of its directory) is imported: instants computed
# at import are moved too.
CLOCK_SHIFT_DAYS = float(os.environ.get("TEST_CLOCK_SHIFT_DAYS") or 0)
if CLOCK_SHIFT_DAYS:
    time_machine.travel(datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS), tick=True).start()

os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
# Jobs of this run go to a queue of their own (Redis db 15 may be shared).
os.environ["SIGNALE_QUEUES"] = f"signale-test-{uuid.uuid4().hex[:8]}"
PROJECT_ID = "demo-signale"
MEDIA_ROOT = tempfile.mkdtemp(prefix="signale-media-")
os.environ["MEDIA_ROOT"] = MEDIA_ROOT  # worker processes started by tests share it
# Nothing of a run goes into the checkout, where a running `make run` keeps its local
# instances and metrics files: the launcher's var directory (for `make run` started by a
# test too) is temporary, and no metrics are written into a multiprocess directory.
VAR_DIR = tempfile.mkdtemp(prefix="signale-var-")
os.environ["SIGNALE_VAR_DIR"] = VAR_DIR
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# Nor does Hypothesis's example store (schemathesis), which would be .hypothesis/ in the
# checkout.
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = tempfile.mkdtemp(prefix="signale-hypothesis-")
set_hypothesis_home_dir(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"])
# Tables that hold reference data loaded once per run; every other table is emptied after
# each test that commits for real (marked ``processes``).
REFERENCE_TABLES = {"communes", "desks", "alembic_version", "spatial_ref_sys"}


def pytest_report_header(config):
    if CLOCK_SHIFT_DAYS:
        return (
            f"clock moved {CLOCK_SHIFT_DAYS:g} days (TEST_CLOCK_SHIFT_DAYS): this "
            f"process reads {datetime.now(UTC).isoformat(timespec='seconds')}"
        )
    return None


def server_url() -> str:
    return libpq_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def redis_test_url() -> str:
    base = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    return base.rsplit("/", 1)[0] + "/15" if base.count("/") >= 3 else base + "/15"


def create_database(prefix: str) -> str:
    """A new empty database with PostGIS on the test server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(with_database(server_url(), "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url(), name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(with_database(server_url(), "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(database_url: str, **overrides):
    return create_app(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_test_url(),
            "SIGNALE_ENV": "test",
            "FIREBASE_PROJECT_ID": PROJECT_ID,
            "LOG_LEVEL": "WARNING",
            "MEDIA_ROOT": MEDIA_ROOT,
            # The suite posts many reports from one address: limits are tested on their own.
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
            "RATELIMIT_REPORTS_PER_IP": "100000/minute",
            "RATELIMIT_PHOTOS_PER_IP": "100000/minute",
            "RATELIMIT_REPORTS_PER_USER": "100000/minute",
            "RATELIMIT_PHOTOS_PER_USER": "100000/minute",
            "RATELIMIT_MOBILITY_PER_IP": "100000/minute",
            "RATELIMIT_SUPPORTS_PER_IP": "100000/minute",
            "RATELIMIT_SUPPORTS_PER_IP_AND_REPORT": "100000/minute",
            # An event stream read through the test client (schemathesis) ends soon; the
            # streams' tests run the real gunicorn (tests/live).
            "EVENTS_MAX_STREAM_SECONDS": 0.5,
            **overrides,
        }
    )


@pytest.fixture(scope="session")
def database_url():
    url = create_database("signale_test")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def app(database_url):
    from flask_migrate import upgrade

    from app.categories.service import seed_catalogue
    from app.geo.service import load_communes
    from app.organisation.service import seed_desks

    application = make_app(database_url)
    with application.app_context():
        upgrade()
        load_communes(db.session)
        seed_desks(db.session)
        seed_catalogue(db.session)
        db.session.remove()
    return application


# Every sequence owned by a column restarts after the column's greatest value, as after
# TRUNCATE ... RESTART IDENTITY and the seeds.
RESTART_IDENTITIES = text(
    """
    DO $$
    DECLARE owned record;
    BEGIN
      FOR owned IN
        SELECT format('%I.%I', n.nspname, s.relname) AS sequence, a.attname AS col,
               n.nspname AS nsp, t.relname AS tab
          FROM pg_class s
          JOIN pg_namespace n ON n.oid = s.relnamespace
          JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND n.nspname = current_schema()
      LOOP
        EXECUTE format('SELECT setval(%L, coalesce(max(%I), 0) + 1, false) FROM %I.%I',
                       owned.sequence, owned.col, owned.nsp, owned.tab);
      END LOOP;
    END $$
    """
)


class _JoinedSession(flask_sqlalchemy.session.Session):
    """A session of the test's transaction: on the test's connection, wherever Flask-SQLAlchemy
    would have taken a connection to the test database from its engine."""

    def get_bind(self, *args, **kwargs):
        engine = super().get_bind(*args, **kwargs)
        # An app made by a test on another database (one that does not exist, say) keeps it.
        return self.bind if engine.url == self.bind.engine.url else engine


@event.listens_for(_JoinedSession, "after_transaction_end")
def _end_of_a_session_transaction(session, transaction):
    # Released, a savepoint keeps what SET LOCAL changed (a time zone, a statement timeout)
    # until the test's transaction ends: put the settings back, as the end of the service's
    # own transaction would.
    if transaction.parent is None and not session.bind.closed:
        session.bind.exec_driver_sql("RESET ALL")


@pytest.fixture(autouse=True)
def _isolation(request):
    """Each test that uses the database runs in one transaction, rolled back at its end:
    every session (db.session in each application context, a second app's too) begins a
    savepoint on the test's connection, so a service's commit releases it and a rollback
    returns to it, as in production, and nothing outlives the test.

    Tests marked ``processes`` commit for real, and the tables are emptied after them: those
    with processes, threads or connections of their own (which cannot see an uncommitted
    transaction), those that need PostgreSQL's clock to move between two transactions (one
    transaction freezes ``now()``: a cache keyed on the last change's time, a sweep of what
    is older than a delay), and those making more requests than one transaction's locks
    allow (the schemathesis run: advisory locks are released at the transaction's end)."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    # Staff rows cached by an earlier test name users (and ids) that are gone.
    application.extensions[IDENTITY_CACHE].clear()
    with application.app_context():
        db.session.remove()
        connection = db.engine.connect()
    # Sequences are not rolled back: each test's identities follow the rows that are there.
    connection.execute(RESTART_IDENTITIES)
    connection.commit()
    if request.node.get_closest_marker("processes"):
        connection.close()
        yield
        _empty_tables(application)
        return
    transaction = connection.begin()
    own = db.session
    db.session = scoped_session(
        sessionmaker(
            class_=_JoinedSession,
            db=db,
            bind=connection,
            join_transaction_mode="create_savepoint",
        ),
        scopefunc=own.registry.scopefunc,
    )
    try:
        yield
    finally:
        for left in list(db.session.registry.registry.values()):
            left.close()
        db.session = own
        transaction.rollback()
        connection.close()


def _empty_tables(application) -> None:
    """Empty every non-reference table, and put back the data migrations and seeds ship."""
    from app.categories.service import seed_catalogue
    from app.feeds.faults import seed_mappings
    from app.triage.templates import seed_templates

    with application.app_context():
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        if tables:
            names = ", ".join(t.name for t in tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # The catalogue is data tests may edit: start each test from the shipped one.
        seed_catalogue(db.session)
        # The message templates' defaults come with the migration: put them back.
        seed_templates(db.session)
        # So do the fault mappings.
        seed_mappings(db.session)
        db.session.remove()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def session(ctx):
    return db.session


@pytest.fixture
def now(app) -> datetime:
    """The database's clock at the test's start, the one the service keeps time by
    (app.clock): the instant a test hands to factories and to services' ``now=``."""
    with app.app_context():
        instant = db.session.scalar(select(func.now()))
        db.session.remove()
    return instant.astimezone(UTC)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def redis_conn():
    conn = redis.Redis.from_url(redis_test_url())
    yield conn
    conn.close()


@pytest.fixture
def crew_code(app):
    from app.organisation.service import put_crew

    with app.app_context():
        _crew, _ = put_crew(db.session, code="voirie-nord", name="Voirie Nord", desk="voirie")
        db.session.remove()
    return "voirie-nord"


@pytest.fixture
def token_for(app, crew_code) -> Callable[..., str]:
    """``token_for(role)``: a valid ID token for a user of that role (staff rows created)."""
    from app.users.service import put_user

    def make(role: Role | str = Role.RESIDENT, uid: str | None = None, **claims) -> str:
        role = Role(role)
        uid = uid or f"{role.value}-{uuid.uuid4().hex[:8]}"
        if role != Role.RESIDENT:
            assignment = {
                Role.CREW: {"crew": crew_code},
                Role.AGENT: {"desks": ["voirie"]},
                Role.SUPERVISOR: {"desks": ["voirie", "eclairage"]},
                Role.ADMIN: {},
                Role.PRIVACY_OFFICER: {},
            }[role]
            with app.app_context():
                put_user(db.session, actor=None, uid=uid, role=role, **assignment)
                db.session.remove()
        return mint_emulator_token(PROJECT_ID, uid, **claims)

    return make


@pytest.fixture
def auth(token_for):
    """``auth(role)``: the Authorization header for a user of that role."""

    def make(role: Role | str = Role.RESIDENT, **kwargs) -> dict:
        return {"Authorization": f"Bearer {token_for(role, **kwargs)}"}

    return make


@pytest.fixture
def statements(app):
    """``with statements() as seen``: the SQL the app sends meanwhile."""
    with app.app_context():
        engine = db.engine
    return lambda: sent_to(engine)


@contextmanager
def sent_to(engine):
    """``with sent_to(engine) as seen``: the statements ``engine``'s connections send
    meanwhile."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
