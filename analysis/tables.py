"""The tables of an analysis: DataFrames, CSV files and one formatted Excel workbook.

Every table has *display* columns formatted like the worked example ("0.81 (0.74–0.89)",
"96.5 (87.9–99.6)", "<0.001") next to the raw, unrounded numeric columns, so that a table
can be pasted into a manuscript and still be re-analysed.

========================  ===========================================================
table                     what (worked example)
========================  ===========================================================
diagnostic_performance    AUC, sensitivity, specificity, accuracy, PPV, NPV per reader
                          with 95% CIs (Table S1)
auc_comparisons           paired DeLong test of every pair of readers (Fig. 3)
mcnemar                   McNemar tests of sensitivity and specificity against the
                          reference reader
agreement                 intra- and inter-observer κ on both scales (Table 5)
likert                    Likert mean (95% CI) per reader and run with Dunn P values
                          against the readers above (Table 4)
likert_tests              Kruskal–Wallis per run and every Dunn comparison (Table 4)
likert_paired             paired Likert comparisons per domain: Friedman, Wilcoxon
                          signed-rank (Holm), two-way bootstrap CI of the difference
likert_domains            Likert mean per reader, domain and domain group (Fig. 6)
likert_reliability        inter-rater reliability of the Likert panel per domain
                          (Krippendorff's α, ICC)
baseline                  case attributes by truth (Table 3)
confusion                 TP / FN / FP / TN per reader (Fig. 7)
case_categories           final category of every reader on every case (Fig. 5)
mrmc, mrmc_readers        Obuchowski–Rockette / Hillis MRMC (more than one modality):
                          the tests, and the change of AUC of each reader
notes                     what the analysis had to decide or leave out
footnotes                 how each table's intervals and p values were computed
========================  ===========================================================

Every table's footnotes (:func:`table_footnotes`: the CI methods, the p-value adjustment)
are written under its sheet in the workbook, shown under it on the dashboard, and
collected in ``footnotes.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.results import METRICS, Analysis
from analysis.results_judges import JUDGE_BOOT
from analysis.results_likert import LIKERT_PAIRED_ADJUST, LIKERT_PAIRED_BOOT, PAIRED_UNIT
from analysis.stats.choices import P_ADJUST_NAMES
from analysis.stats.mrmc import MRMCResult
from analysis.stats.multiplicity import P_ADJUST_LABELS
from readerstudy.core.spreadsheet import append_xlsx_row, frame_csv

#: How the agreement table names each Fleiss κ interval (``AnalysisOptions.kappa_ci``).
KAPPA_CI_LABELS: dict[str, str] = {"gwet": "Gwet", "spss": "SPSS"}
#: What each MRMC analysis treats as random (table column ``random``).
MRMC_RANDOM_SHORT: dict[str, str] = {
    "RRRC": "readers and cases",
    "FRRC": "cases (readers fixed)",
    "RRFC": "readers (cases fixed)",
}

METRIC_LABELS: dict[str, str] = {
    "auc": "AUC",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "accuracy": "Accuracy",
    "ppv": "PPV",
    "npv": "NPV",
}
EN_DASH = "–"
MINUS = "−"


# ---------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not math.isfinite(value))


def fmt_num(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; "" when missing."""
    if _missing(value):
        return ""
    text = f"{float(value):.{digits}f}"
    return text.replace("-", MINUS)


def fmt_ci(estimate: Any, low: Any, high: Any, *, digits: int = 2, scale: float = 1.0) -> str:
    """ "0.81 (0.74–0.89)"; with a negative limit "−0.03 (−0.10 to 0.04)" as the paper."""
    if _missing(estimate):
        return ""
    est = fmt_num(float(estimate) * scale, digits)
    if _missing(low) or _missing(high):
        return est
    lo, hi = float(low) * scale, float(high) * scale
    sep = " to " if lo < 0 or hi < 0 else EN_DASH
    return f"{est} ({fmt_num(lo, digits)}{sep}{fmt_num(hi, digits)})"


def fmt_p(p: Any) -> str:
    """ "<0.001" below 0.001, else three decimals."""
    if _missing(p):
        return ""
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def fmt_count(k: Any, n: Any) -> str:
    if _missing(k) or _missing(n):
        return ""
    return f"{int(k)}/{int(n)}"


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------


def diagnostic_performance_table(analysis: Analysis) -> pd.DataFrame:
    """Table S1: one row per reader."""
    perf = analysis.performance
    if perf.empty:
        return pd.DataFrame()
    readers = analysis.data.readers.set_index("reader_id")
    aucs = analysis.aucs.set_index("reader") if len(analysis.aucs) else pd.DataFrame()
    rows = []
    denominators = {
        "sensitivity": ("tp", ("tp", "fn")),
        "specificity": ("tn", ("tn", "fp")),
        "accuracy": ("tp+tn", ("tp", "fn", "tn", "fp")),
        "ppv": ("tp", ("tp", "fp")),
        "npv": ("tn", ("tn", "fn")),
    }
    for r in perf.to_dict("records"):
        reader = r["reader"]
        a = aucs.loc[reader] if reader in aucs.index else None
        row: dict[str, Any] = {
            "reader": reader,
            "kind": readers.loc[reader, "kind"] if reader in readers.index else "",
            "label": readers.loc[reader, "label"] if reader in readers.index else "",
            "n": int(r["n"]),
            "rating": analysis.rating_source.get(reader, ""),
            "AUC (95% CI)": fmt_ci(
                *(a[["auc", "ci_low", "ci_high"]] if a is not None else [None] * 3)
            ),
        }
        for m in METRICS:
            row[f"{METRIC_LABELS[m]}, % (95% CI)"] = fmt_ci(
                r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"], digits=1, scale=100
            )
            num, parts = denominators[m]
            k = r["tp"] + r["tn"] if num == "tp+tn" else r[num]
            row[f"{METRIC_LABELS[m]}, n/N"] = fmt_count(k, sum(r[p] for p in parts))
        row.update(
            auc=a["auc"] if a is not None else np.nan,
            auc_se=a["se"] if a is not None else np.nan,
            auc_ci_low=a["ci_low"] if a is not None else np.nan,
            auc_ci_high=a["ci_high"] if a is not None else np.nan,
            auc_n=int(a["n_positive"] + a["n_negative"]) if a is not None else 0,
            tp=int(r["tp"]),
            fp=int(r["fp"]),
            tn=int(r["tn"]),
            fn=int(r["fn"]),
        )
        for m in METRICS:
            row[m] = r[m]
            row[f"{m}_ci_low"] = r[f"{m}_ci_low"]
            row[f"{m}_ci_high"] = r[f"{m}_ci_high"]
        row.update(_accuracy_cells(analysis.accuracy, reader))
        row["auc_method"] = a.get("method", "delong") if a is not None else ""
        rows.append(row)
    return pd.DataFrame(rows)


#: LR+, LR−, DOR, Youden's J (analysis.results_accuracy) beside Se/Sp in Table S1.
ACCURACY_LABELS: dict[str, str] = {
    "lr_positive": "LR+",
    "lr_negative": "LR−",
    "diagnostic_odds_ratio": "DOR",
    "youden_j": "Youden J",
}


def _accuracy_cells(accuracy: pd.DataFrame, reader: str) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    sub = accuracy[accuracy["reader"] == reader] if len(accuracy) else accuracy
    for r in sub.to_dict("records"):
        label = ACCURACY_LABELS[r["measure"]]
        cells[f"{label} (95% CI)"] = fmt_ci(r["statistic"], r["ci_low"], r["ci_high"])
        cells[r["measure"]] = r["statistic"]
        cells[f"{r['measure']}_ci_low"] = r["ci_low"]
        cells[f"{r['measure']}_ci_high"] = r["ci_high"]
    return cells


def accuracy_tests_table(analysis: Analysis) -> pd.DataFrame:
    """Paired sensitivity / specificity differences between readers (Newcombe, McNemar P)."""
    t = analysis.accuracy_tests
    if t.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "metric": t["metric"],
            "reader_a": t["reader_a"],
            "reader_b": t["reader_b"],
            "n": t["n"],
            "A, %": [fmt_num(100 * v, 1) for v in t["estimate_a"]],
            "B, %": [fmt_num(100 * v, 1) for v in t["estimate_b"]],
            "A − B, % (95% CI)": [
                fmt_ci(e, lo, hi, digits=1, scale=100)
                for e, lo, hi in zip(t["statistic"], t["ci_low"], t["ci_high"], strict=True)
            ],
            "P": [fmt_p(p) for p in t["p_value"]],
            "diff": t["statistic"],
            "ci_low": t["ci_low"],
            "ci_high": t["ci_high"],
            "p_value": t["p_value"],
        }
    )


def subgroups_table(analysis: Analysis) -> pd.DataFrame:
    """Accuracy of each reader per subgroup, with Cochran's Q P of the attribute's AUCs."""
    rows = analysis.subgroups
    if rows.empty:
        return pd.DataFrame()
    het = analysis.subgroup_heterogeneity
    q = het.set_index(["attribute", "reader"])["p_value"] if len(het) else pd.Series(dtype=float)
    out = []
    for r in rows.to_dict("records"):
        p = q.get((r["attribute"], r["reader"]), np.nan)
        out.append(
            {
                "attribute": r["attribute"],
                "subgroup": r["subgroup"],
                "reader": r["reader"],
                "n": r["n"],
                "positive / negative": f"{r['n_positive']} / {r['n_negative']}",
                "AUC (95% CI)": fmt_ci(r["auc"], r["auc_ci_low"], r["auc_ci_high"]),
                "Sensitivity, % (95% CI)": fmt_ci(
                    r["sensitivity"], r["sensitivity_ci_low"], r["sensitivity_ci_high"],
                    digits=1, scale=100,
                ),
                "Specificity, % (95% CI)": fmt_ci(
                    r["specificity"], r["specificity_ci_low"], r["specificity_ci_high"],
                    digits=1, scale=100,
                ),
                "Heterogeneity P (Cochran Q)": fmt_p(p),
                **{k: r[k] for k in ("method", "auc", "auc_se", "auc_ci_low", "auc_ci_high")},
            }
        )  # fmt: skip
    return pd.DataFrame(out)


def _shown_p(frame: pd.DataFrame, column: str) -> pd.Series:
    """The P a table shows: the adjusted one when the family was adjusted, else ``column``."""
    if "p_adjust" not in frame:
        return frame[column]
    return frame[column].where(frame["p_adjust"].eq("none"), frame["p_adjusted"])


