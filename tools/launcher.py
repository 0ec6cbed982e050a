"""What `make run`, `make test` and `make bench` do after the virtualenv exists.

Provisioning: use ``DATABASE_URL`` / ``REDIS_URL`` when they reach a server; otherwise start
project-local PostgreSQL and Redis instances under the var directory (``SIGNALE_VAR_DIR``,
default ``var/`` of the checkout, where `make run` keeps its metrics files too) from the
system's binaries. When PostGIS or Redis is missing and we are root on Debian, install the
Debian packages; otherwise stop with the exact packages to install. Everything this process
starts, it stops on exit. The web pages' npm packages are installed in ``static/node_modules``
from the lockfile (``npm ci``) for `make run` and `make test`, and Debian's Chromium and
chromedriver for the browser tests, and Debian's HAProxy for the multi-node test.

    python -m tools.launcher run      # migrate, load reference data, serve API + worker
                                      # (+ the demo feed simulator, SIGNALE_SIMULATOR=off,
                                      # + in development an FCM stand-in the worker pushes
                                      # to, unless FCM_CREDENTIALS; SIGNALE_FCM_STANDIN=off)
                                      # (+ in development the Auth emulator stand-in on
                                      # 127.0.0.1:9099 the console signs in against)
    python -m tools.launcher test [pytest args]
    python -m tools.launcher bench
    python -m tools.launcher provision   # print the environment, start nothing else
"""

import contextlib
import ctypes
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

from tools.pg import (
    DEFAULT_DATABASE_URL,
    database_name,
    ensure_database,
    libpq_url,
    pg_reachable,
    with_database,
)

ROOT = Path(__file__).resolve().parents[1]
LOCAL_PG_PORT = 54329
LOCAL_REDIS_PORT = 63799
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_SIMULATOR_PORT = "8001"
DEFAULT_FCM_STANDIN_PORT = "9098"
PYTHON = sys.executable


class ProvisioningError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"\n*** make: {message}\n")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def var_dir() -> Path:
    """Where this checkout's local state goes: ``SIGNALE_VAR_DIR`` (relative to the checkout),
    else ``var/``. Test runs set it to a temporary directory (tests/conftest.py), so that they
    never touch what a running `make run` keeps there."""
    return ROOT / (os.environ.get("SIGNALE_VAR_DIR") or "var")


@dataclass
class Services:
    database_url: str
    redis_url: str
    var: Path
    stop_actions: list = field(default_factory=list)

    def stop(self) -> None:
        while self.stop_actions:
            action = self.stop_actions.pop()
            with contextlib.suppress(Exception):
                action()


# --- system packages -------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(*packages: str) -> None:
    """Install Debian packages as root, refreshing the package lists if the first try fails."""
    if not (is_root() and shutil.which("apt-get")):
        raise ProvisioningError(
            "missing system packages. Install them with:\n"
            f"    sudo apt-get install {' '.join(packages)}\n"
            "then run the command again."
        )
    say(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode == 0:
        return
    subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=False)
    if subprocess.run(cmd, env=env).returncode != 0:
        raise ProvisioningError(f"apt-get could not install {' '.join(packages)}")


# --- web pages' npm packages and the browser tests' Chromium ---------------------------------

STATIC = ROOT / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def npm_stamp() -> Path:
    """Marks node_modules as installed from this very lockfile (as the Makefile's stamp does
    for the virtualenv): another lockfile, another stamp name, another ``npm ci``."""
    digest = hashlib.sha256((STATIC / "package-lock.json").read_bytes()).hexdigest()[:16]
    return STATIC / "node_modules" / f".installed-{digest}"


