"""The benchmarks' shared database, `signale_bench`, at the sizes the issues name.

1,000,000 reports, 100,000 assets, 23 communes, 60 crews and 200 routing rules: the demo
organisation `make run` loads (reference data, rules, crews, ~34,600 assets), topped up with
generated rules, crews and equipment. Filled once and kept between runs; every step is
idempotent, so a second run only checks the counts.
"""

import os
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

# The resident whose token the HTTP benchmarks use: what it submitted is removed before
# each run, so that every run starts from the same data (they would pile up in central
# Dijon, making ever more duplicates and ever longer crew workloads).
BENCH_UID = "bench-resident"
PROJECT = "demo-signale"  # the Firebase project of the emulator tokens the benchmarks mint

REPORTS = 1_000_000
ASSETS = 100_000
CREWS = 60
RULES = 200

# Extra equipment, spread over the communes by area (kinds of the demo register).
TOP_UP_ASSETS = """
WITH shares AS (
    SELECT insee_code, geom,
           ceil(%(missing)s::float8 * area_m2 / sum(area_m2) OVER ())::int AS n,
           row_number() OVER (ORDER BY insee_code) AS commune_no
    FROM communes
), pts AS (
    SELECT s.insee_code, d.geom AS g,
           s.commune_no * 1000000 + d.path[1] AS number
    FROM shares s CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(s.geom, s.n, 7)) AS d
)
INSERT INTO assets (reference, kind, status, geom, attributes, commune_insee)
SELECT 'BX-' || number,
       (ARRAY['street_light', 'drain', 'sign', 'bench'])[1 + number %% 4],
       'in_service', g, '{}', insee_code
FROM pts
ORDER BY number
LIMIT %(missing)s
ON CONFLICT (reference) DO NOTHING
"""

# More crews: copies of the demo crews (same desk, skills, zone, depot) under new codes.
TOP_UP_CREWS = """
INSERT INTO crews (code, name, desk_id, skills, zone, depot, working_hours, capacity)
SELECT 'bench-' || c.code || '-' || n, c.name || ' (bench ' || n || ')', c.desk_id,
       c.skills, c.zone, c.depot, c.working_hours, c.capacity
FROM generate_series(1, 10) AS n
CROSS JOIN crews c
WHERE c.code NOT LIKE 'bench-%%'
ORDER BY n, c.id
LIMIT %(missing)s
ON CONFLICT (code) DO NOTHING
"""

# More rules: per category, zone rules on 1.5 km squares over the metropolis, for the
# category's usual desk, below the demo rules in priority (so they are evaluated, and win
# where no demo rule matches), some limited to months or hours.
TOP_UP_RULES = """
WITH usual AS (
    SELECT DISTINCT ON (category_code) category_code, desk_id
    FROM routing_rules WHERE category_code IS NOT NULL AND name NOT LIKE 'bench %%'
    ORDER BY category_code, priority
), squares AS (
    SELECT i, ST_Multi(ST_MakeEnvelope(4.90 + (i %% 12) * 0.02, 47.24 + (i / 12) * 0.014,
                                       4.92 + (i %% 12) * 0.02, 47.254 + (i / 12) * 0.014,
                                       4326)) AS zone
    FROM generate_series(0, 119) AS i
), numbered AS (
    SELECT row_number() OVER (ORDER BY s.i, u.category_code) AS n, u.category_code,
           u.desk_id, s.zone
    FROM squares s JOIN usual u ON hashtext(u.category_code || s.i) %% 7 = 0
)
INSERT INTO routing_rules (name, priority, category_code, desk_id, zone, months, starts_at,
                           ends_at)
SELECT 'bench ' || n, 1000 + n, category_code, desk_id, zone,
       CASE WHEN n %% 5 = 0 THEN ARRAY[11, 12, 1, 2, 3]::smallint[] END,
       CASE WHEN n %% 7 = 0 THEN time '22:00' END,
       CASE WHEN n %% 7 = 0 THEN time '06:00' END
FROM numbered
WHERE NOT EXISTS (SELECT 1 FROM routing_rules r WHERE r.name = 'bench ' || numbered.n)
ORDER BY n
LIMIT %(missing)s
"""


def bench_env(**extra) -> dict:
    """The environment of a process working on `signale_bench` (created if missing)."""
    from app.auth.tokens import mint_emulator_token

    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    # BENCH_DATABASE: another name keeps a branch's schema apart from the shared one.
    bench_db = with_database(libpq_url(base), os.environ.get("BENCH_DATABASE", "signale_bench"))
    ensure_database(bench_db)
    return {
        **os.environ,
        "DATABASE_URL": bench_db,
        "SIGNALE_RATELIMIT_ENABLED": "false",
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get(
            "FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"
        ),
        "PYTHONPATH": str(ROOT),
        "SIGNALE_TOKEN": mint_emulator_token("demo-signale", BENCH_UID, lifetime_seconds=3600),
        **extra,
    }


FORGET_EARLIER_RUNS = (
    """UPDATE reports r SET support_count = r.support_count - 1
       FROM report_supporters s WHERE s.report_id = r.id AND s.uid = %(uid)s""",
    "DELETE FROM report_supporters WHERE uid = %(uid)s",
    "DELETE FROM report_followers WHERE uid = %(uid)s",
    "DELETE FROM reports WHERE reporter_uid = %(uid)s",
    "DELETE FROM idempotency_keys WHERE owner = %(uid)s",
)


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def prepare(env: dict, reports: int = REPORTS) -> dict[str, int]:
    """Fill `signale_bench` up to the sizes above; returns the row counts."""
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    demo = [sys.executable, "-m", "tools.demo"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, **quiet)
    for command in (
        [*flask, "reference", "load"],
        [*demo, "routing", "seed"],
        [*demo, "assets", "generate", "--if-empty"],
    ):
        subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    url = libpq_url(env["DATABASE_URL"])
    with psycopg.connect(url) as conn:
        for statement in FORGET_EARLIER_RUNS:
            conn.execute(statement, {"uid": BENCH_UID})
        conn.commit()
        for table, target, statement in (
            ("assets", ASSETS, TOP_UP_ASSETS),
            ("crews", CREWS, TOP_UP_CREWS),
            ("routing_rules", RULES, TOP_UP_RULES),
        ):
            missing = target - count(conn, table)
            if missing > 0:
                conn.execute(statement, {"missing": missing})
                conn.commit()
        have = count(conn, "reports")
    if have < reports:
        print(f"generating {reports - have:,} reports (once; kept for later runs)", flush=True)
        subprocess.run(
            [*demo, "reports", "generate", str(reports - have)], env=env, cwd=ROOT, check=True
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE reports")
        conn.execute("ANALYZE assets")
        conn.execute("ANALYZE crews")
        conn.execute("ANALYZE routing_rules")
        return {
            table: count(conn, table)
            for table in ("reports", "assets", "communes", "crews", "routing_rules")
        }
