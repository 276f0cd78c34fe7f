"""results.json: the contract of docs/architecture.md on the demo study, spot-checked against analysis.stats."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy import stats

from analysis.results import AnalysisOptions, results_json, run_analysis
from analysis.selectors import study_data
from analysis.stats.agreement import cohen_kappa, fleiss_kappa, icc, krippendorff_alpha
from analysis.stats.clustered_accuracy import clustered_accuracy
from analysis.stats.clustered_roc import clustered_aucs, compare_clustered
from analysis.stats.consensus import consensus
from analysis.stats.diagnostic import mcnemar_test
from analysis.stats.likert import likert_summary
from analysis.stats.multiplicity import adjust_p
from analysis.stats.roc import reader_aucs
from evaluation.models import LikertScore
from readerstudy.studies.models import Reading, Study
from tests.analysis.conftest import CustomStudy, SmallStudy
from tests.stats._agree_fixtures import R_DIR, load_reference

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
LIKERT_PAIRED_KEYS = {
    "domain", "reader_a", "reader_b", "unit", "n_blocks", "n_raters", "n_cases", "mean_a",
    "mean_b", "diff", "diff_ci", "ci_method", "v", "z", "wilcoxon_method", "p", "p_adjusted",
    "p_adjust", "friedman_q", "friedman_df", "friedman_p", "note",
}  # fmt: skip
MRMC_KEYS = {"analysis", "covariance", "modalities", "aucs", "f", "df1", "df2", "p", "comparisons"}
MRMC_COMPARISON_KEYS = {"modality_a", "modality_b", "diff", "se", "ci", "p"}
MRMC_NONINFERIORITY_KEYS = {
    "reference", "treatment", "margin", "difference", "ci", "t", "df", "p", "noninferior", "note",
}  # fmt: skip
MCNEMAR_KEYS = {
    "reader_a", "reader_b", "metric", "n", "estimate_a", "estimate_b", "diff", "b", "c",
    "statistic", "p_chisq", "p_exact", "p", "p_adjusted", "p_adjust",
}  # fmt: skip
RELIABILITY_KEYS = {
    "domain", "group", "n_units", "n_raters", "alpha_level", "alpha", "alpha_ci", "icc_type",
    "icc_n_units", "icc", "icc_ci",
}  # fmt: skip


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


def _readings(study: Study, code: str, modality: int = 1) -> pd.DataFrame:
    """A reader's test-split readings through the ORM (independent of analysis.selectors)."""
    rows = Reading.objects.filter(
        reader__study=study, reader__code=code, case__split="test", modality=modality
    )
    return pd.DataFrame(
        rows.values_list("reader__code", "case__code", "run", "category", "case__truth"),
        columns=["reader_id", "case_id", "run", "category", "truth"],
    )


def _final(study: Study, code: str) -> pd.DataFrame:
    readings = _readings(study, code)
    final = consensus(readings).rename(columns={"reader": "reader_id", "case": "case_id"})
    truth = readings.drop_duplicates("case_id").set_index("case_id")["truth"]
    return final.assign(truth=final["case_id"].map(truth), rating=final["category"])


def _clustered(study: Study, final: pd.DataFrame) -> pd.DataFrame:
    patient = dict(study.cases.values_list("code", "patient_id"))
    return final.assign(patient_id=final["case_id"].map(patient))


def test_results_json_of_the_demo_has_every_contract_key_with_the_right_types(
    demo_results: dict,
) -> None:
    doc = demo_results
    assert list(doc) == [
        "study", "n_cases", "n_positive", "modality", "readers", "auc_tests", "agreement",
        "likert", "likert_paired", "mrmc", "mcnemar", "ai_vs_readers", "reading_time", "agreement_by_modality",
        "edits",
        "mrmc_binary",
        "text_metrics", "text_metrics_tests", "preference", "bradley_terry", "acceptability",
        "acceptability_paired", "errors", "judgment_agreement",
        "clustered", "accuracy_tests", "partial_auc", "youden_threshold", "omnibus_auc",
        "subgroups", "judges", "findings", "localisation", "methods", "notes",
    ]  # fmt: skip
    assert doc["modality"] == 1
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
    # paired: 9 domains x 15 pairs of the 6 rated readers, 3 raters x 114 cases each
    paired = doc["likert_paired"]
    assert len(paired) == 9 * 15
    for row in paired:
        assert set(row) == LIKERT_PAIRED_KEYS
        assert (row["n_blocks"], row["n_raters"], row["n_cases"]) == (3 * 114, 3, 114)
        _ci(row["diff_ci"])
        assert row["diff_ci"][0] <= row["diff"] <= row["diff_ci"][1]
    # unaided vs AI-assisted reading of R3-R5 (tests/analysis/test_results_mrmc.py)
    assert [m["analysis"] for m in doc["mrmc"]] == ["RRRC", "FRRC", "RRFC"]


