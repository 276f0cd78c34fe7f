"""Diagnostic accuracy at a category threshold, paired McNemar tests and baseline tables.

A reading is a *positive call* when ``category >= threshold`` (BI-RADS 4 and above in the
worked example). From the positive calls and the binary truth of each case we count true
and false positives and negatives per reader and estimate sensitivity, specificity,
accuracy, PPV and NPV with binomial confidence intervals.

Everything here is plain numpy/pandas/scipy and takes long DataFrames (one row per
reader x case), as the rest of :mod:`analysis.stats`.

References
----------
Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. *Biometrika*, 26(4), 404-413.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *Journal of the American Statistical Association*, 22(158), 209-212.

McNemar, Q. (1947). Note on the sampling error of the difference between correlated
proportions or percentages. *Psychometrika*, 12(2), 153-157.

Fisher, R. A. (1922). On the interpretation of chi-square from contingency tables, and
the calculation of P. *Journal of the Royal Statistical Society*, 85(1), 87-94.

Agresti, A. (2013). *Categorical Data Analysis* (3rd ed.). Wiley. (Sections 3.5, 5.2.)
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)
from analysis.stats.choices import PROPORTION_CI_METHODS

CiMethod = Literal["exact", "wilson"]
CI_METHODS = PROPORTION_CI_METHODS
TestChoice = Literal["auto", "chi-square", "fisher"]

METRICS: tuple[str, ...] = ("sensitivity", "specificity", "accuracy", "ppv", "npv")

# Relative tolerance with which tables "as probable as the observed one" are counted in
# the exact Fisher test, as in R's fisher.test (relErr = 1 + 1e-7).
_FISHER_REL_ERR = 1e-7
# Largest half-enumeration of the exact 2 x c Fisher test before the Monte Carlo fallback.
_FISHER_MAX_HALF = 2_000_000


# --------------------------------------------------------------------------------------
# binomial confidence intervals
# --------------------------------------------------------------------------------------


def proportion_ci(
    successes: np.ndarray | list[int] | int,
    trials: np.ndarray | list[int] | int,
    *,
    confidence: float = 0.95,
    method: CiMethod = "exact",
) -> pd.DataFrame:
    """Estimate binomial proportions with a confidence interval (vectorised).

    Parameters
    ----------
    successes, trials : array_like of int
        Counts ``k`` and ``n`` with ``0 <= k <= n``; broadcast against each other.
    confidence : float
        Two-sided confidence level, default 0.95.
    method : {"exact", "wilson"}
        ``"exact"``: Clopper-Pearson interval from beta quantiles,
        ``[B(a/2; k, n-k+1), B(1-a/2; k+1, n-k)]`` with the lower limit 0 when ``k = 0``
        and the upper limit 1 when ``k = n`` (R ``binom.test``).
        ``"wilson"``: Wilson score interval without continuity correction,
        ``(p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``, with the limits set
        to exactly 0 (``k = 0``) and 1 (``k = n``) (R ``prop.test(correct = FALSE)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``successes, trials, statistic, ci_low, ci_high`` (``statistic`` is the
        proportion ``k / n``). For ``n = 0`` the
        estimate and both limits are NaN: the proportion is undefined (0/0), and R's
        ``binom.test`` and ``prop.test`` refuse ``n = 0`` rather than return an interval.

    References
    ----------
    Clopper & Pearson (1934), *Biometrika* 26, 404-413; Wilson (1927), *JASA* 22, 209-212.

    Examples
    --------
    >>> from analysis.stats.diagnostic import proportion_ci
    >>> print(proportion_ci([8, 0], [10, 5]).round(3).to_string(index=False))
     successes  trials  statistic  ci_low  ci_high
             8      10        0.8   0.444    0.975
             0       5        0.0   0.000    0.522
    >>> print(proportion_ci(8, 10, method="wilson").round(3).to_string(index=False))
     successes  trials  statistic  ci_low  ci_high
             8      10        0.8    0.49    0.943

    (R: ``binom.test(8, 10)`` gives 0.444-0.975, ``binom.test(0, 5)`` 0-0.522 and
    ``prop.test(8, 10, correct = FALSE)`` 0.490-0.943.)
    """
    confidence = check_confidence(confidence)
    if method not in CI_METHODS:
        raise ValueError(f"method: expected 'exact' or 'wilson', got {method!r}")
    k_in, n_in = np.broadcast_arrays(np.asarray(successes), np.asarray(trials))
    k = np.atleast_1d(k_in).astype(float)
    n = np.atleast_1d(n_in).astype(float)
    if np.isnan(k).any() or np.isnan(n).any():
        raise ValueError("successes: counts must not be NaN")
    if (k < 0).any() or (k > n).any() or (k != np.round(k)).any() or (n != np.round(n)).any():
        raise ValueError("successes: counts must be integers with 0 <= successes <= trials")
    alpha = 1.0 - confidence
    empty = n == 0
    safe_n = np.where(empty, 1.0, n)
    est = np.where(empty, np.nan, k / safe_n)
    if method == "exact":
        with np.errstate(invalid="ignore", divide="ignore"):
            low = np.where(k > 0, special.betaincinv(k, safe_n - k + 1, alpha / 2), 0.0)
            high = np.where(k < n, special.betaincinv(k + 1, safe_n - k, 1 - alpha / 2), 1.0)
    else:
        z = stats.norm.ppf(1 - alpha / 2)
        p = k / safe_n
        z22n = z * z / (2 * safe_n)
        half = z * np.sqrt(p * (1 - p) / safe_n + z22n / (2 * safe_n))
        low = np.where(k > 0, (p + z22n - half) / (1 + 2 * z22n), 0.0)
        high = np.where(k < n, (p + z22n + half) / (1 + 2 * z22n), 1.0)
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return pd.DataFrame(
        {
            "successes": k.astype(int),
            "trials": n.astype(int),
            "statistic": est,
            "ci_low": low,
            "ci_high": high,
        }
    )


# --------------------------------------------------------------------------------------
# confusion counts and diagnostic performance
# --------------------------------------------------------------------------------------


def _readings(
    df: object,
    *,
    truth: str,
    category: str,
    reader: str,
    case: str,
    nan_policy: NanPolicy,
) -> pd.DataFrame:
    """Validate readings and return columns ``reader, case, truth (bool), category``."""
    frame = require_frame(df)
    require_columns(frame, {"truth": truth, "category": category, "reader": reader, "case": case})
    frame = apply_nan_policy(frame, [truth, category, reader, case], nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"reader": reader, "case": case})
    out = pd.DataFrame(
        {
            "reader": frame[reader].to_numpy(),
            "case": frame[case].to_numpy(),
            "truth": binary_truth(frame[truth], arg="truth"),
            "category": require_numeric(frame, category, arg="category"),
        }
    )
    per_case = out.groupby("case", sort=False)["truth"].nunique()
    if (per_case > 1).any():
        raise ValueError(
            f"truth: {int((per_case > 1).sum())} case(s) have a different truth for different readers"
        )
    return out


def confusion_counts(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    category: str = "category",
    reader: str = "reader_id",
    case: str = "case_id",
    threshold: float = 4,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Count true/false positives/negatives per reader at a category threshold.

    A reading is a positive call when ``category >= threshold``. ``tp`` counts positive
    calls on cases with ``truth == 1``, ``fp`` positive calls on ``truth == 0``, ``tn``
    negative calls on ``truth == 0`` and ``fn`` negative calls on ``truth == 1``.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case (resolve repeated runs first, e.g. with
        :func:`analysis.stats.consensus.consensus`).
    truth, category, reader, case : str
        Column names. ``truth`` holds 0/1; ``category`` is numeric.
    threshold : float
        Smallest category that is a positive call (default 4, BI-RADS 4).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN in one of the columns.

    Returns
    -------
    pandas.DataFrame
        One row per reader (sorted), columns ``reader, n, tp, fp, tn, fn``.

    *Output contract.* Not a DataFrame of estimates: counts; :func:`diagnostic_performance` gives the
    proportions with their CIs.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.diagnostic import confusion_counts
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
    ...     "category": [5, 4, 4, 2, 3, 2, 1, 4, 5, 5, 3, 2, 2, 2, 1, 1],
    ... })
    >>> print(confusion_counts(df, threshold=4).to_string(index=False))
    reader  n  tp  fp  tn  fn
         A  8   3   1   3   1
         B  8   2   0   4   2
    """
    data = _readings(
        df, truth=truth, category=category, reader=reader, case=case, nan_policy=nan_policy
    )
    return _counts(data, threshold)


def _counts(data: pd.DataFrame, threshold: float) -> pd.DataFrame:
    call = data["category"].to_numpy() >= threshold
    t = data["truth"].to_numpy()
    cells = pd.DataFrame(
        {
            "reader": data["reader"].to_numpy(),
            "tp": (call & t).astype(int),
            "fp": (call & ~t).astype(int),
            "tn": (~call & ~t).astype(int),
            "fn": (~call & t).astype(int),
        }
    )
    out = cells.groupby("reader", sort=True).sum().reset_index()
    out.insert(1, "n", out[["tp", "fp", "tn", "fn"]].sum(axis=1))
    return out


def diagnostic_performance(
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
    """Sensitivity, specificity, accuracy, PPV and NPV per reader with confidence intervals.

    With the counts of :func:`confusion_counts`:

    - sensitivity = tp / (tp + fn)
    - specificity = tn / (tn + fp)
    - accuracy = (tp + tn) / n
    - PPV = tp / (tp + fp)
    - NPV = tn / (tn + fn)

    each with a binomial interval on its own denominator (:func:`proportion_ci`,
    Clopper-Pearson by default, Wilson with ``method="wilson"``). A metric whose
    denominator is 0 (e.g. PPV of a reader who never calls positive) is NaN with a NaN
    interval.

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
        Interval method (default Clopper-Pearson exact).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        One row per reader (sorted) with the fixed columns ``reader, n, tp, fp, tn, fn``
        and, for each metric ``m`` in ``sensitivity, specificity, accuracy, ppv, npv``,
        ``m, m_ci_low, m_ci_high``.

    References
    ----------
    Clopper & Pearson (1934), *Biometrika* 26, 404-413. Altman, D. G., & Bland, J. M.
    (1994). Diagnostic tests 1: sensitivity and specificity. *BMJ*, 308, 1552.

    *Output contract.* Wide by design (results.json and the tables read it so): one
    row per reader with, for each of the five proportions, ``m, m_ci_low, m_ci_high``
    -- the contract's ``statistic, ci_low, ci_high`` per metric, computed by :func:`proportion_ci` (which follows the contract) at
    ``confidence=``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.diagnostic import diagnostic_performance
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
    ...     "category": [5, 4, 4, 2, 3, 2, 1, 4, 5, 5, 3, 2, 2, 2, 1, 1],
    ... })
    >>> res = diagnostic_performance(df, threshold=4)
    >>> cols = ["reader", "sensitivity", "sensitivity_ci_low", "sensitivity_ci_high", "specificity"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader  sensitivity  sensitivity_ci_low  sensitivity_ci_high  specificity
         A         0.75               0.194                0.994         0.75
         B         0.50               0.068                0.932         1.00
    """
    check_confidence(confidence)
    data = _readings(
        df, truth=truth, category=category, reader=reader, case=case, nan_policy=nan_policy
    )
    out = _counts(data, threshold)
    tp, fp, tn, fn = (out[c].to_numpy() for c in ("tp", "fp", "tn", "fn"))
    parts = {
        "sensitivity": (tp, tp + fn),
        "specificity": (tn, tn + fp),
        "accuracy": (tp + tn, tp + fp + tn + fn),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
    }
    for name, (k, n) in parts.items():
        ci = proportion_ci(k, n, confidence=confidence, method=method)
        out[name] = ci["statistic"].to_numpy()
        out[f"{name}_ci_low"] = ci["ci_low"].to_numpy()
        out[f"{name}_ci_high"] = ci["ci_high"].to_numpy()
    return out


# --------------------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------------------


def mcnemar_counts(b: np.ndarray, c: np.ndarray) -> pd.DataFrame:
    """McNemar statistics from the discordant counts ``b`` and ``c`` (vectorised).

    - ``statistic = (b - c)^2 / (b + c)``, chi-square with 1 df;
    - ``statistic_corrected = (|b - c| - 1)^2 / (b + c)`` (Edwards' continuity
      correction), applied as R ``mcnemar.test`` does only when ``b != c`` (when
      ``b == c`` the corrected statistic is 0);
    - ``p_exact``: two-sided exact binomial test of ``b`` successes in ``b + c`` trials
      with probability 1/2, ``min(1, 2 P(X <= min(b, c)))`` (R ``binom.test``).

    With no discordant pair (``b + c = 0``) both chi-square statistics and their p values
    are NaN, as in R (0/0), and ``p_exact`` is 1 (the conditional distribution has all its
    mass on the observed table; R's ``binom.test`` refuses ``n = 0``).

    Returns
    -------
    pandas.DataFrame
        Columns ``b, c, statistic, p_value, statistic_corrected, p_corrected, p_exact``
        (``statistic`` is the uncorrected chi-square, ``p_value`` its p value).

    Examples
    --------
    >>> from analysis.stats.diagnostic import mcnemar_counts
    >>> print(mcnemar_counts([6, 3], [1, 3]).round(3).to_string(index=False))
     b  c  statistic  p_value  statistic_corrected  p_corrected  p_exact
     6  1      3.571    0.059                2.286        0.131    0.125
     3  3      0.000    1.000                0.000        1.000    1.000
    """
    b = np.atleast_1d(np.asarray(b, dtype=float))
    c = np.atleast_1d(np.asarray(c, dtype=float))
    total = b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        chi = (b - c) ** 2 / total
        yates = np.where(b != c, 1.0, 0.0)
        chi_c = (np.abs(b - c) - yates) ** 2 / total
    p = stats.chi2.sf(chi, 1)
    p_c = stats.chi2.sf(chi_c, 1)
    p_exact = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(b, c), total, 0.5))
    p_exact = np.where(total == 0, 1.0, p_exact)
    return pd.DataFrame(
        {
            "b": b.astype(int),
            "c": c.astype(int),
            "statistic": chi,
            "p_value": p,
            "statistic_corrected": chi_c,
            "p_corrected": p_c,
            "p_exact": p_exact,
        }
    )


def mcnemar_test(
    df: pd.DataFrame,
    *,
    reader_a: object,
    reader_b: object,
    truth: str = "truth",
    category: str = "category",
    reader: str = "reader_id",
    case: str = "case_id",
    threshold: float = 4,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """McNemar tests of sensitivity and of specificity between two readers on the same cases.

    Sensitivity is compared on the positive cases (correct = positive call), specificity
    on the negative cases (correct = negative call). ``b`` counts cases that reader A
    got right and reader B wrong, ``c`` the reverse; the statistics are those of
    :func:`mcnemar_counts`.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    reader_a, reader_b : object
        The two reader ids (values of the ``reader`` column). Both must have read exactly
        the same cases.
    truth, category, reader, case : str
        Column names.
    threshold : float
        Smallest category that is a positive call.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        Two rows (``metric`` = ``"sensitivity"``, ``"specificity"``) with the columns
        ``metric, reader_a, reader_b, n, estimate_a, estimate_b, difference, b, c,
        statistic, p_value, statistic_corrected, p_corrected, p_exact`` where
        ``difference = estimate_a - estimate_b = (b - c) / n``.

    References
    ----------
    McNemar (1947), *Psychometrika* 12, 153-157. Edwards, A. L. (1948). Note on the
    "correction for continuity" in testing the significance of the difference between
    correlated proportions. *Psychometrika*, 13, 185-187.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.diagnostic import mcnemar_test
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
    ...     "category": [5, 4, 4, 2, 3, 2, 1, 4, 5, 5, 3, 2, 2, 2, 1, 1],
    ... })
    >>> res = mcnemar_test(df, reader_a="A", reader_b="B", threshold=4)
    >>> cols = ["metric", "difference", "b", "c", "statistic", "p_value", "p_exact"]
    >>> print(res[cols].round(3).to_string(index=False))
         metric  difference  b  c  statistic  p_value  p_exact
    sensitivity        0.25  1  0        1.0    0.317      1.0
    specificity       -0.25  0  1        1.0    0.317      1.0
    """
    data = _readings(
        df, truth=truth, category=category, reader=reader, case=case, nan_policy=nan_policy
    )
    if reader_a == reader_b:
        raise ValueError("reader_b: must differ from reader_a")
    wide = {}
    for arg, rid in (("reader_a", reader_a), ("reader_b", reader_b)):
        sub = data[data["reader"] == rid]
        if sub.empty:
            raise ValueError(f"{arg}: reader {rid!r} has no readings")
        wide[arg] = sub.set_index("case")
    a, b_ = wide["reader_a"], wide["reader_b"]
    if set(a.index) != set(b_.index):
        raise ValueError(
            f"reader_b: readers {reader_a!r} and {reader_b!r} must have read the same cases"
        )
    b_ = b_.loc[a.index]
    t = a["truth"].to_numpy()
    call_a = a["category"].to_numpy() >= threshold
    call_b = b_["category"].to_numpy() >= threshold
    rows = []
    for metric, subset, correct_a, correct_b in (
        ("sensitivity", t, call_a, call_b),
        ("specificity", ~t, ~call_a, ~call_b),
    ):
        ca, cb = correct_a[subset], correct_b[subset]
        n = int(subset.sum())
        rows.append(
            {
                "metric": metric,
                "reader_a": reader_a,
                "reader_b": reader_b,
                "n": n,
                "estimate_a": ca.mean() if n else np.nan,
                "estimate_b": cb.mean() if n else np.nan,
                "b": int((ca & ~cb).sum()),
                "c": int((~ca & cb).sum()),
            }
        )
    out = pd.DataFrame(rows)
    out.insert(6, "difference", out["estimate_a"] - out["estimate_b"])
    tests = mcnemar_counts(out["b"].to_numpy(), out["c"].to_numpy())
    for col in ("statistic", "p_value", "statistic_corrected", "p_corrected", "p_exact"):
        out[col] = tests[col].to_numpy()
    return out


# --------------------------------------------------------------------------------------
# Baseline table: a categorical case attribute by truth (Table 3 of the worked example)
# --------------------------------------------------------------------------------------


@overload
def _log_choose(n: float, k: float) -> float: ...
@overload
def _log_choose(n: float | np.ndarray, k: np.ndarray) -> np.ndarray: ...
def _log_choose(n: float | np.ndarray, k: float | np.ndarray) -> float | np.ndarray:
    """``log C(n, k)``, elementwise for arrays."""
    out = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


def _half_tables(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All first-row fillings of the columns ``cols``: (row sum, log weight)."""
    sums = np.zeros(1, dtype=np.int64)
    logw = np.zeros(1)
    for size in cols:
        x = np.arange(size + 1)
        sums = (sums[:, None] + x[None, :]).ravel()
        logw = (logw[:, None] + _log_choose(float(size), x.astype(float))[None, :]).ravel()
    return sums, logw


def fisher_exact_2xc(table: np.ndarray) -> tuple[float, str]:
    """Two-sided Fisher exact test for a 2 x c table (p value and the method used).

    Under independence with fixed margins the first row ``x`` of the table is
    multivariate hypergeometric, ``P(x) = prod_j C(c_j, x_j) / C(N, r_1)``. The p value
    sums ``P`` over all tables with ``P <= P(observed) (1 + 1e-7)`` (R ``fisher.test``).
    The tables are enumerated exactly by splitting the columns into two halves and
    joining the half-tables with equal row sums on sorted log weights (meet in the
    middle). If a half would hold more than two million partial tables the p value is
    instead estimated from 100,000 Monte Carlo tables with a fixed seed
    (``scipy.stats.fisher_exact`` with ``MonteCarloMethod``) and the method is reported
    as ``"fisher-monte-carlo"``.

    *Output contract.* Not a DataFrame of estimates: an array building block returning
    ``(p value, method)``; :func:`attribute_by_truth` gives it in its ``p_value``
    column.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.diagnostic import fisher_exact_2xc
    >>> p, method = fisher_exact_2xc(np.array([[3, 1, 4], [1, 5, 2]]))
    >>> round(p, 4), method
    (0.2308, 'fisher')
    """
    tab = np.asarray(table, dtype=np.int64)
    if tab.ndim != 2 or tab.shape[0] != 2:
        raise ValueError("table: expected a 2 x c table of counts")
    keep = tab.sum(axis=0) > 0
    tab = tab[:, keep]
    if tab.shape[1] < 2 or (tab.sum(axis=1) == 0).any():
        return 1.0, "fisher"
    cols = tab.sum(axis=0)
    r1 = int(tab[0].sum())
    n = int(cols.sum())
    # balance the two halves by the number of partial tables
    order = np.argsort(-cols)
    half_a: list[int] = []
    half_b: list[int] = []
    size_a = size_b = 0.0
    for j in order:
        if size_a <= size_b:
            half_a.append(int(j))
            size_a += np.log(cols[j] + 1.0)
        else:
            half_b.append(int(j))
            size_b += np.log(cols[j] + 1.0)
    if max(size_a, size_b) > np.log(_FISHER_MAX_HALF):
        res = stats.fisher_exact(
            tab, method=stats.MonteCarloMethod(n_resamples=100_000, rng=np.random.default_rng(0))
        )
        return float(res.pvalue), "fisher-monte-carlo"
    log_total = float(_log_choose(float(n), float(r1)))
    observed = float(_log_choose(cols.astype(float), tab[0].astype(float)).sum())
    limit = observed + np.log1p(_FISHER_REL_ERR)
    sum_a, logw_a = _half_tables(cols[half_a])
    sum_b, logw_b = _half_tables(cols[half_b])
    # join the halves on equal row sums: for each row sum of B, sort its log weights
    # ascending and sum, for every matching A row, the B tables with
    # logw_a + logw_b <= limit. Sums run per segment with the segment's own scale, so the
    # small tail probabilities are not lost to cancellation.
    need = r1 - sum_a
    p_value = 0.0
    for s_b in np.unique(sum_b):
        rows_a = need == s_b
        if not rows_a.any():
            continue
        seg = np.sort(logw_b[sum_b == s_b])
        top = seg[-1]
        csum = np.concatenate(([0.0], np.cumsum(np.exp(seg - top))))
        cut = np.searchsorted(seg, limit - logw_a[rows_a], side="right")
        p_value += float(np.sum(np.exp(logw_a[rows_a] + top - log_total) * csum[cut]))
    return min(1.0, p_value), "fisher"


def attribute_by_truth(
    df: pd.DataFrame,
    *,
    attribute: str,
    truth: str = "truth",
    case: str = "case_id",
    reference: object | None = None,
    test: TestChoice = "auto",
    correction: bool = False,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Compare a categorical case attribute between positive and negative cases.

    For each level of ``attribute``: the number of positive and of negative cases with
    that level and its percentage within each truth class (Table 3 of the worked
    example); a test of independence of level and truth; and a univariate logistic
    regression of truth on the attribute.

    *Test.* Pearson's chi-square test on the 2 x L table (``correction=True`` applies
    Yates' correction when L = 2, as R ``chisq.test``'s default), or Fisher's exact test
    (:func:`fisher_exact_2xc`, R ``fisher.test``). ``test="auto"`` uses Fisher when any
    expected count ``row total x column total / N`` is below 5, else chi-square.

    *Logistic regression.* ``logit P(truth = 1) = b0 + sum_l b_l [level = l]`` with
    ``reference`` as the baseline. With one categorical predictor the model is saturated
    in the levels, so the maximum-likelihood fit reproduces each level's observed odds
    ``y_l / m_l`` (y positives, m negatives) and everything has a closed form
    (identical to R ``glm(family = binomial)``):

    - odds ratio ``OR_l = (y_l / m_l) / (y_ref / m_ref)``;
    - Wald SE of ``log OR_l``: ``sqrt(1/y_l + 1/m_l + 1/y_ref + 1/m_ref)``, interval
      ``exp(log OR_l +/- z SE)`` and Wald p (R ``confint.default``, ``summary``);
    - likelihood-ratio test against the intercept-only model,
      ``G = 2 sum O log(O / E)`` on ``L - 1`` df (R ``anova(fit, test = "LRT")``).

    Where the level or the reference has no positive or no negative case the maximum
    likelihood estimate does not exist (separation): the odds ratio, its interval and
    its p value are NaN for that level (R would report a huge, meaningless estimate).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per case.
    attribute : str
        Column of the categorical attribute. A pandas ``Categorical`` keeps its level
        order (unused levels are dropped); other columns are sorted.
    truth, case : str
        Column names (truth 0/1; case ids must be unique).
    reference : object, optional
        Baseline level of the logistic regression (default: the first level).
    test : {"auto", "chi-square", "fisher"}
        Test of independence (see above).
    correction : bool
        Yates' continuity correction for a 2 x 2 chi-square test (default False: the
        plain Pearson statistic, as SPSS's "Pearson Chi-Square").
    confidence : float
        Confidence level of the odds-ratio intervals.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN in ``attribute``, ``truth`` or ``case``.

    Returns
    -------
    pandas.DataFrame
        One row per level, columns ``attribute, level, n_positive, percent_positive,
        n_negative, percent_negative, odds_ratio, odds_ratio_ci_low, odds_ratio_ci_high,
        odds_ratio_p, test, statistic, df, p_value, lr_statistic, lr_df, lr_p``. The reference
        level has odds ratio 1 and NaN interval and p. The test columns (``test,
        statistic, df, p``; ``statistic`` and ``df`` are NaN for Fisher) and the
        likelihood-ratio columns are the same on every row. Percentages are 0-100.

    References
    ----------
    Agresti (2013), *Categorical Data Analysis*, 3rd ed., sections 3.5 (Fisher's exact
    test for I x J tables) and 5.2 (logistic regression with categorical predictors).
    Cochran, W. G. (1954). Some methods for strengthening the common chi-square tests.
    *Biometrics*, 10(4), 417-451.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.diagnostic import attribute_by_truth
    >>> df = pd.DataFrame({
    ...     "case_id": range(12),
    ...     "truth": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    ...     "density": ["a", "b", "b", "c", "c", "a", "a", "a", "b", "b", "c", "a"],
    ... })
    >>> res = attribute_by_truth(df, attribute="density")
    >>> cols = ["level", "n_positive", "n_negative", "odds_ratio", "test", "p_value"]
    >>> print(res[cols].round(3).to_string(index=False))
    level  n_positive  n_negative  odds_ratio   test  p_value
        a           1           4         1.0 fisher     0.47
        b           2           2         4.0 fisher     0.47
        c           2           1         8.0 fisher     0.47
    """
    confidence = check_confidence(confidence)
    if test not in ("auto", "chi-square", "fisher"):
        raise ValueError(f"test: expected 'auto', 'chi-square' or 'fisher', got {test!r}")
    frame = require_frame(df)
    require_columns(frame, {"attribute": attribute, "truth": truth, "case": case})
    frame = apply_nan_policy(frame, [attribute, truth, case], nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"case": case})
    t = binary_truth(frame[truth], arg="truth")
    if t.all() or not t.any():
        raise ValueError("truth: needs both positive (1) and negative (0) cases")
    col = frame[attribute]
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col.unique())
        levels = [lv for lv in col.cat.categories if lv in present]
    else:
        levels = sorted(col.unique())
    if len(levels) < 2:
        raise ValueError(f"attribute: column {attribute!r} needs at least two levels")
    codes = pd.Categorical(col, categories=levels).codes
    pos = np.bincount(codes[t], minlength=len(levels)).astype(float)
    neg = np.bincount(codes[~t], minlength=len(levels)).astype(float)
    table = np.vstack([pos, neg])

    # test of independence
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    use = test if test != "auto" else ("fisher" if (expected < 5).any() else "chi-square")
    if use == "chi-square":
        res = stats.chi2_contingency(table, correction=correction)
        test_name, statistic, dof, p = (
            "chi-square",
            float(res.statistic),
            float(res.dof),
            float(res.pvalue),
        )
    else:
        p, test_name = fisher_exact_2xc(table.astype(np.int64))
        statistic, dof = np.nan, np.nan

    # likelihood-ratio test of the saturated logistic model (G statistic)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(table > 0, table * np.log(table / expected), 0.0)
    lr = 2.0 * float(terms.sum())
    lr_df = len(levels) - 1
    lr_p = float(stats.chi2.sf(lr, lr_df))

    # odds ratios against the reference level
    if reference is None:
        ref = 0
    elif reference in levels:
        ref = levels.index(reference)
    else:
        raise ValueError(f"reference: {reference!r} is not a level of {attribute!r}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        empty = (pos == 0) | (neg == 0)
        bad = empty | empty[ref]
        log_or = np.log(pos / neg) - np.log(pos[ref] / neg[ref])
        se = np.sqrt(1 / pos + 1 / neg + 1 / pos[ref] + 1 / neg[ref])
        odds_ratio = np.where(bad, np.nan, np.exp(log_or))
        ci_low = np.where(bad, np.nan, np.exp(log_or - z * se))
        ci_high = np.where(bad, np.nan, np.exp(log_or + z * se))
        or_p = np.where(bad, np.nan, 2 * stats.norm.sf(np.abs(log_or / se)))
    odds_ratio[ref], ci_low[ref], ci_high[ref], or_p[ref] = 1.0, np.nan, np.nan, np.nan
    return pd.DataFrame(
        {
            "attribute": attribute,
            "level": levels,
            "n_positive": pos.astype(int),
            "percent_positive": 100 * pos / pos.sum(),
            "n_negative": neg.astype(int),
            "percent_negative": 100 * neg / neg.sum(),
            "odds_ratio": odds_ratio,
            "odds_ratio_ci_low": ci_low,
            "odds_ratio_ci_high": ci_high,
            "odds_ratio_p": or_p,
            "test": test_name,
            "statistic": statistic,
            "df": dof,
            "p_value": p,
            "lr_statistic": lr,
            "lr_df": lr_df,
            "lr_p": lr_p,
        }
    )
