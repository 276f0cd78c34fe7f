"""Clustered ROC, accuracy summaries, paired accuracy differences and subgroups (issue 18).

Called by :func:`analysis.results.run_analysis` with the final readings of the per-reader
modality (``reader_id, case_id, truth, category, rating``) and the study's cases:

* **Clustered AUC** (:func:`clustered_rocs`): when a ``patient_id`` holds more than one of
  the analysed cases (bilateral lesions), each reader's AUC CI and the paired AUC
  comparisons use Obuchowski's (1997) clustered variance instead of DeLong's, with a note;
  ``clustered="on"``/``"off"`` forces it.
* **Accuracy summaries** (:func:`accuracy_measures`): LR+, LR−, DOR, Youden's J with CIs;
  :func:`accuracy_tests`: paired differences in sensitivity and specificity (Newcombe);
  :func:`roc_summaries`: McClish partial AUC and the Youden-optimal threshold (bootstrap
  CIs); :func:`omnibus_tests`: the k-AUC χ² test per modality.
* **Subgroups** (:func:`subgroups`): any case attribute (categorical, or numeric binned),
  the split and the site; per-subgroup AUC, sensitivity and specificity with CIs and
  Cochran's Q of the subgroup AUCs (:func:`analysis.stats.heterogeneity.cochran_q`).

Every degenerate case gets a note, never a silent number. Plain Python over
:mod:`analysis.stats` (no Django).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from analysis.notes import Note, note
from analysis.stats.accuracy import accuracy_summary, paired_accuracy_difference
from analysis.stats.clustered_accuracy import clustered_accuracy
from analysis.stats.clustered_roc import clustered_aucs, compare_clustered, omnibus_auc_test
from analysis.stats.diagnostic import diagnostic_performance
from analysis.stats.heterogeneity import cochran_q
from analysis.stats.roc import reader_aucs
from analysis.stats.roc_summaries import partial_auc, youden_threshold

#: Values of the ``clustered`` option: automatic (patients repeat), always, never.
CLUSTERED_SETTINGS: tuple[str, ...] = ("auto", "on", "off")

#: Most levels a categorical attribute may have to define subgroups automatically.
MAX_LEVELS = 6

SUBGROUP_COLUMNS: list[str] = [
    "attribute", "subgroup", "reader", "n", "n_positive", "n_negative", "method", "auc",
    "auc_se", "auc_ci_low", "auc_ci_high", "sensitivity", "sensitivity_ci_low",
    "sensitivity_ci_high", "specificity", "specificity_ci_low", "specificity_ci_high",
]  # fmt: skip
HETEROGENEITY_COLUMNS: list[str] = [
    "attribute", "reader", "n_groups", "statistic", "df", "p_value", "i_squared", "pooled",
    "pooled_ci_low", "pooled_ci_high",
]  # fmt: skip
OMNIBUS_COLUMNS: list[str] = [
    "modality", "n_readers", "n_cases", "statistic", "df", "p_value", "covariance",
]  # fmt: skip


def _rated(final: pd.DataFrame) -> pd.DataFrame:
    return final[final["rating"].notna()] if len(final) else final


def patients(final: pd.DataFrame, cases: pd.DataFrame) -> pd.Series:
    """``patient_id`` of each case of ``final`` (a case without one is its own patient)."""
    ids = final["case_id"].drop_duplicates()
    mapping = (
        cases.drop_duplicates("case_id").set_index("case_id")["patient_id"]
        if "patient_id" in cases
        else pd.Series(dtype=object)
    )
    values = ids.map(mapping)
    own = "case:" + ids.astype(str)
    return pd.Series(values.where(values.notna(), own).astype(str).to_numpy(), index=ids.to_numpy())


def clustered_rocs(
    final: pd.DataFrame,
    cases: pd.DataFrame,
    aucs: pd.DataFrame,
    auc_tests: pd.DataFrame,
    *,
    setting: str,
    notes: list[Note],
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(aucs, auc_tests, clustered) with Obuchowski's clustered variance where it applies.

    ``setting`` "auto" clusters when a patient has more than one of the analysed cases;
    "on" always (each case without a patient is its own cluster), "off" never. The AUC
    itself is the same Mann–Whitney estimate; its SE and CI and the comparisons' SE, z, p
    and CI are the clustered ones. Both frames gain ``method`` ("delong" or "obuchowski").
    """
    if setting not in CLUSTERED_SETTINGS:
        raise ValueError(
            f"clustered: expected one of {', '.join(CLUSTERED_SETTINGS)}, got {setting!r}"
        )
    if final.empty or aucs.empty:
        return aucs.assign(method="delong"), auc_tests.assign(method="delong"), False
    patient = patients(final, cases)
    counts = patient.value_counts()
    n_repeat = int((counts > 1).sum())
    use = setting == "on" or (setting == "auto" and n_repeat > 0)
    if not use:
        if n_repeat:
            notes.append(
                note(
                    "clustered-off",
                    f"ROC: {n_repeat} patient(s) have more than one case, but clustering is "
                    "off: the DeLong CIs and tests treat the cases as independent.",
                )
            )
        return aucs.assign(method="delong"), auc_tests.assign(method="delong"), False
    notes.append(
        note(
            "clustered-roc",
            f"ROC: {len(patient)} cases in {len(counts)} patients ({n_repeat} with more than "
            "one case): AUC CIs and the paired AUC tests use Obuchowski's clustered variance "
            "(1997), not DeLong's.",
        )
    )
    rated = _rated(final).assign(patient_id=lambda f: f["case_id"].map(patient))
    cols = ["reader_id", "case_id", "truth", "rating", "patient_id"]
    aucs = aucs.copy()
    for i, reader in enumerate(aucs["reader"]):
        res = clustered_aucs(rated.loc[rated["reader_id"] == reader, cols]).iloc[0]
        for column in ("se", "ci_low", "ci_high"):
            aucs.loc[aucs.index[i], column] = res[column]
        aucs.loc[aucs.index[i], "auc"] = res["statistic"]
    aucs["method"] = "obuchowski"
    tests = auc_tests.copy()
    for i, row in enumerate(tests.to_dict("records")):
        a, b = row["reader_a"], row["reader_b"]
        sub = rated.loc[rated["reader_id"].isin([a, b]), cols]
        both = sub.groupby("case_id")["reader_id"].nunique()
        sub = sub[sub["case_id"].isin(both.index[both == 2])]
        if sub["truth"].nunique() < 2:
            continue
        res = compare_clustered(sub).iloc[0]
        sign = 1.0 if res["reader_a"] == a else -1.0
        lo, hi = (res["ci_low"], res["ci_high"]) if sign > 0 else (-res["ci_high"], -res["ci_low"])
        idx = tests.index[i]
        tests.loc[idx, ["diff", "se", "z", "p_value", "ci_low", "ci_high"]] = [
            sign * res["statistic"], res["se"], sign * res["z"], res["p_value"], lo, hi,
        ]  # fmt: skip
    tests["method"] = "obuchowski"
    return aucs, tests, True


