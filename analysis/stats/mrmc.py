"""Multi-reader multi-case (MRMC) analysis: Obuchowski–Rockette with Hillis (2007) df.

The figure of merit θ_ij of reader j in modality (test) i is the empirical AUC (default)
or, for binary decisions, sensitivity or specificity. The OR model treats the t × r
matrix of θ_ij as a two-way layout whose errors are correlated through the cases; the
error covariance matrix is estimated by the jackknife over cases (default, as the Iowa
OR-DBM MRMC program), by DeLong's placement method, or by the unbiased U-statistic
estimator (Gallas 2006). With ``Var`` the mean error variance and ``Cov1``, ``Cov2``,
``Cov3`` the mean covariances between two θ of the same reader in different modalities,
of different readers in the same modality, and of different readers in different
modalities:

* RRRC (random readers and cases): ``F = MS(T) / [MS(T*R) + r·max(Cov2 − Cov3, 0)]`` on
  ``(t − 1, ddf_H)`` with ``ddf_H = [MS(T*R) + r·max(Cov2 − Cov3, 0)]² /
  {MS(T*R)² / [(t − 1)(r − 1)]}`` (Hillis 2007).
* FRRC (fixed readers, random cases): ``X² = (t − 1)·MS(T) / [Var − Cov1 +
  (r − 1)·max(Cov2 − Cov3, 0)]`` on a χ²(t − 1) reference (reported as ``f = X² / (t − 1)``
  with ``df2 = inf``).
* RRFC (random readers, fixed cases): ``F = MS(T) / MS(T*R)`` on ``(t − 1, (t − 1)(r − 1))``.

Variance components follow the Iowa program: ``Var(T*R) = MS(T*R) − Var + Cov1 + Cov2 −
Cov3`` (no truncation) and ``Var(R) = [MS(R) − Var(T*R) − Var − (t − 1)Cov1 + Cov2 +
(t − 1)Cov3] / t``. Current RJafroc (``UtilORVarComp``) uses ``max(Cov2 − Cov3, 0)`` inside
``Var(T*R)``; the two agree whenever ``Cov2 ≥ Cov3`` (Van Dyke) and differ otherwise
(Franken: Iowa −0.00071276, RJafroc −0.00068389). Test statistics are the same under both.

Confidence intervals are truncated to the parameter's range: a modality's figure of merit
to [0, 1], a difference of two to [−1, 1] (the Iowa program and MRMCaov print the raw
interval; the two agree whenever the raw one stays inside).

References
----------
Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for multiple
readers and multiple tests: an ANOVA approach with dependent observations. Communications
in Statistics – Simulation and Computation 24(2):285–308.

Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple
observer ROC analysis. Statistics in Medicine 26(3):596–619.

Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). A comparison of the
Dorfman–Berbaum–Metz and Obuchowski–Rockette methods for receiver operating characteristic
(ROC) data. Statistics in Medicine 24(10):1579–1607.

Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the Dorfman–Berbaum–Metz
procedure for multireader ROC study analysis. Academic Radiology 15(5):647–661.

Gallas BD (2006). One-shot estimate of MRMC variance: AUC. Academic Radiology
13(3):353–362.

Schartz KM, Hillis SL, Pesce LL, Berbaum KS. OR-DBM MRMC 2.51 (software), University of
Iowa; Smith BJ, Hillis SL, Pesce LL. MRMCaov: Multi-Reader Multi-Case Analysis of Variance
(R package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import NanPolicy, check_confidence
from analysis.stats.choices import MRMC_COVARIANCES
from analysis.stats.roc import _prepare_long, delong_cov, placements

__all__ = [
    "MRMCResult",
    "ORComponents",
    "fom_covariance",
    "mrmc",
    "or_analysis",
]

Analysis = Literal["RRRC", "FRRC", "RRFC"]
Covariance = Literal["jackknife", "delong", "unbiased"]
Fom = Literal["auc", "sensitivity", "specificity"]

ANALYSES: tuple[str, ...] = ("RRRC", "FRRC", "RRFC")
COVARIANCES: tuple[str, ...] = MRMC_COVARIANCES
FOMS: tuple[str, ...] = ("auc", "sensitivity", "specificity")


@dataclass(frozen=True)
class ORComponents:
    """Obuchowski–Rockette variance components (Iowa definitions).

    ``n_cases`` is the number of cases the covariances were estimated from (the pilot
    K* of a power calculation).
    """

    var_r: float
    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float
    n_cases: int


@dataclass(frozen=True, eq=False)
class MRMCResult:
    """Result of :func:`mrmc`.

    Attributes
    ----------
    analysis, covariance, fom : str
        What was computed.
    confidence : float
        Confidence level of every interval.
    test : DataFrame
        One row: ``analysis, covariance, f, df1, df2, p_value, error_term`` (the global
        test of equal modality means; ``df2 = inf`` for FRRC, whose chi-square statistic
        is ``df1 * f``).
    comparisons : DataFrame
        One row per modality pair ``a < b``: ``modality_a, modality_b, statistic, se, df,
        t, p_value, ci_low, ci_high`` with ``statistic = mean_a − mean_b`` (the estimate the
        CI bounds) and ``t`` its test statistic on ``df`` degrees of freedom (z when
        ``df = inf``).
    modalities : DataFrame
        ``modality, statistic, se, df, ci_low, ci_high, var_error, cov2, ms_r``: the mean
        figure of merit of each modality (``statistic``, whatever ``fom`` is) with its
        single-modality CI.
    variance_components : DataFrame
        ``component, estimate, correlation`` for ``var_r, var_tr, cov1, cov2, cov3,
        var_error`` (correlation = Cov / Var for the three covariances).
    anova : DataFrame
        ``source, df, ms`` for the modality (T), reader (R) and T*R mean squares.
    readers : DataFrame
        ``reader, var_error, cov1``: per-reader error variance and Cov1.
    reader_aucs : DataFrame
        ``reader, modality, statistic, se``: every reader × modality figure of merit with the
        square root of its estimated error variance.
    reader_comparisons : DataFrame
        ``reader, modality_a, modality_b, statistic, se, z, p_value, ci_low, ci_high``:
        single-reader modality comparisons with cases random (Iowa's FRRC per-reader
        analysis), ``se = sqrt[2 (Var_j − Cov1_j)]``. Reported for every ``analysis``.
    components : ORComponents
        The variance components as numbers (input to :mod:`analysis.stats.power`).
    covariance_matrix : ndarray, shape (t·r, t·r)
        Error covariance of the θ_ij, modality-major (row ``i * r + j``).
    """

    analysis: str
    covariance: str
    fom: str
    confidence: float
    test: pd.DataFrame
    comparisons: pd.DataFrame
    modalities: pd.DataFrame
    variance_components: pd.DataFrame
    anova: pd.DataFrame
    readers: pd.DataFrame
    reader_aucs: pd.DataFrame
    reader_comparisons: pd.DataFrame
    components: ORComponents
    covariance_matrix: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The ``mrmc`` entry of results.json (contract in docs/architecture.md).

        ``{analysis, covariance, modalities, aucs, f, df1, df2, p, comparisons: [{modality_a,
        modality_b, diff, se, ci, p}]}``; floats unrounded, CIs as ``[low, high]``. ``df2``
        is ``None`` for FRRC (infinite: chi-square reference), since JSON has no infinity.
        """
        test = self.test.iloc[0]
        return {
            "analysis": self.analysis,
            "covariance": self.covariance,
            "modalities": [_py(m) for m in self.modalities["modality"]],
            "aucs": [float(a) for a in self.modalities["statistic"]],
            "f": float(test["f"]),
            "df1": float(test["df1"]),
            "df2": None if math.isinf(test["df2"]) else float(test["df2"]),
            "p": float(test["p_value"]),
            "comparisons": [
                {
                    "modality_a": _py(row.modality_a),
                    "modality_b": _py(row.modality_b),
                    "diff": float(row.statistic),
                    "se": float(row.se),
                    "ci": [float(row.ci_low), float(row.ci_high)],
                    "p": float(row.p_value),
                }
                for row in self.comparisons.itertuples(index=False)
            ],
        }