def auc_comparisons_table(analysis: Analysis) -> pd.DataFrame:
    tests = analysis.auc_tests
    if tests.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "reader_a": tests["reader_a"],
            "reader_b": tests["reader_b"],
            "AUC A": tests["auc_a"].map(fmt_num),
            "AUC B": tests["auc_b"].map(fmt_num),
            "Difference (95% CI)": [
                fmt_ci(d, lo, hi, digits=3)
                for d, lo, hi in zip(tests["diff"], tests["ci_low"], tests["ci_high"], strict=True)
            ],
            "P": _shown_p(tests, "p_value").map(fmt_p),
        }
    )
    raw = tests.rename(columns={"p_value": "p"})[
        [
            "n_cases", "auc_a", "auc_b", "diff", "se", "ci_low", "ci_high", "z", "p",
            "p_adjusted", "p_adjust",
        ]
    ]  # fmt: skip
    return pd.concat([out, raw.reset_index(drop=True)], axis=1)


def mcnemar_table(analysis: Analysis) -> pd.DataFrame:
    """McNemar tests of each reader against the reference reader, per metric."""
    tests = analysis.mcnemar
    if tests.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "metric": tests["metric"].str.capitalize(),
            "reader_a": tests["reader_a"],
            "reader_b": tests["reader_b"],
            "n": tests["n"],
            "A, %": (100 * tests["estimate_a"]).map(lambda v: fmt_num(v, 1)),
            "B, %": (100 * tests["estimate_b"]).map(lambda v: fmt_num(v, 1)),
            "Discordant (A only / B only)": [
                f"{int(b)} / {int(c)}" for b, c in zip(tests["b"], tests["c"], strict=True)
            ],
            "P": _shown_p(tests, "p").map(fmt_p),
        }
    )
    raw = tests[
        [
            "estimate_a", "estimate_b", "difference", "b", "c", "statistic", "p_chisq",
            "p_exact", "p", "p_adjusted", "p_adjust",
        ]
    ]  # fmt: skip
    return pd.concat([out, raw.reset_index(drop=True)], axis=1)


def agreement_table(analysis: Analysis) -> pd.DataFrame:
    """Table 5: one row per reader and comparison, both scales side by side."""
    data = analysis.data
    cats = data.categories
    scale_names = {
        "category": f"{data.scale_name} [{cats[0]}{EN_DASH}{cats[-1]}]" if cats else "category",
        "binary": "Positive call [0, 1]",
    }
    rows: list[dict[str, Any]] = []
    for section, frame, key in (
        ("Intraobserver", analysis.intra, "reader"),
        ("Interobserver", analysis.inter, "reader_a"),
    ):
        if frame.empty:
            continue
        for reader, sub in frame.groupby(key, sort=False):
            row: dict[str, Any] = {"section": section, "reader": reader}
            if section == "Intraobserver":
                first = sub.iloc[0]
                row["comparison"] = f"{reader} across {int(first['n_runs'])} runs"
                row["method"] = (
                    f"Fleiss κ ({KAPPA_CI_LABELS[first['ci_method']]} CI)"
                    if first["method"] == "fleiss"
                    else "Cohen κ (2 runs)"
                )
            else:
                row["comparison"] = f"{reader} vs. {sub.iloc[0]['reader_b']}"
                row["method"] = "Cohen κ"
            for scale in ("category", "binary"):
                s = sub[sub["scale"] == scale]
                if s.empty:
                    continue
                rec = s.iloc[0]
                row[f"{scale_names[scale]}, κ (95% CI)"] = fmt_ci(
                    rec["kappa"], rec["ci_low"], rec["ci_high"]
                )
                for coef, label in (("ac1", "AC1"), ("pabak", "PABAK")):
                    if coef in rec:
                        row[f"{scale_names[scale]}, {label} (95% CI)"] = fmt_ci(
                            rec[coef], rec[f"{coef}_ci_low"], rec[f"{coef}_ci_high"]
                        )
                row[f"{scale}_interpretation"] = rec["interpretation"]
            for scale in ("category", "binary"):
                s = sub[sub["scale"] == scale]
                if s.empty:
                    continue
                rec = s.iloc[0]
                row[f"{scale}_n"] = int(rec["n_cases"] if section == "Intraobserver" else rec["n"])
                row[f"{scale}_kappa"] = rec["kappa"]
                row[f"{scale}_se"] = rec["se"]
                row[f"{scale}_ci_low"] = rec["ci_low"]
                row[f"{scale}_ci_high"] = rec["ci_high"]
                for coef in ("ac1", "pabak"):
                    if coef in rec:
                        row[f"{scale}_{coef}"] = rec[coef]
                        row[f"{scale}_{coef}_ci_low"] = rec[f"{coef}_ci_low"]
                        row[f"{scale}_{coef}_ci_high"] = rec[f"{coef}_ci_high"]
                if section == "Intraobserver":
                    row[f"{scale}_n_omitted"] = int(rec["n_omitted"])
                    row[f"{scale}_boot_ci_low"] = rec["boot_ci_low"]
                    row[f"{scale}_boot_ci_high"] = rec["boot_ci_high"]
            rows.append(row)
    return pd.DataFrame(rows)


def likert_table(analysis: Analysis) -> pd.DataFrame:
    """Table 4: mean (95% CI) per reader and run, Dunn P values against the readers above."""
    by_reader = analysis.likert_by_reader
    if by_reader.empty:
        return pd.DataFrame()
    dunn = analysis.dunn
    runs = sorted({int(r) for r in by_reader["run"].dropna()})
    run_keys: list[int | None] = [*runs, None]
    readers = list(dict.fromkeys(by_reader["reader"]))
    rows = []
    for i, reader in enumerate(readers):
        row: dict[str, Any] = {"reader": reader}
        sub = by_reader[by_reader["reader"] == reader]
        for run in run_keys:
            name = "All runs" if run is None else f"Run {run}"
            rec = sub[sub["run"].isna()] if run is None else sub[sub["run"] == run]
            if rec.empty:
                continue
            rec = rec.iloc[0]
            row[f"{name} score"] = fmt_ci(rec["mean"], rec["ci_low"], rec["ci_high"])
            if not dunn.empty:
                d = dunn[dunn["run"].isna()] if run is None else dunn[dunn["run"] == run]
                parts = []
                for earlier in readers[:i]:
                    pair = d[
                        ((d["reader_a"] == earlier) & (d["reader_b"] == reader))
                        | ((d["reader_a"] == reader) & (d["reader_b"] == earlier))
                    ]
                    if pair.empty:
                        continue
                    p = float(pair.iloc[0]["p_adjusted"])
                    parts.append(f"vs. {earlier}: {'*' if p < 0.05 else fmt_p(p)}")
                row[f"{name} P"] = "; ".join(parts)
        for run in run_keys:
            key = "all" if run is None else str(run)
            rec = sub[sub["run"].isna()] if run is None else sub[sub["run"] == run]
            if rec.empty:
                continue
            rec = rec.iloc[0]
            for col in ("n", "mean", "sd", "ci_low", "ci_high", "median", "q1", "q3"):
                row[f"{col}_run_{key}"] = rec[col]
        rows.append(row)
    return pd.DataFrame(rows)


def likert_tests_table(analysis: Analysis) -> pd.DataFrame:
    """Kruskal–Wallis per run followed by every Dunn comparison (adjusted per run)."""
    rows: list[dict[str, Any]] = []
    for r in analysis.kruskal.to_dict("records"):
        rows.append(
            {
                "test": "Kruskal–Wallis",
                "run": _run_label(r["run"]),
                "comparison": f"{int(r['k'])} readers",
                "statistic": r["h"],
                "df": r["df"],
                "p": r["p"],
                "p_adjusted": np.nan,
                "P": fmt_p(r["p"]),
            }
        )
    for r in analysis.dunn.to_dict("records"):
        rows.append(
            {
                "test": f"Dunn ({P_ADJUST_NAMES[r['p_adjust']]})",
                "run": _run_label(r["run"]),
                "comparison": f"{r['reader_a']} vs. {r['reader_b']}",
                "statistic": r["z"],
                "df": np.nan,
                "p": r["p"],
                "p_adjusted": r["p_adjusted"],
                "P": fmt_p(r["p_adjusted"]),
            }
        )
    return pd.DataFrame(rows)


def likert_paired_table(analysis: Analysis) -> pd.DataFrame:
    """Paired Likert comparisons per domain and pair of readers (unit: rater × case)."""
    frame = analysis.likert_paired
    if frame.empty:
        return pd.DataFrame()
    labels = dict(zip(analysis.data.domains["domain"], analysis.data.domains["label"], strict=True))
    out = pd.DataFrame(
        {
            "domain": frame["domain"],
            "label": frame["domain"].map(labels),
            "comparison": [
                f"{a} vs. {b}" for a, b in zip(frame["source_a"], frame["source_b"], strict=True)
            ],
            "unit": PAIRED_UNIT,
            "blocks": frame["n_blocks"],
            "Difference A − B (95% CI)": [
                fmt_ci(m, lo, hi)
                for m, lo, hi in zip(
                    frame["statistic"], frame["ci_low"], frame["ci_high"], strict=True
                )
            ],
            "Wilcoxon P": [fmt_p(p) for p in frame["p_adjusted"]],
            "Friedman P": [fmt_p(p) for p in frame["friedman_p"]],
        }
    )
    raw = frame[
        [
            "mean_a", "mean_b", "statistic", "ci_low", "ci_high", "v", "z", "wilcoxon_method",
            "p_value", "p_adjusted", "friedman_q", "friedman_df", "friedman_p", "note",
        ]
    ]  # fmt: skip
    return pd.concat([out.reset_index(drop=True), raw.reset_index(drop=True)], axis=1)


def _run_label(run: Any) -> str:
    return "all" if run is None or (isinstance(run, float) and math.isnan(run)) else str(int(run))


def likert_domains_table(analysis: Analysis) -> pd.DataFrame:
    frame = analysis.likert_by_domain
    if frame.empty:
        return pd.DataFrame()
    labels = dict(zip(analysis.data.domains["domain"], analysis.data.domains["label"], strict=True))
    out = pd.DataFrame(
        {
            "reader": frame["reader"],
            "group": frame["group"],
            "domain": frame["domain"],
            "label": [labels.get(d, "") if d is not None else "(group)" for d in frame["domain"]],
            "Mean (95% CI)": [
                fmt_ci(m, lo, hi)
                for m, lo, hi in zip(frame["mean"], frame["ci_low"], frame["ci_high"], strict=True)
            ],
        }
    )
    raw = frame[["n", "mean", "sd", "ci_low", "ci_high", "median", "q1", "q3"]]
    return pd.concat([out.reset_index(drop=True), raw.reset_index(drop=True)], axis=1)


