"""GET /v1/events, the console's live stream, from the real gunicorn `make run` starts: report
changes committed by other transactions (another process here: the test's) reach the open
streams of the callers who work them, through PostgreSQL's NOTIFY and the process's
listener."""

import contextlib
import json
import signal
import time
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy import update

from app.auth.tokens import mint_emulator_token
from app.live.hub import RESYNC, ReportChange, Stream
from app.reports.models import Report
from app.users.models import Role
from tests import servers
from tests.conftest import PROJECT_ID
from tests.factories import database, make_report
from tests.triage.helpers import act

# Short, so that a test sees one soon; never a bound a test asserts on.
SETTINGS = {"SIGNALE_EVENTS_HEARTBEAT_SECONDS": "0.5"}
# How long a test waits for what it expects before failing (a loaded machine's bound).
PATIENCE_SECONDS = 60


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    with servers.gunicorn(database_url, tmp_path_factory.mktemp("media"), env=SETTINGS) as port:
        yield port


class EventStream:
    """An open GET /v1/events, read block by block (a block: the lines up to a blank one)."""

    def __init__(self, port: int, token: str, headers: dict | None = None):
        self._request = httpx.stream(
            "GET",
            f"http://127.0.0.1:{port}/v1/events",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            timeout=httpx.Timeout(PATIENCE_SECONDS),
        )

    def __enter__(self):
        self.response = self._request.__enter__()
        self._lines = self.response.iter_lines()
        return self

    def __exit__(self, *exc):
        return self._request.__exit__(*exc)

    def block(self) -> list[str] | None:
        """The next block; None at the end of the stream."""
        lines = []
        for line in self._lines:
            if line == "":
                if lines:
                    return lines
                continue
            lines.append(line)
        return lines or None

    def event(self) -> tuple[str, str | None, dict]:
        """The next event (name, id, data), past heartbeats."""
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            block = self.block()
            assert block is not None, "the stream ended"
            fields = dict(line.split(": ", 1) for line in block if not line.startswith(":"))
            if "event" in fields:
                return fields["event"], fields.get("id"), json.loads(fields["data"])
        raise AssertionError(f"no event within {PATIENCE_SECONDS} s")

    def report(self) -> dict:
        name, event_id, data = self.event()
        assert name == "report", (name, data)
        assert event_id == f"{data['id']}:{data['version']}"
        return data


@contextlib.contextmanager
def opened(port: int, token: str, headers: dict | None = None):
    with EventStream(port, token, headers) as stream:
        # Its first block comes once the process listens: what commits next reaches it.
        assert stream.block() == ["retry: 2000"]
        yield stream


@pytest.mark.processes
def test_a_report_created_in_another_transaction_reaches_an_open_stream(server, app, token_for):
    with opened(server, token_for(Role.SUPERVISOR)) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"] == "no-store"
        assert stream.response.headers["x-accel-buffering"] == "no"
        report_id = make_report(app, desk="voirie", crew="voirie-nord", reference="DIJ-2026-000042")
        assert stream.report() == {
            "id": report_id,
            "reference": "DIJ-2026-000042",
            "desk": "voirie",
            "previous_desk": None,
            "crew": "voirie-nord",
            "previous_crew": None,
            "status": "new",
            "version": 1,
            "change": "created",
        }


@pytest.mark.processes
def test_an_update_the_console_shows_is_an_event_and_one_it_does_not_is_none(
    server, app, token_for
):
    report_id = make_report(app, desk="voirie", crew=None)
    with opened(server, token_for(Role.SUPERVISOR)) as stream:
        with database(app) as session:
            # A support counted: nothing the console shows changed.
            session.execute(update(Report).where(Report.id == report_id).values(support_count=5))
            session.commit()
            session.execute(
                update(Report)
                .where(Report.id == report_id)
                .values(status="acknowledged", version=Report.version + 1)
            )
            session.commit()
        event = stream.report()
        assert (event["id"], event["status"], event["version"], event["change"]) == (
            report_id,
            "acknowledged",
            2,
            "updated",
        )
        assert (event["desk"], event["previous_desk"]) == ("voirie", "voirie")


@pytest.mark.processes
def test_a_change_rolled_back_is_never_told(server, app, token_for):
    with opened(server, token_for(Role.SUPERVISOR)) as stream:
        with database(app) as session:
            session.add(Report(status="new", reporter_uid="ana", category_id=1, desk_id=1))
            session.flush()
            session.rollback()
        told = make_report(app, desk="voirie")
        assert stream.report()["id"] == told


@pytest.mark.processes
def test_an_agent_hears_their_desks_reports_and_not_another_desks(server, app, token_for):
    with opened(server, token_for(Role.AGENT)) as stream:  # an agent of voirie
        make_report(app, desk="eclairage", crew=None)
        ours = make_report(app, desk="voirie", crew=None)
        # Notifications arrive in commit order: the other desk's came first, if at all.
        assert stream.report()["id"] == ours


