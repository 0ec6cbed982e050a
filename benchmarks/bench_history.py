"""A 30,000,000-report history against 1,000,000, measured in the same run (issue 19).

Both databases come from ``benchmarks/history.py`` (ten years of reports with their events,
50,000 of them open: a desk's backlog does not grow with the years). Each measure runs
in-process (the Flask test client, or the routing function), one request at a time, on both
databases in turn, round after round, so that a slow spell of the shared machine hits both
alike; the figure is the median, and the ratio 30M / 1M is what the issue's target reads
(every interactive figure within 2x of its 1M value).

    python benchmarks/bench_history.py [--samples 30] [--rounds 3] [--export]

Measured: routing (central Dijon), intake (POST /v1/reports), the desk queue page, the
crew's tickets, Open311's request list, the public bbox GeoJSON, the statistics cold and
cached, and, with ``--export``, the nightly open-data export (minutes at 30M; run apart).
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.opendata.cache import StatisticsCache  # noqa: E402
from benchmarks import dataset, history  # noqa: E402
from benchmarks.history import Questions  # noqa: E402
from tools.generators.reports import valid_answers  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

SIZES = {"1M": ("signale_bench_1m", 1_000_000), "30M": ("signale_bench_30m", 30_000_000)}
DESK = "voirie"
AGENT, CREW_MEMBER, RESIDENT = "bench-history-agent", "bench-history-crew", "bench-history-resident"
BBOX = "bbox=5.03,47.31,5.035,47.315&limit=100"
STATISTICS = ("reports-by-month", "resolution-times", "service-level", "sources")
ROUTED = ("pothole", "streetlight_out", "traffic_light_fault", "illegal_dumping", "graffiti")
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def staff(env: dict, url: str) -> None:
    """An agent of the roads desk and a member of one of its crews (idempotent)."""
    with psycopg.connect(libpq_url(url)) as conn:
        crew = conn.execute(
            """SELECT c.code FROM crews c JOIN desks d ON d.id = c.desk_id
               WHERE d.code = %s AND c.active
               ORDER BY (SELECT count(*) FROM reports r WHERE r.crew_id = c.id
                         AND r.status IN ('assigned', 'in_progress')) DESC, c.code
               LIMIT 1""",
            (DESK,),
        ).fetchone()[0]
    for uid, role in (
        (AGENT, ["--role", "agent", "--desk", DESK]),
        (CREW_MEMBER, ["--role", "crew", "--crew", crew]),
    ):
        subprocess.run(
            [*FLASK, "users", "set", uid, *role],
            env={**env, "DATABASE_URL": url},
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def forget_resident(url: str) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        for statement in dataset.FORGET_EARLIER_RUNS:
            conn.execute(statement, {"uid": RESIDENT})


class Target:
    """One database, its app and its test client, and the measures on it."""

    def __init__(self, label: str, url: str, env: dict):
        from app import create_app
        from app.auth.tokens import mint_emulator_token

        self.label, self.url = label, url
        config = {
            "DATABASE_URL": url,
            "REDIS_URL": env["REDIS_URL"],
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": False,
        }
        self.app = create_app(
            {
                **config,
                "OPENDATA_STATISTICS_CACHE_ENABLED": False,
                "OPENDATA_STATISTICS_TIMEOUT_MS": 0,
            }
        )
        self.cached = create_app(
            {
                **config,
                "OPENDATA_STATISTICS_CACHE_ENABLED": True,
                "OPENDATA_STATISTICS_TIMEOUT_MS": 0,
            }
        )
        self.client = self.app.test_client()
        # The public lists and Open311 are answered from exact caches after the first
        # request: measured without them too, the SQL then doing the work every time.
        self.uncached = create_app(
            {
                **config,
                "PUBLIC_LISTS_CACHE_ENABLED": False,
                "OPEN311_CACHE_ENABLED": False,
                "DESK_QUEUE_CACHE_ENABLED": False,
                "OPENDATA_STATISTICS_CACHE_ENABLED": False,
            }
        ).test_client()
        self.cached_client = self.cached.test_client()

        def bearer(uid):
            token = mint_emulator_token(dataset.PROJECT, uid, lifetime_seconds=7200)
            return {"Authorization": f"Bearer {token}"}

        self.agent, self.crew, self.resident = bearer(AGENT), bearer(CREW_MEMBER), bearer(RESIDENT)
        self.rng = random.Random(7)
        with psycopg.connect(libpq_url(url)) as conn:
            self.request_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT reference FROM reports WHERE status = 'closed' "
                    "ORDER BY id DESC LIMIT 20"
                )
            ]
            questions = conn.execute(
                "SELECT questions FROM categories WHERE code = 'pothole'"
            ).fetchone()[0]
        self.answers = valid_answers(Questions(questions))

    def get(self, path: str, headers: dict | None = None, client=None) -> None:
        response = (client or self.client).get(path, headers=headers or {})
        assert response.status_code == 200, (path, response.status_code, response.data[:300])

    def measures(self) -> dict:
        from app.extensions import db
        from app.routing import intake as routing

        def route():
            code = self.rng.choice(ROUTED)
            lon, lat = 5.00 + self.rng.random() * 0.07, 47.30 + self.rng.random() * 0.04
            with self.app.app_context():
                routing.route(db.session, code, lon, lat)
                db.session.rollback()

        def submit():
            lon, lat = 5.00 + self.rng.random() * 0.07, 47.30 + self.rng.random() * 0.04
            response = self.client.post(
                "/v1/reports",
                json={
                    "category": "pothole",
                    "location": {"lon": lon, "lat": lat},
                    "answers": self.answers,
                },
                headers={**self.resident, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.status_code == 201, response.data[:300]

        return {
            "routing (central Dijon)": route,
            "intake POST /v1/reports": submit,
            "desk queue page (50)": lambda: self.get(
                f"/v1/desks/{DESK}/queue?limit=50", self.agent
            ),
            "desk queue page, Dijon, new+ack": lambda: self.get(
                f"/v1/desks/{DESK}/queue?status=new&status=acknowledged&commune=21231&limit=50",
                self.agent,
            ),
            "desk header counts": lambda: self.get(f"/v1/desks/{DESK}/queue/counts", self.agent),
            "crew's tickets": lambda: self.get("/v1/crews/me/tickets", self.crew),
            "Open311 requests.json": lambda: self.get("/open311/v2/requests.json"),
            "Open311 one request": lambda: self.get(
                f"/open311/v2/requests/{self.rng.choice(self.request_ids)}.json"
            ),
            "public bbox GeoJSON (100)": lambda: self.get(
                f"/v1/reports/geojson?{BBOX}", self.resident
            ),
            "public list /v1/reports": lambda: self.get("/v1/reports?limit=50", self.resident),
            "uncached: Open311 requests.json": lambda: self.get(
                "/open311/v2/requests.json", client=self.uncached
            ),
            "uncached: public bbox GeoJSON (100)": lambda: self.get(
                f"/v1/reports/geojson?{BBOX}", self.resident, client=self.uncached
            ),
            "uncached: public list /v1/reports": lambda: self.get(
                "/v1/reports?limit=50", self.resident, client=self.uncached
            ),
            "uncached: desk queue page (50)": lambda: self.get(
                f"/v1/desks/{DESK}/queue?limit=50", self.agent, client=self.uncached
            ),
            **{
                f"statistics {name} cached": call
                for name, call in self.measures_cached_statistics().items()
            },
        }

    def measures_cached_statistics(self) -> dict:
        return {
            name: (
                lambda name=name: self.get(
                    f"/v1/opendata/statistics/{name}", client=self.cached_client
                )
            )
            for name in STATISTICS
        }


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def export_seconds(env: dict, url: str) -> dict:
    """The nightly export (every format, with the daily files) in a fresh process."""
    from benchmarks.bench_opendata import NIGHTLY, measure

    return measure({**env, "DATABASE_URL": url}, NIGHTLY)


def memory(url: str) -> dict:
    with psycopg.connect(libpq_url(url)) as conn:
        return {
            "shared_buffers": conn.execute("SHOW shared_buffers").fetchone()[0],
            "work_mem": conn.execute("SHOW work_mem").fetchone()[0],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30, help="per measure and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--export", action="store_true", help="also time the nightly export")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--only", help="measure only those whose name holds this text")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold statistics")
    args = parser.parse_args()
    env = dataset.bench_env(LOG_LEVEL="WARNING")
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = env["FIREBASE_AUTH_EMULATOR_HOST"]
    urls = {
        label: history.ensure(size, name)
        for label, (name, size) in SIZES.items()
        if label in args.sizes
    }
    for url in urls.values():
        staff(env, url)
        forget_resident(url)
    targets = [Target(label, url, env) for label, url in urls.items()]
    measures = {
        t.label: {
            name: call for name, call in t.measures().items() if not args.only or args.only in name
        }
        for t in targets
    }
    samples: dict[str, dict[str, list[float]]] = {
        t.label: {name: [] for name in measures[t.label]} for t in targets
    }
    # Reads first, then writes: a new report changes the statistics' data version, so the
    # cached statistics would be measured as cold ones right after intake.
    writes = {"intake POST /v1/reports"}
    phases = [
        {t.label: {k: v for k, v in measures[t.label].items() if k not in writes} for t in targets},
        {t.label: {k: v for k, v in measures[t.label].items() if k in writes} for t in targets},
    ]
    # The cold statistics first (minutes at 30M: one sample each): the cached app's first
    # request, a miss once earlier runs' entries are gone, computes and stores the answer
    # that the later "cached" samples read.
    store = redis.Redis.from_url(env["REDIS_URL"])
    for key in store.scan_iter(match=f"{StatisticsCache.prefix()}*"):
        store.delete(key)
    for t in targets if not args.no_cold else []:
        for name in STATISTICS:
            label = f"statistics {name} cold (first request)"
            call = t.measures_cached_statistics()[name]
            samples[t.label][label] = [timed(call)]
            print(f"{t.label} {label}: {samples[t.label][label][0]:.0f} ms", file=sys.stderr)
    for phase in phases:
        for t in targets:  # warm: plans, pools, the first read of each table
            for call in phase[t.label].values():
                for _ in range(3):
                    call()
        for round_ in range(args.rounds):
            for t in targets:
                for name, call in phase[t.label].items():
                    samples[t.label][name] += [timed(call) for _ in range(args.samples)]
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(
        f"\nmedian ms per request, in-process, {args.rounds} rounds x {args.samples} "
        f"(cold statistics: one request); load {os.getloadavg()[0]:.1f}"
    )
    first, last = targets[0].label, targets[-1].label
    print(f"{'':44}{first:>10}{last:>10}{last + '/' + first:>9}  p95 {first} / {last}")
    for name in samples[first]:
        small, big = samples[first][name], samples[last][name]
        m1, m30 = statistics.median(small), statistics.median(big)
        p95 = [sorted(v)[int(len(v) * 0.95) - (len(v) == 1)] for v in (small, big)]
        print(f"{name:44}{m1:10.2f}{m30:10.2f}{m30 / m1:9.2f}  {p95[0]:.1f} / {p95[1]:.1f}")
    if args.export:
        for label, url in urls.items():
            print(f"nightly export {label}: {json.dumps(export_seconds(env, url))}", flush=True)
    for label, url in urls.items():
        print(f"{label}: {json.dumps({**history.sizes(url), **memory(url)})}")
        forget_resident(url)
    print(
        f"benchmark process peak RSS: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
