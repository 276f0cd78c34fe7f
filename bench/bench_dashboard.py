"""Benchmark: the analysis dashboard of the demo and its ``data.xlsx``.

Goals (issue 19, item 5), each a request through Django's test client in a process that has
already served one page (so start-up and imports are not counted):

1. the dashboard, cold (the first request after a reader changed the study's data, once the
   background precompute of ``analysis.precompute`` has run): at most 1 s;
2. the dashboard, warm (the same request again): at most 300 ms;
3. ``exports/data.xlsx``: at most 2 s.

The demo is loaded into a new SQLite database (``manage.py migrate`` and ``demo --no-images``
in child processes), then a child with Django set up times the requests. "Cold" changes one
reading first (its reading time) as a request would (``serving_request``), so the study's
data version moves on and the precompute runs; the bench waits for it, prints how long it
took from the change, then times the request. "Uncached" changes it outside a request (no
precompute) and times the request that computes everything. Also timed, against the cold goal:
the very first dashboard request of a new process right after ``manage.py demo`` (nothing
imported yet; ``demo`` computed the dashboard into the file cache that the processes of one
machine share, ``READERSTUDY_CACHE_DIR``). Prints the figures and exits non-zero when a goal is
missed.

    python bench/bench_dashboard.py [--repeat 3] [--db /tmp/demo.sqlite3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_COLD = 1.0
GOAL_WARM = 0.3
GOAL_XLSX = 2.0


def measure(repeat: int) -> dict[str, Any]:
    """Time the requests (runs in a child with Django set up)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from analysis.precompute import precompute_wait, serving_request
    from fixtures.demo import STUDY_SLUG
    from readerstudy.studies.models import Reading

    user = get_user_model().objects.get(username="statistician")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = f"/studies/{STUDY_SLUG}/analysis/"

    cpu: dict[str, float] = {}

    def get(path: str) -> float:
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        body = b"".join(response) if response.streaming else response.content
        elapsed = time.perf_counter() - start
        cpu[path] = time.process_time() - start_cpu
        if response.status_code != 200 or not body:
            raise SystemExit(f"GET {path}: {response.status_code}")
        return elapsed

    first = get(url)
    first_cpu = cpu[url]
    cold: list[float] = []
    warm: list[float] = []
    xlsx: list[float] = []
    cold_cpu: list[float] = []
    warm_cpu: list[float] = []
    xlsx_cpu: list[float] = []
    background: list[float] = []
    uncached: list[float] = []
    uncached_cpu: list[float] = []

    def change() -> None:
        reading = Reading.objects.filter(case__study__slug=STUDY_SLUG).order_by("pk").first()
        if reading is None:
            raise SystemExit("the demo has no reading")
        reading.seconds = (reading.seconds or 0.0) + 1.0
        reading.save()

    for _ in range(repeat):
        # a change outside a request schedules nothing: the first request computes
        change()
        uncached.append(get(url))
        uncached_cpu.append(cpu[url])
        # a change as a reader's request makes it: the precompute runs in the background
        start = time.perf_counter()
        with serving_request():
            change()
        if not precompute_wait(300):
            raise SystemExit("the precompute did not finish")
        background.append(time.perf_counter() - start)
        cold.append(get(url))
        cold_cpu.append(cpu[url])
        warm.append(min(get(url) for _ in range(3)))
        warm_cpu.append(cpu[url])
        xlsx.append(get(f"/studies/{STUDY_SLUG}/exports/data.xlsx"))
        xlsx_cpu.append(cpu[f"/studies/{STUDY_SLUG}/exports/data.xlsx"])
    return {
        "first": first,
        "cold": statistics.median(cold),
        "uncached": statistics.median(uncached),
        "background": statistics.median(background),
        "warm": statistics.median(warm),
        "xlsx": statistics.median(xlsx),
        "cpu": [
            first_cpu,
            *(statistics.median(v) for v in (uncached_cpu, cold_cpu, warm_cpu, xlsx_cpu)),
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the demo database here (reused if present)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.repeat)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        db = args.db or Path(tmp) / "db.sqlite3"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db.resolve()}",
            "DJANGO_DEBUG": "1",
            "MEDIA_ROOT": str(Path(tmp) / "media"),
            "READERSTUDY_ANALYSIS_PRECOMPUTE": "thread",
            "READERSTUDY_CACHE_DIR": str(Path(tmp) / "cache"),
        }
        python = sys.executable
        # with a kept database, ``demo`` only precomputes (the study is loaded already)
        steps = (
            [["demo", "--no-images"]]
            if db.exists()
            else [["migrate", "-v0"], ["demo", "--no-images"]]
        )
        for step in steps:
            subprocess.run(
                [python, "manage.py", *step], cwd=ROOT, env=env, check=True, capture_output=True
            )
        child = subprocess.run(
            [python, __file__, "--child", "--repeat", str(args.repeat)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            return 2
        out = child.stdout
    figures = json.loads(out.strip().splitlines()[-1])
    rows = [
        ("dashboard, first request after demo", figures["first"], GOAL_COLD),
        ("dashboard, uncached (change outside a request)", figures["uncached"], None),
        ("dashboard, cold (after a reader's change)", figures["cold"], GOAL_COLD),
        ("dashboard, warm", figures["warm"], GOAL_WARM),
        ("data.xlsx", figures["xlsx"], GOAL_XLSX),
    ]
    failed = False
    print(f"load average {os.getloadavg()[0]:.1f} (wall time; CPU time of the process beside)")
    for (label, seconds, goal), cpu in zip(rows, figures["cpu"], strict=True):
        verdict = "" if goal is None else ("ok" if seconds <= goal else "MISSED")
        goal_text = "" if goal is None else f"goal <= {goal:.2f} s"
        print(f"{label:42s} {seconds:7.3f} s (CPU {cpu:6.3f} s)  {goal_text} {verdict}")
        failed |= verdict == "MISSED"
    print(
        f"{'  (precompute: change to cache filled)':42s} {figures['background']:7.3f} s "
        "(in the background, 2 s delay included)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
