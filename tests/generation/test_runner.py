"""Direct runs against the local OpenAI-compatible server: fresh requests, retries, outcomes,
concurrency, stop and resume, exactly-once storage."""

from __future__ import annotations

import re
from typing import Any

import pytest

from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.runner import RunNotClaimableError, run_execute
from readerstudy.generation.services import run_create, run_resume, run_stop
from readerstudy.studies.models import Reading, Study
from tests.generation.conftest import cases_of, config_create
from tests.openai_server import FakeOpenAIServer, malformed, refusal, status, truncated

pytestmark = pytest.mark.django_db


def statuses(run: GenerationRun) -> dict[tuple[str, int], str]:
    return {
        (i.case.code, i.run_number): i.status
        for i in GenerationItem.objects.filter(run=run).select_related("case")
    }


def test_every_case_and_run_is_one_fresh_request_and_one_reading(
    config: GenerationConfig, llm: FakeOpenAIServer, study: Study
) -> None:
    run = run_create(config=config)
    summary = run_execute(run_id=run.pk)
    assert summary.status == "finished" and summary.requests == 12 and summary.duplicates == 0
    assert llm.chat_requests == 4 * 3
    bodies = llm.chat_bodies()
    # No shared context: one system and one user message, naming exactly one case.
    for body in bodies:
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert len(set(re.findall(r"\[T\d\]", body["messages"][1]["content"]))) == 1
    per_case = {
        code: sum(f"[{code}]" in b["messages"][1]["content"] for b in bodies)
        for code in ("T1", "T2", "T3", "T4")
    }
    assert per_case == {"T1": 3, "T2": 3, "T3": 3, "T4": 3}
    readings = Reading.objects.filter(reader=config.reader)
    assert readings.count() == 12
    assert set(readings.values_list("source", flat=True)) == {"generated"}
    assert set(readings.values_list("run", flat=True)) == {1, 2, 3}
    assert set(readings.values_list("modality", flat=True)) == {1}
    item = GenerationItem.objects.filter(run=run).first()
    assert item is not None and item.reading is not None
    assert item.raw_response is not None and item.raw_response["object"] == "chat.completion"
    assert item.parsed is not None and item.reading.category == item.parsed["category"]
    assert item.prompt_tokens and item.completion_tokens and item.latency_ms is not None
    assert item.request_summary["user"].startswith("Clinical history:")
    assert GenerationRun.objects.get(pk=run.pk).finished_at is not None


