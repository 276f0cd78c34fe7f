"""Benchmark: 2,000 generation requests against the local OpenAI-compatible server, 16 in flight.

Runs a direct generation run of 500 cases × 4 runs through the real ``openai`` client against
``tests/openai_server.py`` started in a child process (fixed answer latency, and every
100th request answered with a 429 so retries are exercised), storing into a fresh database
(SQLite in a temporary folder by default; ``--database-url`` for PostgreSQL). Prints the
throughput and the latencies, then checks:

* every item has an answer and every answer is stored exactly once (one generated reading
  per item, no (reader, case, run) twice, each reading's category equal to its answer);
* the server saw exactly items + retries chat requests, each with one system and one user
  message, and never more than 16 at once.

Exits non-zero on a loss, a duplicate, a check that fails, or throughput below the goal.

    python bench/bench_generation.py [--requests 2000] [--in-flight 16] [--latency 0.02]
                                     [--database-url postgres://…/db] [--goal 25]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 4


def start_server(latency: float, rate_limit_every: int) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.openai_server",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--rate-limit-every",
            str(rate_limit_every),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if " on http" not in line:
        proc.kill()
        raise SystemExit(f"the test server did not start: {line}")
    url = line.split(" on ", 1)[1].split(" ", 1)[0]
    return proc, url


def setup_django(database_url: str | None, tmp: Path) -> None:
    # Production settings (DEBUG off: no query log), on a throw-away database.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-" + os.urandom(16).hex())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    os.environ["READERSTUDY_VAR_DIR"] = str(tmp)
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["READERSTUDY_GENERATION_RETRY_BASE_MS"] = "50"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.02, help="server seconds per answer")
    parser.add_argument("--rate-limit-every", type=int, default=100)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--goal", type=float, default=25.0, help="minimum requests per second")
    args = parser.parse_args()
    if args.requests % RUNS:
        raise SystemExit(f"--requests must be a multiple of {RUNS}")

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        setup_django(args.database_url, tmp)
        from django.db import connection
        from django.db.models import Count

        from readerstudy.generation.models import GenerationConfig, GenerationItem
        from readerstudy.generation.prompts import DEFAULT_SYSTEM_TEMPLATE, DEFAULT_USER_TEMPLATES
        from readerstudy.generation.runner import run_execute
        from readerstudy.generation.services import run_create
        from readerstudy.studies.models import Case, Reader, Reading, ScaleCategory, Study

        slug = f"bench-generation-{os.getpid()}"
        Study.objects.filter(slug=slug).delete()
        study = Study.objects.create(slug=slug, title="Generation benchmark", positive_threshold=4)
        ScaleCategory.objects.bulk_create(ScaleCategory(study=study, value=v) for v in range(7))
        n_cases = args.requests // RUNS
        Case.objects.bulk_create(
            Case(
                study=study,
                code=f"C{i:05d}",
                truth=i % 2,
                position=i,
                location="left breast, upper outer quadrant",
                clinical_history=f"Patient {i}, 52 years, screening.",
                findings=f"[C{i:05d}] Segmental non-mass enhancement with clumped internal "
                "enhancement; type III curve; ADC 1.05.",
            )
            for i in range(n_cases)
        )
        reader = Reader.objects.create(study=study, code="BENCH", kind="model")
        server, url = start_server(args.latency, args.rate_limit_every)
        from django.conf import settings

        # The local server is a destination the administrator allows explicitly.
        settings.GENERATION_ALLOWED_BASE_URLS = [url.rsplit("/v1", 1)[0]]
        try:
            config = GenerationConfig.objects.create(
                reader=reader,
                base_url=url,
                model="bench-model",
                system_template=DEFAULT_SYSTEM_TEMPLATE,
                user_template=DEFAULT_USER_TEMPLATES["text"],
                n_runs=RUNS,
                concurrency=args.in_flight,
                timeout_seconds=30,
                max_attempts=5,
            )
            run = run_create(config=config)
            started = time.perf_counter()
            summary = run_execute(run_id=run.pk)
            seconds = time.perf_counter() - started
            with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/_stats") as response:
                stats = json.loads(response.read())
        finally:
            server.terminate()
            server.wait(timeout=10)

        items = GenerationItem.objects.filter(run=run)
        latencies = sorted(items.values_list("latency_ms", flat=True))
        attempts = sum(items.values_list("attempts", flat=True))
        readings = Reading.objects.filter(reader=reader)
        duplicates = (
            readings.values("case_id", "run", "modality")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )
        mismatched = sum(
            1
            for category, parsed in items.filter(status="done").values_list(
                "reading__category", "parsed"
            )
            if parsed is None or parsed.get("category") != category
        )
        linked = items.filter(status="done", reading__isnull=False).count()
        rate = args.requests / seconds

        def pct(q: float) -> int:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

        print(
            f"database: {connection.vendor}; {args.requests} requests ({n_cases} cases x {RUNS} "
            f"runs), {args.in_flight} in flight, server latency {args.latency * 1000:.0f} ms"
        )
        print(
            f"wall time: {seconds:.2f} s; throughput: {rate:.0f} requests/s (goal >= {args.goal:.0f})"
        )
        print(f"latency per request: p50 {pct(0.5)} ms, p95 {pct(0.95)} ms, max {latencies[-1]} ms")
        print(
            f"server: {stats['chat_requests']} chat requests = {args.requests} items + "
            f"{stats['chat_requests'] - args.requests} retries; most in flight at once "
            f"{stats['max_in_flight']}"
        )
        print(
            f"stored: {summary.counts}; readings {readings.count()}; duplicates {duplicates}; "
            f"answer/reading mismatches {mismatched}"
        )

        problems = []
        if summary.counts["done"] != args.requests or linked != args.requests:
            problems.append(f"lost: {args.requests - linked} items without their reading")
        if readings.count() != args.requests:
            problems.append(f"{readings.count()} readings for {args.requests} items")
        if duplicates or summary.duplicates:
            problems.append(f"duplicates: {duplicates} (store-level {summary.duplicates})")
        if mismatched:
            problems.append(f"{mismatched} readings differ from their answer")
        if stats["chat_requests"] != attempts:
            problems.append(
                f"server saw {stats['chat_requests']} requests, items record {attempts}"
            )
        if stats["context_violations"]:
            problems.append(
                f"{stats['context_violations']} requests were not one system + one user"
            )
        if stats["max_in_flight"] > args.in_flight:
            problems.append(f"{stats['max_in_flight']} requests in flight (limit {args.in_flight})")
        if rate < args.goal:
            problems.append(f"throughput {rate:.0f}/s is below the goal {args.goal:.0f}/s")
        study.delete()
        for p in problems:
            print(f"FAIL: {p}")
        print("OK" if not problems else "FAILED")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
