"""Load test of Likert rating: concurrent raters autosaving and submitting against a real server.

    python bench/load_rating.py [--seconds 120] [--raters 50] [--think 0.5] [--workers 2]

What it does:

1. creates the PostgreSQL database ``readerstudy_loadtest`` (dropped first; set the server with
   ``--pg``, default ``postgres://postgres@127.0.0.1:5432``), migrates it and seeds a study with
   nine domains, nine readers, enough outputs and ``--raters`` rater accounts, and one open
   rating session in which every rater scores every output in their own random order;
2. starts gunicorn (gthread workers) on 127.0.0.1 with production settings (DEBUG off,
   persistent database connections);
3. runs one thread per rater, each with its own signed-in session: resume, then for each item
   an autosave of a partial draft and a submission of the nine scores (the JSON endpoints the
   item page uses), with a random think time around ``--think`` seconds between requests; about
   one submission in twenty is sent twice with the same token, as a client retry would;
4. reports p50/p95/p99 latency of the submissions (and of the autosaves) and the throughput,
   then checks in the database that every acknowledged submission is stored exactly once
   (nine scores, the submitted values), that nothing unacknowledged is stored, partially or
   not, and that no score is duplicated.

Exit status 1 when the p95 submission latency exceeds 100 ms or anything is lost, duplicated or
partially stored.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.liveserver import DOMAINS, ROOT, Gunicorn, free_port, seed, server_env, sign_in

DB_NAME = "readerstudy_loadtest"
GOAL_P95_MS = 100.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the gunicorn master and its workers."""
    master = psutil.Process(pid)
    total = 0.0
    for proc in [master, *master.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def recreate_database(pg: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database(pg: str) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


@dataclass
class Ack:
    username: str
    public_id: str
    scores: dict[str, int]


@dataclass
class Results:
    submit_ms: list[float] = field(default_factory=list)
    draft_ms: list[float] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    retries: int = 0
    retry_mismatches: int = 0
    errors: list[str] = field(default_factory=list)
    unknown: int = 0  # requests without an answer (timeouts): their outcome is not known
    finished: int = 0
    ready: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Clock:
    """The start line (every rater signed in) and the end of the measured period."""

    start: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0


def rater_loop(
    base: str, username: str, session_id: int, clock: Clock, think: float, out: Results
) -> None:
    http = requests.Session()
    rng = random.Random(username)
    try:
        for attempt in range(3):  # signing in is not measured; retry a dropped connection
            try:
                sign_in(http, base, username)
                break
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                http = requests.Session()
        headers = {"X-CSRFToken": http.cookies["csrftoken"], "Referer": base + "/"}
        with out.lock:
            out.ready += 1
        clock.start.wait()
        response = http.get(
            f"{base}/rating/sessions/{session_id}/resume/", allow_redirects=False, timeout=30
        )
        item = response.headers["Location"]
    except Exception as exc:
        with out.lock:
            out.errors.append(f"{username}: setup: {exc}")
        return
    keys = [k for k, _, _ in DOMAINS]
    while item and time.monotonic() < clock.deadline:
        public_id = item.rstrip("/").rsplit("/", 1)[1]
        scores = {k: rng.randint(1, 5) for k in keys}
        try:
            time.sleep(think * rng.uniform(0.5, 1.5))
            t0 = time.perf_counter()
            response = http.post(
                f"{base}{item}draft.json",
                json={"version": 0, "scores": dict(list(scores.items())[:5])},
                headers=headers,
                timeout=30,
            )
            draft_ms = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"draft {response.status_code}: {response.text[:200]}")
            version = response.json()["version"]
            time.sleep(think * rng.uniform(0.5, 1.5))
            body = {"token": str(uuid.uuid4()), "version": version, "scores": scores}
            t0 = time.perf_counter()
            response = http.post(f"{base}{item}submit.json", json=body, headers=headers, timeout=30)
            submit_ms = (time.perf_counter() - t0) * 1000
        except requests.Timeout:
            with out.lock:
                out.unknown += 1
            return
        except Exception as exc:
            with out.lock:
                out.errors.append(f"{username}: {exc}")
            return
        if response.status_code != 200:
            with out.lock:
                out.errors.append(
                    f"{username}: submit {response.status_code}: {response.text[:200]}"
                )
            return
        answer = response.json()
        with out.lock:
            out.draft_ms.append(draft_ms)
            out.submit_ms.append(submit_ms)
            out.acks.append(Ack(username, public_id, scores))
        if rng.random() < 0.05:  # a client retry of the same submission
            again = http.post(f"{base}{item}submit.json", json=body, headers=headers, timeout=30)
            with out.lock:
                out.retries += 1
                if again.status_code != 200 or not again.json().get("replayed"):
                    out.retry_mismatches += 1
        item = answer["next"]
    with out.lock:
        out.finished += 1


def verify(acks: list[Ack], n_domains: int) -> dict[str, int]:
    from django.db.models import Count

    from evaluation.models import LikertScore, RatingTask

    stored = {
        (username, public_id): {}
        for username, public_id in RatingTask.objects.filter(
            submitted_at__isnull=False
        ).values_list("assignment__rater__user__username", "item__public_id")
    }
    reading_of = dict(
        RatingTask.objects.values_list("item__public_id", "item__reading_id").distinct()
    )
    scores: dict[tuple[str, int], dict[str, int]] = {}
    for username, reading_id, key, value in LikertScore.objects.filter(
        source="entered"
    ).values_list("rater__user__username", "reading_id", "domain__key", "score"):
        scores.setdefault((username, reading_id), {})[key] = value
    lost = wrong = 0
    acked = set()
    for ack in acks:
        acked.add((ack.username, reading_of[ack.public_id]))
        got = scores.get((ack.username, reading_of[ack.public_id]))
        if got is None or len(got) != n_domains:
            lost += 1
        elif got != ack.scores:
            wrong += 1
    duplicates = (
        LikertScore.objects.values("rater_id", "reading_id", "domain_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "acknowledged": len(acks),
        "stored items": len(scores),
        "submitted tasks": len(stored),
        "lost": lost,
        "wrong values": wrong,
        "partial": sum(1 for v in scores.values() if len(v) != n_domains),
        "unacknowledged but stored": len(set(scores) - acked),
        "duplicates": duplicates,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between requests")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--cases", type=int, default=40, help="cases (9 outputs each)")
    parser.add_argument(
        "--pg", default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    var_dir = Path(tempfile.mkdtemp(prefix="rs-load-"))
    env = server_env(f"{args.pg}/{DB_NAME}", var_dir)
    os.environ.update(env)
    recreate_database(args.pg)
    server = Gunicorn(
        env,
        free_port(),
        workers=args.workers,
        threads=args.threads,
        worker_class=args.worker_class,
    )
    try:
        for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
        seeded = seed(args.raters, args.cases)
        session_id, usernames = seeded["rating_session"], seeded["raters"]
        server.start()
        base = server.base

        results = Results()
        clock = Clock()
        threads = [
            threading.Thread(
                target=rater_loop,
                args=(base, u, session_id, clock, args.think, results),
                daemon=True,
            )
            for u in usernames
        ]
        for t in threads:  # sign everyone in first (not measured)
            t.start()
        while results.ready + len(results.errors) < len(threads):
            time.sleep(0.1)
        cpu_before = server_cpu_seconds(server.pid)
        t_start = time.monotonic()
        clock.deadline = t_start + args.seconds
        clock.start.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t_start
        cpu_used = server_cpu_seconds(server.pid) - cpu_before

        figures = verify(results.acks, len(DOMAINS))
        n = len(results.submit_ms)
        print(
            f"load_rating: {args.raters} raters, {args.seconds:.0f} s, think time ~{args.think} s, "
            f"gunicorn {args.workers} workers x {args.threads} threads, PostgreSQL"
        )
        print(
            f"  submissions acknowledged: {n} ({n / elapsed:.1f}/s); autosaves: {len(results.draft_ms)}; "
            f"retries with the same token: {results.retries}"
        )
        for name, values in (("submit", results.submit_ms), ("autosave", results.draft_ms)):
            print(
                f"  {name:<8} latency ms: p50 {percentile(values, 0.5):.1f}  p95 {percentile(values, 0.95):.1f}  "
                f"p99 {percentile(values, 0.99):.1f}  max {max(values, default=float('nan')):.1f}  "
                f"mean {statistics.fmean(values) if values else float('nan'):.1f}"
            )
        n_requests = len(results.submit_ms) + len(results.draft_ms) + results.retries
        print(
            f"  server CPU (gunicorn workers): {cpu_used:.1f} s, "
            f"{1000 * cpu_used / max(n_requests, 1):.1f} ms per request; "
            f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print("  database check: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        problems = []
        p95 = percentile(results.submit_ms, 0.95)
        if not p95 <= GOAL_P95_MS:
            problems.append(f"p95 submit latency {p95:.1f} ms > {GOAL_P95_MS:.0f} ms")
        for key in ("lost", "wrong values", "partial", "unacknowledged but stored", "duplicates"):
            if figures[key]:
                problems.append(f"{figures[key]} {key}")
        if (
            figures["stored items"] != figures["acknowledged"]
            or figures["submitted tasks"] != figures["acknowledged"]
        ):
            problems.append("stored and acknowledged submissions differ")
        if results.retry_mismatches:
            problems.append(
                f"{results.retry_mismatches} retries were not answered from the stored result"
            )
        if results.errors or results.unknown:
            problems.append(
                f"{len(results.errors)} errors, {results.unknown} unanswered requests: {results.errors[:3]}"
            )
        if n == 0:
            problems.append("nothing was submitted")
        for p in problems:
            print(f"  MISS: {p}")
        print("  goal met" if not problems else "  goal missed")
        return 1 if problems else 0
    finally:
        server.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(args.pg)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
