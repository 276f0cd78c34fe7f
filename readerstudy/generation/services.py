"""Generation writes: configurations, runs (create, dispatch, stop, resume) and the demo setup.

Overwriting: a run never replaces readings silently. When the reader already has readings on
the selected cases (imported ones, entered ones or those of an earlier run), creating the run
is refused unless ``overwrite`` is asked for; then those readings are deleted in the same
transaction, recorded in the audit log, and the new answers take their place. Readings that
have Likert scores are never deleted this way (the scores would lose their output).

Dispatch (setting ``GENERATION_DISPATCH``): ``celery`` sends the task to a Celery worker
(production, ``CELERY_BROKER_URL`` set), ``thread`` runs the same task code in a background
thread of the web process (development and the demo: no broker needed), ``inline`` runs it
before returning (tests, and the eager Celery configuration).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from readerstudy.audit.services import audit_record
from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.estimate import Estimate
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.prompts import (
    DEFAULT_SYSTEM_TEMPLATE,
    DEFAULT_USER_TEMPLATES,
    Prompting,
    RequestBuilder,
    config_snapshot,
    default_schema,
)
from readerstudy.generation.runner import stale_after
from readerstudy.studies.models import Case, Reader, Reading, Study


class GenerationConflictError(Exception):
    """The run cannot be created or changed as asked (the message says why and what to do)."""


# --------------------------------------------------------------------------- configurations


def _next_reader_position(study: Study) -> int:
    """After the study's last reader (readers.csv order is kept by export)."""
    last = study.readers.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 1


def generation_config_create(
    *,
    study: Study,
    reader: Reader | None = None,
    reader_code: str = "",
    reader_label: str = "",
    values: dict[str, Any],
    actor: Any = None,
) -> GenerationConfig:
    """A configuration for ``reader`` (a model reader of ``study``) or for a new model reader."""
    with transaction.atomic():
        if reader is None:
            reader = Reader.objects.create(
                study=study,
                code=reader_code,
                kind=Reader.Kind.MODEL,
                label=reader_label,
                position=_next_reader_position(study),
            )
        if reader.kind != Reader.Kind.MODEL or reader.study_id != study.pk:
            raise GenerationConflictError(f"{reader.code} is not a model reader of {study.slug}")
        config = GenerationConfig(
            reader=reader, created_by=actor if getattr(actor, "pk", None) else None
        )
        for name, value in values.items():
            setattr(config, name, value)
        if not config.response_schema:
            config.response_schema = default_schema(study.categories)
        config.full_clean()
        connection_settings_validate(config=config)
        config.save()
        audit_record(
            action="generation_config_create",
            actor=actor,
            study=study,
            target=reader.code,
            details={"model": config.model, "base_url": config.base_url},
        )
    return config


def connection_settings_validate(*, config: GenerationConfig) -> None:
    """The configuration's key variable and base URL are allowed by the server's settings
    (``ValidationError`` by field otherwise): a configuration can only choose from them."""
    errors = Connection.of(config).problems_by_field()
    if errors:
        raise ValidationError(errors)


def generation_config_update(
    *,
    config: GenerationConfig,
    changed: list[str],
    actor: Any = None,
) -> GenerationConfig:
    """Save an edited configuration (runs keep the snapshot they started with)."""
    with transaction.atomic():
        config.full_clean()
        connection_settings_validate(config=config)
        config.save()
        audit_record(
            action="generation_config_update",
            actor=actor,
            study=config.reader.study,
            target=config.reader.code,
            details={"changed": sorted(changed)},
        )
    return config


# -------------------------------------------------------------------------------- estimates


def run_cases(*, study: Study, split: str, limit: int | None) -> QuerySet[Case]:
    cases = Case.objects.filter(study=study).order_by("position", "code")
    if split != GenerationRun.Split.ALL:
        cases = cases.filter(split=split)
    if limit:
        cases = cases[:limit]
    return cases


