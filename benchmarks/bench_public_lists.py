"""Public lists: the map's page, GET /v1/reports/geojson?bbox=5.03,47.31,5.035,47.315&limit=100
(about 3,000 of the 1,000,000 reports of the benchmarks' database lie in that box), through
gunicorn (2 gthread workers), loaded by wrk at 8 and 16 connections, against what is
measured in the same run:

- the ceiling: the minimal Flask JSON endpoint through the same gunicorn;
- the peer: pygeoapi 0.21 (OGC API Features, from PyPI), installed into a virtualenv of its
  own under the var directory (``var/bench/``, never the project's), served by gunicorn (2
  gthread workers) with its PostgreSQL provider over the same ``reports`` table: the same
  box, limit=100, the public columns as properties; once in its default order and once
  newest first as our page is (``sortby=-created_at``). The faster of the two is the
  peer of the ratios. (It serves the exact positions: it cannot snap them to a grid.)

Signale is measured cold (PUBLIC_LISTS_CACHE_ENABLED off: every request builds its page in
its one statement, app/reports/documents.py) and cached (app/reports/cache.py: a request
reads the data version and the page from Redis). Every request carries a resident's token.

Targets (issue 19): at least 1,000 req/s for this page, more than 25 times the peer.

    make bench            # or: python benchmarks/bench_public_lists.py [--seconds S]
    BENCH_DATABASE=...    # another database than `signale_bench` (benchmarks/dataset.py)
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402
from tools.launcher import var_dir  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

BBOX = "5.03,47.31,5.035,47.315"
PAGE = f"/v1/reports/geojson?bbox={BBOX}&limit=100"
PEER_PAGE = f"/collections/reports/items?f=json&bbox={BBOX}&limit=100"
PYGEOAPI = "pygeoapi==0.21.*"
# What pygeoapi's PostgreSQL provider needs beside it (its "provider" extras are not a
# package extra), and the server.
PYGEOAPI_WITH = ["psycopg2-binary", "geoalchemy2", "gunicorn"]
TOKEN_SCRIPT = ROOT / "benchmarks" / "queue.lua"  # GET with the bearer token, percentiles
PUBLIC_SCRIPT = ROOT / "benchmarks" / "open311.lua"  # GET without a token, percentiles
TIMEOUT_S = 10
CONNECTIONS = (8, 16)

PEER_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification:
    title: Signale's reports (benchmark peer)
    description: The reports table of the benchmarks' database
    keywords: [reports]
    keywords_type: theme
    terms_of_service: https://example.org/
    url: https://example.org/
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: benchmark, url: "https://example.org/"}}
  contact: {{name: benchmark, position: none, address: none, city: Dijon,
            stateorprovince: none, postalcode: "21000", country: FR, phone: "0", fax: "0",
            email: bench@example.org, url: "https://example.org/", hours: none,
            instructions: none, role: pointOfContact}}
resources:
  reports:
    type: collection
    title: Reports
    description: Residents' reports
    keywords: [reports]
    links: []
    extents:
      spatial: {{bbox: [4.9, 47.2, 5.2, 47.45],
                crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: "{host}", port: {db_port}, dbname: "{dbname}", user: "{user}",
               password: "{password}", search_path: [public]}}
        id_field: id
        table: reports
        geom_field: geom
        properties: [reference, status, public_description, support_count, created_at,
                     updated_at]
"""


