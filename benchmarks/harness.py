"""What the benchmarks on databases of their own start before they measure: the database
(created if missing, migrated), the programs they talk to (ready when returned), and a
stand-in NGSI-LD broker serving pre-encoded pages.

(The shared `signale_bench` and its sizes are dataset.py's; gunicorn and free ports,
bench_http_ceiling.py's.)
"""

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def own_database(name: str, **extra: str) -> dict:
    """The environment of a process working on the database ``name`` of the server
    DATABASE_URL names (created if missing, migrated with `flask db upgrade`); ``extra``:
    more variables."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    url = with_database(libpq_url(base), name)
    ensure_database(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*FLASK, "db", "upgrade"], env=env, cwd=ROOT, check=True, **quiet)
    return env


def start_listening(
    command: list[str], env: dict, port: int, what: str, timeout: float = 60
) -> subprocess.Popen:
    """``command`` started (its output discarded), returned once it accepts connections on
    127.0.0.1:``port``; ``what`` names it if it does not."""
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


def encode_pages(entities: list[dict], page: int) -> list[bytes]:
    """``entities`` as a broker's pages of ``page`` JSON entities, and the empty page past
    the end."""
    return [
        json.dumps(entities[i : i + page], separators=(",", ":")).encode()
        for i in range(0, len(entities), page)
    ] + [b"[]"]


def start_page_broker(
    pages_by_run: Callable[[], dict[int, list[bytes]]], page: int
) -> tuple[multiprocessing.Process, int]:
    """A stand-in NGSI-LD broker in a process of its own, and its port: GET
    /ngsi-ld/v1/entities?run=R&offset=O answers run R's page O // ``page`` (the last one past
    the end). ``pages_by_run`` builds the pages in that process, before it serves: encoded
    once, serving costs nothing measurable. Forked: start it before the app holds any
    connection."""
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(
        target=_serve_pages, args=(send, pages_by_run, page), daemon=True
    )
    process.start()
    return process, receive.recv()


def _serve_pages(port_out, pages_by_run, page: int) -> None:
    pages = pages_by_run()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            run = int(query.get("run", ["0"])[0])
            offset = int(query.get("offset", ["0"])[0])
            body = pages[run][min(offset // page, len(pages[run]) - 1)]
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()
