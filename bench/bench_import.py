"""Benchmark: import a bundle of 100,000 cases and 1,000,000 readings.

Times ``manage.py import_study`` on SQLite and on PostgreSQL (a fresh database each) in a
child process and prints wall seconds and the child's peak resident memory.
Goal: at most 60 s and 1.5 GiB each; the script exits non-zero when a goal is missed.

    python bench/bench_import.py [--cases 100000] [--readers 10] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 60.0
GOAL_BYTES = 1.5 * 1024**3
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")

STUDY_TOML = """\
slug = "bench"
title = "Import benchmark"
reference_reader = "R01"

[scale]
name = "BI-RADS"
categories = [0, 1, 2, 3, 4, 5, 6]
positive_threshold = 4
"""


def write_bundle(path: Path, n_cases: int, n_readers: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    (path / "study.toml").write_text(STUDY_TOML)
    case_ids = np.char.add("C", np.arange(1, n_cases + 1).astype(str))
    truth = rng.integers(0, 2, n_cases)
    pd.DataFrame(
        {
            "case_id": case_ids,
            "truth": truth,
            "patient_id": np.char.add("P", np.arange(1, n_cases + 1).astype(str)),
            "split": "test",
            "location": "left breast, upper outer quadrant",
            "findings": "Segmental non-mass enhancement with clumped internal enhancement.",
            "tic_type": rng.choice(["persistent", "plateau", "washout"], n_cases),
        }
    ).to_csv(path / "cases.csv", index=False)
    readers = [f"R{i:02d}" for i in range(1, n_readers + 1)]
    pd.DataFrame(
        {"reader_id": readers, "kind": ["human"] * 3 + ["model"] * (n_readers - 3)}
    ).to_csv(path / "readers.csv", index=False)
    category = np.clip(
        np.round(2 + 2 * truth[None, :] + rng.normal(0, 1, (n_readers, n_cases))), 0, 6
    )
    pd.DataFrame(
        {
            "reader_id": np.repeat(readers, n_cases),
            "case_id": np.tile(case_ids, n_readers),
            "run": 1,
            "category": category.astype(int).ravel(),
            "score": np.round(rng.random(n_readers * n_cases), 4),
            "impression": "Non-mass enhancement, BI-RADS category as given; biopsy recommended.",
            "seconds": np.round(rng.uniform(30, 300, n_readers * n_cases), 1),
        }
    ).to_csv(path / "readings.csv", index=False)


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Run a child process; return (seconds, peak RSS bytes, exit code, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss * 1024, proc.returncode, stderr


def bench(label: str, bundle: Path, env: dict[str, str]) -> bool:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    seconds, peak, code, stderr = run_child([*manage, "import_study", str(bundle)], env)
    if code != 0:
        print(f"{label}: import failed\n{stderr}")
        return False
    ok = seconds <= GOAL_SECONDS and peak <= GOAL_BYTES
    print(
        f"{label:<11} import_study: {seconds:6.1f} s  peak RSS {peak / 1024**2:7.0f} MiB  "
        f"(goal <= {GOAL_SECONDS:.0f} s, <= {GOAL_BYTES / 1024**3:.1f} GiB) {'OK' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        start = time.perf_counter()
        write_bundle(bundle, args.cases, args.readers)
        size = sum(p.stat().st_size for p in bundle.iterdir()) / 1024**2
        print(
            f"bundle: {args.cases:,} cases, {args.cases * args.readers:,} readings, "
            f"{size:.0f} MiB, written in {time.perf_counter() - start:.1f} s"
        )
        base = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DATABASE_URL"}}
        base.update(
            {
                "DJANGO_DEBUG": "0",
                "SECRET_KEY": "bench-only-" + "x" * 50,
                "ALLOWED_HOSTS": "localhost",
            }
        )
        base["MEDIA_ROOT"] = str(Path(tmp) / "media")
        ok = bench("SQLite", bundle, {**base, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"})
        if not args.skip_postgres:
            db = "readerstudy_bench"
            subprocess.run(
                ["psql", f"{PG_URL}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True
            )
            subprocess.run(
                ["psql", f"{PG_URL}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True
            )
            try:
                ok &= bench("PostgreSQL", bundle, {**base, "DATABASE_URL": f"{PG_URL}/{db}"})
            finally:
                subprocess.run(
                    ["psql", f"{PG_URL}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db}"],
                    check=False,
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
