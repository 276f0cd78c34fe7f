"""Celery task of the LLM judges (the same code runs in a worker or in-process)."""

from __future__ import annotations

from celery import shared_task

from evaluation.judges import JudgeError
from evaluation.models import JudgeConfig, RatingSession
from evaluation.services import judge_run
from readerstudy.core.llm.keys import ConnectionSettingsError


@shared_task(name="evaluation.judge_run", ignore_result=True)
def judge_run_task(config_id: int, session_id: int, run: int | None = None) -> str:
    """Run a judge over a rating session (resumable: answered items are skipped).

    Returns ``done`` with the counts, or why nothing was sent."""
    config = JudgeConfig.objects.select_related("rater", "study").filter(pk=config_id).first()
    session = RatingSession.objects.select_related("study").filter(pk=session_id).first()
    if config is None or session is None:
        return "gone"
    try:
        summary = judge_run(config=config, session=session, actor=None, run=run)
    except (JudgeError, ConnectionSettingsError) as exc:
        return f"failed: {exc}"
    return f"done: {summary.counts}"
