"""Clustered AUC (several lesions per patient) and the omnibus test of k correlated AUCs.

When a patient contributes several units (lesions, breasts, segments), the units of one
patient are correlated and the DeLong variance, which treats them as independent, is too
small. Obuchowski (1997) keeps the Mann-Whitney AUC over all units and estimates its
variance from the *cluster sums* of the DeLong placements. The same cluster sums give the
covariance of the AUCs of several readers on the same units, hence the paired comparison
of two readers and the omnibus chi-square test that k correlated AUCs are equal
(DeLong et al. 1988, with the DeLong covariance when there is no clustering).

Pure numpy/pandas/scipy (no Django), as the rest of :mod:`analysis.stats`.

References
----------
Obuchowski, N. A. (1997). Nonparametric analysis of clustered ROC curve data.
*Biometrics*, 53(2), 567-578.

DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under
two or more correlated receiver operating characteristic curves: a nonparametric approach.
*Biometrics*, 44(3), 837-845.
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
    require_numeric,
    require_unique,
)
from analysis.stats.roc import delong_cov, placements

CLUSTERED_AUC_COLUMNS: list[str] = [
    "reader",
    "n_clusters",
    "n_positive",
    "n_negative",
    "statistic",
    "se",
    "ci_low",
    "ci_high",
]
CLUSTERED_COMPARE_COLUMNS: list[str] = [
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
OMNIBUS_COLUMNS: list[str] = ["n_readers", "statistic", "df", "p_value", "covariance"]


def clustered_auc_cov(
    ratings: np.ndarray, truth: np.ndarray, cluster: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several readers and their Obuchowski (1997) covariance matrix.

    With ``I`` clusters, ``M`` positive and ``N`` negative units, ``m_i`` / ``n_i`` of
    them in cluster ``i``, the DeLong placements ``V10`` of the positive and ``V01`` of
    the negative units (:func:`analysis.stats.roc.placements`) and their cluster sums
    ``V10_i``, ``V01_i``:

    - ``S10[r, s] = I / ((I - 1) M) Σ_i (V10_i^r - m_i θ_r)(V10_i^s - m_i θ_s)``
    - ``S01[r, s] = I / ((I - 1) N) Σ_i (V01_i^r - n_i θ_r)(V01_i^s - n_i θ_s)``
    - ``S11[r, s] = I / (I - 1) Σ_i (V10_i^r - m_i θ_r)(V01_i^s - n_i θ_s)``
    - ``Cov(θ_r, θ_s) = S10/M + S01/N + (S11[r, s] + S11[s, r]) / (M N)``.

    With one unit per cluster this is the DeLong covariance with the divisors
    ``I/(I-1) (M-1)/M`` and ``I/(I-1) (N-1)/N`` in place of 1 (asymptotically the same).

    Parameters
    ----------
    ratings : ndarray, shape (R, n_units) or (n_units,)
        One row per reader; higher = more likely positive.
    truth : ndarray of bool, shape (n_units,)
    cluster : array_like, shape (n_units,)
        The cluster (patient) of each unit.

    Returns
    -------
    auc : ndarray, shape (R,)
    cov : ndarray, shape (R, R)

    *Output contract.* Not a DataFrame of estimates: an array building block of
    :func:`clustered_aucs`, :func:`compare_clustered` and :func:`omnibus_auc_test`.

    References
    ----------
    Obuchowski (1997), *Biometrics* 53, 567-578, eqs. 3-5.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.clustered_roc import clustered_auc_cov
    >>> ratings = np.array([5, 4, 2, 3, 1, 1, 4, 2])
    >>> truth = np.array([1, 1, 1, 0, 0, 0, 1, 0], dtype=bool)
    >>> auc, cov = clustered_auc_cov(ratings, truth, np.array([1, 1, 2, 2, 3, 3, 4, 4]))
    >>> print(auc.round(4), np.sqrt(cov).round(4))
    [0.9062] [[0.1488]]
    """
    r = np.atleast_2d(np.asarray(ratings, dtype=float))
    t = np.asarray(truth, dtype=bool)
    codes, uniques = pd.factorize(np.asarray(cluster), sort=True)
    n_clusters = len(uniques)
    if r.shape[1] != t.shape[0] or codes.shape[0] != t.shape[0]:
        raise ValueError("cluster: ratings, truth and cluster must have one entry per unit")
    if n_clusters < 2:
        raise ValueError("cluster: the variance needs at least two clusters")
    m, n = int(t.sum()), int((~t).sum())
    if m == 0 or n == 0:
        raise ValueError("truth: an AUC needs positive (1) and negative (0) units")
    auc, v10, v01 = placements(r, t)
    pos_codes, neg_codes = codes[t], codes[~t]
    m_i = np.bincount(pos_codes, minlength=n_clusters).astype(float)
    n_i = np.bincount(neg_codes, minlength=n_clusters).astype(float)
    sum10 = np.stack([np.bincount(pos_codes, weights=row, minlength=n_clusters) for row in v10])
    sum01 = np.stack([np.bincount(neg_codes, weights=row, minlength=n_clusters) for row in v01])
    d10 = sum10 - auc[:, None] * m_i[None, :]
    d01 = sum01 - auc[:, None] * n_i[None, :]
    factor = n_clusters / (n_clusters - 1)
    s10 = factor / m * (d10 @ d10.T)
    s01 = factor / n * (d01 @ d01.T)
    s11 = factor * (d10 @ d01.T)
    cov: np.ndarray = s10 / m + s01 / n + (s11 + s11.T) / (m * n)
    return auc, cov