def _estimate(
    study: Study, prompting: Prompting, runs_per_case: dict[int, int], cases: list[Case]
) -> Estimate:
    builder = RequestBuilder(study, prompting, image_cache_size=1)
    input_tokens = 0
    n_requests = 0
    for case in cases:
        runs = runs_per_case.get(case.pk, 0)
        if runs:
            input_tokens += builder.input_tokens(case) * runs
            n_requests += runs
    output_max = n_requests * prompting.max_tokens
    price_in = Decimal(prompting.price_input_per_1k)
    price_out = Decimal(prompting.price_output_per_1k)
    return Estimate(
        n_cases=sum(1 for c in cases if runs_per_case.get(c.pk)),
        n_requests=n_requests,
        input_tokens=input_tokens,
        output_tokens_max=output_max,
        cost_input=price_in * input_tokens / 1000,
        cost_output_max=price_out * output_max / 1000,
    )


def run_estimate(
    *, config: GenerationConfig, split: str, limit: int | None, n_runs: int
) -> Estimate:
    """The estimate of a new run of ``config``."""
    study = config.reader.study
    cases = list(run_cases(study=study, split=split, limit=limit))
    prompting = Prompting.from_snapshot(config_snapshot(config))
    return _estimate(study, prompting, {c.pk: n_runs for c in cases}, cases)


def run_remaining_estimate(*, run: GenerationRun) -> Estimate:
    """The estimate of what resuming ``run`` would still send: its items without an outcome
    at the per-request averages of the run's estimate (no images are read again)."""
    left = Counter(
        GenerationItem.objects.filter(run=run)
        .exclude(status__in=GenerationItem.FINAL)
        .values_list("case_id", flat=True)
    )
    n = sum(left.values())
    prompting = Prompting.from_snapshot(run.config_snapshot)
    total = run.estimate.get("n_requests") or 0
    if total:
        per_request = run.estimate["input_tokens"] / total
    else:
        study = run.config.reader.study
        cases = list(Case.objects.filter(pk__in=left).order_by("position", "code"))
        return _estimate(study, prompting, dict(left), cases)
    input_tokens = round(per_request * n)
    output_max = n * prompting.max_tokens
    return Estimate(
        n_cases=len(left),
        n_requests=n,
        input_tokens=input_tokens,
        output_tokens_max=output_max,
        cost_input=Decimal(prompting.price_input_per_1k) * input_tokens / 1000,
        cost_output_max=Decimal(prompting.price_output_per_1k) * output_max / 1000,
    )


# ------------------------------------------------------------------------------------- runs


def _conflicting_readings(reader: Reader, cases: list[Case]) -> QuerySet[Reading]:
    return Reading.objects.filter(reader=reader, case__in=cases, modality=1)


@dataclass(frozen=True)
class RunOptions:
    """How a run generates: ``mode``, ``n_runs`` per case (default: the configuration's),
    the ``split`` and at most ``limit`` of its cases, and whether to ``overwrite`` the reader's
    readings on them (built by ``RunStartForm.options``)."""

    mode: str = GenerationRun.Mode.DIRECT
    n_runs: int | None = None
    split: str = GenerationRun.Split.TEST
    limit: int | None = None
    overwrite: bool = False


