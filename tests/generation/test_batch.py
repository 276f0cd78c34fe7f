"""The Batch API path: upload JSONL, create, poll, download, store once; resumable."""

from __future__ import annotations

import json

import pytest

from readerstudy.generation.batch import run_batch_advance, run_batch_wait
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.services import RunOptions, run_create, run_resume, run_stop
from readerstudy.studies.models import Reading, Study
from tests.openai_server import FakeOpenAIServer, malformed, refusal, status

pytestmark = pytest.mark.django_db


def test_a_batch_run_uploads_polls_and_stores_every_result_once(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.batch_polls = 2
    llm.when("[T2]", refusal())
    llm.when("[T3]", malformed())
    llm.when("[T4]", status(400, message="invalid image"))
    run = run_create(config=config, options=RunOptions(mode="batch"))
    summary = run_batch_advance(run_id=run.pk)
    assert summary.status == "waiting"
    run.refresh_from_db()
    assert len(run.batches) == 1 and run.batches[0]["id"].startswith("batch-")
    upload = llm.files[run.batches[0]["input_file_id"]]
    assert upload["purpose"] == "batch"
    lines = [json.loads(line) for line in upload["content"].decode().splitlines()]
    assert len(lines) == 12
    assert {line["custom_id"] for line in lines} == {
        f"item-{pk}" for pk in GenerationItem.objects.filter(run=run).values_list("pk", flat=True)
    }
    assert all(line["url"] == "/v1/chat/completions" for line in lines)
    assert all(
        [m["role"] for m in line["body"]["messages"]] == ["system", "user"] for line in lines
    )
    assert Reading.objects.filter(reader=config.reader).count() == 0

    summary = run_batch_advance(run_id=run.pk)  # the fake batch completes at the second poll
    assert summary.status == "failed"  # the 400 item has no answer
    counts = summary.counts
    assert (counts["done"], counts["refused"], counts["unparseable"], counts["error"]) == (
        9,
        1,
        1,
        1,
    )
    assert Reading.objects.filter(reader=config.reader).count() == 9
    error = GenerationItem.objects.get(run=run, status="error")
    assert error.error.startswith("HTTP 400") and "invalid image" in error.error
    done = GenerationItem.objects.filter(run=run, status="done").first()
    assert done is not None and done.request_summary["user"].startswith("Clinical history")
    assert done.attempt_log == [{"attempt": 1, "status": 200, "batch": run.batches[0]["id"]}]

    # Resuming sends the failed item again in a new batch; nothing else is asked twice.
    run = run_resume(run=GenerationRun.objects.get(pk=run.pk))
    assert run_batch_wait(run_id=run.pk, interval=0, sleep=lambda s: None).status == "finished"
    run.refresh_from_db()
    assert len(run.batches) == 2
    second = llm.files[run.batches[1]["input_file_id"]]["content"].decode().splitlines()
    assert len(second) == 1
    assert Reading.objects.filter(reader=config.reader).count() == 10
    assert llm.chat_requests == 13


def test_collecting_a_batch_twice_stores_nothing_twice(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    run = run_create(config=config, options=RunOptions(mode="batch"))
    assert run_batch_advance(run_id=run.pk).status == "finished"
    run.refresh_from_db()
    entry = run.batches[0]
    assert entry["collected"] is True
    # As if the process had died after downloading but before saving "collected".
    entry["collected"] = False
    GenerationRun.objects.filter(pk=run.pk).update(batches=run.batches, status="waiting")
    summary = run_batch_advance(run_id=run.pk)
    assert summary.status == "finished" and summary.duplicates == 12
    assert Reading.objects.filter(reader=config.reader).count() == 12


def test_an_interrupted_submission_adopts_the_batch_instead_of_creating_another(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.batch_polls = 5
    run = run_create(config=config, options=RunOptions(mode="batch"))
    assert run_batch_advance(run_id=run.pk).status == "waiting"
    run.refresh_from_db()
    batch_id = run.batches[0]["id"]
    # As if the process had died after creating the batch but before saving its id.
    run.batches[0]["id"] = ""
    GenerationRun.objects.filter(pk=run.pk).update(batches=run.batches)
    assert run_batch_advance(run_id=run.pk).status == "waiting"
    run.refresh_from_db()
    assert run.batches[0]["id"] == batch_id
    assert len(llm.batches) == 1
    assert len([f for f in llm.files.values() if f["purpose"] == "batch"]) == 1


def test_stopping_a_waiting_batch_run_cancels_its_batch(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.batch_polls = 5
    run = run_create(config=config, options=RunOptions(mode="batch"))
    run_batch_advance(run_id=run.pk)
    assert run_stop(run=GenerationRun.objects.get(pk=run.pk)) == "stopped"
    batch = next(iter(llm.batches.values()))
    assert batch.data["status"] == "cancelling"
    run.refresh_from_db()
    assert run.status == "stopped" and run.batches[0]["status"] == "cancelling"


def test_large_runs_are_split_into_several_batches(
    config: GenerationConfig, llm: FakeOpenAIServer, settings: pytest.FixtureRequest, study: Study
) -> None:
    settings.GENERATION_BATCH_MAX_REQUESTS = 5
    run = run_create(config=config, options=RunOptions(mode="batch"))
    assert run_batch_advance(run_id=run.pk).status == "finished"
    run.refresh_from_db()
    assert [e["request_counts"]["total"] for e in run.batches] == [5, 5, 2]
    assert Reading.objects.filter(reader=config.reader).count() == 12
