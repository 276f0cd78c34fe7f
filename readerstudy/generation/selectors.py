"""Read queries of model generation: configurations, runs, progress and items."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet, Sum

from readerstudy.generation.models import (
    FineTuneJob,
    GenerationConfig,
    GenerationItem,
    GenerationRun,
)
from readerstudy.generation.runner import item_counts
from readerstudy.studies.models import Reader, Study


def configs_for_study(study: Study) -> QuerySet[GenerationConfig]:
    return (
        GenerationConfig.objects.filter(reader__study=study)
        .select_related("reader")
        .annotate(n_runs_started=Count("runs", distinct=True))
        .order_by("reader__position", "reader__code")
    )


def model_readers_without_config(study: Study) -> QuerySet[Reader]:
    return Reader.objects.filter(
        study=study, kind=Reader.Kind.MODEL, generation_config__isnull=True
    ).order_by("position", "code")


def runs_for_study(study: Study) -> QuerySet[GenerationRun]:
    return (
        GenerationRun.objects.filter(config__reader__study=study)
        .select_related("config__reader", "created_by")
        .order_by("-created_at", "-id")
    )


def finetune_jobs_for_study(study: Study) -> QuerySet[FineTuneJob]:
    return FineTuneJob.objects.filter(study=study).order_by("-created_at", "-id")


def run_for_study(study: Study, run_id: int) -> GenerationRun | None:
    return runs_for_study(study).filter(pk=run_id).first()


def run_progress(run: GenerationRun) -> dict[str, Any]:
    """What the progress bar and the run page show (also the JSON of the progress endpoint)."""
    from readerstudy.generation.services import run_is_stale

    counts = item_counts(run.pk)
    total = sum(counts.values())
    final = counts["done"] + counts["refused"] + counts["unparseable"]
    tokens = GenerationItem.objects.filter(run=run).aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens")
    )
    stale = run_is_stale(run=run)
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "mode": run.mode,
        "message": run.message,
        "total": total,
        "finished": final,
        "percent": round(100 * final / total, 1) if total else 100.0,
        "counts": counts,
        "prompt_tokens": tokens["prompt"] or 0,
        "completion_tokens": tokens["completion"] or 0,
        "active": run.is_active and not stale,
        "stale": stale,
        "can_stop": run.status in ("queued", "running", "waiting") or stale,
        "can_resume": run.status in GenerationRun.RESUMABLE or stale,
        "can_poll": run.mode == GenerationRun.Mode.BATCH and run.status == "waiting",
        "batches": [{k: e.get(k) for k in ("id", "status", "request_counts")} for e in run.batches],
    }


def items_for_run(run: GenerationRun, *, status: str = "") -> QuerySet[GenerationItem]:
    qs = GenerationItem.objects.filter(run=run).select_related("case", "reading")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("case__position", "case__code", "run_number")


def item_for_study(study: Study, item_id: int) -> GenerationItem | None:
    return (
        GenerationItem.objects.filter(pk=item_id, run__config__reader__study=study)
        .select_related("case", "run__config__reader", "reading")
        .first()
    )
