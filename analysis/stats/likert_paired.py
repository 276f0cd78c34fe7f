"""Paired Likert comparisons of sources rated by the same raters on the same cases.

In a Likert panel every rater scores every source (reader or model output) on the same
cases, so the scores of two sources are *paired* by rater x case. Kruskal-Wallis + Dunn
(:mod:`analysis.stats.likert`, the worked example's method) treat every score as an
independent observation; the tests here use the design:

* :func:`friedman_test`: Friedman's rank test across the k sources, one block per
  rater x case (R ``friedman.test``);
* :func:`paired_comparisons`: for every pair of sources the mean paired difference with a
  two-way (rater x case) cluster bootstrap CI, and the Wilcoxon signed-rank test of the
  block differences (R ``wilcox.test(paired = TRUE)``), Holm-adjusted over the pairs.

*Unit of analysis.* A block is one rater's scores of one case: when a source has several
scores in a block (runs, modalities) they are averaged first (``replicates="mean"``), and
only blocks in which every source was scored are kept (complete blocks). Friedman and
Wilcoxon treat the blocks as independent; the bootstrap resamples raters and cases
(independently, with replacement; the "pigeonhole" bootstrap), so its CI allows for the
correlation of the blocks that share a rater or a case. With few raters (the demo has 3)
the rater dimension of the bootstrap is coarse.

References
----------
Friedman, M. (1937). The use of ranks to avoid the assumption of normality implicit in
the analysis of variance. *JASA*, 32(200), 675-701.

Wilcoxon, F. (1945). Individual comparisons by ranking methods. *Biometrics Bulletin*,
1(6), 80-83.

Owen, A. B. (2007). The pigeonhole bootstrap. *Annals of Applied Statistics*, 1(2),
386-411.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics*, 6(2), 65-70.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

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

__all__ = ["FRIEDMAN_COLUMNS", "PAIRED_COLUMNS", "friedman_test", "paired_comparisons"]

Replicates = Literal["mean", "raise"]

FRIEDMAN_COLUMNS: tuple[str, ...] = (
    "group", "n_blocks", "n_dropped", "k", "statistic", "df", "p_value", "note",
)  # fmt: skip
PAIRED_COLUMNS: tuple[str, ...] = (
    "group", "source_a", "source_b", "n_blocks", "n_raters", "n_cases", "mean_a", "mean_b",
    "statistic", "ci_low", "ci_high", "v", "z", "wilcoxon_method", "n_nonzero", "p_value",
    "p_adjusted", "p_adjust", "note",
)  # fmt: skip


@dataclass(frozen=True)
class _Blocks:
    """Complete blocks of one group: ``values[i, j]`` is source j's score in block i."""

    values: np.ndarray
    raters: np.ndarray  # block -> rater code
    cases: np.ndarray  # block -> case code
    sources: list[object]
    n_dropped: int


