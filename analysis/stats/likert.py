"""Likert ratings of reader / model outputs: summaries, Kruskal-Wallis and Dunn's test.

The unit of analysis is one score: one rater's score of one output (reader x case x run)
on one domain. Nothing is averaged before the statistics. Summaries give the mean with a
t-based confidence interval, the median and the quartiles; readers are compared with the
Kruskal-Wallis H test and pairwise with Dunn's test (Bonferroni by default), as in the
worked example (Table 4).

References
----------
Kruskal, W. H., & Wallis, W. A. (1952). Use of ranks in one-criterion variance analysis.
*Journal of the American Statistical Association*, 47(260), 583-621.

Dunn, O. J. (1964). Multiple comparisons using rank sums. *Technometrics*, 6(3), 241-252.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics*, 6(2), 65-70.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    check_confidence,
    check_range,
    require_columns,
    require_frame,
    require_numeric,
)
from analysis.stats.multiplicity import PAdjust, adjust_p, check_p_adjust

__all__ = [
    "adjust_p",
    "dunn_test",
    "kruskal_wallis",
    "likert_by_domain",
    "likert_by_reader",
    "likert_summary",
]

SUMMARY_COLUMNS: tuple[str, ...] = (
    "n",
    "statistic",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "median",
    "q1",
    "q3",
)


def _scores(
    df: object,
    *,
    columns: dict[str, str],
    score: str,
    low: float,
    high: float,
    nan_policy: NanPolicy,
) -> pd.DataFrame:
    frame = require_frame(df)
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(columns.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    frame = frame.copy()
    frame[score] = require_numeric(frame, score, arg=f"score={score!r}")
    check_range(frame[score].to_numpy(), low=low, high=high, arg=f"score={score!r}")
    return frame


def _summarise(frame: pd.DataFrame, by: list[str], score: str, confidence: float) -> pd.DataFrame:
    grouped = frame.groupby(by, sort=True, dropna=False)[score]
    out = grouped.agg(n="count", mean="mean", sd="std", median="median")
    out["q1"] = grouped.quantile(0.25)
    out["q3"] = grouped.quantile(0.75)
    n = out["n"].to_numpy(dtype=float)
    sd = out["sd"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = sd / np.sqrt(n)
        tq = stats.t.ppf(0.5 + confidence / 2, n - 1)
    out["se"] = se
    out["ci_low"] = out["mean"] - tq * se
    out["ci_high"] = out["mean"] + tq * se
    out = out.reset_index().rename(columns={"mean": "statistic"})
    out["n"] = out["n"].astype(int)
    return out[[*by, *SUMMARY_COLUMNS]]


def likert_summary(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str],
    score: str = "score",
    low: float = 1,
    high: float = 5,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Mean with t-based CI, median and quartiles of the scores in each group.

    For the n scores of a group with mean ``x-bar`` and standard deviation ``s`` (n - 1
    denominator): ``CI = x-bar +/- t_{n-1, 1-a/2} s / sqrt(n)`` (R ``t.test``); a group
    with one score has NaN ``sd``, ``se`` and CI, and a group of equal scores a zero-width
    CI. ``median``, ``q1`` and ``q3`` are sample quantiles with linear interpolation
    (R ``quantile(type = 7)``).

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, one row per rater x output x domain.
    by : str or list of str
        Grouping column(s); they are kept, with their names, as the first columns.
    score : str
        Score column.
    low, high : float
        The Likert range; a score outside it raises ``ValueError`` naming the column.
    confidence : float
        Confidence level.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN in ``score`` or a ``by`` column.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted), columns ``*by, n, statistic, sd, se, ci_low, ci_high,
        median, q1, q3``; ``statistic`` is the mean, ``ci_low, ci_high`` its t interval.

    References
    ----------
    Student (1908). The probable error of a mean. *Biometrika*, 6(1), 1-25. Hyndman, R.
    J., & Fan, Y. (1996). Sample quantiles in statistical packages. *The American
    Statistician*, 50(4), 361-365 (definition 7).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert import likert_summary
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
    ...     "run": [1] * 18,
    ...     "domain": ["clarity", "accuracy"] * 9,
    ...     "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    ... })
    >>> res = likert_summary(df, by="domain")
    >>> cols = ["domain", "n", "statistic", "ci_low", "ci_high", "median"]
    >>> print(res[cols].round(3).to_string(index=False))
      domain  n  statistic  ci_low  ci_high  median
    accuracy  9      3.444   2.420    4.469     4.0
     clarity  9      3.556   2.687    4.424     4.0
    """
    confidence = check_confidence(confidence)
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise ValueError("by: name at least one grouping column")
    frame = _scores(
        df,
        columns={"score": score} | {f"by[{i}]": c for i, c in enumerate(by_cols)},
        score=score,
        low=low,
        high=high,
        nan_policy=nan_policy,
    )
    return _summarise(frame, by_cols, score, confidence)