def pygeoapi_venv() -> tuple[Path, str]:
    """pygeoapi 0.21 in its own virtualenv under the var directory (made once)."""
    home = var_dir() / "bench" / "pygeoapi-0.21"
    python = home / "bin" / "python"
    if not (home / ".installed").exists():
        print(f"installing {PYGEOAPI} into {home} (once)", flush=True)
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", PYGEOAPI, *PYGEOAPI_WITH],
            check=True,
        )
        (home / ".installed").touch()
    version = subprocess.run(
        [str(python), "-c", "import pygeoapi; print(pygeoapi.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return home, version


def serve_pygeoapi(home: Path, workdir: Path, env: dict) -> tuple[subprocess.Popen, int]:
    """pygeoapi over the benchmarks' database, by gunicorn (2 gthread workers)."""
    port = free_port()
    url = psycopg.conninfo.conninfo_to_dict(libpq_url(env["DATABASE_URL"]))
    config = workdir / "pygeoapi-config.yml"
    config.write_text(
        PEER_CONFIG.format(
            port=port,
            host=url.get("host", "127.0.0.1"),
            db_port=url.get("port", 5432),
            dbname=url["dbname"],
            user=url.get("user", "postgres"),
            password=url.get("password", ""),
        )
    )
    openapi = workdir / "pygeoapi-openapi.yml"
    peer_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYGEOAPI_CONFIG": str(config),
        "PYGEOAPI_OPENAPI": str(openapi),
    }
    subprocess.run(
        [str(home / "bin" / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
         str(openapi)],
        env=peer_env, cwd=workdir, check=True, capture_output=True,
    )  # fmt: skip
    process = subprocess.Popen(
        [str(home / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--worker-class", "gthread", "--threads", "16", "pygeoapi.flask_app:APP"],
        env=peer_env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PEER_PAGE}", timeout=30) as r:
                document = json.load(r)
            if len(document["features"]) != 100:
                raise SystemExit(f"pygeoapi answered {len(document['features'])} features")
            return process, port
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("pygeoapi did not start")


def fetch(port: int, path: str, token: str | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def in_the_box(env: dict) -> int:
    west, south, east, north = BBOX.split(",")
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        return conn.execute(
            "SELECT count(*) FROM reports WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            (west, south, east, north),
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=dataset.REPORTS)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    env = dataset.bench_env()
    sizes = dataset.prepare(env, args.rows)
    boxed = in_the_box(env)
    home, peer_version = pygeoapi_venv()
    workdir = Path(tempfile.mkdtemp(prefix="signale-bench-public-lists-"))
    metrics = tempfile.mkdtemp(prefix="signale-bench-metrics-")
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": metrics}
    token = env["SIGNALE_TOKEN"]
    servers = {}
    try:
        servers["ceiling"] = serve("benchmarks.http_apps:flask_app", port := free_port(), env)
        servers["ceiling"] = (servers["ceiling"], port)
        for name, enabled in (("cold", "false"), ("cached", "true")):
            port = free_port()
            server_env = {**env, "SIGNALE_PUBLIC_LISTS_CACHE_ENABLED": enabled}
            servers[name] = (serve("wsgi:app", port, server_env), port)
        servers["pygeoapi"] = serve_pygeoapi(home, workdir, env)
        # The same page from both: the cache changes nothing but the speed.
        cold = fetch(servers["cold"][1], PAGE, token)
        assert fetch(servers["cached"][1], PAGE, token) == cold
        assert fetch(servers["cached"][1], PAGE, token) == cold
        features = len(json.loads(cold)["features"])
        targets = {
            "minimal Flask JSON (ceiling)": ("ceiling", "/healthz", PUBLIC_SCRIPT),
            "Signale, cold (cache off)": ("cold", PAGE, TOKEN_SCRIPT),
            "Signale, cached": ("cached", PAGE, TOKEN_SCRIPT),
            "pygeoapi": ("pygeoapi", PEER_PAGE, PUBLIC_SCRIPT),
            "pygeoapi, sortby=-created_at": (
                "pygeoapi", PEER_PAGE + "&sortby=-created_at", PUBLIC_SCRIPT
            ),
        }  # fmt: skip
        results = {(name, c): [] for name in targets for c in CONNECTIONS}
        for _ in range(args.rounds):
            for connections in CONNECTIONS:
                for name, (server, path, script) in targets.items():
                    url = f"http://127.0.0.1:{servers[server][1]}{path}"
                    results[name, connections].append(
                        wrk_run(
                            wrk,
                            url,
                            connections=connections,
                            seconds=args.seconds,
                            env=env,
                            script=script,
                            timeout_s=TIMEOUT_S,
                        )
                    )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(metrics, ignore_errors=True)

    def med(name, c, i):
        return statistics.median(r[i] for r in results[name, c])

    print(
        f"\nPublic lists: GET {PAGE} ({features} features; {boxed:,} of "
        f"{sizes['reports']:,} reports in the box), gunicorn 2 gthread workers, wrk -t2, "
        f"{args.rounds} rounds x {args.seconds}s, medians; peer: pygeoapi {peer_version}"
    )
    print(f"{'target':<32}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'vs ceiling':>12}")
    for connections in CONNECTIONS:
        top = med("minimal Flask JSON (ceiling)", connections, 0)
        for name in targets:
            rps = med(name, connections, 0)
            print(
                f"{name:<32}{connections:>6}{rps:>9,.0f}{med(name, connections, 1):>9.1f}"
                f"{med(name, connections, 2):>9.1f}{rps / top:>11.2f}x"
            )
    for connections in CONNECTIONS:
        peer = max(med(n, connections, 0) for n in ("pygeoapi", "pygeoapi, sortby=-created_at"))
        cached, cold = (
            med(n, connections, 0) for n in ("Signale, cached", "Signale, cold (cache off)")
        )
        print(
            f"c={connections}: cached {cached:,.0f} req/s = {cached / peer:.1f}x the peer "
            f"(target >25x, >=1,000 req/s); cold {cold:,.0f} req/s = {cold / peer:.1f}x"
        )


if __name__ == "__main__":
    main()