def test_auc_of_e_equals_analysis_stats_on_the_consensus_of_its_runs(
    demo_study: Study, demo_results: dict
) -> None:
    # the demo's 4 bilateral patients: Obuchowski's clustered SE (same AUC as DeLong's)
    expected = clustered_aucs(_clustered(demo_study, _final(demo_study, "E"))).iloc[0]
    assert expected["statistic"] == reader_aucs(_final(demo_study, "E")).iloc[0]["statistic"]
    got = demo_results["readers"]["E"]
    assert got["auc"] == same(expected["statistic"])
    assert got["auc_se"] == same(expected["se"])
    assert got["auc_ci"] == same([expected["ci_low"], expected["ci_high"]])
    assert math.isclose(got["auc"], 0.8160972606955986, rel_tol=0, abs_tol=1e-12)


CLUSTER_KEYS = {
    f"{m}_cluster_{k}" for m in ("sensitivity", "specificity") for k in ("se", "ci", "boot_ci")
}


def test_clustered_sensitivity_and_specificity_of_e_equal_analysis_stats(
    demo_study: Study, demo_results: dict
) -> None:
    # the 4 bilateral patients: Obuchowski's ratio-estimator SE beside the binomial CI
    final = _clustered(demo_study, _final(demo_study, "E"))
    expected = clustered_accuracy(final, threshold=4, n_boot=2000, seed=1).set_index("metric")
    for entry in demo_results["readers"].values():
        assert set(entry) >= CLUSTER_KEYS
    got = demo_results["readers"]["E"]
    for metric in ("sensitivity", "specificity"):
        row = expected.loc[metric]
        assert got[metric] == same(row["statistic"])
        assert got[f"{metric}_cluster_se"] == same(row["se"])
        assert got[f"{metric}_cluster_ci"] == same([row["ci_low"], row["ci_high"]])
        assert got[f"{metric}_cluster_boot_ci"] == same([row["boot_ci_low"], row["boot_ci_high"]])
        assert row["n_clusters"] < row["n"] or metric == "specificity"


def test_delong_p_of_e_versus_b_equals_analysis_stats(
    demo_study: Study, demo_results: dict
) -> None:
    both = pd.concat([_final(demo_study, "B"), _final(demo_study, "E")])
    expected = compare_clustered(_clustered(demo_study, both)).iloc[0]  # B vs E, sorted
    test = next(
        t for t in demo_results["auc_tests"] if {t["reader_a"], t["reader_b"]} == {"B", "E"}
    )
    assert test["p"] == same(expected["p_value"])
    sign = 1 if test["reader_a"] == "B" else -1
    assert test["diff"] == same(sign * expected["statistic"])
    assert test["p"] < 0.001


def test_fleiss_kappa_of_b_equals_analysis_stats(demo_study: Study, demo_results: dict) -> None:
    readings = _readings(demo_study, "B")
    expected = fleiss_kappa(readings, categories=range(7), n_boot=0).iloc[0]  # Gwet's CI
    got = next(
        e
        for e in demo_results["agreement"]["intra"]
        if e["reader"] == "B" and e["scale"] == "category"
    )
    assert got["kappa"] == same(expected["statistic"])
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
    assert got["kappa"] == same(expected["statistic"])
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
        assert rows[run]["mean"] == same(exp["statistic"])
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
        [ni] = entry["noninferiority"]
        assert set(ni) == MRMC_NONINFERIORITY_KEYS
        assert (ni["reference"], ni["treatment"]) == (1, 2)
        assert ni["difference"] == pytest.approx(-entry["comparisons"][0]["diff"])
        _ci(ni["ci"])
        assert ni["noninferior"] is (ni["ci"][0] > -ni["margin"])
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


