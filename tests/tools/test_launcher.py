"""The provisioning behind `make run` / `make test`, and `make run` itself, end to end."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import time_machine
from rq import Queue, Worker

from app import config
from app.auth.tokens import mint_emulator_token
from app.notifications import fcm
from tests.conftest import (
    PROJECT_ID,
    VAR_DIR,
    create_database,
    drop_database,
    make_app,
    redis_test_url,
)
from tests.servers import free_port
from tools import launcher, pg
from tools.simulator import DEMO_FEEDS

ROOT = Path(__file__).resolve().parents[2]


def test_the_var_directory_is_the_checkout_s_unless_told_otherwise(monkeypatch):
    # A test run's is temporary (tests/conftest.py): nothing of it goes into the checkout.
    assert not launcher.var_dir().is_relative_to(ROOT)
    monkeypatch.delenv("SIGNALE_VAR_DIR")
    assert launcher.var_dir() == ROOT / "var"
    monkeypatch.setenv("SIGNALE_VAR_DIR", "var-demo")
    assert launcher.var_dir() == ROOT / "var-demo"
    monkeypatch.setenv("SIGNALE_VAR_DIR", "/srv/signale")
    assert launcher.var_dir() == Path("/srv/signale")


def test_the_web_pages_npm_packages_are_installed_once_per_lockfile(monkeypatch, tmp_path):
    # A copy of static/'s manifest and lockfile, installed for real by npm ci.
    for name in ("package.json", "package-lock.json"):
        (tmp_path / name).write_bytes((ROOT / "static" / name).read_bytes())
    monkeypatch.setattr(launcher, "STATIC", tmp_path)
    launcher.ensure_static_packages()
    axe = tmp_path / "node_modules" / "axe-core" / "axe.min.js"
    assert axe.exists() and launcher.npm_stamp().exists()
    # Installed from this lockfile already: nothing runs again.
    axe.unlink()
    launcher.ensure_static_packages()
    assert not axe.exists()
    # Another lockfile: npm ci again, and node_modules is what it pins.
    lockfile = tmp_path / "package-lock.json"
    lockfile.write_text(lockfile.read_text() + "\n")
    assert not launcher.npm_stamp().exists()
    launcher.ensure_static_packages()
    assert axe.exists() and launcher.npm_stamp().exists()


def test_reachable_servers_are_used_as_they_are(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", pg.DEFAULT_DATABASE_URL))
    services = launcher.provision()
    assert services.stop_actions == []
    assert pg.pg_reachable(services.database_url)
    assert launcher.redis_reachable(services.redis_url)


def test_unreachable_servers_are_replaced_by_local_instances_that_stop_on_exit(monkeypatch):
    var = Path(tempfile.mkdtemp(prefix="signale-var-"))
    var.chmod(0o755)  # the postgres system user must reach it when we run as root
    monkeypatch.setattr(launcher, "LOCAL_PG_PORT", free_port())
    monkeypatch.setattr(launcher, "LOCAL_REDIS_PORT", free_port())
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/signale_local")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    services = launcher.provision(var)
    try:
        assert f":{launcher.LOCAL_PG_PORT}/signale_local" in services.database_url
        assert f":{launcher.LOCAL_REDIS_PORT}/" in services.redis_url
        with psycopg.connect(services.database_url) as conn:
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        assert version.startswith("3.")
        assert redis.Redis.from_url(services.redis_url).ping()
    finally:
        services.stop()
    assert not pg.pg_reachable(services.database_url)
    assert not launcher.redis_reachable(services.redis_url)
    assert (var / "postgres" / "data" / "PG_VERSION").exists()
    assert (var / "redis" / "redis.log").exists()
    # A second provisioning reuses the initialised cluster.
    again = launcher.provision(var)
    try:
        assert again.database_url == services.database_url
    finally:
        again.stop()
        subprocess.run(["rm", "-rf", str(var)], check=False)


def token_for_the_service(uid: str) -> str:
    """A token for the service this test starts: issued at the host's real time, which that
    process reads even when this one's clock is moved (TEST_CLOCK_SHIFT_DAYS)."""
    hatch = time_machine.escape_hatch
    now = hatch.time.time() if hatch.is_travelling() else time.time()
    return mint_emulator_token(PROJECT_ID, uid, issued_at=now)


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def start_service(port: int, database_url: str, queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "SIGNALE_QUEUES": queue,
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "SIGNALE_ENV": "development",
        # Its own port for the demo feed simulator and the FCM stand-in, as for the API.
        "SIGNALE_SIMULATOR_PORT": str(free_port()),
        "SIGNALE_FCM_STANDIN_PORT": str(free_port()),
        "FCM_CREDENTIALS": "",
        "SIGNALE_FCM_CREDENTIALS": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tools.launcher", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(url: str, process: subprocess.Popen, lines: list[str], timeout: float = 180) -> None:
    """Until ``url`` answers 200; ``lines``: the process's output so far (read by a thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "".join(lines)
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready in {timeout}s")


def checkout_metrics() -> tuple[int, int] | None:
    """The checkout's own metrics directory (a developer's `make run`), as (device, inode)."""
    path = ROOT / "var" / "prometheus"
    return (path.stat().st_dev, path.stat().st_ino) if path.exists() else None


def test_make_run_serves_the_api_and_the_worker_then_stops_cleanly_and_runs_again(redis_conn):
    database_url = create_database("signale_run")
    queue = f"signale-run-{uuid.uuid4().hex[:8]}"
    developers_metrics = checkout_metrics()
    try:
        for attempt in range(2):
            port = free_port()
            process = start_service(port, database_url, queue)
            # Read its output as it comes: a full pipe would block the service's log writes
            # (gunicorn's included), and with them its answers to the launcher's own checks.
            lines: list[str] = []
            reader = threading.Thread(target=lines.extend, args=(process.stdout,), daemon=True)
            reader.start()
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for(base + "/readyz", process, lines)
                token = token_for_the_service(f"visitor-{attempt}")
                status, body = get(base + "/v1/communes", token)
                assert status == 200
                assert body.count(b'"Feature"') == 23
                # Its metrics files are in the run's var directory (temporary in tests).
                status, metrics = get(base + "/metrics")
                assert status == 200 and b"signale_http_requests_total" in metrics
                assert list((Path(VAR_DIR) / "prometheus").glob("*.db"))
                # The worker registers itself in Redis once it has started.
                deadline = time.monotonic() + 30
                while not Worker.all(queue=Queue(queue, connection=redis_conn)):
                    assert time.monotonic() < deadline, "the worker never registered"
                    time.sleep(0.2)
                assert len(Worker.all(queue=Queue(queue, connection=redis_conn))) == 1
                # Ctrl-C once it says it runs (a stop while starting is tested on its own).
                deadline = time.monotonic() + 30
                while "Signale is running" not in "".join(lines):
                    assert time.monotonic() < deadline, "never announced it was running"
                    time.sleep(0.2)
                assert "feed simulator http://127.0.0.1:" in "".join(lines)
                # The demo feeds, registered once however often it starts, are polled by
                # the worker: a newcomer sees car parks without doing anything.
                with psycopg.connect(database_url) as conn:
                    names = conn.execute("SELECT name FROM feeds ORDER BY name").fetchall()
                assert [n for (n,) in names] == sorted(f.name for f in DEMO_FEEDS)
                near = "/v1/mobility/parkings?lon=5.0415&lat=47.322&radius=1000"
                deadline = time.monotonic() + 90
                while b"Parking Dauphine" not in get(base + near, token)[1]:
                    assert time.monotonic() < deadline, "the demo car parks never appeared"
                    time.sleep(1)
                if attempt == 0:
                    a_push_reaches_the_standin(base, lines, database_url)
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=60)
                reader.join(timeout=10)
                output = "".join(lines)
            assert process.returncode == 0, output
            assert "Signale is running" in output
            # The banner names the three web apps' addresses.
            for app_line in (f"resident page  {base}/report/", f"crew tablet    {base}/crew/"):
                assert app_line in output, output
            assert f"console        {base}/console/" in output
            # No FCM credentials in development: pushes go to the stand-in it started.
            assert "push notifications: on, through the FCM stand-in at" in output
            assert "pushes         on, through the FCM stand-in at http://127.0.0.1:" in output
            # The suite names its emulator host: `make run` leaves that emulator to it.
            assert "sign-in        the Auth emulator you named at http://127.0.0.1:9099" in output
            assert "starting the Auth emulator stand-in" not in output
            with pytest.raises(OSError):
                get(base + "/healthz")
            # The worker unregisters itself on a warm shutdown (a killed one would not).
            assert Worker.all(queue=Queue(queue, connection=redis_conn)) == [], output
        # A developer's `make run` of this checkout keeps its metrics: not wiped, not made.
        assert checkout_metrics() == developers_metrics
    finally:
        drop_database(database_url)


def a_push_reaches_the_standin(base: str, lines: list[str], database_url: str) -> None:
    """As a newcomer would: a resident's phone is registered, the desk acknowledges their
    report, and the push is on the page the banner names (``lines``: the output so far)."""
    banner = "".join(lines)
    received = re.search(r"\(what it received: (http://127\.0\.0\.1:\d+/)\)", banner)[1]
    resident = token_for_the_service("newcomer")
    phone = {"token": "newcomer-phone", "platform": "android", "locale": "fr-FR"}
    assert send(base + "/v1/me/devices", resident, phone)[0] in (200, 201)
    filed = {"category": "other", "location": {"lon": 5.0415, "lat": 47.322}, "answers": {}}
    status, body = send(base + "/v1/reports", resident, filed, {"Idempotency-Key": "newcomer-1"})
    assert status == 201, body
    report_id = json.loads(body)["id"]
    with psycopg.connect(database_url) as conn:
        (desk,) = conn.execute(
            "SELECT d.code FROM reports AS r JOIN desks AS d ON d.id = r.desk_id WHERE r.id = %s",
            (report_id,),
        ).fetchone()
    # The banner's dev-token command, for an agent of the report's desk.
    dev_token = [sys.executable, "-m", "flask", "--app", "wsgi", "users", "dev-token"]
    agent = subprocess.run(
        [*dev_token, "newcomer-agent", "--role", "agent", "--desk", desk],
        env={**os.environ, "DATABASE_URL": database_url, "SIGNALE_ENV": "development"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    request = urllib.request.Request(f"{base}/v1/reports/{report_id}")
    request.add_header("Authorization", f"Bearer {agent}")
    with urllib.request.urlopen(request, timeout=5) as response:
        etag = response.headers["ETag"]
    acknowledge = f"{base}/v1/reports/{report_id}/actions/acknowledge"
    assert send(acknowledge, agent, {}, {"If-Match": etag})[0] == 200
    deadline = time.monotonic() + 60
    while True:
        accepted = json.loads(get(received)[1])["accepted"]
        pushes = [a["message"] for a in accepted if a["token"] == "newcomer-phone"]
        if pushes:
            break
        assert time.monotonic() < deadline, "no push at the stand-in:\n" + "".join(lines)
        time.sleep(0.5)
    assert pushes[0]["data"]["report_id"] == str(report_id)
    assert pushes[0]["data"]["status"] == "acknowledged"


def send(url: str, token: str, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(
    ("env", "notice"),
    [
        ({}, "OFF (no FCM_CREDENTIALS): residents are told in the in-app feed only"),
        ({"FCM_CREDENTIALS": ""}, "OFF (no FCM_CREDENTIALS)"),
        ({"FCM_CREDENTIALS": "/etc/signale/fcm.json"}, "on, through FCM at Google"),
        (
            {"FCM_CREDENTIALS": "/etc/signale/fcm.json", "FCM_ENDPOINT": "https://fcm.example"},
            "on, through FCM at https://fcm.example",
        ),
        (
            {"SIGNALE_FCM_CREDENTIALS": "static-token", "FCM_ENDPOINT": "http://127.0.0.1:9098"},
            "on, through the FCM stand-in at http://127.0.0.1:9098 "
            "(what it received: http://127.0.0.1:9098/)",
        ),
    ],
)
def test_make_run_says_whether_pushes_are_on(env, notice):
    assert launcher.push_notice(env).startswith(notice)


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"SIGNALE_ENV": "development"}, "http://127.0.0.1:9098"),
        ({"SIGNALE_ENV": "development", "FCM_CREDENTIALS": ""}, "http://127.0.0.1:9098"),
        (
            {"SIGNALE_ENV": "development", "SIGNALE_FCM_STANDIN_PORT": "9123"},
            "http://127.0.0.1:9123",
        ),
        ({"SIGNALE_ENV": "test"}, "http://127.0.0.1:9098"),
        # Production needs real credentials: never the stand-in.
        ({"SIGNALE_ENV": "production"}, None),
        # Credentials given: pushes go to that FCM.
        ({"SIGNALE_ENV": "development", "FCM_CREDENTIALS": "/etc/signale/fcm.json"}, None),
        ({"SIGNALE_ENV": "development", "SIGNALE_FCM_CREDENTIALS": "application-default"}, None),
        ({"SIGNALE_ENV": "development", "SIGNALE_FCM_STANDIN": "off"}, None),
    ],
)
def test_make_run_starts_an_fcm_standin_in_development_only_without_credentials(env, url):
    assert launcher.fcm_standin_url(env) == url


@pytest.mark.parametrize(
    ("env", "project"),
    [
        ({}, "demo-signale"),
        ({"FIREBASE_PROJECT_ID": "dijon-signale"}, "dijon-signale"),
        ({"FIREBASE_PROJECT_ID": "dijon-signale", "FCM_PROJECT_ID": "dijon-push"}, "dijon-push"),
        (
            {"SIGNALE_FCM_PROJECT_ID": "dijon-push-2", "FCM_PROJECT_ID": "dijon-push"},
            "dijon-push-2",
        ),
    ],
)
def test_in_development_the_service_is_pointed_at_the_standin_for_its_own_project(env, project):
    url = "http://127.0.0.1:9123"
    pointed = launcher.with_fcm_standin(
        {
            "SIGNALE_ENV": "development",
            # Empty or elsewhere, the prefixed forms would override the service's settings.
            "SIGNALE_FCM_CREDENTIALS": "",
            "SIGNALE_FCM_ENDPOINT": "https://elsewhere",
            **env,
        },
        url,
    )
    assert (pointed["FCM_CREDENTIALS"], pointed["FCM_ENDPOINT"]) == ("static-token", url)
    assert pointed["FCM_PROJECT_ID"] == project
    assert not {k for k in pointed if k.startswith("SIGNALE_FCM_")}
    assert launcher.push_notice(pointed) == (
        f"on, through the FCM stand-in at {url} (what it received: {url}/)"
    )


def test_the_standin_make_run_starts_takes_the_services_pushes_and_shows_them(monkeypatch):
    """The stand-in as `make run` starts it (a child process on 127.0.0.1), the service's
    FCM configuration read from the environment `make run` gives it, and the page the
    banner names: the push is there."""
    url = f"http://127.0.0.1:{free_port()}"
    env = launcher.with_fcm_standin({**os.environ, "SIGNALE_ENV": "development"}, url)
    process = launcher.start_fcm_standin(url, env)
    try:
        assert launcher.wait_ready(url + "/", [process], timeout=30)
        for name in ("FCM_CREDENTIALS", "FCM_ENDPOINT", "FCM_PROJECT_ID"):
            monkeypatch.setenv(name, env[name])
        sender = fcm.from_config(config.load())
        push = fcm.Push(
            token="newcomer-phone",
            title="Signalement pris en compte",
            body="Merci !",
            data={"report_id": "1", "status": "acknowledged"},
            collapse_key="report-1",
        )
        [outcome] = sender.send([push])
        assert outcome.accepted
        status, body = get(url + "/")
        received = json.loads(body)
        assert status == 200
        [accepted] = received["accepted"]
        assert (accepted["token"], accepted["name"]) == ("newcomer-phone", outcome.message_id)
        assert accepted["message"]["data"] == push.data
        assert received["refused"] == []
        assert get(url + "/elsewhere")[0] == 404
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("given", "signale_env", "url"),
    [
        # `make run` chooses emulator mode in development: it serves the emulator itself.
        (None, "development", "http://127.0.0.1:9099"),
        (None, "test", "http://127.0.0.1:9099"),
        # An emulator the developer named is theirs to run (the real one, say).
        ("127.0.0.1:9199", "development", None),
        # Production verifies Google's tokens: no emulator at all.
        (None, "production", None),
    ],
)
def test_make_run_serves_the_auth_emulator_stand_in_where_it_chose_emulator_mode(
    monkeypatch, tmp_path, given, signale_env, url
):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    if given:
        monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", given)
    monkeypatch.setenv("SIGNALE_ENV", signale_env)
    services = launcher.Services("postgresql://db/signale", "redis://r/0", tmp_path)
    env = launcher.development_env(services)
    assert launcher.auth_standin_url(env) == url
    banner = launcher.sign_in_banner(env, url)
    if url:
        assert banner.startswith(f"Auth emulator stand-in {url}/ (project demo-signale)")
    elif given:
        assert (
            banner == f"the Auth emulator you named at http://{given} (FIREBASE_AUTH_EMULATOR_HOST)"
        )
    else:
        assert banner == "Firebase Authentication (real ID tokens only)"


@pytest.mark.processes
def test_the_auth_stand_in_make_run_starts_signs_in_for_the_service_s_project():
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "SIGNALE_ENV": "development", "FIREBASE_PROJECT_ID": "dijon-signale"}
    process = launcher.start_auth_standin(url, env)
    try:
        assert launcher.wait_ready(url + "/", [process], timeout=30)
        request = urllib.request.Request(
            url + "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=k",
            data=json.dumps({"token": '{"uid": "demo-agent"}'}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.load(response)["idToken"]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert (claims["aud"], claims["sub"]) == ("dijon-signale", "demo-agent")
        assert claims["iss"] == "https://securetoken.google.com/dijon-signale"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ctrl_c_while_the_service_is_starting_is_a_clean_stop():
    database_url = create_database("signale_run")
    port = free_port()
    process = start_service(port, database_url, f"signale-run-{uuid.uuid4().hex[:8]}")
    lines: list[str] = []
    try:
        # Interrupted as soon as gunicorn starts: the launcher is waiting for readiness.
        for line in process.stdout:
            lines.append(line)
            if "Starting gunicorn" in line:
                process.send_signal(signal.SIGINT)
                break
        lines.extend(process.stdout)
        process.wait(timeout=60)
        output = "".join(lines)
        assert "Starting gunicorn" in output
        assert process.returncode == 0, output
        assert "Signale is running" not in output
        with pytest.raises(OSError):
            get(f"http://127.0.0.1:{port}/healthz")
    finally:
        if process.poll() is None:
            process.kill()
        drop_database(database_url)


@pytest.mark.parametrize(
    ("env", "base"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"PUBLIC_BASE_URL": "https://signale.test"}, "https://signale.test"),
        ({"SIGNALE_PUBLIC_BASE_URL": "https://signale.test"}, "https://signale.test"),
        # Production's links are the configured public site, never a local address.
        ({"SIGNALE_ENV": "production"}, "https://signale.metropole-dijon.fr"),
    ],
)
def test_make_run_links_to_the_local_service_in_development(monkeypatch, tmp_path, env, base):
    for name in ("PORT", "PUBLIC_BASE_URL", "SIGNALE_PUBLIC_BASE_URL", "SIGNALE_ENV"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    services = launcher.Services("postgresql://db/signale", "redis://r/0", tmp_path)
    # What the application makes of the environment the launcher gives it.
    with monkeypatch.context() as inside:
        for name, value in launcher.development_env(services).items():
            inside.setenv(name, value)
        assert make_app("postgresql://db/signale").config["PUBLIC_BASE_URL"] == base


def test_make_run_has_the_simulator_notify_the_local_service(monkeypatch, tmp_path):
    for name in ("PORT", "SIGNALE_FEEDS_NOTIFICATION_BASE_URL", "SIGNALE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "8123")
    services = launcher.Services("postgresql://db/signale", "redis://r/0", tmp_path)
    env = launcher.development_env(services)
    # Prefixed: the application reads it (from_prefixed_env), unlike a plain name.
    assert env["SIGNALE_FEEDS_NOTIFICATION_BASE_URL"] == "http://127.0.0.1:8123"
    monkeypatch.setenv("SIGNALE_ENV", "production")
    assert "SIGNALE_FEEDS_NOTIFICATION_BASE_URL" not in launcher.development_env(services)
