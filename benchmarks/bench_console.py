"""The control-room console in Chromium (issue 16, "Speed"): with 1,000,000 reports of which
~50,000 open (the queue benchmark's dataset), against gunicorn as `make run` starts it
(app/ops/gunicorn_conf.py, WEB_CONCURRENCY workers) and the Auth emulator stand-in
(tools/auth_standin.py), an agent of one of the two largest desks (voirie, ~14,000 open):

1. navigation to the console -> its first queue page drawn: the queue list filled and the
   report markers on the map (target under 1 s). The token lives in the page's memory only,
   so every load signs in: the demo account is picked as soon as the sign-in screen shows
   (no think time), and the figure is split at that click;
2. a click on a queue item -> the ticket's facts, actions and history rendered (target under
   300 ms);
3. a resident's `POST /v1/reports`, sent from here -> the report shown in the open console
   (target under 2 s): (a) in the default view, its row (on top, "just arrived": in a
   realistically large queue it sorts far below the first page, printed) and its marker,
   and the desk header counting it; (b) its row and its marker, in the view filtered on a
   word of its description.

Measured in the page with the Performance API: a MutationObserver installed by this script
before any of the page's scripts runs (DevTools' addScriptToEvaluateOnNewDocument: nothing in
the console is there for the benchmark) stamps `performance.now()` when each element appears,
and again at the next frame (requestAnimationFrame, then a task: the frame that shows it has
been painted). (1) counts from the navigation's start (`performance.timeOrigin`); (2) from a
mark set just before the click; (3) from the POST's start, the page's clock
(`timeOrigin + now()`) mapped to this process's by a calibration of the smallest round trip.
Each figure: the first run alone (cold: new browser profile, fresh gunicorn workers, first
ticket of the session) then the median and p90 (nearest rank) of RUNS more. For context:
the queue page's and counts' own time, from Python (keep-alive HTTP, no browser), and as the
browser saw them (Resource Timing).

Each run leaves the console for about:blank, with Chromium's back/forward cache on as a
browser has it: the console closes its event stream on `pagehide` (found by this benchmark:
five kept pages with their streams held all six HTTP/1.1 connections to the origin).

Uses `signale_bench_queue` (benchmarks/dataset.py: filled once, ~minutes, kept); the reports
it files are removed at the end (and by dataset.prepare at the next start).

    make bench      # or: python benchmarks/bench_console.py [--runs N] [--desk CODE]
                    #     [--rows N --database NAME: another dataset, e.g. a small one]
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import free_port, serve  # noqa: E402
from tools.launcher import (  # noqa: E402
    ensure_chromium,
    ensure_static_packages,
)
from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
AGENT = "demo-bench-console-agent"  # "demo-": offered by the sign-in screen's picker
RESIDENT = dataset.BENCH_UID  # what it files is removed by dataset.prepare too
CATEGORY, ANSWERS = "pothole", {"size": "small"}
OPEN = ("new", "acknowledged", "assigned", "in_progress", "reopened")
PAGE = 100  # the console's queue page (static/console/queue.js)
WINDOW = (1280, 1100)  # as the browser tests

# Installed before the page's own scripts, on every document of the tab.
OBSERVER = r"""
(() => {
  if (window.top !== window || window.__bench) return;
  const B = (window.__bench = { marks: {}, frames: {}, counts: [], seen: {}, markers: {},
                                ticket: null, track: false, signIn: %(uid)s });
  const epoch = () => performance.timeOrigin + performance.now();
  const afterFrame = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));
  const mark = (name) => {
    if (name in B.marks) return;
    B.marks[name] = performance.now();
    performance.mark("bench:" + name);
    afterFrame(() => { B.frames[name] = performance.now(); });
  };
  const check = () => {
    if (location.pathname !== "/console/") return;
    if (B.signIn && !("signin" in B.marks)) {
      const button = document.querySelector('[data-uid="' + B.signIn + '"]');
      if (button) { mark("signin"); button.click(); }
    }
    if (!("queue" in B.marks)) {
      if (!("list" in B.marks) && document.querySelector("#queue-list .queue-item")) mark("list");
      if (!("markers" in B.marks) && document.querySelector("#console-map .report-marker")) {
        mark("markers");
      }
      if ("list" in B.marks && "markers" in B.marks) mark("queue");
    }
    if (!("communes" in B.marks) && document.querySelector("#console-map .commune-shape")) {
      mark("communes");
    }
    const ticket = B.ticket;
    if (ticket && ticket.done === undefined) {
      const pane = document.getElementById("ticket-pane");
      const title = pane && pane.querySelector("#ticket-title");
      if (title && title.textContent.startsWith(ticket.reference)
          && pane.querySelector("#ticket-status") && pane.querySelector("#actions-title")
          && pane.querySelector("#ticket-history")) {
        ticket.done = performance.now();
        afterFrame(() => { ticket.frame = performance.now(); });
      }
    }
    if (B.track) {
      const now = epoch();
      const total = document.querySelector("#queue-counts .queue-total");
      const number = total && /^[\d\s\u00a0\u202f.,]+/.exec(total.textContent);
      const digits = number && number[0].replace(/\D/g, "");
      const last = B.counts[B.counts.length - 1];
      if (digits && (!last || last.total !== Number(digits))) {
        const entry = { total: Number(digits), t: now };
        B.counts.push(entry);
        afterFrame(() => { entry.frame = epoch(); });
      }
      for (const link of document.querySelectorAll("#queue-list .queue-item")) {
        const id = link.dataset.reportId;
        if (!(id in B.seen)) {
          const entry = (B.seen[id] = { t: now });
          afterFrame(() => { entry.frame = epoch(); });
        }
      }
      for (const path of document.querySelectorAll("#console-map .report-marker")) {
        const found = /report-marker-(\d+)/.exec(path.getAttribute("class") || "");
        if (found && !(found[1] in B.markers)) {
          const entry = (B.markers[found[1]] = { t: now });
          afterFrame(() => { entry.frame = epoch(); });
        }
      }
    }
  };
  B.check = check;
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""

