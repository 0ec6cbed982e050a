"""The read replica (app/replica.py) against a real one: a throwaway primary and its streaming
standby (``pg_basebackup -R``), started for this module on free ports (tools/pg_cluster.py),
the machine's own PostgreSQL untouched; the app through Flask's test client, and once
through the real gunicorn. Which server answered is seen from the statements each engine
sends, and from what a paused replay hides: a report committed on the primary but not yet
replayed is missing only from what the replica serves. Also: the replica stopped (under
load too), behind the lag bound, a statement cancelled there, a row not there yet."""

import contextlib
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
import uuid

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade

from app import replica
from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.opendata.tables import TABLES
from tests import servers
from tests.conftest import PROJECT_ID, make_app, sent_to
from tests.factories import make_report
from tools import pg_cluster

BOX = "bbox=5.035,47.315,5.050,47.330"
PUBLIC_LIST = f"/v1/reports?{BOX}"
# Every public read the replica serves, as a client asks for it (a test below checks that
# the decorated views are exactly these).
PUBLIC_READS = [
    "/open311/v2/services.json",
    "/open311/v2/services/pothole.xml",
    "/open311/v2/requests.json",
    "/v1/opendata/files",
    "/v1/opendata/catalog",
    *(f"/v1/opendata/statistics/{name}" for name in TABLES),
    "/v1/mobility/parkings?lon=5.04&lat=47.32",
    "/v1/mobility/bikes?lon=5.04&lat=47.32",
    f"/v1/mobility/traffic?{BOX}",
    f"/v1/mobility/vehicles?{BOX}",
    PUBLIC_LIST,
    f"/v1/reports/geojson?{BOX}",
    "/v1/reports/suggestions?lon=5.0415&lat=47.322&category=pothole",
]
WAIT_S = 60  # a bound for a loaded machine, not a measure


@pytest.fixture(scope="module")
def clusters():
    """A primary with Signale's schema (migrated and seeded as the suite's database is) and
    its streaming standby; both stopped and their directories removed whatever happens."""
    parent = pg_cluster.temporary_parent()
    started = []
    try:
        primary = pg_cluster.primary(parent)
        started.append(primary)
        url = pg_cluster.create_database(primary, "signale")
        _migrate(url)
        standby = pg_cluster.standby(primary, parent)
        started.append(standby)
        caught_up(primary, standby)
        yield primary, standby
    finally:
        for cluster in reversed(started):
            with contextlib.suppress(pg_cluster.ProvisioningError):
                cluster.stop("immediate")
        pg_cluster.remove(parent)


def _migrate(url: str) -> None:
    from app.categories.service import seed_catalogue
    from app.geo.service import load_communes
    from app.organisation.service import seed_desks

    application = make_app(url)
    with application.app_context():
        upgrade()
        load_communes(db.session)
        seed_desks(db.session)
        seed_catalogue(db.session)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def served(clusters):
    """``served(**config)``: an app on the primary with the standby as its replica (lag
    allowed unless told otherwise), its pools closed after the test; replay resumed."""
    primary, standby = clusters
    made: list[Flask] = []

    def make(**config) -> Flask:
        settings = {
            "DATABASE_REPLICA_URL": standby.url("signale"),
            "DATABASE_REPLICA_MAX_LAG_SECONDS": 3600,
            # The identity is looked up on the primary: once, so that each request's
            # statements there are its page's alone.
            "IDENTITY_CACHE_SECONDS": 3600,
        }
        application = make_app(primary.url("signale"), **{**settings, **config})
        made.append(application)
        return application

    yield make
    if not standby_running(standby):  # a test that stopped it failed before it restarted it
        standby.start()
    standby.execute("SELECT pg_wal_replay_resume()")
    for application in made:
        with application.app_context():
            db.engine.dispose()
        replica.for_app(application).engine.dispose()
        for extension in application.extensions.values():
            for engine in getattr(extension, "_version_engines", {}).values():
                engine.dispose()


def standby_running(standby) -> bool:
    return (standby.data / "postmaster.pid").exists()


