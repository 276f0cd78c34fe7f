"""Tables: the paper's number formats next to the raw numbers, CSV and one workbook."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.results import AnalysisOptions, run_analysis
from analysis.selectors import study_data
from analysis.tables import build_tables, display_rows, fmt_ci, fmt_p, write_csvs, write_workbook
from tests.analysis.conftest import SmallStudy


def test_estimates_are_formatted_like_the_worked_example() -> None:
    assert fmt_ci(0.8123, 0.7391, 0.8855) == "0.81 (0.74–0.89)"
    assert fmt_ci(-0.0312, -0.101, 0.04) == "−0.03 (−0.10 to 0.04)"
    assert fmt_ci(0.965, 0.879, 0.996, digits=1, scale=100) == "96.5 (87.9–99.6)"
    assert fmt_ci(math.nan, 0.1, 0.2) == ""
    assert fmt_ci(0.5, math.nan, math.nan) == "0.50"
    assert fmt_p(0.0004) == "<0.001" and fmt_p(0.16) == "0.160" and fmt_p(None) == ""


@pytest.mark.django_db
def test_tables_keep_raw_numbers_next_to_the_display_columns(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    analysis = run_analysis(study_data(small_study()))
    tables = build_tables(analysis)
    perf = tables["diagnostic_performance"].set_index("reader")
    auc = analysis.aucs.set_index("reader").loc["M1"]
    assert perf.loc["M1", "auc"] == auc["auc"]  # unrounded
    assert perf.loc["M1", "AUC (95% CI)"] == fmt_ci(auc["auc"], auc["ci_low"], auc["ci_high"])
    agreement = tables["agreement"]
    assert agreement["section"].tolist() == ["Intraobserver"] * 2 + ["Interobserver"] * 2
    assert "BI-RADS [0–6], κ (95% CI)" in agreement.columns
    likert = tables["likert"].set_index("reader")
    assert likert.loc["M2", "Run 1 P"].startswith("vs. R1: ")
    shown = display_rows("diagnostic_performance", tables["diagnostic_performance"])
    assert shown["columns"][:4] == ["Reader", "Kind", "n", "AUC (95% CI)"]
    assert shown["keys"][:2] == ["reader", "kind"]

    paths = write_csvs(tables, tmp_path / "tables")
    assert {p.name for p in paths} >= {"diagnostic_performance.csv", "baseline.csv"}
    again = pd.read_csv(tmp_path / "tables" / "diagnostic_performance.csv").set_index("reader")
    assert again.loc["M1", "auc"] == pytest.approx(auc["auc"], rel=1e-15)

    write_workbook(tables, tmp_path / "t.xlsx", about={"study": "small"})
    workbook = load_workbook(tmp_path / "t.xlsx")
    assert workbook.sheetnames == ["about", *tables]
    sheet = workbook["diagnostic_performance"]
    header = [c.value for c in sheet[1]]
    column = header.index("auc") + 1
    assert sheet.cell(row=2, column=column).value == pytest.approx(perf["auc"].iloc[0], rel=1e-15)
    assert sheet.cell(row=2, column=column).number_format == "0.000"
    assert sheet.freeze_panes == "B2"


@pytest.mark.django_db
def test_footnotes_state_the_ci_methods_and_the_p_value_adjustment(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    data = study_data(small_study())
    default = build_tables(run_analysis(data))
    notes = default["footnotes"].groupby("table")["footnote"].apply(" ".join)
    assert "not adjusted for multiple comparisons" in notes["auc_comparisons"]
    assert "Bonferroni-adjusted" in notes["likert_tests"]
    assert "Gwet's (2014) variance" in notes["agreement"]
    assert "Clopper–Pearson exact" in notes["diagnostic_performance"]
    assert "truncated to [0, 1]" in notes["diagnostic_performance"]
    assert "not adjusted" in notes["mcnemar"]
    assert set(default["agreement"]["method"]) == {"Fleiss κ (Gwet CI)", "Cohen κ"}

    options = AnalysisOptions(kappa_ci="spss", proportion_ci="wilson", p_adjust="holm")
    analysis = run_analysis(data, options)
    tables = build_tables(analysis)
    notes = tables["footnotes"].groupby("table")["footnote"].apply(" ".join)
    assert "Holm-adjusted" in notes["auc_comparisons"] and "Holm" in notes["likert_tests"]
    assert "SPSS" in notes["agreement"] and "Wilson" in notes["diagnostic_performance"]
    assert "Fleiss κ (SPSS CI)" in set(tables["agreement"]["method"])
    comparisons = tables["auc_comparisons"]
    assert (comparisons["P"] == comparisons["p_adjusted"].map(fmt_p)).all()
    assert (comparisons["p_adjusted"] >= comparisons["p"]).all()
    assert set(tables["likert_tests"]["test"]) == {"Kruskal–Wallis", "Dunn (Holm)"}

    write_workbook(tables, tmp_path / "t.xlsx")
    sheet = load_workbook(tmp_path / "t.xlsx")["auc_comparisons"]
    last = [sheet.cell(row=r, column=1).value for r in range(1, sheet.max_row + 1)]
    assert last[len(comparisons) + 1] is None  # an empty row after the table
    assert last[-2].startswith("P values: two-sided, 3 pairs of readers; Holm-adjusted")
    assert last[-1].startswith("Abbreviations: AUC, area under the ROC curve")
    assert sheet.cell(row=sheet.max_row, column=1).font.italic


@pytest.mark.django_db
def test_the_mcnemar_and_reliability_tables_show_the_tests(small_study: SmallStudy) -> None:
    analysis = run_analysis(study_data(small_study()))
    tables = build_tables(analysis)
    mcnemar = tables["mcnemar"]
    assert mcnemar[["metric", "reader_a", "reader_b"]].values.tolist() == [
        ["Sensitivity", "M1", "R1"],
        ["Sensitivity", "M2", "R1"],
        ["Specificity", "M1", "R1"],
        ["Specificity", "M2", "R1"],
    ]
    assert (mcnemar["P"] == mcnemar["p"].map(fmt_p)).all()
    reliability = tables["likert_reliability"]
    assert reliability["domain"].tolist() == ["correctness", "coherence"]
    first = reliability.iloc[0]
    assert first["Krippendorff α, ordinal (95% CI)"] == fmt_ci(
        first["alpha"], first["alpha_ci_low"], first["alpha_ci_high"]
    )
    shown = display_rows("likert_reliability", reliability)
    assert shown["columns"][2:4] == ["Krippendorff α, ordinal (95% CI)", "ICC(2,1) (95% CI)"]


@pytest.mark.django_db
def test_the_paired_likert_table_says_its_unit_and_formats_the_bootstrap_ci(
    small_study: SmallStudy,
) -> None:
    analysis = run_analysis(study_data(small_study()))
    tables = build_tables(analysis)
    paired = tables["likert_paired"]
    rated = sorted(analysis.data.scores["reader_id"].unique())
    n_pairs = len(rated) * (len(rated) - 1) // 2
    assert paired["domain"].tolist() == ["correctness"] * n_pairs + ["coherence"] * n_pairs
    assert set(paired["unit"]) == {"rater × case (runs averaged)"}
    first = paired.iloc[0]
    assert first["Difference A − B (95% CI)"] == fmt_ci(
        first["statistic"], first["ci_low"], first["ci_high"]
    )
    assert first["Wilcoxon P"] == fmt_p(first["p_adjusted"])
    shown = display_rows("likert_paired", paired)
    assert shown["columns"][:2] == ["Domain", "Comparison"]
    notes = tables["footnotes"].groupby("table")["footnote"].apply(" ".join)
    assert "two-way (pigeonhole) bootstrap" in notes["likert_paired"]
    assert "Holm-adjusted" in notes["likert_paired"]