def ensure_static_packages() -> None:
    """``static/node_modules`` exactly as ``static/package-lock.json`` pins it (``npm ci``),
    installing Debian's ``nodejs npm`` first when ``npm`` is missing."""
    stamp = npm_stamp()
    if stamp.exists():
        return
    if not shutil.which("npm"):
        apt_install("nodejs", "npm")
    say("installing the web pages' npm packages (npm ci in static/)")
    # No package's install script runs: none of ours needs one.
    cmd = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    if subprocess.run(cmd, cwd=STATIC, stdout=subprocess.DEVNULL).returncode != 0:
        raise ProvisioningError("npm ci failed in static/ (see above)")
    stamp.touch()


def ensure_chromium() -> None:
    """Debian's Chromium and its chromedriver, which the browser tests (tests/web) drive."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        apt_install("chromium", "chromium-driver")


# OpenCV's wheel (the photos' face and plate detection, app/photos/detection) links these
# system libraries: a Debian without a desktop may lack them.
OPENCV_LIBRARIES = {
    "libGL.so.1": "libgl1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libxcb.so.1": "libxcb1",
}


def ensure_image_libraries() -> None:
    """The system libraries OpenCV loads, installed from Debian when one is missing."""
    missing = []
    for library, package in OPENCV_LIBRARIES.items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(package)
    if missing:
        apt_install(*missing)


HAPROXY = Path("/usr/sbin/haproxy")


def ensure_haproxy() -> None:
    """Debian's HAProxy, the load balancer the multi-node test puts in front of two API
    nodes (tests/scale)."""
    if not HAPROXY.exists():
        apt_install("haproxy")


# --- PostgreSQL + PostGIS --------------------------------------------------------------


def pg_bindir() -> Path | None:
    candidates = sorted(
        glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_home(var: Path) -> Path:
    """Where the local cluster lives: ``<var>/postgres``, unless we are root and the postgres
    user cannot reach it (a checkout inside a private directory); then under /var/tmp, in a
    directory of that var directory's own."""
    home = var / "postgres"
    if not is_root():
        return home
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ProvisioningError("no 'postgres' system user to run PostgreSQL as") from exc
    var.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(var)], check=False)
    if probe.returncode == 0:
        return home
    # The checkout's own name for its default var/ (as before SIGNALE_VAR_DIR existed).
    owner = ROOT if var == ROOT / "var" else var.resolve()
    digest = hashlib.sha1(str(owner).encode()).hexdigest()[:10]
    return Path(f"/var/tmp/signale-{digest}") / "postgres"