def likert_reliability_table(analysis: Analysis) -> pd.DataFrame:
    """Inter-rater reliability of the Likert panel per domain: α (ordinal) and ICC(2,1)."""
    frame = analysis.reliability
    if frame.empty:
        return pd.DataFrame()
    labels = dict(zip(analysis.data.domains["domain"], analysis.data.domains["label"], strict=True))
    out = pd.DataFrame(
        {
            "group": frame["group"],
            "domain": frame["domain"],
            "label": frame["domain"].map(labels),
            "Krippendorff α, ordinal (95% CI)": [
                fmt_ci(a, lo, hi)
                for a, lo, hi in zip(
                    frame["alpha"], frame["alpha_ci_low"], frame["alpha_ci_high"], strict=True
                )
            ],
            "ICC(2,1) (95% CI)": [
                fmt_ci(a, lo, hi)
                for a, lo, hi in zip(
                    frame["icc"], frame["icc_ci_low"], frame["icc_ci_high"], strict=True
                )
            ],
            "outputs": frame["n_units"],
            "raters": frame["n_raters"],
        }
    )
    raw = frame[
        [
            "n_values", "alpha", "alpha_ci_low", "alpha_ci_high", "icc_units", "icc",
            "icc_ci_low", "icc_ci_high",
        ]
    ]  # fmt: skip
    return pd.concat([out.reset_index(drop=True), raw.reset_index(drop=True)], axis=1)


def baseline_table(analysis: Analysis) -> pd.DataFrame:
    """Table 3: n (%) by truth for categorical attributes, mean ± SD for numeric ones."""
    base = analysis.baseline
    if base.empty:
        return pd.DataFrame()
    rows = []
    for attribute, sub in base.groupby("attribute", sort=False):
        for i, r in enumerate(sub.to_dict("records")):
            numeric = r["kind"] == "numeric"
            row: dict[str, Any] = {
                "attribute": attribute,
                "level": "" if numeric else r["level"],
                "Positive": (
                    f"{fmt_num(r['mean_positive'])} ± {fmt_num(r['sd_positive'])}"
                    if numeric
                    else f"{int(r['n_positive'])} ({fmt_num(r['percent_positive'])})"
                ),
                "Negative": (
                    f"{fmt_num(r['mean_negative'])} ± {fmt_num(r['sd_negative'])}"
                    if numeric
                    else f"{int(r['n_negative'])} ({fmt_num(r['percent_negative'])})"
                ),
                "P value": fmt_p(r["p"]) if i == 0 else "",
                "Odds ratio (95% CI)": ""
                if numeric
                else (
                    "1 (reference)"
                    if _missing(r["odds_ratio_ci_low"]) and r["odds_ratio"] == 1
                    else fmt_ci(r["odds_ratio"], r["odds_ratio_ci_low"], r["odds_ratio_ci_high"])
                ),
                "test": r["test"],
            }
            for col in (
                "n_positive", "percent_positive", "n_negative", "percent_negative",
                "mean_positive", "sd_positive", "mean_negative", "sd_negative", "statistic",
                "df", "p", "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high",
                "odds_ratio_p", "lr_statistic", "lr_df", "lr_p",
            ):  # fmt: skip
                row[col] = r.get(col, np.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def confusion_table(analysis: Analysis) -> pd.DataFrame:
    perf = analysis.performance
    if perf.empty:
        return pd.DataFrame()
    return perf[["reader", "n", "tp", "fn", "fp", "tn"]].reset_index(drop=True)


def case_categories_table(analysis: Analysis) -> pd.DataFrame:
    final = analysis.final
    if final.empty:
        return pd.DataFrame()
    wide = final.pivot(index="case_id", columns="reader_id", values="category")
    wide = wide[[r for r in analysis.reader_order if r in wide.columns]]
    wide.columns.name = None
    truth = final.drop_duplicates("case_id").set_index("case_id")["truth"]
    wide.insert(0, "truth", truth.reindex(wide.index))
    wide = wide.astype("Int64")
    return (
        wide.reset_index()
        .sort_values(["truth", "case_id"], ascending=[False, True])
        .reset_index(drop=True)
    )


def _modality_cell(modality: Any, labels: dict[int, str]) -> str:
    label = labels.get(int(modality))
    return f"{int(modality)} ({label})" if label else str(int(modality))


def _mrmc_test_rows(
    results: list[MRMCResult], labels: dict[int, str], value: str
) -> list[dict[str, Any]]:
    """One row per analysis and modality pair of MRMC ``results`` (``value``: the name of
    the figure of merit in the headers)."""
    tests: list[dict[str, Any]] = []
    for res in results:
        t = res.test.iloc[0]
        means = res.modalities.set_index("modality")
        df2 = t["df2"]
        df_text = f"{fmt_num(t['df1'], 0)}, " + ("∞" if math.isinf(df2) else fmt_num(df2, 2))
        for c in res.comparisons.to_dict("records"):
            a, b = means.loc[c["modality_a"]], means.loc[c["modality_b"]]
            tests.append(
                {
                    "analysis": res.analysis,
                    "random": MRMC_RANDOM_SHORT[res.analysis],
                    "A": _modality_cell(c["modality_a"], labels),
                    "B": _modality_cell(c["modality_b"], labels),
                    f"{value} A (95% CI)": fmt_ci(
                        a["statistic"], a["ci_low"], a["ci_high"], digits=3
                    ),
                    f"{value} B (95% CI)": fmt_ci(
                        b["statistic"], b["ci_low"], b["ci_high"], digits=3
                    ),
                    "Difference B − A (95% CI)": fmt_ci(
                        -c["statistic"], -c["ci_high"], -c["ci_low"], digits=3
                    ),
                    "F": fmt_num(t["f"], 2),
                    "df": df_text,
                    "P": fmt_p(t["p_value"]),
                    "P (pair)": fmt_p(c["p_value"]),
                    "covariance": res.covariance,
                    "modality_a": c["modality_a"],
                    "modality_b": c["modality_b"],
                    "auc_a": a["statistic"],
                    "auc_a_ci_low": a["ci_low"],
                    "auc_a_ci_high": a["ci_high"],
                    "auc_b": b["statistic"],
                    "auc_b_ci_low": b["ci_low"],
                    "auc_b_ci_high": b["ci_high"],
                    "diff": -c["statistic"],
                    "se": c["se"],
                    "ci_low": -c["ci_high"],
                    "ci_high": -c["ci_low"],
                    "f": t["f"],
                    "df1": t["df1"],
                    "df2": df2,
                    "p": t["p_value"],
                    "p_pair": c["p_value"],
                }
            )
    return tests


def mrmc_tables(analysis: Analysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MRMC tests (one row per analysis and modality pair) and the per-reader changes.

    Differences are the later modality minus the earlier one (``B − A``: e.g. AI-assisted
    minus unaided), the negated ``diff`` of results.json. ``F``, ``df`` and ``P`` are the
    global test of equal modality means; ``P (pair)`` the pair's own test (the same value
    with two modalities).
    """
    if not analysis.mrmc:
        return pd.DataFrame(), pd.DataFrame()
    labels = analysis.data.modality_labels
    tests = _mrmc_test_rows(analysis.mrmc, labels, "AUC")
    first = analysis.mrmc[0]
    aucs = first.reader_aucs.set_index(["reader", "modality"])["statistic"]
    readers = []
    for r in first.reader_comparisons.to_dict("records"):
        readers.append(
            {
                "reader": r["reader"],
                "A": _modality_cell(r["modality_a"], labels),
                "B": _modality_cell(r["modality_b"], labels),
                "AUC A": fmt_num(aucs[(r["reader"], r["modality_a"])], 3),
                "AUC B": fmt_num(aucs[(r["reader"], r["modality_b"])], 3),
                "Difference B − A (95% CI)": fmt_ci(
                    -r["statistic"], -r["ci_high"], -r["ci_low"], digits=3
                ),
                "P": fmt_p(r["p_value"]),
                "modality_a": r["modality_a"],
                "modality_b": r["modality_b"],
                "auc_a": aucs[(r["reader"], r["modality_a"])],
                "auc_b": aucs[(r["reader"], r["modality_b"])],
                "diff": -r["statistic"],
                "se": r["se"],
                "ci_low": -r["ci_high"],
                "ci_high": -r["ci_low"],
                "p": r["p_value"],
            }
        )
    return pd.DataFrame(tests), pd.DataFrame(readers)


def mrmc_binary_table(analysis: Analysis) -> pd.DataFrame:
    """MRMC of sensitivity and specificity: one row per figure of merit, analysis and pair."""
    labels = analysis.data.modality_labels
    rows = []
    for res in analysis.mrmc_binary:
        fom = METRIC_LABELS[res.fom]
        for row in _mrmc_test_rows([res], labels, "Value"):
            rows.append({"FOM": fom, "fom": res.fom, **row})
    return pd.DataFrame(rows)


def ai_vs_readers_table(analysis: Analysis) -> pd.DataFrame:
    """Each model reader against the human reader panel (1T-RRRC), per modality."""
    labels = analysis.data.modality_labels
    rows = []
    for r in analysis.ai_vs_readers.to_dict("records"):
        ni = r["noninferior"]
        rows.append(
            {
                "reader": r["reader"],
                "modality": _modality_cell(r["modality"], labels),
                "FOM": METRIC_LABELS.get(r["fom"], r["fom"]),
                "AI": fmt_num(r["ai_fom"]),
                "Readers (mean)": fmt_num(r["readers_mean"]),
                "AI − readers (95% CI)": fmt_ci(r["statistic"], r["ci_low"], r["ci_high"]),
                "t": fmt_num(r["t"]),
                "df": fmt_num(r["df"], 1),
                "P": fmt_p(r["p_value"]),
                "Margin": fmt_num(r["margin"]),
                "Non-inferior": "" if _missing(ni) else ("yes" if ni else "no"),
                "n_readers": int(r["n_readers"]),
                "n_cases": int(r["n_cases"]),
                "ai_fom": r["ai_fom"],
                "readers_mean": r["readers_mean"],
                "diff": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p": r["p_value"],
                "p_noninferiority": r["p_noninferiority"],
            }
        )
    return pd.DataFrame(rows)


def reading_time_table(analysis: Analysis) -> pd.DataFrame:
    """Reading time per human reader and modality (median, IQR, seconds), the paired
    Wilcoxon test per reader, and the mixed model's ratio of times as the last row."""
    labels = analysis.data.modality_labels
    wilcoxon = (
        analysis.reading_time_wilcoxon.set_index("reader")
        if len(analysis.reading_time_wilcoxon)
        else pd.DataFrame()
    )
    model = analysis.reading_time_model
    treatment = int(model.iloc[0]["treatment"]) if len(model) else None
    rows: list[dict[str, Any]] = []
    for r in analysis.reading_time_summary.to_dict("records"):
        row: dict[str, Any] = {
            "reader": r["reader"],
            "modality": _modality_cell(r["modality"], labels),
            "n": int(r["n"]),
            "Median, s (IQR)": f"{fmt_num(r['median'], 0)} ({fmt_num(r['q1'], 0)}"
            f"{EN_DASH}{fmt_num(r['q3'], 0)})",
            "Wilcoxon P": "",
            "median": r["median"],
            "q1": r["q1"],
            "q3": r["q3"],
        }
        if (
            treatment is not None
            and int(r["modality"]) == treatment
            and r["reader"] in wilcoxon.index
        ):
            row["Wilcoxon P"] = fmt_p(wilcoxon.loc[r["reader"], "p_value"])
        rows.append(row)
    if len(model):
        m = model.iloc[0]
        rows.append(
            {
                "reader": "all (mixed model)",
                "modality": f"{_modality_cell(m['treatment'], labels)} / "
                f"{_modality_cell(m['reference'], labels)}",
                "n": int(m["n"]),
                "Median, s (IQR)": "ratio " + fmt_ci(m["statistic"], m["ci_low"], m["ci_high"]),
                "Wilcoxon P": "",
                "P (model)": fmt_p(m["p_value"]),
                "ratio": m["statistic"],
                "ratio_ci_low": m["ci_low"],
                "ratio_ci_high": m["ci_high"],
                "p_model": m["p_value"],
            }
        )
    return pd.DataFrame(rows)


def agreement_by_modality_table(analysis: Analysis) -> pd.DataFrame:
    """Fleiss κ among the human readers per modality and the bootstrap difference."""
    labels = analysis.data.modality_labels
    rows: list[dict[str, Any]] = [
        {
            "modality": _modality_cell(r["modality"], labels),
            "readers": int(r["n_readers"]),
            "cases": int(r["n_cases"]),
            "Fleiss κ (95% CI)": fmt_ci(r["kappa"], r["ci_low"], r["ci_high"]),
            "P": "",
            "kappa": r["kappa"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
        }
        for r in analysis.agreement_by_modality.to_dict("records")
    ]
    for r in analysis.agreement_difference.to_dict("records"):
        rows.append(
            {
                "modality": f"{_modality_cell(r['modality_b'], labels)} − "
                f"{_modality_cell(r['modality_a'], labels)}",
                "readers": int(r["n_readers"]),
                "cases": int(r["n_cases"]),
                "Fleiss κ (95% CI)": fmt_ci(r["statistic"], r["ci_low"], r["ci_high"]),
                "P": fmt_p(r["p_value"]),
                "kappa": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
            }
        )
    return pd.DataFrame(rows)


def edits_table(analysis: Analysis) -> pd.DataFrame:
    """Edits of the AI drafts per reader and modality: edit distances and drafting time."""
    labels = analysis.data.modality_labels

    def iqr(med: Any, q1: Any, q3: Any) -> str:
        return f"{fmt_num(med, 0)} ({fmt_num(q1, 0)}{EN_DASH}{fmt_num(q3, 0)})"

    return pd.DataFrame(
        [
            {
                "reader": r["reader"],
                "modality": _modality_cell(r["modality"], labels),
                "n": int(r["n"]),
                "Characters edited, median (IQR)": iqr(
                    r["edit_distance_median"], r["edit_distance_q1"], r["edit_distance_q3"]
                ),
                "Words edited, median (IQR)": iqr(
                    r["edit_words_median"], r["edit_words_q1"], r["edit_words_q3"]
                ),
                "Drafting time, s (median)": fmt_num(r["drafting_seconds_median"], 0),
                **{k: r[k] for k in analysis.edits.columns if k not in ("reader", "modality", "n")},
            }
            for r in analysis.edits.to_dict("records")
        ]
    )


#: Labels of the text metrics (analysis.stats.text_metrics) in the tables.
TEXT_METRIC_LABELS: dict[str, str] = {
    "bleu4": "BLEU-4 (0–100)",
    "rouge_l": "ROUGE-L F (0–1)",
    "meteor": "METEOR (0–1)",
    "chrf": "chrF (0–100)",
}


def _text_digits(metric: str) -> int:
    return 1 if metric in ("bleu4", "chrf") else 3


def text_metrics_table(analysis: Analysis) -> pd.DataFrame:
    """Text metrics of each reader's impressions per run and runs pooled, with CIs."""
    scores = analysis.text_metrics
    if scores.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "reader": scores["reader"],
            "run": scores["run"].map(_run_label),
            "metric": scores["metric"].map(TEXT_METRIC_LABELS),
            "Value (95% CI)": [
                fmt_ci(v, lo, hi, digits=_text_digits(m))
                for m, v, lo, hi in zip(
                    scores["metric"],
                    scores["statistic"],
                    scores["ci_low"],
                    scores["ci_high"],
                    strict=True,
                )
            ],
            "n": scores["n"],
        }
    )
    raw = scores.rename(columns={"statistic": "value", "metric": "metric_key"})
    return pd.concat(
        [out, raw[["metric_key", "value", "ci_low", "ci_high"]].reset_index(drop=True)], axis=1
    )