# Resolves (execute_async_script) with the condition's value once it is truthy. The
# condition is written into the script's source: the page's CSP forbids eval.
WAIT_FOR = """
const done = arguments[arguments.length - 1], until = performance.now() + arguments[0];
const check = () => (%s);
const poll = () => {
  let value = null;
  try { value = check(); } catch (e) { value = null; }
  if (value) done(value);
  else if (performance.now() > until) done({ timeout: true });
  else setTimeout(poll, 20);
};
poll();
"""


# --- the numbers ------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def row(label: str, cold: float | None, runs: list[float], target: float | None = None) -> str:
    cells = f"{label:<58}"
    cells += f"{cold:>9.0f}" if cold is not None else f"{'':>9}"
    if runs:
        cells += f"{statistics.median(runs):>9.0f}{p90(runs):>9.0f}"
    else:
        cells += f"{'':>18}"
    if target is not None:
        met = runs and statistics.median(runs) < target
        cells += f"   < {target:,.0f} ms: {'met' if met else 'NOT met'}"
    return cells


# --- the data ---------------------------------------------------------------------------


def sizes(url: str, desk: str) -> dict:
    with psycopg.connect(url) as conn:
        total, open_total = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)) FROM reports", (list(OPEN),)
        ).fetchone()
        by_state = dict(
            conn.execute(
                "SELECT status, count(*) FROM reports WHERE status = ANY(%s) AND desk_id ="
                " (SELECT id FROM desks WHERE code = %s) GROUP BY status",
                (list(OPEN), desk),
            ).fetchall()
        )
        desks = conn.execute(
            "SELECT d.code, count(*) FROM reports r JOIN desks d ON d.id = r.desk_id"
            " WHERE r.status = ANY(%s) GROUP BY d.code ORDER BY count(*) DESC",
            (list(OPEN),),
        ).fetchall()
    return {"reports": total, "open": open_total, "desk": by_state, "desks": desks}


def free_spots(url: str, count: int) -> list[tuple[float, float]]:
    """Points in Dijon with no open report of the category within 100 m (so that no filed
    report is a duplicate), 150 m apart from one another."""
    with psycopg.connect(url) as conn:
        candidates = conn.execute(
            """
            SELECT ST_X(p.geom), ST_Y(p.geom), ST_X(p.l93), ST_Y(p.l93)
            FROM (SELECT g AS geom, ST_Transform(g, 2154) AS l93
                  FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 400, 42))).geom AS g
                        FROM communes WHERE insee_code = '21231') AS d) AS p
            WHERE NOT EXISTS (
                SELECT 1 FROM reports r JOIN categories c ON c.id = r.category_id
                WHERE c.code = %s AND r.status = ANY(%s)
                  AND ST_DWithin(r.geom_l93, p.l93, 100))
            """,
            (CATEGORY, list(OPEN)),
        ).fetchall()
    chosen = []
    for lon, lat, x, y in candidates:
        if all(math.hypot(x - cx, y - cy) > 150 for _, _, cx, cy in chosen):
            chosen.append((lon, lat, x, y))
        if len(chosen) == count:
            return [(lon, lat) for lon, lat, _, _ in chosen]
    raise SystemExit(f"only {len(chosen)} free spots for {count} reports")


