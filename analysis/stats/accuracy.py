"""Accuracy summaries of a 2 x 2 table and paired differences between two readers.

From the counts ``tp, fp, fn, tn`` of one reader at a category threshold
(:func:`analysis.stats.diagnostic.confusion_counts`) we estimate the positive and negative
likelihood ratios, the diagnostic odds ratio and Youden's J with the intervals of R's
``epiR::epi.tests``; for two readers on the same cases, the difference in sensitivity and
in specificity with Newcombe's paired score interval and McNemar's test.

Pure numpy/pandas/scipy (no Django), as the rest of :mod:`analysis.stats`.

References
----------
Simel, D. L., Samsa, G. P., & Matchar, D. B. (1991). Likelihood ratios with confidence:
sample size estimation for diagnostic test studies. *Journal of Clinical Epidemiology*,
44(8), 763-770.

Glas, A. S., Lijmer, J. G., Prins, M. H., Bonsel, G. J., & Bossuyt, P. M. M. (2003). The
diagnostic odds ratio: a single indicator of test performance. *Journal of Clinical
Epidemiology*, 56(11), 1129-1135.

Youden, W. J. (1950). Index for rating diagnostic tests. *Cancer*, 3(1), 32-35.

Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial
proportions based on paired data. *Statistics in Medicine*, 17(22), 2635-2650.

Stevenson, M., & Sergeant, E. (2024). *epiR: Tools for the analysis of epidemiological
data* (R package version 2.0.57), function ``epi.tests``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.stats._checks import NanPolicy, check_confidence
from analysis.stats.diagnostic import CiMethod, confusion_counts, mcnemar_test, proportion_ci

PairedMethod = Literal["newcombe", "tango"]

MEASURES: tuple[str, ...] = ("lr_positive", "lr_negative", "diagnostic_odds_ratio", "youden_j")

ACCURACY_COLUMNS: list[str] = ["measure", "statistic", "ci_low", "ci_high"]

PAIRED_COLUMNS: list[str] = [
    "metric",
    "reader_a",
    "reader_b",
    "n",
    "estimate_a",
    "estimate_b",
    "statistic",
    "ci_low",
    "ci_high",
    "b",
    "c",
    "mcnemar_statistic",
    "p_value",
]


def _counts(name: str, values: object) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if np.isnan(arr).any() or (arr < 0).any() or (arr != np.round(arr)).any():
        raise ValueError(f"{name}: counts must be non-negative integers")
    return arr


def accuracy_summaries(
    tp: np.ndarray | list[int] | int,
    fp: np.ndarray | list[int] | int,
    fn: np.ndarray | list[int] | int,
    tn: np.ndarray | list[int] | int,
    *,
    confidence: float = 0.95,
    method: CiMethod = "exact",
) -> pd.DataFrame:
    """LR+, LR-, diagnostic odds ratio and Youden's J of 2 x 2 tables (as ``epiR::epi.tests``).

    With sensitivity ``Se = tp / (tp + fn)`` (``n1 = tp + fn`` diseased), specificity
    ``Sp = tn / (tn + fp)`` (``n0 = tn + fp`` healthy) and ``z`` the normal quantile:

    - ``LR+ = Se / (1 - Sp)``, interval ``exp(log LR+ +/- z sqrt((1-Se)/(n1 Se) +
      Sp/(n0 (1-Sp))))`` (Simel et al. 1991, the delta method on the log);
    - ``LR- = (1 - Se) / Sp``, interval ``exp(log LR- +/- z sqrt(Se/(n1 (1-Se)) +
      (1-Sp)/(n0 Sp)))``;
    - ``DOR = tp tn / (fp fn)``, interval ``exp(log DOR +/- z sqrt(1/tp + 1/fp + 1/fn +
      1/tn))`` (Woolf's logit interval; Glas et al. 2003);
    - ``J = Se + Sp - 1`` (Youden 1950), interval from the binomial limits of Se and Sp
      (``method``): ``[min, max]`` of ``Se_low + Sp_low - 1`` and ``Se_high + Sp_high - 1``,
      as epiR does (conservative; not a coverage-calibrated interval of a difference).

    A ratio whose denominator is 0 (e.g. LR+ when ``Sp = 1``, DOR when ``fp`` or ``fn`` is
    0) is NaN; a log interval whose standard error is undefined (a zero cell it divides
    by, e.g. LR- when ``Se = 1``) has NaN limits. epiR returns ``Inf``/``NaN`` there; no
    continuity correction is added (add 0.5 to every cell yourself if you want one).

    Parameters
    ----------
    tp, fp, fn, tn : array_like of int
        Cell counts (broadcast against each other), each non-negative.
    confidence : float
        Two-sided confidence level (default 0.95).
    method : {"exact", "wilson"}
        Binomial interval of Se and Sp used for Youden's J (epiR ``method = "exact"`` or
        ``"wilson"``).

    Returns
    -------
    pandas.DataFrame
        Four rows per table (``table`` = its position, ``measure`` in ``lr_positive,
        lr_negative, diagnostic_odds_ratio, youden_j``), columns ``table, measure,
        statistic, ci_low, ci_high``.

    References
    ----------
    Simel, Samsa & Matchar (1991), *J Clin Epidemiol* 44, 763-770; Glas et al. (2003),
    *J Clin Epidemiol* 56, 1129-1135; Youden (1950), *Cancer* 3, 32-35; epiR ``epi.tests``.

    Examples
    --------
    >>> from analysis.stats.accuracy import accuracy_summaries
    >>> print(accuracy_summaries(670, 202, 74, 640).round(3).to_string(index=False))
     table               measure  statistic  ci_low  ci_high
         0           lr_positive      3.754   3.321    4.243
         0           lr_negative      0.131   0.105    0.163
         0 diagnostic_odds_ratio     28.686  21.518   38.242
         0              youden_j      0.661   0.607    0.710

    (R: ``epi.tests(as.table(matrix(c(670, 202, 74, 640), nrow = 2, byrow = TRUE)))``.)
    """
    confidence = check_confidence(confidence)
    cells = np.broadcast_arrays(
        _counts("tp", tp), _counts("fp", fp), _counts("fn", fn), _counts("tn", tn)
    )
    a, b, c, d = (np.asarray(x, dtype=float) for x in cells)
    n1, n0 = a + c, b + d
    if (n1 == 0).any():
        raise ValueError("tp: every table needs at least one diseased case (tp + fn > 0)")
    if (n0 == 0).any():
        raise ValueError("tn: every table needs at least one healthy case (tn + fp > 0)")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    se, sp = a / n1, d / n0
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_pos = np.where(sp < 1, se / (1 - sp), np.nan)
        lr_pos_se = np.sqrt((1 - se) / (n1 * se) + sp / (n0 * (1 - sp)))
        lr_neg = np.where(sp > 0, (1 - se) / sp, np.nan)
        lr_neg_se = np.sqrt(se / (n1 * (1 - se)) + (1 - sp) / (n0 * sp))
        dor = np.where((b > 0) & (c > 0), a * d / (b * c), np.nan)
        dor_se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    se_ci = proportion_ci(a, n1, confidence=confidence, method=method)
    sp_ci = proportion_ci(d, n0, confidence=confidence, method=method)
    j1 = se_ci["ci_low"].to_numpy() + sp_ci["ci_low"].to_numpy() - 1
    j2 = se_ci["ci_high"].to_numpy() + sp_ci["ci_high"].to_numpy() - 1

    def log_ci(est: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(sd) & np.isfinite(est) & (est > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(ok, np.exp(np.log(est) - z * sd), np.nan)
            high = np.where(ok, np.exp(np.log(est) + z * sd), np.nan)
        return low, high

    parts = {
        "lr_positive": (lr_pos, *log_ci(lr_pos, lr_pos_se)),
        "lr_negative": (lr_neg, *log_ci(lr_neg, lr_neg_se)),
        "diagnostic_odds_ratio": (dor, *log_ci(dor, dor_se)),
        "youden_j": (se + sp - 1, np.minimum(j1, j2), np.maximum(j1, j2)),
    }
    rows = [
        {
            "table": i,
            "measure": name,
            "statistic": float(est[i]),
            "ci_low": float(low[i]),
            "ci_high": float(high[i]),
        }
        for i in range(len(a))
        for name, (est, low, high) in parts.items()
    ]
    return pd.DataFrame(rows, columns=["table", *ACCURACY_COLUMNS])


def accuracy_summary(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    category: str = "category",
    reader: str = "reader_id",
    case: str = "case_id",
    threshold: float = 4,
    confidence: float = 0.95,
    method: CiMethod = "exact",
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """LR+, LR-, diagnostic odds ratio and Youden's J per reader at a category threshold.

    The counts are those of :func:`analysis.stats.diagnostic.confusion_counts`
    (positive call when ``category >= threshold``); the estimates and intervals those of
    :func:`accuracy_summaries` (``LR+ = Se/(1-Sp)``, ``LR- = (1-Se)/Sp``,
    ``DOR = tp tn/(fp fn)`` with log intervals, ``J = Se + Sp - 1``).

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    truth, category, reader, case : str
        Column names.
    threshold : float
        Smallest category that is a positive call (default 4).
    confidence : float
        Confidence level (default 0.95).
    method : {"exact", "wilson"}
        Binomial interval of Se and Sp used for Youden's J.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        Four rows per reader (sorted), columns ``reader, measure, statistic, ci_low,
        ci_high``.

    References
    ----------
    Simel et al. (1991); Glas et al. (2003); Youden (1950); epiR ``epi.tests``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.accuracy import accuracy_summary
    >>> df = pd.DataFrame({
    ...     "reader_id": "A",
    ...     "case_id": range(10),
    ...     "truth": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    ...     "category": [5, 4, 4, 4, 2, 4, 3, 2, 1, 2],
    ... })
    >>> print(accuracy_summary(df).round(3).to_string(index=False))
    reader               measure  statistic  ci_low  ci_high
         A           lr_positive       4.00   0.657   24.369
         A           lr_negative       0.25   0.041    1.523
         A diagnostic_odds_ratio      16.00   0.722  354.803
         A              youden_j       0.60  -0.433    0.990
    """
    check_confidence(confidence)
    counts = confusion_counts(
        df,
        truth=truth,
        category=category,
        reader=reader,
        case=case,
        threshold=threshold,
        nan_policy=nan_policy,
    )
    out = accuracy_summaries(
        counts["tp"].to_numpy(),
        counts["fp"].to_numpy(),
        counts["fn"].to_numpy(),
        counts["tn"].to_numpy(),
        confidence=confidence,
        method=method,
    )
    out.insert(0, "reader", counts["reader"].to_numpy()[out["table"].to_numpy()])
    return out.drop(columns="table")


# --------------------------------------------------------------------------------------
# paired differences (Newcombe 1998, method 10)
# --------------------------------------------------------------------------------------


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe_paired_ci(
    both: np.ndarray | list[int] | int,
    only_a: np.ndarray | list[int] | int,
    only_b: np.ndarray | list[int] | int,
    neither: np.ndarray | list[int] | int,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Newcombe's score interval for the difference of two paired proportions (method 10).

    Of ``n = both + only_a + only_b + neither`` pairs, ``p_a = (both + only_a) / n`` and
    ``p_b = (both + only_b) / n``; the difference is ``D = p_a - p_b = (only_a - only_b) / n``.
    With the Wilson limits ``[l_a, u_a]`` and ``[l_b, u_b]`` of the two margins and the
    corrected phi coefficient of the 2 x 2 table, ``phi = A* / sqrt(m)`` with
    ``m = (both+only_a)(only_b+neither)(both+only_b)(only_a+neither)``,
    ``A = both neither - only_a only_b`` and ``A* = A - n/2`` if ``A > n/2``, 0 if
    ``0 <= A <= n/2``, ``A`` if ``A < 0`` (``phi = 0`` when a margin is 0),

    - ``ci_low = D - sqrt((p_a - l_a)^2 - 2 phi (p_a - l_a)(u_b - p_b) + (u_b - p_b)^2)``
    - ``ci_high = D + sqrt((u_a - p_a)^2 - 2 phi (u_a - p_a)(p_b - l_b) + (p_b - l_b)^2)``

    (Newcombe 1998, method 10: Wilson limits without continuity correction, phi
    corrected as in the paper, as also in Altman et al. 2000 and Fagerland et al. 2017).
    The limits are truncated to ``[-1, 1]``.
    ``p_value`` is McNemar's test without continuity correction,
    ``(only_a - only_b)^2 / (only_a + only_b)`` on 1 df (1 when there is no discordant
    pair).

    Parameters
    ----------
    both, only_a, only_b, neither : array_like of int
        Counts of pairs where both, only A, only B and neither have the attribute
        (e.g. both readers correct, only reader A correct, ...).
    confidence : float
        Two-sided confidence level (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per table: ``n, estimate_a, estimate_b, statistic`` (= ``D``), ``ci_low,
        ci_high, mcnemar_statistic, p_value``.

    References
    ----------
    Newcombe, R. G. (1998). *Statistics in Medicine* 17, 2635-2650 (method 10).
    McNemar, Q. (1947). *Psychometrika* 12, 153-157.

    Examples
    --------
    >>> from analysis.stats.accuracy import newcombe_paired_ci
    >>> print(newcombe_paired_ci(12, 9, 2, 21).round(4).to_string(index=False))
     n  estimate_a  estimate_b  statistic  ci_low  ci_high  mcnemar_statistic  p_value
    44      0.4773      0.3182     0.1591  0.0112   0.2954             4.4545   0.0348

    (An invented table. Fagerland, Lydersen & Laake 2017, ch. 8, "Newcombe
    square-and-add", is the same formula: their Cavo example ``(59, 6, 16, 80)`` gives
    -0.0621 (-0.1186 to -0.0046) here as there.)
    """
    confidence = check_confidence(confidence)
    cells = np.broadcast_arrays(
        _counts("both", both),
        _counts("only_a", only_a),
        _counts("only_b", only_b),
        _counts("neither", neither),
    )
    e, f, g, h = (np.asarray(x, dtype=float) for x in cells)
    n = e + f + g + h
    if (n == 0).any():
        raise ValueError("both: every table needs at least one pair")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    pa, pb = (e + f) / n, (e + g) / n
    la, ua = _wilson(e + f, n, z)
    lb, ub = _wilson(e + g, n, z)
    denom = (e + f) * (g + h) * (e + g) * (f + h)
    cross = e * h - f * g
    # Newcombe's corrected phi: A - n/2 when A > n/2, 0 when 0 <= A <= n/2, A when A < 0.
    cross = np.where(cross > n / 2, cross - n / 2, np.where(cross >= 0, 0.0, cross))
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(denom > 0, cross / np.sqrt(denom), 0.0)
    diff = pa - pb
    dl = np.sqrt(np.maximum((pa - la) ** 2 - 2 * phi * (pa - la) * (ub - pb) + (ub - pb) ** 2, 0))
    du = np.sqrt(np.maximum((ua - pa) ** 2 - 2 * phi * (ua - pa) * (pb - lb) + (pb - lb) ** 2, 0))
    disc = f + g
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(disc > 0, (f - g) ** 2 / disc, 0.0)
    return pd.DataFrame(
        {
            "n": n.astype(int),
            "estimate_a": pa,
            "estimate_b": pb,
            "statistic": diff,
            "ci_low": np.maximum(diff - dl, -1.0),
            "ci_high": np.minimum(diff + du, 1.0),
            "mcnemar_statistic": chi,
            "p_value": np.where(disc > 0, stats.chi2.sf(chi, 1), 1.0),
        }
    )


