"""Store what came back for an item, exactly once, and make its reading.

:func:`items_store` (and :func:`item_store` for one) is the only writer of outcomes (direct
requests and Batch API results alike). In one transaction, for each result, it locks the item, returns without writing when the item already
has a final outcome (so a result delivered twice is stored once), records the raw answer,
the parsed fields, tokens, latency and every attempt, and for a parsed answer creates the
``Reading`` (reader = the configuration's reader, run = the item's run number, modality 1,
source ``generated``). The reading's uniqueness (reader, case, run, modality) is a database
constraint, so a second reading cannot appear whatever happens; an existing reading (for
example an imported one) is never overwritten: the item is marked as an error instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.core.llm.keys import NO_KEY, redact
from readerstudy.generation.models import GenerationItem
from readerstudy.generation.parsing import outcome_from_completion
from readerstudy.studies.models import Reading

DUPLICATE = "duplicate"


@dataclass(frozen=True)
class StoreContext:
    """What every item of a run needs to be stored."""

    reader_id: int
    reader_code: str
    categories: frozenset[int]
    schema: dict[str, Any] | None
    secrets: tuple[str, ...] = ()


def _redacted_json(value: Any, secrets: tuple[str, ...]) -> Any:
    if not any(s and s != NO_KEY for s in secrets):
        return value
    return json.loads(redact(json.dumps(value), secrets))


@dataclass(frozen=True)
class Delivery:
    """One result to store: the answer ``body`` (a chat completion) or an ``error``."""

    item_id: int
    body: dict[str, Any] | None
    error: str = ""
    latency_ms: int | None = None
    attempts: int = 0
    attempt_log: tuple[dict[str, Any], ...] = ()
    request_summary: dict[str, Any] | None = None


def item_store(
    *,
    item_id: int,
    ctx: StoreContext,
    body: dict[str, Any] | None,
    error: str = "",
    latency_ms: int | None = None,
    attempts: int = 0,
    attempt_log: list[dict[str, Any]] | None = None,
    request_summary: dict[str, Any] | None = None,
) -> str:
    """Record the answer ``body`` (a chat completion) or the ``error`` of one item.

    Returns the item's new status, or ``DUPLICATE`` when it already had a final outcome.
    """
    delivery = Delivery(
        item_id, body, error, latency_ms, attempts, tuple(attempt_log or ()), request_summary
    )
    return items_store(ctx=ctx, deliveries=[delivery])[0]


def items_store(*, ctx: StoreContext, deliveries: list[Delivery]) -> list[str]:
    """Store several results in one transaction (each exactly once); their new statuses."""
    with transaction.atomic():
        return [_store_one(ctx, d) for d in deliveries]


def _store_one(ctx: StoreContext, d: Delivery) -> str:
    item = GenerationItem.objects.select_for_update().get(pk=d.item_id)
    if item.status in GenerationItem.FINAL:
        return DUPLICATE
    item.attempts += d.attempts
    item.attempt_log = [*item.attempt_log, *d.attempt_log]
    if d.request_summary is not None:
        item.request_summary = d.request_summary
    if d.latency_ms is not None:
        item.latency_ms = d.latency_ms
    item.completed_at = timezone.now()
    if d.body is None:
        item.status = GenerationItem.Status.ERROR
        item.error = redact(d.error, ctx.secrets) or "no answer"
        item.save()
        return item.status
    item.raw_response = _redacted_json(d.body, ctx.secrets)
    outcome = outcome_from_completion(d.body, categories=ctx.categories, schema=ctx.schema)
    item.raw_text = redact(outcome.raw_text, ctx.secrets)
    item.parsed = outcome.parsed
    item.refusal = outcome.refusal
    item.finish_reason = outcome.finish_reason
    item.prompt_tokens = outcome.prompt_tokens
    item.completion_tokens = outcome.completion_tokens
    item.error = outcome.error
    item.status = outcome.status
    if outcome.status == GenerationItem.Status.DONE:
        assert outcome.category is not None
        reading, problem = _reading_create(item, ctx, outcome.category, outcome.impression)
        if reading is None:
            item.status = GenerationItem.Status.ERROR
            item.error = problem
        item.reading = reading
    item.save()
    return item.status


def _reading_create(
    item: GenerationItem, ctx: StoreContext, category: int, impression: str
) -> tuple[Reading | None, str]:
    key = {"reader_id": ctx.reader_id, "case_id": item.case_id, "run": item.run_number}
    try:
        with transaction.atomic():  # a savepoint: a clash leaves the item's transaction usable
            reading = Reading.objects.create(
                **key,
                modality=1,
                category=category,
                impression=impression,
                seconds=item.latency_ms / 1000 if item.latency_ms is not None else None,
                source=Reading.Source.GENERATED,
            )
    except IntegrityError as exc:
        existing = Reading.objects.filter(**key, modality=1).order_by().first()
        if existing is not None:
            return None, _exists_message(item, ctx, existing.source)
        return None, f"the reading could not be stored: {exc}"
    return reading, ""


def _exists_message(item: GenerationItem, ctx: StoreContext, source: str) -> str:
    return (
        f"a reading of {ctx.reader_code} on case {item.case.code} run {item.run_number} "
        f"already exists (source {source}); it was not overwritten"
    )
