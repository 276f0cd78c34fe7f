"""results.json: the DESIGN.md contract on the demo study, spot-checked against analysis.stats."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from analysis.results import AnalysisOptions, results_json, run_analysis
from analysis.selectors import study_data
from analysis.stats.agreement import cohen_kappa, fleiss_kappa
from analysis.stats.consensus import consensus
from analysis.stats.likert import likert_summary
from analysis.stats.roc import compare_readers, reader_aucs
from evaluation.models import LikertScore
from readerstudy.models import Reading, Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db

READER_KEYS = {
    "kind", "auc", "auc_se", "auc_ci", "tp", "fp", "tn", "fn", "sensitivity",
    "sensitivity_ci", "specificity", "specificity_ci", "accuracy", "accuracy_ci", "ppv",
    "ppv_ci", "npv", "npv_ci",
}  # fmt: skip
AUC_TEST_KEYS = {"reader_a", "reader_b", "auc_a", "auc_b", "diff", "diff_ci", "z", "p"}
INTER_KEYS = {"reader_a", "reader_b", "scale", "kappa", "ci"}
INTRA_KEYS = {"reader", "scale", "kappa", "ci"}
BY_READER_KEYS = {"reader", "run", "n", "mean", "ci", "median"}
BY_DOMAIN_KEYS = {"reader", "domain", "group", "n", "mean", "ci"}
KRUSKAL_KEYS = {"run", "h", "df", "p"}
DUNN_KEYS = {"run", "reader_a", "reader_b", "z", "p", "p_adjusted"}
MRMC_KEYS = {"analysis", "covariance", "modalities", "aucs", "f", "df1", "df2", "p", "comparisons"}
MRMC_COMPARISON_KEYS = {"modality_a", "modality_b", "diff", "se", "ci", "p"}


@pytest.fixture(scope="module")
def demo_results(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> dict:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        doc = results_json(run_analysis(study_data(demo_study)))
    # What analyze writes must be valid JSON (no NaN) and survive a round trip unchanged.
    return json.loads(json.dumps(doc, allow_nan=False))


def _ci(value: object) -> None:
    assert isinstance(value, list) and len(value) == 2
    assert all(v is None or isinstance(v, float) for v in value)


def same(value: object) -> object:
    """Equal up to summation order (1e-12 relative)."""
    return pytest.approx(value, rel=1e-12, abs=1e-14)


def _num(value: object) -> None:
    assert value is None or isinstance(value, float), value


def _readings(study: Study, code: str) -> pd.DataFrame:
    """A reader's test-split readings through the ORM (independent of analysis.selectors)."""
    rows = Reading.objects.filter(reader__study=study, reader__code=code, case__split="test")
    return pd.DataFrame(
        rows.values_list("reader__code", "case__code", "run", "category", "case__truth"),
        columns=["reader_id", "case_id", "run", "category", "truth"],
    )


def _final(study: Study, code: str) -> pd.DataFrame:
    readings = _readings(study, code)
    final = consensus(readings).rename(columns={"reader": "reader_id", "case": "case_id"})
    truth = readings.drop_duplicates("case_id").set_index("case_id")["truth"]
    return final.assign(truth=final["case_id"].map(truth), rating=final["category"])


