"""Generated readings feed consensus, agreement and Likert analyses like imported ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from analysis.stats.agreement import cohen_kappa, fleiss_kappa
from analysis.stats.consensus import consensus
from analysis.stats.likert import likert_summary
from evaluation.models import LikertScore
from readerstudy.generation.models import GenerationConfig
from readerstudy.generation.runner import run_execute
from readerstudy.generation.services import run_create
from readerstudy.studies.models import Reader, Reading, Study
from tests.factories import LikertDomainFactory, RaterFactory
from tests.generation.conftest import cases_of
from tests.openai_server import FakeOpenAIServer, answer, refusal

pytestmark = pytest.mark.django_db


def readings_frame(study: Study) -> pd.DataFrame:
    rows = Reading.objects.filter(case__study=study, modality=1).values_list(
        "reader__code", "case__code", "run", "category"
    )
    return pd.DataFrame(list(rows), columns=["reader_id", "case_id", "run", "category"])


@pytest.fixture
def generated(config: GenerationConfig, llm: FakeOpenAIServer, study: Study) -> GenerationConfig:
    """M1 answers: T1 4,4,5 (majority 4); T2 2,3,5 (all differ: median 3); T3 refused once
    then 5,5; T4 2,2,2. A human reference reader R1 read every case once."""
    llm.when("[T1]", answer(category=4), answer(category=4), answer(category=5))
    llm.when("[T2]", answer(category=2), answer(category=3), answer(category=5))
    llm.when("[T3]", refusal(), answer(category=5), answer(category=5))
    llm.when("[T4]", answer(category=2), answer(category=2), answer(category=2))
    config.concurrency = 1  # the scripted order is the runs' order
    config.save()
    run = run_create(config=config)
    assert run_execute(run_id=run.pk).status == "finished"
    ref = Reader.objects.create(study=study, code="R1", kind="human")
    for case, category in zip(cases_of(study), [5, 3, 4, 2], strict=True):
        Reading.objects.create(reader=ref, case=case, category=category)
    return config


def test_consensus_uses_the_runs_that_exist(generated: GenerationConfig, study: Study) -> None:
    final = consensus(readings_frame(study).query("reader_id == 'M1'"))
    by_case = final.set_index("case")
    assert by_case["category"].to_dict() == {"T1": 4, "T2": 3, "T3": 5, "T4": 2}
    assert by_case["n_runs"].to_dict() == {"T1": 3, "T2": 3, "T3": 2, "T4": 3}
    assert by_case.loc["T2", "decided_by"] == "median"


def test_agreement_within_runs_and_against_the_reference(
    generated: GenerationConfig, study: Study
) -> None:
    frame = readings_frame(study)
    intra = fleiss_kappa(
        frame.query("reader_id == 'M1'"), categories=list(range(7)), n_boot=0, nan_policy="omit"
    )
    assert intra.loc[0, "n_cases"] == 3  # T3 lacks a run (refused): left out
    final = consensus(frame.query("reader_id == 'M1'"))[["reader", "case", "category"]].rename(
        columns={"reader": "reader_id", "case": "case_id"}
    )
    both = pd.concat(
        [final, frame.query("reader_id == 'R1'")[["reader_id", "case_id", "category"]]]
    )
    inter = cohen_kappa(both, reader_a="M1", reader_b="R1", categories=list(range(7)))
    assert inter.loc[0, "n"] == 4
    assert 0 < inter.loc[0, "statistic"] < 1


def test_exported_and_reimported_generated_readings_give_the_same_results(
    generated: GenerationConfig, study: Study, tmp_path: Path
) -> None:
    call_command("export_study", study.slug, str(tmp_path / "bundle"))
    toml = tmp_path / "bundle" / "study.toml"
    toml.write_text(toml.read_text().replace(f'slug = "{study.slug}"', 'slug = "reimported"'))
    call_command("import_study", str(tmp_path / "bundle"))
    again = Study.objects.get(slug="reimported")
    assert set(
        Reading.objects.filter(case__study=again, reader__code="M1").values_list(
            "source", flat=True
        )
    ) == {"imported"}
    original = consensus(readings_frame(study)).reset_index(drop=True)
    reimported = consensus(readings_frame(again)).reset_index(drop=True)
    pd.testing.assert_frame_equal(original, reimported)


def test_generated_outputs_take_likert_scores(generated: GenerationConfig, study: Study) -> None:
    domain = LikertDomainFactory(study=study, key="correctness")
    rater = RaterFactory(study=study, code="rater1")
    outputs = Reading.objects.filter(reader=generated.reader).order_by("case__position", "run")
    for i, reading in enumerate(outputs):
        LikertScore.objects.create(rater=rater, reading=reading, domain=domain, score=3 + i % 3)
    rows = LikertScore.objects.filter(reading__reader=generated.reader).values_list(
        "reading__reader__code", "reading__run", "score"
    )
    frame = pd.DataFrame(list(rows), columns=["reader_id", "run", "score"])
    summary = likert_summary(frame, by="reader_id")
    assert summary.loc[0, "n"] == 11 and 3 <= summary.loc[0, "statistic"] <= 5
