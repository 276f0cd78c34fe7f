"""LLM judges against the local OpenAI-compatible server, with scripted judge behaviour."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from evaluation.judges import (
    JudgeError,
    judge_answer_schema,
    judge_estimate,
    judge_template_problems,
)
from evaluation.models import (
    JudgeAnswer,
    JudgeConfig,
    LikertScore,
    Rater,
    RatingAssignment,
    RatingItem,
    RatingSession,
)
from evaluation.selectors import judge_problem_answers, session_domains
from evaluation.services import (
    JudgeOptions,
    judge_config_create,
    judge_dispatch,
    judge_run,
    rater_for_user,
)
from readerstudy.core.llm.egress import DestinationNotAllowedError
from tests.evaluation.conftest import SessionMaker, World, member
from tests.openai_server import Behaviour, FakeOpenAIServer, refusal, status, text

pytestmark = pytest.mark.django_db

_OUTPUT = re.compile(r'Output to rate:\n"""\n(.*)\n"""', re.DOTALL)


def prompt_of(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def output_of(body: dict[str, Any]) -> str:
    found = _OUTPUT.search(prompt_of(body))
    assert found, "the prompt has no output block"
    return found.group(1)


def keys_of(body: dict[str, Any]) -> list[str]:
    return list(body["response_format"]["json_schema"]["schema"]["required"])


def truth(output: str, key: str) -> int:
    """The hidden "true" score of an output on a domain (1..5), a function of what is rated."""
    return 1 + hashlib.sha256(f"{key}:{output}".encode()).digest()[0] % 5


def faithful(body: dict[str, Any]) -> Behaviour:
    out = output_of(body)
    return text(json.dumps({k: truth(out, k) for k in keys_of(body)}))


def biased(body: dict[str, Any]) -> Behaviour:
    out = output_of(body)
    return text(json.dumps({k: min(5, truth(out, k) + 1) for k in keys_of(body)}))


def judge_for(world: World, llm: FakeOpenAIServer, code: str = "judge1", **kw: Any) -> JudgeConfig:
    options = JudgeOptions(code=code, base_url=llm.url, model_name="judge-model", **kw)
    return judge_config_create(study=world.study, options=options, actor=world.coordinator)


def judge_scores(config: JudgeConfig) -> dict[tuple[int, str], int]:
    return {
        (s.reading_id, s.domain.key): s.score
        for s in LikertScore.objects.filter(rater=config.rater).select_related("domain")
    }


def true_scores(session: RatingSession, shift: Callable[[int], int] = lambda s: s) -> dict:
    keys = [d.key for d in session_domains(session)]
    return {
        (item.reading_id, k): shift(truth(item.display_text, k))
        for item in RatingItem.objects.filter(session=session)
        for k in keys
    }


def test_a_judge_is_a_rater_of_kind_model(world: World, llm: FakeOpenAIServer) -> None:
    config = judge_for(world, llm)
    assert config.rater.kind == Rater.Kind.MODEL
    assert all(r.kind == Rater.Kind.HUMAN for r in world.rater_profiles())


def test_a_faithful_judge_stores_the_true_scores_as_judged_likert_scores(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm)
    llm.script(faithful)
    summary = judge_run(config=config, session=session, actor=world.coordinator)
    n_items = RatingItem.objects.filter(session=session).count()
    assert n_items == 20
    assert summary.counts == {"ok": n_items}
    assert judge_scores(config) == true_scores(session)
    assert summary.scores_written == 3 * n_items
    assert set(LikertScore.objects.filter(rater=config.rater).values_list("source", flat=True)) == {
        LikertScore.Source.JUDGED
    }
    answer = JudgeAnswer.objects.filter(config=config).first()
    assert answer is not None and answer.prompt_tokens and answer.completion_tokens
    assert answer.raw_response and answer.raw_response["choices"]


def test_a_biased_judge_scores_one_point_higher_where_the_scale_allows(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm)
    llm.script(biased)
    judge_run(config=config, session=session, actor=world.coordinator)
    got, true = judge_scores(config), true_scores(session)
    assert got == true_scores(session, lambda s: min(5, s + 1))
    below_top = [k for k, v in true.items() if v < 5]
    assert below_top and all(got[k] - true[k] == 1 for k in below_top)


def test_each_item_is_a_fresh_request_with_only_the_blinded_view(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm)
    llm.script(faithful)
    judge_run(config=config, session=session, actor=world.coordinator)
    bodies = llm.chat_bodies()
    assert len(bodies) == RatingItem.objects.filter(session=session).count()
    assert llm.context_violations == 0
    assert all([m["role"] for m in b["messages"]] == ["system", "user"] for b in bodies)
    forbidden = set()
    for reader in world.readers.values():
        forbidden |= {reader.code, reader.label}
    forbidden |= {r.reader.code for r in world.readings} | {"GPT-4o", "fine-tuned", "zero-shot"}
    forbidden |= {c for c in world.study.cases.values_list("code", flat=True)}
    for body in bodies:
        sent = json.dumps(body)
        for marker in forbidden:
            assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(marker)}(?![A-Za-z0-9])", sent), (
                marker
            )
    # What the rater page shows is there: the normalised text, the domains, the anchors and
    # the clinical history (the session shows it).
    texts = set(RatingItem.objects.filter(session=session).values_list("display_text", flat=True))
    assert {output_of(b) for b in bodies} == texts
    first = prompt_of(bodies[0])
    assert "Correctness" in first and "Strongly agree" in first and "Clinical history:" in first


def test_a_session_that_hides_the_clinical_history_hides_it_from_the_judge(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session(show_clinical_history=False, show_findings=False)
    config = judge_for(world, llm)
    llm.script(faithful)
    judge_run(config=config, session=session, actor=world.coordinator)
    for body in llm.chat_bodies():
        assert "years." not in prompt_of(body) and "Non-mass enhancement number" not in (
            prompt_of(body)
        )


def test_refusals_and_unparseable_answers_are_kept_listed_and_not_scored(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm)
    calls = {"n": 0}

    def unreliable(body: dict[str, Any]) -> Behaviour:
        calls["n"] += 1
        if calls["n"] % 5 == 1:
            return refusal("I cannot rate medical reports.")
        if calls["n"] % 5 == 2:
            return text("I would give it a 4 overall.")
        if calls["n"] % 5 == 3:
            return text(json.dumps({k: 9 for k in keys_of(body)}))  # off the scale
        return faithful(body)

    llm.script(unreliable)
    summary = judge_run(config=config, session=session, actor=world.coordinator)
    assert summary.counts == {"refused": 4, "unparseable": 8, "ok": 8}
    problems = list(judge_problem_answers(config=config))
    assert len(problems) == 12
    refused = [a for a in problems if a.status == "refused"]
    assert all(a.error == "I cannot rate medical reports." for a in refused)
    assert any(a.raw_text == "I would give it a 4 overall." for a in problems)
    assert any("does not match the schema" in a.error for a in problems)
    scored = {reading for reading, _ in judge_scores(config)}
    ok_readings = set(
        JudgeAnswer.objects.filter(config=config, status="ok").values_list(
            "item__reading_id", flat=True
        )
    )
    assert scored == ok_readings and len(scored) == 8
    # Kept outcomes are final: running again asks nothing.
    llm.reset()
    again = judge_run(config=config, session=session, actor=world.coordinator)
    assert again.skipped == 20 and again.counts == {} and llm.chat_bodies() == []


def test_a_run_is_resumed_where_it_failed_and_answered_items_are_not_asked_again(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm, max_attempts=2, concurrency=1)
    llm.enqueue(*[status(500)] * 6)  # the first three items fail twice: errors
    llm.script(faithful)
    first = judge_run(config=config, session=session, actor=world.coordinator)
    assert first.counts == {"error": 3, "ok": 17}
    assert judge_scores(config).keys() < true_scores(session).keys()
    failed = set(
        JudgeAnswer.objects.filter(config=config, status="error").values_list(
            "item__display_text", flat=True
        )
    )
    llm.reset()
    llm.script(faithful)
    second = judge_run(config=config, session=session, actor=world.coordinator)
    assert second.skipped == 17 and second.counts == {"ok": 3}
    assert {output_of(b) for b in llm.chat_bodies()} == failed
    assert judge_scores(config) == true_scores(session)
    assert JudgeAnswer.objects.filter(config=config).count() == 20


def test_rate_limits_are_retried_and_counted(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm, concurrency=1)
    llm.enqueue(status(429, retry_after_ms=20), status(503))
    llm.script(faithful)
    summary = judge_run(config=config, session=session, actor=world.coordinator)
    assert summary.counts == {"ok": 20}
    assert summary.requests == 22
    assert (
        sorted(JudgeAnswer.objects.filter(config=config).values_list("attempts", flat=True))[-1]
        == 3
    )


def test_runs_answer_again_but_only_run_one_becomes_scores(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm, runs=2)
    served = {"n": 0}

    def drifting(body: dict[str, Any]) -> Behaviour:
        served["n"] += 1
        return faithful(body) if served["n"] <= 20 else biased(body)

    llm.script(drifting)
    judge_run(config=config, session=session, actor=world.coordinator, run=1)
    judge_run(config=config, session=session, actor=world.coordinator, run=2)
    assert JudgeAnswer.objects.filter(config=config, run=2, status="ok").count() == 20
    assert judge_scores(config) == true_scores(session)


def test_concurrency_is_limited(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm, concurrency=3)
    llm.script(faithful)
    judge_run(config=config, session=session, actor=world.coordinator)
    assert 1 < llm.max_in_flight <= 3


def test_the_estimate_counts_what_is_left_at_the_configured_prices(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(
        world, llm, runs=2, price_input_per_1k="0.5", price_output_per_1k="2", max_tokens=100
    )
    before = judge_estimate(config=config, session=session)
    assert (before.n_cases, before.n_requests, before.output_tokens_max) == (20, 40, 4000)
    assert before.cost_input == Decimal("0.5") * before.input_tokens / 1000
    assert before.cost_output_max == Decimal("8")
    llm.script(faithful)
    judge_run(config=config, session=session, actor=world.coordinator, run=1)
    after = judge_estimate(config=config, session=session)
    assert after.n_requests == 20 and after.input_tokens * 2 == before.input_tokens


def test_a_judge_config_is_checked_all_at_once(world: World, llm: FakeOpenAIServer) -> None:
    options = JudgeOptions(
        code="rater1",
        base_url="http://elsewhere.example:9/v1",
        model_name="m",
        api_key_env="SECRET_KEY",
        prompt_template="Rate $text",
        temperature=5.0,
    )
    with pytest.raises(ValidationError) as caught:
        judge_config_create(study=world.study, options=options, actor=world.coordinator)
    fields = caught.value.message_dict
    assert set(fields) == {"code", "base_url", "api_key_env", "prompt_template"} | (
        {"__all__"} if "__all__" in fields else set()
    )
    assert "unknown placeholder $text" in " ".join(fields["prompt_template"])
    assert not Rater.objects.filter(study=world.study, kind=Rater.Kind.MODEL).exists()


def test_the_template_must_rate_the_output() -> None:
    assert judge_template_problems("Rate $output on $domains") == []
    assert judge_template_problems("Rate this") == [
        "the template must contain $output (the text to rate)"
    ]


def test_the_answer_schema_has_one_scale_value_per_domain(
    world: World, make_session: SessionMaker
) -> None:
    schema = judge_answer_schema(session_domains(make_session()), 1, 5)
    assert schema["required"] == ["correctness", "coherence", "harmlessness"]
    assert schema["properties"]["coherence"]["enum"] == [1, 2, 3, 4, 5]
    assert schema["additionalProperties"] is False


def test_a_judge_of_another_study_or_a_server_no_longer_allowed_sends_nothing(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, settings: Any
) -> None:
    config = judge_for(world, llm)
    other = RatingSession.objects.create(study=world.other, name="x", seed=1)
    with pytest.raises(JudgeError):
        judge_run(config=config, session=other, actor=world.coordinator)
    session = make_session()
    settings.GENERATION_ALLOWED_BASE_URLS = []
    with pytest.raises(DestinationNotAllowedError):
        judge_run(config=config, session=session, actor=world.coordinator)
    assert llm.chat_bodies() == [] and not JudgeAnswer.objects.exists()


def test_the_task_runs_in_process_without_a_broker(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = make_session()
    config = judge_for(world, llm)
    llm.script(faithful)
    assert judge_dispatch(config=config, session=session) == "inline"
    assert judge_scores(config) == true_scores(session)


def test_the_judge_command_creates_estimates_runs_and_lists_problems(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, capsys: Any
) -> None:
    session = make_session()
    call_command("judge", "nme", "--create", "gptjudge", "--base-url", llm.url, "--model", "m")
    assert "judge gptjudge created" in capsys.readouterr().out
    call_command("judge", "nme", "gptjudge", str(session.pk), "--estimate-only")
    assert "20 requests for 20 items" in capsys.readouterr().out
    assert llm.chat_bodies() == []
    llm.enqueue(refusal("no"))
    llm.script(faithful)
    call_command("judge", "nme", "gptjudge", str(session.pk))
    assert "19 ok, 1 refused" in capsys.readouterr().out
    call_command("judge", "nme", "gptjudge", "--problems")
    assert "refused: no" in capsys.readouterr().out


def test_the_integrity_triggers_survive_the_judges_migration(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    """Migration 0006 rebuilds the rater and score tables on SQLite: the triggers of 0002 and
    0004 must be there afterwards (a score off the scale, an assignment across studies)."""
    config = judge_for(world, llm)
    with pytest.raises(IntegrityError, match="likertscore_in_range"), transaction.atomic():
        LikertScore.objects.create(
            rater=config.rater, reading=world.readings[0], domain=world.domains[0], score=99
        )
    session = make_session()
    stranger = Rater.objects.create(study=world.other, code="stranger")
    with pytest.raises(IntegrityError, match="ratingassignment_same_study"), transaction.atomic():
        RatingAssignment.objects.create(session=session, rater=stranger)


def test_a_draft_session_is_not_judged(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    config = judge_for(world, llm)
    draft = make_session(start=False)
    with pytest.raises(JudgeError, match="draft"):
        judge_run(config=config, session=draft, actor=world.coordinator)
    assert llm.chat_bodies() == []


def test_a_user_named_like_a_judge_gets_a_rater_profile_of_their_own(
    world: World, llm: FakeOpenAIServer
) -> None:
    config = judge_for(world, llm, code="alice")
    alice = member(world.study, "rater", "alice")
    profile = rater_for_user(study=world.study, user=alice)
    assert profile.pk != config.rater_id and profile.kind == Rater.Kind.HUMAN
    config.rater.refresh_from_db()
    assert config.rater.user is None
