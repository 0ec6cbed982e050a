"""Throwaway PostgreSQL clusters for the tests that need servers of their own (a primary and
its streaming replica: tests/scale/test_replica.py), never the machine's own server.

Each cluster lives in a temporary directory on a free port of 127.0.0.1, with trust
authentication. PostgreSQL refuses to run as root: as root, every server program runs as
the ``postgres`` system user (``runuser``), in directories that user owns, as the launcher's
local cluster does (tools/launcher.py).
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tools.launcher import ProvisioningError, apt_install, ensure_postgis, is_root, pg_bindir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> list[str]:
    if not is_root():
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ProvisioningError("no 'postgres' system user to run PostgreSQL as") from exc
    return ["runuser", "-u", "postgres", "--"]


class Cluster:
    """One server: its data directory under ``home``, its port, and how to stop it."""

    def __init__(self, home: Path, port: int):
        self.home = home
        self.data = home / "data"
        self.run_dir = home / "run"
        self.log = home / "postgres.log"
        self.port = port
        self.bindir = pg_bindir()
        if self.bindir is None:  # a machine whose PostgreSQL is elsewhere: the programs
            apt_install("postgresql")
            self.bindir = pg_bindir()
            if self.bindir is None:
                raise ProvisioningError("PostgreSQL's server programs are still missing")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> None:
        completed = subprocess.run(
            [*_as_user(), str(self.bindir / program), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise ProvisioningError(f"{program} failed: {completed.stdout[-2000:]}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.run_dir} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def execute(self, sql: str, params=(), database: str = "signale"):
        """One statement in autocommit; its first row (None when it returns none)."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchone() if cursor.description else None

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def _home(parent: Path, name: str) -> Path:
    home = parent / name
    (home / "run").mkdir(parents=True)
    if is_root():
        owner = pwd.getpwnam("postgres")
        for path in (parent, home, home / "run"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    return home


def temporary_parent() -> Path:
    """A new directory for clusters (remove it with :func:`remove`): in the temporary
    directory, or under /var/tmp when the postgres user cannot reach that one (a private
    TMPDIR of root's)."""
    parent = Path(tempfile.mkdtemp(prefix="signale-clusters-"))
    if is_root():
        reach = ["runuser", "-u", "postgres", "--", "test", "-x", str(parent.parent)]
        if subprocess.run(reach, check=False).returncode != 0:
            parent.rmdir()
            parent = Path(tempfile.mkdtemp(prefix="signale-clusters-", dir="/var/tmp"))
    return parent


def remove(parent: Path) -> None:
    shutil.rmtree(parent, ignore_errors=True)


def primary(parent: Path, name: str = "primary") -> Cluster:
    """A new primary, started, that accepts streaming replicas from 127.0.0.1. Durability
    is off (a throwaway cluster): the tests wait on PostgreSQL, not on the disk."""
    cluster = Cluster(_home(parent, name), free_port())
    cluster.run(
        "initdb",
        "-D",
        str(cluster.data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    with open(cluster.data / "postgresql.conf", "a") as conf:
        conf.write("\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n")
        conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
    (cluster.data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "host all all 127.0.0.1/32 trust\n"
        "host replication all 127.0.0.1/32 trust\n"
    )
    cluster.start()
    return cluster


def standby(source: Cluster, parent: Path, name: str = "standby") -> Cluster:
    """A streaming replica of ``source`` (``pg_basebackup -R``: standby.signal and its
    primary_conninfo written), started on a port of its own."""
    cluster = Cluster(_home(parent, name), free_port())
    cluster.run(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(source.port),
        "-U",
        "postgres",
        "-D",
        str(cluster.data),
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "--no-sync",
    )
    cluster.start()
    return cluster


def create_database(cluster: Cluster, name: str) -> str:
    """A database with PostGIS on ``cluster`` (its package installed when missing); its
    URL."""
    ensure_postgis(cluster.url())
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(cluster.url(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return cluster.url(name)