@dataclass(frozen=True)
class _Units:
    readers: np.ndarray
    ratings: np.ndarray  # (R, n_units)
    truth: np.ndarray
    cluster: np.ndarray


def _units(
    df: object,
    *,
    truth: str,
    rating: str,
    reader: str,
    case: str,
    cluster: str | None,
    nan_policy: NanPolicy,
) -> _Units:
    """Validate long readings and return the reader x unit matrix, truth and clusters."""
    frame = require_frame(df)
    columns = {"truth": truth, "rating": rating, "reader": reader, "case": case}
    if cluster is not None:
        columns["cluster"] = cluster
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(dict.fromkeys(columns.values())), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"reader": reader, "case": case})
    values = require_numeric(frame, rating, arg="rating")
    t = binary_truth(frame[truth], arg="truth")
    per_case = pd.DataFrame({"case": frame[case].to_numpy(), "t": t})
    if (per_case.groupby("case")["t"].nunique() > 1).any():
        raise ValueError(f"truth: a case has both 0 and 1 in column {truth!r}")
    if cluster is not None:
        cl = pd.DataFrame({"case": frame[case].to_numpy(), "c": frame[cluster].to_numpy()})
        if (cl.groupby("case")["c"].nunique() > 1).any():
            raise ValueError(f"cluster: a case belongs to two clusters in column {cluster!r}")
    wide = (
        pd.DataFrame({"r": frame[reader].to_numpy(), "case": frame[case].to_numpy(), "v": values})
        .pivot(index="r", columns="case", values="v")
        .sort_index()
    )
    if wide.isna().any(axis=None):
        raise ValueError(
            f"df: readers did not all rate the same cases (column case={case!r}); "
            "every reader must rate every case"
        )
    first = frame.drop_duplicates(subset=[case]).set_index(case)
    units = wide.columns
    truth_arr = binary_truth(first.loc[units, truth], arg="truth")
    cluster_arr = first.loc[units, cluster].to_numpy() if cluster is not None else np.asarray(units)
    return _Units(
        readers=wide.index.to_numpy(),
        ratings=wide.to_numpy(dtype=float),
        truth=truth_arr,
        cluster=cluster_arr,
    )


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def clustered_aucs(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    cluster: str = "patient_id",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
    clip: bool = True,
) -> pd.DataFrame:
    """AUC of each reader with Obuchowski's clustered standard error and normal CI.

    ``θ = 1/(M N) Σ ψ(X, Y)`` over all positive x negative units (Mann-Whitney, ties ½,
    the units of the same cluster included), ``Var(θ)`` from :func:`clustered_auc_cov`,
    ``CI = θ ± z_{1-α/2} SE``, truncated to [0, 1] when ``clip`` (as pROC does).

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x unit (``case`` identifies the unit, e.g. the
        lesion); every reader rates every unit.
    truth, rating, reader, case, cluster : str
        Column names; ``cluster`` (default ``patient_id``) holds the cluster of each unit.
    confidence : float
        Confidence level (default 0.95).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.
    clip : bool
        Truncate the interval to [0, 1] (default).

    Returns
    -------
    pandas.DataFrame
        One row per reader (sorted): ``reader, n_clusters, n_positive, n_negative,
        statistic`` (the AUC), ``se, ci_low, ci_high``.

    References
    ----------
    Obuchowski (1997), *Biometrics* 53, 567-578.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.clustered_roc import clustered_aucs
    >>> df = pd.DataFrame({
    ...     "reader_id": "A",
    ...     "case_id": range(8),
    ...     "patient_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...     "truth": [1, 1, 1, 0, 0, 0, 1, 0],
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 2],
    ... })
    >>> print(clustered_aucs(df).round(3).to_string(index=False))
    reader  n_clusters  n_positive  n_negative  statistic    se  ci_low  ci_high
         A           4           4           4      0.906 0.149   0.615      1.0
    """
    confidence = check_confidence(confidence)
    u = _units(
        df,
        truth=truth,
        rating=rating,
        reader=reader,
        case=case,
        cluster=cluster,
        nan_policy=nan_policy,
    )
    auc, cov = clustered_auc_cov(u.ratings, u.truth, u.cluster)
    se = np.sqrt(np.diag(cov))
    z = _z(confidence)
    low, high = auc - z * se, auc + z * se
    if clip:
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return pd.DataFrame(
        {
            "reader": u.readers,
            "n_clusters": len(pd.unique(u.cluster)),
            "n_positive": int(u.truth.sum()),
            "n_negative": int((~u.truth).sum()),
            "statistic": auc,
            "se": se,
            "ci_low": low,
            "ci_high": high,
        },
        columns=CLUSTERED_AUC_COLUMNS,
    )


