"""Per-finding accuracy of readers' finding labels against the cases' finding truth.

A study with a finding vocabulary (``[[findings]]`` in ``study.toml``) has, for each case
and finding, a truth label (present 0/1), and each reader gives a label for the same case
and finding (imported, from a form or extracted from the report text). Per reader and
finding the four counts

    TP = #{truth 1, label 1}, FP = #{truth 0, label 1},
    FN = #{truth 1, label 0}, TN = #{truth 0, label 0}

give sensitivity ``TP/(TP+FN)``, specificity ``TN/(TN+FP)``, PPV ``TP/(TP+FP)``, each with
its Clopper-Pearson interval (R ``binom.test``), and ``F1 = 2TP/(2TP+FP+FN)`` with a seeded
case-bootstrap percentile interval. Per reader the micro-averaged F1 pools the counts of
every finding, ``2ΣTP/(2ΣTP+ΣFP+ΣFN)``, and the macro-averaged F1 is the mean of the
per-finding F1 over the findings where it is defined; both get a case-bootstrap interval
(all findings of a drawn case go together), and two readers a paired bootstrap of their
difference on the cases both labelled.

References
----------
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the
case of the binomial. Biometrika 26, 404-413.

Van Rijsbergen CJ (1979). Information Retrieval, 2nd ed. Butterworths, ch. 7 (F measure).

Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13, 16.

Yu F, Endo M, Krishnan R, et al. (2023). Evaluating progress in automatic chest X-ray
radiology report generation. Patterns 4, 100802 (per-finding F1, micro and macro).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from analysis.stats._checks import (
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
    require_unique,
)
from analysis.stats.diagnostic import proportion_ci

#: The measures of :func:`finding_performance`, in output order.
FINDING_MEASURES: tuple[str, ...] = ("sensitivity", "specificity", "ppv", "f1")
#: The averaged F1 of :func:`finding_f1_summary` and :func:`compare_finding_f1`.
F1_AVERAGES: tuple[str, ...] = ("macro_f1", "micro_f1")

PERFORMANCE_COLUMNS = [
    "reader",
    "finding",
    "measure",
    "n",
    "tp",
    "fp",
    "fn",
    "tn",
    "statistic",
    "ci_low",
    "ci_high",
    "note",
]
SUMMARY_COLUMNS = ["reader", "measure", "n", "n_findings", "statistic", "ci_low", "ci_high", "note"]
COMPARE_COLUMNS = [
    "reader_a",
    "reader_b",
    "measure",
    "n",
    "statistic",
    "ci_low",
    "ci_high",
    "p_value",
    "note",
]

# Replicates per block of the bootstrap (bounds the memory of the case-count matrix).
_BLOCK = 500


def _frame(
    df: object, cols: dict[str, str], *, n_boot: int | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = require_frame(df)
    require_columns(frame, cols)
    require_unique(frame, {k: cols[k] for k in ("reader", "case", "finding")})
    if n_boot is not None and (not isinstance(n_boot, int | np.integer) or n_boot < 1):
        raise ValueError(f"n_boot: expected an integer >= 1, got {n_boot!r}")
    out = pd.DataFrame(
        {
            "reader": frame[cols["reader"]].to_numpy(),
            "case": frame[cols["case"]].to_numpy(),
            "finding": frame[cols["finding"]].to_numpy(),
            "truth": binary_truth(frame[cols["truth"]], arg="truth"),
            "present": binary_truth(frame[cols["present"]], arg="present"),
        }
    )
    return out, cols


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """``2TP/(2TP+FP+FN)``, NaN where the denominator is 0."""
    den = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan)
    return out


def _cells(frame: pd.DataFrame, cases: pd.Index, findings: pd.Index) -> np.ndarray:
    """(n_cases, n_findings, 3) matrix of TP, FP, FN of each case x finding (0 if unlabelled)."""
    out = np.zeros((len(cases), len(findings), 3))
    ci = cases.get_indexer(frame["case"])
    fi = findings.get_indexer(frame["finding"])
    truth = frame["truth"].to_numpy(dtype=bool)
    present = frame["present"].to_numpy(dtype=bool)
    keep = (ci >= 0) & (fi >= 0)
    out[ci[keep], fi[keep], 0] = (truth & present)[keep]
    out[ci[keep], fi[keep], 1] = (~truth & present)[keep]
    out[ci[keep], fi[keep], 2] = (truth & ~present)[keep]
    return out


def _boot_counts(
    cells: list[np.ndarray], n_boot: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Summed (B, n_findings, 3) counts of each replicate; the same cases drawn for all."""
    n_cases = cells[0].shape[0]
    flat = [c.reshape(n_cases, -1) for c in cells]
    blocks: list[list[np.ndarray]] = [[] for _ in cells]
    done = 0
    while done < n_boot:
        b = min(_BLOCK, n_boot - done)
        idx = rng.integers(0, n_cases, size=(b, n_cases)) + n_cases * np.arange(b)[:, None]
        w = np.bincount(idx.ravel(), minlength=b * n_cases).reshape(b, n_cases).astype(float)
        for i, f in enumerate(flat):
            blocks[i].append(w @ f)
        done += b
    return [
        np.vstack(bl).reshape(n_boot, *c.shape[1:]) for bl, c in zip(blocks, cells, strict=True)
    ]