def run_create(
    *,
    config: GenerationConfig,
    options: RunOptions | None = None,
    actor: Any = None,
) -> GenerationRun:
    """Create a queued run with one pending item per (case, run); nothing is sent yet.

    Raises ``GenerationConflictError`` when the reader already has readings on these cases
    (unless ``overwrite``), when such readings have Likert scores, when another run of the
    configuration is active, or when no case is selected; ``ConnectionSettingsError`` when the
    configured key or server is not allowed by the settings, or the key cannot be found.
    """
    options = options or RunOptions()
    mode, split, limit, overwrite = options.mode, options.split, options.limit, options.overwrite
    reader = config.reader
    study = reader.study
    n_runs = options.n_runs or config.n_runs
    Connection.of(config).check()  # fail now (key or server not allowed, key not set)
    cases = list(run_cases(study=study, split=split, limit=limit))
    if not cases:
        raise GenerationConflictError(f"no {split} cases to generate for in {study.slug}")
    with transaction.atomic():
        active = GenerationRun.objects.filter(
            config=config, status__in=GenerationRun.ACTIVE
        ).first()
        if active is not None:
            raise GenerationConflictError(
                f"run {active.pk} of {reader.code} is still {active.status}; stop it first"
            )
        existing = _conflicting_readings(reader, cases)
        n_existing = existing.count()
        deleted = 0
        if n_existing:
            sources = ", ".join(sorted(set(existing.values_list("source", flat=True))))
            if not overwrite:
                raise GenerationConflictError(
                    f"{reader.code} already has {n_existing} reading(s) ({sources}) on these "
                    "cases; they are not overwritten. Generate into a new model reader, or ask "
                    "for overwrite to replace them."
                )
            rated = existing.filter(likert_scores__isnull=False).distinct().count()
            if rated:
                raise GenerationConflictError(
                    f"{rated} of the {n_existing} existing reading(s) of {reader.code} on these "
                    "cases have Likert scores; they cannot be overwritten. Generate into a new "
                    "model reader instead."
                )
            deleted, _ = existing.delete()
        snapshot = config_snapshot(config)
        run = GenerationRun.objects.create(
            config=config,
            mode=mode,
            n_runs=n_runs,
            split=split,
            limit=limit,
            overwrite=overwrite,
            config_snapshot=snapshot,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        GenerationItem.objects.bulk_create(
            (
                GenerationItem(run=run, case=case, run_number=r)
                for case in cases
                for r in range(1, n_runs + 1)
            ),
            batch_size=2000,
        )
        run.estimate = _estimate(
            study, Prompting.from_snapshot(snapshot), {c.pk: n_runs for c in cases}, cases
        ).as_dict()
        run.save(update_fields=["estimate"])
        audit_record(
            action="generation_run_create",
            actor=actor,
            study=study,
            target=f"{reader.code} run {run.pk}",
            details={
                "mode": mode,
                "cases": len(cases),
                "n_runs": n_runs,
                "overwrite": overwrite,
                "readings_deleted": deleted,
                "model": config.model,
            },
        )
    return run


def dispatch_mode() -> str:
    return str(getattr(settings, "GENERATION_DISPATCH", "inline"))


def _thread_main(run_id: int) -> None:
    from readerstudy.generation.tasks import generation_run_task

    close_old_connections()
    try:
        generation_run_task.apply(args=(run_id,), kwargs={"follow_batches": True})
    finally:
        connection.close()


def run_dispatch(*, run: GenerationRun) -> str:
    """Start executing a queued run (see the module docstring for the modes); returns the mode."""
    from readerstudy.generation.tasks import generation_run_task

    mode = dispatch_mode()
    if mode == "celery":
        result = generation_run_task.delay(run.pk)
        GenerationRun.objects.filter(pk=run.pk).update(celery_task_id=result.id or "")
    elif mode == "thread":
        # Start only once the queued status is committed, or the thread would not see it.
        transaction.on_commit(
            lambda: threading.Thread(
                target=_thread_main, args=(run.pk,), name=f"generation-run-{run.pk}", daemon=True
            ).start()
        )
    else:
        generation_run_task.apply(args=(run.pk,))
    return mode


def run_is_stale(*, run: GenerationRun) -> bool:
    """An active run whose worker has not been heard of for ``GENERATION_STALE_SECONDS``."""
    if run.status not in ("running", "stopping", "queued"):
        return False
    last = run.heartbeat_at or run.created_at
    return (timezone.now() - last).total_seconds() > stale_after()


def run_stop(*, run: GenerationRun, actor: Any = None) -> str:
    """Ask a run to stop: a queued or waiting run stops at once (open batches are cancelled),
    a running one finishes the requests in flight first. Returns the new status."""
    from readerstudy.generation.batch import run_batch_cancel

    if run.status in ("queued", "waiting") or run_is_stale(run=run):
        problems: list[str] = []
        if run.mode == GenerationRun.Mode.BATCH and run.batches:
            problems = run_batch_cancel(run=run)
        updated = GenerationRun.objects.filter(pk=run.pk, status=run.status).update(
            status=GenerationRun.Status.STOPPED,
            finished_at=timezone.now(),
            message="stopped" + (f"; {'; '.join(problems)}" if problems else ""),
        )
        new = (
            GenerationRun.Status.STOPPED if updated else GenerationRun.objects.get(pk=run.pk).status
        )
    elif run.status == "running":
        GenerationRun.objects.filter(pk=run.pk, status="running").update(
            status=GenerationRun.Status.STOPPING
        )
        new = GenerationRun.objects.get(pk=run.pk).status
    else:
        raise GenerationConflictError(f"run {run.pk} is {run.status}; there is nothing to stop")
    audit_record(
        action="generation_run_stop",
        actor=actor,
        study=run.config.reader.study,
        target=f"{run.config.reader.code} run {run.pk}",
        details={"status": new},
    )
    return new


def run_resume(*, run: GenerationRun, actor: Any = None) -> GenerationRun:
    """Queue a stopped, failed (or stale) run again; its finished items are kept and skipped.

    Batch runs: items that failed in a batch are sent again in a new batch.
    """
    if not (run.status in GenerationRun.RESUMABLE or run_is_stale(run=run)):
        raise GenerationConflictError(
            f"run {run.pk} is {run.status}; only stopped or failed runs resume"
        )
    Connection.of(run.config).check()
    with transaction.atomic():
        other = (
            GenerationRun.objects.filter(config=run.config, status__in=GenerationRun.ACTIVE)
            .exclude(pk=run.pk)
            .first()
        )
        if other is not None:
            raise GenerationConflictError(f"run {other.pk} of this reader is active; stop it first")
        if run.mode == GenerationRun.Mode.BATCH:
            GenerationItem.objects.filter(run=run, status=GenerationItem.Status.ERROR).update(
                status=GenerationItem.Status.PENDING, batch_id=""
            )
        was = run.status
        GenerationRun.objects.filter(pk=run.pk, status=was).update(
            status=GenerationRun.Status.QUEUED,
            message="",
            finished_at=None,
            heartbeat_at=timezone.now(),
        )
        run.refresh_from_db()
        audit_record(
            action="generation_run_resume",
            actor=actor,
            study=run.config.reader.study,
            target=f"{run.config.reader.code} run {run.pk}",
            details={"from": was},
        )
    return run


# ------------------------------------------------------------------------------------- demo

DEMO_READER = "A1-live"
DEMO_SOURCE_READER = "A1"
DEMO_URL_ENV = "READERSTUDY_DEMO_LLM_URL"
DEMO_URL_DEFAULT = "http://127.0.0.1:8011/v1"


def generation_demo_setup(*, study: Study) -> GenerationConfig | None:
    """Give the demo study a live copy of model A1 ("A1-live") ready to generate.

    A1's imported readings stay untouched: generation goes into the new model reader
    A1-live (same label and group, "live" in the description), configured like A1 (zero-shot,
    text only, three runs) against ``$READERSTUDY_DEMO_LLM_URL`` (default: the local test
    server, ``python -m tests.openai_server --port 8011``). Idempotent.
    """
    source = Reader.objects.filter(study=study, code=DEMO_SOURCE_READER).first()
    if source is None:
        return None
    base_url = os.environ.get(DEMO_URL_ENV, DEMO_URL_DEFAULT)
    with transaction.atomic():
        reader, _ = Reader.objects.get_or_create(
            study=study,
            code=DEMO_READER,
            defaults={
                "kind": Reader.Kind.MODEL,
                "label": f"{source.label} (live generation)",
                "group": source.group,
                "description": f"{source.description} Generated live through an "
                "OpenAI-compatible API; a copy of A1 so that A1's imported readings stay as they are.",
                "position": _next_reader_position(study),
            },
        )
        config, created = GenerationConfig.objects.get_or_create(
            reader=reader,
            defaults={
                "base_url": base_url,
                "model": "gpt-4o-2024-08-06",
                "system_template": DEFAULT_SYSTEM_TEMPLATE,
                "user_template": DEFAULT_USER_TEMPLATES["text"],
                "inputs": GenerationConfig.Inputs.TEXT,
                "temperature": 1.0,
                "n_runs": 3,
                "response_schema": default_schema(study.categories),
                "price_input_per_1k": Decimal("0.0025"),
                "price_output_per_1k": Decimal("0.0100"),
                "concurrency": 8,
                "timeout_seconds": 60,
            },
        )
        if not created and config.base_url != base_url:
            config.base_url = base_url
            config.save(update_fields=["base_url", "updated_at"])
    return config