def _py(value: Any) -> Any:
    """numpy scalar -> Python scalar (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------
# Covariance of the figures of merit
# ---------------------------------------------------------------------------


def _jackknife_cov(loo: np.ndarray) -> np.ndarray:
    """``(K − 1)/K Σ_k (θ(−k) − θ̄(·))(θ(−k) − θ̄(·))ᵀ`` over the columns of ``loo``."""
    k = loo.shape[1]
    d = loo - loo.mean(axis=1, keepdims=True)
    cov: np.ndarray = (d @ d.T) * ((k - 1) / k)
    return cov


def _psi_cross_sum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``S_kl[a, b] = Σ_k Σ_l ψ_a(k, l) ψ_b(k, l)`` over positives k and negatives l.

    Cases with the same rating profile across all readers are grouped (counts as
    weights), and the positive groups are processed in chunks, so memory stays bounded;
    time is O(G_pos · G_neg · P²) for G distinct profiles and P readers.
    """
    n_p = x.shape[0]
    ux, cx = np.unique(x.T, axis=0, return_counts=True)
    uy, cy = np.unique(y.T, axis=0, return_counts=True)
    out = np.zeros((n_p, n_p))
    chunk = max(1, (1 << 23) // max(1, uy.shape[0] * n_p))
    sqrt_cy = np.sqrt(cy.astype(float))
    for start in range(0, ux.shape[0], chunk):
        xs = ux[start : start + chunk]  # (c, P)
        psi = (xs[:, None, :] > uy[None, :, :]) + 0.5 * (xs[:, None, :] == uy[None, :, :])
        w = np.sqrt(cx[start : start + chunk].astype(float))[:, None] * sqrt_cy[None, :]
        a = (psi * w[:, :, None]).reshape(-1, n_p)
        out += a.T @ a
    return out


def _unbiased_auc_cov(
    ratings: np.ndarray, truth: np.ndarray, auc: np.ndarray, v10: np.ndarray, v01: np.ndarray
) -> np.ndarray:
    """Unbiased (U-statistic) covariance of AUCs (Gallas 2006).

    ``Cov(θa, θb) = θa θb − Σ_{k≠k', l≠l'} ψa(k,l) ψb(k',l') / [m(m−1) n(n−1)]`` with the
    sum computed as ``S − S_k − S_l + S_kl``: ``S = (mn)² θa θb``,
    ``S_k = n² Σ_k V10a_k V10b_k``, ``S_l = m² Σ_l V01a_l V01b_l``,
    ``S_kl = Σ_{k,l} ψa(k,l) ψb(k,l)``.
    """
    m, n = v10.shape[1], v01.shape[1]
    s = (m * n) ** 2 * np.outer(auc, auc)
    s_k = n**2 * (v10 @ v10.T)
    s_l = m**2 * (v01 @ v01.T)
    s_kl = _psi_cross_sum(ratings[:, truth], ratings[:, ~truth])
    cov: np.ndarray = np.outer(auc, auc) - (s - s_k - s_l + s_kl) / (m * (m - 1) * n * (n - 1))
    return cov


def fom_covariance(
    ratings: np.ndarray,
    truth: np.ndarray,
    *,
    covariance: Covariance = "jackknife",
    fom: Fom = "auc",
) -> tuple[np.ndarray, np.ndarray]:
    """Figures of merit and their error covariance matrix for P reader-modality rows.

    Parameters
    ----------
    ratings : ndarray, shape (P, N)
        One row per reader × modality, one column per case. For ``fom="auc"`` higher =
        more likely positive; for sensitivity / specificity, 0/1 decisions (1 = positive
        call).
    truth : ndarray of bool, shape (N,)
    covariance : {"jackknife", "delong", "unbiased"}
        * jackknife: leave-one-case-out over all N cases,
          ``(N − 1)/N Σ_k (θ(−k) − θ̄)(θ(−k) − θ̄)ᵀ``. For the AUC the leave-one-out values
          come from the placements, not from N re-computations: removing positive i gives
          ``(m θ − V10_i)/(m − 1)``, removing negative j gives ``(n θ − V01_j)/(n − 1)``.
        * delong: ``cov(V10)/m + cov(V01)/n`` (DeLong et al. 1988).
        * unbiased: Gallas' (2006) U-statistic estimator (may be negative).
    fom : {"auc", "sensitivity", "specificity"}
        For a proportion only the cases of the relevant class carry information, so the
        jackknife leaves out only those cases (positives for sensitivity, negatives for
        specificity), as MRMCaov ``binary_sens``/``binary_spec`` do; that jackknife equals
        ``s² / k`` (sample covariance of the k decisions over k), which is also the
        DeLong-type and the unbiased estimator, so the three options coincide.

    Returns
    -------
    theta : ndarray, shape (P,)
    cov : ndarray, shape (P, P)

    *Output contract.* Not a DataFrame of estimates: an array building block ``(theta,
    covariance matrix)`` of :func:`mrmc`.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.mrmc import fom_covariance
    >>> ratings = np.array([[5, 4, 2, 3, 1, 1], [4, 4, 3, 2, 2, 1]])
    >>> truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> theta, cov = fom_covariance(ratings, truth)
    >>> theta.round(3)
    array([0.889, 1.   ])
    >>> cov.round(4)
    array([[0.0309, 0.    ],
           [0.    , 0.    ]])
    """
    r = np.atleast_2d(np.asarray(ratings, dtype=float))
    t = np.asarray(truth, dtype=bool)
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance: expected one of {COVARIANCES}, got {covariance!r}")
    if fom not in FOMS:
        raise ValueError(f"fom: expected one of {FOMS}, got {fom!r}")
    if fom == "auc":
        auc, v10, v01 = placements(r, t)
        m, n = v10.shape[1], v01.shape[1]
        if m < 2 or n < 2:
            raise ValueError("truth: at least two positive and two negative cases are needed")
        if covariance == "delong":
            return auc, delong_cov(v10, v01)
        if covariance == "unbiased":
            return auc, _unbiased_auc_cov(r, t, auc, v10, v01)
        loo = np.empty_like(r)
        loo[:, t] = (m * auc[:, None] - v10) / (m - 1)
        loo[:, ~t] = (n * auc[:, None] - v01) / (n - 1)
        return auc, _jackknife_cov(loo)
    # sensitivity: share of positives called positive; specificity: share of negatives
    # called negative (decision 0)
    d = r[:, t] if fom == "sensitivity" else 1.0 - r[:, ~t]
    k = d.shape[1]
    if k < 2:
        raise ValueError(f"truth: at least two cases of the class used by fom={fom!r} are needed")
    theta = d.mean(axis=1)
    loo = (k * theta[:, None] - d) / (k - 1)
    return theta, _jackknife_cov(loo)


# ---------------------------------------------------------------------------
# OR analysis on (theta, cov)
# ---------------------------------------------------------------------------


def _block_means(cov: np.ndarray, n_mod: int, n_rdr: int) -> dict[str, Any]:
    c = cov.reshape(n_mod, n_rdr, n_mod, n_rdr)
    same_mod = np.eye(n_mod, dtype=bool)[:, None, :, None]
    same_rdr = np.eye(n_rdr, dtype=bool)[None, :, None, :]
    full = np.ones((n_mod, n_rdr, n_mod, n_rdr), dtype=bool)
    diag = full & same_mod & same_rdr
    m1 = full & ~same_mod & same_rdr
    m2 = full & same_mod & ~same_rdr
    m3 = full & ~same_mod & ~same_rdr
    var_i = np.array([np.mean(np.diag(c[i, :, i, :])) for i in range(n_mod)])
    off = ~np.eye(n_rdr, dtype=bool)
    cov2_i = np.array([np.mean(c[i, :, i, :][off]) for i in range(n_mod)])
    var_j = np.array([np.mean(np.diag(c[:, j, :, j])) for j in range(n_rdr)])
    off_t = ~np.eye(n_mod, dtype=bool)
    cov1_j = np.array([np.mean(c[:, j, :, j][off_t]) for j in range(n_rdr)])
    return {
        "var": float(c[diag].mean()),
        "cov1": float(c[m1].mean()),
        "cov2": float(c[m2].mean()),
        "cov3": float(c[m3].mean()),
        "var_i": var_i,
        "cov2_i": cov2_i,
        "var_j": var_j,
        "cov1_j": cov1_j,
    }


def or_analysis(
    theta: np.ndarray,
    cov: np.ndarray,
    *,
    analysis: Analysis = "RRRC",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Obuchowski–Rockette analysis of a t × r matrix of figures of merit.

    Parameters
    ----------
    theta : ndarray, shape (t, r)
        Figure of merit of each modality (row) and reader (column).
    cov : ndarray, shape (t·r, t·r)
        Error covariance matrix of ``theta.ravel()`` (modality-major).
    analysis : {"RRRC", "FRRC", "RRFC"}
    confidence : float

    Returns
    -------
    dict of arrays and floats (see :func:`mrmc` for the formulas); used by :func:`mrmc`.

    *Output contract.* Not a DataFrame of estimates: an array building block (dict of
    the OR quantities) of :func:`mrmc`, which returns them as DataFrames.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.mrmc import fom_covariance, or_analysis
    >>> ratings = np.array([
    ...     [5, 4, 2, 3, 1, 1], [4, 3, 3, 4, 2, 1],
    ...     [5, 5, 4, 2, 1, 2], [5, 4, 4, 3, 1, 2],
    ... ])
    >>> truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    >>> theta, cov = fom_covariance(ratings, truth)
    >>> res = or_analysis(theta.reshape(2, 2), cov)
    >>> res["mod_mean"].round(3)
    array([0.806, 1.   ])
    >>> round(res["f"], 3), round(res["df2"], 3), round(float(res["p"]), 3)
    (0.766, 50.568, 0.386)
    """
    confidence = check_confidence(confidence)
    if analysis not in ANALYSES:
        raise ValueError(f"analysis: expected one of {ANALYSES}, got {analysis!r}")
    theta = np.asarray(theta, dtype=float)
    n_mod, n_rdr = theta.shape
    if n_mod < 2:
        raise ValueError("modality: at least two modalities are needed for an MRMC analysis")
    if n_rdr < 2:
        raise ValueError("reader: at least two readers are needed for an MRMC analysis")
    bm = _block_means(np.asarray(cov, dtype=float), n_mod, n_rdr)
    var, cov1, cov2, cov3 = bm["var"], bm["cov1"], bm["cov2"], bm["cov3"]

    mod_mean = theta.mean(axis=1)
    rdr_mean = theta.mean(axis=0)
    grand = theta.mean()
    ms_t = n_rdr * np.sum((mod_mean - grand) ** 2) / (n_mod - 1)
    ms_r = n_mod * np.sum((rdr_mean - grand) ** 2) / (n_rdr - 1)
    resid = theta - mod_mean[:, None] - rdr_mean[None, :] + grand
    ms_tr = np.sum(resid**2) / ((n_mod - 1) * (n_rdr - 1))
    ms_r_i = np.sum((theta - mod_mean[:, None]) ** 2, axis=1) / (n_rdr - 1)

    var_tr = ms_tr - var + cov1 + cov2 - cov3
    var_r = (ms_r - var_tr - var - (n_mod - 1) * cov1 + cov2 + (n_mod - 1) * cov3) / n_mod

    df1 = float(n_mod - 1)
    pos23 = max(cov2 - cov3, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if analysis == "RRRC":
            error_term = ms_tr + n_rdr * pos23
            df2 = error_term**2 / (ms_tr**2 / ((n_mod - 1) * (n_rdr - 1)))
            f = ms_t / error_term
            p = float(stats.f.sf(f, df1, df2))
            mod_error = ms_r_i + n_rdr * np.maximum(bm["cov2_i"], 0.0)
            mod_df = mod_error**2 / (ms_r_i**2 / (n_rdr - 1))
            mod_se = np.sqrt(mod_error / n_rdr)
        elif analysis == "FRRC":
            error_term = var - cov1 + (n_rdr - 1) * pos23
            df2 = math.inf
            f = ms_t / error_term
            p = float(stats.chi2.sf(df1 * f, df1))
            mod_se = np.sqrt((bm["var_i"] + (n_rdr - 1) * np.maximum(bm["cov2_i"], 0.0)) / n_rdr)
            mod_df = np.full(n_mod, math.inf)
        else:  # RRFC
            error_term = ms_tr
            df2 = float((n_mod - 1) * (n_rdr - 1))
            f = ms_t / error_term
            p = float(stats.f.sf(f, df1, df2))
            mod_se = np.sqrt(ms_r_i / n_rdr)
            mod_df = np.full(n_mod, float(n_rdr - 1))

        a, b = np.triu_indices(n_mod, k=1)
        diff = mod_mean[a] - mod_mean[b]
        cmp_se = np.full(a.shape, math.sqrt(2.0 * error_term / n_rdr))
        cmp_df = np.full(a.shape, float(df2))
        cmp_stat = diff / cmp_se
    cmp_p, cmp_half = _t_or_z(cmp_stat, cmp_df, cmp_se, confidence)
    mod_crit = _crit(mod_df, confidence)

    # single-reader (fixed-reader) modality comparisons
    rj = np.repeat(np.arange(n_rdr), a.size)
    ra = np.tile(a, n_rdr)
    rb = np.tile(b, n_rdr)
    r_diff = theta[ra, rj] - theta[rb, rj]
    r_se = np.sqrt(np.maximum(2.0 * (bm["var_j"][rj] - bm["cov1_j"][rj]), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r_z = r_diff / r_se
    r_p, r_half = _t_or_z(r_z, np.full(r_z.shape, math.inf), r_se, confidence)

    return {
        "theta": theta,
        "mod_mean": mod_mean,
        "ms_t": float(ms_t),
        "ms_r": float(ms_r),
        "ms_tr": float(ms_tr),
        "ms_r_i": ms_r_i,
        "var": var,
        "cov1": cov1,
        "cov2": cov2,
        "cov3": cov3,
        "var_tr": float(var_tr),
        "var_r": float(var_r),
        "var_i": bm["var_i"],
        "cov2_i": bm["cov2_i"],
        "var_j": bm["var_j"],
        "cov1_j": bm["cov1_j"],
        "f": float(f),
        "df1": df1,
        "df2": float(df2),
        "p": p,
        "error_term": float(error_term),
        "mod_se": mod_se,
        "mod_df": mod_df,
        # figures of merit lie in [0, 1] and their differences in [-1, 1]: the intervals
        # are truncated there (as pROC truncates an AUC CI)
        "mod_ci": (
            np.clip(mod_mean - mod_crit * mod_se, 0.0, 1.0),
            np.clip(mod_mean + mod_crit * mod_se, 0.0, 1.0),
        ),
        "cmp": {
            "a": a,
            "b": b,
            "diff": diff,
            "se": cmp_se,
            "df": cmp_df,
            "stat": cmp_stat,
            "p": cmp_p,
            "ci": (np.clip(diff - cmp_half, -1.0, 1.0), np.clip(diff + cmp_half, -1.0, 1.0)),
        },
        "reader_cmp": {
            "reader": rj,
            "a": ra,
            "b": rb,
            "diff": r_diff,
            "se": r_se,
            "z": r_z,
            "p": r_p,
            "ci": (
                np.clip(r_diff - r_half, -1.0, 1.0),
                np.clip(r_diff + r_half, -1.0, 1.0),
            ),
        },
    }


def _crit(df: np.ndarray, confidence: float) -> np.ndarray:
    q = 0.5 + confidence / 2.0
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        crit: np.ndarray = np.where(
            np.isinf(df), stats.norm.ppf(q), stats.t.ppf(q, np.where(np.isinf(df), 1.0, df))
        )
    return crit


def _t_or_z(
    stat: np.ndarray, df: np.ndarray, se: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values and CI half-widths, t on ``df`` or z where ``df`` is infinite."""
    df = np.asarray(df, dtype=float)
    finite_df = np.where(np.isinf(df), 1.0, df)
    with np.errstate(invalid="ignore"):
        p = np.where(
            np.isinf(df),
            2.0 * stats.norm.sf(np.abs(stat)),
            2.0 * stats.t.sf(np.abs(stat), finite_df),
        )
    return p, _crit(df, confidence) * se


# ---------------------------------------------------------------------------
# Public DataFrame API
# ---------------------------------------------------------------------------


def mrmc(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    modality: str = "modality",
    case: str = "case_id",
    analysis: Analysis = "RRRC",
    covariance: Covariance = "jackknife",
    fom: Fom = "auc",
    threshold: float | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> MRMCResult:
    """Obuchowski–Rockette MRMC analysis with Hillis (2007) denominator degrees of freedom.

    Parameters
    ----------
    df : DataFrame
        Long data, one row per modality × reader × case, fully crossed (every reader rates
        every case in every modality).
    truth, rating, reader, modality, case : str
        Column names. ``truth`` is 0/1; higher ``rating`` = more likely positive.
    analysis : {"RRRC", "FRRC", "RRFC"}
        Random readers and cases (default); fixed readers, random cases; random readers,
        fixed cases.
    covariance : {"jackknife", "delong", "unbiased"}
        Estimator of the error covariances (see :func:`fom_covariance`).
    fom : {"auc", "sensitivity", "specificity"}
        Figure of merit: empirical AUC (default) or a proportion of binary decisions.
    threshold : float, optional
        For sensitivity / specificity: a case is called positive when
        ``rating >= threshold``. Without it the ratings must already be 0/1.
    confidence : float
        Confidence level of every interval.
    nan_policy : {"raise", "omit"}
        ``"omit"`` drops rows with NaN; the rest must still be fully crossed.

    Returns
    -------
    MRMCResult
        Frozen dataclass of DataFrames; ``to_dict()`` gives the results.json entry.

    Notes
    -----
    With θ̄_i the mean over readers of modality i, the three analyses are:

    * RRRC: ``F = MS(T) / [MS(T*R) + r·max(Cov2 − Cov3, 0)]``, df ``(t − 1, ddf_H)``,
      ``ddf_H = [MS(T*R) + r·max(Cov2 − Cov3, 0)]² / {MS(T*R)² / [(t − 1)(r − 1)]}``;
      pair ``a, b``: ``SE = sqrt{2 [MS(T*R) + r·max(Cov2 − Cov3, 0)] / r}``, t on ddf_H;
      modality i alone: ``SE_i = sqrt{[MS(R_i) + r·max(Cov2_i, 0)] / r}`` with
      ``df_i = [MS(R_i) + r·max(Cov2_i, 0)]² / [MS(R_i)² / (r − 1)]``.
    * FRRC: ``X² = (t − 1) MS(T) / [Var − Cov1 + (r − 1)·max(Cov2 − Cov3, 0)]`` ~ χ²(t − 1);
      pair: ``SE = sqrt{2 [Var − Cov1 + (r − 1)·max(Cov2 − Cov3, 0)] / r}``, z;
      modality alone: ``SE_i = sqrt{[Var_i + (r − 1)·max(Cov2_i, 0)] / r}``, z.
    * RRFC: ``F = MS(T) / MS(T*R)`` on ``(t − 1, (t − 1)(r − 1))``; pair:
      ``SE = sqrt[2 MS(T*R) / r]``; modality alone: ``SE_i = sqrt[MS(R_i) / r]``, df r − 1.

    With more than two modalities every pair uses the error term of the global test
    (as the Iowa program and RJafroc do).

    References
    ----------
    Obuchowski NA, Rockette HE (1995). Commun Stat Simul Comput 24(2):285–308.
    Hillis SL (2007). Statistics in Medicine 26(3):596–619.
    Hillis SL, Obuchowski NA, Schartz KM, Berbaum KS (2005). Statistics in Medicine
    24(10):1579–1607.

    *Output contract.* Not a DataFrame of estimates: an :class:`MRMCResult` bundle of
    DataFrames (test, comparisons, modalities, ...), all at ``confidence=``;
    ``comparisons`` and ``reader_comparisons`` have ``p_value, ci_low, ci_high``, with
    the difference in ``diff`` (in ``comparisons``, ``statistic`` is the t statistic),
    and ``modalities`` the figure of merit in ``auc`` -- names results.json and the MRMC
    tables read (see docs/statistics.md).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from analysis.stats.mrmc import mrmc
    >>> rng = np.random.default_rng(7)
    >>> truth = np.repeat([1, 0], 10)
    >>> df = pd.DataFrame([
    ...     {"modality": m, "reader_id": r, "case_id": c, "truth": t,
    ...      "rating": t * (1.0 + 0.8 * m) + rng.normal()}
    ...     for m in (0, 1) for r in ("r1", "r2", "r3") for c, t in enumerate(truth)
    ... ])
    >>> res = mrmc(df)
    >>> cols = ["modality", "statistic", "ci_low", "ci_high"]
    >>> print(res.modalities[cols].round(3).to_string(index=False))
     modality  statistic  ci_low  ci_high
            0      0.787   0.561      1.0
            1      0.947   0.781      1.0
    >>> cols = ["statistic", "se", "df", "t", "p_value", "ci_low", "ci_high"]
    >>> print(res.comparisons[cols].round(3).to_string(index=False))
     statistic    se  df      t  p_value  ci_low  ci_high
         -0.16 0.091 2.0 -1.763     0.22   -0.55     0.23
    """
    confidence = check_confidence(confidence)
    if analysis not in ANALYSES:
        raise ValueError(f"analysis: expected one of {ANALYSES}, got {analysis!r}")
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance: expected one of {COVARIANCES}, got {covariance!r}")
    if fom not in FOMS:
        raise ValueError(f"fom: expected one of {FOMS}, got {fom!r}")
    if fom == "auc" and threshold is not None:
        raise ValueError("threshold: only used with fom='sensitivity' or 'specificity'")
    prep = _prepare_long(
        df,
        truth=truth,
        rating=rating,
        case=case,
        groups={"modality": modality, "reader": reader},
        nan_policy=nan_policy,
    )
    if not prep.complete:
        raise ValueError(
            f"df: the design is not fully crossed: every reader (reader={reader!r}) must rate "
            f"every case (case={case!r}) in every modality (modality={modality!r})"
        )
    modalities, readers = prep.groups
    if len(modalities) < 2:
        raise ValueError(f"modality: column {modality!r} has a single value; need at least two")
    if len(readers) < 2:
        raise ValueError(f"reader: column {reader!r} has a single value; need at least two")
    truth_arr = prep.case_truth
    n_pos = int(truth_arr.sum())
    if n_pos == 0 or n_pos == truth_arr.size:
        raise ValueError(f"truth: column {truth!r} has only one class")
    wide = prep.wide()  # (t, r, N)
    n_mod, n_rdr, n_cases = wide.shape
    if fom != "auc":
        if threshold is not None:
            wide = (wide >= threshold).astype(float)
        elif not np.isin(wide, (0.0, 1.0)).all():
            raise ValueError(
                f"rating: column {rating!r} must be 0/1 decisions for fom={fom!r} "
                "(or pass threshold=)"
            )
    theta, cov = fom_covariance(
        wide.reshape(n_mod * n_rdr, n_cases), truth_arr, covariance=covariance, fom=fom
    )
    res = or_analysis(theta.reshape(n_mod, n_rdr), cov, analysis=analysis, confidence=confidence)
    return _build_result(
        res, cov, modalities, readers, n_cases, analysis, covariance, fom, confidence
    )


def _build_result(
    res: dict[str, Any],
    cov: np.ndarray,
    modalities: pd.Index,
    readers: pd.Index,
    n_cases: int,
    analysis: str,
    covariance: str,
    fom: str,
    confidence: float,
) -> MRMCResult:
    mods = modalities.to_numpy()
    rdrs = readers.to_numpy()
    n_mod, n_rdr = res["theta"].shape
    test = pd.DataFrame(
        [
            {
                "analysis": analysis,
                "covariance": covariance,
                "f": res["f"],
                "df1": res["df1"],
                "df2": res["df2"],
                "p_value": res["p"],
                "error_term": res["error_term"],
            }
        ]
    )
    c = res["cmp"]
    comparisons = pd.DataFrame(
        {
            "modality_a": mods[c["a"]],
            "modality_b": mods[c["b"]],
            "statistic": c["diff"],
            "se": c["se"],
            "df": c["df"],
            "t": c["stat"],
            "p_value": c["p"],
            "ci_low": c["ci"][0],
            "ci_high": c["ci"][1],
        }
    )
    modality_frame = pd.DataFrame(
        {
            "modality": mods,
            "statistic": res["mod_mean"],
            "se": res["mod_se"],
            "df": res["mod_df"],
            "ci_low": res["mod_ci"][0],
            "ci_high": res["mod_ci"][1],
            "var_error": res["var_i"],
            "cov2": res["cov2_i"],
            "ms_r": res["ms_r_i"],
        }
    )
    var = np.float64(res["var"])  # numpy division: 0 gives NaN, not ZeroDivisionError
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = [
            math.nan,
            math.nan,
            res["cov1"] / var,
            res["cov2"] / var,
            res["cov3"] / var,
            math.nan,
        ]
    components = pd.DataFrame(
        {
            "component": ["var_r", "var_tr", "cov1", "cov2", "cov3", "var_error"],
            "estimate": [res["var_r"], res["var_tr"], res["cov1"], res["cov2"], res["cov3"], var],
            "correlation": corr,
        }
    )
    anova = pd.DataFrame(
        {
            "source": ["T", "R", "T*R"],
            "df": [float(n_mod - 1), float(n_rdr - 1), float((n_mod - 1) * (n_rdr - 1))],
            "ms": [res["ms_t"], res["ms_r"], res["ms_tr"]],
        }
    )
    reader_frame = pd.DataFrame({"reader": rdrs, "var_error": res["var_j"], "cov1": res["cov1_j"]})
    reader_aucs = pd.DataFrame(
        {
            "reader": np.tile(rdrs, n_mod),
            "modality": np.repeat(mods, n_rdr),
            "statistic": res["theta"].ravel(),
            "se": np.sqrt(np.maximum(np.diag(cov), 0.0)),
        }
    )
    rc = res["reader_cmp"]
    reader_comparisons = pd.DataFrame(
        {
            "reader": rdrs[rc["reader"]],
            "modality_a": mods[rc["a"]],
            "modality_b": mods[rc["b"]],
            "statistic": rc["diff"],
            "se": rc["se"],
            "z": rc["z"],
            "p_value": rc["p"],
            "ci_low": rc["ci"][0],
            "ci_high": rc["ci"][1],
        }
    )
    return MRMCResult(
        analysis=analysis,
        covariance=covariance,
        fom=fom,
        confidence=confidence,
        test=test,
        comparisons=comparisons,
        modalities=modality_frame,
        variance_components=components,
        anova=anova,
        readers=reader_frame,
        reader_aucs=reader_aucs,
        reader_comparisons=reader_comparisons,
        components=ORComponents(
            var_r=res["var_r"],
            var_tr=res["var_tr"],
            cov1=res["cov1"],
            cov2=res["cov2"],
            cov3=res["cov3"],
            var_error=var,
            n_cases=int(n_cases),
        ),
        covariance_matrix=cov,
    )
