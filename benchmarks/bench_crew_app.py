"""The crew tablet app in Chromium (issue 17's note): what it costs over the network, and
how fast it shows the crew's tickets with no network.

Against gunicorn as `make run` starts it and the Auth emulator stand-in, in a database of
its own (`signale_bench_crew`: migrated, the reference data and the demo organisation; the
first run files TICKETS reports through the API and has an agent assign them to one crew,
later runs reuse them). The browser reaches the service through a cable (tools/cable.py)
that counts the bytes the server sent and can be unplugged.

1. First load, new browser profile: the page, its modules, styles and scripts, sign-in
   through the demo picker, the sync and every ticket's detail (until the tablet holds them
   all). Bytes over the network: (a) the page's own requests, summed from DevTools' Network
   events (`Network.loadingFinished.encodedDataLength`; a response the service worker
   served, `fromServiceWorker`, counts 0); (b) everything the server sent through the cable,
   whoever asked (the service worker's precache downloads included), with HTTP headers.
   Split: the app (its shell: page, static files, configuration, manifest) and the API.
2. Cached reload (same profile, signed in, service worker active): the same two figures;
   the worker answers the shell from its cache and revalidates it behind (conditional
   requests: 304s).
3. Offline (cable unplugged and the page's offline mode), RUNS reopenings of /crew/: time
   from the navigation's start to the list of TICKETS tickets drawn from IndexedDB (a
   MutationObserver installed before the page's scripts stamps `performance.now()` when
   the list has all its tickets, then at the next frame). Median and p90 (nearest rank).

    make bench      # or: python benchmarks/bench_crew_app.py [--tickets N] [--runs N]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_console import start_standin  # noqa: E402
from benchmarks.bench_http_ceiling import free_port, serve  # noqa: E402
from tools.browser import chromium  # noqa: E402
from tools.cable import Cable  # noqa: E402
from tools.launcher import ensure_chromium, ensure_static_packages  # noqa: E402
from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
CREW_UID = "demo-bench-crew"
AGENT_UID = "demo-bench-crew-agent"
RESIDENT = "bench-crew-resident"
WINDOW = (1024, 768)  # a landscape tablet

OBSERVER = r"""
(() => {
  if (window.top !== window || window.__crewBench) return;
  const B = (window.__crewBench = { expected: %(tickets)d });
  new MutationObserver(() => {
    if (B.list !== undefined) return;
    const list = document.getElementById("ticket-list");
    if (list && list.children.length >= B.expected) {
      B.list = performance.now();
      requestAnimationFrame(() => setTimeout(() => { B.frame = performance.now(); }, 0));
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""


def post(port, path, token, body, headers=None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        raise SystemExit(f"POST {path}: {error.code} {error.read().decode()}") from error


def crew_and_desk(url: str) -> tuple[str, str]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT c.code, d.code FROM crews c JOIN desks d ON d.id = c.desk_id "
            "WHERE d.code = 'voirie' AND c.active ORDER BY c.code LIMIT 1"
        ).fetchone()


def open_tickets(url: str, crew: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM reports r JOIN crews c ON c.id = r.crew_id "
            "WHERE c.code = %s AND r.status IN ('assigned', 'in_progress')",
            (crew,),
        ).fetchone()[0]


def spots(url: str, count: int) -> list[tuple[float, float]]:
    """Points in Dijon 200 m from one another and from any report (none is a duplicate)."""
    with psycopg.connect(url) as conn:
        candidates = conn.execute(
            """
            SELECT ST_X(g), ST_Y(g), ST_X(ST_Transform(g, 2154)), ST_Y(ST_Transform(g, 2154))
            FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 3000, 7))).geom AS g
                  FROM communes WHERE insee_code = '21231') AS p
            WHERE NOT EXISTS (SELECT 1 FROM reports r
                              WHERE ST_DWithin(r.geom_l93, ST_Transform(p.g, 2154), 200))
            """
        ).fetchall()
    chosen = []
    for lon, lat, x, y in candidates:
        if all(math.hypot(x - cx, y - cy) > 200 for _, _, cx, cy in chosen):
            chosen.append((lon, lat, x, y))
        if len(chosen) == count:
            break
    return [(lon, lat) for lon, lat, _, _ in chosen]


def give_tickets(url: str, port: int, crew: str, count: int) -> None:
    """Reports filed by a resident, each assigned to the crew by an agent, through the API."""
    resident = mint_emulator_token(dataset.PROJECT, RESIDENT, lifetime_seconds=3600)
    agent = mint_emulator_token(dataset.PROJECT, AGENT_UID, lifetime_seconds=3600)
    for n, (lon, lat) in enumerate(spots(url, count)):
        _, report, _ = post(
            port,
            "/v1/reports",
            resident,
            {
                "category": "pothole",
                "location": {"lon": lon, "lat": lat},
                "answers": {"size": "small"},
                "description": f"Nid-de-poule n° {n + 1} (banc d’essai des équipes)",
            },
        )
        read = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/reports/{report['id']}",
            headers={"Authorization": f"Bearer {agent}"},
        )
        with urllib.request.urlopen(read, timeout=30) as response:
            etag = response.headers["ETag"]
        post(
            port,
            f"/v1/reports/{report['id']}/actions/assign",
            agent,
            {"crew": crew},
            {"If-Match": etag},
        )


def network_bytes(driver, base: str) -> dict:
    """The page's bytes over the network since the last call, from DevTools' events: the app's
    shell and the API, a response the service worker served counting 0."""
    responses, finished = {}, {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.responseReceived":
            responses[params["requestId"]] = params["response"]
        elif message["method"] == "Network.loadingFinished":
            finished[params["requestId"]] = params["encodedDataLength"]
    out = {"app": 0, "api": 0, "from_worker": 0}
    for request_id, length in finished.items():
        response = responses.get(request_id)
        if not response or not response["url"].startswith(base):
            continue
        if response.get("fromServiceWorker"):
            out["from_worker"] += 1
            continue
        path = response["url"][len(base) :]
        out["api" if path.startswith("/v1/") else "app"] += length
    return out


def wait_for(driver, script, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for: {script}")


def all_details_stored(driver, count: int) -> bool:
    return driver.execute_async_script(
        """
        const [count, done] = [arguments[0], arguments[arguments.length - 1]];
        const open = indexedDB.open("signale-crew");
        open.onsuccess = () => {
          const tx = open.result.transaction("tickets");
          tx.objectStore("tickets").getAll().onsuccess = (e) => {
            const all = e.target.result.filter((r) => r.detail && r.history);
            open.result.close();
            done(all.length >= count);
          };
        };
        open.onerror = () => done(false);
        """,
        count,
    )


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def p90(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    url = with_database(libpq_url(base_url), "signale_bench_crew")
    ensure_database(url)
    standin_port, port = free_port(), free_port()
    metrics = tempfile.TemporaryDirectory(prefix="signale-bench-metrics-")
    media = tempfile.TemporaryDirectory(prefix="signale-bench-crew-media-")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "SIGNALE_ENV": "development",
        "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{standin_port}",
        "PROMETHEUS_MULTIPROC_DIR": metrics.name,
        "MEDIA_ROOT": media.name,
        "SIGNALE_RATELIMIT_ENABLED": "false",
    }
    ensure_static_packages()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*FLASK, "db", "upgrade"], env=env, cwd=ROOT, check=True, **quiet)
    subprocess.run([*FLASK, "reference", "load"], env=env, cwd=ROOT, check=True, **quiet)
    subprocess.run(
        [sys.executable, "-m", "tools.demo", "routing", "seed"],
        env=env,
        cwd=ROOT,
        check=True,
        **quiet,
    )
    crew, desk = crew_and_desk(url)
    for uid, role in (
        (CREW_UID, ["--role", "crew", "--crew", crew]),
        (AGENT_UID, ["--role", "agent", "--desk", desk]),
    ):
        subprocess.run([*FLASK, "users", "set", uid, *role], env=env, cwd=ROOT, check=True, **quiet)

    standin = start_standin(standin_port)
    server = serve("wsgi:app", port, env, workers=2)
    cable = Cable(port)
    base = f"http://127.0.0.1:{cable.port}"
    profile = tempfile.TemporaryDirectory(prefix="signale-bench-crew-chromium-")
    driver = None
    try:
        missing = args.tickets - open_tickets(url, crew)
        if missing > 0:
            print(
                f"giving {missing} tickets to crew {crew} (once; kept for later runs)", flush=True
            )
            give_tickets(url, port, crew, missing)
        tickets = open_tickets(url, crew)
        ensure_chromium()
        driver = chromium(profile.name, WINDOW, performance_log=True)
        driver.set_script_timeout(120)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER % {"tickets": tickets}}
        )

        # 1. First load: sign in, sync, every ticket's detail on the tablet.
        cable.received = 0
        driver.get_log("performance")
        driver.get(f"{base}/crew/")
        wait_for(driver, f"return document.querySelector('[data-uid=\"{CREW_UID}\"]')").click()
        wait_for(driver, "return window.__crewBench && window.__crewBench.frame")
        deadline = time.monotonic() + 300
        while not all_details_stored(driver, tickets):
            if time.monotonic() > deadline:
                raise SystemExit("the tablet never held every ticket's detail")
            time.sleep(0.2)
        wait_for(driver, "return navigator.serviceWorker.controller !== null")
        time.sleep(1)  # the worker's precache settles (it finished before it took control)
        first, first_wire = network_bytes(driver, base), cable.received

        # 2. Cached reload.
        cable.received = 0
        driver.get(f"{base}/crew/")
        wait_for(driver, "return window.__crewBench && window.__crewBench.frame")
        time.sleep(2)  # the worker's revalidation behind the page, and the sync
        reload, reload_wire = network_bytes(driver, base), cable.received

        # 3. Offline reopenings.
        cable.unplug()
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        shown, painted = [], []
        for _ in range(args.runs):
            driver.get("about:blank")
            driver.get(f"{base}/crew/")
            stamp = wait_for(
                driver,
                "const B = window.__crewBench; return B && B.frame ? [B.list, B.frame] : null",
            )
            shown.append(stamp[0])
            painted.append(stamp[1])
        net_state = driver.execute_script("return document.getElementById('net-state').textContent")
    finally:
        if driver:
            driver.quit()
        cable.close()
        server.terminate()
        server.wait(30)
        standin.terminate()
        standin.wait(30)
        profile.cleanup()
        media.cleanup()
        metrics.cleanup()

    print(f"crew app, {tickets} tickets, Chromium at {WINDOW[0]}x{WINDOW[1]}:")
    print("  bytes over the network      page's requests (app / API)     all, on the wire")
    print(
        f"  first load (sign-in, sync)  {kb(first['app']):>12} / {kb(first['api']):>12}"
        f"     {kb(first_wire):>12}"
    )
    print(
        f"  cached reload               {kb(reload['app']):>12} / {kb(reload['api']):>12}"
        f"     {kb(reload_wire):>12}   ({reload['from_worker']} answers from the service worker)"
    )
    print(
        f"  list from IndexedDB, offline ({args.runs} reopenings, header: {net_state}):"
        f" median {statistics.median(shown):.0f} ms, p90 {p90(shown):.0f} ms from navigation"
        f" start; painted: median {statistics.median(painted):.0f} ms"
    )


if __name__ == "__main__":
    main()
