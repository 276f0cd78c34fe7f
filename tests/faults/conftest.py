"""Fixtures of the fault tests: private PostgreSQL databases and a private PostgreSQL cluster.

The fault tests start their own servers on their own databases, so they do not depend on the
suite's database; they follow its backend instead: with ``DATABASE_URL`` on PostgreSQL (the
second pass of ``.ci/run``) the PostgreSQL scenarios run, on the default SQLite the SQLite
one. Each backend is thus exercised once per CI run, not twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import LazySettings

from tests.liveserver import free_port


def suite_on_postgresql(settings: LazySettings) -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def postgres_pass(settings: LazySettings) -> None:
    if not suite_on_postgresql(settings):
        pytest.skip("PostgreSQL scenario: runs when the suite runs on PostgreSQL (DATABASE_URL)")


@pytest.fixture
def postgres_server(settings: LazySettings, postgres_pass: None) -> str:
    """``postgres://user@host:port`` of the suite's PostgreSQL server (PostgreSQL pass only)."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"


@pytest.fixture
def sqlite_pass(settings: LazySettings) -> None:
    if suite_on_postgresql(settings):
        pytest.skip("SQLite scenario: runs when the suite runs on SQLite (the default)")


@pytest.fixture
def kill_database(postgres_server: str) -> Iterator[str]:
    """A fresh database ``rs_faults_kill`` on the suite's server, dropped afterwards."""
    name = "rs_faults_kill"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{postgres_server}/{name}"
    finally:
        with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Cluster:
    """A PostgreSQL cluster of this test alone (so it may be stopped and started)."""

    bindir: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def pg_ctl(self, *args: str, timeout: float = 120) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        command = [
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            *args,
        ]
        subprocess.run(as_postgres(command), check=True, capture_output=True, timeout=timeout)

    def stop_start(self, *, down: float) -> None:
        """Fast shutdown (active connections are terminated), ``down`` seconds, start again."""
        self.pg_ctl("-m", "fast", "stop")
        time.sleep(down)
        self.pg_ctl("start")

    def log(self) -> str:
        try:
            return (self.data / "server.log").read_text(errors="replace")[-3000:]
        except OSError as exc:
            return str(exc)


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the postgres account then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def postgres_bindir() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture
def private_cluster(postgres_pass: None) -> Iterator[Cluster]:
    """initdb a cluster in a temporary directory, start it on a free port with trust auth;
    stop it and delete it afterwards, also when the test fails."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("initdb not found (no PostgreSQL server binaries on this machine)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    top = Path(tempfile.mkdtemp(prefix="rs-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(top, user="postgres", group="postgres")
    cluster = Cluster(bindir, top / "data", free_port())
    started = False
    try:
        subprocess.run(
            as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(cluster.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=180,
        )
        cluster.pg_ctl("start")
        started = True
        with psycopg.connect(f"{cluster.url}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE rs_faults_restart")
        yield cluster
    except BaseException:
        print(cluster.log())
        raise
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                cluster.pg_ctl("-m", "immediate", "stop", timeout=60)
        shutil.rmtree(top, ignore_errors=True)
