"""Signal receivers: a change to a study's analysed data schedules the dashboard precompute."""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save

from analysis.precompute import dashboard_precompute_loaded, data_changed, study_id_of
from analysis.precompute import request_finished as unmark_request
from analysis.precompute import request_started as mark_request
from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    Rater,
)
from readerstudy.core.signals import study_data_loaded
from readerstudy.studies.models import Case, Reader, Reading, Study

#: The tables whose rows the analysis reads (as :func:`analysis.selectors.study_data_version`).
WATCHED_MODELS: tuple[type, ...] = (
    Study,
    Case,
    Reader,
    Reading,
    Rater,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    AcceptabilityGrade,
    ErrorAnnotation,
)


def _on_request_started(sender: Any, **kwargs: Any) -> None:
    mark_request()


def _on_request_finished(sender: Any, **kwargs: Any) -> None:
    unmark_request()


def _on_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # loaddata
        return
    data_changed(study_id=study_id_of(instance))


def _on_study_loaded(sender: Any, study_id: int, **kwargs: Any) -> None:
    dashboard_precompute_loaded(study_id=study_id)


def connect() -> None:
    """Connect the receivers (``AnalysisConfig.ready``)."""
    request_started.connect(_on_request_started, dispatch_uid="analysis-precompute-start")
    request_finished.connect(_on_request_finished, dispatch_uid="analysis-precompute-end")
    study_data_loaded.connect(_on_study_loaded, dispatch_uid="analysis-precompute-loaded")
    for model in WATCHED_MODELS:
        uid = f"analysis-precompute-{model.__name__}"
        post_save.connect(_on_change, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=uid + "-delete")
