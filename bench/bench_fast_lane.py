"""Benchmark of the fast lane (prints figures; exits 1 on a missed goal).

Goal (issue 13): ``make check`` -- ruff, ruff format, the import contracts, mypy and the tests
not marked slow, browser, schemathesis or serial, in two xdist workers -- takes under 180 s of
wall time on two idle cores.

The script runs ``make check`` as a child process (``WORKERS=2`` unless ``--workers``), then
prints the wall time of the whole, of the static checks and of pytest (from the time the
pytest line is printed), the CPU seconds of all children (user + system, from
``os.wait4``), the 1-minute load average before and after, and "idle estimate" = CPU
seconds / cores, the figure that other work on a shared machine disturbs least. The exit
status is 1 when the wall time is over the goal (``--goal``) or ``make check`` failed.

Timing is noisy, so CI does not run this script: run it on an idle machine, e.g.
``python bench/bench_fast_lane.py`` (a warm mypy cache, ``.mypy_cache``, is what a developer
has; ``--cold`` deletes it first to measure a fresh clone).

Run: ``python bench/bench_fast_lane.py [--workers N] [--goal SECONDS] [--cold]`` from the
repository root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 180.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--goal", type=float, default=GOAL_SECONDS)
    parser.add_argument("--cold", action="store_true", help="delete .mypy_cache first")
    parser.add_argument("--make-args", default="", help="extra arguments for make")
    args = parser.parse_args(argv)
    if args.cold:
        shutil.rmtree(ROOT / ".mypy_cache", ignore_errors=True)
    load_before = os.getloadavg()[0]
    cmd = ["make", "check", f"WORKERS={args.workers}", *args.make_args.split()]
    start = time.monotonic()
    pytest_started: float | None = None
    tail: list[str] = []
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if pytest_started is None and "-m pytest" in line:
            pytest_started = time.monotonic()
        tail = [*tail, line.rstrip()][-15:]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    cores = os.cpu_count() or 1
    print("\n".join(tail))
    print()
    static = (pytest_started or start + wall) - start
    print(f"make check (WORKERS={args.workers}): exit {code}")
    print(f"  wall              {wall:7.1f} s  (goal <= {args.goal:.0f} s)")
    print(f"  static checks     {static:7.1f} s")
    print(f"  pytest            {wall - static:7.1f} s")
    print(
        f"  CPU (children)    {cpu:7.1f} s  -> idle estimate {cpu / cores:.1f} s on {cores} cores"
    )
    print(f"  load average      {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    if code != 0:
        print("FAIL: make check failed")
        return 1
    if wall > args.goal:
        print(f"FAIL: {wall:.1f} s is over the goal of {args.goal:.0f} s")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
