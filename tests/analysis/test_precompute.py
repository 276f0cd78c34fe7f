"""The dashboard's background precompute: a change made in a request fills the cache."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from analysis.forms import AnalysisFilterForm
from analysis.precompute import (
    dashboard_precompute_schedule,
    precompute_wait,
    request_started,
    serving_request,
    study_id_of,
)
from analysis.services import analysis_key
from evaluation.models import LikertScore
from readerstudy.studies.models import Reading, Study
from tests.analysis.conftest import SmallStudy


@pytest.fixture
def study(small_study: SmallStudy) -> Study:
    cache.clear()
    return small_study()


def cached_views(study: Study) -> list[bool]:
    """Whether the default dashboard analysis is cached, pseudonymous and with real ids."""
    found = []
    for pseudonymous in (True, False):
        form = AnalysisFilterForm(None, study=study, allow_real_ids=not pseudonymous)
        key = analysis_key(study=study, options=form.options(), pseudonymous=pseudonymous)
        found.append(cache.get(key) is not None)
    return found


def change_a_reading(study: Study) -> None:
    reading = Reading.objects.filter(reader__study=study).order_by("pk").first()
    assert reading is not None
    reading.seconds = (reading.seconds or 0.0) + 1.0
    reading.save()


@pytest.mark.django_db
def test_a_change_made_in_a_request_computes_both_default_views(
    study: Study, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ANALYSIS_PRECOMPUTE = "inline"
    assert cached_views(study) == [False, False]

    def as_a_request() -> None:
        request_started()  # what the request_started receiver calls
        with django_capture_on_commit_callbacks(execute=True):
            change_a_reading(study)

    contextvars.copy_context().run(as_a_request)
    assert cached_views(study) == [True, True]


@pytest.mark.django_db
def test_a_change_outside_a_request_or_with_precompute_off_computes_nothing(
    study: Study, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ANALYSIS_PRECOMPUTE = "inline"
    with django_capture_on_commit_callbacks(execute=True):
        change_a_reading(study)  # an import or a command: no request
    assert cached_views(study) == [False, False]
    settings.ANALYSIS_PRECOMPUTE = "off"
    with serving_request(), django_capture_on_commit_callbacks(execute=True):
        change_a_reading(study)
    assert cached_views(study) == [False, False]


@pytest.mark.django_db
def test_the_study_of_each_watched_row_is_found(study: Study) -> None:
    reading = Reading.objects.filter(reader__study=study).select_related("reader").first()
    score = LikertScore.objects.filter(reading__reader__study=study).first()
    assert reading is not None and score is not None
    rows: list[Any] = [study, reading, reading.reader, reading.case, score, score.rater]
    assert {study_id_of(row) for row in rows} == {study.pk}
    assert study_id_of(object()) is None


@pytest.mark.django_db(transaction=True)
def test_the_thread_mode_coalesces_changes_and_fills_the_cache_in_the_background(
    study: Study, settings: Any
) -> None:
    settings.ANALYSIS_PRECOMPUTE = "thread"
    settings.ANALYSIS_PRECOMPUTE_DELAY = 0.3
    schedule: Callable[[], bool] = lambda: dashboard_precompute_schedule(study_id=study.pk)  # noqa: E731
    assert schedule() is True
    assert schedule() is False  # within the window: coalesced into the first
    assert precompute_wait(120)
    assert cached_views(study) == [True, True]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_import_study_computes_the_dashboard_before_it_returns(
    make_bundle: Any, settings: Any, mode: str
) -> None:
    from io import StringIO

    from django.core.management import call_command

    cache.clear()
    settings.ANALYSIS_PRECOMPUTE = mode  # a deployment's default: the command itself computes
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    imported = Study.objects.get(slug="tiny")
    assert cached_views(imported) == [True, True]


@pytest.mark.django_db
def test_import_study_without_precompute_or_with_it_off_leaves_the_first_view_to_compute(
    make_bundle: Any, settings: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    cache.clear()
    settings.ANALYSIS_PRECOMPUTE = "thread"
    call_command("import_study", str(make_bundle()), "--no-precompute", stdout=StringIO())
    assert cached_views(Study.objects.get(slug="tiny")) == [False, False]
    settings.ANALYSIS_PRECOMPUTE = "off"
    call_command("import_study", str(make_bundle()), "--replace", stdout=StringIO())
    assert cached_views(Study.objects.get(slug="tiny")) == [False, False]


@pytest.mark.django_db
def test_a_study_too_large_for_the_cache_is_not_precomputed(
    study: Study, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analysis import precompute, services

    settings.ANALYSIS_PRECOMPUTE = "inline"
    monkeypatch.setattr(services, "CACHE_MAX_ROWS", 1)
    assert precompute.dashboard_precompute_loaded(study_id=study.pk) == 0
    assert cached_views(study) == [False, False]
