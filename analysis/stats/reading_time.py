"""Reading (or drafting) time by reader and condition, and the effect of an aid on it.

Plain numpy / pandas / scipy / statsmodels (no Django).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.stats._checks import (
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
)


def _times(df: pd.DataFrame, columns: dict[str, str], seconds: str) -> pd.DataFrame:
    df = require_frame(df)
    require_columns(df, columns)
    values = require_numeric(df, seconds, arg="seconds")
    if (values[~np.isnan(values)] < 0).any():
        raise ValueError("seconds: times must not be negative")
    out = df.assign(**{seconds: values}).dropna(subset=[seconds])
    if out.empty:
        raise ValueError("seconds: no reading has a time")
    return out


def _gls(frame: pd.DataFrame, var_r: float, var_c: float, var_e: float) -> tuple[float, float]:
    """β and its SE by generalised least squares at the REML variance components.

    ``(X'V⁻¹X)⁻¹`` with ``V = σ_r² Z_r Z_rᵀ + σ_c² Z_c Z_cᵀ + σ² I`` (Woodbury identity, so
    only a readers + cases square matrix is inverted): the covariance lme4's ``vcov``
    reports (statsmodels' ``bse_fe`` comes from the joint Hessian and differs slightly).
    """
    x = np.column_stack([np.ones(len(frame)), frame["x"].to_numpy(dtype=float)])
    y = frame["y"].to_numpy(dtype=float)
    blocks, prior = [], []
    for col, var in (("r", var_r), ("c", var_c)):
        if var > 1e-12:
            codes = pd.factorize(frame[col])[0]
            blocks.append(np.eye(codes.max() + 1)[codes])
            prior.append(np.full(codes.max() + 1, var_e / var))
    if blocks:
        z = np.hstack(blocks)
        inner = np.linalg.inv(np.diag(np.concatenate(prior)) + z.T @ z)
        zx, zy = z.T @ x, z.T @ y
        xvx = (x.T @ x - zx.T @ inner @ zx) / var_e
        xvy = (x.T @ y - zx.T @ inner @ zy) / var_e
    else:
        xvx, xvy = x.T @ x / var_e, x.T @ y / var_e
    cov = np.linalg.inv(xvx)
    coef = cov @ xvy
    return float(coef[1]), float(np.sqrt(cov[1, 1]))


def reading_time_summary(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    modality: str = "modality",
    seconds: str = "seconds",
) -> pd.DataFrame:
    """Median and interquartile range of the time per reader and modality.

    Quartiles are R's default (``quantile(type = 7)``, linear interpolation); readings
    without a time are left out.

    *Output contract.* A description, not an estimate: no CI, no test (``statistic`` is not
    a column; the median and quartiles are named).

    Returns
    -------
    DataFrame
        ``reader, modality, n, median, q1, q3`` (seconds), one row per reader × modality.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.reading_time import reading_time_summary
    >>> df = pd.DataFrame({"reader_id": ["A"] * 4 + ["B"] * 4, "modality": [1, 1, 2, 2] * 2,
    ...                    "seconds": [30, 50, 20, 26, 40, 44, 35, 31]})
    >>> print(reading_time_summary(df).to_string(index=False))
    reader  modality  n  median   q1   q3
         A         1  2    40.0 35.0 45.0
         A         2  2    23.0 21.5 24.5
         B         1  2    42.0 41.0 43.0
         B         2  2    33.0 32.0 34.0
    """
    data = _times(df, {"reader": reader, "modality": modality, "seconds": seconds}, seconds)
    grouped = data.groupby([reader, modality], sort=True)[seconds]
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "median": grouped.median(),
            "q1": grouped.quantile(0.25),
            "q3": grouped.quantile(0.75),
        }
    ).reset_index()
    return out.rename(columns={reader: "reader", modality: "modality"})


def reading_time_model(
    df: pd.DataFrame,
    *,
    reference: object,
    treatment: object,
    confidence: float = 0.95,
    reader: str = "reader_id",
    case: str = "case_id",
    modality: str = "modality",
    seconds: str = "seconds",
) -> pd.DataFrame:
    r"""The ratio of times of ``treatment`` to ``reference``, readers and cases random.

    The linear mixed model :math:`\log t_{rcm} = \mu + \beta\,[m = \text{treatment}] + u_r
    + v_c + \varepsilon_{rcm}` with crossed random intercepts of reader and case
    (:math:`u_r \sim N(0, \sigma_r^2)`, :math:`v_c \sim N(0, \sigma_c^2)`), fitted by REML
    with statsmodels ``MixedLM`` (one group; readers and cases as variance components),
    the model of R ``lme4::lmer(log(t) ~ cond + (1|reader) + (1|case))``. The ratio of
    geometric mean times is :math:`e^\beta` (``statistic``), its Wald CI
    :math:`e^{\hat\beta \pm z\,SE}`, ``p_value`` the Wald z test of β = 0. Readings of
    the two modalities only; times of 0 are left out (no logarithm).

    Returns
    -------
    DataFrame
        One row: ``statistic`` (ratio), ``ci_low``, ``ci_high``, ``p_value``, ``beta``,
        ``se``, ``var_reader``, ``var_case``, ``var_residual``, ``n``, ``note`` (why the
        fit is doubtful, e.g. a variance component at 0 or no convergence).

    References
    ----------
    Baayen RH, Davidson DJ, Bates DM (2008). Mixed-effects modeling with crossed random
    effects for subjects and items. J Mem Lang 59:390–412.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.stats.reading_time import reading_time_model
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame([{"reader_id": r, "case_id": c, "modality": m,
    ...                     "seconds": float(np.exp(4 + 0.2 * r + 0.1 * c % 3 - 0.3 * (m == 2)
    ...                                             + rng.normal(0, 0.2)))}
    ...                    for r in range(4) for c in range(12) for m in (1, 2)])
    >>> out = reading_time_model(df, reference=1, treatment=2)
    >>> print(out[["statistic", "ci_low", "ci_high"]].round(3).to_string(index=False))
     statistic  ci_low  ci_high
         0.718   0.669    0.771
    """
    import statsmodels.formula.api as smf

    conf = check_confidence(confidence)
    cols = {"reader": reader, "case": case, "modality": modality, "seconds": seconds}
    data = _times(df, cols, seconds)
    data = data[data[modality].isin([reference, treatment]) & (data[seconds] > 0)]
    if reference == treatment:
        raise ValueError("treatment: must differ from reference")
    for name, value in (("reference", reference), ("treatment", treatment)):
        if not (data[modality] == value).any():
            raise ValueError(f"{name}: no timed reading in modality {value!r}")
    if data[reader].nunique() < 2 or data[case].nunique() < 2:
        raise ValueError("df: the model needs at least two readers and two cases")
    frame = pd.DataFrame(
        {
            "y": np.log(data[seconds].to_numpy(dtype=float)),
            "x": (data[modality] == treatment).to_numpy(dtype=float),
            "r": data[reader].astype(str).to_numpy(),
            "c": data[case].astype(str).to_numpy(),
            "g": 1,
        }
    )
    model = smf.mixedlm(
        "y ~ x",
        frame,
        groups="g",
        re_formula="0",
        vc_formula={"r": "0 + C(r)", "c": "0 + C(c)"},
    )
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(reml=True, method=["lbfgs", "powell"])
    if any("converge" in str(w.message).lower() for w in caught) or not fit.converged:
        notes.append("the mixed model did not converge cleanly")
    vc = dict(zip(model.exog_vc.names, np.asarray(fit.vcomp, dtype=float), strict=True))
    if min(vc.values()) < 1e-8:
        notes.append("a variance component is estimated at 0 (boundary fit)")
    beta, se = _gls(frame, vc["r"], vc["c"], float(fit.scale))
    z = float(sps.norm.ppf(0.5 + conf / 2))
    row = {
        "statistic": float(np.exp(beta)),
        "ci_low": float(np.exp(beta - z * se)),
        "ci_high": float(np.exp(beta + z * se)),
        "p_value": float(2 * sps.norm.sf(abs(beta / se))),
        "beta": beta,
        "se": se,
        "var_reader": float(vc["r"]),
        "var_case": float(vc["c"]),
        "var_residual": float(fit.scale),
        "n": len(frame),
        "note": "; ".join(notes),
    }
    return pd.DataFrame([row])


def reading_time_wilcoxon(
    df: pd.DataFrame,
    *,
    reference: object,
    treatment: object,
    reader: str = "reader_id",
    case: str = "case_id",
    modality: str = "modality",
    seconds: str = "seconds",
) -> pd.DataFrame:
    """The paired Wilcoxon signed-rank test of the times per reader, as R computes it.

    For each reader, the cases timed in both modalities give the differences
    d = t(treatment) − t(reference); zeros are dropped and ``statistic`` is R's V, the sum
    of the ranks of the positive differences. The p value (two-sided) is exact when fewer
    than 50 differences remain and none is tied, otherwise the normal approximation with
    continuity and tie correction: ``wilcox.test(treatment, reference, paired = TRUE)``.

    *Output contract.* A test without an interval: ``statistic`` and ``p_value``.

    Returns
    -------
    DataFrame
        ``reader, n, statistic, p_value, median_diff`` (the median of d, seconds); a reader
        with no non-zero difference gets NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.reading_time import reading_time_wilcoxon
    >>> df = pd.DataFrame({"reader_id": "A", "case_id": list(range(6)) * 2,
    ...                    "modality": [1] * 6 + [2] * 6,
    ...                    "seconds": [40, 52, 61, 33, 47, 58, 31, 45, 49, 35, 38, 44]})
    >>> print(reading_time_wilcoxon(df, reference=1, treatment=2).round(4).to_string(index=False))
    reader  n  statistic  p_value  median_diff
         A  6        1.0   0.0585         -9.0
    """
    cols = {"reader": reader, "case": case, "modality": modality, "seconds": seconds}
    data = _times(df, cols, seconds)
    ref = data[data[modality] == reference].set_index([reader, case])[seconds]
    trt = data[data[modality] == treatment].set_index([reader, case])[seconds]
    if ref.index.duplicated().any() or trt.index.duplicated().any():
        raise ValueError("df: a reader has two times for a case in one modality")
    diff = (trt - ref).dropna()
    rows = []
    for name, d in diff.groupby(level=0, sort=True):
        values = d.to_numpy(dtype=float)
        nonzero = values[values != 0]
        row: dict[str, object] = {"reader": name, "n": len(values)}
        row["median_diff"] = float(np.median(values)) if len(values) else np.nan
        if len(nonzero) == 0:
            row |= {"statistic": np.nan, "p_value": np.nan}
        else:
            ranks = sps.rankdata(np.abs(nonzero))
            exact = len(nonzero) < 50 and len(np.unique(np.abs(nonzero))) == len(nonzero)
            res = sps.wilcoxon(nonzero, method="exact" if exact else "approx", correction=not exact)
            row |= {"statistic": float(ranks[nonzero > 0].sum()), "p_value": float(res.pvalue)}
        rows.append(row)
    return pd.DataFrame(rows, columns=["reader", "n", "statistic", "p_value", "median_diff"])
