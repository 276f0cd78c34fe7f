"""Celery task of the dashboard's background precomputation (analysis.precompute)."""

from __future__ import annotations

from celery import shared_task

from analysis.precompute import dashboard_precompute


@shared_task(name="analysis.dashboard_precompute", ignore_result=True)
def dashboard_precompute_task(study_id: int) -> int:
    """Compute and cache the study's default dashboard views; how many were computed."""
    return dashboard_precompute(study_id=study_id)