def test_refusals_and_unparseable_answers_are_recorded_without_readings(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.when("[T2]", refusal("I cannot provide a diagnosis."))
    llm.when("[T3]", malformed())
    llm.when("[T4]", truncated())
    run = run_create(config=config)
    assert run_execute(run_id=run.pk).status == "finished"
    items = {
        i.case.code: i
        for i in GenerationItem.objects.filter(run=run, run_number__gte=1)
        .exclude(status="done")
        .select_related("case")
    }
    assert (
        items["T2"].status == "refused" and items["T2"].refusal == "I cannot provide a diagnosis."
    )
    assert items["T3"].status == "unparseable" and "not JSON" in items["T3"].error
    assert items["T3"].raw_text.startswith('{"category": 4, "impression": "Segmental NME')
    assert items["T4"].status == "unparseable" and items["T4"].finish_reason == "length"
    for item in items.values():
        assert item.reading is None
        assert not Reading.objects.filter(
            reader=config.reader, case=item.case, run=item.run_number
        ).exists()
    assert Reading.objects.filter(reader=config.reader).count() == 12 - 3


def test_a_429_then_success_costs_one_more_request(
    config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.when("[T1]", status(429, retry_after_ms=10))
    llm.when("[T3]", status(500), status(503))
    run = run_create(config=config)
    summary = run_execute(run_id=run.pk)
    assert summary.status == "finished"
    assert llm.chat_requests == 12 + 3 == summary.requests
    attempts = {
        code: sum(
            GenerationItem.objects.filter(run=run, case__code=code).values_list(
                "attempts", flat=True
            )
        )
        for code in ("T1", "T2", "T3", "T4")
    }
    # the runs of a case are in flight together: the errors may hit any of its three items
    assert attempts == {"T1": 4, "T2": 3, "T3": 5, "T4": 3}
    t1 = GenerationItem.objects.get(run=run, case__code="T1", attempts=2)
    assert [a["status"] for a in t1.attempt_log] == [429, 200]
    assert t1.attempt_log[0]["wait_s"] == 0.01
    assert Reading.objects.filter(reader=config.reader).count() == 12


def test_items_that_keep_failing_fail_the_run_and_are_retried_on_resume(
    study: Study, llm: FakeOpenAIServer
) -> None:
    config = config_create(study, llm.url, concurrency=1)  # one item at a time: T2 run 1 fails
    llm.when("[T2]", *[status(503)] * 4)  # max_attempts is 4
    run = run_create(config=config)
    summary = run_execute(run_id=run.pk)
    assert summary.status == "failed"
    run.refresh_from_db()
    assert "1 item without an answer" in run.message
    failed = GenerationItem.objects.get(run=run, status="error")
    assert failed.attempts == 4 and failed.error.startswith("HTTP 503")
    assert failed.reading is None
    run = run_resume(run=run)
    assert run_execute(run_id=run.pk).status == "finished"
    failed.refresh_from_db()
    assert failed.status == "done" and failed.attempts == 5
    assert llm.chat_requests == 12 + 4
    assert Reading.objects.filter(reader=config.reader).count() == 12


def test_the_concurrency_limit_holds(study: Study, llm: FakeOpenAIServer) -> None:
    llm.latency = 0.05
    config = config_create(study, llm.url, concurrency=2)
    run = run_create(config=config)
    run_execute(run_id=run.pk)
    assert llm.max_in_flight == 2


def test_stop_mid_run_then_resume_stores_every_item_exactly_once(
    study: Study, llm: FakeOpenAIServer
) -> None:
    llm.latency = 0.03
    config = config_create(study, llm.url, concurrency=2)
    run = run_create(config=config)
    seen: list[str] = []

    def on_result(status: str) -> None:
        seen.append(status)
        if len(seen) == 3:
            run_stop(run=GenerationRun.objects.get(pk=run.pk))

    summary = run_execute(run_id=run.pk, on_result=on_result, check_interval=0.0)
    assert summary.status == "stopped"
    done_before = summary.counts["done"]
    assert 3 <= done_before <= 5 and summary.counts["pending"] == 12 - done_before
    assert llm.chat_requests == done_before  # nothing abandoned in flight
    run = run_resume(run=GenerationRun.objects.get(pk=run.pk))
    summary = run_execute(run_id=run.pk)
    assert summary.status == "finished" and summary.requests == 12 - done_before
    assert llm.chat_requests == 12
    assert Reading.objects.filter(reader=config.reader).count() == 12
    assert GenerationItem.objects.filter(run=run, status="done", attempts=1).count() == 12


def test_a_result_delivered_twice_is_stored_once(config: GenerationConfig) -> None:
    from readerstudy.generation.runner import store_context
    from readerstudy.generation.storage import DUPLICATE, item_store

    run = run_create(config=config)
    item = GenerationItem.objects.filter(run=run).first()
    assert item is not None
    body: dict[str, Any] = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": '{"category": 5, "impression": "x", "management": "y"}',
                },
            }
        ]
    }
    ctx = store_context(run)
    assert item_store(item_id=item.pk, ctx=ctx, body=body, attempts=1) == "done"
    body2 = {
        **body,
        "choices": [
            {
                **body["choices"][0],
                "message": {
                    "role": "assistant",
                    "content": '{"category": 2, "impression": "z", "management": ""}',
                },
            }
        ],
    }
    assert item_store(item_id=item.pk, ctx=ctx, body=body2, attempts=1) == DUPLICATE
    reading = Reading.objects.get(reader=config.reader, case=item.case, run=item.run_number)
    assert reading.category == 5 and reading.impression == "x\n\nRecommendation: y"
    item.refresh_from_db()
    assert item.attempts == 1


def test_a_reading_that_appeared_meanwhile_is_not_overwritten(
    config: GenerationConfig, study: Study
) -> None:
    run = run_create(config=config)
    first = cases_of(study)[0]
    imported = Reading.objects.create(
        reader=config.reader,
        case=first,
        run=1,
        category=2,
        impression="imported",
        source="imported",
    )
    assert run_execute(run_id=run.pk).status == "failed"
    imported.refresh_from_db()
    assert imported.impression == "imported" and imported.source == "imported"
    item = GenerationItem.objects.get(run=run, case=first, run_number=1)
    assert item.status == "error" and "already exists (source imported)" in item.error
    assert item.raw_response is not None  # the answer itself is kept


def test_a_stopped_run_cannot_be_executed(config: GenerationConfig) -> None:
    run = run_create(config=config)
    assert run_stop(run=run) == "stopped"
    with pytest.raises(RunNotClaimableError):
        run_execute(run_id=run.pk)
    assert GenerationItem.objects.filter(run=run, status="pending").count() == 12
