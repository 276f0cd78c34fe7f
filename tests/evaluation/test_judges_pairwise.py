"""Pairwise (both orders) and acceptability judges against the local OpenAI-compatible server,
with scripted judges: a faithful one, a position-biased one, a lenient grader."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from django.utils import timezone

from analysis.charts import build_figures
from analysis.results import results_json, run_analysis
from analysis.selectors import study_data
from analysis.stats.judge import judge_position_bias
from evaluation.instruments import acceptability_scale, judge_choice
from evaluation.judges import JudgeError, judge_estimate, judge_template_problems
from evaluation.models import (
    AcceptabilityGrade,
    Instrument,
    JudgeAnswer,
    PairwisePreference,
    RatingItem,
    RatingSession,
)
from evaluation.selectors import judge_answer_frame
from evaluation.services import judge_run
from readerstudy.bundles.export import write_study_bundle
from readerstudy.studies.models import Case, CaseImage
from tests.evaluation.conftest import SessionMaker, World
from tests.evaluation.test_judges import judge_for, prompt_of
from tests.openai_server import Behaviour, FakeOpenAIServer, status, text

pytestmark = pytest.mark.django_db

_PAIR = re.compile(r'Output 1:\n"""\n(.*)\n"""\n\nOutput 2:\n"""\n(.*)\n"""', re.DOTALL)
_GRADED = re.compile(r'Output to grade:\n"""\n(.*)\n"""', re.DOTALL)


@pytest.fixture
def references(world: World) -> None:
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference: benign enhancement, region {case.position}."
        case.save()


def pairwise(make_session: SessionMaker) -> RatingSession:
    return make_session(
        instrument=Instrument.PAIRWISE,
        pairs=[("M1", "M2"), ("M1", "reference")],
        domains=[],
        runs=[1],
        raters_per_item=1,
    )


def acceptability(make_session: SessionMaker) -> RatingSession:
    return make_session(instrument=Instrument.ACCEPTABILITY, domains=[], runs=[1])


def better(x: str, y: str) -> str:
    """The hidden truth of a pair: the text with the larger hash is better; equal is a tie."""
    if x == y:
        return "tie"
    return "x" if hashlib.sha256(x.encode()).digest() > hashlib.sha256(y.encode()).digest() else "y"


def texts_of(body: dict[str, Any]) -> tuple[str, str]:
    found = _PAIR.search(prompt_of(body))
    assert found, "the prompt has no pair of outputs"
    return found.group(1), found.group(2)


def faithful_pair(body: dict[str, Any]) -> Behaviour:
    first, second = texts_of(body)
    verdict = better(first, second)
    return text(json.dumps({"choice": {"x": "first", "y": "second"}.get(verdict, "tie")}))


def first_shown(body: dict[str, Any]) -> Behaviour:
    texts_of(body)
    return text(json.dumps({"choice": "first"}))


def true_choice(item: RatingItem) -> str:
    verdict = better(item.display_text, item.display_text_b)
    return {"x": "a", "y": "b"}.get(verdict, "tie")


def position_frame(study: Any) -> Any:
    frame = judge_answer_frame(study)
    frame = frame[frame["instrument"] == Instrument.PAIRWISE]
    return frame.rename(columns={"rater": "rater_id", "case": "case_id", "value": "choice"}).assign(
        reader=frame["reader_a"] + "#" + frame["run_a"].astype(str),
        comparator=frame["reader_b"] + "#" + frame["run_b"].astype(str),
    )


def test_the_canonical_choice_follows_the_order() -> None:
    assert [judge_choice(o, a) for o in ("ab", "ba") for a in ("first", "second", "tie")] == [
        "a", "b", "tie", "b", "a", "tie",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="order/answer"):
        judge_choice("ab", "left")


def test_a_pairwise_item_is_asked_in_both_orders_and_stored_as_the_raters_see_it(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session)
    items = list(RatingItem.objects.filter(session=session))
    assert len(items) == 8 and {i.left for i in items} == {"a", "b"}
    config = judge_for(world, llm)
    llm.script(faithful_pair)
    summary = judge_run(config=config, session=session, actor=world.coordinator)
    assert summary.counts == {"ok": 16} and summary.scores_written == 8
    bodies = llm.chat_bodies()
    assert len(bodies) == 16 and llm.context_violations == 0
    for item in items:
        shown = {texts_of(b) for b in bodies if item.display_text in texts_of(b)}
        if item.display_text != item.display_text_b:
            assert (item.display_text, item.display_text_b) in shown
            assert (item.display_text_b, item.display_text) in shown
    # no reader, case or model identity reaches the judge
    for body in bodies:
        sent = json.dumps(body)
        for marker in ("M1", "M2", "GPT-4o", "C1", "C2"):
            assert not re.search(rf"(?<![A-Za-z0-9]){marker}(?![A-Za-z0-9])", sent), marker
    prefs = {
        (p.reading_a_id, p.reading_b_id): p
        for p in PairwisePreference.objects.filter(rater=config.rater)
    }
    assert len(prefs) == 8
    for item in items:
        pref = prefs[(item.reading_id, item.reading_b_id)]
        assert pref.choice == true_choice(item) and pref.left == item.left
        assert pref.source == "judged"
    assert set(JudgeAnswer.objects.filter(config=config).values_list("order", flat=True)) == {
        "ab",
        "ba",
    }
    bias = judge_position_bias(position_frame(world.study)).set_index("measure")
    assert bias.loc["consistency", "statistic"] == 1.0 and bias.loc["consistency", "n"] == 8


def test_a_position_biased_judge_is_recovered_by_asking_both_orders(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session)
    config = judge_for(world, llm)
    llm.script(first_shown)
    judge_run(config=config, session=session, actor=world.coordinator)
    bias = judge_position_bias(position_frame(world.study)).set_index("measure")
    assert bias.loc["position_bias", "statistic"] == 1.0
    assert bias.loc["position_bias", "n"] == 16 and bias.loc["position_bias", "p_value"] < 0.001
    assert bias.loc["consistency", "statistic"] == 0.0
    # the stored preference is the side the raters see on the left
    items = {(i.reading_id, i.reading_b_id): i for i in RatingItem.objects.filter(session=session)}
    for pref in PairwisePreference.objects.filter(rater=config.rater):
        assert pref.choice == items[(pref.reading_a_id, pref.reading_b_id)].left


def test_a_pairwise_run_resumes_only_the_order_that_failed(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session)
    config = judge_for(world, llm, concurrency=1, max_attempts=1)
    assert judge_estimate(config=config, session=session).n_requests == 16
    llm.enqueue(status(500))
    llm.script(faithful_pair)
    first = judge_run(config=config, session=session, actor=world.coordinator)
    assert first.counts == {"error": 1, "ok": 15}
    failed = JudgeAnswer.objects.get(config=config, status="error")
    assert judge_estimate(config=config, session=session).n_requests == 1
    llm.reset()
    llm.script(faithful_pair)
    second = judge_run(config=config, session=session, actor=world.coordinator)
    assert second.skipped == 15 and second.counts == {"ok": 1}
    (body,) = llm.chat_bodies()
    item = failed.item
    expected = (
        (item.display_text, item.display_text_b)
        if failed.order == "ab"
        else (item.display_text_b, item.display_text)
    )
    assert texts_of(body) == expected
    assert PairwisePreference.objects.filter(rater=config.rater).count() == 8


def test_an_acceptability_judge_grades_on_the_study_scale(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker
) -> None:
    session = acceptability(make_session)
    scale = acceptability_scale(world.study)
    config = judge_for(world, llm, runs=2)

    def lenient(body: dict[str, Any]) -> Behaviour:
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["grade"]["enum"] == scale.values
        assert _GRADED.search(prompt_of(body))
        for grade in scale.values:
            assert f"{grade} = {scale.labels[grade]}" in prompt_of(body)
        return text(json.dumps({"grade": max(scale.values)}))

    llm.script(lenient)
    summary = judge_run(config=config, session=session, actor=world.coordinator)
    n_items = RatingItem.objects.filter(session=session).count()
    assert summary.counts == {"ok": 2 * n_items} and summary.scores_written == n_items
    grades = AcceptabilityGrade.objects.filter(rater=config.rater)
    assert grades.count() == n_items
    assert set(grades.values_list("grade", "source")) == {(max(scale.values), "judged")}
    frame = judge_answer_frame(world.study)
    assert set(frame["key"]) == {"grade"} and sorted(set(frame["judge_run"])) == [1, 2]


def test_an_error_annotation_session_is_not_judged_and_templates_are_checked(
    world: World, llm: FakeOpenAIServer
) -> None:
    config = judge_for(world, llm)
    session = RatingSession.objects.create(
        study=world.study,
        name="errors",
        seed=1,
        instrument=Instrument.ERRORS,
        status="open",
        opened_at=timezone.now(),
    )
    with pytest.raises(JudgeError, match="judges answer likert, pairwise, acceptability"):
        judge_run(config=config, session=session, actor=world.coordinator)
    assert llm.chat_bodies() == []
    assert judge_template_problems("Which? $first", instrument=Instrument.PAIRWISE) == [
        "the template must contain $second (the text to rate)"
    ]
    assert judge_template_problems("Grade $output: $domains", instrument="acceptability") == [
        "unknown placeholder $domains (allowed: $output, $grades, $context)"
    ]


def test_the_analysis_recovers_each_scripted_pairwise_judge(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, references: None
) -> None:
    """Three humans choose the hidden truth; the faithful judge (two runs) agrees with them,
    answers the same in both orders and runs; the position-biased one always picks the first."""
    session = pairwise(make_session)
    items = list(RatingItem.objects.filter(session=session).select_related("reading"))
    PairwisePreference.objects.bulk_create(
        PairwisePreference(
            rater=rater,
            case_id=item.reading.case_id,
            reading_a_id=item.reading_id,
            reading_b_id=item.reading_b_id,
            choice=true_choice(item),
        )
        for rater in world.rater_profiles()
        for item in items
    )
    faithful = judge_for(world, llm, code="faithful", runs=2)
    biased = judge_for(world, llm, code="first")
    llm.script(faithful_pair)
    judge_run(config=faithful, session=session, actor=world.coordinator)
    llm.script(first_shown)
    judge_run(config=biased, session=session, actor=world.coordinator)

    data = study_data(world.study, split="all")
    # the judges' preferences are not the panel's
    humans = {r.code for r in world.rater_profiles()}
    assert set(data.preferences["rater_id"]) == humans
    assert set(data.judge_preferences["rater_id"]) == {"faithful", "first"}
    out = run_analysis(data)

    def value(judge: str, analysis: str, measure: str, against: object = None) -> Any:
        sel = out.judges[
            (out.judges["judge"] == judge)
            & (out.judges["analysis"] == analysis)
            & (out.judges["measure"] == measure)
        ]
        if against is not None:
            sel = sel[sel["against"] == against]
        assert len(sel) == 1, (judge, analysis, measure, against)
        return sel.iloc[0]

    kappa = value("faithful", "agreement", "weighted_kappa", "panel")
    assert kappa["statistic"] == pytest.approx(1.0) and kappa["instrument"] == "pairwise"
    assert kappa["domain"] == "preference" and kappa["n"] == 8
    assert value("faithful", "position_bias", "consistency")["statistic"] == 1.0
    assert value("faithful", "position_bias", "consistency")["n"] == 16  # 8 pairs x 2 runs
    alpha = value("faithful", "self_consistency", "exact_agreement")
    assert alpha["statistic"] == 1.0 and alpha["n_runs"] == 2 and alpha["n"] == 16
    first = value("first", "position_bias", "position_bias")
    assert first["statistic"] == 1.0 and first["k"] == first["n"] == 16
    assert first["p_value"] < 0.001
    assert value("first", "position_bias", "consistency")["statistic"] == 0.0
    # a judge with one run has no self-consistency
    assert not (
        (out.judges["judge"] == "first") & (out.judges["analysis"] == "self_consistency")
    ).any()
    # the biased judge's run-1 preferences follow the left side, not the truth
    assert value("first", "agreement", "weighted_kappa", "panel")["statistic"] < 0.9
    fig = build_figures(out)["judge_agreement"]
    points = {(t.name, y): x for t in fig.data for x, y in zip(t.x, t.y, strict=True)}
    assert points[("faithful", "faithful · preference")] == pytest.approx(1.0)
    assert ("first", "first · preference") in points
    hover = " ".join(h for t in fig.data for h in t.hovertext)
    assert "first-shown choices 1.000" in hover
    payload = results_json(out)
    entry = next(j for j in payload["judges"] if j["analysis"] == "position_bias")
    assert {"instrument", "k", "n_runs"} <= set(entry)


def test_a_bundle_export_carries_the_panels_judgments_not_the_judges(
    world: World, llm: FakeOpenAIServer, make_session: SessionMaker, references: None, tmp_path: Any
) -> None:
    session = pairwise(make_session)
    config = judge_for(world, llm)
    llm.script(faithful_pair)
    judge_run(config=config, session=session, actor=world.coordinator)
    item = RatingItem.objects.filter(session=session).select_related("reading").first()
    assert item is not None
    human = world.rater_profiles()[0]
    PairwisePreference.objects.create(
        rater=human,
        case_id=item.reading.case_id,
        reading_a_id=item.reading_id,
        reading_b_id=item.reading_b_id,
        choice="tie",
    )
    CaseImage.objects.filter(case__study=world.study).delete()  # the world's files are not kept
    write_study_bundle(world.study, tmp_path / "bundle")
    rows = (tmp_path / "bundle" / "preferences.csv").read_text().splitlines()
    assert len(rows) == 2 and human.code in rows[1] and "judge1" not in "".join(rows)
