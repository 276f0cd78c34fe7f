"""Celery tasks of model generation (the same code runs in a worker, a thread or inline)."""

from __future__ import annotations

import time

import openai
from celery import shared_task
from django.conf import settings

from readerstudy.core.llm.keys import ConnectionSettingsError
from readerstudy.generation.models import GenerationRun
from readerstudy.generation.runner import RunNotClaimableError, run_execute


def _poll_seconds() -> float:
    return float(getattr(settings, "GENERATION_BATCH_POLL_SECONDS", 60))


@shared_task(name="readerstudy.generation.run", ignore_result=True)
def generation_run_task(run_id: int, follow_batches: bool = False) -> str:
    """Execute a queued run: all its direct requests, or one advance of its batches.

    A batch run that is still waiting is advanced again after ``GENERATION_BATCH_POLL_SECONDS``:
    by a delayed task in a Celery worker, or in this call when ``follow_batches`` (the
    background thread of development). Returns the run's status.
    """
    from readerstudy.generation.batch import run_batch_advance

    mode = GenerationRun.objects.filter(pk=run_id).values_list("mode", flat=True).first()
    if mode is None:
        return "gone"
    try:
        if mode == GenerationRun.Mode.DIRECT:
            return run_execute(run_id=run_id).status
        status = run_batch_advance(run_id=run_id).status
        while status == GenerationRun.Status.WAITING:
            if follow_batches:
                time.sleep(_poll_seconds())
                status = run_batch_advance(run_id=run_id, from_statuses=("waiting",)).status
            elif not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", True):
                generation_run_task.apply_async((run_id,), countdown=_poll_seconds())
                break
            else:
                break
        return status
    except RunNotClaimableError:
        # Stopped before it started, or delivered twice: the other delivery has it.
        return (
            GenerationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
            or "gone"
        )
    except (ConnectionSettingsError, openai.APIError):
        return GenerationRun.Status.FAILED  # the reason is recorded on the run
