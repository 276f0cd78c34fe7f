"""A PostgreSQL restart (fast shutdown, a few seconds down, start) while raters and readers
submit: the running server recovers by itself, every acknowledged submit is stored exactly
once, nothing is partial, and once the database is back no request fails."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import Cluster
from tests.faults.load import check_exactly_once, live_server, report, run_load, stored
from tests.liveserver import Gunicorn, sign_in

SEED = {"raters": 8, "readers": 2, "cases": 40}
DOWN_S = 2.0


@pytest.mark.slow
@pytest.mark.serial  # a loaded gunicorn and a kill / restart: not beside another worker
@pytest.mark.timeout(600)  # a hang fails (and cleans up) instead of stalling CI
def test_database_restart_mid_session_loses_and_duplicates_no_submit(
    private_cluster: Cluster, tmp_path: Path
) -> None:
    fault_after = round(random.uniform(2.0, 5.0), 2)
    url = f"{private_cluster.url}/rs_faults_restart"
    with live_server(url, tmp_path / "var", **SEED) as (server, seeded):
        pid = server.pid
        run = run_load(
            server.base,
            seeded,
            fault=lambda: private_cluster.stop_start(down=DOWN_S),
            fault_after=fault_after,
        )
        report(f"restart PostgreSQL (after {fault_after} s, {DOWN_S} s down)", run)
        assert server.process is not None and server.process.poll() is None
        assert server.pid == pid  # the same server, not restarted
        held = stored(server)
        idle = statuses_after_idle_restart(server, private_cluster, seeded["raters"][0])
        print(f"[faults] idle restart, then {len(idle)} requests: statuses {sorted(set(idle))}")
    check_exactly_once(run, held, n_clients=SEED["raters"] + SEED["readers"])
    # Recovery on its own (checked for the load above by check_exactly_once: no request sent
    # after the database was back failed), also for worker threads that were idle during the
    # restart: their dead persistent connections are replaced before use, not answered 500.
    assert set(idle) == {200}


def statuses_after_idle_restart(server: Gunicorn, cluster: Cluster, username: str) -> list[int]:
    """Restart the database while nobody uses the app (every worker thread keeps its
    connection, now dead), then send requests in parallel: the statuses they get."""
    http = requests.Session()
    sign_in(http, server.base, username)
    cluster.stop_start(down=0.5)

    def get(_: int) -> int:
        with requests.Session() as own:
            own.cookies.update(http.cookies)
            return own.get(f"{server.base}/rating/", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(get, range(48)))