def _tango_bounds(b: float, c: float, n: float, z: float) -> tuple[float, float]:
    diff = (b - c) / n

    def score(delta: float) -> float:
        w = -b - c + (2 * n - b + c) * delta
        q21 = (np.sqrt(max(w * w + 8 * n * c * delta * (1 - delta), 0.0)) - w) / (4 * n)
        var = n * (2 * q21 + delta * (1 - delta))
        num = b - c - n * delta
        if num == 0:
            return 0.0
        if var <= 0:
            return float(np.sign(num)) * np.inf
        return float(num / np.sqrt(var))

    eps = 1e-12
    low = -1.0
    if score(-1 + eps) > z and diff > -1:
        low = float(optimize.brentq(lambda d: score(d) - z, -1 + eps, diff, xtol=1e-14))
    high = 1.0
    if score(1 - eps) < -z and diff < 1:
        high = float(optimize.brentq(lambda d: score(d) + z, diff, 1 - eps, xtol=1e-14))
    return low, high


def tango_paired_ci(
    both: np.ndarray | list[int] | int,
    only_a: np.ndarray | list[int] | int,
    only_b: np.ndarray | list[int] | int,
    neither: np.ndarray | list[int] | int,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Tango's score interval for the difference of two paired proportions.

    With ``b = only_a``, ``c = only_b``, ``n`` pairs and ``D = (b - c) / n``, the interval
    is ``{Δ : |Z(Δ)| <= z_{1-α/2}}`` with the score statistic
    ``Z(Δ) = (b - c - nΔ) / sqrt(n (2 q̂(Δ) + Δ(1 - Δ)))`` and ``q̂(Δ)`` the maximum
    likelihood estimate of the probability of the ``only_b`` cell under the constraint
    ``p_a - p_b = Δ``,
    ``q̂ = (sqrt(W² + 8 n c Δ(1 - Δ)) - W) / (4n)``, ``W = -b - c + (2n - b + c)Δ``
    (Tango 1998). The limits are found by root finding and lie in ``[-1, 1]``;
    ``p_value`` is McNemar's test without continuity correction (Tango's Z at ``Δ = 0``).

    Parameters
    ----------
    both, only_a, only_b, neither : array_like of int
        Counts of pairs (see :func:`newcombe_paired_ci`).
    confidence : float
        Two-sided confidence level (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per table, the columns of :func:`newcombe_paired_ci`.

    References
    ----------
    Tango, T. (1998). Equivalence test and confidence interval for the difference in
    proportions for the paired-sample design. *Statistics in Medicine*, 17(8), 891-908.

    Examples
    --------
    >>> from analysis.stats.accuracy import tango_paired_ci
    >>> print(tango_paired_ci(59, 6, 16, 80).round(4).to_string(index=False))
      n  estimate_a  estimate_b  statistic  ci_low  ci_high  mcnemar_statistic  p_value
    161      0.4037      0.4658    -0.0621  -0.124  -0.0054             4.5455    0.033
    """
    confidence = check_confidence(confidence)
    out = newcombe_paired_ci(both, only_a, only_b, neither, confidence=confidence)
    cells = np.broadcast_arrays(
        _counts("both", both),
        _counts("only_a", only_a),
        _counts("only_b", only_b),
        _counts("neither", neither),
    )
    _, f, g, _ = (np.asarray(x, dtype=float) for x in cells)
    n = out["n"].to_numpy(dtype=float)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    bounds = [_tango_bounds(fi, gi, ni, z) for fi, gi, ni in zip(f, g, n, strict=True)]
    out["ci_low"] = [lo for lo, _ in bounds]
    out["ci_high"] = [hi for _, hi in bounds]
    return out


def paired_accuracy_difference(
    df: pd.DataFrame,
    *,
    reader_a: object,
    reader_b: object,
    truth: str = "truth",
    category: str = "category",
    reader: str = "reader_id",
    case: str = "case_id",
    threshold: float = 4,
    confidence: float = 0.95,
    method: PairedMethod = "newcombe",
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Difference in sensitivity and in specificity between two readers on the same cases.

    On the positive cases a reading is correct when it is a positive call, on the negative
    cases when it is not. Per metric the four counts (both readers correct, only A, only B,
    neither) give the difference ``Se_A - Se_B`` (resp. ``Sp_A - Sp_B``)
    ``= (b - c) / n`` with Newcombe's paired score interval (:func:`newcombe_paired_ci`,
    default) or Tango's score interval (:func:`tango_paired_ci`, ``method="tango"``) and
    McNemar's p value (``b`` = only A correct, ``c`` = only B correct).

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    reader_a, reader_b : object
        The two reader ids; both must have read the same cases.
    truth, category, reader, case : str
        Column names.
    threshold : float
        Smallest category that is a positive call.
    confidence : float
        Confidence level (default 0.95).
    method : {"newcombe", "tango"}
        The paired interval (default Newcombe's method 10).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        Two rows (``metric`` = ``"sensitivity"``, ``"specificity"``), columns
        ``metric, reader_a, reader_b, n, estimate_a, estimate_b, statistic`` (the
        difference A - B), ``ci_low, ci_high, b, c, mcnemar_statistic, p_value``.

    References
    ----------
    Newcombe (1998), *Stat Med* 17, 2635-2650; McNemar (1947).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.accuracy import paired_accuracy_difference
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
    ...     "category": [5, 4, 4, 2, 3, 2, 1, 4, 5, 5, 3, 2, 2, 2, 1, 1],
    ... })
    >>> res = paired_accuracy_difference(df, reader_a="A", reader_b="B")
    >>> print(res[["metric", "statistic", "ci_low", "ci_high", "p_value"]].round(3).to_string(index=False))
         metric  statistic  ci_low  ci_high  p_value
    sensitivity       0.25  -0.320    0.655    0.317
    specificity      -0.25  -0.699    0.281    0.317
    """
    confidence = check_confidence(confidence)
    if method not in ("newcombe", "tango"):
        raise ValueError(f"method: expected 'newcombe' or 'tango', got {method!r}")
    mc = mcnemar_test(
        df,
        reader_a=reader_a,
        reader_b=reader_b,
        truth=truth,
        category=category,
        reader=reader,
        case=case,
        threshold=threshold,
        nan_policy=nan_policy,
    )
    n = mc["n"].to_numpy(dtype=float)
    b = mc["b"].to_numpy(dtype=float)
    c = mc["c"].to_numpy(dtype=float)
    both = np.round(mc["estimate_a"].to_numpy(dtype=float) * n) - b
    neither = n - both - b - c
    interval = newcombe_paired_ci if method == "newcombe" else tango_paired_ci
    ci = interval(both, b, c, neither, confidence=confidence)
    out = pd.DataFrame(
        {
            "metric": mc["metric"].to_numpy(),
            "reader_a": mc["reader_a"].to_numpy(),
            "reader_b": mc["reader_b"].to_numpy(),
            "n": mc["n"].to_numpy(),
            "estimate_a": ci["estimate_a"].to_numpy(),
            "estimate_b": ci["estimate_b"].to_numpy(),
            "statistic": ci["statistic"].to_numpy(),
            "ci_low": ci["ci_low"].to_numpy(),
            "ci_high": ci["ci_high"].to_numpy(),
            "b": mc["b"].to_numpy(),
            "c": mc["c"].to_numpy(),
            "mcnemar_statistic": ci["mcnemar_statistic"].to_numpy(),
            "p_value": ci["p_value"].to_numpy(),
        }
    )
    return out[PAIRED_COLUMNS]