@pytest.mark.processes
def test_a_report_rerouted_away_from_an_agents_desk_reaches_them(
    server, app, client, token_for, auth
):
    report_id = make_report(app, desk="voirie", crew=None)
    with opened(server, token_for(Role.AGENT)) as stream:
        supervisor = auth(Role.SUPERVISOR)
        response = act(client, supervisor, report_id, "reroute", {"desk": "eclairage"})
        assert response.status_code == 200, response.get_json()
        event = stream.report()
        assert event["id"] == report_id
        assert (event["desk"], event["previous_desk"]) == ("eclairage", "voirie")
        assert event["change"] == "updated"
        assert event["version"] == response.get_json()["version"]


@pytest.mark.processes
def test_a_crew_member_hears_their_crews_tickets_and_those_taken_from_it(
    server, app, token_for, crews
):
    with opened(server, token_for(Role.CREW)) as stream:  # a member of voirie-nord
        make_report(app, desk="voirie", crew="voirie-sud")
        ours = make_report(app, desk="voirie", crew="voirie-nord")
        assert stream.report()["id"] == ours
        with database(app) as session:
            session.execute(
                update(Report)
                .where(Report.id == ours)
                .values(crew_id=crews["voirie-sud"], version=Report.version + 1)
            )
            session.commit()
        event = stream.report()
        assert (event["id"], event["crew"], event["previous_crew"]) == (
            ours,
            "voirie-sud",
            "voirie-nord",
        )


@pytest.mark.processes
def test_a_killed_listener_connection_reconnects_and_streams_get_resync(
    server, app, database_url, token_for
):
    with opened(server, token_for(Role.ADMIN)) as stream:
        with psycopg.connect(database_url, autocommit=True) as connection:
            killed = connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'signale-live-listener' "
                "AND datname = current_database()"
            ).fetchone()[0]
        assert killed == 1
        name, _, data = stream.event()
        assert (name, data) == ("resync", {})
        # Listening again: the next change is heard.
        report_id = make_report(app, desk="voirie")
        assert stream.report()["id"] == report_id


@pytest.mark.processes
def test_the_listener_closes_its_connection_once_its_process_has_no_stream(
    server, database_url, token_for
):
    def listeners() -> int:
        with psycopg.connect(database_url, autocommit=True) as connection:
            return connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'signale-live-listener' "
                "AND datname = current_database()"
            ).fetchone()[0]

    with opened(server, token_for(Role.AGENT)):
        assert listeners() == 1
    deadline = time.monotonic() + PATIENCE_SECONDS
    while listeners() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listeners() == 0


@pytest.mark.processes
def test_an_idle_stream_gets_heartbeats(server, token_for):
    with opened(server, token_for(Role.AGENT)) as stream:
        assert stream.block() == [": heartbeat"]


@pytest.mark.processes
def test_a_reconnection_with_last_event_id_starts_with_a_resync(server, token_for):
    with opened(server, token_for(Role.AGENT), {"Last-Event-ID": "42:3"}) as stream:
        assert stream.event() == ("resync", None, {})


@pytest.mark.processes
def test_the_stream_ends_when_the_token_expires(server, token_for):
    uid = f"agent-{uuid.uuid4().hex[:8]}"
    token_for(Role.AGENT, uid=uid)
    token = mint_emulator_token(PROJECT_ID, uid, lifetime_seconds=2)
    with opened(server, token) as stream:
        blocks = []
        while (block := stream.block()) is not None:
            blocks.append(block)
            assert len(blocks) < 1000, "the stream outlived its token"
        assert all(block == [": heartbeat"] for block in blocks)


def test_residents_and_anonymous_callers_are_refused(client, auth):
    anonymous = client.get("/v1/events", headers={"Accept-Language": "en"})
    assert anonymous.status_code == 401
    assert anonymous.content_type == "application/problem+json"
    assert anonymous.get_json()["code"] == "authentication_required"
    assert "Authentication required" in anonymous.get_json()["detail"]
    for headers in (auth(Role.RESIDENT), auth(Role.RESIDENT, anonymous=True)):
        refused = client.get("/v1/events", headers=headers)
        assert refused.status_code == 403
        assert refused.content_type == "application/problem+json"
        assert refused.get_json()["code"] == "forbidden_role"
        assert refused.headers["Content-Language"] == "fr"
        assert "Votre rôle (resident)" in refused.get_json()["detail"]


@pytest.mark.processes
def test_streams_beyond_the_processs_cap_are_503_and_the_api_keeps_its_threads(
    database_url, tmp_path, token_for
):
    # 18 threads, 16 kept for the API: 2 streams at most, whatever EVENTS_MAX_STREAMS_...
    settings = {
        "GUNICORN_THREADS": "18",
        "SIGNALE_EVENTS_API_THREADS": "16",
        "SIGNALE_EVENTS_MAX_STREAMS_PER_PROCESS": "100",
        **SETTINGS,
    }
    supervisor = token_for(Role.SUPERVISOR)
    with (
        servers.gunicorn(database_url, tmp_path, env=settings) as port,
        opened(port, supervisor),
        opened(port, token_for(Role.AGENT)),
    ):
        base = f"http://127.0.0.1:{port}"
        for language, words in (("fr", "flux en direct"), ("en", "live streams")):
            refused = httpx.get(
                base + "/v1/events",
                headers={"Authorization": f"Bearer {supervisor}", "Accept-Language": language},
                timeout=PATIENCE_SECONDS,
            )
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["retry-after"] == "5"
            assert refused.json()["code"] == "events_busy"
            assert words in refused.json()["detail"]
        # Every other request still has its threads.
        me = httpx.get(
            base + "/v1/me",
            headers={"Authorization": f"Bearer {supervisor}"},
            timeout=PATIENCE_SECONDS,
        )
        assert me.status_code == 200


