"""Tables: the paper's number formats next to the raw numbers, CSV and one workbook."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.results import run_analysis
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
    assert shown["columns"][:4] == ["reader", "kind", "n", "AUC (95% CI)"]

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
