"""Direct generation: one fresh chat request per (case, run), a bounded number in flight.

Requests run on an asyncio event loop in a helper thread with the official async client;
the calling thread builds the requests, keeps at most ``concurrency`` of them in flight and
stores each result as it arrives (:func:`readerstudy.generation.storage.item_store`). All
database work therefore happens in the caller's thread and connection (a Celery worker, a
management command, a test), and results are written one at a time.

Between results the runner refreshes the run's heartbeat and looks at its status: when the
page or the command has set it to ``stopping`` no new request is sent, the requests in
flight are awaited and stored, and the run becomes ``stopped``. A stopped or failed run is
resumed by running it again: items with a final outcome (done, refused, unparseable) are
skipped, pending and failed ones are sent.
"""

from __future__ import annotations

import concurrent.futures
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from readerstudy.core.llm.client import (
    CallResult,
    Connection,
    RetryPolicy,
    async_client_create,
    chat_completion_with_retries,
)
from readerstudy.core.llm.keys import ConnectionSettingsError, server_text
from readerstudy.core.llm.loop import EventLoopThread
from readerstudy.generation.models import GenerationItem, GenerationRun
from readerstudy.generation.prompts import Prompting, RequestBuilder
from readerstudy.generation.storage import DUPLICATE, Delivery, StoreContext, items_store


class RunNotClaimableError(Exception):
    """The run is not waiting to be executed (another worker has it, or it was stopped)."""


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: str
    counts: dict[str, int]
    requests: int
    duplicates: int
    seconds: float


def store_context(run: GenerationRun, *, secrets: tuple[str, ...] = ()) -> StoreContext:
    reader = run.config.reader
    prompting = Prompting.from_snapshot(run.config_snapshot)
    return StoreContext(
        reader_id=reader.pk,
        reader_code=reader.code,
        categories=frozenset(reader.study.categories),
        schema=prompting.response_schema if prompting.response_format != "none" else None,
        secrets=secrets,
    )


def run_claim(run_id: int, *, from_statuses: tuple[str, ...] = ("queued",)) -> GenerationRun:
    """Move the run from ``from_statuses`` to running, atomically; else RunNotClaimableError."""
    now = timezone.now()
    claimed = GenerationRun.objects.filter(pk=run_id, status__in=from_statuses).update(
        status=GenerationRun.Status.RUNNING,
        started_at=Coalesce("started_at", now),
        heartbeat_at=now,
        finished_at=None,
        message="",
    )
    if not claimed:
        status = GenerationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
        raise RunNotClaimableError(f"run {run_id} is {status or 'gone'}, not queued")
    return GenerationRun.objects.select_related("config__reader__study").get(pk=run_id)


def run_finish(run_id: int, *, stopped: bool, message: str = "") -> str:
    """Close a running (or stopping) run: stopped, finished, or failed when items are left."""
    left = (
        GenerationItem.objects.filter(run_id=run_id)
        .exclude(status__in=GenerationItem.FINAL)
        .count()
    )
    if stopped:
        status = GenerationRun.Status.STOPPED
        message = message or f"stopped; {left} item{'s' if left != 1 else ''} left to resume"
    elif left:
        status = GenerationRun.Status.FAILED
        message = message or (
            f"{left} item{'s' if left != 1 else ''} without an answer after retries; "
            "resume the run to try them again"
        )
    else:
        status = GenerationRun.Status.FINISHED
    GenerationRun.objects.filter(pk=run_id, status__in=("running", "stopping")).update(
        status=status, finished_at=timezone.now(), heartbeat_at=timezone.now(), message=message
    )
    return status


def run_fail(run_id: int, message: str) -> None:
    GenerationRun.objects.filter(pk=run_id).filter(
        Q(status="running") | Q(status="stopping") | Q(status="queued")
    ).update(status=GenerationRun.Status.FAILED, finished_at=timezone.now(), message=message)


def _heartbeat(run_id: int) -> str:
    GenerationRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
    return GenerationRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or ""