def resident() -> dict:
    return {"Authorization": "Bearer " + mint_emulator_token(PROJECT_ID, f"ana-{uuid.uuid4()}")}


def engines(application: Flask):
    with application.app_context():
        return db.engine, replica.for_app(application).engine


def pages(seen: list[str]) -> list[str]:
    """The statements of requests, without the replica's checks (app.replica's positions)."""
    checks = (replica.PRIMARY_POSITION.text, replica.REPLICA_POSITION.text)
    return [statement for statement in seen if statement not in checks]


def caught_up(primary, standby) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    lsn = primary.execute("SELECT pg_current_wal_lsn()::text")[0]
    deadline = time.monotonic() + WAIT_S
    while not standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))[0]:
        assert time.monotonic() < deadline, "the standby does not catch up"
        time.sleep(0.05)


def pause_replay(standby) -> None:
    standby.execute("SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + WAIT_S
    while standby.execute("SELECT pg_get_wal_replay_pause_state()")[0] != "paused":
        assert time.monotonic() < deadline, "replay does not pause"
        time.sleep(0.05)


def until_serving(client, headers, watched, tick=None) -> set[int]:
    """The public list, asked until the app judges its replica serving (at its first check,
    WAL written meanwhile may leave it behind the one position sampled, for a check period);
    ``tick`` turns the app's clock before each try."""
    deadline = time.monotonic() + WAIT_S
    while True:
        if tick:
            tick()
        found = listed(client, headers)
        if watched.verdict.usable:
            return found
        assert time.monotonic() < deadline, f"the replica is not used: {watched.verdict}"
        time.sleep(0.1)


def listed(client, headers) -> set[int]:
    response = client.get(PUBLIC_LIST, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["items"]}


def open311_listed(client) -> set[str]:
    response = client.get("/open311/v2/requests.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["service_request_id"] for item in response.get_json()}


def reference(primary, report_id: int) -> str:
    return primary.execute("SELECT reference FROM reports WHERE id = %s", (report_id,))[0]


def submit(client, headers) -> int:
    response = client.post(
        "/v1/reports",
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "category": "pothole",
            "location": {"lon": 5.0425, "lat": 47.3225},
            "answers": {"size": "small"},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_the_views_on_the_replica_are_the_public_reads_and_only_gets(app):
    marked = set()
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        if view_class is None:
            if getattr(view, "public_read", False):
                marked.add((endpoint, "GET"))
            continue
        for method in view_class.methods or ():
            if getattr(getattr(view_class, method.lower()), "public_read", False):
                marked.add((endpoint, method))
    assert marked == {
        ("open311.services", "GET"),
        ("open311.service_definition", "GET"),
        ("open311.requests", "GET"),
        ("open311.request_by_id", "GET"),
        ("opendata.OpenDataFiles", "GET"),
        ("opendata.OpenDataFileByName", "GET"),
        ("opendata.Catalog", "GET"),
        *((f"opendata.statistics-{name}", "GET") for name in TABLES),
        ("mobility.Parkings", "GET"),
        ("mobility.ParkingHistory", "GET"),
        ("mobility.Bikes", "GET"),
        ("mobility.Traffic", "GET"),
        ("mobility.Vehicles", "GET"),
        ("reports.Reports", "GET"),
        ("reports.ReportsGeoJSON", "GET"),
        ("reports.Suggestions", "GET"),
    }


def test_public_reads_are_answered_by_the_replica_writes_and_own_reads_by_the_primary(
    clusters, served
):
    primary, standby = clusters
    application = served()
    client = application.test_client()
    headers = resident()
    on_primary_engine, on_replica_engine = engines(application)
    assert client.get("/v1/me/reports", headers=headers).status_code == 200  # identity cached
    until_serving(client, headers, replica.for_app(application))
    first = make_report(application, crew=None)  # no page is cached at its version
    caught_up(primary, standby)

    for path in PUBLIC_READS:
        with sent_to(on_replica_engine) as on_replica, sent_to(on_primary_engine) as on_primary:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert pages(on_replica) and not pages(on_primary), (path, on_replica, on_primary)
    assert first in listed(client, headers)
    assert reference(primary, first) in open311_listed(client)

    with sent_to(on_replica_engine) as on_replica, sent_to(on_primary_engine) as on_primary:
        second = submit(client, headers)
        own = client.get(f"/v1/reports/{second}", headers=headers)
        mine = client.get("/v1/me/reports", headers=headers)
        token = client.get("/open311/v2/tokens/none.json")
    assert own.status_code == 200 and mine.status_code == 200 and token.status_code == 404
    assert second in {item["id"] for item in mine.get_json()["items"]}
    assert pages(on_primary) and not pages(on_replica), on_replica


def test_a_paused_replica_lags_the_public_list_not_the_residents_own_view_nor_the_cache(
    clusters, served
):
    primary, standby = clusters
    application = served()
    client = application.test_client()
    headers = resident()
    before = until_serving(client, headers, replica.for_app(application))
    pause_replay(standby)

    written = submit(client, headers)  # on the primary: the paused standby takes no writes

    # The public reads come from the replica, which has not replayed it yet...
    assert written not in listed(client, headers)
    assert written not in listed(client, headers)  # (the page cached at the replica's version)
    assert reference(primary, written) not in open311_listed(client)
    # ...the resident's own reads from the primary.
    assert client.get(f"/v1/reports/{written}", headers=headers).status_code == 200
    mine = client.get("/v1/me/reports", headers=headers).get_json()["items"]
    assert written in {item["id"] for item in mine}
    # Not found on the replica: asked again of the primary.
    one = client.get(f"/open311/v2/requests/{reference(primary, written)}.json")
    assert one.status_code == 200, one.get_data(as_text=True)

    standby.execute("SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    # Replayed: the replica's data version moved, so did the cached page's key.
    assert listed(client, headers) == before | {written}
    assert reference(primary, written) in open311_listed(client)


def test_a_replica_down_leaves_public_reads_to_the_primary_until_it_is_back(
    clusters, served, caplog
):
    primary, standby = clusters
    application = served(DATABASE_REPLICA_RETRY_SECONDS=30)
    watched = replica.for_app(application)
    clock = [0.0]
    watched.clock = lambda: clock[0]
    client = application.test_client()
    headers = resident()
    until_serving(client, headers, watched, tick=lambda: clock.__setitem__(0, clock[0] + 2))
    caplog.set_level(logging.INFO, logger="app.replica")
    caplog.clear()
    assert metric(client, 'signale_replica_state{state="serving"}') == 1
    assert metric(client, 'signale_replica_state{state="unreachable"}') == 0
    assert 0 <= metric(client, "signale_replica_lag_seconds") < 3600
    served_by = reads_served_by(client)
    listed(client, headers)
    assert reads_served_by(client) == {**served_by, "replica": served_by["replica"] + 1}

    standby.stop("fast")
    # The verdict is still "serving" (not checked again yet): the request meets the
    # failure, and is answered by the primary.
    written = make_report(application, crew=None)
    served_by = reads_served_by(client)
    assert written in listed(client, headers)
    assert reads_served_by(client) == {**served_by, "fallback": served_by["fallback"] + 1}
    assert metric(client, 'signale_replica_state{state="unreachable"}') == 1
    assert metric(client, 'signale_replica_state{state="serving"}') == 0
    assert math.isnan(metric(client, "signale_replica_lag_seconds"))
    served_by = reads_served_by(client)
    listed(client, headers)
    assert reads_served_by(client) == {**served_by, "primary": served_by["primary"] + 1}
    for path in PUBLIC_READS:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()

    standby.start()
    caught_up(primary, standby)
    pause_replay(standby)
    hidden = make_report(application, crew=None)
    # Within RETRY_SECONDS of the failure the replica is not tried: the primary answers.
    clock[0] += 29
    assert hidden in listed(client, headers)
    assert watched.verdict.state == "unreachable"
    # Then it is checked again, and serves (its paused replay hides the new report).
    clock[0] += 2
    assert hidden not in listed(client, headers)
    assert watched.verdict.usable
    assert any("serving" in r.getMessage() for r in caplog.records)


def test_a_replica_behind_the_bound_is_not_used_until_it_catches_up(clusters, served, caplog):
    primary, standby = clusters
    application = served(DATABASE_REPLICA_MAX_LAG_SECONDS=1, DATABASE_REPLICA_CHECK_SECONDS=0)
    watched = replica.for_app(application)
    client = application.test_client()
    headers = resident()
    caught_up(primary, standby)
    until_serving(client, headers, watched)
    caplog.set_level(logging.INFO, logger="app.replica")

    pause_replay(standby)
    written = make_report(application, crew=None)
    # Checked at each request: the lag (the age of the latest primary position the replica
    # has replayed past) grows, the list coming from the replica until it passes the bound...
    deadline = time.monotonic() + WAIT_S
    while watched.verdict.state != "behind":
        found = listed(client, headers)
        assert watched.verdict.state == "behind" or written not in found
        assert time.monotonic() < deadline, f"the lag does not grow: {watched.verdict}"
        time.sleep(0.1)
    # ...then the primary answers, with what the replica has not replayed.
    assert written in found
    assert metric(client, 'signale_replica_state{state="behind"}') == 1
    assert metric(client, "signale_replica_lag_seconds") > 1
    assert any("behind" in r.getMessage() for r in caplog.records)

    standby.execute("SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    on_replica_engine = engines(application)[1]
    deadline = time.monotonic() + WAIT_S
    while True:  # caught up, it serves again (a page no cache keeps: its statements seen)
        with sent_to(on_replica_engine) as on_replica:
            found = listed(client, headers)
            parkings = client.get("/v1/mobility/parkings?lon=5.04&lat=47.32", headers=headers)
        if watched.verdict.usable:
            break
        assert time.monotonic() < deadline, f"the replica is not used again: {watched.verdict}"
        time.sleep(0.1)
    assert written in found and parkings.status_code == 200 and pages(on_replica)


def test_an_idle_primary_after_a_wal_switch_keeps_its_replica_serving(clusters, served):
    primary, standby = clusters
    application = served(DATABASE_REPLICA_MAX_LAG_SECONDS=1, DATABASE_REPLICA_CHECK_SECONDS=0)
    watched = replica.for_app(application)
    clock = [0.0]
    watched.clock = lambda: clock[0]
    client = application.test_client()
    headers = resident()
    until_serving(client, headers, watched, tick=lambda: clock.__setitem__(0, clock[0] + 0.1))
    make_report(application, crew=None)
    # A new segment, and nothing written since: the insert position is then a page header
    # past everything the replica can ever receive (until the server next writes WAL of
    # its own, seconds later: the checks below take a fraction of a second).
    primary.execute("SELECT pg_switch_wal()")
    caught_up(primary, standby)
    for _ in range(4):  # 2 s of an idle primary on the app's clock, twice the bound
        clock[0] += 0.5
        listed(client, headers)
        assert watched.verdict.usable, watched.verdict


def metric(client, sample: str) -> float:
    """A sample of the app's /metrics (its name with its labels, as the text shows them)."""
    text = client.get("/metrics").get_data(as_text=True)
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(sample + " ")]
    assert len(found) == 1, f"{sample} not in /metrics"
    return float(found[0])


def reads_served_by(client) -> dict[str, float]:
    return {
        server: metric(client, f'signale_public_reads_total{{served_by="{server}"}}')
        for server in ("replica", "primary", "fallback")
    }


def fetch(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def listed_by(port: int, headers: dict) -> set[int]:
    status, body = fetch(port, PUBLIC_LIST, headers)
    assert status == 200, body
    return {item["id"] for item in json.loads(body)["items"]}


def test_through_gunicorn_the_replica_stopped_under_load_is_never_a_server_error(
    clusters, served, tmp_path
):
    primary, standby = clusters
    writer = served()
    headers = resident()
    settings = {
        "DATABASE_REPLICA_URL": standby.url("signale"),
        "SIGNALE_DATABASE_REPLICA_MAX_LAG_SECONDS": "3600",
        "SIGNALE_DATABASE_REPLICA_RETRY_SECONDS": "1",
    }
    with servers.gunicorn(primary.url("signale"), tmp_path, env=settings) as port:
        deadline = time.monotonic() + WAIT_S
        while True:
            # The server checks its replica every CHECK_SECONDS: one check must find it
            # caught up (its lag known) before it serves; then its paused replay hides a
            # new report.
            caught_up(primary, standby)
            listed_by(port, headers)
            pause_replay(standby)
            hidden = make_report(writer, crew=None)
            if hidden not in listed_by(port, headers):
                break
            standby.execute("SELECT pg_wal_replay_resume()")
            assert time.monotonic() < deadline, "the replica is not used"
            time.sleep(0.3)

        answers: list[tuple[str, int]] = []
        stopped = threading.Event()

        def read_all() -> None:
            # Every public read, over and over until the replica is stopped, then once more.
            last_round = False
            while not last_round:
                last_round = stopped.is_set()
                for path in PUBLIC_READS:
                    answers.append((path, fetch(port, path, headers)[0]))

        readers = [threading.Thread(target=read_all) for _ in range(4)]
        for reader in readers:
            reader.start()
        standby.stop("fast")
        stopped.set()
        for reader in readers:
            reader.join()
        assert len(answers) >= 4 * len(PUBLIC_READS)
        assert all(status == 200 for _, status in answers), [
            answer for answer in answers if answer[1] != 200
        ]
        assert hidden in listed_by(port, headers)  # answered by the primary

        standby.start()
        caught_up(primary, standby)
        pause_replay(standby)
        again = make_report(writer, crew=None)
        # Tried again after RETRY_SECONDS, the replica serves again (its replay paused).
        deadline = time.monotonic() + WAIT_S
        while again in listed_by(port, headers):
            assert time.monotonic() < deadline, "the replica is not used again"
            time.sleep(0.2)


def test_a_statement_cancelled_on_the_replica_is_answered_by_the_primary_which_stays_used(
    clusters, served, caplog
):
    primary, standby = clusters
    application = served()
    watched = replica.for_app(application)
    headers = resident()
    client = application.test_client()
    expected = until_serving(client, headers, watched)
    caplog.set_level(logging.INFO, logger="app.replica")
    answers = []
    # A lock the primary holds on the reports is replayed on the standby, where the list
    # then waits; cancelled there (as a recovery conflict cancels a statement), the request
    # is run again on the primary, which answers once its lock is released.
    with psycopg.connect(primary.url("signale")) as locker:
        locker.execute("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE")
        primary.execute("SELECT pg_switch_wal()")  # the lock's record sent now, uncommitted
        deadline = time.monotonic() + WAIT_S
        held = "SELECT 1 FROM pg_locks WHERE relation = 'reports'::regclass AND granted"
        while not standby.execute(held):
            assert time.monotonic() < deadline, "the lock is not replayed"
            time.sleep(0.05)
        reader = threading.Thread(target=lambda: answers.append(listed(client, headers)))
        reader.start()
        deadline = time.monotonic() + WAIT_S
        blocked = (
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'signale' AND wait_event_type = 'Lock'"
        )
        while not standby.execute(blocked):
            assert time.monotonic() < deadline, "the list does not wait on the replica"
            time.sleep(0.05)
        deadline = time.monotonic() + WAIT_S
        waiting = "SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'reports'::regclass"
        while not primary.execute(waiting):  # the request, again, on the primary
            assert time.monotonic() < deadline, "the list is not asked of the primary"
            time.sleep(0.05)
        locker.rollback()
    reader.join(WAIT_S)
    assert answers == [expected]
    assert watched.verdict.usable  # not taken for down
    assert any("answered from the primary" in r.getMessage() for r in caplog.records)
