"""Load test of Likert rating: concurrent raters autosaving and submitting against a real server.

    python bench/load_rating.py [--seconds 120] [--raters 50] [--think 0.5] [--workers 2]

What it does:

1. creates the PostgreSQL database ``readerstudy_loadtest`` (dropped first; set the server with
   ``--pg``, default ``postgres://postgres@127.0.0.1:5432``), migrates it and seeds a study with
   nine domains, nine readers, enough outputs and ``--raters`` rater accounts, and one open
   rating session in which every rater scores every output in their own random order;
2. runs ``ANALYZE`` (a database in use has planner statistics), starts gunicorn (gthread
   workers, ``--workers`` x ``--threads``) on 127.0.0.1 with production settings (DEBUG off,
   persistent database connections);
3. signs every rater in through the login form (not measured), then runs all raters at once
   from one start line, each on its own keep-alive connection with its own session cookie
   (asyncio in this process: a small HTTP/1.1 client costing about half a millisecond of CPU
   per request, so the load generator takes little of the CPU the server needs). A rater
   resumes, then for each item autosaves a partial draft and submits the nine scores (the
   JSON endpoints the item page uses), waiting a think time drawn uniformly from
   0.5-1.5 x ``--think`` seconds (default 1 s, so about one request per second per rater)
   before each request; about one submission in twenty is sent twice with the same token, as
   a client retry would. Latency is measured around each request as the client sees it:
   from writing the request to having read the whole response;
4. reports p50/p95/p99 latency of the submissions (and of the autosaves) and the throughput,
   then checks in the database that every acknowledged submission is stored exactly once
   (nine scores, the submitted values), that nothing unacknowledged is stored, partially or
   not, and that no score is duplicated.

Exit status 1 when the p95 submission latency exceeds 100 ms or anything is lost, duplicated or
partially stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def signed_in_cookies(base: str, username: str) -> dict[str, str]:
    """Sign in through the login form (not measured); return the session's cookies."""
    for attempt in range(3):  # retry a dropped connection
        http = requests.Session()
        try:
            sign_in(http, base, username)
        except requests.ConnectionError:
            if attempt == 2:
                raise
            continue
        return dict(http.cookies)
    raise RuntimeError(f"sign-in of {username} failed")


class HttpError(Exception):
    pass


class Connection:
    """One rater's keep-alive HTTP/1.1 connection, as a browser tab holds one.

    A deliberately small client (asyncio streams, Content-Length bodies only): the load
    generator shares the machine's cores with the server, and a heavy client (one ``requests``
    session per thread, 50 threads competing for the GIL) both steals CPU from the server and
    adds its own queueing to every measured latency.
    """

    def __init__(self, host: str, port: int, cookies: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.headers = (
            f"Host: {host}:{port}\r\nCookie: {cookie}\r\n"
            f"X-CSRFToken: {cookies['csrftoken']}\r\nReferer: http://{host}:{port}/\r\n"
        ).encode()

    async def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self.headers
        if body is not None:
            head += b"Content-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n".encode()
        self.writer.write(head + data)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("connection closed by the server")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def rater_loop(
    conn: Connection,
    username: str,
    session_id: int,
    start: asyncio.Event,
    deadline: list[float],
    think: float,
    out: Results,
) -> None:
    """One rater: resume, then autosave and submit each item with a think time before each."""
    rng = random.Random(username)
    await start.wait()
    try:
        status, headers, _ = await conn.request("GET", f"/rating/sessions/{session_id}/resume/")
        item: str | None = headers["location"]
    except Exception as exc:
        out.errors.append(f"{username}: setup: {exc!r}")
        return
    keys = [k for k, _, _ in DOMAINS]
    while item and time.monotonic() < deadline[0]:
        public_id = item.rstrip("/").rsplit("/", 1)[1]
        scores = {k: rng.randint(1, 5) for k in keys}
        try:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            t0 = time.perf_counter()
            status, _, content = await asyncio.wait_for(
                conn.request(
                    "POST",
                    f"{item}draft.json",
                    {"version": 0, "scores": dict(list(scores.items())[:5])},
                ),
                30,
            )
            draft_ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                raise HttpError(f"draft {status}: {content[:200]!r}")
            version = json.loads(content)["version"]
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            body = {"token": str(uuid.uuid4()), "version": version, "scores": scores}
            t0 = time.perf_counter()
            status, _, content = await asyncio.wait_for(
                conn.request("POST", f"{item}submit.json", body), 30
            )
            submit_ms = (time.perf_counter() - t0) * 1000
        except TimeoutError:
            out.unknown += 1
            return
        except Exception as exc:
            out.errors.append(f"{username}: {exc!r}")
            return
        if status != 200:
            out.errors.append(f"{username}: submit {status}: {content[:200]!r}")
            return
        answer = json.loads(content)
        out.draft_ms.append(draft_ms)
        out.submit_ms.append(submit_ms)
        out.acks.append(Ack(username, public_id, scores))
        if rng.random() < 0.05:  # a client retry of the same submission
            try:
                status, _, content = await asyncio.wait_for(
                    conn.request("POST", f"{item}submit.json", body), 30
                )
            except Exception as exc:
                out.errors.append(f"{username}: retry: {exc!r}")
                return
            out.retries += 1
            if status != 200 or not json.loads(content).get("replayed"):
                out.retry_mismatches += 1
        item = answer["next"]
    out.finished += 1


async def run_raters(
    port: int,
    cookies: dict[str, dict[str, str]],
    session_id: int,
    seconds: float,
    think: float,
    out: Results,
    on_start: Callable[[], None],
) -> float:
    """Every rater at once from the same start line; the elapsed seconds."""
    start = asyncio.Event()
    deadline = [0.0]
    conns = {u: Connection("127.0.0.1", port, c) for u, c in cookies.items()}
    tasks = [
        asyncio.create_task(rater_loop(conn, u, session_id, start, deadline, think, out))
        for u, conn in conns.items()
    ]
    on_start()
    t_start = time.monotonic()
    deadline[0] = t_start + seconds
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t_start
    for conn in conns.values():
        conn.close()
    return elapsed


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
    port = free_port()
    server = Gunicorn(
        env, port, workers=args.workers, threads=args.threads, worker_class=args.worker_class
    )
    try:
        for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
        seeded = seed(args.raters, args.cases)
        session_id, usernames = seeded["rating_session"], seeded["raters"]
        from django.db import connection

        with connection.cursor() as cursor:  # statistics, as a database in use has them
            cursor.execute("ANALYZE")
        server.start()
        base = server.base

        results = Results()
        with ThreadPoolExecutor(max_workers=8) as pool:  # sign everyone in first (not measured)
            cookies = dict(
                zip(
                    usernames,
                    pool.map(lambda u: signed_in_cookies(base, u), usernames),
                    strict=True,
                )
            )
        marks: dict[str, float] = {}

        def on_start() -> None:
            marks["server"] = server_cpu_seconds(server.pid)
            marks["client"] = time.process_time()

        elapsed = asyncio.run(
            run_raters(port, cookies, session_id, args.seconds, args.think, results, on_start)
        )
        cpu_used = server_cpu_seconds(server.pid) - marks["server"]
        client_cpu = time.process_time() - marks["client"]

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
            f"{1000 * cpu_used / max(n_requests, 1):.1f} ms per request; load generator "
            f"{client_cpu:.1f} s, {1000 * client_cpu / max(n_requests, 1):.2f} ms per request; "
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