def run_execute(
    *,
    run_id: int,
    show_progress: bool = False,
    on_result: Callable[[str], None] | None = None,
    check_interval: float = 0.25,
) -> RunSummary:
    """Execute a queued direct run to its end (or until it is stopped)."""
    started = time.perf_counter()
    run = run_claim(run_id)
    config = run.config
    try:
        conn = Connection.of(config)
        conn.route()
        api_key = conn.api_key()
    except (ConnectionSettingsError, ValueError) as exc:
        run_fail(run_id, str(exc))
        raise
    secrets = (api_key,)
    ctx = store_context(run, secrets=secrets)
    builder = RequestBuilder(config.reader.study, Prompting.from_snapshot(run.config_snapshot))
    policy = RetryPolicy.for_config(config.max_attempts)
    concurrency = max(1, config.concurrency)
    items = list(
        GenerationItem.objects.filter(run_id=run_id)
        .exclude(status__in=GenerationItem.FINAL)
        .select_related("case")
        .order_by("case__position", "case__code", "run_number")
    )
    total = GenerationItem.objects.filter(run_id=run_id).count()
    requests = duplicates = 0
    stopped = False
    try:
        from tqdm import tqdm

        with (
            EventLoopThread() as loop,
            tqdm(
                total=total,
                initial=total - len(items),
                disable=not show_progress,
                unit="item",
                desc=f"run {run_id}",
            ) as bar,
        ):

            async def make_client() -> Any:
                return async_client_create(conn)

            client = loop.submit(make_client()).result()
            rng = random.Random()
            inflight: dict[concurrent.futures.Future[CallResult], tuple[GenerationItem, dict]] = {}
            queue = iter(items)
            exhausted = False
            last_check = 0.0
            try:
                while True:
                    while not stopped and not exhausted and len(inflight) < concurrency:
                        item = next(queue, None)
                        if item is None:
                            exhausted = True
                            break
                        body, summary = builder.body(item.case, item.run_number)
                        future = loop.submit(
                            chat_completion_with_retries(
                                client, body, policy, secrets=secrets, rng=rng
                            )
                        )
                        inflight[future] = (item, summary)
                    if not inflight:
                        break
                    done, _ = concurrent.futures.wait(
                        inflight,
                        timeout=check_interval,
                        return_when=concurrent.futures.FIRST_COMPLETED,
                    )
                    deliveries = []
                    for future in done:
                        item, summary = inflight.pop(future)
                        result = future.result()
                        requests += result.attempts
                        deliveries.append(
                            Delivery(
                                item_id=item.pk,
                                body=result.body if result.ok else None,
                                error=result.error,
                                latency_ms=result.latency_ms,
                                attempts=result.attempts,
                                attempt_log=tuple(result.log),
                                request_summary=summary,
                            )
                        )
                    # The results that arrived together are stored in one transaction.
                    for status in items_store(ctx=ctx, deliveries=deliveries) if deliveries else ():
                        if status == DUPLICATE:
                            duplicates += 1
                        bar.update(1)
                        if on_result is not None:
                            on_result(status)
                    now = time.monotonic()
                    if now - last_check >= check_interval:
                        last_check = now
                        if _heartbeat(run_id) == GenerationRun.Status.STOPPING:
                            stopped = True
            finally:
                for future in inflight:
                    future.cancel()
                loop.submit(client.close()).result(timeout=10)
    except KeyboardInterrupt:
        run_finish(run_id, stopped=True, message="interrupted; resume the run to continue")
        raise
    except Exception as exc:
        run_fail(run_id, server_text(f"{type(exc).__name__}: {exc}", secrets))
        raise
    if not stopped and _heartbeat(run_id) == GenerationRun.Status.STOPPING:
        stopped = bool(
            GenerationItem.objects.filter(run_id=run_id)
            .exclude(status__in=GenerationItem.FINAL)
            .exists()
        )
    status = run_finish(run_id, stopped=stopped)
    return RunSummary(
        run_id=run_id,
        status=status,
        counts=item_counts(run_id),
        requests=requests,
        duplicates=duplicates,
        seconds=time.perf_counter() - started,
    )


def item_counts(run_id: int) -> dict[str, int]:
    from django.db.models import Count

    counts = {s: 0 for s, _ in GenerationItem.Status.choices}
    for row in (
        GenerationItem.objects.filter(run_id=run_id)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    ):
        counts[row["status"]] = row["n"]
    return counts


def stale_after() -> float:
    """Seconds without a heartbeat after which an active run is considered dead."""
    return float(getattr(settings, "GENERATION_STALE_SECONDS", 120))
