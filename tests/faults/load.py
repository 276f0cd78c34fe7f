"""Raters and readers submitting against a live server while something breaks, and the
exactly-once check of what they were told was saved.

Every client retries a request that got no acknowledgement (connection refused or cut off,
timeout, 5xx) with the same body, so the same idempotency token, until it is acknowledged; any
other answer (4xx) is an error. Rater: per item, read the draft version, autosave a partial draft, submit
the nine scores (the JSON endpoints of the item page). Reader: per case, open the case page,
post the answer form (acknowledged by the redirect to the next case).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.liveserver import DOMAINS, Gunicorn, free_port, manage, server_env, sign_in

GIVE_UP_S = 120.0  # a request still unacknowledged after this long is a failure of the test
TIMEOUT_S = 30.0


class Unexpected(RuntimeError):
    """An answer that is neither an acknowledgement nor a reason to retry."""


@dataclass
class Load:
    """What the clients did and were told (thread-safe through ``lock``)."""

    rating_acks: list[dict[str, Any]] = field(default_factory=list)
    reading_acks: list[dict[str, Any]] = field(default_factory=list)
    attempted: int = 0  # submits (distinct tokens) sent at least once
    resent: int = 0  # extra sends of a submit after no acknowledgement
    failed_then_retried: int = 0  # submits whose first send was not acknowledged
    reading_failed_then_retried: int = 0  # of which reader submits
    replayed: int = 0  # rating acks answered from the stored result (stored, answer lost)
    other_failures: int = 0  # unacknowledged page loads, autosaves, version reads
    failures: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, kind
    successes: list[float] = field(default_factory=list)  # end of every acknowledged request
    errors: list[str] = field(default_factory=list)
    signed_in: int = 0
    submits_in_flight: int = 0
    finished: int = 0
    start: threading.Event = field(default_factory=threading.Event)  # every client signed in
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> int:
        return len(self.rating_acks) + len(self.reading_acks)

    def failure(self, started: float, kind: str) -> None:
        with self.lock:
            self.failures.append((started, time.monotonic(), kind))

    def other(self, unacked: int) -> None:
        with self.lock:
            self.other_failures += unacked

    def success(self) -> None:
        with self.lock:
            self.successes.append(time.monotonic())


def send_until_acknowledged(
    load: Load,
    send: Callable[[], requests.Response],
    acknowledged: Callable[[requests.Response], bool],
    *,
    submit: bool = False,
) -> tuple[requests.Response, int]:
    """Send until acknowledged; the answer and the number of unacknowledged sends before it."""
    unacked = 0
    give_up = time.monotonic() + GIVE_UP_S
    while True:
        started = time.monotonic()
        try:
            if submit:
                with load.lock:
                    load.submits_in_flight += 1
            try:
                response = send()
            finally:
                if submit:
                    with load.lock:
                        load.submits_in_flight -= 1
        except requests.RequestException as exc:  # refused, reset, timed out, cut short
            kind = type(exc).__name__
        else:
            if acknowledged(response):
                load.success()
                return response, unacked
            if response.status_code < 500:
                raise Unexpected(f"{response.status_code}: {response.text[:300]}")
            kind = f"HTTP {response.status_code}"
        load.failure(started, kind)
        unacked += 1
        if time.monotonic() > give_up:
            raise Unexpected(f"no acknowledgement after {GIVE_UP_S:.0f} s (last: {kind})")
        time.sleep(min(0.05 * 2**unacked, 1.0))


def _count_submit(load: Load, unacked: int, *, reading: bool = False) -> None:
    with load.lock:
        load.attempted += 1
        load.resent += unacked
        load.failed_then_retried += 1 if unacked else 0
        load.reading_failed_then_retried += 1 if unacked and reading else 0


def _signed_in(load: Load, base: str, username: str) -> tuple[requests.Session, dict[str, str]]:
    http = requests.Session()
    sign_in(http, base, username)
    with load.lock:
        load.signed_in += 1
    load.start.wait()
    return http, {"X-CSRFToken": http.cookies["csrftoken"], "Referer": base + "/"}


def rater(
    base: str, username: str, session_id: int, stop: threading.Event, think: float, load: Load
) -> None:
    rng = random.Random(username)
    keys = [k for k, _, _ in DOMAINS]
    try:
        http, headers = _signed_in(load, base, username)
        response, _ = send_until_acknowledged(
            load,
            lambda: http.get(
                f"{base}/rating/sessions/{session_id}/resume/",
                allow_redirects=False,
                timeout=TIMEOUT_S,
            ),
            lambda r: r.status_code == 302,
        )
        item: str | None = response.headers["Location"]
        while item and not stop.is_set():
            url = f"{base}{item}"
            public_id = item.rstrip("/").rsplit("/", 1)[1]
            scores = {k: rng.randint(1, 5) for k in keys}
            answer, unacked = send_until_acknowledged(
                load,
                lambda url=url: http.get(f"{url}draft.json", timeout=TIMEOUT_S),
                lambda r: r.status_code == 200,
            )
            load.other(unacked)
            time.sleep(think * rng.uniform(0.5, 1.5))
            draft = {"version": answer.json()["version"], "scores": dict(list(scores.items())[:5])}
            # A resent autosave whose first send was stored is answered 409 with the version.
            answer, unacked = send_until_acknowledged(
                load,
                lambda url=url, draft=draft: http.post(
                    f"{url}draft.json", json=draft, headers=headers, timeout=TIMEOUT_S
                ),
                lambda r: r.status_code in (200, 409) and "version" in r.json(),
            )
            load.other(unacked)
            time.sleep(think * rng.uniform(0.5, 1.5))
            body = {
                "token": str(uuid.uuid4()),
                "version": answer.json()["version"],
                "scores": scores,
            }
            answer, unacked = send_until_acknowledged(
                load,
                lambda url=url, body=body: http.post(
                    f"{url}submit.json", json=body, headers=headers, timeout=TIMEOUT_S
                ),
                lambda r: r.status_code == 200,
                submit=True,
            )
            _count_submit(load, unacked)
            result = answer.json()
            with load.lock:
                load.rating_acks.append(
                    {"rater": username, "item": public_id, "token": body["token"], "scores": scores}
                )
                load.replayed += 1 if result["replayed"] else 0
            item = result["next"]
    except Exception as exc:
        with load.lock:
            load.errors.append(f"{username}: {type(exc).__name__}: {exc}")
        return
    with load.lock:
        load.finished += 1


def reader(
    base: str, username: str, token: str, stop: threading.Event, think: float, load: Load
) -> None:
    rng = random.Random(username)
    try:
        http, _ = _signed_in(load, base, username)
        position = 1
        while position and not stop.is_set():
            url = f"{base}/reading/{token}/{position}/"
            _, unacked = send_until_acknowledged(
                load,
                lambda url=url: http.get(url, timeout=TIMEOUT_S),
                lambda r: r.status_code == 200,
            )
            load.other(unacked)
            time.sleep(think * rng.uniform(0.5, 1.5))
            form = {
                "category": rng.randint(0, 6),
                "probability": rng.randint(0, 100),
                "impression": f"Impression {rng.randint(1, 10**9)} of case {position}.",
                "token": str(uuid.uuid4()),
                "version": 0,
                "active_seconds": round(rng.uniform(1, 5), 1),
            }
            answer, unacked = send_until_acknowledged(
                load,
                lambda url=url, form=form: http.post(
                    url,
                    data={**form, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                    headers={"Referer": url},
                    allow_redirects=False,
                    timeout=TIMEOUT_S,
                ),
                lambda r: r.status_code == 302,
                submit=True,
            )
            _count_submit(load, unacked, reading=True)
            with load.lock:
                load.reading_acks.append({"reader": username, "position": position, **form})
            following = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
            position = int(following) if following.isdigit() else 0
    except Exception as exc:
        with load.lock:
            load.errors.append(f"{username}: {type(exc).__name__}: {exc}")
        return
    with load.lock:
        load.finished += 1


@dataclass
class Run:
    load: Load
    disrupted_at: float  # monotonic time of the fault
    recovered_at: float  # monotonic time the server (or database) was back
    load_seconds: float

    @property
    def downtime(self) -> float:
        """From the fault to the first acknowledged request after the service was back."""
        return self.first_ack_after_recovery - self.disrupted_at

    @property
    def first_ack_after_recovery(self) -> float:
        after = [t for t in self.load.successes if t > self.recovered_at]
        return min(after) if after else float("nan")

    def figures(self) -> dict[str, Any]:
        load = self.load
        return {
            "submits attempted": load.attempted,
            "acknowledged": load.acknowledged,
            "acknowledged readings": len(load.reading_acks),
            "resends": load.resent,
            "failed then retried": load.failed_then_retried,
            "failed then retried readings": load.reading_failed_then_retried,
            "stored but unacknowledged (replayed)": load.replayed,
            "other requests failed then retried": load.other_failures,
            "failed requests": len(load.failures),
            "requests ok before fault": sum(1 for t in load.successes if t < self.disrupted_at),
            "requests ok after recovery": sum(1 for t in load.successes if t > self.recovered_at),
            "downtime s": round(self.downtime, 2),
            "load s": round(self.load_seconds, 1),
        }


def run_load(
    base: str,
    seeded: dict[str, Any],
    *,
    fault: Callable[[], None],
    fault_after: float,
    after_recovery: float = 4.0,
    think: float = 0.1,
) -> Run:
    """Sign every client in, start them, run ``fault`` (which returns once the service is back)
    after ``fault_after`` seconds, at the first moment a submit is in flight; let the clients
    work ``after_recovery`` seconds more, then finish their current submit and stop."""
    load = Load()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=rater, args=(base, u, seeded["rating_session"], stop, think, load), daemon=True
        )
        for u in seeded["raters"]
    ] + [
        threading.Thread(target=reader, args=(base, u, t, stop, think, load), daemon=True)
        for u, t in seeded["readers"].items()
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + GIVE_UP_S
    while load.signed_in + len(load.errors) < len(threads) and time.monotonic() < deadline:
        time.sleep(0.1)
    t0 = time.monotonic()
    load.start.set()
    time.sleep(fault_after)
    # ... and then at the next moment a submit is on its way, so the fault surely hits one.
    wait_until = time.monotonic() + 10
    while load.submits_in_flight == 0 and time.monotonic() < wait_until:
        time.sleep(0.001)
    disrupted_at = time.monotonic()
    try:
        fault()
    finally:
        recovered_at = time.monotonic()
        time.sleep(after_recovery)
        stop.set()
        for t in threads:
            t.join(timeout=GIVE_UP_S + TIMEOUT_S)
    if any(t.is_alive() for t in threads):
        load.errors.append("a client did not finish")
    return Run(load, disrupted_at, recovered_at, time.monotonic() - t0)


def check_exactly_once(run: Run, stored: dict[str, Any], *, n_clients: int) -> None:
    """Every acknowledged submit is stored exactly once with its values; nothing else is."""
    load = run.load
    assert not load.errors, load.errors[:5]
    assert load.finished == n_clients
    assert load.attempted == load.acknowledged  # every submit was acknowledged in the end
    assert load.failed_then_retried >= 1, "the fault hit no submit: the test proved nothing"
    figures = run.figures()
    assert figures["requests ok before fault"] > 0
    assert figures["requests ok after recovery"] > 0
    # The clients' resends are acknowledged as soon as the service is back (their back-off
    # is at most 1 s).
    assert run.first_ack_after_recovery - run.recovered_at < 10.0
    # Requests fail only while the service is down: none answered before the fault (those in
    # flight at the fault fail at it), and none sent after it is back (the server recovers at
    # once, with no failing request to pay for it).
    early = sum(end < run.disrupted_at for _, end, _ in load.failures)
    late = sum(start > run.recovered_at for start, _, _ in load.failures)
    assert (early, late) == (0, 0), f"{early} failures before the fault, {late} after recovery"

    # Rating: one submitted task per acknowledged item, with the token and all nine scores.
    acked = {(a["rater"], a["item"]): a for a in load.rating_acks}
    assert len(acked) == len(load.rating_acks), "an item was acknowledged twice"
    rows = {(r["rater"], r["item"]): r for r in stored["rating"]}
    assert len(rows) == len(stored["rating"])
    assert set(rows) == set(acked), "stored and acknowledged rating submits differ"
    for key, ack in acked.items():
        assert rows[key]["token"] == ack["token"], key
        assert rows[key]["scores"] == ack["scores"], key  # complete: all nine, these values
    assert stored["score_duplicates"] == 0
    assert stored["scores_without_task"] == 0  # nothing partial or stray

    # Reading: one reading per acknowledged case with the sent answer, one submit row each.
    acked_reads = {(a["reader"], a["position"]): a for a in load.reading_acks}
    assert len(acked_reads) == len(load.reading_acks), "a case was acknowledged twice"
    reads = {(r["reader"], r["position"]): r for r in stored["reading"]}
    assert len(reads) == len(stored["reading"])
    assert set(reads) == set(acked_reads), "stored and acknowledged reading submits differ"
    assert stored["entered_readings"] == len(acked_reads)  # no reading outside a work item
    for key, ack in acked_reads.items():
        got = reads[key]
        assert (got["category"], got["score"], got["impression"]) == (
            ack["category"],
            ack["probability"] / 100,
            ack["impression"],
        ), key
    submissions = stored["submissions"]
    assert len(submissions) == len(acked_reads)  # a resend adds no submission row
    for key, ack in acked_reads.items():
        assert submissions[ack["token"]] == [*key, "saved"], key


@contextmanager
def live_server(database_url: str, var_dir: Path, **seed: int) -> Iterator[tuple[Gunicorn, dict]]:
    """Migrate and seed ``database_url``, serve it with gunicorn; stop the server afterwards
    (its log is printed when the block fails)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url, var_dir)
    args = [f"--{k}={v}" for k, v in seed.items()]
    t0 = time.monotonic()
    seeded = json.loads(manage(env, "prepare", *args))
    print(f"\n[faults] migrate, collectstatic and seed: {time.monotonic() - t0:.1f} s")
    # --preload: the app is imported once, in the master, before the workers fork (a restart
    # on a busy two-core machine takes half as long).
    server = Gunicorn(
        env, free_port(), workers=2, threads=4, preload=True, log=var_dir / "gunicorn.log"
    )
    try:
        print(f"[faults] gunicorn start: {server.start():.1f} s")
        yield server, seeded
    except BaseException:
        print((var_dir / "gunicorn.log").read_text(errors="replace")[-5000:])
        raise
    finally:
        server.stop()


def report(name: str, run: Run) -> dict[str, Any]:
    figures = run.figures()
    print(f"\n[faults] {name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    kinds: dict[str, int] = {}
    for _, _, kind in run.load.failures:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"[faults] {name}: failures by kind: {kinds}")
    return figures


def stored(server: Gunicorn) -> dict[str, Any]:
    """What the server's database holds (read by a child process with the server's settings)."""
    return json.loads(manage(server.env, "stored"))
