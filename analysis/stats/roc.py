"""ROC analysis: empirical AUC, DeLong variance and tests, ROC curves, bootstrap CIs.

Conventions
-----------
* A higher rating means "more likely positive" (pROC ``direction="<"``).
* The AUC is the empirical (trapezoidal) area, i.e. the Mann–Whitney statistic with
  ties counted ½:  ``AUC = 1/(m n) Σ_i Σ_j ψ(X_i, Y_j)`` with ``ψ(x, y) = 1`` if ``x > y``,
  ``½`` if ``x = y`` and ``0`` otherwise, over the ``m`` positive ratings ``X`` and the
  ``n`` negative ratings ``Y``.
* DeLong's structural components (placements) are
  ``V10_i = 1/n Σ_j ψ(X_i, Y_j)`` (one per positive case) and
  ``V01_j = 1/m Σ_i ψ(X_i, Y_j)`` (one per negative case); ``AUC = mean(V10) = mean(V01)``.
  They are computed for all readers at once as ``(R, m)`` and ``(R, n)`` arrays with one
  sort per reader (the midrank algorithm of Sun & Xu 2014), never an ``m × n`` matrix, so
  time is O(R N log N) and memory O(R N).

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Comparing the areas under two or more
correlated receiver operating characteristic curves: a nonparametric approach.
Biometrics 44(3):837–845.

Sun X, Xu W (2014). Fast implementation of DeLong's algorithm for comparing the areas
under correlated receiver operating characteristic curves. IEEE Signal Processing
Letters 21(11):1389–1393.

Robin X, Turck N, Hainard A, Tiberti N, Lisacek F, Sanchez JC, Müller M (2011). pROC: an
open-source package for R and S+ to analyze and compare ROC curves. BMC Bioinformatics
12:77.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
)

__all__ = [
    "bootstrap_auc_ci",
    "compare_readers",
    "compare_unpaired",
    "delong_cov",
    "paired_delong",
    "placements",
    "reader_aucs",
    "roc_curve",
]

READER_AUC_COLUMNS = [
    "reader",
    "n_positive",
    "n_negative",
    "statistic",
    "se",
    "ci_low",
    "ci_high",
]
COMPARE_COLUMNS = [
    "reader_a",
    "reader_b",
    "auc_a",
    "auc_b",
    "statistic",
    "se",
    "z",
    "p_value",
    "ci_low",
    "ci_high",
]
UNPAIRED_COLUMNS = [
    "reader_a",
    "reader_b",
    "auc_a",
    "auc_b",
    "statistic",
    "se",
    "t",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
]
ROC_CURVE_COLUMNS = ["reader", "threshold", "fpr", "tpr"]


# ---------------------------------------------------------------------------
# Low-level array functions
# ---------------------------------------------------------------------------


def _as_ratings_truth(ratings: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(ratings, dtype=float)
    if r.ndim == 1:
        r = r[None, :]
    if r.ndim != 2:
        raise ValueError(f"ratings: expected a 1-D or 2-D array, got {r.ndim} dimensions")
    t = np.asarray(truth)
    if t.ndim != 1 or t.shape[0] != r.shape[1]:
        raise ValueError(
            f"truth: expected a 1-D array of length {r.shape[1]} (ratings.shape[1]), "
            f"got shape {t.shape}"
        )
    if t.dtype != bool:
        if not np.isin(t, (0, 1)).all():
            raise ValueError("truth: values must be 0 or 1")
        t = t.astype(bool)
    if np.isnan(r).any():
        raise ValueError("ratings: contains NaN")
    m = int(t.sum())
    if m == 0 or m == t.shape[0]:
        raise ValueError("truth: both classes (0 and 1) are needed for an AUC")
    return r, t


def placements(ratings: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical AUCs and DeLong placements for several readers at once.

    Parameters
    ----------
    ratings : ndarray, shape (R, N) or (N,)
        One row per reader, one column per case; higher = more likely positive.
    truth : ndarray of bool (or 0/1), shape (N,)
        True for the positive cases.

    Returns
    -------
    auc : ndarray, shape (R,)
        Mann–Whitney AUC with ties counted ½.
    v10 : ndarray, shape (R, m)
        Placement of each positive case among the negatives,
        ``V10_i = [#(Y < X_i) + ½ #(Y = X_i)] / n``, columns in the order of the positive
        cases in ``truth``.
    v01 : ndarray, shape (R, n)
        Placement of each negative case among the positives,
        ``V01_j = [#(X > Y_j) + ½ #(X = Y_j)] / m``.

    Notes
    -----
    Sun & Xu (2014) write ``V10_i = [T_Z(X_i) - T_X(X_i)] / n`` and
    ``V01_j = 1 - [T_Z(Y_j) - T_Y(Y_j)] / m`` with midranks ``T`` in the combined sample
    ``Z`` and within each class. Here all three midranks come from a single sort
    of each row: for a tie group spanning sorted positions ``[s, e]``,
    ``T_Z = (s + e + 2) / 2`` and the within-class midrank is ``(c_< + c_≤ + 1) / 2``
    where ``c_<`` and ``c_≤`` count the class members before the group and up to its end,
    so ``T_Z - T_X = (#neg before the group + #neg up to its end) / 2``. Cost:
    O(R N log N) time, O(R N) memory.

    References
    ----------
    Sun X, Xu W (2014). Fast implementation of DeLong's algorithm for comparing the areas
    under correlated receiver operating characteristic curves. IEEE Signal Processing
    Letters 21(11):1389–1393.

    *Output contract.* Not a DataFrame of estimates: an array building block (AUCs and
    placements) of :func:`reader_aucs` and :func:`compare_readers`.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.roc import placements
    >>> ratings = np.array([[5, 4, 2, 3, 1, 1], [4, 4, 3, 2, 2, 1]])
    >>> truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> auc, v10, v01 = placements(ratings, truth)
    >>> auc.round(3)
    array([0.889, 1.   ])
    >>> v10.round(3)
    array([[1.   , 1.   , 0.667],
           [1.   , 1.   , 1.   ]])
    """
    r, t = _as_ratings_truth(ratings, truth)
    n_readers, n_cases = r.shape
    m = int(t.sum())
    n = n_cases - m
    # the order inside a tie group is irrelevant (only group boundaries are used), so
    # the faster unstable sort is fine
    order = np.argsort(r, axis=1)
    srt = np.take_along_axis(r, order, axis=1)
    is_pos = t[order]
    del r
    # 32-bit counters halve the memory traffic whenever they are wide enough (sums of
    # two counts stay below 2**31)
    itype = np.int32 if n_cases < 2**30 else np.int64
    idx = np.arange(n_cases, dtype=itype)
    new_group = np.empty((n_readers, n_cases), dtype=bool)
    new_group[:, 0] = True
    np.not_equal(srt[:, 1:], srt[:, :-1], out=new_group[:, 1:])
    del srt
    # first and last sorted position of the tie group of every element
    start = np.maximum.accumulate(np.where(new_group, idx, itype(0)), axis=1)
    last_flag = np.empty_like(new_group)
    last_flag[:, -1] = True
    last_flag[:, :-1] = new_group[:, 1:]
    del new_group
    backwards = np.where(last_flag, idx, itype(n_cases - 1))[:, ::-1]
    end = np.minimum.accumulate(backwards, axis=1)[:, ::-1]
    del backwards
    del last_flag
    # cpos0[k] = number of positives strictly before sorted position k
    cpos0 = np.zeros((n_readers, n_cases + 1), dtype=itype)
    np.cumsum(is_pos, axis=1, out=cpos0[:, 1:])
    pos_lt = np.take_along_axis(cpos0, start, axis=1)
    pos_le = np.take_along_axis(cpos0, end + 1, axis=1)
    del cpos0
    neg_lt = start - pos_lt
    neg_le = end + 1 - pos_le
    del start, end
    value = np.where(
        is_pos,
        (neg_lt + neg_le) / (2.0 * n),
        (2.0 * m - pos_lt - pos_le) / (2.0 * m),
    )
    del neg_lt, neg_le, pos_lt, pos_le, is_pos
    out = np.empty_like(value)
    np.put_along_axis(out, order, value, axis=1)
    v10 = out[:, t]
    v01 = out[:, ~t]
    auc = v10.mean(axis=1)
    return auc, v10, v01


