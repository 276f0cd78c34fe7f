"""Runs: creation rules (conflicts, overwrite, keys, one active run), estimates, stop and resume."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from readerstudy.audit.models import AuditEvent
from readerstudy.core.llm.keys import ApiKeyMissingError
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.runner import run_execute
from readerstudy.generation.services import (
    GenerationConflictError,
    RunOptions,
    generation_demo_setup,
    run_create,
    run_estimate,
    run_remaining_estimate,
    run_resume,
    run_stop,
)
from readerstudy.studies.models import Reader, Reading, Study
from tests.factories import LikertScoreFactory, ReaderFactory
from tests.generation.conftest import cases_of, config_create
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db


def test_a_run_has_one_pending_item_per_case_and_run(config: GenerationConfig) -> None:
    run = run_create(config=config, options=RunOptions(n_runs=2, split="all"))
    assert run.status == "queued" and run.n_runs == 2
    assert GenerationItem.objects.filter(run=run, status="pending").count() == 6 * 2
    assert run.config_snapshot["model"] == config.model
    assert run.estimate["n_requests"] == 12
    trial = run_create(
        config=config_create(config.reader.study, config.base_url, code="M2"),
        options=RunOptions(limit=1),
    )
    assert trial.items.count() == 3


def test_imported_readings_are_never_overwritten_silently(
    config: GenerationConfig, study: Study
) -> None:
    case = cases_of(study)[0]
    Reading.objects.create(reader=config.reader, case=case, run=2, category=3, source="imported")
    with pytest.raises(GenerationConflictError, match=r"already has 1 reading\(s\) \(imported\)"):
        run_create(config=config)
    assert not GenerationRun.objects.exists()
    run = run_create(config=config, options=RunOptions(overwrite=True))
    assert not Reading.objects.filter(reader=config.reader).exists()
    event = AuditEvent.objects.get(action="generation_run_create")
    assert event.details["readings_deleted"] == 1 and event.details["overwrite"] is True
    assert run.overwrite


def test_readings_with_likert_scores_are_never_overwritten(
    config: GenerationConfig, study: Study
) -> None:
    reading = Reading.objects.create(reader=config.reader, case=cases_of(study)[0], category=3)
    LikertScoreFactory(reading=reading)
    with pytest.raises(GenerationConflictError, match="have Likert scores"):
        run_create(config=config, options=RunOptions(overwrite=True))
    assert Reading.objects.filter(pk=reading.pk).exists()


def test_a_second_run_of_a_config_waits_for_the_first(config: GenerationConfig) -> None:
    first = run_create(config=config)
    with pytest.raises(GenerationConflictError, match=f"run {first.pk} of M1 is still queued"):
        run_create(config=config, options=RunOptions(split="train"))
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationRun.objects.create(config=config, n_runs=1, status="running")


def test_earlier_generated_readings_block_a_new_run_until_overwrite(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    run_execute(run_id=run_create(config=config).pk)
    with pytest.raises(GenerationConflictError, match=r"\(generated\)"):
        run_create(config=config)
    run = run_create(config=config, options=RunOptions(overwrite=True))
    assert run_execute(run_id=run.pk).status == "finished"
    assert Reading.objects.filter(reader=config.reader).count() == 12


def test_a_missing_key_stops_the_run_before_it_is_created(
    study: Study, llm: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("READERSTUDY_KEY_MISSING", raising=False)
    config = config_create(study, llm.url, api_key_env="READERSTUDY_KEY_MISSING")
    with pytest.raises(ApiKeyMissingError, match="READERSTUDY_KEY_MISSING"):
        run_create(config=config)
    assert not GenerationRun.objects.exists() and llm.chat_requests == 0


def test_a_config_belongs_to_a_model_reader_and_holds_a_name_not_a_key(study: Study) -> None:
    human = ReaderFactory(study=study, code="H1", kind=Reader.Kind.HUMAN)
    with pytest.raises(IntegrityError, match="reader of kind model"), transaction.atomic():
        GenerationConfig.objects.create(
            reader=human, base_url="http://x/v1", model="m", user_template="u"
        )
    model = ReaderFactory(study=study, code="MX", kind=Reader.Kind.MODEL)
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationConfig.objects.create(
            reader=model,
            base_url="http://x/v1",
            model="m",
            user_template="u",
            api_key_env="sk-live-123",
        )


def test_the_estimate_counts_requests_tokens_and_cost(config: GenerationConfig) -> None:
    estimate = run_estimate(config=config, split="test", limit=None, n_runs=3)
    assert estimate.n_requests == 12 and estimate.n_cases == 4
    assert estimate.output_tokens_max == 12 * 800
    assert estimate.cost_output_max == Decimal("0.01") * 12 * 800 / 1000
    assert estimate.input_tokens > 12 * 50
    assert estimate.cost_max == estimate.cost_input + estimate.cost_output_max
    run = run_create(config=config)
    remaining = run_remaining_estimate(run=run)
    assert remaining.n_requests == 12 and remaining.input_tokens == estimate.input_tokens
    GenerationItem.objects.filter(pk__in=run.items.values("pk")[:9]).update(status="refused")
    remaining = run_remaining_estimate(run=run)
    assert remaining.n_requests == 3 and remaining.n_cases == 1
    assert remaining.input_tokens == round(estimate.input_tokens / 4)


def test_stop_and_resume_rules(config: GenerationConfig, settings: Any) -> None:
    run = run_create(config=config)
    with pytest.raises(GenerationConflictError, match="only stopped or failed runs resume"):
        run_resume(run=run)
    assert run_stop(run=run) == "stopped"
    with pytest.raises(GenerationConflictError, match="nothing to stop"):
        run_stop(run=GenerationRun.objects.get(pk=run.pk))
    run = run_resume(run=GenerationRun.objects.get(pk=run.pk))
    assert run.status == "queued"
    # A running run whose worker went silent can be stopped or resumed.
    GenerationRun.objects.filter(pk=run.pk).update(status="running")
    settings.GENERATION_STALE_SECONDS = -1
    assert run_resume(run=GenerationRun.objects.get(pk=run.pk)).status == "queued"


def test_the_demo_gets_a_live_copy_of_a1(study: Study, monkeypatch: pytest.MonkeyPatch) -> None:
    assert generation_demo_setup(study=study) is None  # no A1 in this study
    ReaderFactory(
        study=study, code="A1", kind="model", label="GPT-4o zero-shot, text-only", group="zero-shot"
    )
    monkeypatch.setenv("READERSTUDY_DEMO_LLM_URL", "http://127.0.0.1:9999/v1")
    config = generation_demo_setup(study=study)
    assert config is not None and config.reader.code == "A1-live"
    assert config.base_url == "http://127.0.0.1:9999/v1" and config.n_runs == 3
    assert config.inputs == "text" and config.api_key_env == ""
    assert config.reader.group == "zero-shot"
    monkeypatch.setenv("READERSTUDY_DEMO_LLM_URL", "http://127.0.0.1:9998/v1")
    again = generation_demo_setup(study=study)
    assert again is not None and again.pk == config.pk and again.base_url.endswith(":9998/v1")


def test_the_demo_server_is_allowed_by_the_development_settings() -> None:
    from readerstudy.core.llm.egress import base_url_problem
    from readerstudy.generation.services import DEMO_URL_DEFAULT

    assert base_url_problem(DEMO_URL_DEFAULT) is None  # http://127.0.0.1:8011/v1
    assert "GENERATION_ALLOWED_BASE_URLS" in (base_url_problem("http://127.0.0.1:8012/v1") or "")
