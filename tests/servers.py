"""Real servers for the tests that speak to Signale over the network: a free port, and the
gunicorn `make run` starts (app/ops/gunicorn_conf.py) on the suite's migrated database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from tests.conftest import redis_test_url

ROOT = Path(__file__).resolve().parents[1]
# The gunicorns running now, by port: a test may signal one (a restart, a stop).
running: dict[int, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, media_root: Path, *, workers: int = 1, env: dict | None = None):
    """A gunicorn serving Signale on a free port, ready (``/healthz`` answers 200) when
    this yields its port; stopped on exit. ``env``: more environment (settings)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "SIGNALE_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "MEDIA_ROOT": str(media_root),
        # Tests change staff accounts from their own process between two requests: the
        # server reads them every time (the cache's bound: tests/auth/test_identity_cache.py).
        "SIGNALE_IDENTITY_CACHE_SECONDS": "0",
        # Abuse limits counted for this server alone: in Redis, a fixed prefix would add up
        # every run's requests (a browser test's supports, polls...) until one is refused.
        "SIGNALE_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        **(env or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--config",
            str(ROOT / "app" / "ops" / "gunicorn_conf.py"),
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A process group of its own (master and workers): a test may kill the whole node
        # (os.killpg) as a machine's loss would, without touching the test's own group.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120  # a bound for a loaded machine, not a measure
        while True:
            assert process.poll() is None, "gunicorn exited"
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn not ready"
            time.sleep(0.2)
        running[port] = process
        yield port
    finally:
        running.pop(port, None)
        process.terminate()
        process.wait(30)