def test_results_json_of_the_demo_has_every_contract_key_with_the_right_types(
    demo_results: dict,
) -> None:
    doc = demo_results
    assert list(doc) == [
        "study", "n_cases", "n_positive", "readers", "auc_tests", "agreement", "likert", "mrmc",
        "mcnemar", "methods", "notes",
    ]  # fmt: skip
    assert doc["study"] == "nme-gpt4o-demo"
    assert (doc["n_cases"], doc["n_positive"]) == (114, 57)
    assert list(doc["readers"]) == ["R3", "R4", "R5", "A1", "A2", "B", "C", "D", "E"]
    for entry in doc["readers"].values():
        assert set(entry) >= READER_KEYS
        assert entry["kind"] in ("human", "model")
        for key in ("tp", "fp", "tn", "fn"):
            assert isinstance(entry[key], int)
        for key in ("auc", "auc_se", "sensitivity", "specificity", "accuracy", "ppv", "npv"):
            _num(entry[key])
        for key in (
            "auc_ci",
            "sensitivity_ci",
            "specificity_ci",
            "accuracy_ci",
            "ppv_ci",
            "npv_ci",
        ):
            _ci(entry[key])
    assert len(doc["auc_tests"]) == 9 * 8 // 2
    for test in doc["auc_tests"]:
        assert set(test) >= AUC_TEST_KEYS
        _ci(test["diff_ci"])
        for key in ("auc_a", "auc_b", "diff", "z", "p"):
            _num(test[key])
    inter, intra = doc["agreement"]["inter"], doc["agreement"]["intra"]
    assert {(e["reader_a"], e["scale"]) for e in inter} == {
        (r, s) for r in ["R4", "R5", "A1", "A2", "B", "C", "D", "E"] for s in ("category", "binary")
    }
    assert all(e["reader_b"] == "R3" for e in inter)
    assert {(e["reader"], e["scale"]) for e in intra} == {
        (r, s) for r in ["A1", "A2", "B", "C", "D", "E"] for s in ("category", "binary")
    }
    assert all(e["method"] == "fleiss" for e in intra)
    for entry, keys in [(e, INTER_KEYS) for e in inter] + [(e, INTRA_KEYS) for e in intra]:
        assert keys <= set(entry)
        _num(entry["kappa"])
        _ci(entry["ci"])
    likert = doc["likert"]
    assert set(likert) == {"by_reader", "by_domain", "kruskal", "dunn", "reliability"}
    for rows, keys in (
        (likert["by_reader"], BY_READER_KEYS),
        (likert["by_domain"], BY_DOMAIN_KEYS),
        (likert["kruskal"], KRUSKAL_KEYS),
        (likert["dunn"], DUNN_KEYS),
    ):
        assert rows
        for row in rows:
            assert keys <= set(row)
            for key in ("ci",):
                if key in row:
                    _ci(row[key])
    assert {r["run"] for r in likert["by_reader"]} == {1, 2, 3, None}
    assert [k["run"] for k in likert["kruskal"]] == [1, 2, 3, None]
    assert len(likert["dunn"]) == 4 * 15
    assert doc["mrmc"] == []


def test_auc_of_e_equals_analysis_stats_on_the_consensus_of_its_runs(
    demo_study: Study, demo_results: dict
) -> None:
    expected = reader_aucs(_final(demo_study, "E")).iloc[0]
    got = demo_results["readers"]["E"]
    assert got["auc"] == same(expected["auc"])
    assert got["auc_se"] == same(expected["se"])
    assert got["auc_ci"] == same([expected["ci_low"], expected["ci_high"]])
    assert math.isclose(got["auc"], 0.8160972606955986, rel_tol=0, abs_tol=1e-12)


def test_delong_p_of_e_versus_b_equals_analysis_stats(
    demo_study: Study, demo_results: dict
) -> None:
    both = pd.concat([_final(demo_study, "B"), _final(demo_study, "E")])
    expected = compare_readers(both).iloc[0]  # B vs E in sorted order
    test = next(
        t for t in demo_results["auc_tests"] if {t["reader_a"], t["reader_b"]} == {"B", "E"}
    )
    assert test["p"] == same(expected["p_value"])
    sign = 1 if test["reader_a"] == "B" else -1
    assert test["diff"] == same(sign * expected["diff"])
    assert test["p"] < 0.001


def test_fleiss_kappa_of_b_equals_analysis_stats(demo_study: Study, demo_results: dict) -> None:
    readings = _readings(demo_study, "B")
    expected = fleiss_kappa(readings, categories=range(7), n_boot=0).iloc[0]
    got = next(
        e
        for e in demo_results["agreement"]["intra"]
        if e["reader"] == "B" and e["scale"] == "category"
    )
    assert got["kappa"] == same(expected["kappa"])
    assert got["ci"] == same([expected["ci_low"], expected["ci_high"]])


def test_cohen_kappa_of_e_against_the_reference_equals_analysis_stats(
    demo_study: Study, demo_results: dict
) -> None:
    both = pd.concat([_final(demo_study, "E"), _final(demo_study, "R3")])
    expected = cohen_kappa(both, reader_a="E", reader_b="R3", threshold=4).iloc[0]
    got = next(
        e
        for e in demo_results["agreement"]["inter"]
        if e["reader_a"] == "E" and e["scale"] == "binary"
    )
    assert got["kappa"] == same(expected["kappa"])
    assert got["ci"] == same([expected["ci_low"], expected["ci_high"]])