# ---------------------------------------------------------------------------------------
# Issue 12: CIs a journal accepts, checked against R (tests/stats/r/*.R)
# ---------------------------------------------------------------------------------------

ASAH = load_reference("analysis_reference")
KAPPA_CI = load_reference("kappa_ci_reference")


@pytest.fixture
def asah_study(custom_study: CustomStudy) -> Study:
    """pROC's aSAH as a study: WFNS (category only, the reference), S100B (score, one
    blank) and NDKA (score); see tests/stats/r/analysis_reference.R."""
    d = pd.read_csv(R_DIR / "asah.csv")
    cases = pd.DataFrame({"case_id": d["case_id"], "truth": d["truth"], "split": "test"})
    readers = pd.DataFrame(
        {"reader_id": ["WFNS", "S100B", "NDKA"], "kind": ["human", "model", "model"]}
    )
    readings = pd.concat(
        [
            pd.DataFrame(
                {"reader_id": reader, "case_id": d["case_id"], "category": d[cat], "score": score}
            )
            for reader, cat, score in (
                ("WFNS", "wfns_category", ""),
                ("S100B", "s100b_category", d["s100b_score"]),
                ("NDKA", "ndka_category", d["ndka"]),
            )
        ]
    )
    return custom_study(cases=cases, readers=readers, readings=readings, reference="WFNS")


def _asah(study: Study, **options: object) -> dict:
    return results_json(run_analysis(study_data(study), AnalysisOptions(**options)))  # type: ignore[arg-type]


def test_a_blank_score_leaves_that_case_out_instead_of_switching_to_the_category(
    asah_study: Study,
) -> None:
    # On main the one blank s100b switched S100B's ROC to its category: 0.719, not 0.736
    doc = _asah(asah_study)
    s100b = doc["readers"]["S100B"]
    ref = ASAH["aucs"]["S100B"]
    assert s100b["rating"] == "score"
    assert s100b["auc_n"] == ref["n"] == 112
    assert s100b["auc"] == pytest.approx(ref["auc"], abs=1e-12)
    assert s100b["auc_se"] == pytest.approx(ref["se"], abs=1e-12)
    assert s100b["auc_ci"] == pytest.approx(ref["ci"], abs=1e-12)
    assert abs(s100b["auc"] - ASAH["auc_category_s100b"]) > 0.01
    for reader in ("WFNS", "NDKA"):
        assert doc["readers"][reader]["auc"] == pytest.approx(ASAH["aucs"][reader]["auc"])
        assert doc["readers"][reader]["auc_ci"] == pytest.approx(ASAH["aucs"][reader]["ci"])
    (missing,) = [n for n in doc["notes"] if n["code"] == "score-missing"]
    assert missing["reader"] == "S100B"
    assert "1 reading(s) have no score" in missing["message"]
    assert "112 of its 113 cases" in missing["message"]


@pytest.mark.parametrize("method", ["none", "holm", "bonferroni", "fdr"])
def test_delong_and_mcnemar_p_values_match_r_and_r_p_adjust(asah_study: Study, method: str) -> None:
    doc = _asah(asah_study, p_adjust={"delong": method, "mcnemar": method})
    tests = {(t["reader_a"], t["reader_b"]): t for t in doc["auc_tests"]}
    for ref in ASAH["delong"]:
        got = tests[(ref["reader_a"], ref["reader_b"])]
        assert got["n_cases"] == ref["n_cases"]
        assert got["z"] == pytest.approx(ref["z"], abs=1e-9)
        assert got["p"] == pytest.approx(ref["p"], abs=1e-12)
        assert got["diff_ci"] == pytest.approx(ref["diff_ci"], abs=1e-9)
        expected = ref["p"] if method == "none" else ref["p_adjusted"][method]
        assert got["p_adjusted"] == pytest.approx(expected, abs=1e-12)
        assert got["p_adjust"] == method
    mcnemar = {(m["reader_a"], m["metric"]): m for m in doc["mcnemar"]}
    assert len(mcnemar) == len(ASAH["mcnemar"]) == 4
    for ref in ASAH["mcnemar"]:
        got = mcnemar[(ref["reader_a"], ref["metric"])]
        assert got["reader_b"] == "WFNS"
        assert (got["n"], got["b"], got["c"]) == (ref["n"], ref["b"], ref["c"])
        assert got["estimate_a"] == pytest.approx(ref["estimate_a"], abs=1e-12)
        assert got["estimate_b"] == pytest.approx(ref["estimate_b"], abs=1e-12)
        assert got["statistic"] == pytest.approx(ref["statistic"], abs=1e-12)
        assert got["p_chisq"] == pytest.approx(ref["p_chisq"], abs=1e-12)
        assert got["p"] == got["p_exact"] == pytest.approx(ref["p_exact"], abs=1e-12)
        expected = ref["p_exact"] if method == "none" else ref["p_adjusted"][method]
        assert got["p_adjusted"] == pytest.approx(expected, abs=1e-12)
    assert doc["methods"]["p_adjust"] == {"delong": method, "mcnemar": method, "dunn": "bonferroni"}