def _averages(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Macro and micro F1 of (..., n_findings, 3) counts."""
    per = _f1(counts[..., 0], counts[..., 1], counts[..., 2])
    defined = np.isfinite(per)
    with np.errstate(invalid="ignore"):
        macro = np.where(
            defined.any(axis=-1),
            np.nansum(np.where(defined, per, 0.0), axis=-1) / np.maximum(defined.sum(axis=-1), 1),
            np.nan,
        )
    total = counts.sum(axis=-2)
    micro = _f1(total[..., 0], total[..., 1], total[..., 2])
    return macro, micro


def _percentile(reps: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN replicates (NaN if all are NaN)."""
    alpha = 1.0 - confidence
    finite = np.isfinite(reps)
    low = np.full(reps.shape[1:], np.nan)
    high = np.full(reps.shape[1:], np.nan)
    for idx in np.ndindex(*reps.shape[1:]):
        col = reps[(slice(None), *idx)][finite[(slice(None), *idx)]]
        if len(col):
            low[idx], high[idx] = np.quantile(col, [alpha / 2, 1 - alpha / 2])
    return low, high


def finding_performance(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    case: str = "case_id",
    finding: str = "finding",
    truth: str = "truth",
    present: str = "present",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and F1 of each reader for each finding.

    With the counts of the module docstring, ``sensitivity = TP/(TP+FN)``,
    ``specificity = TN/(TN+FP)``, ``PPV = TP/(TP+FP)``, each with the Clopper-Pearson
    interval ``[B(α/2; k, n-k+1), B(1-α/2; k+1, n-k)]`` (R ``binom.test``), and
    ``F1 = 2TP/(2TP+FP+FN)`` with the percentile interval of ``n_boot`` case-bootstrap
    replicates (the reader's cases drawn with replacement; replicates where F1 is
    undefined are left out).

    Parameters
    ----------
    df : DataFrame
        One row per reader x case x finding with the truth and the reader's label (0/1).
    reader, case, finding, truth, present : str
        Column names.
    confidence : float
        Two-sided level of the intervals, default 0.95.
    n_boot : int
        Bootstrap replicates of the F1 interval (≥ 1).
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``.

    Returns
    -------
    DataFrame
        Columns ``reader, finding, measure, n, tp, fp, fn, tn, statistic, ci_low, ci_high,
        note``, one row per reader x finding x measure (``sensitivity, specificity, ppv,
        f1``). A measure with a zero denominator (no positive case, no positive label) is
        NaN with a ``note`` saying why, never a number.

    Raises
    ------
    ValueError
        Naming the argument: a missing column, labels other than 0/1, a reader x case x
        finding repeated, ``confidence`` or ``n_boot`` out of range.

    References
    ----------
    Clopper & Pearson (1934); Van Rijsbergen (1979); Efron & Tibshirani (1993), ch. 13.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.findings import finding_performance
    >>> df = pd.DataFrame({
    ...     "reader_id": "A", "case_id": list(range(10)), "finding": "mass",
    ...     "truth":   [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    ...     "present": [1, 1, 1, 1, 0, 1, 0, 0, 0, 0],
    ... })
    >>> res = finding_performance(df, n_boot=200, seed=1)
    >>> print(res[["measure", "tp", "fp", "fn", "tn", "statistic", "ci_low", "ci_high"]]
    ...       .round(3).to_string(index=False))
        measure  tp  fp  fn  tn  statistic  ci_low  ci_high
    sensitivity   4   1   1   4        0.8   0.284    0.995
    specificity   4   1   1   4        0.8   0.284    0.995
            ppv   4   1   1   4        0.8   0.284    0.995
             f1   4   1   1   4        0.8   0.500    1.000
    """
    confidence = check_confidence(confidence)
    cols = {"reader": reader, "case": case, "finding": finding, "truth": truth}
    cols["present"] = present
    frame, _ = _frame(df, cols, n_boot=n_boot)
    rng = _rng(seed)
    rows: list[dict[str, object]] = []
    for rdr, mine in frame.groupby("reader", sort=False):
        cases = pd.Index(pd.unique(mine["case"]))
        findings = pd.Index(pd.unique(mine["finding"]))
        cells = _cells(mine, cases, findings)
        reps = _boot_counts([cells], int(n_boot), rng)[0]
        f1_low, f1_high = _percentile(_f1(reps[..., 0], reps[..., 1], reps[..., 2]), confidence)
        for j, fnd in enumerate(findings):
            sub = mine[mine["finding"] == fnd]
            t = sub["truth"].to_numpy(dtype=bool)
            p = sub["present"].to_numpy(dtype=bool)
            tp, fp = int((t & p).sum()), int((~t & p).sum())
            fn, tn = int((t & ~p).sum()), int((~t & ~p).sum())
            counts = {"n": len(sub), "tp": tp, "fp": fp, "fn": fn, "tn": tn}
            props = proportion_ci([tp, tn, tp], [tp + fn, tn + fp, tp + fp], confidence=confidence)
            notes = (
                "no case with the finding: sensitivity undefined",
                "no case without the finding: specificity undefined",
                "no positive label: PPV undefined",
            )
            for i, measure in enumerate(FINDING_MEASURES[:3]):
                undefined = props["trials"].iloc[i] == 0
                rows.append(
                    {
                        "reader": rdr,
                        "finding": fnd,
                        "measure": measure,
                        **counts,
                        "statistic": float(props["statistic"].iloc[i]),
                        "ci_low": float(props["ci_low"].iloc[i]),
                        "ci_high": float(props["ci_high"].iloc[i]),
                        "note": notes[i] if undefined else "",
                    }
                )
            f1 = float(_f1(np.array(tp), np.array(fp), np.array(fn)))
            rows.append(
                {
                    "reader": rdr,
                    "finding": fnd,
                    "measure": "f1",
                    **counts,
                    "statistic": f1,
                    "ci_low": float(f1_low[j]) if np.isfinite(f1) else np.nan,
                    "ci_high": float(f1_high[j]) if np.isfinite(f1) else np.nan,
                    "note": "" if np.isfinite(f1) else "no positive case or label: F1 undefined",
                }
            )
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def finding_f1_summary(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    case: str = "case_id",
    finding: str = "finding",
    truth: str = "truth",
    present: str = "present",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Macro- and micro-averaged F1 of each reader over the findings, with bootstrap CIs.

    ``micro F1 = 2ΣTP/(2ΣTP+ΣFP+ΣFN)`` over the findings; ``macro F1 = (1/K) Σ_k F1_k``
    over the ``K`` findings whose F1 is defined. The interval is the percentile interval of
    ``n_boot`` case-bootstrap replicates (a drawn case brings all its findings).

    Parameters
    ----------
    df, reader, case, finding, truth, present, confidence, n_boot, seed
        As :func:`finding_performance`.

    Returns
    -------
    DataFrame
        Columns ``reader, measure, n, n_findings, statistic, ci_low, ci_high, note``, two
        rows per reader (``macro_f1``, ``micro_f1``); ``n`` is the number of cases,
        ``n_findings`` of findings with a defined F1 (macro) or labelled (micro).

    Raises
    ------
    ValueError
        As :func:`finding_performance`.

    References
    ----------
    Van Rijsbergen (1979); Yu et al. (2023); Efron & Tibshirani (1993), ch. 13.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.findings import finding_f1_summary
    >>> df = pd.DataFrame({
    ...     "reader_id": "A", "case_id": list(range(6)) * 2,
    ...     "finding": ["mass"] * 6 + ["washout"] * 6,
    ...     "truth":   [1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1],
    ...     "present": [1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0],
    ... })
    >>> res = finding_f1_summary(df, n_boot=200, seed=1)
    >>> print(res[["measure", "n", "statistic"]].round(3).to_string(index=False))
     measure  n  statistic
    macro_f1  6      0.667
    micro_f1  6      0.667
    """
    confidence = check_confidence(confidence)
    cols = {"reader": reader, "case": case, "finding": finding, "truth": truth}
    cols["present"] = present
    frame, _ = _frame(df, cols, n_boot=n_boot)
    rng = _rng(seed)
    rows: list[dict[str, object]] = []
    for rdr, mine in frame.groupby("reader", sort=False):
        cases = pd.Index(pd.unique(mine["case"]))
        findings = pd.Index(pd.unique(mine["finding"]))
        cells = _cells(mine, cases, findings)
        point = cells.sum(axis=0)
        reps = _boot_counts([cells], int(n_boot), rng)[0]
        values = _averages(point)
        boots = _averages(reps)
        defined = int(np.isfinite(_f1(point[:, 0], point[:, 1], point[:, 2])).sum())
        for measure, value, boot, k in zip(
            F1_AVERAGES, values, boots, (defined, len(findings)), strict=True
        ):
            low, high = _percentile(boot[:, None], confidence)
            ok = bool(np.isfinite(value))
            rows.append(
                {
                    "reader": rdr,
                    "measure": measure,
                    "n": len(cases),
                    "n_findings": k,
                    "statistic": float(value),
                    "ci_low": float(low[0]) if ok else np.nan,
                    "ci_high": float(high[0]) if ok else np.nan,
                    "note": "" if ok else "no positive case or label of any finding: F1 undefined",
                }
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def compare_finding_f1(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    case: str = "case_id",
    finding: str = "finding",
    truth: str = "truth",
    present: str = "present",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Paired bootstrap difference of macro and micro F1 between every two readers.

    On the case x finding cells both readers labelled, ``d = F1_a − F1_b`` (macro and
    micro, as :func:`finding_f1_summary`); the common cases are drawn with replacement,
    the same draw for both readers, and ``d*`` recomputed. The interval is the percentile
    interval of ``d*`` and the two-sided p value
    ``p = min(1, 2 · min((#{d* ≤ 0} + 1)/(B + 1), (#{d* ≥ 0} + 1)/(B + 1)))``.

    Parameters
    ----------
    df, reader, case, finding, truth, present, confidence, n_boot, seed
        As :func:`finding_performance`.

    Returns
    -------
    DataFrame
        Columns ``reader_a, reader_b, measure, n, statistic, ci_low, ci_high, p_value,
        note``, two rows (``macro_f1``, ``micro_f1``) per pair of readers in order of
        appearance; ``n`` is the number of common cases. A pair without a common cell, or
        whose difference is undefined, has NaN and a note.

    Raises
    ------
    ValueError
        As :func:`finding_performance`.

    References
    ----------
    Efron & Tibshirani (1993), ch. 16; Koehn P (2004). Statistical significance tests for
    machine translation evaluation. Proc. EMNLP, 388-395.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.findings import compare_finding_f1
    >>> truth = [1, 1, 1, 1, 0, 0, 0, 0]
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8, "case_id": list(range(8)) * 2,
    ...     "finding": "mass", "truth": truth * 2,
    ...     "present": truth + [1, 0, 0, 0, 1, 0, 0, 0],
    ... })
    >>> res = compare_finding_f1(df, n_boot=500, seed=1)
    >>> print(res[["reader_a", "reader_b", "measure", "n", "statistic"]]
    ...       .round(3).to_string(index=False))
    reader_a reader_b  measure  n  statistic
           A        B macro_f1  8      0.667
           A        B micro_f1  8      0.667
    """
    confidence = check_confidence(confidence)
    cols = {"reader": reader, "case": case, "finding": finding, "truth": truth}
    cols["present"] = present
    frame, _ = _frame(df, cols, n_boot=n_boot)
    rng = _rng(seed)
    alpha = 1.0 - confidence
    readers = list(pd.unique(frame["reader"]))
    rows: list[dict[str, object]] = []
    for a, b in combinations(readers, 2):
        fa = frame[frame["reader"] == a]
        fb = frame[frame["reader"] == b]
        common = fa.merge(fb[["case", "finding"]], on=["case", "finding"])
        fb = fb.merge(fa[["case", "finding"]], on=["case", "finding"])
        if common.empty:
            for measure in F1_AVERAGES:
                rows.append(
                    {
                        "reader_a": a,
                        "reader_b": b,
                        "measure": measure,
                        "n": 0,
                        "statistic": np.nan,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "p_value": np.nan,
                        "note": "no case x finding labelled by both readers",
                    }
                )
            continue
        cases = pd.Index(pd.unique(common["case"]))
        findings = pd.Index(pd.unique(common["finding"]))
        ca, cb = _cells(common, cases, findings), _cells(fb, cases, findings)
        ra, rb = _boot_counts([ca, cb], int(n_boot), rng)
        point = np.array(_averages(ca.sum(axis=0))) - np.array(_averages(cb.sum(axis=0)))
        reps = np.stack(_averages(ra), axis=1) - np.stack(_averages(rb), axis=1)
        for i, measure in enumerate(F1_AVERAGES):
            d = reps[:, i][np.isfinite(reps[:, i])]
            ok = bool(np.isfinite(point[i])) and len(d) > 0
            if ok:
                low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2])
                n_b = len(d)
                p = min(
                    1.0,
                    2 * min((np.sum(d <= 0) + 1) / (n_b + 1), (np.sum(d >= 0) + 1) / (n_b + 1)),
                )
            rows.append(
                {
                    "reader_a": a,
                    "reader_b": b,
                    "measure": measure,
                    "n": len(cases),
                    "statistic": float(point[i]),
                    "ci_low": float(low) if ok else np.nan,
                    "ci_high": float(high) if ok else np.nan,
                    "p_value": float(p) if ok else np.nan,
                    "note": "" if ok else "F1 undefined for a reader: no difference",
                }
            )
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
