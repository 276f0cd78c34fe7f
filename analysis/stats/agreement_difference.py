"""The difference of Fleiss' kappa among the same readers between two modalities.

Inter-reader agreement unaided vs aided: the same readers read the same cases in two
modalities, so the two kappas are correlated through the cases; :func:`fleiss_kappa_difference`
resamples the cases (both modalities together) to get a CI and a p value of the difference.
Plain numpy / pandas (no Django).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats._checks import (
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)
from analysis.stats.agreement import _category_set, _fleiss_point


def _counts(codes: np.ndarray, q: int) -> np.ndarray:
    """Cases x categories counts of a cases x readers matrix of category codes."""
    return np.stack([(codes == j).sum(axis=1) for j in range(q)], axis=1).astype(float)


def _kappas(counts: np.ndarray, m: int) -> np.ndarray:
    """Fleiss' kappa of each resample: ``counts`` is (B, N, q)."""
    n = counts.shape[1]
    p_i = ((counts**2).sum(axis=2) - m) / (m * (m - 1))
    p_bar = p_i.mean(axis=1)
    p_j = counts.sum(axis=1) / (n * m)
    p_e = (p_j**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        k: np.ndarray = (p_bar - p_e) / (1 - p_e)
    k[np.isclose(p_e, 1.0, rtol=0, atol=1e-12)] = np.nan
    return k


def fleiss_kappa_difference(
    df: pd.DataFrame,
    *,
    modality_a: object,
    modality_b: object,
    categories: Sequence[float] | None = None,
    threshold: float | None = None,
    n_boot: int = 2000,
    seed: int | None = 1,
    confidence: float = 0.95,
    reader: str = "reader_id",
    case: str = "case_id",
    modality: str = "modality",
    category: str = "category",
) -> pd.DataFrame:
    r"""Fleiss' kappa among readers in ``modality_b`` minus that in ``modality_a``.

    With :math:`\kappa_a`, :math:`\kappa_b` Fleiss' (1971) kappa of the m readers on the
    N cases in each modality (:func:`analysis.stats.agreement.fleiss_kappa` with
    ``reader=None``), the statistic is :math:`\hat\Delta = \kappa_b - \kappa_a`. The
    kappas share the cases, so the cases are resampled with replacement (a case keeps its
    ratings in both modalities; Efron & Tibshirani 1993, ch. 13): B resamples give
    :math:`\Delta^*_1..\Delta^*_B` (resamples where a kappa is undefined are left out),
    the percentile CI :math:`[\Delta^*_{(\alpha/2)}, \Delta^*_{(1-\alpha/2)}]` and the
    two-sided bootstrap p value :math:`p = \min(1, 2 \min(\#\{\Delta^* \le 0\},
    \#\{\Delta^* \ge 0\}) / B')` (the CI-inversion p of the percentile interval).

    Every reader must rate every case exactly once in both modalities (the paired,
    fully crossed design). The same ``seed`` gives the same CI and p.

    Parameters
    ----------
    df : DataFrame
        One row per reader x case x modality: ``reader``, ``case``, ``modality``,
        ``category``; rows of other modalities are ignored.
    modality_a, modality_b : object
        The reference and the compared modality.
    categories : sequence of numbers, optional
        The category set (default: those observed); or ``threshold`` for positive calls.
    n_boot : int
        Bootstrap resamples (at least 1).
    seed : int, optional
        Seed of the resampling.
    confidence : float
        Level of the CI.

    Returns
    -------
    DataFrame
        One row: ``modality_a, modality_b, scale, n_readers, n_cases, kappa_a, kappa_b,
        statistic, ci_low, ci_high, p_value, n_boot`` (``n_boot`` the resamples with both
        kappas defined).

    References
    ----------
    Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychol Bull
    76:378–382. Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap, ch. 13
    and 15. Chapman & Hall.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.agreement_difference import fleiss_kappa_difference
    >>> a = {"r1": [1, 1, 2, 2, 3, 3, 1, 2], "r2": [1, 2, 2, 2, 3, 1, 1, 3],
    ...      "r3": [2, 1, 2, 3, 3, 3, 1, 2]}
    >>> b = {"r1": [1, 1, 2, 2, 3, 3, 1, 2], "r2": [1, 1, 2, 2, 3, 3, 1, 3],
    ...      "r3": [1, 1, 2, 3, 3, 3, 1, 2]}
    >>> df = pd.DataFrame([{"reader_id": r, "case_id": k, "modality": m, "category": v[k]}
    ...                    for m, d in ((1, a), (2, b)) for r, v in d.items() for k in range(8)])
    >>> out = fleiss_kappa_difference(df, modality_a=1, modality_b=2, n_boot=500, seed=1)
    >>> print(out[["kappa_a", "kappa_b", "statistic"]].round(3).to_string(index=False))
     kappa_a  kappa_b  statistic
       0.372    0.749      0.377
    """
    df = require_frame(df)
    cols = {"reader": reader, "case": case, "modality": modality, "category": category}
    require_columns(df, cols)
    conf = check_confidence(confidence)
    if int(n_boot) < 1:
        raise ValueError(f"n_boot: must be at least 1, got {n_boot!r}")
    if modality_a == modality_b:
        raise ValueError("modality_b: must differ from modality_a")
    data = df[df[modality].isin([modality_a, modality_b])]
    for name, value in (("modality_a", modality_a), ("modality_b", modality_b)):
        if not (data[modality] == value).any():
            raise ValueError(f"{name}: no rating in modality {value!r}")
    require_unique(data, {"reader": reader, "case": case, "modality": modality})
    values = require_numeric(data, category, arg="category")
    if np.isnan(values).any():
        raise ValueError("category: missing ratings (every reader rates every case)")
    codes, cats, scale = _category_set(
        values, categories=categories, threshold=threshold, arg="category"
    )
    frame = data.assign(_code=codes)
    wide = frame.pivot_table(
        index=case, columns=[modality, reader], values="_code", aggfunc="first"
    )
    if wide.isna().any().any():
        raise ValueError(
            "df: not fully crossed (every reader must rate every case in both modalities)"
        )
    mat_a = wide[modality_a].to_numpy(dtype=int)
    mat_b = wide[modality_b].to_numpy(dtype=int)
    if mat_a.shape[1] != mat_b.shape[1] or list(wide[modality_a].columns) != list(
        wide[modality_b].columns
    ):
        raise ValueError("df: the two modalities must have the same readers")
    m, n = mat_a.shape[1], mat_a.shape[0]
    if m < 2:
        raise ValueError("df: at least two readers are needed")
    if n < 2:
        raise ValueError("df: at least two cases are needed")
    q = len(cats)
    counts_a, counts_b = _counts(mat_a, q), _counts(mat_b, q)
    kappa_a = _fleiss_point(counts_a, m)[2]
    kappa_b = _fleiss_point(counts_b, m)[2]
    rng = np.random.default_rng(seed)
    boot = np.empty(int(n_boot))
    chunk = max(1, 2_000_000 // max(n * q, 1))
    for start in range(0, int(n_boot), chunk):
        size = min(chunk, int(n_boot) - start)
        idx = rng.integers(0, n, size=(size, n))
        boot[start : start + size] = _kappas(counts_b[idx], m) - _kappas(counts_a[idx], m)
    finite = boot[np.isfinite(boot)]
    row: dict[str, object] = {
        "modality_a": modality_a,
        "modality_b": modality_b,
        "scale": scale,
        "n_readers": m,
        "n_cases": n,
        "kappa_a": kappa_a,
        "kappa_b": kappa_b,
        "statistic": kappa_b - kappa_a,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "n_boot": int(finite.size),
    }
    if finite.size and np.isfinite(kappa_b - kappa_a):
        alpha = 1 - conf
        low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
        tail = min((finite <= 0).sum(), (finite >= 0).sum())
        row |= {
            "ci_low": float(low),
            "ci_high": float(high),
            "p_value": float(min(1.0, 2 * tail / finite.size)),
        }
    return pd.DataFrame([row])