def test_results_mcnemar_is_analysis_stats_mcnemar_test(asah_study: Study) -> None:
    analysis = run_analysis(study_data(asah_study))
    for reader in ("S100B", "NDKA"):
        expected = mcnemar_test(analysis.final, reader_a=reader, reader_b="WFNS").set_index(
            "metric"
        )
        got = analysis.mcnemar[analysis.mcnemar["reader_a"] == reader].set_index("metric")
        for metric in ("sensitivity", "specificity"):
            e, g = expected.loc[metric], got.loc[metric]
            assert (g["b"], g["c"], g["n"]) == (e["b"], e["c"], e["n"])
            assert g["p"] == same(e["p_exact"])
            assert g["statistic"] == same(e["statistic_corrected"])


def test_wilson_intervals_match_r_binom_confint(asah_study: Study) -> None:
    doc = _asah(asah_study, proportion_ci="wilson")
    exact = _asah(asah_study)
    assert doc["methods"]["proportion_ci"] == "wilson"
    for reader, metrics in ASAH["wilson"].items():
        for metric, ref in metrics.items():
            assert doc["readers"][reader][metric] == pytest.approx(ref["estimate"], abs=1e-12)
            assert doc["readers"][reader][f"{metric}_ci"] == pytest.approx(ref["ci"], abs=1e-12)
            assert exact["readers"][reader][f"{metric}_ci"] != pytest.approx(ref["ci"], abs=1e-6)


def test_the_demos_fleiss_cis_are_gwets_and_match_irrcac(demo_results: dict) -> None:
    intra = {(e["reader"], e["scale"]): e for e in demo_results["agreement"]["intra"]}
    for ref in KAPPA_CI["demo"]:
        for scale in ("category", "binary"):
            got = intra[(ref["reader"], scale)]
            assert got["ci_method"] == "gwet"
            assert got["kappa"] == pytest.approx(ref[scale]["kappa"], abs=1e-12)
            assert got["ci"] == pytest.approx(ref[scale]["gwet_ci"], abs=1e-9)
    assert demo_results["methods"]["fleiss_kappa_ci"] == "gwet"


def test_the_spss_fleiss_ci_is_an_option_and_is_clipped_at_one(demo_study: Study) -> None:
    doc = results_json(
        run_analysis(study_data(demo_study), AnalysisOptions(kappa_ci="spss", fleiss_boot=0))
    )
    intra = {(e["reader"], e["scale"]): e for e in doc["agreement"]["intra"]}
    for ref in KAPPA_CI["demo"]:
        for scale in ("category", "binary"):
            got = intra[(ref["reader"], scale)]
            assert got["ci_method"] == "spss"
            assert got["ci"] == pytest.approx(
                [max(-1, ref[scale]["spss_ci"][0]), min(1, ref[scale]["spss_ci"][1])], abs=1e-9
            )
    assert intra[("A1", "binary")]["ci"][1] == 1.0  # was 1.062 on main
    assert doc["methods"]["fleiss_kappa_ci"] == "spss"


