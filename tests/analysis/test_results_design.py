"""results.json's AI-study keys (issues 17, 18) on the demo: the same numbers as direct calls
of analysis.stats on the same data, and a note (never a silent number) on degenerate data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.results import AnalysisOptions, results_json, run_analysis
from analysis.results_design import reader_case_layout
from analysis.selectors import study_data
from analysis.stats.agreement import fleiss_kappa
from analysis.stats.agreement_difference import fleiss_kappa_difference
from analysis.stats.ai import ai_vs_readers
from analysis.stats.chance_agreement import agreement_coefficients
from analysis.stats.consensus import consensus
from analysis.stats.reading_time import reading_time_model, reading_time_summary
from analysis.tables import build_tables, display_rows
from readerstudy.studies.models import Study
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db

HUMANS = ["R3", "R4", "R5"]
AI_KEYS = {
    "reader", "modality", "fom", "ai", "readers_mean", "diff", "ci", "t", "df", "p", "margin",
    "noninferior",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> tuple[dict, pd.DataFrame]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        data = study_data(demo_study)
        doc = results_json(run_analysis(data))
    return json.loads(json.dumps(doc, allow_nan=False)), data.readings


def _final(readings: pd.DataFrame, modality: int) -> pd.DataFrame:
    sub = readings[readings["modality"] == modality]
    final = consensus(sub).rename(columns={"reader": "reader_id", "case": "case_id"})
    truth = sub.drop_duplicates("case_id").set_index("case_id")["truth"]
    return final.assign(truth=final["case_id"].map(truth), rating=final["category"])


def test_each_model_reader_is_compared_with_the_human_panel_as_analysis_stats_does(
    demo: tuple[dict, pd.DataFrame],
) -> None:
    doc, readings = demo
    rows = doc["ai_vs_readers"]
    models = ["A1", "A2", "B", "C", "D", "E"]
    foms = ["auc", "sensitivity", "specificity"]
    assert [(r["reader"], r["fom"]) for r in rows] == [(m, f) for m in models for f in foms]
    final = _final(readings, 1)
    # sensitivity / specificity of the positive calls (category >= the study's threshold, 4)
    final = final.assign(decision=(final["category"] >= 4).astype(float))
    for row in rows:
        assert set(row) >= AI_KEYS
        assert (row["modality"], row["margin"]) == (1, 0.05)
        sub = final[final["reader_id"].isin([*HUMANS, row["reader"]])]
        column = "rating" if row["fom"] == "auc" else "decision"
        ref = ai_vs_readers(sub, ai=row["reader"], fom=row["fom"], rating=column, margin=0.05).iloc[
            0
        ]
        assert row["ai"] == pytest.approx(ref["ai_fom"], abs=1e-12)
        assert row["readers_mean"] == pytest.approx(ref["readers_mean"], abs=1e-12)
        assert row["diff"] == pytest.approx(ref["statistic"], abs=1e-12)
        assert row["ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]], abs=1e-12)
        assert (row["t"], row["df"], row["p"]) == pytest.approx(
            (ref["t"], ref["df"], ref["p_value"]), abs=1e-12
        )
        assert row["noninferior"] is bool(ref["noninferior"])
        assert row["noninferior"] is (row["ci"][0] > -row["margin"])


def test_the_margin_is_an_analysis_option(demo_study: Study) -> None:
    doc = results_json(run_analysis(study_data(demo_study), AnalysisOptions(ai_margin=0.2)))
    assert {r["margin"] for r in doc["ai_vs_readers"]} == {0.2}
    assert doc["methods"]["ai_margin"] == 0.2
    with pytest.raises(ValueError, match="ai_margin"):
        AnalysisOptions(ai_margin=1.5)


def test_reading_time_summary_and_model_equal_analysis_stats(
    demo: tuple[dict, pd.DataFrame],
) -> None:
    doc, readings = demo
    timed = readings[readings["reader_id"].isin(HUMANS) & readings["seconds"].notna()]
    summary = reading_time_summary(timed)
    assert len(doc["reading_time"]["summary"]) == len(summary) == 6
    for got, ref in zip(doc["reading_time"]["summary"], summary.to_dict("records"), strict=True):
        assert (got["reader"], got["modality"], got["n"]) == (ref["reader"], ref["modality"], 114)
        assert [got["median"], *got["iqr"]] == [ref["median"], ref["q1"], ref["q3"]]
    model = reading_time_model(timed, reference=1, treatment=2).iloc[0]
    got = doc["reading_time"]["model"]
    assert (got["reference"], got["treatment"]) == (1, 2)
    assert got["ratio"] == pytest.approx(model["statistic"], rel=1e-9)
    assert got["ci"] == pytest.approx([model["ci_low"], model["ci_high"]], rel=1e-9)
    assert got["p"] == pytest.approx(model["p_value"], rel=1e-6)
    assert got["ratio"] < 1  # the demo's aided readings are faster
    assert [w["reader"] for w in doc["reading_time"]["wilcoxon"]] == HUMANS


def test_agreement_by_modality_is_fleiss_kappa_per_modality_and_their_bootstrap_difference(
    demo: tuple[dict, pd.DataFrame],
) -> None:
    doc, readings = demo
    first, second, diff = doc["agreement_by_modality"]
    long = pd.concat([_final(readings, m).assign(modality=m) for m in (1, 2)])
    long = long[long["reader_id"].isin(HUMANS)]
    categories = list(range(0, 7))
    for entry in (first, second):
        ref = fleiss_kappa(
            long[long["modality"] == entry["modality"]],
            run="reader_id",
            reader=None,
            categories=categories,
            n_boot=0,
        ).iloc[0]
        assert entry["kappa"] == pytest.approx(ref["statistic"], abs=1e-12)
        assert entry["ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]], abs=1e-12)
        assert (entry["n_readers"], entry["n_cases"]) == (3, 114)
    ref = fleiss_kappa_difference(
        long, modality_a=1, modality_b=2, categories=categories, n_boot=2000, seed=1
    ).iloc[0]
    assert (diff["modality_a"], diff["modality_b"]) == (1, 2)
    assert diff["diff"] == pytest.approx(second["kappa"] - first["kappa"], abs=1e-12)
    assert diff["ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]], abs=1e-12)
    assert diff["p"] == pytest.approx(ref["p_value"], abs=1e-12)


def test_ac1_and_pabak_stand_beside_every_kappa(demo: tuple[dict, pd.DataFrame]) -> None:
    doc, readings = demo
    for row in doc["agreement"]["inter"] + doc["agreement"]["intra"]:
        assert isinstance(row["ac1"], float) and isinstance(row["pabak"], float)
        assert row["ac1_ci"][0] <= row["ac1"] <= row["ac1_ci"][1]
        assert row["pabak_ci"][0] <= row["pabak"] <= row["pabak_ci"][1]
    inter = doc["agreement"]["inter"][0]
    pair = _final(readings, 1)
    pair = pair[pair["reader_id"].isin([inter["reader_a"], inter["reader_b"]])]
    ref = agreement_coefficients(
        pair, rater="reader_id", categories=list(range(7)), coefficients=("gwet",)
    ).iloc[0]
    assert inter["scale"] == "category"
    assert inter["ac1"] == pytest.approx(ref["statistic"], abs=1e-12)
    assert inter["ac1_ci"] == pytest.approx([ref["ci_low"], ref["ci_high"]], abs=1e-12)
    intra = next(r for r in doc["agreement"]["intra"] if r["scale"] == "binary")
    runs = readings[(readings["reader_id"] == intra["reader"]) & (readings["modality"] == 1)]
    ref = agreement_coefficients(
        runs, rater="run", threshold=4, coefficients=("brennan-prediger",)
    ).iloc[0]
    assert intra["pabak"] == pytest.approx(ref["statistic"], abs=1e-12)


def test_the_mrmc_entries_say_their_design(demo: tuple[dict, pd.DataFrame]) -> None:
    doc, _ = demo
    # the OR analysis runs on the crossed part; the models did not read modality 2
    assert {(m["design"], m["layout"]) for m in doc["mrmc"]} == {("crossed", "incomplete")}


def test_reader_case_layout_tells_crossed_split_plot_and_incomplete() -> None:
    def cells(pairs: list[tuple[str, str]]) -> pd.DataFrame:
        rows = [(r, c, m) for r, c in pairs for m in (1, 2)]
        return pd.DataFrame(rows, columns=["reader_id", "case_id", "modality"])

    crossed = [(r, c) for r in "ab" for c in "xyz"]
    split = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "z"), ("d", "z")]
    assert reader_case_layout(cells(crossed)) == "crossed"
    assert reader_case_layout(cells(split)) == "split-plot"
    assert reader_case_layout(cells(crossed[1:])) == "incomplete"
    assert reader_case_layout(cells(crossed).iloc[1:]) == "incomplete"


def test_degenerate_data_gets_notes_and_empty_keys(small_study: SmallStudy) -> None:
    # one human reader, two models, one modality, no reading times
    doc = results_json(run_analysis(study_data(small_study())))
    codes = {n["code"] for n in doc["notes"]}
    assert {
        "ai-panel-not-compared",
        "reading-time-missing",
        "agreement-by-modality-not-compared",
    } <= codes
    assert doc["ai_vs_readers"] == []
    assert doc["reading_time"] == {"summary": [], "model": None, "wilcoxon": []}
    assert doc["agreement_by_modality"] == []


def test_tables_show_the_ai_panel_reading_time_agreement_by_modality_and_ac1(
    demo_study: Study, demo: tuple[dict, pd.DataFrame]
) -> None:
    doc, _ = demo
    tables = build_tables(run_analysis(study_data(demo_study)))
    ai = tables["ai_vs_readers"]
    assert ai["reader"].tolist() == [r["reader"] for r in doc["ai_vs_readers"]]
    assert ai["diff"].tolist() == pytest.approx([r["diff"] for r in doc["ai_vs_readers"]])
    shown = display_rows("ai_vs_readers", ai)
    assert "AI − readers (95% CI)" in shown["columns"] and "Non-inferior" in shown["columns"]
    times = tables["reading_time"]
    assert times["reader"].tolist() == ["R3", "R3", "R4", "R4", "R5", "R5", "all (mixed model)"]
    assert times["ratio"].iloc[-1] == pytest.approx(doc["reading_time"]["model"]["ratio"])
    by_mod = tables["agreement_by_modality"]
    assert by_mod["kappa"].tolist() == pytest.approx(
        [doc["agreement_by_modality"][0]["kappa"], doc["agreement_by_modality"][1]["kappa"],
         doc["agreement_by_modality"][2]["diff"]]
    )  # fmt: skip
    agreement = display_rows("agreement", tables["agreement"])
    assert any("AC1 (95% CI)" in c for c in agreement["columns"])
    assert any("PABAK (95% CI)" in c for c in agreement["columns"])
    assert tables["agreement"]["binary_ac1"].notna().all()