def _prepare(
    df: object,
    *,
    source: str,
    rater: str,
    case: str,
    score: str,
    by: str | None,
    low: float,
    high: float,
    nan_policy: NanPolicy,
) -> pd.DataFrame:
    frame = require_frame(df)
    columns = {"source": source, "rater": rater, "case": case, "score": score}
    if by is not None:
        columns["by"] = by
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(columns.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    frame = frame.copy()
    frame[score] = require_numeric(frame, score, arg=f"score={score!r}")
    check_range(frame[score].to_numpy(), low=low, high=high, arg=f"score={score!r}")
    return frame


def _groups(frame: pd.DataFrame, by: str | None) -> list[tuple[object, pd.DataFrame]]:
    if by is None:
        return [(None, frame)]
    return list(frame.groupby(by, sort=True))


def _blocks(
    sub: pd.DataFrame,
    *,
    source: str,
    rater: str,
    case: str,
    score: str,
    order: Sequence[object] | None,
    replicates: Replicates,
    group: object,
) -> _Blocks:
    where = "" if group is None else f" (group {group!r})"
    keys = [rater, case, source]
    if replicates == "raise" and sub.duplicated(keys).any():
        raise ValueError(
            f"df: a source has several scores in one {rater} x {case} block{where}; "
            "pass replicates='mean' to average them"
        )
    wide = sub.groupby(keys, sort=True)[score].mean().unstack(source)
    present = list(wide.columns)
    if order is not None:
        unknown = [s for s in present if s not in list(order)]
        if unknown:
            raise ValueError(f"order: source(s) {unknown} are not listed")
        present = [s for s in order if s in wide.columns]
    wide = wide[present]
    complete = wide.dropna()
    if len(present) < 2:
        raise ValueError(f"{source}: a paired comparison needs at least 2 sources{where}")
    raters, _ = pd.factorize(complete.index.get_level_values(0), sort=True)
    cases, _ = pd.factorize(complete.index.get_level_values(1), sort=True)
    return _Blocks(
        values=complete.to_numpy(dtype=float),
        raters=np.asarray(raters),
        cases=np.asarray(cases),
        sources=present,
        n_dropped=len(wide) - len(complete),
    )


def _check_replicates(replicates: object) -> None:
    if replicates not in ("mean", "raise"):
        raise ValueError(f"replicates: expected 'mean' or 'raise', got {replicates!r}")


def friedman_test(
    df: pd.DataFrame,
    *,
    source: str = "reader_id",
    rater: str = "rater_id",
    case: str = "case_id",
    score: str = "score",
    by: str | None = "domain",
    order: Sequence[object] | None = None,
    replicates: Replicates = "mean",
    low: float = 1,
    high: float = 5,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Friedman's test of the k sources over the rater x case blocks, per group.

    Within each of the n complete blocks the k scores are ranked (average ranks for
    ties); with ``R_j`` source j's rank sum and ``t`` the sizes of the tied groups within
    the blocks,

    .. math::

        Q = \frac{12 \sum_j (R_j - n(k+1)/2)^2}{n k (k+1) - \sum (t^3 - t)/(k - 1)}

    referred to chi-square with k - 1 df: the tie-corrected statistic of R
    ``friedman.test``. A block in which some source has no score is dropped (counted in
    ``n_dropped``). When every block is tied throughout, Q is 0/0: statistic and p are
    NaN with a ``note``.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, one row per rater x source x case (x replicate).
    source, rater, case, score : str
        Columns: what is compared, who scored, what was scored, the score.
    by : str or None
        One test per value of this column (e.g. the Likert domain); ``None`` pools.
    order : sequence, optional
        The sources in display order (default sorted); every source must be listed.
    replicates : {"mean", "raise"}
        Several scores of a source in one block (runs) are averaged, or raise.
    low, high : float
        The Likert range; a score outside it raises ``ValueError``.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN in the named columns.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group, n_blocks, n_dropped, k, statistic, df, p_value,
        note`` (``statistic`` is Q; no CI: ``ci_low``/``ci_high`` do not apply).

    References
    ----------
    Friedman (1937), *JASA* 32, 675-701; Hollander, M., & Wolfe, D. A. (1973).
    *Nonparametric Statistical Methods*, pp. 139-146 (tie correction).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert_paired import friedman_test
    >>> df = pd.DataFrame({
    ...     "rater_id": ["r1"] * 9 + ["r2"] * 9,
    ...     "case_id": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3", "c3"] * 2,
    ...     "reader_id": ["A", "B", "C"] * 6,
    ...     "score": [5, 3, 4, 4, 2, 4, 5, 3, 3, 4, 2, 3, 5, 3, 4, 4, 4, 2],
    ... })
    >>> res = friedman_test(df, by=None)
    >>> print(res[["n_blocks", "k", "statistic", "df", "p_value"]].round(3).to_string(index=False))
     n_blocks  k  statistic  df  p_value
            6  3        8.0   2    0.018
    """
    _check_replicates(replicates)
    frame = _prepare(
        df, source=source, rater=rater, case=case, score=score, by=by, low=low, high=high,
        nan_policy=nan_policy,
    )  # fmt: skip
    rows = []
    for key, sub in _groups(frame, by):
        b = _blocks(
            sub, source=source, rater=rater, case=case, score=score, order=order,
            replicates=replicates, group=key,
        )  # fmt: skip
        n, k = b.values.shape
        q, p, text = np.nan, np.nan, None
        if n == 0:
            text = "no complete block: every block lacks a score of some source"
        else:
            ranks = stats.rankdata(b.values, axis=1)
            ties = 0.0
            for row in b.values:
                _, t = np.unique(row, return_counts=True)
                ties += float((t**3 - t).sum())
            denom = n * k * (k + 1) - ties / (k - 1)
            if denom <= 0:
                text = "every block gives all sources the same score: Friedman's Q is 0/0"
            else:
                q = 12.0 * float(((ranks.sum(axis=0) - n * (k + 1) / 2) ** 2).sum()) / denom
                p = float(stats.chi2.sf(q, k - 1))
        rows.append(
            {
                "group": key,
                "n_blocks": n,
                "n_dropped": b.n_dropped,
                "k": k,
                "statistic": q,
                "df": k - 1,
                "p_value": p,
                "note": text,
            }
        )
    return pd.DataFrame(rows, columns=list(FRIEDMAN_COLUMNS))


def _signed_rank(d: np.ndarray) -> tuple[float, float, float, str, int]:
    """R ``wilcox.test(paired = TRUE)``: (V, z, p, method, n non-zero)."""
    has_zero = bool((d == 0).any())
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return np.nan, np.nan, np.nan, "none", 0
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    _, t = np.unique(np.abs(d), return_counts=True)
    has_ties = bool((t > 1).any())
    if n < 50 and not has_ties and not has_zero:
        res = stats.wilcoxon(d, method="exact")
        return v, np.nan, float(res.pvalue), "exact", n
    mu = n * (n + 1) / 4.0
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24.0 - float((t**3 - t).sum()) / 48.0)
    centred = v - mu
    z = (centred - 0.5 * np.sign(centred)) / sigma
    p = float(min(1.0, 2 * min(stats.norm.cdf(z), stats.norm.sf(z))))
    return v, float(z), p, "normal", n


def _pigeonhole(
    b: _Blocks, *, n_boot: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Bootstrap weights: (n_boot x raters, n_boot x cases) counts, or None if < 2 of either."""
    n_r = int(b.raters.max()) + 1 if len(b.raters) else 0
    n_c = int(b.cases.max()) + 1 if len(b.cases) else 0
    if n_r < 2 or n_c < 2:
        return None
    rng = np.random.default_rng(seed)
    w_r = rng.multinomial(n_r, np.full(n_r, 1.0 / n_r), size=n_boot).astype(float)
    w_c = rng.multinomial(n_c, np.full(n_c, 1.0 / n_c), size=n_boot).astype(float)
    return w_r, w_c


def paired_comparisons(
    df: pd.DataFrame,
    *,
    source: str = "reader_id",
    rater: str = "rater_id",
    case: str = "case_id",
    score: str = "score",
    by: str | None = "domain",
    order: Sequence[object] | None = None,
    replicates: Replicates = "mean",
    p_adjust: PAdjust = "holm",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    low: float = 1,
    high: float = 5,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Every pair of sources: mean paired difference, two-way bootstrap CI, Wilcoxon test.

    For sources a and b and the complete blocks i (rater r(i) x case c(i)), the
    difference is ``d_i = x_ia - x_ib`` and the statistic its mean ``d-bar``. *CI*: the
    pigeonhole (two-way cluster) bootstrap draws raters and cases independently with
    replacement, rater r ``u_r`` times and case c ``w_c`` times, and recomputes

    .. math::

        \bar d^* = \frac{\sum_i u_{r(i)} w_{c(i)} d_i}{\sum_i u_{r(i)} w_{c(i)}}

    (percentile interval of the ``n_boot`` replicates, the same draws for every pair of a
    group; Owen 2007). *Test*: Wilcoxon's signed-rank test of the ``d_i`` as R
    ``wilcox.test(x, y, paired = TRUE)``: zero differences dropped, ``V`` the sum of the
    ranks of the positive |d|, exact p when fewer than 50 non-zero differences and no
    ties or zeros, otherwise the normal approximation with the tie-corrected variance
    ``n(n+1)(2n+1)/24 - sum(t^3 - t)/48`` and continuity correction. ``p_adjusted``
    corrects over the pairs of each group (Holm by default,
    :func:`analysis.stats.multiplicity.adjust_p`). *Sign*: ``source_a`` precedes
    ``source_b`` in ``order``; a positive statistic means a scored higher.

    Degenerate data give a ``note``: fewer than 2 raters or cases (no bootstrap CI), no
    non-zero difference (no test).

    Parameters
    ----------
    df, source, rater, case, score, by, order, replicates, low, high, nan_policy
        As :func:`friedman_test`.
    p_adjust : {"holm", "bonferroni", "fdr", "none"}
        Multiple-comparison adjustment over the pairs of a group.
    confidence : float
        Confidence level of the bootstrap interval.
    n_boot : int
        Bootstrap replicates (at least 200).
    seed : int or None
        Seed of the bootstrap draws (``numpy.random.default_rng``).

    Returns
    -------
    pandas.DataFrame
        One row per group x pair, columns ``group, source_a, source_b, n_blocks,
        n_raters, n_cases, mean_a, mean_b, statistic, ci_low, ci_high, v, z,
        wilcoxon_method, n_nonzero, p_value, p_adjusted, p_adjust, note`` (``statistic``
        is the mean difference a - b, ``v`` Wilcoxon's V, ``z`` its normal score, NaN
        when exact).

    References
    ----------
    Wilcoxon (1945), *Biometrics Bulletin* 1, 80-83; Owen (2007), *Annals of Applied
    Statistics* 1, 386-411; Holm (1979), *Scand J Stat* 6, 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.likert_paired import paired_comparisons
    >>> df = pd.DataFrame({
    ...     "rater_id": ["r1"] * 9 + ["r2"] * 9,
    ...     "case_id": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3", "c3"] * 2,
    ...     "reader_id": ["A", "B", "C"] * 6,
    ...     "score": [5, 3, 4, 4, 2, 4, 5, 3, 3, 4, 2, 3, 5, 3, 4, 4, 4, 2],
    ... })
    >>> res = paired_comparisons(df, by=None, n_boot=500)
    >>> cols = ["source_a", "source_b", "statistic", "v", "p_value", "p_adjusted"]
    >>> print(res[cols].round(3).to_string(index=False))
    source_a source_b  statistic    v  p_value  p_adjusted
           A        B      1.667 15.0    0.037       0.111
           A        C      1.167 15.0    0.053       0.111
           B        C     -0.500  4.5    0.490       0.490
    """
    _check_replicates(replicates)
    check_p_adjust(p_adjust)
    confidence = check_confidence(confidence)
    if int(n_boot) < 200:
        raise ValueError(f"n_boot: at least 200 bootstrap replicates, got {n_boot!r}")
    frame = _prepare(
        df, source=source, rater=rater, case=case, score=score, by=by, low=low, high=high,
        nan_policy=nan_policy,
    )  # fmt: skip
    alpha = 1.0 - confidence
    parts = []
    for key, sub in _groups(frame, by):
        b = _blocks(
            sub, source=source, rater=rater, case=case, score=score, order=order,
            replicates=replicates, group=key,
        )  # fmt: skip
        n_raters, n_cases = len(np.unique(b.raters)), len(np.unique(b.cases))
        weights = _pigeonhole(b, n_boot=int(n_boot), seed=seed) if len(b.values) else None
        rows = []
        for ia, ib in combinations(range(len(b.sources)), 2):
            d = b.values[:, ia] - b.values[:, ib] if len(b.values) else np.empty(0)
            notes: list[str] = []
            lo = hi = np.nan
            if len(d) == 0:
                notes.append("no complete block")
            elif weights is None:
                notes.append("fewer than 2 raters or 2 cases: no two-way bootstrap CI")
            else:
                w_r, w_c = weights
                m = np.zeros((n_raters, n_cases))
                cnt = np.zeros((n_raters, n_cases))
                np.add.at(m, (b.raters, b.cases), d)
                np.add.at(cnt, (b.raters, b.cases), 1.0)
                num = np.einsum("br,rc,bc->b", w_r, m, w_c)
                den = np.einsum("br,rc,bc->b", w_r, cnt, w_c)
                ok = den > 0
                boot = num[ok] / den[ok]
                lo, hi = (float(x) for x in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
            v, z, p, method, n_nonzero = _signed_rank(d)
            if len(d) and n_nonzero == 0:
                notes.append("every paired difference is zero: no Wilcoxon test")
            rows.append(
                {
                    "group": key,
                    "source_a": b.sources[ia],
                    "source_b": b.sources[ib],
                    "n_blocks": len(d),
                    "n_raters": n_raters,
                    "n_cases": n_cases,
                    "mean_a": float(b.values[:, ia].mean()) if len(d) else np.nan,
                    "mean_b": float(b.values[:, ib].mean()) if len(d) else np.nan,
                    "statistic": float(d.mean()) if len(d) else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "v": v,
                    "z": z,
                    "wilcoxon_method": method,
                    "n_nonzero": n_nonzero,
                    "p_value": p,
                    "note": "; ".join(notes) or None,
                }
            )
        part = pd.DataFrame(rows)
        part["p_adjusted"] = adjust_p(part["p_value"].to_numpy(dtype=float), p_adjust)
        part["p_adjust"] = p_adjust
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[list(PAIRED_COLUMNS)]