def queue_positions(url: str, report_ids: list[int]) -> list[int]:
    """How many open reports of its desk sort before each in the console's default order."""
    with psycopg.connect(url) as conn:
        return [
            conn.execute(
                """
            SELECT count(*) FROM reports o, reports n
            WHERE n.id = %s AND o.desk_id = n.desk_id AND o.status = ANY(%s)
              AND (o.priority, coalesce(o.due_at, 'infinity'), o.id)
                < (n.priority, coalesce(n.due_at, 'infinity'), n.id)
            """,
                (report_id, list(OPEN)),
            ).fetchone()[0]
            for report_id in report_ids
        ]


def forget_filed(url: str) -> None:
    with psycopg.connect(url) as conn:
        for statement in dataset.FORGET_EARLIER_RUNS:
            conn.execute(statement, {"uid": RESIDENT})


# --- the servers and the browser --------------------------------------------------------


def start_standin(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.auth_standin", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the Auth emulator stand-in did not start")


def start_browser(profile: str):
    from tools.browser import chromium

    ensure_chromium()
    driver = chromium(profile, WINDOW)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(90)
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER % {"uid": json.dumps(AGENT)}}
    )
    return driver


def wait_in_page(driver, expression: str, timeout_ms: int = 30_000):
    value = driver.execute_async_script(WAIT_FOR % expression, timeout_ms)
    if isinstance(value, dict) and value.get("timeout"):
        shown = driver.execute_script(
            """return [location.href, JSON.stringify(window.__bench && window.__bench.marks),
                       document.getElementById("console-main")?.innerHTML.slice(0, 600),
                       JSON.stringify(performance.getEntriesByType("resource")
                         .filter((e) => e.name.includes("/v1/"))
                         .map((e) => [e.name, Math.round(e.startTime), Math.round(e.duration)]))
                      ].join("\\n");"""
        )
        with contextlib.suppress(Exception):
            shown += "\n" + "\n".join(str(line) for line in driver.get_log("browser")[-10:])
        raise SystemExit(f"timed out in the page waiting for: {expression}\n{shown[:4000]}")
    return value


def resources(driver, fragment: str, since: float = 0.0) -> list[dict]:
    return driver.execute_script(
        """return performance.getEntriesByType("resource")
             .filter((e) => e.name.includes(arguments[0]) && e.startTime >= arguments[1])
             .map((e) => ({name: e.name, start: e.startTime, duration: e.duration,
                           wait: e.responseStart - e.requestStart}));""",
        fragment,
        since,
    )