def text_metrics_tests_table(analysis: Analysis) -> pd.DataFrame:
    """Paired bootstrap differences of the text metrics between readers (runs pooled)."""
    tests = analysis.text_metrics_tests
    if tests.empty:
        return pd.DataFrame()
    out = pd.DataFrame(
        {
            "reader_a": tests["reader_a"],
            "reader_b": tests["reader_b"],
            "metric": tests["metric"].map(TEXT_METRIC_LABELS),
            "Difference A − B (95% CI)": [
                fmt_ci(v, lo, hi, digits=_text_digits(m))
                for m, v, lo, hi in zip(
                    tests["metric"],
                    tests["statistic"],
                    tests["ci_low"],
                    tests["ci_high"],
                    strict=True,
                )
            ],
            "P": tests["p_value"].map(fmt_p),
            "n": tests["n"],
        }
    )
    raw = tests.rename(columns={"statistic": "diff", "p_value": "p", "metric": "metric_key"})
    return pd.concat(
        [out, raw[["metric_key", "diff", "ci_low", "ci_high", "p"]].reset_index(drop=True)],
        axis=1,
    )


def _pct_ci(estimate: Any, low: Any, high: Any) -> str:
    return fmt_ci(estimate, low, high, digits=1, scale=100.0)


def _pct_range(low: Any, high: Any) -> str:
    """ "63.6–73.9" (percent), "" when a limit is missing."""
    if _missing(low) or _missing(high):
        return ""
    lo, hi = 100 * float(low), 100 * float(high)
    sep = " to " if lo < 0 or hi < 0 else EN_DASH
    return f"{fmt_num(lo, 1)}{sep}{fmt_num(hi, 1)}"