def delong_cov(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """DeLong covariance matrix of the AUCs of several readers on the same cases.

    ``S = S10 / m + S01 / n`` where ``S10[a, b] = Σ_i (V10_ai - θ_a)(V10_bi - θ_b) / (m - 1)``
    and ``S01`` likewise over the negatives (DeLong et al. 1988, eq. 4–5; pROC
    ``delong.paired.calculations``).

    Parameters
    ----------
    v10, v01 : ndarray, shapes (R, m) and (R, n)
        Placements from :func:`placements`.

    Returns
    -------
    ndarray, shape (R, R)
        All NaN when ``m < 2`` or ``n < 2`` (pROC's ``ci.auc`` returns NA then too).

    *Output contract.* Not a DataFrame of estimates: an array building block (a
    covariance matrix).

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.roc import delong_cov, placements
    >>> ratings = np.array([[5, 4, 2, 3, 1, 1], [4, 4, 3, 2, 2, 1]])
    >>> truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> auc, v10, v01 = placements(ratings, truth)
    >>> delong_cov(v10, v01).round(4)
    array([[0.0247, 0.    ],
           [0.    , 0.    ]])
    """
    v10 = np.atleast_2d(np.asarray(v10, dtype=float))
    v01 = np.atleast_2d(np.asarray(v01, dtype=float))
    if v10.shape[0] != v01.shape[0]:
        raise ValueError("v01: must have as many rows (readers) as v10")
    n_readers, m = v10.shape
    n = v01.shape[1]
    if m < 2 or n < 2:
        return np.full((n_readers, n_readers), np.nan)
    d10 = v10 - v10.mean(axis=1, keepdims=True)
    d01 = v01 - v01.mean(axis=1, keepdims=True)
    cov: np.ndarray = (d10 @ d10.T) / ((m - 1) * m) + (d01 @ d01.T) / ((n - 1) * n)
    return cov


def _z_crit(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def paired_delong(
    auc: np.ndarray, cov: np.ndarray, *, confidence: float = 0.95
) -> dict[str, np.ndarray]:
    """Paired DeLong tests for every pair ``a < b`` of readers.

    ``diff = θ_a - θ_b``, ``se = sqrt(S_aa + S_bb - 2 S_ab)``, ``z = diff / se``,
    two-sided ``p = 2 Φ(-|z|)``, ``CI = diff ± z_{1-α/2} se``. As in pROC
    (``delong.paired.test``): when ``diff = 0`` and ``se = 0`` (e.g. identical readers or
    two perfect readers) ``z = 0`` and ``p = 1``; when ``se = 0`` but ``diff ≠ 0``,
    ``z = ±inf`` and ``p = 0``. The CI collapses to ``[diff, diff]`` when ``se = 0``.

    Returns
    -------
    dict with arrays ``a``, ``b`` (reader indices), ``diff``, ``se``, ``z``, ``p_value``,
    ``ci_low``, ``ci_high``.

    *Output contract.* Not a DataFrame of estimates: an array building block (a dict of
    arrays, every pair); :func:`compare_readers` is its DataFrame form with ``statistic
    = diff``.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.roc import delong_cov, paired_delong, placements
    >>> ratings = np.array([[5, 4, 2, 3, 1, 1], [4, 4, 3, 2, 2, 1]])
    >>> truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> auc, v10, v01 = placements(ratings, truth)
    >>> res = paired_delong(auc, delong_cov(v10, v01))
    >>> [round(float(res[k][0]), 3) for k in ("diff", "se", "z", "p_value")]
    [-0.111, 0.157, -0.707, 0.48]
    """
    confidence = check_confidence(confidence)
    auc = np.asarray(auc, dtype=float)
    a, b = np.triu_indices(auc.shape[0], k=1)
    diff = auc[a] - auc[b]
    var = cov[a, a] + cov[b, b] - 2.0 * cov[a, b]
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
    z = np.where((se == 0) & (diff == 0), 0.0, z)
    p = 2.0 * stats.norm.sf(np.abs(z))
    half = _z_crit(confidence) * se
    return {
        "a": a,
        "b": b,
        "diff": diff,
        "se": se,
        "z": z,
        "p_value": p,
        "ci_low": diff - half,
        "ci_high": diff + half,
    }


# ---------------------------------------------------------------------------
# Long DataFrame -> arrays
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Validated long data, factorised to integer codes."""

    groups: list[pd.Index]  # sorted unique values of each grouping column
    group_codes: list[np.ndarray]  # per row
    cases: pd.Index
    case_codes: np.ndarray
    rating: np.ndarray
    case_truth: np.ndarray  # bool, one per case
    complete: bool

    def wide(self) -> np.ndarray:
        """Ratings as an array of shape (*group sizes, n_cases); NaN where missing."""
        shape = (*(len(g) for g in self.groups), len(self.cases))
        out = np.full(shape, np.nan)
        out[(*self.group_codes, self.case_codes)] = self.rating
        return out


def _prepare_long(
    df: object,
    *,
    truth: str,
    rating: str,
    case: str,
    groups: dict[str, str],
    nan_policy: NanPolicy,
    rating_numeric: bool = True,
) -> _Prepared:
    frame = require_frame(df)
    columns = {"truth": truth, "rating": rating, **groups, "case": case}
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(dict.fromkeys(columns.values())), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping rows with NaN")
    raw = frame[rating]
    values = pd.to_numeric(raw, errors="coerce")
    if rating_numeric and values.isna().any():
        raise ValueError(f"rating: column {rating!r} must be numeric")
    rating_arr = values.to_numpy(dtype=float)
    truth_arr = binary_truth(frame[truth], arg="truth")
    case_codes, case_uniques = pd.factorize(frame[case], sort=True)
    n_cases = len(case_uniques)
    codes: list[np.ndarray] = []
    uniques: list[pd.Index] = []
    for col in groups.values():
        c, u = pd.factorize(frame[col], sort=True)
        codes.append(np.asarray(c))
        uniques.append(pd.Index(u))
    case_codes = np.asarray(case_codes)
    shape = (*(len(u) for u in uniques), n_cases)
    cell = np.ravel_multi_index((*codes, case_codes), shape)
    counts = np.bincount(cell, minlength=int(np.prod(shape)))
    if (counts > 1).any():
        dup_cols = ", ".join(f"{k}={v!r}" for k, v in groups.items())
        raise ValueError(
            f"df: duplicate rows for the same {dup_cols} and case={case!r} "
            f"({int((counts > 1).sum())} duplicated cell(s))"
        )
    t_sum = np.bincount(case_codes, weights=truth_arr.astype(float), minlength=n_cases)
    t_cnt = np.bincount(case_codes, minlength=n_cases)
    mixed = (t_sum > 0) & (t_sum < t_cnt)
    if mixed.any():
        examples = ", ".join(str(x) for x in pd.Index(case_uniques)[mixed][:5])
        raise ValueError(f"truth: case(s) {examples} have both 0 and 1 in column {truth!r}")
    return _Prepared(
        groups=uniques,
        group_codes=codes,
        cases=pd.Index(case_uniques),
        case_codes=case_codes,
        rating=rating_arr,
        case_truth=t_sum > 0,
        complete=bool((counts == 1).all()),
    )


def _require_two_classes(truth_arr: np.ndarray, *, truth: str, who: str = "") -> None:
    m = int(truth_arr.sum())
    if m == 0 or m == truth_arr.shape[0]:
        where = f" for {who}" if who else ""
        raise ValueError(
            f"truth: column {truth!r} has only one class{where}; an AUC needs positive "
            "(1) and negative (0) cases"
        )


def _require_same_cases(prep: _Prepared, *, case: str, what: str = "readers") -> None:
    if not prep.complete:
        raise ValueError(
            f"df: {what} did not all rate the same cases (column case={case!r}); "
            "a paired analysis needs every reader to rate every case"
        )


def _per_reader(prep: _Prepared) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ratings, truth) of each reader, for readers on different case sets."""
    codes = prep.group_codes[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(prep.groups[0]) + 1))
    out = []
    for r in range(len(prep.groups[0])):
        rows = order[bounds[r] : bounds[r + 1]]
        out.append((prep.rating[rows], prep.case_truth[prep.case_codes[rows]]))
    return out


# ---------------------------------------------------------------------------
# Public DataFrame API
# ---------------------------------------------------------------------------


def reader_aucs(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
    clip: bool = True,
) -> pd.DataFrame:
    """Empirical AUC of each reader with its DeLong standard error and normal CI.

    ``AUC = 1/(m n) Σ_i Σ_j ψ(X_i, Y_j)`` (Mann–Whitney, ties ½);
    ``Var = s²(V10)/m + s²(V01)/n`` with sample variances (divisors ``m - 1``, ``n - 1``)
    of the placements (DeLong et al. 1988); ``CI = AUC ± z_{1-α/2} sqrt(Var)``.

    Parameters
    ----------
    df : DataFrame
        Long data, one row per reader × case.
    truth, rating, reader, case : str
        Column names. ``truth`` is 0/1 (1 = positive); higher ``rating`` = more likely
        positive. Readers may rate different case sets here.
    confidence : float
        Confidence level of the interval.
    nan_policy : {"raise", "omit"}
        ``"raise"`` rejects rows with NaN in any used column; ``"omit"`` drops them.
    clip : bool
        Truncate the CI to [0, 1] (default), as pROC's ``ci.auc(method="delong")``
        always does: an AUC cannot leave [0, 1], and the truncated interval keeps its
        coverage. ``False`` returns the raw normal interval.

    Returns
    -------
    DataFrame
        Columns ``reader, n_positive, n_negative, statistic, se, ci_low, ci_high``
        (``statistic`` is the AUC), one row per
        reader sorted by reader. ``se`` is 0 for a perfect or constant reader (as pROC's
        ``var()``), and NaN when a reader has fewer than two cases of a class (pROC: NA).

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Biometrics 44(3):837–845.
    Sun X, Xu W (2014). IEEE Signal Processing Letters 21(11):1389–1393.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc import reader_aucs
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    ... })
    >>> print(reader_aucs(df).round(3).to_string(index=False))
    reader  n_positive  n_negative  statistic    se  ci_low  ci_high
         A           3           3      0.889 0.157   0.581      1.0
         B           3           3      1.000 0.000   1.000      1.0
    """
    confidence = check_confidence(confidence)
    prep = _prepare_long(
        df, truth=truth, rating=rating, case=case, groups={"reader": reader}, nan_policy=nan_policy
    )
    readers = prep.groups[0]
    if prep.complete:
        _require_two_classes(prep.case_truth, truth=truth)
        auc, v10, v01 = placements(prep.wide(), prep.case_truth)
        var = np.diag(delong_cov(v10, v01))
        n_pos = np.full(len(readers), v10.shape[1])
        n_neg = np.full(len(readers), v01.shape[1])
    else:
        auc = np.empty(len(readers))
        var = np.empty(len(readers))
        n_pos = np.empty(len(readers), dtype=int)
        n_neg = np.empty(len(readers), dtype=int)
        for i, (r_i, t_i) in enumerate(_per_reader(prep)):
            _require_two_classes(t_i, truth=truth, who=f"reader {readers[i]!r}")
            a_i, v10, v01 = placements(r_i, t_i)
            auc[i] = a_i[0]
            var[i] = delong_cov(v10, v01)[0, 0]
            n_pos[i] = v10.shape[1]
            n_neg[i] = v01.shape[1]
    se = np.sqrt(var)
    half = _z_crit(confidence) * se
    low, high = auc - half, auc + half
    if clip:
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return pd.DataFrame(
        {
            "reader": readers.to_numpy(),
            "n_positive": n_pos.astype(int),
            "n_negative": n_neg.astype(int),
            "statistic": auc,
            "se": se,
            "ci_low": low,
            "ci_high": high,
        },
        columns=READER_AUC_COLUMNS,
    )


def compare_readers(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
    clip: bool = True,
) -> pd.DataFrame:
    """Paired DeLong test between every pair of readers rating the same cases.

    For readers ``a < b``: ``diff = θ_a - θ_b``;
    ``Var(diff) = S_aa + S_bb - 2 S_ab`` with the DeLong covariance ``S`` (see
    :func:`delong_cov`); ``z = diff / SE``; two-sided ``p = 2 Φ(-|z|)``;
    ``CI = diff ± z_{1-α/2} SE``. This is R pROC's
    ``roc.test(roc_a, roc_b, method="delong", paired=TRUE)`` (statistic ``Z``, ``p.value``
    and ``conf.int``). Zero variance follows pROC: ``diff = 0`` → ``z = 0``, ``p = 1``
    (identical readers, two perfect readers); ``diff ≠ 0`` → ``z = ±inf``, ``p = 0``.

    Parameters
    ----------
    df : DataFrame
        Long data, one row per reader × case; every reader must rate the same cases.
    truth, rating, reader, case : str
        Column names (see :func:`reader_aucs`).
    confidence : float
        Confidence level of the CI of the difference.
    nan_policy : {"raise", "omit"}
        As in :func:`reader_aucs`; after omitting, the readers must still share cases.
    clip : bool
        Truncate the CI of the difference to [-1, 1], the range of a difference of two
        AUCs (default; pROC does not, but its interval never matters there).

    Returns
    -------
    DataFrame
        Columns ``reader_a, reader_b, auc_a, auc_b, statistic, se, z, p_value, ci_low,
        ci_high`` with ``statistic = auc_a - auc_b``; one row per pair in sorted reader
        order (``reader_a < reader_b``).
        Empty (same columns) when there is a single reader.

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Biometrics 44(3):837–845.
    Sun X, Xu W (2014). IEEE Signal Processing Letters 21(11):1389–1393.
    Robin X et al. (2011). pROC. BMC Bioinformatics 12:77.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc import compare_readers
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    ... })
    >>> res = compare_readers(df)
    >>> cols = ["reader_a", "reader_b", "statistic", "z", "p_value", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader_a reader_b  statistic      z  p_value  ci_low  ci_high
           A        B     -0.111 -0.707     0.48  -0.419    0.197
    """
    confidence = check_confidence(confidence)
    prep = _prepare_long(
        df, truth=truth, rating=rating, case=case, groups={"reader": reader}, nan_policy=nan_policy
    )
    _require_same_cases(prep, case=case)
    _require_two_classes(prep.case_truth, truth=truth)
    auc, v10, v01 = placements(prep.wide(), prep.case_truth)
    res = paired_delong(auc, delong_cov(v10, v01), confidence=confidence)
    if clip:
        res["ci_low"] = np.clip(res["ci_low"], -1.0, 1.0)
        res["ci_high"] = np.clip(res["ci_high"], -1.0, 1.0)
    readers = prep.groups[0].to_numpy()
    return pd.DataFrame(
        {
            "reader_a": readers[res["a"]],
            "reader_b": readers[res["b"]],
            "auc_a": auc[res["a"]],
            "auc_b": auc[res["b"]],
            "statistic": res["diff"],
            "se": res["se"],
            "z": res["z"],
            "p_value": res["p_value"],
            "ci_low": res["ci_low"],
            "ci_high": res["ci_high"],
        },
        columns=COMPARE_COLUMNS,
    )


def compare_unpaired(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """DeLong test for two independent (unpaired) ROC curves, for every pair of readers.

    Each reader's AUC and DeLong variance ``V_a = s²(V10_a)/m_a + s²(V01_a)/n_a`` come from
    its own cases, which may differ between readers. As in pROC's
    ``roc.test(..., paired=FALSE, method="delong")`` (``delong.unpaired.test``):
    ``t = (θ_a - θ_b) / sqrt(V_a + V_b)`` referred to a t distribution with
    Welch–Satterthwaite degrees of freedom
    ``df = (V_a + V_b)² / [V_a² / (N_a - 1) + V_b² / (N_b - 1)]``, ``N = m + n``.
    pROC reports no CI for this test; here ``CI = diff ± t_{df, 1-α/2} SE`` (same
    reference distribution). When ``V_a + V_b = 0`` pROC returns ``p = NaN`` (0/0
    degrees of freedom); so does this function, with ``t = 0/0 = NaN`` or ``±inf``.

    Returns
    -------
    DataFrame
        Columns ``reader_a, reader_b, auc_a, auc_b, statistic, se, t, df, p_value, ci_low,
        ci_high`` with ``statistic = auc_a - auc_b``, one row per pair in sorted reader
        order.

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Biometrics 44(3):837–845.
    Robin X et al. (2011). pROC. BMC Bioinformatics 12:77.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc import compare_unpaired
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    ... })
    >>> res = compare_unpaired(df)
    >>> cols = ["reader_a", "reader_b", "statistic", "t", "df", "p_value"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader_a reader_b  statistic      t  df  p_value
           A        B     -0.111 -0.707 5.0    0.511
    """
    confidence = check_confidence(confidence)
    prep = _prepare_long(
        df, truth=truth, rating=rating, case=case, groups={"reader": reader}, nan_policy=nan_policy
    )
    readers = prep.groups[0]
    n_r = len(readers)
    auc = np.empty(n_r)
    var = np.empty(n_r)
    n_tot = np.empty(n_r)
    for i, (r_i, t_i) in enumerate(_per_reader(prep)):
        _require_two_classes(t_i, truth=truth, who=f"reader {readers[i]!r}")
        a_i, v10, v01 = placements(r_i, t_i)
        auc[i] = a_i[0]
        var[i] = delong_cov(v10, v01)[0, 0]
        n_tot[i] = t_i.shape[0]
    a, b = np.triu_indices(n_r, k=1)
    diff = auc[a] - auc[b]
    v = var[a] + var[b]
    se = np.sqrt(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = diff / se
        dof = v**2 / (var[a] ** 2 / (n_tot[a] - 1) + var[b] ** 2 / (n_tot[b] - 1))
        p = 2.0 * stats.t.sf(np.abs(t_stat), dof)
        half = stats.t.ppf(0.5 + confidence / 2.0, dof) * se
    r_arr = readers.to_numpy()
    return pd.DataFrame(
        {
            "reader_a": r_arr[a],
            "reader_b": r_arr[b],
            "auc_a": auc[a],
            "auc_b": auc[b],
            "statistic": diff,
            "se": se,
            "t": t_stat,
            "df": dof,
            "p_value": p,
            "ci_low": diff - half,
            "ci_high": diff + half,
        },
        columns=UNPAIRED_COLUMNS,
    )


def roc_curve(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Empirical ROC operating points of each reader.

    A case is called positive when ``rating >= threshold``. For every reader the first row
    is ``threshold = +inf`` (``fpr = tpr = 0``), followed by one row per distinct rating in
    decreasing order, ending at ``fpr = tpr = 1``:
    ``tpr(c) = #(X >= c) / m``, ``fpr(c) = #(Y >= c) / n``. The trapezoidal area under these
    points equals the Mann–Whitney AUC. pROC places its thresholds half-way between
    adjacent ratings (``rating > threshold``); the operating points are the same.

    Returns
    -------
    DataFrame
        Columns ``reader, threshold, fpr, tpr``, readers sorted, thresholds decreasing.

    References
    ----------
    Fawcett T (2006). An introduction to ROC analysis. Pattern Recognition Letters
    27(8):861–874.

    *Output contract.* Not a DataFrame of estimates: operating points ``threshold, fpr,
    tpr``, not an estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc import roc_curve
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    ... })
    >>> print(roc_curve(df).query("reader == 'A'").round(3).to_string(index=False))
    reader  threshold   fpr   tpr
         A        inf 0.000 0.000
         A        5.0 0.000 0.333
         A        4.0 0.000 0.667
         A        3.0 0.333 0.667
         A        2.0 0.333 1.000
         A        1.0 1.000 1.000
    """
    prep = _prepare_long(
        df, truth=truth, rating=rating, case=case, groups={"reader": reader}, nan_policy=nan_policy
    )
    readers = prep.groups[0]
    parts = []
    for i, (r_i, t_i) in enumerate(_per_reader(prep)):
        _require_two_classes(t_i, truth=truth, who=f"reader {readers[i]!r}")
        levels, inv = np.unique(r_i, return_inverse=True)
        pos = np.bincount(inv[t_i], minlength=levels.size)[::-1]
        neg = np.bincount(inv[~t_i], minlength=levels.size)[::-1]
        tpr = np.concatenate([[0.0], np.cumsum(pos) / pos.sum()])
        fpr = np.concatenate([[0.0], np.cumsum(neg) / neg.sum()])
        thr = np.concatenate([[np.inf], levels[::-1]])
        parts.append(
            pd.DataFrame(
                {"reader": [readers[i]] * thr.size, "threshold": thr, "fpr": fpr, "tpr": tpr}
            )
        )
    return pd.concat(parts, ignore_index=True)[ROC_CURVE_COLUMNS]


def _auc_from_level_counts(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC of samples given as counts per rating level (levels ascending).

    ``pos`` and ``neg`` have shape (B, L): how many positive / negative cases sit at each
    of the L ordered rating levels in each of B samples.
    ``AUC = Σ_l pos_l (Σ_{l' < l} neg_l' + ½ neg_l) / (m n)``.
    """
    pos = np.asarray(pos, dtype=float)
    neg = np.asarray(neg, dtype=float)
    below = np.cumsum(neg, axis=-1) - neg
    num = np.sum(pos * (below + 0.5 * neg), axis=-1)
    auc: np.ndarray = num / (pos.sum(axis=-1) * neg.sum(axis=-1))
    return auc


def _bootstrap_aucs(
    r: np.ndarray, t: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Stratified bootstrap AUCs of one reader (resample positives and negatives apart).

    Resampling ``m`` positives with replacement puts a Multinomial(m, p) number of them on
    each distinct rating level (p = observed level frequencies), so each replicate is drawn
    directly as level counts: O(B L) time, chunked to bound memory.
    """
    levels, inv = np.unique(r, return_inverse=True)
    n_levels = levels.size
    pos_counts = np.bincount(inv[t], minlength=n_levels)
    neg_counts = np.bincount(inv[~t], minlength=n_levels)
    m, n = int(pos_counts.sum()), int(neg_counts.sum())
    out = np.empty(n_boot)
    chunk = max(1, (1 << 22) // n_levels)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        p = rng.multinomial(m, pos_counts / m, size=size)
        q = rng.multinomial(n, neg_counts / n, size=size)
        out[start : start + size] = _auc_from_level_counts(p, q)
    return out


def bootstrap_auc_ci(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Stratified bootstrap percentile CI of each reader's AUC.

    In every replicate the ``m`` positive and ``n`` negative cases are resampled with
    replacement separately (pROC ``ci.auc(method="bootstrap", boot.stratified=TRUE)``),
    and the percentile interval ``[q_{α/2}, q_{1-α/2}]`` of the replicate AUCs is reported
    (quantiles as R type 7 / numpy "linear"); ``se`` is their standard deviation. The
    replicates are drawn as multinomial counts per rating level (equivalent in
    distribution to resampling cases), which is exact and vectorised.

    Parameters
    ----------
    n_boot : int
        Number of bootstrap replicates (≥ 1).
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``; results are reproducible for a fixed seed.

    Returns
    -------
    DataFrame
        Columns ``reader, n_positive, n_negative, statistic, se, ci_low, ci_high``
        (``statistic`` is the AUC).

    References
    ----------
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13.
    Carpenter J, Bithell J (2000). Bootstrap confidence intervals: when, which, what?
    Statistics in Medicine 19(9):1141–1164.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc import bootstrap_auc_ci
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 6 + ["B"] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    ... })
    >>> res = bootstrap_auc_ci(df, n_boot=500, seed=1)
    >>> cols = ["reader", "statistic", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
    reader  statistic  ci_low  ci_high
         A      0.889   0.439      1.0
         B      1.000   1.000      1.0
    """
    confidence = check_confidence(confidence)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot: must be a positive integer, got {n_boot!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    prep = _prepare_long(
        df, truth=truth, rating=rating, case=case, groups={"reader": reader}, nan_policy=nan_policy
    )
    readers = prep.groups[0]
    rows = []
    alpha = 1.0 - confidence
    for i, (r_i, t_i) in enumerate(_per_reader(prep)):
        _require_two_classes(t_i, truth=truth, who=f"reader {readers[i]!r}")
        auc = float(placements(r_i, t_i)[0][0])
        boot = _bootstrap_aucs(r_i, t_i, int(n_boot), rng)
        low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
        rows.append(
            {
                "reader": readers[i],
                "n_positive": int(t_i.sum()),
                "n_negative": int((~t_i).sum()),
                "statistic": auc,
                "se": float(boot.std(ddof=1)) if n_boot > 1 else np.nan,
                "ci_low": float(low),
                "ci_high": float(high),
            }
        )
    return pd.DataFrame(rows, columns=READER_AUC_COLUMNS)
