"""``manage.py generate``: estimate, confirmation, direct and batch runs, stop, resume, list."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.studies.models import Reading
from tests.openai_server import FakeOpenAIServer, status

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_estimate_only_sends_nothing(config: GenerationConfig, llm: FakeOpenAIServer) -> None:
    out = generate("gen-study", "M1", "--estimate-only")
    assert "requests:      12 (4 cases)" in out and "output tokens: at most 9600" in out
    assert "cost:          at most" in out
    assert not GenerationRun.objects.exists() and llm.chat_requests == 0


def test_without_a_terminal_it_asks_for_yes(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    with pytest.raises(CommandError, match="pass --yes"):
        generate("gen-study", "M1")
    assert not GenerationRun.objects.exists()


def test_a_direct_run_from_the_command_line(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.when("[T1]", status(429, retry_after_ms=5))
    out = generate("gen-study", "M1", "--yes")
    assert (
        "run 1: finished. done 12, refused 0, unparseable 0, errors 0, pending 0; 13 requests"
        in out.replace(f"run {GenerationRun.objects.get().pk}:", "run 1:")
    )
    assert Reading.objects.filter(reader=config.reader).count() == 12
    listing = generate("--list", "gen-study")
    assert "M1: gpt-4o-2024-08-06" in listing and "direct finished: 12/12" in listing


def test_a_failed_run_exits_non_zero_and_resumes(
    config: GenerationConfig, llm: FakeOpenAIServer, settings: Any
) -> None:
    config.concurrency = 1
    config.save()
    llm.when("[T2]", *[status(500)] * 4)
    with pytest.raises(CommandError, match="failed: 1 item without an answer"):
        generate("gen-study", "M1", "--yes")
    run = GenerationRun.objects.get()
    out = generate("--resume", str(run.pk), "--yes")
    assert "requests:      1 (1 cases)" in out and "finished" in out
    assert Reading.objects.filter(reader=config.reader).count() == 12


def test_stop_from_another_terminal_then_resume(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    from readerstudy.generation.services import run_create

    run = run_create(config=config)
    assert generate("--stop", str(run.pk)).strip() == f"run {run.pk}: stopped"
    out = generate("--resume", str(run.pk), "--yes")
    assert f"run {run.pk}: finished" in out
    with pytest.raises(CommandError, match="only stopped or failed runs resume"):
        generate("--resume", str(run.pk), "--yes")


def test_a_batch_run_from_the_command_line(config: GenerationConfig, llm: FakeOpenAIServer) -> None:
    llm.batch_polls = 3
    out = generate("gen-study", "M1", "--yes", "--mode", "batch")
    run = GenerationRun.objects.get()
    assert f"run {run.pk}: waiting; batches: batch-" in out
    out = generate("--poll", str(run.pk), "--wait", "--interval", "0")
    assert f"run {run.pk}: finished" in out
    assert Reading.objects.filter(reader=config.reader).count() == 12
    with pytest.raises(CommandError, match="not queued"):
        generate("--poll", str(run.pk))


def test_bad_arguments_are_named(config: GenerationConfig) -> None:
    with pytest.raises(CommandError, match="no study 'nope'"):
        generate("nope", "M1")
    with pytest.raises(CommandError, match="no generation configuration for reader 'X9'"):
        generate("gen-study", "X9")
    with pytest.raises(CommandError, match="--runs must be between 1 and 20"):
        generate("gen-study", "M1", "--runs", "50")
    with pytest.raises(CommandError, match="no generation run 404"):
        generate("--resume", "404")


def test_a_configuration_the_settings_forbid_is_listed_as_such_and_does_not_start(
    config: GenerationConfig, llm: FakeOpenAIServer, settings: Any
) -> None:
    config.api_key_env = "SECRET_KEY"
    config.save()
    settings.GENERATION_ALLOWED_BASE_URLS = []
    listing = generate("--list", "gen-study")
    assert "cannot run: the API key variable SECRET_KEY is not allowed" in listing
    assert f"cannot run: the base URL {llm.url} is not allowed" in listing
    with pytest.raises(CommandError, match="GENERATION_ALLOWED_BASE_URLS"):
        generate("gen-study", "M1", "--yes")
    assert not GenerationRun.objects.exists() and llm.requests == []