def clock_offset(driver) -> tuple[float, float]:
    """(page epoch ms - this process's epoch ms, uncertainty ms), from the calibration with
    the smallest round trip."""
    best = None
    for _ in range(15):
        before = time.time() * 1000
        page = driver.execute_script("return performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        sample = (after - before, page - (before + after) / 2)
        best = sample if best is None or sample[0] < best[0] else best
    return best[1], best[0] / 2


# --- the measures -----------------------------------------------------------------------


def navigations(driver, base: str, desk: str, count: int) -> list[dict]:
    runs = []
    for _ in range(count):
        driver.get("about:blank")
        driver.get(f"{base}/console/")
        wait_in_page(driver, "window.__bench && window.__bench.frames.queue")
        # The communes' outlines come with their own request: not part of the target.
        with contextlib.suppress(SystemExit):
            wait_in_page(driver, "window.__bench.frames.communes", 10_000)
        # The counts come after the list (drawn first): their request's timing, once done.
        wait_in_page(
            driver,
            'performance.getEntriesByType("resource")'
            '.some((e) => e.name.includes("/queue/counts"))',
        )
        marks, frames, shown = driver.execute_script(
            """return [window.__bench.marks, window.__bench.frames,
                       [document.querySelectorAll("#queue-list .queue-item").length,
                        document.querySelectorAll("#console-map .report-marker").length]]"""
        )
        page = resources(driver, f"/v1/desks/{desk}/queue?")
        counts = resources(driver, f"/v1/desks/{desk}/queue/counts")
        runs.append(
            {
                "queue": frames["queue"],
                "queue_dom": marks["queue"],
                "signin": marks["signin"],
                "after_signin": frames["queue"] - marks["signin"],
                "communes": frames.get("communes", float("nan")),
                "page_request": page[0]["duration"],
                "page_wait": page[0]["wait"],
                "counts_request": counts[0]["duration"],
                "shown": shown,
            }
        )
    return runs


def ticket_openings(driver, desk: str, count: int) -> list[dict]:
    links = driver.execute_script(
        """return [...document.querySelectorAll("#queue-list .queue-item")]
             .map((a) => [a.dataset.reportId, a.querySelector("strong").textContent]);"""
    )
    if len(links) < count:
        raise SystemExit(f"the queue shows {len(links)} items, {count} tickets wanted")
    runs = []
    for report_id, reference in links[:count]:
        start = driver.execute_script(
            """const [id, reference] = arguments;
               const start = performance.now();
               window.__bench.ticket = {reference, start};
               document.querySelector(`#queue-list [data-report-id="${id}"]`).click();
               return start;""",
            report_id,
            reference,
        )
        ticket = wait_in_page(driver, "window.__bench.ticket.frame && window.__bench.ticket")
        calls = resources(driver, "/v1/", start)
        runs.append(
            {
                "ticket": ticket["frame"] - start,
                "ticket_dom": ticket["done"] - start,
                "calls": {call_kind(call["name"]): call["duration"] for call in calls},
            }
        )
        driver.execute_script(f"location.hash = '#/queue/{desk}'")
        wait_in_page(driver, 'document.getElementById("ticket-pane").hidden')
    return runs


def call_kind(url: str) -> str:
    path = url.split("/v1/", 1)[1].split("?", 1)[0]
    parts = path.split("/")
    if parts[0] == "reports" and parts[1].isdigit():
        return "reports/{id}" + ("/" + parts[2] if len(parts) > 2 else "")
    if parts[0] == "categories" and len(parts) > 1:
        return "categories/{code}"
    return path


class Resident:
    """Files reports as a resident of the app would (keep-alive HTTP, its own token)."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = mint_emulator_token(dataset.PROJECT, RESIDENT, lifetime_seconds=3600)

    def file(self, lon: float, lat: float, description: str) -> tuple[dict, float, float]:
        """(the 201's body, when the POST started and when its answer came: epoch ms)."""
        body = json.dumps(
            {
                "category": CATEGORY,
                "location": {"lon": lon, "lat": lat},
                "answers": ANSWERS,
                "description": description,
            }
        )
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        started = time.time() * 1000
        self.connection.request("POST", "/v1/reports", body, headers)
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        answered = time.time() * 1000
        if response.status != 201:
            raise SystemExit(f"POST /v1/reports: {response.status} {answer}")
        return answer, started, answered


def live_counts(driver, resident, spots, desk: str, offset: float) -> list[dict]:
    """(3a) The default view: the report's row (on top, just arrived) and marker, and the
    desk header counting it."""
    runs = []
    for lon, lat in spots:
        before = wait_in_page(
            driver, "window.__bench.counts.length && window.__bench.counts.at(-1)"
        )["total"]
        report, started, answered = resident.file(lon, lat, "Nid-de-poule (banc d’essai)")
        check_routed(report, desk)
        rid = report["id"]
        row_entry, marker = wait_in_page(
            driver,
            f"""(() => {{ const B = window.__bench, r = B.seen["{rid}"], m = B.markers["{rid}"];
                 return r && m && r.frame && m.frame ? [r, m] : null; }})()""",
        )
        entry = wait_in_page(
            driver,
            f"window.__bench.counts.find((c) => c.total > {before} && c.frame)",
        )
        runs.append(
            {
                "id": rid,
                "shown": max(row_entry["frame"], marker["frame"]) - offset - started,
                "shown_dom": max(row_entry["t"], marker["t"]) - offset - started,
                "counted": entry["frame"] - offset - started,
                "post": answered - started,
            }
        )
        time.sleep(0.5)  # the console refreshes a burst once: keep the runs apart
    return runs


def live_rows(driver, resident, spots, desk: str, offset: float, word: str) -> list[dict]:
    """(3b) The view filtered on a word of the reports' descriptions: row and marker."""
    driver.execute_script(
        """const q = document.getElementById("filter-q");
           q.value = arguments[0]; q.form.requestSubmit();""",
        word,
    )
    wait_in_page(driver, 'document.querySelector("#queue-list .queue-empty")')
    runs = []
    for lon, lat in spots:
        report, started, answered = resident.file(lon, lat, f"Nid-de-poule profond ({word})")
        check_routed(report, desk)
        rid = report["id"]
        row_entry, marker = wait_in_page(
            driver,
            f"""(() => {{ const B = window.__bench, r = B.seen["{rid}"], m = B.markers["{rid}"];
                 return r && m && r.frame && m.frame ? [r, m] : null; }})()""",
        )
        runs.append(
            {
                "shown": max(row_entry["frame"], marker["frame"]) - offset - started,
                "shown_dom": max(row_entry["t"], marker["t"]) - offset - started,
                "post": answered - started,
            }
        )
        time.sleep(0.5)
    return runs


def check_routed(report: dict, desk: str) -> None:
    if report["desk"]["code"] != desk or report["status"] not in OPEN:
        raise SystemExit(
            f"report {report['id']} went to {report['desk']['code']} as {report['status']}, "
            f"not to {desk}'s open queue: the benchmark would wait for nothing"
        )


def api_times(port: int, desk: str, token: str, count: int) -> dict[str, list[float]]:
    """The queue page and counts as the console asks for them, timed from Python."""
    paths = {
        "page": f"/v1/desks/{desk}/queue?limit={PAGE}&sort=priority",
        "counts": f"/v1/desks/{desk}/queue/counts",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "fr"}
    times = {name: [] for name in paths}
    for i in range(count + 1):
        for name, path in paths.items():
            start = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - start) * 1000
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status}")
            if i:  # the first of each is a warm-up
                times[name].append(elapsed)
    return times