def preference_table(analysis: Analysis) -> pd.DataFrame:
    """Pairwise preference: wins, ties and losses of each reader against its comparator,
    "at least as good" with the Wilson and the rater × case bootstrap CI, sign and
    position-bias tests (issue 14)."""
    rows = []
    for r in analysis.judgments.preference.to_dict("records"):
        rows.append(
            {
                "reader": r["reader"],
                "comparator": r["comparator"],
                "n": int(r["n"]),
                "Wins / ties / losses": f"{int(r['wins'])} / {int(r['ties'])} / {int(r['losses'])}",
                "Win, %": fmt_num(100 * r["win_rate"], 1),
                "At least as good, % (95% CI)": _pct_ci(
                    r["at_least_as_good"], r["ci_low"], r["ci_high"]
                ),
                "Clustered 95% CI, %": _pct_range(r["clustered_ci_low"], r["clustered_ci_high"]),
                "Sign test P": fmt_p(r["sign_test_p"]),
                "Left chosen, %": fmt_num(100 * r["left_chosen"], 1),
                "Position bias P": fmt_p(r["left_bias_p"]),
                "raters": int(r["n_raters"]),
                "cases": int(r["n_cases"]),
                "wins": int(r["wins"]),
                "ties": int(r["ties"]),
                "losses": int(r["losses"]),
                "win_rate": r["win_rate"],
                "at_least_as_good": r["at_least_as_good"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "clustered_ci_low": r["clustered_ci_low"],
                "clustered_ci_high": r["clustered_ci_high"],
                "sign_test_p": r["sign_test_p"],
                "left_n": int(r["left_n"]),
                "left_chosen": r["left_chosen"],
                "left_bias_p": r["left_bias_p"],
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def preference_ranking_table(analysis: Analysis) -> pd.DataFrame:
    """Bradley–Terry ranking of the sources (three or more), log-strength with Wald CIs."""
    return pd.DataFrame(
        [
            {
                "rank": int(r["rank"]),
                "source": r["source"],
                "Log-strength (95% CI)": fmt_ci(r["statistic"], r["ci_low"], r["ci_high"]),
                "Strength": fmt_num(r["strength"]),
                "P": fmt_p(r["p_value"]),
                "comparisons": int(r["n"]),
                "log_strength": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p": r["p_value"],
            }
            for r in analysis.judgments.bradley_terry.to_dict("records")
        ]
    )


def acceptability_table(analysis: Analysis) -> pd.DataFrame:
    """Acceptability per source: acceptable ratings with Clopper–Pearson and clustered CIs,
    then each model reader against the reference impressions on the same cases."""
    rows: list[dict[str, Any]] = []
    for r in analysis.judgments.acceptability.to_dict("records"):
        rows.append(
            {
                "reader": r["reader"],
                "n": int(r["n"]),
                "Acceptable": fmt_count(r["acceptable"], r["n"]),
                "Acceptable, % (95% CI)": _pct_ci(r["rate"], r["ci_low"], r["ci_high"]),
                "Clustered 95% CI, %": _pct_range(r["clustered_ci_low"], r["clustered_ci_high"]),
                "raters": int(r["n_raters"]),
                "cases": int(r["n_cases"]),
                "rate": r["rate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "clustered_ci_low": r["clustered_ci_low"],
                "clustered_ci_high": r["clustered_ci_high"],
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def acceptability_paired_table(analysis: Analysis) -> pd.DataFrame:
    """Each model reader against the reference impressions, case-level majority."""
    return pd.DataFrame(
        [
            {
                "reader": r["reader"],
                "reference": r["reference"],
                "cases": int(r["n"]),
                "Reader only / reference only": f"{int(r['reader_only'])} / "
                f"{int(r['reference_only'])}",
                "Difference, % points (95% CI)": fmt_ci(
                    r["statistic"], r["ci_low"], r["ci_high"], digits=1, scale=100.0
                ),
                "McNemar P": fmt_p(r["p_value"]),
                "no majority": int(r["n_no_majority"]),
                "diff": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p": r["p_value"],
            }
            for r in analysis.judgments.acceptability_paired.to_dict("records")
        ]
    )


def errors_table(analysis: Analysis) -> pd.DataFrame:
    """Error annotations per reader: reports with an error (Clopper–Pearson CI), errors and
    significant errors per report, counts by category."""
    records = analysis.judgments.errors.to_dict("records")
    categories = sorted({c for r in records for c in r["by_category"]})
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "reader": r["reader"],
            "reports": int(r["n_reports"]),
            "With an error": fmt_count(r["reports_with_error"], r["n_reports"]),
            "With an error, % (95% CI)": _pct_ci(r["rate"], r["ci_low"], r["ci_high"]),
            "Errors per report": fmt_num(r["errors_per_report"]),
            "Significant per report": fmt_num(r["significant_per_report"]),
            "rate": r["rate"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
        }
        for category in categories:
            row[f"n {category}"] = int(r["by_category"].get(category, 0))
        rows.append(row)
    return pd.DataFrame(rows)


def truth_detail_table(analysis: Analysis) -> pd.DataFrame:
    """Table 1: cases of each truth class by truth detail (e.g. pathology subtype), n (%)."""
    details = analysis.data.truth_details
    cases = analysis.data.cases
    if cases.empty or not any(details.values()):
        return pd.DataFrame()
    frame = pd.DataFrame(
        {
            "truth": cases["truth"].astype(int),
            "detail": cases["case_id"].map(details).fillna("").replace("", "(not given)"),
        }
    )
    rows: list[dict[str, Any]] = []
    for truth, name in ((1, "Positive"), (0, "Negative")):
        sub = frame[frame["truth"] == truth]
        if sub.empty:
            continue
        counts = sub["detail"].value_counts(sort=False)
        counts = counts.sort_values(ascending=False, kind="stable")
        total = len(sub)
        rows.append(
            {
                "Class": f"{name} (n = {total})",
                "Truth detail": "",
                "n (%)": f"{total} (100.0)",
                "truth": truth,
                "detail": "",
                "n": total,
                "percent": 100.0,
            }
        )
        for detail, n in counts.items():
            percent = 100.0 * int(n) / total
            rows.append(
                {
                    "Class": "",
                    "Truth detail": str(detail),
                    "n (%)": f"{int(n)} ({fmt_num(percent, 1)})",
                    "truth": truth,
                    "detail": str(detail),
                    "n": int(n),
                    "percent": percent,
                }
            )
    return pd.DataFrame(rows)


def _split_description(text: str) -> tuple[str, str]:
    """(training, test input) of a reader description "...; test input: ..."."""
    lower = text.lower()
    key = "test input:"
    if key not in lower:
        return text.strip(), ""
    at = lower.index(key)
    training = text[:at].strip().rstrip(";,.").strip()
    test = text[at + len(key) :].strip().rstrip(".").strip()
    return training, test


def reader_design_table(analysis: Analysis) -> pd.DataFrame:
    """Table 2: each reader's design, training input and test input.

    Model readers: the test input from the generation configuration's inputs (else the
    description's "test input: ..."), the training input from the description's text
    before it. Human readers: their experience. Readers without results are left out.
    """
    details = analysis.data.reader_details
    if details.empty:
        return pd.DataFrame()
    analysed = set(analysis.reader_order)
    rows = []
    for r in details.to_dict("records"):
        if r["reader_id"] not in analysed:
            continue
        training, test = _split_description(str(r["description"] or ""))
        experience = ""
        if r["kind"] == "human":
            parts = []
            if not _missing(r["years_experience"]) and r["years_experience"] is not None:
                parts.append(f"{float(r['years_experience']):g} years")
            if not _missing(r["interpretations"]) and r["interpretations"] is not None:
                parts.append(f"{int(r['interpretations']):,} interpretations")
            experience = ", ".join(parts)
            training, test = "", test
        rows.append(
            {
                "Reader": r["reader_id"],
                "Kind": "Model" if r["kind"] == "model" else "Human",
                "Design": r["label"] or r["group"] or "",
                "Training input": training if r["kind"] == "model" else "",
                "Test input": r["inputs"] or test,
                "Model": r["model"] or "",
                "Experience": experience,
                "description": r["description"],
                "group": r["group"],
                "temperature": r["temperature"],
                "seed": r["seed"],
                "n_runs": r["n_runs"],
            }
        )
    return pd.DataFrame(rows)


#: Marks of :func:`likert_matrix_table` (P below each bound) and of "not significant".
SIGNIFICANCE_MARKS: tuple[tuple[float, str], ...] = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


def significance_mark(p: Any) -> str:
    """ "***" P < 0.001, "**" P < 0.01, "*" P < 0.05, "ns" otherwise; "" when missing."""
    if _missing(p):
        return ""
    for bound, mark in SIGNIFICANCE_MARKS:
        if float(p) < bound:
            return mark
    return "ns"


def likert_matrix_table(analysis: Analysis) -> pd.DataFrame:
    """Table 4's comparisons as a lower-triangle matrix: row reader vs column reader.

    Each cell is the mark of the adjusted Dunn P on all runs (:func:`significance_mark`),
    the diagonal "—"; ``p_<reader>`` columns keep the adjusted P values.
    """
    dunn = analysis.dunn
    if dunn.empty:
        return pd.DataFrame()
    overall = dunn[dunn["run"].isna()]
    if overall.empty:
        overall = dunn[dunn["run"] == dunn["run"].min()]
    readers = [
        r for r in analysis.reader_order if r in set(overall["reader_a"]) | set(overall["reader_b"])
    ]
    p_of: dict[frozenset[str], float] = {
        frozenset((a, b)): float(p)
        for a, b, p in zip(
            overall["reader_a"], overall["reader_b"], overall["p_adjusted"], strict=True
        )
    }
    rows = []
    for i, reader in enumerate(readers):
        row: dict[str, Any] = {"reader": reader}
        for j, other in enumerate(readers[:-1]):
            if j < i:
                row[other] = significance_mark(p_of.get(frozenset((reader, other))))
            elif j == i:
                row[other] = "—"
            else:
                row[other] = ""
        for other in readers:
            row[f"p_{other}"] = p_of.get(frozenset((reader, other)), np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def judgment_agreement_table(analysis: Analysis) -> pd.DataFrame:
    """Inter-rater agreement of each judgment instrument (Krippendorff α, bootstrap CI)."""
    return pd.DataFrame(
        [
            {
                "instrument": r["instrument"],
                "level": r["level"],
                "Krippendorff α (95% CI)": fmt_ci(r["statistic"], r["ci_low"], r["ci_high"]),
                "units": int(r["n_units"]),
                "raters": int(r["n_raters"]),
                "alpha": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
            }
            for r in analysis.judgments.agreement.to_dict("records")
        ]
    )


#: Labels of the judge-vs-panel estimates (analysis.results_judges), in table order.
JUDGE_MEASURES: dict[tuple[str, str], str] = {
    ("agreement", "weighted_kappa"): "Weighted κ (quadratic) with the panel",
    ("agreement", "krippendorff_alpha"): "Krippendorff α with the panel",
    ("agreement", "icc"): "ICC(2,1) with the panel",
    ("agreement", "mean_difference"): "Mean difference judge − panel",
    ("agreement", "loa_low"): "Lower limit of agreement",
    ("agreement", "loa_high"): "Upper limit of agreement",
    ("within_panel", "kappa_difference"): "κ judge − κ humans (leave one rater out)",
    ("conclusions", "kendall_tau"): "Kendall τ of the readers' means (judge vs panel)",
    ("position_bias", "position_bias"): "Share choosing the output shown first (both orders)",
    ("position_bias", "consistency"): "Same choice after swapping the order",
    ("self_consistency", "krippendorff_alpha"): "Krippendorff α across the judge's runs",
    ("self_consistency", "exact_agreement"): "Same answer in every run",
}


def judges_table(analysis: Analysis) -> pd.DataFrame:
    """Each LLM judge against the human panel per domain: agreement with the consensus,
    bias, leave-one-rater-out comparison and the ranking of the readers."""
    frame = analysis.judges
    if frame.empty:
        return pd.DataFrame()
    keep = frame["against"].isin(["panel", "mean"]) | frame["analysis"].isin(
        ["conclusions", "position_bias", "self_consistency"]
    )
    rank = {key: i for i, key in enumerate(JUDGE_MEASURES)}
    rows = []
    for r in frame[keep].to_dict("records"):
        key = (r["analysis"], r["measure"])
        if key not in JUDGE_MEASURES:
            continue
        within = r["within"] if r["analysis"] == "within_panel" else None
        rows.append(
            {
                "judge": r["judge"],
                "domain": r["domain"],
                "measure": JUDGE_MEASURES[key],
                "Estimate (95% CI)": fmt_ci(r["statistic"], r["ci_low"], r["ci_high"]),
                "P": fmt_p(r["p_value"]),
                "n": "" if _missing(r["n"]) else int(r["n"]),
                "Within panel": "" if _missing(within) else ("yes" if within else "no"),
                "statistic": r["statistic"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p_value": r["p_value"],
                "_rank": rank[key],
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(["judge", "domain", "_rank"], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


#: Labels of the per-finding measures (analysis.stats.findings) in the tables.
FINDING_MEASURE_LABELS: dict[str, str] = {
    "sensitivity": "Sensitivity (95% CI)",
    "specificity": "Specificity (95% CI)",
    "ppv": "PPV (95% CI)",
    "f1": "F1 (95% CI)",
    "macro_f1": "Macro F1 (95% CI)",
    "micro_f1": "Micro F1 (95% CI)",
}


def _wide(frame: pd.DataFrame, keys: list[str], counts: list[str]) -> pd.DataFrame:
    """One row per ``keys`` with a formatted "value (CI)" column per measure, then the raw
    ``<measure>``, ``<measure>_ci_low``, ``<measure>_ci_high`` columns."""
    rows = []
    for key, group in frame.groupby(keys, sort=False):
        values = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, values, strict=True))
        row.update({c: group[c].iloc[0] for c in counts})
        for m in group.to_dict("records"):
            row[FINDING_MEASURE_LABELS[m["measure"]]] = fmt_ci(
                m["statistic"], m["ci_low"], m["ci_high"], digits=3
            )
        for m in group.to_dict("records"):
            row[m["measure"]] = m["statistic"]
            row[f"{m['measure']}_ci_low"] = m["ci_low"]
            row[f"{m['measure']}_ci_high"] = m["ci_high"]
        rows.append(row)
    return pd.DataFrame(rows)


def findings_table(analysis: Analysis) -> pd.DataFrame:
    """Per reader and finding: the counts, sensitivity, specificity, PPV and F1 with CIs."""
    if analysis.findings.empty:
        return pd.DataFrame()
    return _wide(analysis.findings, ["reader", "finding"], ["n", "tp", "fp", "fn", "tn"])


def findings_summary_table(analysis: Analysis) -> pd.DataFrame:
    """Per reader: macro- and micro-averaged F1 over the findings with bootstrap CIs."""
    if analysis.findings_summary.empty:
        return pd.DataFrame()
    return _wide(analysis.findings_summary, ["reader"], ["n"])


def build_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Every table of the analysis by name (empty tables are left out)."""
    mrmc, mrmc_readers = mrmc_tables(analysis)
    tables = {
        "diagnostic_performance": diagnostic_performance_table(analysis),
        "auc_comparisons": auc_comparisons_table(analysis),
        "mcnemar": mcnemar_table(analysis),
        "agreement": agreement_table(analysis),
        "likert": likert_table(analysis),
        "likert_tests": likert_tests_table(analysis),
        "likert_paired": likert_paired_table(analysis),
        "likert_domains": likert_domains_table(analysis),
        "likert_reliability": likert_reliability_table(analysis),
        "baseline": baseline_table(analysis),
        "confusion": confusion_table(analysis),
        "case_categories": case_categories_table(analysis),
        "mrmc": mrmc,
        "mrmc_readers": mrmc_readers,
        "mrmc_binary": mrmc_binary_table(analysis),
        "ai_vs_readers": ai_vs_readers_table(analysis),
        "reading_time": reading_time_table(analysis),
        "agreement_by_modality": agreement_by_modality_table(analysis),
        "text_metrics": text_metrics_table(analysis),
        "text_metrics_tests": text_metrics_tests_table(analysis),
        "findings": findings_table(analysis),
        "findings_summary": findings_summary_table(analysis),
        "preference": preference_table(analysis),
        "preference_ranking": preference_ranking_table(analysis),
        "acceptability": acceptability_table(analysis),
        "acceptability_paired": acceptability_paired_table(analysis),
        "errors": errors_table(analysis),
        "judgment_agreement": judgment_agreement_table(analysis),
        "accuracy_tests": accuracy_tests_table(analysis),
        "subgroups": subgroups_table(analysis),
        "truth_detail": truth_detail_table(analysis),
        "reader_design": reader_design_table(analysis),
        "likert_matrix": likert_matrix_table(analysis),
        "judges": judges_table(analysis),
        "edits": edits_table(analysis),
        "notes": pd.DataFrame(
            {
                "code": [n.code for n in analysis.notes],
                "reader": [n.reader for n in analysis.notes],
                "note": [n.message for n in analysis.notes],
            }
        ),
    }
    tables = {name: t for name, t in tables.items() if not t.empty}
    footnotes = table_footnotes(analysis)
    rows = [(name, text) for name in tables for text in footnotes.get(name, [])]
    if rows:
        tables["footnotes"] = pd.DataFrame(rows, columns=["table", "footnote"])
    return tables


def _p_footnote(method: str, family: str) -> str:
    if method == "none":
        return f"P values: {family}; {P_ADJUST_LABELS['none']}."
    return (
        f"P values: {family}; {P_ADJUST_LABELS[method]} within the family (column P and "
        "p_adjusted; p is unadjusted)."
    )


def table_footnotes(analysis: Analysis) -> dict[str, list[str]]:
    """The footnotes of each table: how its intervals and p values were computed."""
    options = analysis.options
    proportion = {
        "exact": "Clopper–Pearson exact",
        "wilson": "Wilson score (no continuity correction)",
    }[options.proportion_ci]
    kappa_ci = {
        "gwet": "Gwet's (2014) variance with a t(n − 1) interval, as R irrCAC fleiss.kappa.raw",
        "spss": "the Fleiss–Nee–Landis (1979) standard error as SPSS reports it (derived "
        "under κ = 0; reproduces the worked example's Table 5)",
    }[options.kappa_ci]
    boot = (
        f"; boot_ci columns: percentile bootstrap over cases ({options.fleiss_boot} "
        f"resamples, seed {options.seed})"
        if options.fleiss_boot
        else ""
    )
    n_delong = len(analysis.auc_tests)
    design = analysis.mrmc_design
    split_plot = design if design is not None and design.kind == "split-plot" else None
    notes: dict[str, list[str]] = {
        "diagnostic_performance": [
            "AUC: empirical (Mann–Whitney); 95% CI from DeLong's standard error, normal "
            "interval truncated to [0, 1] as R pROC.",
            f"Sensitivity, specificity, accuracy, PPV, NPV: {proportion} 95% CIs.",
        ],
        "auc_comparisons": [
            "Difference: paired DeLong test (R pROC roc.test), 95% CI truncated to [−1, 1].",
            _p_footnote(options.adjustment("delong"), f"two-sided, {n_delong} pairs of readers"),
        ],
        "mcnemar": [
            "Each reader (A) against the reference reader (B) on the cases both read, at the "
            "positive threshold: sensitivity on the positive cases, specificity on the "
            "negative ones.",
            "P: exact (binomial) McNemar test; p_chisq: R mcnemar.test with continuity correction.",
            _p_footnote(options.adjustment("mcnemar"), "the readers' tests of one metric"),
        ],
        "agreement": [
            f"Intraobserver Fleiss κ: 95% CI from {kappa_ci}, clipped to [−1, 1]{boot}.",
            "Cohen κ: 95% CI from the Fleiss–Cohen–Everitt (1969) standard error, clipped "
            "to [−1, 1].",
            "AC1: Gwet's (2008) first-order agreement coefficient; PABAK: Byrt et al.'s (1993) "
            "prevalence- and bias-adjusted κ (Brennan–Prediger for more than two "
            "categories); both on the cases of κ, 95% CI from Gwet's (2014) variance with a "
            "t(n − 1) interval, as R irrCAC.",
        ],
        "ai_vs_readers": [
            "Each model reader (fixed) against the human readers (random) of its modality on "
            "the cases all of them rated: single-treatment Obuchowski–Rockette (1T-RRRC, "
            "Hillis 2007), as R RJafroc StSignificanceTestingCadVsRad; empirical AUC, and "
            "sensitivity and specificity of the positive calls (category at or above the "
            "threshold).",
            f"Non-inferior: the lower 95% limit of AI − readers above −{options.ai_margin:g} "
            "(the margin).",
        ],
        "reading_time": [
            "Human readers' reading time in seconds: median (IQR, R quantile type 7).",
            "Wilcoxon P: paired signed-rank test of each reader's times (the compared modality "
            "against the reference, first run of each case), as R wilcox.test.",
            "Ratio: geometric-mean time ratio from the mixed model log(t) ~ modality + "
            "(1 | reader) + (1 | case) (REML), Wald 95% CI, as R lme4.",
        ],
        "agreement_by_modality": [
            "Fleiss κ among the human readers who read both modalities, on the cases all of "
            "them read in both; 95% CI from Gwet's variance (t interval).",
            f"Difference: percentile bootstrap over cases ({max(options.fleiss_boot, 1)} "
            f"resamples, seed {options.seed}), two-sided bootstrap P.",
        ],
        "preference": [
            "One row per pair as imported (reader = option A, comparator = option B); the "
            "reference impression is reader 'reference'.",
            "At least as good: A better or equivalent; Wilson score 95% CI (R prop.test, "
            "correct = FALSE). Clustered CI: percentile two-way (rater × case) pigeonhole "
            f"bootstrap (Owen 2007; 1000 resamples, seed {options.seed}).",
            "Sign test P: exact binomial test of wins vs losses (ties left out). Position bias "
            "P: exact binomial test of the left option being chosen among non-tied "
            "comparisons with a recorded side.",
        ],
        "preference_ranking": [
            "Bradley–Terry model (ties split half), log-strength relative to the reference "
            "source (0), Wald 95% CI and P, as R glm(family = binomial).",
        ],
        "acceptability": [
            "Acceptable: a grade at or above the study's cut-off. Clopper–Pearson 95% CI over "
            "ratings; clustered CI: two-way (rater × case) bootstrap (1000 resamples).",
        ],
        "acceptability_paired": [
            "Case-level majority of the ratings of each output, on the cases rated for both; "
            "difference reader − reference with Newcombe's (1998) paired score interval; "
            "McNemar P: exact binomial test of the discordant cases.",
        ],
        "errors": [
            "A report is one rater's annotation of one output; Clopper–Pearson 95% CI of the "
            "share of reports with at least one error; n <category>: errors of that category.",
        ],
        "judgment_agreement": [
            "Krippendorff's α: preference ordinal (B better < equivalent < A better), "
            "acceptability ordinal on the grades, errors nominal (any error or none); 95% CI: "
            f"percentile bootstrap (1000 resamples, seed {options.seed}).",
        ],
        "likert": [
            "Score: mean (95% t CI) of every score (rater × output × domain).",
            "P: Dunn's test against each reader above, "
            + (
                P_ADJUST_LABELS["none"]
                if options.adjustment("dunn") == "none"
                else P_ADJUST_LABELS[options.adjustment("dunn")] + " within the run"
            )
            + "; * P < 0.05.",
        ],
        "likert_tests": [
            _p_footnote(options.adjustment("dunn"), "Dunn's test, the reader pairs of one run"),
        ],
        "likert_paired": [
            f"Unit: the block {PAIRED_UNIT}, complete blocks only; every rater scored every "
            "reader on the same cases.",
            "Difference A − B: mean paired difference; 95% CI: two-way (pigeonhole) "
            f"bootstrap resampling raters and cases ({LIKERT_PAIRED_BOOT} resamples, seed "
            f"{options.seed}; Owen 2007).",
            "Wilcoxon P: signed-rank test of the block differences (as R wilcox.test, paired), "
            f"{P_ADJUST_LABELS[LIKERT_PAIRED_ADJUST]} over the pairs of a domain; Friedman P: "
            "the domain's test across all rated readers (tie-corrected, as R friedman.test).",
        ],
        "likert_reliability": [
            "Units: the rated outputs (reader × case × run); raters: the Likert panel.",
            f"Krippendorff's α (ordinal metric) on every pairable score; 95% CI: percentile "
            f"bootstrap over outputs ({options.alpha_boot} resamples, seed {options.seed}).",
            "ICC(2,1): two-way random, absolute agreement, single rater (Shrout & Fleiss "
            "1979), on the outputs every rater scored; F-based 95% CI (McGraw & Wong 1996).",
        ],
        "mrmc": [
            (
                "Obuchowski–Rockette with Hillis (2007) denominator df, empirical AUC, "
                f"{options.mrmc_covariance} covariance, on the fully crossed readers × cases "
                "of the compared modalities."
                if split_plot is None
                else "Split-plot design: "
                + f"{len(split_plot.groups)} reader groups, each reading its own block of "
                "cases in every modality; Obuchowski–Rockette with Hillis (2007) denominator "
                "df for split-plot designs (Hillis 2014), empirical AUC, jackknife covariance "
                "within each group and none between groups (as RJafroc SPLIT-PLOT-C and "
                "MRMCaov)."
            )
            + " RRRC: readers and cases random; FRRC: readers fixed (χ² "
            "reference, df ∞); RRFC: cases fixed.",
            "B − A: the later modality minus the earlier. 95% CIs truncated to [0, 1] (AUC) "
            "and [−1, 1] (difference). P: the global F test of equal modalities; P (pair): "
            "the pair's own test.",
        ],
        "mrmc_binary": [
            "Obuchowski–Rockette with Hillis (2007) denominator df on the design of the AUC "
            f"analysis ({design.kind if design else 'crossed'}), sensitivity and specificity of "
            f"the decisions category ≥ {analysis.data.threshold} as figures of merit; jackknife "
            "over the positive (sensitivity) or negative (specificity) cases only, as MRMCaov "
            "binary_sens / binary_spec.",
            "B − A: the later modality minus the earlier. 95% CIs truncated to [0, 1] (value) "
            "and [−1, 1] (difference).",
        ],
        "mrmc_readers": [
            "Each reader's change B − A with cases random (the per-reader analysis of the Iowa "
            "program and MRMCaov): z test, 95% CI truncated to [−1, 1].",
        ],
    }
    notes.update(
        truth_detail=[
            "n (%): cases of each truth class by truth detail (Case.truth_detail, e.g. the "
            "pathology subtype); percentages of the class.",
        ],
        reader_design=[
            "Design, training and test input from each model reader's generation "
            "configuration where one exists, else from its description in readers.csv "
            '(text before and after "test input:").',
        ],
        likert_matrix=[
            "Lower triangle: Dunn's test of the row reader against the column reader on "
            "all runs' scores, "
            + (
                P_ADJUST_LABELS["none"]
                if options.adjustment("dunn") == "none"
                else P_ADJUST_LABELS[options.adjustment("dunn")]
            )
            + ".",
            "Marks: *** P < 0.001; ** P < 0.01; * P < 0.05; ns P ≥ 0.05; — the reader itself.",
        ],
        judges=[
            "Each LLM judge's Likert scores (run 1) against the human panel's median per "
            "output; κ quadratic-weighted on the half-point grid (Fleiss–Cohen–Everitt SE), "
            "α ordinal (unit bootstrap), ICC(2,1) (McGraw–Wong CI); mean difference and "
            "Bland–Altman limits with case-clustered SEs (t interval); κ difference and "
            f"Kendall τ: case bootstrap ({JUDGE_BOOT} resamples, seed {options.seed}).",
            "Within panel: the lower CI limit of κ judge − κ humans (each human left out in "
            "turn, mean over humans) is above −0.1.",
            "Domain preference: pairwise choices (1 / 0 / −1) of run 1 in the order the raters "
            "see; acceptability: grades of run 1. Position bias: every pair asked in both "
            "orders, Clopper–Pearson CI and exact binomial test of ½; swap consistency and "
            "same answer in every run with the Wilson CI.",
        ],
    )
    for name, abbreviations in ABBREVIATIONS.items():
        notes.setdefault(name, []).append("Abbreviations: " + "; ".join(abbreviations) + ".")
    return notes


#: The abbreviations used by each table (the last footnote of the table).
ABBREVIATIONS: dict[str, list[str]] = {
    "diagnostic_performance": [
        "AUC, area under the ROC curve", "CI, confidence interval",
        "PPV, positive predictive value", "NPV, negative predictive value",
    ],
    "auc_comparisons": ["AUC, area under the ROC curve", "CI, confidence interval"],
    "mcnemar": ["A, the compared reader", "B, the reference reader"],
    "agreement": [
        "κ, kappa", "AC1, Gwet's first-order agreement coefficient",
        "PABAK, prevalence- and bias-adjusted κ", "CI, confidence interval",
    ],
    "likert": ["CI, confidence interval"],
    "likert_matrix": ["ns, not significant"],
    "likert_reliability": ["ICC, intraclass correlation coefficient", "CI, confidence interval"],
    "mrmc": [
        "MRMC, multi-reader multi-case", "RRRC, random readers random cases",
        "FRRC, fixed readers random cases", "RRFC, random readers fixed cases",
        "AUC, area under the ROC curve",
    ],
    "mrmc_binary": [
        "MRMC, multi-reader multi-case", "FOM, figure of merit",
        "RRRC, random readers random cases", "FRRC, fixed readers random cases",
        "RRFC, random readers fixed cases",
    ],
    "ai_vs_readers": ["AI, the model reader", "FOM, figure of merit"],
    "reading_time": ["IQR, interquartile range"],
}  # fmt: skip


TABLE_TITLES: dict[str, str] = {
    "diagnostic_performance": "Diagnostic performance per reader (Table S1)",
    "auc_comparisons": "Paired DeLong comparisons of AUCs (Fig. 3)",
    "mcnemar": "McNemar tests against the reference reader (sensitivity, specificity)",
    "agreement": "Intra- and inter-observer agreement (Table 5)",
    "likert": "Likert scores per reader and run (Table 4)",
    "likert_tests": "Kruskal–Wallis and Dunn tests of Likert scores (Table 4)",
    "likert_domains": "Likert scores per domain and group (Fig. 6)",
    "likert_paired": "Paired Likert comparisons (Friedman, Wilcoxon, two-way bootstrap)",
    "likert_reliability": "Inter-rater reliability of the Likert panel per domain",
    "baseline": "Case attributes by truth (Table 3)",
    "confusion": "Confusion counts per reader (Fig. 7)",
    "case_categories": "Final category per case and reader (Fig. 5)",
    "mrmc": "MRMC comparison of modalities (Obuchowski–Rockette, Hillis df)",
    "mrmc_readers": "MRMC: change of AUC per reader (cases random)",
    "mrmc_binary": "MRMC comparison of modalities: sensitivity and specificity",
    "ai_vs_readers": "AI vs reader panel (single-treatment OR, 1T-RRRC)",
    "reading_time": "Reading time per reader and modality",
    "agreement_by_modality": "Inter-reader agreement by modality (human readers)",
    "text_metrics": "Text metrics of the impressions against the reference impressions",
    "text_metrics_tests": "Text metrics: paired bootstrap differences between readers",
    "findings": "Per-finding accuracy of the readers' finding labels",
    "findings_summary": "Finding labels: macro- and micro-averaged F1 per reader",
    "preference": "Pairwise preference: reader vs comparator",
    "preference_ranking": "Bradley–Terry ranking of the compared sources",
    "acceptability": "Acceptability per source",
    "acceptability_paired": "Acceptability: model reader vs the reference impressions",
    "errors": "Error annotations per reader",
    "judgment_agreement": "Inter-rater agreement of the judgment instruments",
    "accuracy_tests": "Paired differences in sensitivity and specificity (Newcombe, McNemar)",
    "subgroups": "Accuracy by subgroup, Cochran Q test of heterogeneity of the AUC",
    "truth_detail": "Truth detail by class (Table 1)",
    "reader_design": "Readers: design, training input and test input (Table 2)",
    "likert_matrix": "Pairwise Dunn comparisons of Likert scores (Table 4)",
    "judges": "LLM judges against the human rater panel",
    "edits": "Edits of the AI drafts per reader and modality",
    "notes": "Notes",
    "footnotes": "Footnotes of the tables",
}


#: Columns shown on the dashboard (the formatted ones); ``None``: every column.
DISPLAY_TABLES: dict[str, list[str] | str | None] = {
    "diagnostic_performance": [
        "reader", "kind", "n", "AUC (95% CI)",
        *[f"{METRIC_LABELS[m]}, % (95% CI)" for m in METRICS],
        *[f"{label} (95% CI)" for label in ACCURACY_LABELS.values()],
    ],
    "auc_comparisons": ["reader_a", "reader_b", "AUC A", "AUC B", "Difference (95% CI)", "P"],
    "mcnemar": [
        "metric", "reader_a", "reader_b", "n", "A, %", "B, %", "Discordant (A only / B only)", "P",
    ],
    "agreement": None,
    "likert": "likert_scores",
    "likert_tests": ["test", "run", "comparison", "statistic", "P"],
    "likert_domains": ["reader", "group", "label", "Mean (95% CI)", "n"],
    "likert_paired": [
        "label", "comparison", "blocks", "Difference A − B (95% CI)", "Wilcoxon P", "Friedman P",
    ],
    "likert_reliability": [
        "group", "label", "Krippendorff α, ordinal (95% CI)", "ICC(2,1) (95% CI)", "outputs",
        "raters",
    ],
    "baseline": ["attribute", "level", "Positive", "Negative", "P value", "Odds ratio (95% CI)", "test"],
    "confusion": None,
    "mrmc": [
        "analysis", "random", "A", "B", "AUC A (95% CI)", "AUC B (95% CI)",
        "Difference B − A (95% CI)", "F", "df", "P", "P (pair)",
    ],
    "mrmc_readers": [
        "reader", "A", "B", "AUC A", "AUC B", "Difference B − A (95% CI)", "P",
    ],
    "mrmc_binary": [
        "FOM", "analysis", "random", "A", "B", "Value A (95% CI)", "Value B (95% CI)",
        "Difference B − A (95% CI)", "F", "df", "P", "P (pair)",
    ],
    "ai_vs_readers": [
        "reader", "modality", "FOM", "AI", "Readers (mean)", "AI − readers (95% CI)", "t", "df",
        "P", "Margin", "Non-inferior",
    ],
    "reading_time": ["reader", "modality", "n", "Median, s (IQR)", "Wilcoxon P", "P (model)"],
    "agreement_by_modality": ["modality", "readers", "cases", "Fleiss κ (95% CI)", "P"],
    "text_metrics": ["reader", "run", "metric", "Value (95% CI)", "n"],
    "text_metrics_tests": ["reader_a", "reader_b", "metric", "Difference A − B (95% CI)", "P", "n"],
    "findings": [
        "reader", "finding", "n", "tp", "fp", "fn", "tn", "Sensitivity (95% CI)",
        "Specificity (95% CI)", "PPV (95% CI)", "F1 (95% CI)",
    ],
    "findings_summary": ["reader", "n", "Macro F1 (95% CI)", "Micro F1 (95% CI)"],
    "preference": [
        "reader", "comparator", "n", "Wins / ties / losses", "Win, %",
        "At least as good, % (95% CI)", "Clustered 95% CI, %", "Sign test P", "Left chosen, %",
        "Position bias P",
    ],
    "preference_ranking": [
        "rank", "source", "Log-strength (95% CI)", "Strength", "P", "comparisons",
    ],
    "acceptability": [
        "reader", "n", "Acceptable", "Acceptable, % (95% CI)", "Clustered 95% CI, %", "raters",
        "cases",
    ],
    "acceptability_paired": [
        "reader", "reference", "cases", "Reader only / reference only",
        "Difference, % points (95% CI)", "McNemar P",
    ],
    "errors": None,
    "judgment_agreement": ["instrument", "level", "Krippendorff α (95% CI)", "units", "raters"],
    "accuracy_tests": ["metric", "reader_a", "reader_b", "n", "A, %", "B, %", "A − B, % (95% CI)", "P"],
    "subgroups": [
        "attribute", "subgroup", "reader", "n", "positive / negative", "AUC (95% CI)",
        "Sensitivity, % (95% CI)", "Specificity, % (95% CI)", "Heterogeneity P (Cochran Q)",
    ],
    "truth_detail": ["Class", "Truth detail", "n (%)"],
    "reader_design": [
        "Reader", "Kind", "Design", "Training input", "Test input", "Model", "Experience",
    ],
    "likert_matrix": "likert_matrix",
    "judges": ["judge", "domain", "measure", "Estimate (95% CI)", "P", "n", "Within panel"],
    "edits": [
        "reader", "modality", "n", "Characters edited, median (IQR)",
        "Words edited, median (IQR)", "Drafting time, s (median)",
    ],
    "notes": ["reader", "note"],
}  # fmt: skip


def display_rows(name: str, table: pd.DataFrame) -> dict[str, Any]:
    """``{"columns": [...], "rows": [[...], ...]}`` of the formatted columns of a table.

    For tables without a fixed list, raw float columns (the unrounded numbers) are left
    out; floats that are shown are rounded to three digits.
    """
    wanted = DISPLAY_TABLES.get(name)
    if wanted == "likert_scores":
        wanted = [c for c in table.columns if c == "reader" or str(c).endswith(" score")]
    elif wanted == "likert_matrix":
        wanted = [c for c in table.columns if not str(c).startswith("p_")]
    if wanted is None or isinstance(wanted, str):
        columns = [
            c for c in table.columns
            if not pd.api.types.is_float_dtype(table[c].dtype)
        ]  # fmt: skip
    else:
        columns = [c for c in wanted if c in table.columns]
    rows = []
    for values in table[columns].astype(object).itertuples(index=False, name=None):
        rows.append(
            [
                ""
                if _missing(v) or v is pd.NA
                else (f"{v:.3f}".replace("-", MINUS) if isinstance(v, float) else str(v))
                for v in values
            ]
        )
    return {
        "columns": [header_label(name, str(c)) for c in columns],
        "keys": [str(c) for c in columns],
        "rows": rows,
    }


def table_csv(table: pd.DataFrame) -> bytes:
    """``table`` as UTF-8 CSV (unrounded numbers, empty cells for missing values); text a
    spreadsheet would run as a formula gets a leading ``'`` (readerstudy/core/spreadsheet.py)."""
    return frame_csv(table)


def write_csvs(tables: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """One UTF-8 CSV per table (:func:`table_csv`)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        path.write_bytes(table_csv(table))
        paths.append(path)
    return paths


def write_workbook(
    tables: dict[str, pd.DataFrame],
    path: Path | Any,
    *,
    about: dict[str, str] | None = None,
    footnotes: dict[str, list[str]] | None = None,
) -> None:
    """One .xlsx workbook, a sheet per table: bold header, frozen panes, sized columns.

    Numbers stay unrounded in the cells; the number format only changes how Excel shows
    them (three decimals, p values four). Text is stored as string cells, never formulas
    (readerstudy/core/spreadsheet.py). ``footnotes`` (table -> lines) are written in
    italics below the table, after an empty row; by default those of the ``footnotes``
    table.
    """
    if footnotes is None and "footnotes" in tables:
        notes_table = tables["footnotes"]
        footnotes = {}
        for name, text in zip(notes_table["table"], notes_table["footnote"], strict=True):
            footnotes.setdefault(name, []).append(text)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    sheet = wb.active
    sheet.title = "about"
    sheet.append(["readerstudy analysis"])
    sheet["A1"].font = Font(bold=True, size=14)
    for key, value in (about or {}).items():
        append_xlsx_row(sheet, [key, value])
    sheet.append([])
    sheet.append(["sheet", "content"])
    for name in tables:
        append_xlsx_row(sheet, [name[:31], TABLE_TITLES.get(name, name)])
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 90

    header_fill = PatternFill("solid", fgColor="DCE6F1")
    for name, table in tables.items():
        ws = wb.create_sheet(name[:31])
        append_xlsx_row(ws, map(str, table.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for values in table.itertuples(index=False, name=None):
            append_xlsx_row(ws, [_cell(v) for v in values])
        lines = (footnotes or {}).get(name, [])
        if lines:
            ws.append([])
            for text in lines:
                append_xlsx_row(ws, [text])
                ws.cell(row=ws.max_row, column=1).font = Font(italic=True)
        ws.freeze_panes = "B2" if len(table.columns) > 1 else "A2"
        for j, col in enumerate(table.columns, start=1):
            series = table[col]
            letter = get_column_letter(j)
            if pd.api.types.is_float_dtype(series.dtype):
                fmt = (
                    "0.0000" if str(col) in {"p", "p_adjusted", "odds_ratio_p", "lr_p"} else "0.000"
                )
                for cell in ws[letter][1:]:
                    cell.number_format = fmt
            sample = [len(str(col))] + [len(str(v)) for v in series.head(200).tolist()]
            ws.column_dimensions[letter].width = min(60, max(8, max(sample) + 2))
    wb.save(path)


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: Formatted headers of raw column names (the dashboard and the DOCX tables).
HEADER_LABELS: dict[str, str] = {
    "reader": "Reader",
    "reader_a": "Reader A",
    "reader_b": "Reader B",
    "kind": "Kind",
    "metric": "Metric",
    "section": "Section",
    "comparison": "Comparison",
    "method": "Method",
    "category_interpretation": "Interpretation (category scale)",
    "binary_interpretation": "Interpretation (positive call)",
    "category_n": "n (category scale)",
    "binary_n": "n (positive call)",
    "test": "Test",
    "run": "Run",
    "statistic": "Statistic",
    "group": "Group",
    "label": "Label",
    "attribute": "Attribute",
    "level": "Level",
    "analysis": "Analysis",
    "random": "Random factors",
    "modality": "Modality",
    "readers": "Readers",
    "cases": "Cases",
    "outputs": "Outputs",
    "raters": "Raters",
    "note": "Note",
    "truth": "Truth",
    "tp": "TP",
    "fn": "FN",
    "fp": "FP",
    "tn": "TN",
}
#: Per-table headers where the generic one would mislead.
TABLE_HEADER_LABELS: dict[str, dict[str, str]] = {
    "likert_domains": {"label": "Domain"},
    "likert_reliability": {"label": "Domain"},
    "likert_paired": {"label": "Domain"},
}


def header_label(table: str, column: str) -> str:
    """The header a journal prints for ``column`` of ``table`` (raw names formatted)."""
    special = TABLE_HEADER_LABELS.get(table, {})
    if column in special:
        return special[column]
    if column in HEADER_LABELS:
        return HEADER_LABELS[column]
    if "_" in column and column == column.lower():
        return column.replace("_", " ").capitalize()
    return column


def table_docx(
    name: str,
    table: pd.DataFrame,
    *,
    title: str | None = None,
    footnotes: list[str] | None = None,
) -> bytes:
    """One table as a Word document (python-docx): the title, the formatted columns of
    :func:`display_rows` with a bold header row, and the footnotes in italics below."""
    import io

    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    shown = display_rows(name, table)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"  # type: ignore[attr-defined]
    style.font.size = Pt(9)  # type: ignore[attr-defined]
    if len(shown["columns"]) > 6:
        section = document.sections[0]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    heading = document.add_paragraph()
    heading.add_run(title or TABLE_TITLES.get(name, name)).bold = True
    grid = document.add_table(rows=1, cols=max(1, len(shown["columns"])))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, shown["columns"], strict=False):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for values in shown["rows"]:
        cells = grid.add_row().cells
        for cell, text in zip(cells, values, strict=False):
            cell.text = text
    for text in footnotes or []:
        note = document.add_paragraph()
        note.add_run(text).italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_docx(
    tables: dict[str, pd.DataFrame],
    folder: Path,
    *,
    footnotes: dict[str, list[str]] | None = None,
) -> list[Path]:
    """One ``<name>.docx`` per table (:func:`table_docx`) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        if name == "footnotes":
            continue
        path = folder / f"{name}.docx"
        path.write_bytes(table_docx(name, table, footnotes=(footnotes or {}).get(name, [])))
        paths.append(path)
    return paths
