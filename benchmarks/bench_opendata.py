"""Open data export: the full file of every report of `signale_bench` (1,000,000) in each
format, time and peak memory, against a baseline measured in the same run:

- the floor: the export's own SQL statement run by PostgreSQL as
  ``COPY (SELECT ...) TO STDOUT (FORMAT csv)``, drained to a file by psycopg: what reading
  the same rows costs without SQLAlchemy, Python objects or any writer;

then each writer (GeoJSON, CSV, GeoParquet) alone on the full file, and, for the record, the
nightly job's pass (every format, full and daily files, without the upload to storage).

Each measure runs in a fresh process (the same imports as the floor's), which reports its
time and its peak resident memory (getrusage's ru_maxrss): medians over --repeat runs.
Target (issue 8): the full GeoJSON in under 60 s, under 300 MB.

    python benchmarks/bench_opendata.py [--repeat N]

The export only reads reports: a `signale_bench` already filled is used as it is (without
`prepare`, which would also migrate it to this branch's head).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dataset import REPORTS, bench_env, prepare  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

MEASURES = ("copy", "geojson", "csv", "parquet")
NIGHTLY = "nightly"


def _app(env_url: str):
    from app import create_app

    return create_app({"DATABASE_URL": env_url, "LOG_LEVEL": "WARNING"})


def run_child(what: str, workdir: Path) -> dict:
    """In this (fresh) process: one measure; its time, rows, bytes and peak memory."""
    from app.extensions import db
    from app.opendata import service
    from app.opendata.queries import export_rows

    app = _app(os.environ["DATABASE_URL"])
    with app.app_context():
        settings = service.settings(app.config)
        started = time.perf_counter()
        if what == "copy":
            statement = export_rows(
                grid_m=settings["grid_m"], media_base=settings["media_base"]
            ).compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
            rows, path = 0, workdir / "copy.csv"
            with psycopg.connect(libpq_url(os.environ["DATABASE_URL"])) as conn:
                conn.execute("SET TIME ZONE 'UTC'")
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)") as copy,
                    path.open("wb") as out,
                ):
                    for chunk in copy:
                        out.write(chunk)
                        rows += bytes(chunk).count(b"\n")  # no value holds a newline
            files = [path]
        else:
            formats = service.FORMATS if what == NIGHTLY else (what,)
            written = service.write_files(
                db.session,
                workdir,
                formats=formats,
                daily=what == NIGHTLY,
                grid_m=settings["grid_m"],
                media_base=settings["media_base"],
            )
            if what == NIGHTLY:  # the export writes the statistics tables too
                written += service.write_statistics(
                    db.session, workdir, min_count=settings["min_count"]
                )
            db.session.rollback()
            rows = max(w.rows for w in written if w.day is None)
            files = [w.path for w in written]
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": rows,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(env: dict, what: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-opendata-") as tmp:
        run = subprocess.run(
            [sys.executable, __file__, "--child", what, "--workdir", tmp],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    if run.returncode != 0:
        raise SystemExit(f"{what} failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure")
    parser.add_argument("--child", choices=(*MEASURES, NIGHTLY), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.workdir)))
        return
    env = bench_env(LOG_LEVEL="WARNING")
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        have = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    if have < REPORTS:
        prepare(env)
    results: dict[str, list[dict]] = {what: [] for what in MEASURES}
    for _ in range(args.repeat):
        # Interleaved, so that a slow spell of the shared machine hits every measure alike.
        for what in MEASURES:
            results[what].append(measure(env, what))
    nightly = measure(env, NIGHTLY)

    def median(what: str, key: str) -> float:
        return statistics.median(r[key] for r in results[what])

    floor_s, floor_mb = median("copy", "seconds"), median("copy", "peak_mb")
    rows = results["copy"][0]["rows"]
    print(f"open data export of {rows:,} reports (signale_bench), median of {args.repeat} runs")
    print(
        f"{'':26}{'seconds':>9}{'x floor':>9}{'rows/s':>10}"
        f"{'peak MB':>9}{'x floor':>9}{'MB out':>9}"
    )
    for what in MEASURES:
        seconds, peak = median(what, "seconds"), median(what, "peak_mb")
        label = "floor: COPY ... TO STDOUT" if what == "copy" else f"full {what}"
        print(
            f"{label:26}{seconds:9.1f}{seconds / floor_s:9.2f}{rows / seconds:10,.0f}"
            f"{peak:9.0f}{peak / floor_mb:9.2f}{median(what, 'bytes') / 1e6:9.0f}"
        )
    print(
        f"{'nightly (all, + daily)':26}{nightly['seconds']:9.1f}"
        f"{nightly['seconds'] / floor_s:9.2f}{'':10}{nightly['peak_mb']:9.0f}"
        f"{nightly['peak_mb'] / floor_mb:9.2f}{nightly['bytes'] / 1e6:9.0f}"
        f"   ({nightly['files']:,} files, one run)"
    )
    geojson_s, geojson_mb = median("geojson", "seconds"), median("geojson", "peak_mb")
    verdict = "met" if geojson_s < 60 and geojson_mb < 300 else "NOT met"
    print(f"target (GeoJSON < 60 s, < 300 MB): {verdict}")


if __name__ == "__main__":
    main()