def _intervals(doc: dict) -> list[tuple[str, float, float, list]]:
    """(what, low bound, high bound, [low, high]) of every interval of a results.json."""
    out = []
    for reader, entry in doc["readers"].items():
        out.append((f"{reader} auc", 0.0, 1.0, entry["auc_ci"]))
        for m in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
            out.append((f"{reader} {m}", 0.0, 1.0, entry[f"{m}_ci"]))
    for t in doc["auc_tests"]:
        out.append((f"{t['reader_a']}-{t['reader_b']} diff", -1.0, 1.0, t["diff_ci"]))
    for section in ("inter", "intra"):
        for e in doc["agreement"][section]:
            out.append((f"{section} {e.get('reader', e.get('reader_a'))} κ", -1.0, 1.0, e["ci"]))
            if section == "intra":
                out.append((f"intra boot {e['reader']}", -1.0, 1.0, e["boot_ci"]))
    for r in doc["likert"]["reliability"]:
        out.append((f"{r['domain']} α", -1.0, 1.0, r["alpha_ci"]))
    for m in doc["mrmc"]:
        for c in m["comparisons"]:
            out.append((f"mrmc {m['analysis']}", -1.0, 1.0, c["ci"]))
    return out


def test_every_interval_of_the_demo_stays_inside_its_parameters_range(demo_study: Study) -> None:
    for kappa_ci in ("gwet", "spss"):
        doc = results_json(run_analysis(study_data(demo_study), AnalysisOptions(kappa_ci=kappa_ci)))
        for what, low, high, ci in _intervals(doc):
            if ci[0] is None:
                continue
            assert low <= ci[0] <= ci[1] <= high, (kappa_ci, what, ci)


def test_a_near_perfect_readers_auc_ci_is_truncated_at_one(custom_study: CustomStudy) -> None:
    truth = [1, 0] * 15
    near = [5 if t else 2 for t in truth]
    near[1] = 5  # one false positive: AUC 0.967, DeLong SE > 0
    cases = pd.DataFrame({"case_id": [f"C{i}" for i in range(30)], "truth": truth})
    readings = pd.DataFrame({"reader_id": "M1", "case_id": cases["case_id"], "category": near})
    readers = pd.DataFrame({"reader_id": ["M1"], "kind": ["model"]})
    study = custom_study(cases=cases, readers=readers, readings=readings, reference="M1")
    analysis = run_analysis(study_data(study))
    a = analysis.aucs.iloc[0]
    assert a["auc"] + 1.959963984540054 * a["se"] > 1  # the raw normal interval leaves [0, 1]
    assert results_json(analysis)["readers"]["M1"]["auc_ci"][1] == 1.0
    assert results_json(analysis)["methods"]["auc_ci"] == "delong-truncated"


def test_results_json_documents_the_new_keys(demo_results: dict) -> None:
    for entry in demo_results["readers"].values():
        assert isinstance(entry["auc_n"], int)
    for test in demo_results["auc_tests"]:
        assert test["p_adjust"] == "none" and test["p_adjusted"] == test["p"]
    for row in demo_results["likert"]["dunn"]:
        assert row["p_adjust"] == "bonferroni"
    for e in demo_results["agreement"]["intra"]:
        assert e["n_omitted"] == 0 and e["ci_method"] == "gwet"
    assert {(m["reader_a"], m["metric"]) for m in demo_results["mcnemar"]} == {
        (r, m)
        for r in ["R4", "R5", "A1", "A2", "B", "C", "D", "E"]
        for m in ("sensitivity", "specificity")
    }
    for m in demo_results["mcnemar"]:
        assert set(m) >= MCNEMAR_KEYS and m["reader_b"] == "R3"
    reliability = demo_results["likert"]["reliability"]
    assert [r["domain"] for r in reliability] == [
        "specific_diagnosis", "differential_diagnosis", "scientific_terminology", "correctness",
        "coherence", "comprehensiveness", "management_recommendations", "harmlessness",
        "lack_of_bias",
    ]  # fmt: skip
    for r in reliability:
        assert set(r) >= RELIABILITY_KEYS
        assert r["n_raters"] == 3 and r["n_units"] == 6 * 114 * 3 == r["icc_n_units"]
        _ci(r["alpha_ci"])
        _ci(r["icc_ci"])
        assert r["alpha_ci"][0] < r["alpha"] < r["alpha_ci"][1]
    assert set(demo_results["methods"]) >= {
        "auc_ci", "proportion_ci", "fleiss_kappa_ci", "mrmc_covariance", "p_adjust",
    }  # fmt: skip
    # nothing degenerate in the demo; the models have no AI-assisted reading (MRMC design)
    # (and statsmodels' REML optimiser warns on the reading-time model: a note says so)
    # its 4 bilateral patients make the ROC analysis clustered (test_results_accuracy.py)
    assert [n["code"] for n in demo_results["notes"]] == [
        "clustered-roc",
        "mrmc-readers-dropped",
        "reading-time-not-modelled",
        "findings-none",
    ]


