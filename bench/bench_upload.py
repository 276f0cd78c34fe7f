"""Benchmark: the 100,000-case bundle uploaded through the web page.

The bundle of ``bench_import.py`` (100,000 cases, 1,000,000 readings), zipped, is posted to
``/studies/new/upload/`` by Django's test client in a child process, exactly as the browser
posts it: the view stores the .zip and starts the job in a background thread of the process
(``READERSTUDY_GENERATION_DISPATCH=thread``, the set-up without a broker), and the client
polls ``/uploads/<id>/progress/`` as the page's script does until the job is finished.
Prints the seconds from the POST to "imported", the stages seen, and the child's peak RSS.
Goal: at most 90 s and 2 GiB (the command's goal plus storing and re-reading the .zip); the
script exits non-zero when a goal is missed.

    python bench/bench_upload.py [--cases 100000] [--readers 10] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 90.0
GOAL_BYTES = 2 * 1024**3
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def child(zip_path: Path) -> None:
    """In a child process with Django: post the .zip through the page, poll until done."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", "--noinput", verbosity=0)
    user = get_user_model().objects.create_user("bench", is_staff=True)
    client = Client()
    client.force_login(user)
    stages: list[str] = []
    start = time.perf_counter()
    with zip_path.open("rb") as fh:
        response = client.post("/studies/new/upload/", {"bundle": fh}, secure=True)
    posted = time.perf_counter() - start
    if response.status_code != 302:
        print(json.dumps({"error": f"POST answered {response.status_code}"}))
        return
    progress_url = response["Location"].rstrip("/") + "/progress/"
    while True:
        state = client.get(progress_url, secure=True).json()
        label = f"{state['progress']}% {state['stage']}"
        if not stages or stages[-1] != label:
            stages.append(label)
        if not state["active"]:
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    from readerstudy.bundles.models import BundleUpload

    summary = BundleUpload.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    print(
        json.dumps(
            {
                "status": state["status"],
                "seconds": seconds,
                "post_seconds": posted,
                "stages": stages,
                "summary": summary.summary,
                "problems": summary.problems[:5],
            }
        )
    )


def bench(label: str, zip_path: Path, env: dict[str, str]) -> bool:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(zip_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    peak = resource_peak()
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"{label}: the child failed\n{err.decode()[-3000:]}")
        return False
    if result.get("status") != "done":
        print(f"{label}: upload not imported: {result}\n{err.decode()[-3000:]}")
        return False
    ok = result["seconds"] <= GOAL_SECONDS and peak <= GOAL_BYTES
    print(
        f"{label:<11} upload through the page: {result['seconds']:6.1f} s (POST "
        f"{result['post_seconds']:.1f} s)  peak RSS {peak / 1024**2:6.0f} MiB  (goal <= "
        f"{GOAL_SECONDS:.0f} s, <= {GOAL_BYTES / 1024**3:.0f} GiB) {'OK' if ok else 'MISSED'}"
    )
    print(f"  imported: {result['summary']}")
    print("  stages seen: " + " | ".join(result["stages"]))
    return ok


def resource_peak() -> int:
    """The largest peak RSS of the children waited for so far (bytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        child(args.child)
        return 0

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_import import write_bundle

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        start = time.perf_counter()
        write_bundle(folder, args.cases, args.readers)
        zip_path = Path(tmp) / "bench.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"bench/{path.name}")
        print(
            f"bundle: {args.cases:,} cases, {args.cases * args.readers:,} readings, "
            f"{zip_path.stat().st_size / 1024**2:.0f} MiB zipped, written in "
            f"{time.perf_counter() - start:.1f} s"
        )
        env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DATABASE_URL"}}
        env.update(
            {
                "DJANGO_DEBUG": "0",
                "SECRET_KEY": "bench-only-" + "x" * 50,
                "ALLOWED_HOSTS": "testserver",
                "MEDIA_ROOT": str(Path(tmp) / "media"),
                "READERSTUDY_GENERATION_DISPATCH": "thread",
            }
        )
        if not args.postgres:
            return (
                0
                if bench("SQLite", zip_path, {**env, "DATABASE_URL": f"sqlite:///{tmp}/b.sqlite3"})
                else 1
            )
        db = "readerstudy_upload_bench"
        psql = ["psql", f"{PG_URL}/postgres", "-qc"]
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {db}"], check=True)
        subprocess.run([*psql, f"CREATE DATABASE {db}"], check=True)
        try:
            ok = bench("PostgreSQL", zip_path, {**env, "DATABASE_URL": f"{PG_URL}/{db}"})
        finally:
            subprocess.run([*psql, f"DROP DATABASE IF EXISTS {db}"], check=False)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
