"""PostgreSQL URLs and databases for the launcher, the tests and the benchmarks: plain
``postgresql://`` URLs as psycopg takes them, one database per run or benchmark."""

from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/signale"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "signale"


def libpq_url(url: str) -> str:
    """psycopg wants a plain postgresql:// URL, without SQLAlchemy's driver suffix."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def pg_reachable(url: str) -> bool:
    try:
        with psycopg.connect(with_database(libpq_url(url), "postgres"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def ensure_database(url: str) -> None:
    """Create the URL's database if it does not exist, with PostGIS in it."""
    name = database_name(url)
    with psycopg.connect(with_database(libpq_url(url), "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            print(f"==> creating database {name}", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
