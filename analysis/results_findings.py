"""Per-finding accuracy of the readers' finding labels in an analysis (issue 16).

Called by :func:`analysis.results.run_analysis` with
:attr:`analysis.selectors.StudyData.findings` (each reader label of a finding of the
study's ``[[findings]]`` vocabulary on a case with that finding's truth in findings.csv).
A reader with several runs is scored on its first labelled run of each case and finding
(the lowest run number), so one case counts once per reader. Plain Python over
:mod:`analysis.stats.findings` (no Django): per reader and finding TP/FP/FN/TN,
sensitivity, specificity and PPV with Clopper–Pearson intervals and F1 with a seeded
case-bootstrap interval; per reader the macro- and micro-averaged F1 with case-bootstrap
intervals. No finding labels → empty frames and the note ``findings-none``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.notes import Note, note
from analysis.stats.findings import finding_f1_summary, finding_performance

#: Bootstrap resamples of the F1 intervals.
FINDINGS_BOOT = 2000


def findings_analysis(
    labels: pd.DataFrame, reader_order: list[str], *, seed: int, notes: list[Note]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per reader x finding x measure, per reader x averaged F1) of ``labels``."""
    if labels is None or not len(labels):
        notes.append(
            note(
                "findings-none",
                "No reader label of a finding with the case's finding truth (findings.csv and "
                "reading_findings.csv, or extract_findings): no per-finding F1.",
            )
        )
        return pd.DataFrame(), pd.DataFrame()
    first = labels.sort_values("run", kind="stable").drop_duplicates(
        ["reader_id", "case_id", "finding"]
    )
    order = {r: i for i, r in enumerate(reader_order)}
    first = first.assign(_r=first["reader_id"].map(order)).sort_values(
        ["_r", "case_id"], kind="stable"
    )
    frame = first.drop(columns="_r").reset_index(drop=True)
    per = finding_performance(frame, n_boot=FINDINGS_BOOT, seed=seed)
    summary = finding_f1_summary(frame, n_boot=FINDINGS_BOOT, seed=seed)
    vocabulary = {f: i for i, f in enumerate(pd.unique(labels["finding"]))}
    per = per.assign(_r=per["reader"].map(order), _f=per["finding"].map(vocabulary))
    per = per.sort_values(["_r", "_f"], kind="stable").drop(columns=["_r", "_f"])
    return per.reset_index(drop=True), summary.reset_index(drop=True)


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def findings_json(per: pd.DataFrame, summary: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """``findings`` of results.json: ``per_finding`` and ``summary`` (empty lists without)."""
    rows: list[dict[str, Any]] = []
    if len(per):
        for (reader, finding), group in per.groupby(["reader", "finding"], sort=False):
            by = group.set_index("measure")
            first = group.iloc[0]
            entry: dict[str, Any] = {
                "reader": reader,
                "finding": finding,
                "n": int(first["n"]),
                "tp": int(first["tp"]),
                "fp": int(first["fp"]),
                "fn": int(first["fn"]),
                "tn": int(first["tn"]),
            }
            for measure in ("sensitivity", "specificity", "ppv", "f1"):
                entry[measure] = _num(by.loc[measure, "statistic"])
                entry[f"{measure}_ci"] = [
                    _num(by.loc[measure, "ci_low"]),
                    _num(by.loc[measure, "ci_high"]),
                ]
            rows.append(entry)
    out: list[dict[str, Any]] = []
    if len(summary):
        for reader, group in summary.groupby("reader", sort=False):
            by = group.set_index("measure")
            entry = {"reader": reader, "n": int(group["n"].iloc[0])}
            for measure in ("macro_f1", "micro_f1"):
                entry[measure] = _num(by.loc[measure, "statistic"])
                entry[f"{measure}_ci"] = [
                    _num(by.loc[measure, "ci_low"]),
                    _num(by.loc[measure, "ci_high"]),
                ]
            out.append(entry)
    return {"per_finding": rows, "summary": out}