def compare_clustered(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    cluster: str = "patient_id",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
    clip: bool = True,
) -> pd.DataFrame:
    """Paired comparison of every pair of readers' AUCs on the same clustered units.

    For readers ``a < b``: ``diff = θ_a - θ_b``, ``Var(diff) = C_aa + C_bb - 2 C_ab`` with
    Obuchowski's clustered covariance ``C`` (:func:`clustered_auc_cov`), ``z = diff / SE``,
    two-sided ``p = 2 Φ(-|z|)``, ``CI = diff ± z_{1-α/2} SE`` (truncated to [-1, 1] when
    ``clip``). With zero variance, ``diff = 0`` gives ``z = 0, p = 1`` and ``diff ≠ 0``
    ``z = ±inf, p = 0`` (as :func:`analysis.stats.roc.compare_readers`).

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x unit; every reader rates every unit.
    truth, rating, reader, case, cluster : str
        Column names.
    confidence : float
        Confidence level of the CI of the difference.
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.
    clip : bool
        Truncate the CI of the difference to [-1, 1] (default).

    Returns
    -------
    pandas.DataFrame
        One row per pair (sorted): ``reader_a, reader_b, auc_a, auc_b, statistic``
        (``auc_a - auc_b``), ``se, z, p_value, ci_low, ci_high``.

    References
    ----------
    Obuchowski (1997), *Biometrics* 53, 567-578, section 3.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.clustered_roc import compare_clustered
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8,
    ...     "case_id": list(range(8)) * 2,
    ...     "patient_id": [1, 1, 2, 2, 3, 3, 4, 4] * 2,
    ...     "truth": [1, 1, 1, 0, 0, 0, 1, 0] * 2,
    ...     "rating": [5, 4, 2, 3, 1, 1, 4, 2, 4, 4, 3, 2, 2, 1, 5, 3],
    ... })
    >>> res = compare_clustered(df)
    >>> print(res[["reader_a", "reader_b", "statistic", "p_value"]].round(3).to_string(index=False))
    reader_a reader_b  statistic  p_value
           A        B     -0.062    0.617
    """
    confidence = check_confidence(confidence)
    u = _units(
        df,
        truth=truth,
        rating=rating,
        reader=reader,
        case=case,
        cluster=cluster,
        nan_policy=nan_policy,
    )
    auc, cov = clustered_auc_cov(u.ratings, u.truth, u.cluster)
    a_idx, b_idx = np.triu_indices(len(auc), k=1)
    diff = auc[a_idx] - auc[b_idx]
    var = cov[a_idx, a_idx] + cov[b_idx, b_idx] - 2 * cov[a_idx, b_idx]
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    p = 2 * stats.norm.sf(np.abs(zval))
    z = _z(confidence)
    low, high = diff - z * se, diff + z * se
    if clip:
        low, high = np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)
    return pd.DataFrame(
        {
            "reader_a": u.readers[a_idx],
            "reader_b": u.readers[b_idx],
            "auc_a": auc[a_idx],
            "auc_b": auc[b_idx],
            "statistic": diff,
            "se": se,
            "z": zval,
            "p_value": p,
            "ci_low": low,
            "ci_high": high,
        },
        columns=CLUSTERED_COMPARE_COLUMNS,
    )