# --- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=dataset.REPORTS)
    parser.add_argument("--runs", type=int, default=7, help="after the first (cold) one")
    parser.add_argument("--desk", default="voirie")
    parser.add_argument(
        "--database", default="signale_bench_queue", help="shared with bench_queue.py"
    )
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    url = with_database(libpq_url(base), args.database)
    ensure_database(url)
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    standin_port, port = free_port(), free_port()
    metrics = tempfile.TemporaryDirectory(prefix="signale-bench-metrics-")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        # As `make run` in development (tools/launcher.py: development_env, run).
        "SIGNALE_ENV": "development",
        "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{standin_port}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": metrics.name,
        # One resident files 2 x (RUNS + 1) reports within a minute.
        "SIGNALE_RATELIMIT_ENABLED": "false",
    }
    ensure_static_packages()  # the console's scripts (`make bench` alone does not install them)
    started = time.perf_counter()
    counted = dataset.prepare(env, args.rows)
    prepared = time.perf_counter() - started
    subprocess.run(
        [
            *FLASK,
            "users",
            "set",
            AGENT,
            "--role",
            "agent",
            "--desk",
            args.desk,
            "--name",
            "Agent du banc d’essai",
        ],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = sizes(url, args.desk)
    spots = free_spots(url, 2 * (args.runs + 1))
    word = f"banc{uuid.uuid4().hex[:6]}"

    standin = start_standin(standin_port)
    server = None
    driver = None
    profile = tempfile.TemporaryDirectory(prefix="signale-bench-chromium-")
    try:
        server = serve("wsgi:app", port, env, workers=int(workers))
        driver = start_browser(profile.name)
        console = f"http://127.0.0.1:{port}"
        navs = navigations(driver, console, args.desk, args.runs + 1)
        tickets = ticket_openings(driver, args.desk, args.runs + 1)
        wait_in_page(driver, 'document.querySelector(".live-state--live")')
        driver.execute_script("window.__bench.track = true; window.__bench.check()")
        offset, uncertainty = clock_offset(driver)
        resident = Resident(port)
        counted_live = live_counts(driver, resident, spots[: args.runs + 1], args.desk, offset)
        positions = queue_positions(url, [run["id"] for run in counted_live])
        rows = live_rows(driver, resident, spots[args.runs + 1 :], args.desk, offset, word)
        drift = clock_offset(driver)[0] - offset
        browser_version = driver.capabilities.get("browserVersion", "?")
        driver.get("about:blank")
        token = mint_emulator_token(dataset.PROJECT, AGENT, lifetime_seconds=3600)
        api = api_times(port, args.desk, token, max(15, 2 * args.runs))
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.terminate()
            server.wait(30)
        standin.terminate()
        standin.wait(10)
        profile.cleanup()
        metrics.cleanup()
        forget_filed(url)

    desk_open = sum(data["desk"].values())
    states = ", ".join(f"{s} {data['desk'].get(s, 0):,}" for s in OPEN)
    others = ", ".join(f"{code} {n:,}" for code, n in data["desks"] if code != args.desk)
    print(
        f"\nConsole in Chromium {browser_version} (headless, {WINDOW[0]}x{WINDOW[1]}): "
        f"{data['reports']:,} reports, {data['open']:,} open; desk {args.desk}: {desk_open:,} "
        f"open ({states}); other desks' open work: {others}"
    )
    print(
        f"gunicorn as `make run` ({workers} gthread workers, GUNICORN_THREADS "
        f"{os.environ.get('GUNICORN_THREADS', 'default')}), Auth emulator stand-in, "
        f"{os.cpu_count()} cores; dataset ready in {prepared:.0f} s "
        f"({counted['reports']:,} reports); 1 cold run, then median and p90 of {args.runs}"
    )
    items, markers = navs[-1]["shown"]
    print(f"first queue page: {items} items, {markers} markers on the map")
    print(f"\n{'ms':<58}{'cold':>9}{'median':>9}{'p90':>9}")

    def series(runs, key):
        return runs[0][key], [r[key] for r in runs[1:]]

    print(row("1. navigation -> queue list + map markers drawn", *series(navs, "queue"), 1000))
    for key, label in (
        ("queue_dom", "   the same, at the DOM change (before its frame)"),
        ("signin", "   of which the sign-in screen shown (page loaded)"),
        ("after_signin", "   of which the demo sign-in click -> drawn"),
        ("communes", "   the communes' outlines drawn (for the record)"),
        ("page_request", "   GET queue page (limit 100) in the browser"),
        ("page_wait", "     of which waiting for its first byte"),
        ("counts_request", "   GET queue/counts in the browser"),
    ):
        print(row(label, *series(navs, key)))
    print(
        row(
            f"   API alone, from Python: GET queue page ({len(api['page'])} runs)",
            None,
            api["page"],
        )
    )
    print(
        row(
            f"   API alone, from Python: GET queue/counts ({len(api['counts'])} runs)",
            None,
            api["counts"],
        )
    )

    print(row("2. click in the queue -> ticket rendered", *series(tickets, "ticket"), 300))
    print(row("   the same, at the DOM change", *series(tickets, "ticket_dom")))
    kinds = sorted({kind for run in tickets for kind in run["calls"]})
    for kind in kinds:
        values = [run["calls"][kind] for run in tickets[1:] if kind in run["calls"]]
        cold = tickets[0]["calls"].get(kind)
        print(row(f"   GET /v1/{kind} in the browser ({len(values)} of {args.runs})", cold, values))

    print(
        row(
            "3a. POST /v1/reports -> row and marker in the open queue",
            *series(counted_live, "shown"),
            2000,
        )
    )
    print(row("   the same, at the DOM change", *series(counted_live, "shown_dom")))
    print(row("   counted in the desk header", *series(counted_live, "counted")))
    print(row("   the POST's own answer", *series(counted_live, "post")))
    print(row("3b. POST -> row and marker (view filtered on a word)", *series(rows, "shown"), 2000))
    print(row("   the same, at the DOM change", *series(rows, "shown_dom")))
    print(row("   the POST's own answer", *series(rows, "post")))
    print(
        f"\n3a: each new report sorted after {min(positions):,} to {max(positions):,} open "
        f"reports of {args.desk} (priority, then due date), far below the first page "
        f"({PAGE} items): it is shown on top as just arrived.\nClocks: the page's mapped to "
        f"this process's within "
        f"+-{uncertainty:.1f} ms; drift over the live runs {drift:+.1f} ms."
    )


if __name__ == "__main__":
    main()
