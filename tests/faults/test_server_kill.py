"""SIGKILL of gunicorn (master and workers) while raters and readers submit, then a restart on
the same port: every acknowledged submit is stored exactly once, nothing is partial, and the
clients' resends with the same token are acknowledged after the restart."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.faults.load import check_exactly_once, live_server, report, run_load, stored

SEED = {"raters": 8, "readers": 2, "cases": 40}


def kill_and_restart(database_url: str, var_dir: Path, name: str) -> None:
    rng = random.Random()
    fault_after = round(rng.uniform(2.0, 5.0), 2)
    with live_server(database_url, var_dir, **SEED) as (server, seeded):
        restarts: list[float] = []

        def fault() -> None:
            server.kill()
            restarts.append(server.start())

        run = run_load(server.base, seeded, fault=fault, fault_after=fault_after)
        report(f"{name} (killed after {fault_after} s)", run)
        print(f"[faults] {name}: gunicorn restart took {restarts[0]:.1f} s")
        held = stored(server)
    check_exactly_once(run, held, n_clients=SEED["raters"] + SEED["readers"])


@pytest.mark.slow
@pytest.mark.serial  # a loaded gunicorn and a kill / restart: not beside another worker
@pytest.mark.timeout(600)  # a hang fails (and cleans up) instead of stalling CI
def test_killed_server_loses_and_duplicates_no_submit_on_postgresql(
    kill_database: str, tmp_path: Path
) -> None:
    kill_and_restart(kill_database, tmp_path / "var", "kill gunicorn, PostgreSQL")


@pytest.mark.slow
@pytest.mark.serial  # a loaded gunicorn and a kill / restart: not beside another worker
@pytest.mark.timeout(600)  # a hang fails (and cleans up) instead of stalling CI
def test_killed_server_loses_and_duplicates_no_submit_on_sqlite(
    sqlite_pass: None, tmp_path: Path
) -> None:
    kill_and_restart(
        f"sqlite:///{tmp_path / 'faults.sqlite3'}", tmp_path / "var", "kill gunicorn, SQLite"
    )