def omnibus_auc_test(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    cluster: str | None = None,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Omnibus chi-square test that k correlated AUCs (k readers, same cases) are equal.

    With the AUCs ``θ`` (length k), their covariance ``S`` and the contrast matrix ``L``
    of the successive differences (rows ``e_j - e_{j+1}``, ``j = 1..k-1``),
    ``χ² = (Lθ)' (L S L')⁻¹ (Lθ)`` on ``rank(L S L')`` degrees of freedom (DeLong et al.
    1988, section 3; any full-rank contrast of the differences gives the same χ²).
    ``S`` is the DeLong covariance (:func:`analysis.stats.roc.delong_cov`) when
    ``cluster`` is None, else Obuchowski's clustered covariance
    (:func:`clustered_auc_cov`). A singular ``L S L'`` (e.g. two identical readers) is
    inverted with the Moore-Penrose pseudo-inverse on its rank; when that rank is 0 the
    statistic and p value are NaN.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case; every reader rates every case.
    truth, rating, reader, case : str
        Column names.
    cluster : str or None
        Column of the cluster (patient) of each case, or None (independent cases).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_readers, statistic`` (χ²), ``df, p_value, covariance`` (``"delong"``
        or ``"obuchowski"``).

    References
    ----------
    DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44, 837-845; Obuchowski (1997).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.clustered_roc import omnibus_auc_test
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 8 + ["B"] * 8 + ["C"] * 8,
    ...     "case_id": list(range(8)) * 3,
    ...     "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 3,
    ...     "rating": [5, 4, 4, 2, 3, 2, 1, 1, 5, 5, 3, 2, 2, 2, 1, 1, 3, 2, 4, 1, 3, 2, 1, 2],
    ... })
    >>> print(omnibus_auc_test(df).round(3).to_string(index=False))
     n_readers  statistic  df  p_value covariance
             3      4.059   2    0.131     delong
    """
    u = _units(
        df,
        truth=truth,
        rating=rating,
        reader=reader,
        case=case,
        cluster=cluster,
        nan_policy=nan_policy,
    )
    k = len(u.readers)
    if k < 2:
        raise ValueError(f"reader: the omnibus test needs at least two readers, got {k}")
    if cluster is None:
        if u.truth.sum() < 2 or (~u.truth).sum() < 2:
            raise ValueError(
                "truth: the DeLong covariance needs two positive and two negative cases"
            )
        auc, v10, v01 = placements(u.ratings, u.truth)
        cov = delong_cov(v10, v01)
    else:
        auc, cov = clustered_auc_cov(u.ratings, u.truth, u.cluster)
    contrast = np.eye(k - 1, k) - np.eye(k - 1, k, k=1)
    diff = contrast @ auc
    middle = contrast @ cov @ contrast.T
    rank = int(np.linalg.matrix_rank(middle))
    if rank == 0:
        chi, p = np.nan, np.nan
    else:
        chi = float(diff @ np.linalg.pinv(middle) @ diff)
        p = float(stats.chi2.sf(chi, rank))
    return pd.DataFrame(
        {
            "n_readers": [k],
            "statistic": [chi],
            "df": [rank],
            "p_value": [p],
            "covariance": ["delong" if cluster is None else "obuchowski"],
        },
        columns=OMNIBUS_COLUMNS,
    )