def accuracy_measures(
    final: pd.DataFrame, order: Sequence[str], *, threshold: float, method: str
) -> pd.DataFrame:
    """LR+, LR−, DOR and Youden's J of each reader (:func:`accuracy_summary`), long.

    A reader whose cases are all of one class has none (no likelihood ratio without both
    classes); the analysis already notes such readers' small classes.
    """
    classes = final.groupby("reader_id")["truth"].nunique() if len(final) else pd.Series()
    both = final[final["reader_id"].isin(classes[classes == 2].index)] if len(final) else final
    if both.empty:
        return pd.DataFrame(columns=["reader", "measure", "statistic", "ci_low", "ci_high"])
    out = accuracy_summary(
        both[["reader_id", "case_id", "truth", "category"]],
        threshold=threshold,
        method=method,  # type: ignore[arg-type]
    )
    rank = {r: i for i, r in enumerate(order)}
    return (
        out.assign(_k=out["reader"].map(lambda r: rank.get(r, len(rank))))
        .sort_values("_k", kind="stable")
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def accuracy_tests(
    final: pd.DataFrame, order: Sequence[str], *, threshold: float, notes: list[Note]
) -> pd.DataFrame:
    """Paired sensitivity and specificity differences of every pair of readers (Newcombe),
    each pair on the cases both read."""
    present = [r for r in order if r in set(final["reader_id"])] if len(final) else []
    frames = []
    for a, b in combinations(present, 2):
        sub = final.loc[
            final["reader_id"].isin([a, b]), ["reader_id", "case_id", "truth", "category"]
        ]
        both = sub.groupby("case_id")["reader_id"].nunique()
        sub = sub[sub["case_id"].isin(both.index[both == 2])]
        if sub["truth"].nunique() < 2:
            notes.append(
                note(
                    "accuracy-test-one-class",
                    f"Paired accuracy: readers {a} and {b} share no cases of both classes; "
                    "no sensitivity/specificity difference.",
                )
            )
            continue
        frames.append(paired_accuracy_difference(sub, reader_a=a, reader_b=b, threshold=threshold))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def roc_summaries(
    final: pd.DataFrame,
    aucs: pd.DataFrame,
    *,
    low: float,
    n_boot: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(partial AUC over specificity ``[low, 1]``, Youden-optimal threshold) per reader with
    an AUC, both with stratified bootstrap CIs."""
    if aucs.empty:
        return pd.DataFrame(), pd.DataFrame()
    rated = _rated(final)
    frames_p, frames_y = [], []
    for reader in aucs["reader"]:
        sub = rated.loc[rated["reader_id"] == reader, ["reader_id", "case_id", "truth", "rating"]]
        frames_p.append(partial_auc(sub, low=low, high=1.0, n_boot=n_boot, seed=seed))
        frames_y.append(youden_threshold(sub, n_boot=n_boot, seed=seed))
    return pd.concat(frames_p, ignore_index=True), pd.concat(frames_y, ignore_index=True)


def omnibus_tests(
    finals: Mapping[int, pd.DataFrame],
    cases: pd.DataFrame,
    order: Sequence[str],
    *,
    clustered: bool,
    notes: list[Note],
) -> pd.DataFrame:
    """The χ² test that every reader's AUC is equal, per modality with at least three
    readers, on the cases every reader rated (clustered covariance when ``clustered``)."""
    rows = []
    for modality, final in sorted(finals.items()):
        rated = _rated(final)
        readers = [r for r in order if r in set(rated["reader_id"])]
        if len(readers) < 3:
            continue
        counts = rated.groupby("case_id")["reader_id"].nunique()
        sub = rated[rated["case_id"].isin(counts.index[counts == len(readers)])]
        if sub["truth"].nunique() < 2:
            continue
        if len(counts) > sub["case_id"].nunique():
            notes.append(
                note(
                    "omnibus-cases-dropped",
                    f"Omnibus AUC test, modality {modality}: "
                    f"{len(counts) - sub['case_id'].nunique()} case(s) not rated by every "
                    "reader are left out.",
                )
            )
        sub = sub.assign(patient_id=sub["case_id"].map(patients(sub, cases)))
        res = omnibus_auc_test(
            sub[["reader_id", "case_id", "truth", "rating", "patient_id"]],
            cluster="patient_id" if clustered else None,
        ).iloc[0]
        rows.append({"modality": int(modality), "n_cases": int(sub["case_id"].nunique()), **res})
    return pd.DataFrame(rows).reindex(columns=OMNIBUS_COLUMNS)


def _levels(values: pd.Series, bins: int, edges: Sequence[float] | None) -> pd.Series | None:
    """Subgroup label of each case from one attribute (None: not usable as subgroups)."""
    present = values.dropna()
    if present.empty:
        return None
    numeric = pd.api.types.is_numeric_dtype(values)
    if numeric and (edges is not None or present.nunique() > MAX_LEVELS):
        x = values.astype(float)
        if edges is not None:
            cut = pd.cut(x, bins=list(edges), include_lowest=True)
        else:
            cut = pd.qcut(x, q=bins, duplicates="drop")
        labels = cut.astype(str).where(cut.notna(), None)
        return labels if labels.dropna().nunique() >= 2 else None
    if present.nunique() < 2 or present.nunique() > MAX_LEVELS:
        return None
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else str(v))
    )


def subgroup_attributes(cases: pd.DataFrame, requested: Sequence[str] | None) -> list[str]:
    """The subgroup definitions: ``requested`` (attribute names, ``split``, ``site``), or
    by default the split (when the cases span several), then every attribute."""
    attrs = [c.removeprefix("attr:") for c in cases.columns if c.startswith("attr:")]
    if requested is not None:
        return list(requested)
    out = ["split"] if "split" in cases and cases["split"].nunique() > 1 else []
    return out + attrs


def subgroups(
    final: pd.DataFrame,
    cases: pd.DataFrame,
    order: Sequence[str],
    *,
    requested: Sequence[str] | None,
    bins: int,
    edges: Mapping[str, Sequence[float]],
    threshold: float,
    method: str,
    clustered: bool,
    notes: list[Note],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-subgroup accuracy of each reader, Cochran's Q of the subgroup AUCs).

    AUC: DeLong (Obuchowski when ``clustered``); sensitivity, specificity: binomial CI
    ``method``. A subgroup with one class of cases has no AUC (note); Q uses the subgroups
    whose AUC has a positive SE (at least two).
    """
    if final.empty:
        return pd.DataFrame(columns=SUBGROUP_COLUMNS), pd.DataFrame(columns=HETEROGENEITY_COLUMNS)
    known = {c.removeprefix("attr:"): c for c in cases.columns if c.startswith("attr:")}
    known.update({"split": "split"} if "split" in cases else {})
    by_case = cases.drop_duplicates("case_id").set_index("case_id")
    patient = patients(final, cases)
    rows: list[dict[str, Any]] = []
    het: list[dict[str, Any]] = []
    for name in subgroup_attributes(cases, requested):
        if name not in known:
            notes.append(
                note(
                    "subgroup-unknown",
                    f"Subgroups: the cases have no attribute {name!r}; "
                    f"known: {', '.join(sorted(known)) or 'none'}.",
                )
            )
            continue
        labels = _levels(by_case[known[name]], bins, edges.get(name))
        if labels is None:
            if requested is not None:
                notes.append(
                    note(
                        "subgroup-unusable",
                        f"Subgroups: attribute {name!r} has fewer than two levels (or more "
                        f"than {MAX_LEVELS} categories); no subgroups.",
                    )
                )
            continue
        level = final["case_id"].map(labels)
        for group in sorted(level.dropna().unique(), key=str):
            part = final[level == group]
            rows.extend(
                _subgroup_rows(
                    part, patient, order, name, str(group), threshold, method, clustered, notes
                )
            )
        attr_rows = [r for r in rows if r["attribute"] == name]
        for reader in order:
            est = [r for r in attr_rows if r["reader"] == reader and (r.get("auc_se") or 0) > 0]
            if len(est) < 2:
                continue
            q = cochran_q([r["auc"] for r in est], [r["auc_se"] for r in est]).iloc[0]
            het.append({"attribute": name, "reader": reader, **q.to_dict()})
    return (
        pd.DataFrame(rows).reindex(columns=SUBGROUP_COLUMNS),
        pd.DataFrame(het).reindex(columns=HETEROGENEITY_COLUMNS),
    )


def _subgroup_rows(
    part: pd.DataFrame,
    patient: pd.Series,
    order: Sequence[str],
    name: str,
    group: str,
    threshold: float,
    method: str,
    clustered: bool,
    notes: list[Note],
) -> list[dict[str, Any]]:
    perf = diagnostic_performance(
        part[["reader_id", "case_id", "truth", "category"]],
        truth="truth",
        category="category",
        reader="reader_id",
        case="case_id",
        threshold=threshold,
        method=method,  # type: ignore[arg-type]
    ).set_index("reader")
    rated = _rated(part)
    rows = []
    one_class = []
    for reader in [r for r in order if r in perf.index]:
        sub = rated.loc[rated["reader_id"] == reader, ["reader_id", "case_id", "truth", "rating"]]
        p = perf.loc[reader]
        row: dict[str, Any] = {
            "attribute": name,
            "subgroup": group,
            "reader": reader,
            "n": int(p["n"]),
            "n_positive": int(p["tp"] + p["fn"]),
            "n_negative": int(p["tn"] + p["fp"]),
        }
        for m in ("sensitivity", "specificity"):
            row.update(
                {m: p[m], f"{m}_ci_low": p[f"{m}_ci_low"], f"{m}_ci_high": p[f"{m}_ci_high"]}
            )
        if sub["truth"].nunique() == 2:
            if clustered:
                res = clustered_aucs(sub.assign(patient_id=sub["case_id"].map(patient))).iloc[0]
            else:
                res = reader_aucs(sub).iloc[0]
            row.update(
                method="obuchowski" if clustered else "delong",
                auc=res["statistic"],
                auc_se=res["se"],
                auc_ci_low=res["ci_low"],
                auc_ci_high=res["ci_high"],
            )
        else:
            one_class.append(reader)
        rows.append(row)
    if one_class:
        notes.append(
            note(
                "subgroup-one-class",
                f"Subgroup {name} = {group}: only one class of cases, so no AUC "
                f"({len(one_class)} reader(s)).",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------
# results.json entries (docs/architecture.md, "results.json")
# ---------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _ci(row: Mapping[str, Any], low: str = "ci_low", high: str = "ci_high") -> list[float | None]:
    return [_num(row.get(low)), _num(row.get(high))]


def reader_accuracy_json(accuracy: pd.DataFrame, reader: str) -> dict[str, Any]:
    """``<measure>, <measure>_ci`` (LR+, LR−, DOR, Youden's J) of ``reader``'s entry."""
    if accuracy.empty:
        return {}
    out: dict[str, Any] = {}
    for r in accuracy[accuracy["reader"] == reader].to_dict("records"):
        out[r["measure"]] = _num(r["statistic"])
        out[f"{r['measure']}_ci"] = _ci(r)
    return out


def accuracy_tests_json(tests: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "reader_a": r["reader_a"],
            "reader_b": r["reader_b"],
            "metric": r["metric"],
            "n": int(r["n"]),
            "estimate_a": _num(r["estimate_a"]),
            "estimate_b": _num(r["estimate_b"]),
            "diff": _num(r["statistic"]),
            "diff_ci": _ci(r),
            "method": "newcombe",
            "p": _num(r["p_value"]),
        }
        for r in tests.to_dict("records")
    ]


def partial_auc_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "reader": r["reader"],
            "focus": r["focus"],
            "range": [_num(r["range_low"]), _num(r["range_high"])],
            "partial_auc": _num(r["partial_auc"]),
            "mcclish": _num(r["statistic"]),
            "ci": _ci(r),
        }
        for r in frame.to_dict("records")
    ]


def youden_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "reader": r["reader"],
            "threshold": _num(r["statistic"]),
            "ci": _ci(r),
            "youden_j": _num(r["youden_j"]),
            "sensitivity": _num(r["sensitivity"]),
            "specificity": _num(r["specificity"]),
        }
        for r in frame.to_dict("records")
    ]


