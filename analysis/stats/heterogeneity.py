"""Heterogeneity of an estimate between independent subgroups (Cochran's Q, I²).

Used for the AUC of a reader in the subgroups of the cases (a case attribute, the split or
the site): the subgroups hold different cases, so their estimates are independent and the
test of interaction is Cochran's Q on the inverse-variance weighted estimates.

Pure numpy/pandas/scipy (no Django), as the rest of :mod:`analysis.stats`.

References
----------
Cochran, W. G. (1954). The combination of estimates from different experiments.
*Biometrics*, 10(1), 101-129.

Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis.
*Statistics in Medicine*, 21(11), 1539-1558.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import check_confidence

HETEROGENEITY_COLUMNS: list[str] = [
    "n_groups",
    "statistic",
    "df",
    "p_value",
    "i_squared",
    "pooled",
    "pooled_se",
    "pooled_ci_low",
    "pooled_ci_high",
]


def cochran_q(
    estimates: np.ndarray | list[float] | pd.Series,
    se: np.ndarray | list[float] | pd.Series,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Cochran's Q test that k independent estimates are equal, with I² and the pooled value.

    With weights ``w_i = 1 / se_i²``, the fixed-effect pooled estimate
    ``θ̄ = Σ w_i θ_i / Σ w_i`` (SE ``1/√Σ w_i``, normal interval at ``confidence``),
    ``Q = Σ w_i (θ_i - θ̄)²`` on ``k - 1`` degrees of freedom (``p = P(χ²_{k-1} > Q)``) and
    ``I² = max(0, (Q - (k-1)) / Q)`` (Higgins & Thompson 2002; 0 when Q = 0), as
    ``metafor::rma(yi, sei = se, method = "FE")``.

    Parameters
    ----------
    estimates : array-like
        The k estimates (e.g. the AUC in each subgroup), k >= 2.
    se : array-like
        Their standard errors, all finite and > 0.
    confidence : float
        Confidence level of the pooled estimate's interval (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row: ``n_groups, statistic`` (Q), ``df, p_value, i_squared, pooled, pooled_se,
        pooled_ci_low, pooled_ci_high``.

    Raises
    ------
    ValueError
        ``estimates`` and ``se`` differ in length, fewer than two estimates, a non-finite
        value, or an SE that is not positive.

    References
    ----------
    Cochran (1954), *Biometrics* 10, 101-129; Higgins & Thompson (2002), *Stat Med* 21,
    1539-1558.

    Examples
    --------
    >>> from analysis.stats.heterogeneity import cochran_q
    >>> res = cochran_q([0.82, 0.74, 0.91], [0.04, 0.05, 0.06])
    >>> print(res[["n_groups", "statistic", "df", "p_value", "i_squared"]].round(3).to_string(index=False))
     n_groups  statistic  df  p_value  i_squared
            3      4.772   2    0.092      0.581
    """
    confidence = check_confidence(confidence)
    theta = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(se, dtype=float).ravel()
    if theta.shape != s.shape:
        raise ValueError(
            f"se: expected {theta.size} standard errors (one per estimate), got {s.size}"
        )
    if theta.size < 2:
        raise ValueError(f"estimates: need at least two estimates, got {theta.size}")
    if not np.isfinite(theta).all():
        raise ValueError("estimates: every estimate must be finite")
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError("se: every standard error must be finite and greater than 0")
    w = 1.0 / s**2
    pooled = float(np.sum(w * theta) / np.sum(w))
    pooled_se = float(1.0 / np.sqrt(np.sum(w)))
    q = float(np.sum(w * (theta - pooled) ** 2))
    df = theta.size - 1
    p = float(stats.chi2.sf(q, df))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return pd.DataFrame(
        [
            {
                "n_groups": int(theta.size),
                "statistic": q,
                "df": df,
                "p_value": p,
                "i_squared": i2,
                "pooled": pooled,
                "pooled_se": pooled_se,
                "pooled_ci_low": pooled - z * pooled_se,
                "pooled_ci_high": pooled + z * pooled_se,
            }
        ],
        columns=HETEROGENEITY_COLUMNS,
    )
