"""Batch API path for large runs: upload JSONL, create batches, poll, download, store once.

One advance of a batch run (:func:`run_batch_advance`) does, in order:

1. **submit** the run's pending items that are in no batch yet: each chunk (at most
   ``GENERATION_BATCH_MAX_REQUESTS`` requests and ``GENERATION_BATCH_MAX_BYTES`` bytes) gets
   a key that is written to its items and to the run *before* anything is uploaded, the
   input file id and the batch id are saved as soon as they are known, and a batch is
   created with the key in its metadata, so an interrupted submission is picked up again
   (an existing batch with that key is adopted, never created twice);
2. **poll** every batch of the run that has not been collected yet; a batch that has ended
   (completed, failed, expired or cancelled) has its output and error files downloaded and
   every line stored with :func:`readerstudy.generation.storage.item_store` (an item that
   already has a final outcome is skipped, so downloading a file twice stores nothing
   twice); items the batch returned nothing for become errors;
3. the run is left ``waiting`` while batches are open, else finished or failed.

Every step is resumable from what is stored on the run: advancing again re-polls the stored
batch ids. ``custom_id`` of a request is ``item-<item id>``.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
from django.conf import settings
from django.utils import timezone

from readerstudy.core.llm.client import Connection, error_text, sync_client_create
from readerstudy.core.llm.egress import DestinationNotAllowedError
from readerstudy.core.llm.keys import ConnectionSettingsError, server_text
from readerstudy.generation.models import GenerationItem, GenerationRun
from readerstudy.generation.prompts import Prompting, RequestBuilder
from readerstudy.generation.runner import (
    RunSummary,
    item_counts,
    run_claim,
    run_fail,
    run_finish,
    store_context,
)
from readerstudy.generation.storage import DUPLICATE, StoreContext, item_store

TERMINAL = ("completed", "failed", "expired", "cancelled")
CUSTOM_ID_PREFIX = "item-"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _endpoint(conn: Connection) -> str:
    return "/chat/completions" if conn.provider == "azure" else "/v1/chat/completions"


def _save_batches(run: GenerationRun) -> None:
    GenerationRun.objects.filter(pk=run.pk).update(batches=run.batches, heartbeat_at=timezone.now())


def run_batch_advance(
    *, run_id: int, from_statuses: tuple[str, ...] = ("queued", "waiting")
) -> RunSummary:
    """Poll, collect and submit once; leave the run waiting, finished, failed or stopped."""
    started = time.perf_counter()
    run = run_claim(run_id, from_statuses=from_statuses)
    try:
        conn = Connection.of(run.config)
        api_key = conn.api_key()
        client = sync_client_create(conn)
    except (ConnectionSettingsError, ValueError) as exc:
        run_fail(run_id, str(exc))
        raise
    secrets = (api_key,)
    ctx = store_context(run, secrets=secrets)
    stored = duplicates = 0
    try:
        with client:
            if not _stopping(run_id):
                _submit_pending(client, conn, run)
            for entry in run.batches:
                if entry.get("collected"):
                    continue
                s, d = _batch_poll(client, run, entry, ctx)
                stored, duplicates = stored + s, duplicates + d
                _save_batches(run)
            status = run_finish(run_id, stopped=True) if _stopping(run_id) else _settle(run)
    except Exception as exc:
        if isinstance(exc, (openai.APIError, DestinationNotAllowedError)):
            message = error_text(exc, secrets)
        else:
            message = server_text(f"{type(exc).__name__}: {exc}", secrets)
        run_fail(run_id, message)
        raise
    return RunSummary(
        run_id=run_id,
        status=status,
        counts=item_counts(run_id),
        requests=stored,
        duplicates=duplicates,
        seconds=time.perf_counter() - started,
    )


def _stopping(run_id: int) -> bool:
    return GenerationRun.objects.get(pk=run_id).status == GenerationRun.Status.STOPPING


def _settle(run: GenerationRun) -> str:
    if any(not entry.get("collected") for entry in run.batches):
        GenerationRun.objects.filter(pk=run.pk, status="running").update(
            status=GenerationRun.Status.WAITING,
            heartbeat_at=timezone.now(),
            message=f"{sum(not e.get('collected') for e in run.batches)} batch(es) open",
        )
        return GenerationRun.Status.WAITING
    return run_finish(run.pk, stopped=False)


def _find_batch(client: openai.OpenAI, key: str) -> Any | None:
    for batch in client.batches.list(limit=100):
        if (batch.metadata or {}).get("readerstudy_key") == key:
            return batch
    return None


def _submit_pending(client: openai.OpenAI, conn: Connection, run: GenerationRun) -> None:
    # Finish submissions that were interrupted (key known, batch id not saved).
    for entry in run.batches:
        if not entry.get("id"):
            _submit_chunk(client, conn, run, entry)
    items = (
        GenerationItem.objects.filter(run=run, status=GenerationItem.Status.PENDING, batch_id="")
        .select_related("case")
        .order_by("case__position", "case__code", "run_number")
    )
    builder = RequestBuilder(run.config.reader.study, Prompting.from_snapshot(run.config_snapshot))
    max_requests = _setting("GENERATION_BATCH_MAX_REQUESTS", 50_000)
    max_bytes = _setting("GENERATION_BATCH_MAX_BYTES", 190 * 1024 * 1024)
    chunk: list[tuple[GenerationItem, bytes]] = []
    size = 0

    def flush() -> None:
        nonlocal chunk, size
        if chunk:
            entry = {"key": uuid.uuid4().hex, "status": "preparing", "collected": False}
            for item, _ in chunk:
                item.batch_id = entry["key"]
            GenerationItem.objects.bulk_update(
                [item for item, _ in chunk], ["batch_id", "request_summary"], batch_size=500
            )
            run.batches.append(entry)
            _save_batches(run)
            _submit_chunk(client, conn, run, entry, lines=[line for _, line in chunk])
        chunk, size = [], 0

    endpoint = _endpoint(conn)
    for item in items:
        body, item.request_summary = builder.body(item.case, item.run_number)
        line = (
            json.dumps(
                {
                    "custom_id": f"{CUSTOM_ID_PREFIX}{item.pk}",
                    "method": "POST",
                    "url": endpoint,
                    "body": body,
                },
                ensure_ascii=False,
            ).encode()
            + b"\n"
        )
        if chunk and (len(chunk) >= max_requests or size + len(line) > max_bytes):
            flush()
        chunk.append((item, line))
        size += len(line)
    flush()


def _chunk_lines(run: GenerationRun, entry: dict[str, Any], conn: Connection) -> list[bytes]:
    builder = RequestBuilder(run.config.reader.study, Prompting.from_snapshot(run.config_snapshot))
    lines = []
    for item in (
        GenerationItem.objects.filter(run=run, batch_id=entry["key"])
        .select_related("case")
        .order_by("case__position", "case__code", "run_number")
    ):
        body, _ = builder.body(item.case, item.run_number)
        record = {
            "custom_id": f"{CUSTOM_ID_PREFIX}{item.pk}",
            "method": "POST",
            "url": _endpoint(conn),
            "body": body,
        }
        lines.append(json.dumps(record, ensure_ascii=False).encode() + b"\n")
    return lines


def _submit_chunk(
    client: openai.OpenAI,
    conn: Connection,
    run: GenerationRun,
    entry: dict[str, Any],
    *,
    lines: list[bytes] | None = None,
) -> None:
    existing = _find_batch(client, entry["key"])
    if existing is None:
        if not entry.get("input_file_id"):
            payload = lines if lines is not None else _chunk_lines(run, entry, conn)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"run-{run.pk}-{entry['key'][:8]}.jsonl"
                path.write_bytes(b"".join(payload))
                with path.open("rb") as fh:
                    uploaded = client.files.create(
                        file=(path.name, fh, "application/jsonl"), purpose="batch"
                    )
            entry["input_file_id"] = uploaded.id
            entry["status"] = "uploaded"
            _save_batches(run)
        existing = client.batches.create(
            input_file_id=entry["input_file_id"],
            endpoint=_endpoint(conn),  # type: ignore[arg-type]
            completion_window="24h",
            metadata={"readerstudy_key": entry["key"], "readerstudy_run": str(run.pk)},
        )
    entry["id"] = existing.id
    entry["input_file_id"] = existing.input_file_id
    entry["status"] = existing.status
    _save_batches(run)


def _batch_poll(
    client: openai.OpenAI, run: GenerationRun, entry: dict[str, Any], ctx: StoreContext
) -> tuple[int, int]:
    if not entry.get("id"):
        return 0, 0
    batch = client.batches.retrieve(entry["id"])
    entry["status"] = batch.status
    counts = batch.request_counts
    if counts is not None:
        entry["request_counts"] = {
            "total": counts.total,
            "completed": counts.completed,
            "failed": counts.failed,
        }
    if batch.status not in TERMINAL:
        return 0, 0
    entry["output_file_id"] = batch.output_file_id or ""
    entry["error_file_id"] = batch.error_file_id or ""
    stored = duplicates = 0
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        text = client.files.content(file_id).text
        s, d = _store_lines(text, run, entry, ctx)
        stored, duplicates = stored + s, duplicates + d
    missing = GenerationItem.objects.filter(run=run, batch_id=entry["key"]).exclude(
        status__in=GenerationItem.FINAL
    )
    for item_id in missing.filter(status=GenerationItem.Status.PENDING).values_list(
        "pk", flat=True
    ):
        item_store(
            item_id=item_id,
            ctx=ctx,
            body=None,
            error=f"the batch {entry['id']} ended ({batch.status}) without a result for this item",
        )
    entry["collected"] = True
    return stored, duplicates


def _store_lines(
    text: str, run: GenerationRun, entry: dict[str, Any], ctx: StoreContext
) -> tuple[int, int]:
    stored = duplicates = 0
    own = set(
        GenerationItem.objects.filter(run=run, batch_id=entry["key"]).values_list("pk", flat=True)
    )
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        custom_id = str(record.get("custom_id", ""))
        if not custom_id.startswith(CUSTOM_ID_PREFIX):
            continue
        try:
            item_id = int(custom_id[len(CUSTOM_ID_PREFIX) :])
        except ValueError:
            continue
        if item_id not in own:
            continue
        response = record.get("response") or {}
        status_code = response.get("status_code")
        log = [{"attempt": 1, "status": status_code, "batch": entry["id"]}]
        if status_code == 200 and isinstance(response.get("body"), dict):
            result = item_store(
                item_id=item_id, ctx=ctx, body=response["body"], attempts=1, attempt_log=log
            )
        else:
            error = record.get("error") or response.get("body") or {}
            result = item_store(
                item_id=item_id,
                ctx=ctx,
                body=None,
                error=f"HTTP {status_code}: "
                + server_text(json.dumps(error, ensure_ascii=False), ctx.secrets),
                attempts=1,
                attempt_log=log,
            )
        if result == DUPLICATE:
            duplicates += 1
        else:
            stored += 1
    return stored, duplicates


def run_batch_cancel(*, run: GenerationRun) -> list[str]:
    """Ask the server to cancel the run's open batches; returns problems (empty if none)."""
    problems: list[str] = []
    try:
        client = sync_client_create(Connection.of(run.config))
    except (ConnectionSettingsError, ValueError) as exc:
        return [str(exc)]
    with client:
        for entry in run.batches:
            if entry.get("id") and entry.get("status") not in TERMINAL:
                try:
                    batch = client.batches.cancel(entry["id"])
                    entry["status"] = batch.status
                except (openai.APIError, DestinationNotAllowedError) as exc:
                    problems.append(f"batch {entry['id']}: {error_text(exc)}")
    _save_batches(run)
    return problems


def run_batch_wait(
    *,
    run_id: int,
    interval: float,
    on_advance: Callable[[RunSummary], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunSummary:
    """Advance the run until no batch is open (for the command's ``--wait``)."""
    summary = run_batch_advance(run_id=run_id)
    while True:
        if on_advance is not None:
            on_advance(summary)
        if summary.status != GenerationRun.Status.WAITING:
            return summary
        sleep(interval)
        summary = run_batch_advance(run_id=run_id, from_statuses=("waiting",))
