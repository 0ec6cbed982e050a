"""Area alerts: one run of the cron job over 500 due subscriptions (points with a radius of
200 m to 2 km, and communes) against 200,000 reports of 100 days, each subscription's
watermark an hour behind (the steady state) and a week behind (a job stopped for days).
Baseline measured in the same run: the same gathering with the distance taken in geography
(``ST_DWithin(geom::geography, ...)``), which no index of ours serves, per subscription.

Uses its own database, `signale_bench_alerts` (migrated with `flask db upgrade`; reference
data and reports loaded on the first run and kept).

    make bench        # or: python benchmarks/bench_area_alerts.py [--rounds N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

DATABASE = "signale_bench_alerts"
REPORTS = 200_000
DAYS = 100
SUBSCRIPTIONS = 500
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def environment() -> dict:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    url = with_database(libpq_url(base), DATABASE)
    ensure_database(url)
    return {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}


def prepare(env: dict) -> None:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*FLASK, "db", "upgrade"], env=env, cwd=ROOT, check=True, **quiet)
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        if not conn.execute("SELECT count(*) FROM categories").fetchone()[0]:
            subprocess.run([*FLASK, "reference", "load"], env=env, cwd=ROOT, check=True, **quiet)
        if conn.execute("SELECT count(*) FROM reports").fetchone()[0] < REPORTS:
            print(f"loading {REPORTS:,} reports over {DAYS} days...", flush=True)
            conn.execute("TRUNCATE reports CASCADE")
            # Points of the communes (a point on each's surface, scattered ~1.5 km).
            conn.execute(
                "INSERT INTO reports (category_id, geom, commune_insee, reporter_uid, "
                "created_at, routing) "
                "SELECT (SELECT id FROM categories ORDER BY id OFFSET n %% 10 LIMIT 1), "
                "ST_SetSRID(ST_MakePoint(ST_X(c.p) + (random() - 0.5) * 0.04, "
                "ST_Y(c.p) + (random() - 0.5) * 0.03), 4326), c.insee_code, "
                "'bench-' || n %% 5000, now() - make_interval(secs => n * %s), '{}' "
                "FROM generate_series(1, %s) AS n, LATERAL (SELECT insee_code, "
                "ST_PointOnSurface(geom) AS p FROM communes ORDER BY insee_code "
                "OFFSET n %% (SELECT count(*) FROM communes) LIMIT 1) AS c",
                (DAYS * 86400 / REPORTS, REPORTS),
            )
            conn.execute("ANALYZE reports")


def subscribe(env: dict, behind: timedelta) -> None:
    """SUBSCRIPTIONS due subscriptions (one in five a commune), watermark ``behind`` now."""
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        conn.execute("TRUNCATE area_subscriptions")
        conn.execute("DELETE FROM notifications WHERE kind = 'area_alert'")
        conn.execute(
            "INSERT INTO area_subscriptions (uid, geom, radius_m, commune_insee, watermark) "
            "SELECT 'sub-' || n, CASE WHEN n %% 5 <> 0 THEN r.geom END, "
            "CASE WHEN n %% 5 <> 0 THEN 200 + (n * 37) %% 1801 END, "
            "CASE WHEN n %% 5 = 0 THEN r.commune_insee END, now() - %s "
            "FROM generate_series(1, %s) AS n, LATERAL (SELECT geom, commune_insee "
            "FROM reports WHERE id = 1 + (n * 97) %% %s) AS r",
            (behind, SUBSCRIPTIONS, REPORTS),
        )


def job_run(app) -> tuple[float, int]:
    from app.extensions import db
    from app.notifications.areas import AlertPolicy, send_alerts

    with app.app_context():
        start = time.perf_counter()
        told = send_alerts(db.session, AlertPolicy())
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, told


def per_subscription(app, *, geography: bool) -> list[float]:
    """Seconds to gather each point subscription's new reports (the job's query, or the
    baseline measuring in geography)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.notifications.areas import new_reports
    from app.notifications.models import AreaSubscription
    from app.reports.models import Report

    timings = []
    with app.app_context():
        session = db.session
        cutoff = session.scalar(select(func.now()))
        points = select(AreaSubscription).where(AreaSubscription.radius_m.is_not(None))
        for subscription in session.scalars(points.order_by(AreaSubscription.id)):
            query = new_reports(subscription, cutoff)
            if geography:
                query = new_reports_in_geography(subscription, cutoff, Report)
            start = time.perf_counter()
            session.execute(query).all()
            timings.append(time.perf_counter() - start)
        session.rollback()
        db.session.remove()
    return timings


def new_reports_in_geography(subscription, cutoff, report):
    from sqlalchemy import func, select

    from app.categories.models import Category
    from app.notifications.models import AreaSubscription

    centre = (
        select(func.Geography(AreaSubscription.geom))
        .where(AreaSubscription.id == subscription.id)
        .scalar_subquery()
    )
    return (
        select(report.id, report.reference, Category.name_fr, Category.name_en)
        .join(Category, Category.id == report.category_id)
        .where(
            report.created_at > subscription.watermark,
            report.created_at <= cutoff,
            report.geom_l93.is_not(None),
            report.duplicate_of_id.is_(None),
            report.status != "duplicate",
            report.reporter_uid != subscription.uid,
            func.ST_DWithin(func.Geography(report.geom), centre, subscription.radius_m),
        )
        .order_by(report.created_at, report.id)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    env = environment()
    prepare(env)
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    from app import create_app

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    for label, behind in (("an hour behind", timedelta(hours=1)), ("a week", timedelta(days=7))):
        runs = []
        for _ in range(args.rounds):
            subscribe(env, behind)
            runs.append(job_run(app))
        elapsed = statistics.median(e for e, _ in runs)
        print(
            f"job, watermarks {label}: {SUBSCRIPTIONS:,} subscriptions in {elapsed:.2f} s "
            f"(median of {args.rounds}), {SUBSCRIPTIONS / elapsed:,.0f} subscriptions/s, "
            f"{runs[-1][1]:,} alerts written"
        )
        subscribe(env, behind)
        ours = statistics.median(per_subscription(app, geography=False)) * 1000
        baseline = statistics.median(per_subscription(app, geography=True)) * 1000
        print(
            f"  gathering per subscription, median: {ours:.2f} ms in Lambert-93 metres "
            f"vs {baseline:.2f} ms in geography (baseline), ratio {baseline / ours:.1f}x"
        )


if __name__ == "__main__":
    main()