def likert_by_reader(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    run: str | None = "run",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Summary of each reader's scores per run and over all runs (Table 4).

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, run, n, statistic, sd, se, ci_low, ci_high, median, q1, q3``: for
        each reader (sorted) one row per run (sorted) followed by one row over all its
        runs with ``run`` = None. With ``run=None`` only the all-runs rows are returned.
        See :func:`likert_summary` for the statistics.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert import likert_by_reader
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
    ...     "run": [1] * 18,
    ...     "domain": ["clarity", "accuracy"] * 9,
    ...     "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    ... })
    >>> res = likert_by_reader(df)
    >>> cols = ["reader", "run", "n", "statistic", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader  run  n  statistic  ci_low  ci_high
         A    1  6      4.167   3.377    4.957
         A None  6      4.167   3.377    4.957
         B    1  6      2.167   1.377    2.957
         B None  6      2.167   1.377    2.957
         C    1  6      4.167   3.377    4.957
         C None  6      4.167   3.377    4.957
    """
    confidence = check_confidence(confidence)
    columns = {"reader": reader, "score": score}
    if run is not None:
        columns["run"] = run
    frame = _scores(df, columns=columns, score=score, low=low, high=high, nan_policy=nan_policy)
    frame = frame.rename(columns={reader: "reader"} | ({run: "run"} if run else {}))
    overall = _summarise(frame, ["reader"], score, confidence)
    overall.insert(1, "run", None)
    if run is None:
        return overall
    per_run = _summarise(frame, ["reader", "run"], score, confidence).astype({"run": object})
    out = pd.concat([per_run, overall], ignore_index=True)
    out["_all"] = out["run"].isna()
    out = out.sort_values(["reader", "_all"], kind="stable").drop(columns="_all")
    return out.reset_index(drop=True)


def likert_by_domain(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    domain: str = "domain",
    groups: Mapping[str, str] | None = None,
    score: str = "score",
    low: float = 1,
    high: float = 5,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Summary of each reader's scores per domain and per domain group (Fig. 6).

    Parameters
    ----------
    groups : mapping, optional
        Domain key -> group label (e.g. ``{"specific_diagnosis": "Professional
        judgment", ...}`` from ``study.toml``). Every domain in the data must be mapped.
        Without it only the per-domain rows are returned (``group`` None).

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, domain, group, n, statistic, sd, se, ci_low, ci_high, median, q1,
        q3``: one row per reader x domain (with the domain's group), then, when
        ``groups`` is given, one row per reader x group with ``domain`` = None pooling the
        scores of the group's domains. Readers, then rows, are sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert import likert_by_domain
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
    ...     "run": [1] * 18,
    ...     "domain": ["clarity", "accuracy"] * 9,
    ...     "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    ... })
    >>> res = likert_by_domain(df, groups={"clarity": "form", "accuracy": "content"})
    >>> cols = ["reader", "domain", "group", "n", "statistic"]
    >>> print(res.query("reader == 'A'")[cols].round(3).to_string(index=False))
    reader   domain   group  n  statistic
         A accuracy content  3      4.333
         A  clarity    form  3      4.000
         A     None content  3      4.333
         A     None    form  3      4.000
    """
    confidence = check_confidence(confidence)
    frame = _scores(
        df,
        columns={"reader": reader, "domain": domain, "score": score},
        score=score,
        low=low,
        high=high,
        nan_policy=nan_policy,
    )
    frame = frame.rename(columns={reader: "reader", domain: "domain"})
    per_domain = _summarise(frame, ["reader", "domain"], score, confidence)
    if groups is None:
        per_domain.insert(2, "group", None)
        return per_domain
    unmapped = sorted(set(frame["domain"]) - set(groups))
    if unmapped:
        raise ValueError(f"groups: domain(s) {unmapped} have no group")
    per_domain.insert(2, "group", per_domain["domain"].map(groups))
    frame["group"] = frame["domain"].map(groups)
    per_group = _summarise(frame, ["reader", "group"], score, confidence)
    per_group.insert(1, "domain", None)
    out = pd.concat([per_domain.astype({"domain": object}), per_group], ignore_index=True)
    out["_pooled"] = out["domain"].isna()
    out = out.sort_values(["reader", "_pooled"], kind="stable").drop(columns="_pooled")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Kruskal-Wallis and Dunn
# --------------------------------------------------------------------------------------


def _split(frame: pd.DataFrame, run: str | None) -> list[tuple[object, pd.DataFrame]]:
    if run is None:
        return [(None, frame)]
    return list(frame.groupby(run, sort=True))


def kruskal_wallis(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    run: str | None = "run",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Kruskal-Wallis H test of the scores across readers, per run.

    With N scores ranked together (ties get their average rank), ``R_g`` the rank sum and
    ``n_g`` the size of reader g's scores, and ``t`` the sizes of the tied groups:

    .. math::

        H = \frac{\frac{12}{N(N+1)} \sum_g R_g^2 / n_g - 3(N+1)}
        {1 - \sum (t^3 - t) / (N^3 - N)}

    referred to chi-square with k - 1 df (k readers): the tie-corrected statistic of R
    ``kruskal.test`` (and ``scipy.stats.kruskal``). When all scores are equal H is 0/0 and
    H and p are NaN (R gives NaN too).

    Parameters
    ----------
    run : str or None
        One test per value of this column (e.g. output 1, 2, 3 of Table 4); ``None``
        tests all scores together.

    Returns
    -------
    pandas.DataFrame
        One row per run (``run`` None when ``run=None``), columns ``run, n, k, statistic, df,
        p_value`` (``statistic`` is H).

    References
    ----------
    Kruskal & Wallis (1952), *JASA* 47, 583-621.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert import kruskal_wallis
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
    ...     "run": [1] * 18,
    ...     "domain": ["clarity", "accuracy"] * 9,
    ...     "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    ... })
    >>> print(kruskal_wallis(df).round(3).to_string(index=False))
     run  n  k  statistic  df  p_value
       1 18  3     10.798   2    0.005
    """
    columns = {"reader": reader, "score": score} | ({"run": run} if run else {})
    frame = _scores(df, columns=columns, score=score, low=low, high=high, nan_policy=nan_policy)
    rows = []
    for key, sub in _split(frame, run):
        samples = [g[score].to_numpy() for _, g in sub.groupby(reader, sort=True)]
        if len(samples) < 2:
            raise ValueError(
                "reader: Kruskal-Wallis needs at least 2 readers"
                + ("" if key is None else f" (run {key!r})")
            )
        if np.ptp(sub[score].to_numpy()) == 0:
            h, p = np.nan, np.nan
        else:
            res = stats.kruskal(*samples)
            h, p = float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "run": key,
                "n": len(sub),
                "k": len(samples),
                "statistic": h,
                "df": len(samples) - 1,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows, columns=["run", "n", "k", "statistic", "df", "p_value"])


def dunn_test(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    run: str | None = "run",
    score: str = "score",
    p_adjust: PAdjust = "bonferroni",
    low: float = 1,
    high: float = 5,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Dunn's pairwise test of mean ranks between readers, per run.

    All N scores of a run are ranked together (average ranks for ties). For readers a and
    b with mean ranks ``R-bar_a``, ``R-bar_b`` and sizes ``n_a``, ``n_b``:

    .. math::

        z = \frac{\bar R_a - \bar R_b}
        {\sqrt{\left(\frac{N(N+1)}{12} - \frac{\sum (t^3 - t)}{12(N-1)}\right)
        \left(\frac1{n_a} + \frac1{n_b}\right)}}

    (tie-corrected, Dunn 1964), two-sided ``p = 2 P(Z > |z|)``. ``p_adjusted`` corrects
    over the k(k - 1)/2 pairs of the run (Bonferroni by default, as the worked example
    and SPSS's pairwise comparisons after Kruskal-Wallis; or Holm, Benjamini-Hochberg or
    none, :func:`analysis.stats.multiplicity.adjust_p`). *Sign convention*:
    readers are sorted, ``reader_a`` precedes ``reader_b`` and ``z > 0`` means reader_a
    has the higher mean rank (higher scores). R ``dunn.test`` prints one-sided p values
    (``P(Z > |z|)``) by default; these are two-sided.

    Parameters
    ----------
    run : str or None
        One family of comparisons per value of this column; ``None`` pools all scores.
    p_adjust : {"bonferroni", "holm", "fdr", "none"}
        Multiple-comparison adjustment within each run
        (:func:`analysis.stats.multiplicity.adjust_p`).

    Returns
    -------
    pandas.DataFrame
        One row per run x pair, columns ``run, reader_a, reader_b, n_a, n_b,
        mean_rank_a, mean_rank_b, statistic, p_value, p_adjusted`` (``statistic`` is z).

    References
    ----------
    Dunn (1964), *Technometrics* 6, 241-252; Holm (1979), *Scandinavian Journal of
    Statistics* 6, 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert import dunn_test
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
    ...     "run": [1] * 18,
    ...     "domain": ["clarity", "accuracy"] * 9,
    ...     "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    ... })
    >>> res = dunn_test(df)
    >>> cols = ["reader_a", "reader_b", "statistic", "p_value", "p_adjusted"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader_a reader_b  statistic  p_value  p_adjusted
           A        B      2.846    0.004       0.013
           A        C      0.000    1.000       1.000
           B        C     -2.846    0.004       0.013
    """
    check_p_adjust(p_adjust)
    columns = {"reader": reader, "score": score} | ({"run": run} if run else {})
    frame = _scores(df, columns=columns, score=score, low=low, high=high, nan_policy=nan_policy)
    parts = []
    for key, sub in _split(frame, run):
        codes, names = pd.factorize(sub[reader], sort=True)
        k = len(names)
        if k < 2:
            raise ValueError(
                "reader: Dunn's test needs at least 2 readers"
                + ("" if key is None else f" (run {key!r})")
            )
        ranks = stats.rankdata(sub[score].to_numpy())
        n_total = len(ranks)
        _, ties = np.unique(sub[score].to_numpy(), return_counts=True)
        tie_term = (ties**3 - ties).sum() / (12.0 * (n_total - 1))
        sizes = np.bincount(codes, minlength=k).astype(float)
        mean_rank = np.bincount(codes, weights=ranks, minlength=k) / sizes
        ia, ib = np.array(list(combinations(range(k), 2))).T
        var = (n_total * (n_total + 1) / 12.0 - tie_term) * (1 / sizes[ia] + 1 / sizes[ib])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (mean_rank[ia] - mean_rank[ib]) / np.sqrt(var)
        p = 2 * stats.norm.sf(np.abs(z))
        parts.append(
            pd.DataFrame(
                {
                    "run": [key] * len(ia),
                    "reader_a": np.asarray(names)[ia],
                    "reader_b": np.asarray(names)[ib],
                    "n_a": sizes[ia].astype(int),
                    "n_b": sizes[ib].astype(int),
                    "mean_rank_a": mean_rank[ia],
                    "mean_rank_b": mean_rank[ib],
                    "statistic": z,
                    "p_value": p,
                    "p_adjusted": adjust_p(p, p_adjust),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