def omnibus_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "modality": int(r["modality"]),
            "n_readers": int(r["n_readers"]),
            "n_cases": int(r["n_cases"]),
            "chi2": _num(r["statistic"]),
            "df": _num(r["df"]),
            "p": _num(r["p_value"]),
            "covariance": r["covariance"],
        }
        for r in frame.to_dict("records")
    ]


def subgroups_json(rows: pd.DataFrame, het: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per subgroup definition: its subgroups' rows and the Q test per reader."""
    out = []
    for name in dict.fromkeys(rows["attribute"]) if len(rows) else []:
        part = rows[rows["attribute"] == name]
        tests = het[het["attribute"] == name] if len(het) else het
        out.append(
            {
                "attribute": name,
                "rows": [
                    {
                        "subgroup": r["subgroup"],
                        "reader": r["reader"],
                        "n": int(r["n"]),
                        "n_positive": int(r["n_positive"]),
                        "n_negative": int(r["n_negative"]),
                        "method": r["method"] if isinstance(r["method"], str) else None,
                        "auc": _num(r["auc"]),
                        "auc_se": _num(r["auc_se"]),
                        "auc_ci": _ci(r, "auc_ci_low", "auc_ci_high"),
                        "sensitivity": _num(r["sensitivity"]),
                        "sensitivity_ci": _ci(r, "sensitivity_ci_low", "sensitivity_ci_high"),
                        "specificity": _num(r["specificity"]),
                        "specificity_ci": _ci(r, "specificity_ci_low", "specificity_ci_high"),
                    }
                    for r in part.to_dict("records")
                ],
                "heterogeneity": [
                    {
                        "reader": t["reader"],
                        "test": "cochran_q",
                        "n_groups": int(t["n_groups"]),
                        "q": _num(t["statistic"]),
                        "df": _num(t["df"]),
                        "p": _num(t["p_value"]),
                        "i_squared": _num(t["i_squared"]),
                        "pooled_auc": _num(t["pooled"]),
                        "pooled_ci": _ci(t, "pooled_ci_low", "pooled_ci_high"),
                    }
                    for t in tests.to_dict("records")
                ],
            }
        )
    return out


#: patient-level cluster-bootstrap resamples of the clustered sensitivity / specificity
CLUSTER_BOOT = 2000


def clustered_proportions(
    final: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    threshold: float,
    clustered: bool,
    seed: int | None,
    notes: list[Note],
) -> pd.DataFrame:
    """Sensitivity and specificity of each reader with patient-clustered SEs and CIs.

    Only when the ROC analysis is clustered (:func:`clustered_rocs`): the rows of
    :func:`analysis.stats.clustered_accuracy.clustered_accuracy` (Obuchowski's 1998 ratio
    estimator SE with a Wald CI, and a patient-level cluster bootstrap CI), on each
    reader's final categories; a case without a patient is its own cluster. Empty
    otherwise. Rows with a ``note`` (a proportion of 0 or 1, one patient) are noted.
    """
    if not clustered or final.empty:
        return pd.DataFrame()
    patient = patients(final, cases)
    data = final.assign(patient_id=final["case_id"].map(patient))
    res = clustered_accuracy(
        data[["reader_id", "patient_id", "truth", "category"]],
        threshold=threshold,
        n_boot=CLUSTER_BOOT,
        seed=seed,
    )
    for r in res[res["note"].notna()].to_dict("records"):
        notes.append(
            note(
                "clustered-accuracy-degenerate",
                f"Clustered {r['metric']}: {r['note']}.",
                reader=str(r["reader"]),
            )
        )
    return res


def reader_cluster_json(frame: pd.DataFrame, reader: str) -> dict[str, Any]:
    """``<metric>_cluster_se, <metric>_cluster_ci, <metric>_cluster_boot_ci`` of a reader
    (sensitivity and specificity; ``null`` when the analysis is not clustered)."""
    rows = (
        {r["metric"]: r for r in frame[frame["reader"] == reader].to_dict("records")}
        if len(frame)
        else {}
    )
    out: dict[str, Any] = {}
    for metric in ("sensitivity", "specificity"):
        r = rows.get(metric, {})
        out[f"{metric}_cluster_se"] = _num(r.get("se"))
        out[f"{metric}_cluster_ci"] = _ci(r)
        out[f"{metric}_cluster_boot_ci"] = _ci(r, "boot_ci_low", "boot_ci_high")
    return out