def test_likert_reliability_of_the_demo_equals_analysis_stats(
    demo_study: Study, demo_results: dict
) -> None:
    scores = study_data(demo_study).scores
    sub = scores[scores["domain"] == "correctness"]
    alpha = krippendorff_alpha(
        sub, unit=["reader_id", "case_id", "run", "modality"], level="ordinal", n_boot=1000, seed=1
    ).iloc[0]
    table = icc(sub, target=["reader_id", "case_id", "run", "modality"]).set_index("type")
    got = next(r for r in demo_results["likert"]["reliability"] if r["domain"] == "correctness")
    assert got["alpha"] == same(alpha["statistic"])
    assert got["alpha_ci"] == same([alpha["ci_low"], alpha["ci_high"]])
    assert got["icc"] == same(table.loc["ICC2", "statistic"])
    assert got["icc_ci"] == same([table.loc["ICC2", "ci_low"], table.loc["ICC2", "ci_high"]])


def test_dunn_p_values_are_adjusted_by_the_chosen_method_per_run(demo_study: Study) -> None:
    analysis = run_analysis(study_data(demo_study), AnalysisOptions(p_adjust="holm"))
    dunn = analysis.dunn
    assert set(dunn["p_adjust"]) == {"holm"}
    for _, family in dunn.groupby(dunn["run"].fillna(0)):
        assert family["p_adjusted"].to_numpy() == same(adjust_p(family["p"].to_numpy(), "holm"))
    assert dict(analysis.options.p_adjust) == {"delong": "holm", "mcnemar": "holm", "dunn": "holm"}


def test_analysis_options_refuse_unknown_methods_naming_the_option() -> None:
    with pytest.raises(ValueError, match="kappa_ci"):
        AnalysisOptions(kappa_ci="wald")
    with pytest.raises(ValueError, match="proportion_ci"):
        AnalysisOptions(proportion_ci="agresti")
    with pytest.raises(ValueError, match="mrmc_covariance"):
        AnalysisOptions(mrmc_covariance="bootstrap")
    with pytest.raises(ValueError, match="p_adjust: unknown family 'kruskal'"):
        AnalysisOptions(p_adjust={"kruskal": "holm"})
    with pytest.raises(ValueError, match="p_adjust: expected one of"):
        AnalysisOptions(p_adjust="sidak")


def test_likert_paired_of_the_demo_equals_analysis_stats_with_runs_averaged(
    demo_study: Study, demo_results: dict
) -> None:
    # Independent of analysis.selectors: the panel's scores of modality 1 through the ORM.
    rows = LikertScore.objects.filter(
        reading__case__study=demo_study, reading__case__split="test", reading__modality=1
    ).exclude(source=LikertScore.Source.JUDGED)
    scores = pd.DataFrame(
        rows.values_list("rater__code", "reading__reader__code", "reading__case__code",
                         "reading__run", "domain__key", "score"),
        columns=["rater_id", "reader_id", "case_id", "run", "domain", "score"],
    )  # fmt: skip
    correctness = scores[scores["domain"] == "correctness"]
    means = correctness.groupby(["rater_id", "case_id", "reader_id"])["score"].mean().unstack()
    diff = (means["A1"] - means["B"]).mean()
    got = next(
        r
        for r in demo_results["likert_paired"]
        if (r["domain"], r["reader_a"], r["reader_b"]) == ("correctness", "A1", "B")
    )
    assert got["diff"] == same(diff)
    assert (got["mean_a"], got["mean_b"]) == (same(means["A1"].mean()), same(means["B"].mean()))
    fr = stats.friedmanchisquare(*(means[c] for c in ["A1", "A2", "B", "C", "D", "E"]))
    assert got["friedman_q"] == pytest.approx(fr.statistic, rel=1e-10)
    assert got["friedman_p"] == pytest.approx(fr.pvalue, rel=1e-8)
    assert got["unit"] == "rater × case (runs averaged)" and got["p_adjust"] == "holm"
