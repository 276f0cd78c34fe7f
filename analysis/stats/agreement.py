"""Agreement between readers, between repeated runs and between Likert raters.

- :func:`cohen_kappa` / :func:`cohen_kappa_table`: Cohen's kappa (unweighted, linear or
  quadratic weights) with the large-sample standard error of Fleiss, Cohen & Everitt
  (1969) (inter-observer agreement, e.g. each model against the senior reader).
- :func:`fleiss_kappa`: Fleiss' kappa across the repeated runs of each reader
  (intra-observer agreement) or across several raters, with an analytic and a seeded
  bootstrap confidence interval.
- :func:`krippendorff_alpha`: Krippendorff's alpha (nominal, ordinal, interval, ratio)
  with a unit-bootstrap CI.
- :func:`icc`: the six intraclass correlations of Shrout & Fleiss (1979).
- :func:`interpret_kappa`: the verbal bands of the worked example.

``scale`` in the outputs is ``"category"`` when the full category scale is compared and
``"binary"`` when the categories were first turned into positive calls
(``category >= threshold``).

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
Psychological Measurement*, 20(1), 37-46.

Cohen, J. (1968). Weighted kappa: nominal scale agreement with provision for scaled
disagreement or partial credit. *Psychological Bulletin*, 70(4), 213-220.

Fleiss, J. L., Cohen, J., & Everitt, B. S. (1969). Large sample standard errors of kappa
and weighted kappa. *Psychological Bulletin*, 72(5), 323-327.

Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
*Psychological Bulletin*, 76(5), 378-382.

Fleiss, J. L., Nee, J. C. M., & Landis, J. R. (1979). Large sample variance of kappa in
the case of different sets of raters. *Psychological Bulletin*, 86(5), 974-977.

Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
high agreement. *British Journal of Mathematical and Statistical Psychology*, 61, 29-48.

Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
for Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43

Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. *Psychological Bulletin*, 86(2), 420-428.

McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
correlation coefficients. *Psychological Methods*, 1(1), 30-46.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    require_unique,
)
from analysis.stats.choices import FLEISS_SE_METHODS

Weights = Literal["none", "linear", "quadratic"]
FleissSe = Literal["gwet", "fleiss-nee-landis"]

AlphaLevel = Literal["nominal", "ordinal", "interval", "ratio"]
ALPHA_LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")

#: Upper (inclusive) limits of the kappa bands used by the worked example.
KAPPA_BANDS: tuple[tuple[float, str], ...] = (
    (0.20, "poor"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "good"),
    (np.inf, "excellent"),
)


def interpret_kappa(values: float | Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Verbal band of agreement coefficients.

    The worked example (and docs/statistics.md) uses "<0.20 poor, 0.21-0.40 fair, 0.41-0.60
    moderate, 0.61-0.80 good, 0.81-1.00 excellent". Its printed bands leave gaps between
    two-decimal values, so the limits are taken as inclusive upper bounds on the
    unrounded value: ``k <= 0.20`` poor (including every negative value), ``0.20 < k <=
    0.40`` fair, ``0.40 < k <= 0.60`` moderate, ``0.60 < k <= 0.80`` good, ``k > 0.80``
    excellent. This reproduces the paper's wording (e.g. kappa = 0.60 "moderate", 0.63
    "good"). NaN gives ``None``.

    Returns
    -------
    numpy.ndarray
        Object array of band names (``None`` for NaN), same length as ``values``.

    *Output contract.* Not a DataFrame of estimates: names the band of coefficients
    already estimated (an array of names, not an estimate).

    Examples
    --------
    >>> from analysis.stats.agreement import interpret_kappa
    >>> interpret_kappa([0.1, 0.2, 0.35, 0.6, 0.63, 0.9]).tolist()
    ['poor', 'poor', 'fair', 'moderate', 'good', 'excellent']
    """
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    limits = np.array([limit for limit, _ in KAPPA_BANDS])
    names = np.array([name for _, name in KAPPA_BANDS], dtype=object)
    idx = np.searchsorted(limits, arr, side="left")
    out = names[np.minimum(idx, len(names) - 1)]
    out[np.isnan(arr)] = None
    return out


# --------------------------------------------------------------------------------------
# input helpers
# --------------------------------------------------------------------------------------


def _ratings(
    df: object,
    *,
    columns: dict[str, str],
    rating_kw: str,
    nan_policy: NanPolicy,
    unique: dict[str, str],
) -> pd.DataFrame:
    frame = require_frame(df)
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(columns.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, unique)
    frame = frame.copy()
    frame[columns[rating_kw]] = require_numeric(frame, columns[rating_kw], arg=rating_kw)
    return frame