def start_local_postgres(services: Services, name: str) -> str:
    bindir = pg_bindir()
    if bindir is None:
        apt_install("postgresql")
        bindir = pg_bindir()
        if bindir is None:
            raise ProvisioningError("PostgreSQL's initdb is still missing after installation")
    home = postgres_home(services.var)
    data, run_dir, log_file = home / "data", home / "run", home / "postgres.log"
    run_dir.mkdir(parents=True, exist_ok=True)
    # PostgreSQL refuses to run as root: run it as the postgres system user.
    as_user: list[str] = []
    if is_root():
        owner = pwd.getpwnam("postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        for path in (home, data, run_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, owner.pw_uid, owner.pw_gid)
        if log_file.exists():
            os.chown(log_file, owner.pw_uid, owner.pw_gid)
    if not (data / "PG_VERSION").exists():
        say(f"initialising a project-local PostgreSQL cluster in {data}")
        subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    url = f"postgresql://postgres@127.0.0.1:{LOCAL_PG_PORT}/{name}"
    if pg_reachable(url):
        say(f"project-local PostgreSQL already running on port {LOCAL_PG_PORT}")
        return url
    say(f"starting project-local PostgreSQL on 127.0.0.1:{LOCAL_PG_PORT}")
    options = f"-p {LOCAL_PG_PORT} -k {run_dir} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log_file),
            "-o",
            options,
            "-w",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    services.stop_actions.append(
        lambda: subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
    )
    return url


def ensure_postgis(url: str) -> None:
    with psycopg.connect(with_database(libpq_url(url), "postgres"), autocommit=True) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    if available:
        return
    package = f"postgresql-{major}-postgis-3"
    host = urlsplit(url).hostname or "localhost"
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ProvisioningError(
            f"the PostgreSQL server at {host} has no PostGIS: install {package} on it"
        )
    apt_install(package)


# --- Redis -----------------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def start_local_redis(services: Services) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        apt_install("redis-server")
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    url = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"
    if redis_reachable(url):
        say(f"project-local Redis already running on port {LOCAL_REDIS_PORT}")
        return url
    directory = services.var / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    say(f"starting project-local Redis on 127.0.0.1:{LOCAL_REDIS_PORT}")
    subprocess.run(
        [
            binary,
            "--port",
            str(LOCAL_REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--daemonize",
            "yes",
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
            "--appendonly",
            "yes",
        ],
        check=True,
    )
    for _ in range(50):
        if redis_reachable(url):
            break
        time.sleep(0.1)
    else:
        raise ProvisioningError(f"Redis did not start: see {directory / 'redis.log'}")
    services.stop_actions.append(lambda: redis.Redis.from_url(url).shutdown(nosave=False))
    return url


# --- the whole provisioning ---------------------------------------------------------------


def provision(var: Path | None = None) -> Services:
    """Reachable servers, else local instances under ``var`` (default :func:`var_dir`)."""
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    services = Services(database_url, redis_url, var or var_dir())
    try:
        if not pg_reachable(database_url):
            say(f"no PostgreSQL at {urlsplit(database_url).netloc}: using a local instance")
            services.database_url = start_local_postgres(services, database_name(database_url))
        ensure_postgis(services.database_url)
        ensure_database(services.database_url)
        if not redis_reachable(redis_url):
            say(f"no Redis at {urlsplit(redis_url).netloc}: using a local instance")
            services.redis_url = start_local_redis(services)
    except BaseException:
        services.stop()
        raise
    say(f"PostgreSQL/PostGIS: {services.database_url}")
    say(f"Redis: {services.redis_url}")
    return services


def service_env(services: Services, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    env.update(extra)
    return env


def prepare_database(env: dict) -> None:
    """Apply migrations and load the reference data (both idempotent)."""
    flask = [PYTHON, "-m", "flask", "--app", "wsgi"]
    demo = [PYTHON, "-m", "tools.demo"]
    say("applying migrations")
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True)
    say("loading reference data")
    subprocess.run([*flask, "reference", "load"], env=env, cwd=ROOT, check=True)
    say("loading the demo organisation (routing rules, crews) unless it exists")
    subprocess.run([*demo, "routing", "seed"], env=env, cwd=ROOT, check=True)
    say("loading the demo address register (generated, not surveyed) unless addresses exist")
    register = str(ROOT / "data" / "addresses-demo-generated.csv")
    subprocess.run(
        [*flask, "addresses", "import", register, "--if-empty"], env=env, cwd=ROOT, check=True
    )


def development_env(services: Services) -> dict:
    extra = {"SIGNALE_ENV": os.environ.get("SIGNALE_ENV", "development")}
    if extra["SIGNALE_ENV"] != "production" and "FIREBASE_AUTH_EMULATOR_HOST" not in os.environ:
        # Development accepts Auth-emulator tokens (minted with `flask users dev-token`).
        extra["FIREBASE_AUTH_EMULATOR_HOST"] = "127.0.0.1:9099"
    if extra["SIGNALE_ENV"] != "production" and not (
        os.environ.get("PUBLIC_BASE_URL") or os.environ.get("SIGNALE_PUBLIC_BASE_URL")
    ):
        # Absolute links (open data files, catalogue, Open311) must reach this local
        # service, not the production site (whose files a developer cannot see).
        extra["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    return service_env(services, **extra)


def push_notice(env: dict) -> str:
    """What `make run` says of pushes: off without FCM credentials (the worker then sends
    none: residents are told in the in-app feed only), else where they go (and, for a
    stand-in, where to see what it received)."""
    from app.notifications.fcm import STATIC_TOKEN

    credentials = env.get("FCM_CREDENTIALS") or env.get("SIGNALE_FCM_CREDENTIALS")
    if not credentials:
        return (
            "OFF (no FCM_CREDENTIALS): residents are told in the in-app feed only "
            "(GET /v1/me/notifications)"
        )
    endpoint = env.get("SIGNALE_FCM_ENDPOINT") or env.get("FCM_ENDPOINT")
    if credentials == STATIC_TOKEN and endpoint:  # only a stand-in takes it
        endpoint = endpoint.rstrip("/")
        return f"on, through the FCM stand-in at {endpoint} (what it received: {endpoint}/)"
    return f"on, through FCM at {endpoint or 'Google'}"


def fcm_standin_url(env: dict) -> str | None:
    """Where `make run` serves the FCM stand-in that development pushes go to, so that a
    newcomer sees them; None in production (real credentials only), when FCM credentials
    are given (pushes go to that FCM), or when switched off (SIGNALE_FCM_STANDIN=off)."""
    if env.get("SIGNALE_ENV", "development") == "production":
        return None
    if env.get("FCM_CREDENTIALS") or env.get("SIGNALE_FCM_CREDENTIALS"):
        return None
    if env.get("SIGNALE_FCM_STANDIN", "on").lower() in ("off", "0", "false", "no"):
        return None
    port = env.get("SIGNALE_FCM_STANDIN_PORT") or DEFAULT_FCM_STANDIN_PORT
    return f"http://127.0.0.1:{port}"


def with_fcm_standin(env: dict, url: str) -> dict:
    """The service's environment with pushes sent to the stand-in at ``url``: its fixed
    bearer token (which the service refuses in production), its endpoint, and the project
    it is started for (``FCM_PROJECT_ID``, else the Firebase project, as the worker's)."""
    from app.config import Config
    from app.notifications.fcm import STATIC_TOKEN

    project = (
        env.get("SIGNALE_FCM_PROJECT_ID")
        or env.get("FCM_PROJECT_ID")
        or env.get("SIGNALE_FIREBASE_PROJECT_ID")
        or env.get("FIREBASE_PROJECT_ID")
        or Config.FIREBASE_PROJECT_ID
    )
    # The SIGNALE_-prefixed forms would override these (even empty): the plain ones only.
    prefixed = {"SIGNALE_FCM_CREDENTIALS", "SIGNALE_FCM_ENDPOINT", "SIGNALE_FCM_PROJECT_ID"}
    pointed = {k: v for k, v in env.items() if k not in prefixed}
    pointed.update(FCM_CREDENTIALS=STATIC_TOKEN, FCM_ENDPOINT=url, FCM_PROJECT_ID=project)
    return pointed


def start_fcm_standin(url: str, env: dict) -> subprocess.Popen:
    say(f"starting the FCM stand-in on {url}")
    port = url.rsplit(":", 1)[1]
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "tools.fcm_standin",
            "--port",
            port,
            "--project",
            env["FCM_PROJECT_ID"],
        ],
        env=env,
        cwd=ROOT,
    )


def auth_standin_url(env: dict) -> str | None:
    """Where `make run` serves the Auth emulator stand-in (tools/auth_standin.py) that the
    console signs in against: the emulator host it chose itself in development; None when
    the developer named an emulator of their own (FIREBASE_AUTH_EMULATOR_HOST set before
    `make run`) or outside emulator mode (production)."""
    host = env.get("FIREBASE_AUTH_EMULATOR_HOST")
    if not host or os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        return None
    return f"http://{host}"


def firebase_project(env: dict) -> str:
    from app.config import Config

    return (
        env.get("SIGNALE_FIREBASE_PROJECT_ID")
        or env.get("FIREBASE_PROJECT_ID")
        or Config.FIREBASE_PROJECT_ID
    )


def start_auth_standin(url: str, env: dict) -> subprocess.Popen:
    say(f"starting the Auth emulator stand-in on {url}")
    port = url.rsplit(":", 1)[1]
    return subprocess.Popen(
        [PYTHON, "-m", "tools.auth_standin", "--port", port, "--project", firebase_project(env)],
        env=env,
        cwd=ROOT,
    )


def sign_in_banner(env: dict, url: str | None) -> str:
    if url:
        return (
            f"Auth emulator stand-in {url}/ (project {firebase_project(env)}): the console's "
            f"demo accounts and e-mail/password sign-in"
        )
    host = env.get("FIREBASE_AUTH_EMULATOR_HOST")
    if host:
        return f"the Auth emulator you named at http://{host} (FIREBASE_AUTH_EMULATOR_HOST)"
    return "Firebase Authentication (real ID tokens only)"


# --- commands --------------------------------------------------------------------------------


def run() -> int:
    ensure_static_packages()
    ensure_image_libraries()
    services = provision()
    children: list[subprocess.Popen] = []
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        say("stopping")
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        # gunicorn's own graceful timeout is 30 s; a worker finishing a job needs time too.
        deadline = time.monotonic() + 30
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        env = development_env(services)
        standin = fcm_standin_url(env)
        if standin:
            env = with_fcm_standin(env, standin)
        say(f"push notifications: {push_notice(env)}")
        prepare_database(env)
        say("loading the demo equipment (skipped when assets exist)")
        subprocess.run(
            [PYTHON, "-m", "tools.demo", "assets", "generate", "--if-empty"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        load_demo_history(env)
        if stopping:  # Ctrl-C while the database was prepared: start nothing
            return 0
        if standin:
            children.append(start_fcm_standin(standin, env))
        auth_standin = auth_standin_url(env)
        if auth_standin:
            children.append(start_auth_standin(auth_standin, env))
        simulator = simulator_url()
        if simulator:
            children.append(start_simulator(simulator, env))
        port = os.environ.get("PORT", "8000")
        metrics_dir = services.var / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        children.append(
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    workers,
                    "--config",
                    str(ROOT / "app" / "ops" / "gunicorn_conf.py"),
                    "wsgi:app",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        children.append(subprocess.Popen([PYTHON, "-m", "worker"], env=env, cwd=ROOT))
        children.append(subprocess.Popen([PYTHON, "-m", "worker.cron"], env=env, cwd=ROOT))
        base = f"http://127.0.0.1:{port}"
        ready = wait_ready(base + "/readyz", children)
        if ready and standin:
            ready = wait_ready(standin + "/", children, timeout=30)
        if ready and auth_standin:
            ready = wait_ready(auth_standin + "/", children, timeout=30)
        if ready and simulator:
            # Its feeds are registered once it answers, so that their first polls succeed.
            ready = wait_ready(simulator + "/", children, timeout=30)
            if ready and not stopping:
                register_demo_feeds(simulator, env)
        if not ready or stopping:
            # Ctrl-C while starting is a clean stop; a child dying by itself is not.
            if stopping:
                return 0
            stop()
            return 1
        print(
            f"\nSignale is running:\n"
            f"  API            {base}/v1/\n"
            f"  API docs       {base}/docs\n"
            f"  OpenAPI        {base}/openapi.json\n"
            f"  health         {base}/healthz   readiness {base}/readyz\n"
            f"  metrics        {base}/metrics\n"
            f"  worker         rq on {services.redis_url} (with scheduler; cron: photo "
            f"sweep, key purge)\n"
            f"  feed simulator {simulator_banner(simulator)}\n"
            f"  pushes         {push_notice(env)}\n"
            f"  sign-in        {sign_in_banner(env, auth_standin)}\n"
            f"  dev token      .venv/bin/flask --app wsgi users dev-token some-uid\n"
            f"{apps_banner(base)}"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stopping:
            for child in children:
                if child.poll() is not None and not stopping:
                    say(f"{child.args[2]} exited with {child.returncode}: stopping everything")
                    stop()
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        stop()


def load_demo_history(env: dict) -> None:
    """Once, the demo staff accounts and a worked history of reports for the console
    (tools/generators/staff.py, history.py); never in production."""
    if env.get("SIGNALE_ENV") == "production":
        return
    say("loading the demo staff accounts and history (skipped when they are there)")
    subprocess.run(
        # One command, one Python start-up: it seeds the staff accounts first when none exists.
        [PYTHON, "-m", "tools.demo", "history", "generate", "--if-empty"],
        env=env,
        cwd=ROOT,
        check=True,
    )


def apps_banner(base: str) -> str:
    """The web apps' addresses, and how a newcomer signs in to each as a demo role (the
    sign-in screens' pickers, in the Auth emulator's mode)."""
    return (
        f"  resident page  {base}/report/  (signed in anonymously: report, follow, my reports)\n"
        f"  crew tablet    {base}/crew/  (works offline; demo-crew-<crew code>, e.g.\n"
        "                 demo-crew-voirie-centre-1, from the demo picker)\n"
        f"  console        {base}/console/  (sign in with the demo picker, no password):\n"
        "                 demo-agent-voirie (roads), demo-agent-eclairage (lighting and\n"
        "                 traffic signals), demo-agent-<desk> for the other desks,\n"
        "                 demo-supervisor (every desk), demo-admin\n"
    )


def simulator_url() -> str | None:
    """Where the demo feed simulator listens; None when switched off (SIGNALE_SIMULATOR=off)."""
    if os.environ.get("SIGNALE_SIMULATOR", "on").lower() in ("off", "0", "false", "no"):
        return None
    return f"http://127.0.0.1:{os.environ.get('SIGNALE_SIMULATOR_PORT', DEFAULT_SIMULATOR_PORT)}"


def start_simulator(url: str, env: dict) -> subprocess.Popen:
    say(f"starting the demo feed simulator on {url}")
    port = url.rsplit(":", 1)[1]
    return subprocess.Popen([PYTHON, "-m", "tools.simulator", "--port", port], env=env, cwd=ROOT)


def register_demo_feeds(url: str, env: dict) -> None:
    """One feed per entity type of the simulator (idempotent: updated if they exist)."""
    subprocess.run(
        [PYTHON, "-m", "tools.demo", "feeds", "demo", "--base-url", url],
        env=env,
        cwd=ROOT,
        check=True,
    )


def simulator_banner(url: str | None) -> str:
    if url is None:
        return "off (SIGNALE_SIMULATOR=off)"
    return (
        f"{url}/ (NGSI-LD, GBFS and GTFS-Realtime; feeds demo-*, polled every 20-60 s; its "
        "street lights and traffic signals obey commands: POST /v1/assets/{reference}/commands)"
    )


def wait_ready(url: str, children: list[subprocess.Popen], timeout: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return True
        time.sleep(0.3)
    say(f"{url} did not become ready in {timeout:.0f}s")
    return False


def test(pytest_args: list[str]) -> int:
    ensure_static_packages()
    ensure_chromium()
    ensure_image_libraries()
    ensure_haproxy()
    services = provision()
    try:
        # The suite creates its own database per run on this server, and uses Redis db 15.
        env = service_env(
            services, SIGNALE_ENV="test", FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099"
        )
        return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=ROOT).returncode
    finally:
        services.stop()


def bench(args: list[str]) -> int:
    ensure_image_libraries()
    services = provision()
    try:
        env = development_env(services)
        prepare_database(env)
        status = 0
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            say(f"benchmark {script.name}")
            status |= subprocess.run([PYTHON, str(script), *args], env=env, cwd=ROOT).returncode
        return status
    finally:
        services.stop()


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    if command == "bench":
        return bench(rest)
    if command == "provision":
        services = provision()
        print(f"DATABASE_URL={services.database_url}\nREDIS_URL={services.redis_url}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