def test_likert_mean_of_e_equals_the_mean_of_its_scores(
    demo_study: Study, demo_results: dict
) -> None:
    scores = pd.DataFrame(
        LikertScore.objects.filter(
            reading__reader__study=demo_study, reading__reader__code="E"
        ).values_list("reading__run", "score"),
        columns=["run", "score"],
    )
    expected = likert_summary(scores, by="run")
    rows = {r["run"]: r for r in demo_results["likert"]["by_reader"] if r["reader"] == "E"}
    for run in (1, 2, 3):
        exp = expected[expected["run"] == run].iloc[0]
        assert rows[run]["mean"] == same(exp["mean"])
        assert rows[run]["ci"] == same([exp["ci_low"], exp["ci_high"]])
        assert rows[run]["n"] == 114 * 3 * 9
    assert math.isclose(rows[None]["mean"], scores["score"].mean(), rel_tol=1e-12)


def test_a_reader_with_two_runs_gets_cohen_kappa_between_them_and_a_note(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "M1": 2, "M2": 3})
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    methods = {(e["reader"], e["scale"]): e["method"] for e in doc["agreement"]["intra"]}
    assert methods == {
        ("M1", "category"): "cohen",
        ("M1", "binary"): "cohen",
        ("M2", "category"): "fleiss",
        ("M2", "binary"): "fleiss",
    }
    assert any("M1: two runs" in n and "Cohen" in n for n in analysis.note_messages)


def test_readers_with_different_cases_are_compared_on_the_cases_both_read(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "M1": 1, "M2": 1}, skip={"M1": [0, 1, 2, 3]})
    analysis = run_analysis(study_data(study))
    tests = analysis.auc_tests.set_index(["reader_a", "reader_b"])
    assert tests.loc[("R1", "M1"), "n_cases"] == 32
    assert tests.loc[("R1", "M2"), "n_cases"] == 36
    assert any("different cases" in n for n in analysis.note_messages)
    assert results_json(analysis)["n_cases"] == 36


def test_more_than_one_modality_gives_mrmc_and_readers_of_the_first_modality(
    small_study: SmallStudy,
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1}, modalities=2)
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    assert [m["analysis"] for m in doc["mrmc"]] == ["RRRC", "FRRC", "RRFC"]
    for entry in doc["mrmc"]:
        assert set(entry) >= MRMC_KEYS
        assert entry["modalities"] == [1, 2]
        for comparison in entry["comparisons"]:
            assert set(comparison) >= MRMC_COMPARISON_KEYS
            _ci(comparison["ci"])
    assert doc["mrmc"][1]["df2"] is None  # FRRC: chi-square reference
    first = analysis.final.merge(
        pd.DataFrame(
            Reading.objects.filter(reader__study=study, modality=1, case__split="test").values_list(
                "reader__code", "case__code", "category"
            ),
            columns=["reader_id", "case_id", "m1"],
        )
    )
    assert (first["category"] == first["m1"]).all()


def test_scores_are_the_roc_rating_when_every_reading_has_one(small_study: SmallStudy) -> None:
    study = small_study(readers={"R1": 1, "M1": 3}, scores=True)
    analysis = run_analysis(study_data(study))
    assert analysis.rating_source == {"M1": "score", "R1": "score"}
    readings = study_data(study).readings
    mean_m1 = readings[readings["reader_id"] == "M1"].groupby("case_id")["score"].mean()
    final = analysis.final[analysis.final["reader_id"] == "M1"].set_index("case_id")
    assert (final["rating"] - mean_m1.reindex(final.index)).abs().max() < 1e-12


def test_filters_restrict_readers_and_runs(demo_study: Study) -> None:
    data = study_data(demo_study, readers=["A1", "B"], runs=[1, 2])
    analysis = run_analysis(data, AnalysisOptions(readers=("A1", "B"), runs=(1, 2)))
    doc = results_json(analysis)
    assert list(doc["readers"]) == ["A1", "B"]
    assert {r["run"] for r in doc["likert"]["by_reader"]} == {1, 2, None}
    # two runs left: intra-observer agreement is Cohen's kappa between them
    assert {e["method"] for e in doc["agreement"]["intra"]} == {"cohen"}
    assert "reference reader R3 is not in the selection" in " ".join(analysis.note_messages)


def test_an_unknown_reader_or_split_is_refused_naming_the_field(demo_study: Study) -> None:
    with pytest.raises(ValueError, match="readers: unknown reader"):
        study_data(demo_study, readers=["nobody"])
    with pytest.raises(ValueError, match="split"):
        study_data(demo_study, split="validation")