def _category_set(
    values: np.ndarray,
    *,
    categories: Sequence[float] | None,
    threshold: float | None,
    arg: str,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Return (codes into the category set, the category set, scale name)."""
    if threshold is not None:
        return (values >= threshold).astype(np.int64), np.array([0.0, 1.0]), "binary"
    cats = np.unique(values) if categories is None else np.asarray(categories, dtype=float)
    if categories is not None:
        if np.isnan(cats).any() or len(np.unique(cats)) != len(cats):
            raise ValueError("categories: must be distinct numbers")
        cats = np.sort(cats)
        outside = ~np.isin(values, cats)
        if outside.any():
            raise ValueError(
                f"{arg}: {int(outside.sum())} rating(s) are not in categories {cats.tolist()}"
            )
    return np.searchsorted(cats, values), cats, "category"


def _weight_matrix(k: int, weights: Weights) -> np.ndarray:
    if weights not in ("none", "linear", "quadratic"):
        raise ValueError(f"weights: expected 'none', 'linear' or 'quadratic', got {weights!r}")
    if weights == "none" or k < 2:
        return np.eye(k)
    d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    return 1.0 - d if weights == "linear" else 1.0 - d**2


# --------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------


def _cohen_from_table(
    table: np.ndarray, w: np.ndarray, z: float
) -> tuple[float, float, float, float, float, float]:
    """(po, pe, kappa, se, ci_low, ci_high) from a k x k count table."""
    n = table.sum()
    p = table / n
    row = p.sum(axis=1)
    col = p.sum(axis=0)
    po = float((w * p).sum())
    pe = float((w * np.outer(row, col)).sum())
    if np.isclose(pe, 1.0, rtol=0, atol=1e-12):
        return po, pe, np.nan, np.nan, np.nan, np.nan
    kappa = (po - pe) / (1 - pe)
    wbar_row = w @ col  # w_i. = sum_j p_.j w_ij
    wbar_col = w.T @ row  # w_.j = sum_i p_i. w_ij
    inner = w - np.add.outer(wbar_row, wbar_col) * (1 - kappa)
    first = float((p * inner**2).sum())
    second = float((kappa - pe * (1 - kappa)) ** 2)
    spread = first - second
    # When the variance is 0 the two terms are equal and their difference is rounding
    # noise (~1e-16), which the square root would turn into an SE of ~1e-8 that depends
    # on the order of the readers; such a difference is taken as the 0 it is.
    if spread <= 1e-12 * max(first, second):
        spread = 0.0
    var = spread / (n * (1 - pe) ** 2)
    se = float(np.sqrt(var))
    low = max(-1.0, kappa - z * se)
    high = min(1.0, kappa + z * se)
    return po, pe, float(kappa), se, low, high


def cohen_kappa(
    df: pd.DataFrame,
    *,
    reader_a: object,
    reader_b: object,
    reader: str = "reader_id",
    case: str = "case_id",
    category: str = "category",
    categories: Sequence[float] | None = None,
    threshold: float | None = None,
    weights: Weights = "none",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Cohen's kappa between two readers on the same cases, with a large-sample CI.

    With ``p_ij`` the proportion of cases that reader A put in category i and reader B
    in category j, margins ``p_i.`` and ``p_.j`` and agreement weights ``w_ij``
    (identity when unweighted; linear ``1 - |i-j|/(k-1)``; quadratic
    ``1 - (i-j)^2/(k-1)^2``, where i, j are positions in the sorted category set):

    .. math::

        p_o = \sum w_{ij} p_{ij},\quad p_e = \sum w_{ij} p_{i.} p_{.j},\quad
        \kappa = (p_o - p_e) / (1 - p_e)

    and the large-sample (non-null) variance of Fleiss, Cohen & Everitt (1969)

    .. math::

        \widehat{Var}(\kappa) = \frac{\sum_{ij} p_{ij} [w_{ij} - (\bar w_{i.} +
        \bar w_{.j})(1-\kappa)]^2 - [\kappa - p_e (1-\kappa)]^2}{n (1-p_e)^2},

    with ``w_i. = sum_j p_.j w_ij`` and ``w_.j = sum_i p_i. w_ij``. The CI is
    ``kappa +/- z SE`` clipped to [-1, 1].

    *Category set.* The table is built on a fixed category set: ``categories`` (pass
    the scale's categories, e.g. BI-RADS 0-6, so that a category neither reader used
    still counts) or, when ``None``, the categories observed in the data. The choice
    never changes the unweighted kappa; for weighted kappa an unused category *between*
    used ones widens the distance across it, while unused categories at the ends only
    rescale the disagreement weights, which cancels. With ``threshold`` the readings are
    turned into positive calls (``category >= threshold``) first and the category set is
    {0, 1} (``scale = "binary"``).

    *Degenerate tables.* When both readers put every case in one and the same category,
    ``p_e = 1`` and kappa is undefined (NaN, NaN CI; psych also gives NaN). When only one
    reader is constant, kappa is 0 with SE 0.

    *Agreement with R.* The unweighted kappa, its variance and CI equal
    ``psych::cohen.kappa(x, levels = categories)``; the weighted kappa equals psych's
    (whose default weights are the quadratic ones) and ``vcd::Kappa`` (``"Equal-Spacing"``
    = linear, ``"Fleiss-Cohen"`` = quadratic), and its standard error equals
    ``vcd::Kappa``'s ASE, i.e. the Fleiss-Cohen-Everitt formula above. psych 2.2.9's
    weighted variance differs from that formula: it takes the weight means as
    ``rowSums(w * rs)``, i.e. ``p_i. sum_j w_ij``, instead of ``sum_j w_ij p_j.``, so its
    weighted CI is not used as a reference (its unweighted variance is correct).

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    reader_a, reader_b : object
        The two readers (values of the ``reader`` column); they must have read the same
        cases.
    reader, case, category : str
        Column names.
    categories : sequence of numbers, optional
        The fixed category set (see above).
    threshold : float, optional
        Compare positive calls (``category >= threshold``) instead of categories.
    weights : {"none", "linear", "quadratic"}
        Agreement weights.
    confidence : float
        Confidence level (default 0.95).
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN, and a case read by only one of the two readers, raise
        ``ValueError``. ``"omit"``: rows with NaN are dropped and each pair is computed on
        the cases both readers have.

    Returns
    -------
    pandas.DataFrame
        One row with the columns ``reader_a, reader_b, scale, weights, n,
        observed_agreement, expected_agreement, statistic, se, ci_low, ci_high,
        interpretation``; ``statistic`` is kappa.

    References
    ----------
    Cohen (1960); Cohen (1968); Fleiss, Cohen & Everitt (1969), *Psychological Bulletin*
    72, 323-327; Fleiss, Levin & Paik (2003), *Statistical Methods for Rates and
    Proportions*, 3rd ed., Wiley, section 18.1.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement import cohen_kappa
    >>> df = pd.DataFrame({
    ...     "reader_id": ["a"] * 8 + ["b"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "category": [1, 2, 2, 3, 3, 4, 4, 5, 1, 2, 3, 3, 3, 4, 5, 5],
    ... })
    >>> res = cohen_kappa(df, reader_a="a", reader_b="b", categories=range(1, 6))
    >>> cols = ["n", "statistic", "se", "ci_low", "ci_high", "interpretation"]
    >>> print(res[cols].round(3).to_string(index=False))
     n  statistic    se  ci_low  ci_high interpretation
     8      0.686 0.185   0.323      1.0           good
    >>> res = cohen_kappa(df, reader_a="a", reader_b="b", weights="quadratic")
    >>> round(float(res["statistic"].iloc[0]), 3)
    0.923
    """
    return cohen_kappa_table(
        df,
        pairs=[(reader_a, reader_b)],
        reader=reader,
        case=case,
        category=category,
        categories=categories,
        threshold=threshold,
        weights=weights,
        confidence=confidence,
        nan_policy=nan_policy,
    )


def cohen_kappa_table(
    df: pd.DataFrame,
    *,
    reference: object | None = None,
    pairs: Sequence[tuple[object, object]] | None = None,
    reader: str = "reader_id",
    case: str = "case_id",
    category: str = "category",
    categories: Sequence[float] | None = None,
    threshold: float | None = None,
    weights: Weights = "none",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Cohen's kappa for several pairs of readers (see :func:`cohen_kappa`).

    Pairs are ``pairs`` if given; else, with ``reference``, every other reader (sorted)
    against the reference (``reader_a`` = the reader, ``reader_b`` = the reference, as
    the worked example's "model vs senior radiologist"); else every pair of readers in
    sorted order. Returns one row per pair with the columns of :func:`cohen_kappa`.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement import cohen_kappa_table
    >>> df = pd.DataFrame({
    ...     "reader_id": ["a"] * 8 + ["b"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "category": [1, 2, 2, 3, 3, 4, 4, 5, 1, 2, 3, 3, 3, 4, 5, 5],
    ... })
    >>> res = cohen_kappa_table(df, reference="b", threshold=3)
    >>> cols = ["reader_a", "reader_b", "scale", "statistic", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader_a reader_b  scale  statistic  ci_low  ci_high
           a        b binary      0.714   0.212      1.0

    (7 of 8 calls agree, ``p_e = (5·6 + 3·2) / 64``, so kappa = 0.3125 / 0.4375.)
    """
    z = stats.norm.ppf(0.5 + check_confidence(confidence) / 2)
    w_kind = weights
    frame = _ratings(
        df,
        columns={"reader": reader, "case": case, "category": category},
        rating_kw="category",
        nan_policy=nan_policy,
        unique={"reader": reader, "case": case},
    )
    codes, cats, scale = _category_set(
        frame[category].to_numpy(), categories=categories, threshold=threshold, arg="category"
    )
    k = len(cats)
    w = _weight_matrix(k, w_kind)
    frame = frame.assign(_code=codes)
    readers = sorted(frame[reader].unique())
    if pairs is None:
        if reference is not None:
            if reference not in readers:
                raise ValueError(f"reference: reader {reference!r} has no readings")
            pairs = [(r, reference) for r in readers if r != reference]
        else:
            pairs = list(combinations(readers, 2))
    wide = frame.pivot(index=case, columns=reader, values="_code")
    rows = []
    for a, b in pairs:
        for arg, rid in (("reader_a", a), ("reader_b", b)):
            if rid not in wide.columns:
                raise ValueError(f"{arg}: reader {rid!r} has no readings")
        if a == b:
            raise ValueError("reader_b: must differ from reader_a")
        pair = wide[[a, b]]
        has = pair.notna()
        if (has[a] != has[b]).any() and nan_policy == "raise":
            raise ValueError(
                f"reader_b: readers {a!r} and {b!r} must have read the same cases "
                f"({int((has[a] != has[b]).sum())} case(s) differ)"
            )
        pair = pair[has[a] & has[b]].to_numpy(dtype=np.int64)
        table = np.zeros((k, k))
        np.add.at(table, (pair[:, 0], pair[:, 1]), 1.0)
        po, pe, kappa, se, low, high = _cohen_from_table(table, w, z)
        rows.append(
            {
                "reader_a": a,
                "reader_b": b,
                "scale": scale,
                "weights": w_kind,
                "n": int(table.sum()),
                "observed_agreement": po,
                "expected_agreement": pe,
                "statistic": kappa,
                "se": se,
                "ci_low": low,
                "ci_high": high,
            }
        )
    out = pd.DataFrame(rows)
    out["interpretation"] = interpret_kappa(out["statistic"].to_numpy())
    return out


# --------------------------------------------------------------------------------------
# Fleiss' kappa
# --------------------------------------------------------------------------------------


def _fleiss_point(counts: np.ndarray, m: int) -> tuple[float, float, float]:
    """(P-bar, P_e, kappa) from an N x q matrix of counts with row sums m."""
    n = counts.shape[0]
    p_j = counts.sum(axis=0) / (n * m)
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_bar = float(p_i.mean())
    p_e = float((p_j**2).sum())
    kappa = (p_bar - p_e) / (1 - p_e) if not np.isclose(p_e, 1.0, rtol=0, atol=1e-12) else np.nan
    return p_bar, p_e, float(kappa)


def _pattern_bootstrap(
    counts: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    n_boot: int,
    seed: int | None,
    confidence: float,
    chunk_cells: int,
) -> tuple[float, float]:
    """Percentile CI of a statistic of the rows of ``counts`` over resamples of the rows.

    The statistics here (Fleiss' kappa, Krippendorff's alpha) depend on the rated units
    only through their rows of ``counts``, so units with the same row are
    interchangeable: resampling the N units with replacement is the same in distribution
    as drawing multinomial counts (N trials) over the G distinct rows with probabilities
    proportional to how often each occurs. That is what is drawn, which costs O(n_boot G)
    instead of O(n_boot N) (G is at most the number of ways to spread the ratings of a
    unit over the categories, e.g. 84 for 3 runs on BI-RADS 0-6).
    ``statistic(freq, patterns)`` gets the (chunk, G) resampled frequencies of the (G, q)
    distinct rows; resamples where it is not finite (undefined) are left out.
    """
    if n_boot <= 0 or counts.shape[0] == 0:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    patterns, weights = np.unique(counts, axis=0, return_counts=True)
    n = int(weights.sum())
    probs = weights / n
    values = np.empty(n_boot)
    chunk = max(1, min(n_boot, chunk_cells // max(len(weights), 1)))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        freq = rng.multinomial(n, probs, size=size).astype(float)
        values[start : start + size] = statistic(freq, patterns)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.nan, np.nan
    alpha = 1 - confidence
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _fleiss_bootstrap(
    counts: np.ndarray, m: int, *, n_boot: int, seed: int | None, confidence: float
) -> tuple[float, float]:
    """Percentile CI of Fleiss' kappa from resampling cases with replacement
    (:func:`_pattern_bootstrap`)."""
    n = counts.shape[0]

    def kappa(freq: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        p_i = ((patterns**2).sum(axis=1) - m) / (m * (m - 1))
        p_bar = freq @ p_i / n
        p_j = freq @ patterns / (n * m)
        p_e = (p_j**2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            k: np.ndarray = (p_bar - p_e) / (1 - p_e)
        k[np.isclose(p_e, 1.0, rtol=0, atol=1e-12)] = np.nan
        return k

    return _pattern_bootstrap(
        counts, kappa, n_boot=n_boot, seed=seed, confidence=confidence, chunk_cells=2_000_000
    )


def fleiss_kappa(
    df: pd.DataFrame,
    *,
    reader: str | None = "reader_id",
    run: str = "run",
    case: str = "case_id",
    category: str = "category",
    categories: Sequence[float] | None = None,
    threshold: float | None = None,
    confidence: float = 0.95,
    se_method: FleissSe = "gwet",
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Fleiss' kappa across repeated runs (per reader) or across several raters.

    Every case must be rated the same number of times ``m >= 2`` (the runs of one reader
    for intra-observer agreement; pass ``run="reader_id", reader=None`` for agreement
    among several readers). With ``n_ij`` the number of the m ratings of case i in
    category j (N cases, q categories):

    .. math::

        p_j = \frac{\sum_i n_{ij}}{N m},\quad P_i = \frac{\sum_j n_{ij}^2 - m}{m(m-1)},
        \quad \bar P = \frac1N \sum_i P_i,\quad P_e = \sum_j p_j^2,\quad
        \kappa = \frac{\bar P - P_e}{1 - P_e}.

    *Analytic CI* (``se_method``):

    - ``"gwet"`` (default): the large-sample non-null (linearisation) variance of Gwet
      (2008; 2014, ch. 5), ``Var = sum_i (k*_i - kappa)^2 / (N (N - 1))`` with ``k*_i =
      (P_i - P_e)/(1 - P_e) - 2 (1 - kappa) (pe_i - P_e)/(1 - P_e)`` and ``pe_i = sum_j
      (n_ij / m) p_j``, and the interval of R ``irrCAC::fleiss.kappa.raw``: ``kappa +/-
      t_{N-1, 1-a/2} SE``. It is valid whatever kappa is, which is what an interval
      needs.
    - ``"fleiss-nee-landis"``: the standard error of Fleiss, Nee & Landis (1979), ``SE =
      sqrt(2 / (N m (m-1))) sqrt((sum p_j q_j)^2 - sum p_j q_j (q_j - p_j)) / sum p_j
      q_j`` with ``q_j = 1 - p_j``, and ``kappa +/- z SE``. This is what SPSS reports:
      IBM's STATS FLEISS KAPPA extension (the way to Fleiss' kappa in SPSS 27, which the
      worked example used) computes exactly this "asymptotic standard error" and uses it
      for both the z test and the CI. It is derived under the null hypothesis of chance
      agreement (kappa = 0), so it depends only on N, m and the category margins -- for
      two categories it is ``sqrt(2 / (N m (m-1)))`` whatever the data -- and is too
      narrow away from the null (2.2 times on Fleiss's own 1971 data). It reproduces the
      worked example's Table 5: every binary CI there has the half-width ``1.96 sqrt(2 /
      (114 * 3 * 2)) = 0.106``.

    Both intervals are clipped to [-1, 1] (irrCAC caps only the upper limit).

    ``z`` and ``p_value`` always test kappa = 0 with the Fleiss-Nee-Landis null SE.

    *Bootstrap CI*: percentile interval of kappa over ``n_boot`` resamples of the cases
    with replacement (numpy ``default_rng(seed)``, so a fixed seed gives a reproducible
    interval). Resamples in which every rating falls in one category (kappa undefined)
    are left out. The resamples are drawn as multinomial counts of the distinct per-case
    rating patterns, which is exact in distribution and independent of the number of
    cases (20,000 cases x 2,000 resamples take milliseconds).

    *Categories.* As for :func:`cohen_kappa`: ``categories`` fixes the category set (a
    category nobody used has ``p_j = 0`` and changes nothing in kappa or its SE),
    ``threshold`` compares positive calls (``scale = "binary"``).

    Parameters
    ----------
    df : pandas.DataFrame
        Long ratings, one row per (reader) x run x case.
    reader : str or None
        Grouping column: one kappa per reader across its runs. ``None`` pools all rows.
    run : str
        Column identifying the repeated ratings of a case (runs, or raters).
    case, category : str
        Column names.
    categories, threshold
        See above.
    confidence : float
        Confidence level of both intervals.
    se_method : {"gwet", "fleiss-nee-landis"}
        Standard error of the analytic CI.
    n_boot : int
        Bootstrap resamples (0 disables the bootstrap; its columns are then NaN).
    seed : int or None
        Seed of the bootstrap.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN, and cases rated a different number of times, raise
        ``ValueError``. ``"omit"``: rows with NaN are dropped, then (per reader) every
        case with fewer ratings than the most-rated case.

    Returns
    -------
    pandas.DataFrame
        One row per reader (sorted; ``reader`` is None when ``reader=None``), columns
        ``reader, scale, n_cases, n_omitted, n_ratings, observed_agreement,
        expected_agreement, statistic, se, ci_low, ci_high, se_method, z, p_value,
        boot_ci_low, boot_ci_high, interpretation`` (``statistic`` is kappa). ``n_omitted`` counts the cases (with at least
        one rating) left out by ``nan_policy="omit"`` because they have fewer ratings
        than the most-rated case (listwise deletion).

    References
    ----------
    Fleiss (1971), *Psychological Bulletin* 76, 378-382; Fleiss, Nee & Landis (1979),
    *Psychological Bulletin* 86, 974-977; Gwet (2008), *British Journal of Mathematical
    and Statistical Psychology* 61, 29-48; Efron, B., & Tibshirani, R. J. (1993). *An
    Introduction to the Bootstrap*. Chapman & Hall. Gwet, K. L. (2014). *Handbook of
    Inter-Rater Reliability* (4th ed.). Advanced Analytics, LLC.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement import fleiss_kappa
    >>> df = pd.DataFrame({
    ...     "reader_id": "a",
    ...     "run": [1, 2, 3] * 6,
    ...     "case_id": [c for c in range(6) for _ in range(3)],
    ...     "category": [1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 2, 2, 2, 5, 4, 5],
    ... })
    >>> res = fleiss_kappa(df, n_boot=200, seed=0)
    >>> cols = ["reader", "n_cases", "statistic", "ci_low", "ci_high", "p_value"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader  n_cases  statistic  ci_low  ci_high  p_value
         a        6      0.717   0.261      1.0      0.0
    """
    confidence = check_confidence(confidence)
    if se_method not in FLEISS_SE_METHODS:
        raise ValueError(
            f"se_method: expected {' or '.join(map(repr, FLEISS_SE_METHODS))}, got {se_method!r}"
        )
    if int(n_boot) < 0:
        raise ValueError(f"n_boot: must be >= 0, got {n_boot!r}")
    columns = {"run": run, "case": case, "category": category}
    unique = {"run": run, "case": case}
    if reader is not None:
        columns = {"reader": reader, **columns}
        unique = {"reader": reader, **unique}
    frame = _ratings(
        df, columns=columns, rating_kw="category", nan_policy=nan_policy, unique=unique
    )
    codes, cats, scale = _category_set(
        frame[category].to_numpy(), categories=categories, threshold=threshold, arg="category"
    )
    q = len(cats)
    z = stats.norm.ppf(0.5 + confidence / 2)
    frame = frame.assign(_code=codes)
    groups = [(None, frame)] if reader is None else list(frame.groupby(reader, sort=True))
    rows = []
    for key, sub in groups:
        case_codes, case_index = pd.factorize(sub[case], sort=True)
        counts = np.zeros((len(case_index), q))
        np.add.at(counts, (case_codes, sub["_code"].to_numpy()), 1.0)
        per_case = counts.sum(axis=1)
        n_omitted = 0
        if nan_policy == "omit":
            complete = per_case == per_case.max()
            n_omitted = int((~complete).sum())
            counts, per_case = counts[complete], per_case[complete]
        if (per_case != per_case[0]).any():
            raise ValueError(
                "run: every case must be rated the same number of times"
                + ("" if key is None else f" (reader {key!r})")
            )
        m = int(per_case[0])
        if m < 2:
            raise ValueError(
                f"run: Fleiss' kappa needs at least 2 ratings per case, got {m}"
                + ("" if key is None else f" (reader {key!r})")
            )
        n = counts.shape[0]
        p_bar, p_e, kappa = _fleiss_point(counts, m)
        p_j = counts.sum(axis=0) / (n * m)
        pq = p_j * (1 - p_j)
        spq = pq.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            se0 = float(
                np.sqrt(2.0 / (n * m * (m - 1)))
                * np.sqrt(spq**2 - (pq * ((1 - p_j) - p_j)).sum())
                / spq
            )
        if se_method == "fleiss-nee-landis":
            se = se0
        else:
            p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
            pe_i = (counts / m) @ p_j
            with np.errstate(invalid="ignore", divide="ignore"):
                k_star = (p_i - p_e) / (1 - p_e) - 2 * (1 - kappa) * (pe_i - p_e) / (1 - p_e)
            se = float(np.sqrt(((k_star - kappa) ** 2).sum() / (n * (n - 1)))) if n > 1 else np.nan
        if np.isnan(kappa):
            se = se0 = np.nan
        crit = (
            z
            if se_method == "fleiss-nee-landis"
            else (stats.t.ppf(0.5 + confidence / 2, n - 1) if n > 1 else np.nan)
        )
        ci_low = float(np.clip(kappa - crit * se, -1.0, 1.0))
        ci_high = float(np.clip(kappa + crit * se, -1.0, 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            zval = kappa / se0
        boot_low, boot_high = _fleiss_bootstrap(
            counts, m, n_boot=int(n_boot), seed=seed, confidence=confidence
        )
        rows.append(
            {
                "reader": key,
                "scale": scale,
                "n_cases": n,
                "n_omitted": n_omitted,
                "n_ratings": m,
                "observed_agreement": p_bar,
                "expected_agreement": p_e,
                "statistic": kappa,
                "se": se,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "se_method": se_method,
                "z": zval,
                "p_value": float(2 * stats.norm.sf(abs(zval))) if np.isfinite(zval) else np.nan,
                "boot_ci_low": boot_low,
                "boot_ci_high": boot_high,
            }
        )
    out = pd.DataFrame(rows)
    out["interpretation"] = interpret_kappa(out["statistic"].to_numpy())
    return out


# --------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _alpha_d2(cats: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """Squared differences delta^2_ck of Krippendorff's metrics; ``n_c`` is (..., q)."""
    q = len(cats)
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(q), (*n_c.shape[:-1], q, q))
    if level == "interval":
        return np.broadcast_to(np.subtract.outer(cats, cats) ** 2, (*n_c.shape[:-1], q, q))
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d2 = (np.subtract.outer(cats, cats) / np.add.outer(cats, cats)) ** 2
        return np.broadcast_to(np.nan_to_num(d2), (*n_c.shape[:-1], q, q))
    zeros = np.zeros((*n_c.shape[:-1], 1))
    cum = np.concatenate((zeros, np.cumsum(n_c, axis=-1)), axis=-1)
    lo = np.minimum.outer(np.arange(q), np.arange(q))
    hi = np.maximum.outer(np.arange(q), np.arange(q))
    half = (n_c[..., :, None] + n_c[..., None, :]) / 2
    d2_ordinal: np.ndarray = (cum[..., hi + 1] - cum[..., lo] - half) ** 2
    return d2_ordinal


def _alpha_from_coincidences(o: np.ndarray, cats: np.ndarray, level: str) -> np.ndarray:
    """Alpha from coincidence matrices ``o`` of shape (..., q, q) (NaN: no variation)."""
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    d2 = _alpha_d2(cats, n_c, level)
    observed = (o * d2).sum(axis=(-2, -1))
    expected = (n_c[..., :, None] * n_c[..., None, :] * d2).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1 - (n - 1) * observed / expected
    alphas: np.ndarray = np.where(expected > 0, alpha, np.nan)
    return alphas


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-unit coincidences ``(n_u n_u^T - diag(n_u)) / (m_u - 1)``, shape (U, q, q)."""
    m_u = counts.sum(axis=1)
    outer = counts[:, :, None] * counts[:, None, :]
    idx = np.arange(counts.shape[1])
    outer[:, idx, idx] -= counts
    coincidences: np.ndarray = outer / (m_u - 1)[:, None, None]
    return coincidences


def _alpha_bootstrap(
    counts: np.ndarray,
    cats: np.ndarray,
    level: str,
    *,
    n_boot: int,
    seed: int | None,
    confidence: float,
) -> tuple[float, float]:
    """Percentile CI of alpha over resamples of the pairable units with replacement
    (:func:`_pattern_bootstrap`: drawn as multinomial counts of the distinct rows)."""
    q = len(cats)

    def alpha(freq: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        per_pattern = _unit_coincidences(patterns).reshape(len(patterns), -1)
        o = (freq @ per_pattern).reshape(len(freq), q, q)
        return _alpha_from_coincidences(o, cats, level)

    return _pattern_bootstrap(
        counts, alpha, n_boot=n_boot, seed=seed, confidence=confidence, chunk_cells=1_000_000
    )


def krippendorff_alpha(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    unit: str | Sequence[str] = "case_id",
    score: str = "score",
    level: AlphaLevel = "ordinal",
    low: float | None = None,
    high: float | None = None,
    confidence: float = 0.95,
    n_boot: int = 0,
    seed: int | None = 0,
    nan_policy: NanPolicy = "omit",
) -> pd.DataFrame:
    r"""Krippendorff's alpha for nominal, ordinal, interval or ratio values, with a bootstrap CI.

    Units may be rated by any number of raters; units with fewer than two ratings are
    not pairable and are left out. With ``n_uc`` the number of ratings of value c in
    unit u and ``m_u`` the number of ratings of unit u, the coincidences are
    ``o_ck = sum_u n_uc (n_uk - [c = k]) / (m_u - 1)``, ``n_c = sum_k o_ck`` and
    ``n = sum_c n_c``, and

    .. math::

        \alpha = 1 - (n - 1) \frac{\sum_{c,k} o_{ck} \delta^2_{ck}}
        {\sum_{c,k} n_c n_k \delta^2_{ck}}

    with the difference functions nominal ``[c != k]``; ordinal
    ``(sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2`` (g over the ordered values); interval
    ``(c - k)^2``; ratio ``((c - k)/(c + k))^2`` (Krippendorff 2011).

    *Bootstrap CI* (``n_boot > 0``): percentile interval of alpha over ``n_boot``
    resamples of the pairable units with replacement (numpy ``default_rng(seed)``), the
    interval Zapf et al. (2016) recommend for alpha; resamples without variation (alpha
    undefined) are left out. Resamples are drawn as multinomial counts of the distinct
    per-unit value patterns, which is exact in distribution and independent of the
    number of units.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, one row per rater x unit.
    rater : str
        Rater column.
    unit : str or list of str
        Column(s) identifying the rated unit, e.g. ``["reader_id", "case_id", "run",
        "domain"]`` for Likert ratings of model outputs.
    score : str
        Numeric value column.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement.
    low, high : float, optional
        Allowed range of the scores (e.g. 1 and 5 for a Likert scale).
    confidence : float
        Confidence level of the bootstrap interval.
    n_boot : int
        Bootstrap resamples (default 0: no interval, ``ci_low`` and ``ci_high`` NaN).
    seed : int or None
        Seed of the bootstrap.
    nan_policy : {"raise", "omit"}
        Missing scores are natural for alpha, so the default drops them.

    Returns
    -------
    pandas.DataFrame
        One row, columns ``level, n_units, n_raters, n_values, statistic, ci_low, ci_high``
        (``statistic`` is alpha)
        (``n_units`` and ``n_values`` count the pairable units and their values). Alpha is
        NaN when every pairable value is the same (no variation).

    References
    ----------
    Krippendorff (2011), *Computing Krippendorff's alpha-reliability*; Hayes, A. F., &
    Krippendorff, K. (2007). Answering the call for a standard reliability measure for
    coding data. *Communication Methods and Measures*, 1(1), 77-89; Zapf, A., Castell,
    S., Morawietz, L., & Karch, A. (2016). Measuring inter-rater reliability for nominal
    data -- which coefficients and confidence intervals are appropriate? *BMC Medical
    Research Methodology*, 16, 93.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement import krippendorff_alpha
    >>> df = pd.DataFrame({
    ...     "rater_id": ["r1"] * 5 + ["r2"] * 5 + ["r3"] * 5,
    ...     "case_id": list(range(5)) * 3,
    ...     "score": [1, 2, 3, 4, 5, 1, 3, 3, 4, 5, 2, 2, 3, 5, 5],
    ... })
    >>> res = krippendorff_alpha(df, level="interval", n_boot=200, seed=0)
    >>> cols = ["level", "n_units", "statistic", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
       level  n_units  statistic  ci_low  ci_high
    interval        5      0.901   0.364    0.956
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(
            f"level: expected 'nominal', 'ordinal', 'interval' or 'ratio', got {level!r}"
        )
    confidence = check_confidence(confidence)
    if int(n_boot) < 0:
        raise ValueError(f"n_boot: must be >= 0, got {n_boot!r}")
    units = _as_list(unit)
    columns = {"rater": rater, "score": score} | {f"unit[{i}]": u for i, u in enumerate(units)}
    frame = _ratings(
        df,
        columns=columns,
        rating_kw="score",
        nan_policy=nan_policy,
        unique={"rater": rater} | {f"unit[{i}]": u for i, u in enumerate(units)},
    )
    values = frame[score].to_numpy()
    if low is not None or high is not None:
        check_range(
            values,
            low=-np.inf if low is None else low,
            high=np.inf if high is None else high,
            arg="score",
        )
    if level == "ratio" and (values < 0).any():
        raise ValueError("score: ratio alpha needs non-negative values")
    unit_codes = frame.groupby(units, sort=False).ngroup().to_numpy()
    cats, val_codes = np.unique(values, return_inverse=True)
    n_units = int(unit_codes.max()) + 1
    counts = np.zeros((n_units, len(cats)))
    np.add.at(counts, (unit_codes, val_codes), 1.0)
    counts = counts[counts.sum(axis=1) >= 2]
    n_raters = int(frame[rater].nunique())
    row: dict[str, object] = {
        "level": level,
        "n_units": int(counts.shape[0]),
        "n_raters": n_raters,
    }
    if counts.shape[0] == 0:
        return pd.DataFrame(
            [row | {"n_values": 0, "statistic": np.nan, "ci_low": np.nan, "ci_high": np.nan}]
        )
    m_u = counts.sum(axis=1)
    scaled = counts / (m_u - 1)[:, None]
    o = scaled.T @ counts - np.diag(scaled.sum(axis=0))
    alpha = float(_alpha_from_coincidences(o, cats, level))
    ci_low, ci_high = _alpha_bootstrap(
        counts, cats, level, n_boot=int(n_boot), seed=seed, confidence=confidence
    )
    row |= {
        "n_values": int(np.rint(o.sum())),
        "statistic": alpha,
        "ci_low": ci_low,
        "ci_high": ci_high,
    }
    return pd.DataFrame([row])


# --------------------------------------------------------------------------------------
# Intraclass correlation
# --------------------------------------------------------------------------------------

_ICC_TYPES = (
    ("ICC1", "single rater, one-way random (absolute agreement)"),
    ("ICC2", "single random rater, two-way random (absolute agreement)"),
    ("ICC3", "single fixed rater, two-way mixed (consistency)"),
    ("ICC1k", "mean of k raters, one-way random"),
    ("ICC2k", "mean of k random raters, two-way random"),
    ("ICC3k", "mean of k fixed raters, two-way mixed"),
)


def icc(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    target: str | Sequence[str] = "case_id",
    score: str = "score",
    low: float | None = None,
    high: float | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""The six intraclass correlations of Shrout & Fleiss (1979) with F tests and CIs.

    Every target must be scored by every rater (a complete targets x raters table).
    From the two-way ANOVA of n targets by k raters, with mean squares MSB (targets),
    MSJ (raters), MSE (residual) and MSW (within targets, one-way):

    - ICC1 = (MSB - MSW) / (MSB + (k-1) MSW), ICC1k = (MSB - MSW) / MSB
    - ICC2 = (MSB - MSE) / (MSB + (k-1) MSE + k (MSJ - MSE)/n),
      ICC2k = (MSB - MSE) / (MSB + (MSJ - MSE)/n)
    - ICC3 = (MSB - MSE) / (MSB + (k-1) MSE), ICC3k = (MSB - MSE) / MSB

    F tests: ``F = MSB/MSW`` on (n-1, n(k-1)) df for ICC1/ICC1k and ``F = MSB/MSE`` on
    (n-1, (n-1)(k-1)) df for the others. Confidence intervals are the exact F-based ones
    for ICC1, ICC3 and their averages and the approximate (Satterthwaite) interval of
    McGraw & Wong (1996, Table 7) for ICC2 and ICC2k -- exactly as R
    ``psych::ICC(x, lmer = FALSE)`` (and pingouin's ``intraclass_corr``) compute them.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, one row per rater x target.
    rater : str
        Rater column.
    target : str or list of str
        Column(s) identifying the scored target (e.g. ``["reader_id", "case_id", "run",
        "domain"]``).
    score : str
        Numeric score column.
    low, high : float, optional
        Allowed range of the scores.
    confidence : float
        Confidence level.
    nan_policy : {"raise", "omit"}
        ``"omit"`` drops rows with NaN and then every target not scored by all raters
        (listwise deletion, as psych); ``"raise"`` raises on NaN and on an incomplete
        table.

    Returns
    -------
    pandas.DataFrame
        Six rows (``type`` ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k), columns ``type,
        description, statistic, f, df1, df2, p_value, ci_low, ci_high, n_targets,
        n_raters``; ``statistic`` is the ICC, ``p_value`` the F test of ICC = 0.

    References
    ----------
    Shrout & Fleiss (1979), *Psychological Bulletin* 86, 420-428; McGraw & Wong (1996),
    *Psychological Methods* 1, 30-46; Revelle, W. (2022). psych: Procedures for
    Psychological, Psychometric, and Personality Research (R package 2.2.9), ``ICC``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement import icc
    >>> df = pd.DataFrame({
    ...     "rater_id": ["r1"] * 5 + ["r2"] * 5 + ["r3"] * 5,
    ...     "case_id": list(range(5)) * 3,
    ...     "score": [1, 2, 3, 4, 5, 1, 3, 3, 4, 5, 2, 2, 3, 5, 5],
    ... })
    >>> res = icc(df)
    >>> cols = ["type", "statistic", "p_value", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
     type  statistic  p_value  ci_low  ci_high
     ICC1      0.914      0.0   0.680    0.990
     ICC2      0.914      0.0   0.680    0.990
     ICC3      0.914      0.0   0.648    0.990
    ICC1k      0.970      0.0   0.865    0.997
    ICC2k      0.970      0.0   0.865    0.997
    ICC3k      0.970      0.0   0.847    0.997
    """
    alpha = 1 - check_confidence(confidence)
    targets = _as_list(target)
    tcols = {f"target[{i}]": t for i, t in enumerate(targets)}
    frame = _ratings(
        df,
        columns={"rater": rater, "score": score} | tcols,
        rating_kw="score",
        nan_policy=nan_policy,
        unique={"rater": rater} | tcols,
    )
    if low is not None or high is not None:
        check_range(
            frame[score].to_numpy(),
            low=-np.inf if low is None else low,
            high=np.inf if high is None else high,
            arg="score",
        )
    t_codes = frame.groupby(targets, sort=True).ngroup().to_numpy()
    r_codes, r_index = pd.factorize(frame[rater], sort=True)
    x = np.full((int(t_codes.max()) + 1, len(r_index)), np.nan)
    x[t_codes, r_codes] = frame[score].to_numpy()
    complete = ~np.isnan(x).any(axis=1)
    if not complete.all():
        if nan_policy == "raise":
            raise ValueError(
                f"{rater}: {int((~complete).sum())} target(s) are not scored by every rater; "
                "pass nan_policy='omit' to drop them"
            )
        x = x[complete]
    n, k = x.shape
    if k < 2:
        raise ValueError(f"{rater}: the ICC needs at least 2 raters")
    if n < 2:
        raise ValueError("target: the ICC needs at least 2 complete targets")
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_tot = ((x - grand) ** 2).sum()
    ss_err = ss_tot - ss_rows - ss_cols
    msb = ss_rows / (n - 1)
    msj = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_tot - ss_rows) / (n * (k - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb
        f1 = msb / msw
        f3 = msb / mse
    df1n, df1d = n - 1, n * (k - 1)
    df3n, df3d = n - 1, (n - 1) * (k - 1)
    p1 = stats.f.sf(f1, df1n, df1d)
    p3 = stats.f.sf(f3, df3n, df3d)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1l = f1 / stats.f.ppf(1 - alpha / 2, df1n, df1d)
        f1u = f1 * stats.f.ppf(1 - alpha / 2, df1d, df1n)
        f3l = f3 / stats.f.ppf(1 - alpha / 2, df3n, df3d)
        f3u = f3 * stats.f.ppf(1 - alpha / 2, df3d, df3n)
        fj = msj / mse
        vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        fu = stats.f.ppf(1 - alpha / 2, n - 1, v)
        fl = stats.f.ppf(1 - alpha / 2, v, n - 1)
        l2 = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)
    lows = [
        (f1l - 1) / (f1l + k - 1),
        l2,
        (f3l - 1) / (f3l + k - 1),
        1 - 1 / f1l,
        l2 * k / (1 + l2 * (k - 1)),
        1 - 1 / f3l,
    ]
    highs = [
        (f1u - 1) / (f1u + k - 1),
        u2,
        (f3u - 1) / (f3u + k - 1),
        1 - 1 / f1u,
        u2 * k / (1 + u2 * (k - 1)),
        1 - 1 / f3u,
    ]
    return pd.DataFrame(
        {
            "type": [t for t, _ in _ICC_TYPES],
            "description": [d for _, d in _ICC_TYPES],
            "statistic": [icc1, icc2, icc3, icc1k, icc2k, icc3k],
            "f": [f1, f3, f3, f1, f3, f3],
            "df1": [df1n, df3n, df3n, df1n, df3n, df3n],
            "df2": [df1d, df3d, df3d, df1d, df3d, df3d],
            "p_value": [p1, p3, p3, p1, p3, p3],
            "ci_low": lows,
            "ci_high": highs,
            "n_targets": n,
            "n_raters": k,
        }
    )