@pytest.mark.processes
def test_every_process_hears_every_change(app, database_url, tmp_path, token_for):
    """Two processes of one stream each (their cap): each LISTENs on its own connection,
    and a change reaches the streams of both."""
    settings = {"GUNICORN_THREADS": "17", "SIGNALE_EVENTS_API_THREADS": "16", **SETTINGS}
    token = token_for(Role.SUPERVISOR)
    with (
        servers.gunicorn(database_url, tmp_path, workers=2, env=settings) as port,
        contextlib.ExitStack() as streams,
    ):
        opened_streams = [streams.enter_context(opened(port, token))]
        for _ in range(200):  # a process at its cap answers 503: try again, for the other
            stream = streams.enter_context(EventStream(port, token))
            if stream.response.status_code == 200:
                assert stream.block() == ["retry: 2000"]
                opened_streams.append(stream)
                break
        assert len(opened_streams) == 2, "the second process never took a stream"
        with psycopg.connect(database_url, autocommit=True) as connection:
            listeners = connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = 'signale-live-listener' "
                "AND datname = current_database()"
            ).fetchone()[0]
        assert listeners == 2
        report_id = make_report(app, desk="voirie")
        assert [stream.report()["id"] for stream in opened_streams] == [report_id] * 2


@pytest.mark.processes
def test_streams_end_when_their_process_is_asked_to_stop(database_url, tmp_path, token_for):
    """SIGTERM (a restart, a deploy): open streams end at once, cleanly, so that their
    consoles reconnect to another process instead of holding the stop until gunicorn's
    graceful timeout cuts them off mid-stream."""
    with (
        servers.gunicorn(database_url, tmp_path, env=SETTINGS) as port,
        opened(port, token_for(Role.SUPERVISOR)) as first,
        opened(port, token_for(Role.AGENT)) as second,
    ):
        servers.running[port].send_signal(signal.SIGTERM)
        for stream in (first, second):
            # An unclean end (the connection cut) raises here instead of ending.
            while (block := stream.block()) is not None:
                assert block == [": heartbeat"]


def test_a_stream_that_cannot_keep_up_gets_a_resync_instead_of_what_it_lost():
    change = ReportChange(1, "DIJ-2026-000001", "voirie", None, None, None, "new", 1, "created")
    stream = Stream(lambda change: True, size=2)
    for _ in range(3):
        stream.offer(change)
    assert stream.next(timeout=0) == RESYNC
    assert stream.next(timeout=0) is None  # what it held was older than what it lost
    stream.offer(change)
    assert stream.next(timeout=0) == change


def an_equipment_command_told(app, state: str) -> int:
    """A command to the street light SL-000042 whose change of state to ``state`` is
    told (app.equipment.events) and committed in another transaction; its id."""
    from sqlalchemy import text

    from app.assets.service import put_asset
    from app.equipment import events
    from app.equipment.models import EquipmentCommand
    from app.extensions import db

    with app.app_context():
        session = db.session
        asset, _ = put_asset(
            session,
            "SL-000042",
            {
                "kind": "street_light",
                "status": "in_service",
                "location": {"lon": 5.04, "lat": 47.32},
            },
        )
        command = EquipmentCommand(
            asset_id=asset.id,
            name="switch_on",
            reason="Orage",
            state=state,
            requested_by="someone",
            requested_role="supervisor",
            entity_id="urn:ngsi-ld:Streetlight:dijon:SL-000042",
            entity_type="Streetlight",
            patch={},
            expected={"power_state": "on"},
            created_at=session.scalar(text("SELECT now()")),
        )
        session.add(command)
        session.flush()
        events.record(session, [command.id])
        session.commit()
        command_id = command.id
        db.session.remove()
    return command_id


@pytest.mark.processes
def test_an_equipment_commands_progress_reaches_the_console_of_those_who_run_it(
    server, app, token_for
):
    with (
        opened(server, token_for(Role.SUPERVISOR)) as supervisor,
        opened(server, token_for(Role.CREW)) as crew,
    ):
        command_id = an_equipment_command_told(app, "confirmed")
        name, event_id, data = supervisor.event()
        assert (name, event_id) == ("command", f"command:{command_id}:confirmed")
        assert data == {
            "id": command_id,
            "asset": "SL-000042",
            "kind": "street_light",
            "command": "switch_on",
            "state": "confirmed",
            "selection": None,
        }
        # Crews are not told: the next thing a crew's stream carries is a report's change.
        report_id = make_report(app, desk="voirie", crew="voirie-nord")
        assert crew.report()["id"] == report_id
