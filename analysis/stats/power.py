"""Power and sample size for a two-modality MRMC study (Obuchowski–Rockette model).

Given pilot OR variance components (from :func:`analysis.stats.mrmc.mrmc`, estimated on
K* cases), the power of the OR/Hillis test of two modalities with J readers and K cases
for an effect size d (difference of the modality means) is computed as in Hillis,
Obuchowski & Berbaum (2011) and RJafroc's ``SsPowerGivenJK``. With ``s = K*/K``
(case-level covariances scale with 1/K) and ``Var(T*R)⁺ = max(Var(T*R), 0)``:

* RRRC: ``den = Var(T*R)⁺ + s·[Var − Cov1 + (J − 1)·max(Cov2 − Cov3, 0)]``,
  ``λ = J d² / (2 den)``, ``ddf = den² / {[Var(T*R)⁺ + s·(Var − Cov1 − max(Cov2 − Cov3, 0))]²
  / (J − 1)}``, ``power = P[F'(1, ddf; λ) > F_{1−α}(1, ddf)]``.
* FRRC: ``den = s·[Var − Cov1 + (J − 1)·max(Cov2 − Cov3, 0)]``, same λ,
  ``power = P[χ'²(1; λ) > χ²_{1−α}(1)]``.
* RRFC: ``den = Var(T*R)⁺ + s·(Var − Cov1 − max(Cov2 − Cov3, 0))``, same λ,
  ``power = P[F'(1, J − 1; λ) > F_{1−α}(1, J − 1)]``.

A negative pilot Var(T*R) is clamped to 0 (as RJafroc does; without it the Franken
pilot gives a negative noncentrality). RRFC uses ``max(Cov2 − Cov3, 0)`` like RJafroc.

References
----------
Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader ROC
methods: an updated and unified approach. Academic Radiology 18(2):129–142.

Obuchowski NA (2000). Sample size tables for receiver operating characteristic studies.
American Journal of Roentgenology 175(3):603–608.

Chakraborty DP (2017). Observer Performance Methods for Diagnostic Imaging. CRC Press,
ch. 11 (RJafroc ``SsPowerGivenJK``, ``SsSampleSizeKGivenJ``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.mrmc import ANALYSES, MRMCResult, ORComponents

__all__ = ["or_power", "or_sample_size"]

POWER_COLUMNS = [
    "analysis",
    "n_readers",
    "n_cases",
    "effect_size",
    "alpha",
    "ncp",
    "df1",
    "df2",
    "critical_value",
    "power",
]

PowerAnalysis = Literal["RRRC", "FRRC", "RRFC"]

_KEYS = ("var_tr", "var_error", "cov1", "cov2", "cov3", "n_cases")


def _components(components: ORComponents | MRMCResult | Mapping[str, float]) -> ORComponents:
    if isinstance(components, MRMCResult):
        return components.components
    if isinstance(components, ORComponents):
        return components
    if isinstance(components, Mapping):
        missing = [k for k in _KEYS if k not in components]
        if missing:
            raise ValueError(f"components: missing key(s) {', '.join(missing)}")
        return ORComponents(
            var_r=float(components.get("var_r", math.nan)),
            var_tr=float(components["var_tr"]),
            cov1=float(components["cov1"]),
            cov2=float(components["cov2"]),
            cov3=float(components["cov3"]),
            var_error=float(components["var_error"]),
            n_cases=int(components["n_cases"]),
        )
    raise ValueError(
        "components: expected ORComponents, an MRMCResult or a mapping with keys "
        + ", ".join(_KEYS)
    )


def _check_inputs(
    effect_size: float, n_readers: int, alpha: float, analysis: str
) -> tuple[float, int, float]:
    d = float(effect_size)
    if not math.isfinite(d) or d == 0:
        raise ValueError(f"effect_size: must be a finite non-zero number, got {effect_size!r}")
    if isinstance(n_readers, bool) or int(n_readers) != n_readers or n_readers < 2:
        raise ValueError(f"n_readers: must be an integer >= 2, got {n_readers!r}")
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha: must be between 0 and 1, got {alpha!r}")
    if analysis not in ANALYSES:
        raise ValueError(f"analysis: expected one of {ANALYSES}, got {analysis!r}")
    return d, int(n_readers), float(alpha)


def _power(
    c: ORComponents, d: float, j: int, k: np.ndarray, analysis: str, alpha: float
) -> dict[str, np.ndarray]:
    """Vectorised over the numbers of cases ``k``."""
    s = c.n_cases / np.asarray(k, dtype=float)
    var_tr = max(c.var_tr, 0.0)
    pos23 = max(c.cov2 - c.cov3, 0.0)
    if analysis == "RRRC":
        den = var_tr + s * (c.var_error - c.cov1 + (j - 1) * pos23)
        with np.errstate(divide="ignore"):
            df2 = den**2 / ((var_tr + s * (c.var_error - c.cov1 - pos23)) ** 2 / (j - 1))
    elif analysis == "FRRC":
        den = s * (c.var_error - c.cov1 + (j - 1) * pos23)
        df2 = np.full(s.shape, math.inf)
    else:
        den = var_tr + s * (c.var_error - c.cov1 - pos23)
        df2 = np.full(s.shape, float(j - 1))
    if np.any(den <= 0):
        raise ValueError(
            "components: the implied variance of the modality difference is not positive"
        )
    ncp = j * d**2 / (2.0 * den)
    if analysis == "FRRC":
        crit = np.full(s.shape, stats.chi2.ppf(1 - alpha, 1))
        power = stats.ncx2.sf(crit, 1, ncp)
    else:
        crit = stats.f.ppf(1 - alpha, 1, df2)
        power = stats.ncf.sf(crit, 1, df2, ncp)
    return {"ncp": ncp, "df2": df2, "crit": crit, "power": power}


def _frame(
    analysis: str, j: int, k: np.ndarray, d: float, alpha: float, res: dict[str, np.ndarray]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "analysis": analysis,
            "n_readers": j,
            "n_cases": np.asarray(k, dtype=int),
            "effect_size": d,
            "alpha": alpha,
            "ncp": res["ncp"],
            "df1": 1.0,
            "df2": res["df2"],
            "critical_value": res["crit"],
            "power": res["power"],
        },
        columns=POWER_COLUMNS,
    )


def or_power(
    components: ORComponents | MRMCResult | Mapping[str, float],
    *,
    effect_size: float,
    n_readers: int,
    n_cases: int,
    analysis: PowerAnalysis = "RRRC",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Power of the OR/Hillis test of two modalities for J readers and K cases.

    Parameters
    ----------
    components : ORComponents, MRMCResult or mapping
        Pilot variance components (``var_tr, var_error, cov1, cov2, cov3`` and the pilot
        number of cases ``n_cases``), e.g. ``mrmc(pilot).components``.
    effect_size : float
        Difference of the modality mean figures of merit to detect.
    n_readers, n_cases : int
        Size of the planned study (J, K).
    analysis : {"RRRC", "FRRC", "RRFC"}
    alpha : float
        Two-sided significance level.

    Returns
    -------
    DataFrame
        One row: ``analysis, n_readers, n_cases, effect_size, alpha, ncp, df1, df2,
        critical_value, power`` (``df2 = inf`` and a chi-square critical value for FRRC).
        Formulas in the module docstring.

    References
    ----------
    Hillis SL, Obuchowski NA, Berbaum KS (2011). Academic Radiology 18(2):129–142.

    *Output contract.* Not a DataFrame of estimates: it plans a study, giving
    the power of a test at significance level ``alpha=`` (the level of the
    planned test, not of an interval), one row per design.

    Examples
    --------
    >>> from analysis.stats.mrmc import ORComponents
    >>> pilot = ORComponents(var_r=0.001535, var_tr=0.00020040252358,
    ...     var_error=0.00080228826557, cov1=0.00034661370944, cov2=0.00034407482886,
    ...     cov3=0.00023902837089, n_cases=114)
    >>> from analysis.stats.power import or_power
    >>> res = or_power(pilot, effect_size=-0.043800322, n_readers=10, n_cases=165)
    >>> cols = ["analysis", "n_readers", "n_cases", "df2", "power"]
    >>> print(res[cols].round(4).to_string(index=False))
    analysis  n_readers  n_cases     df2  power
        RRRC         10      165 62.7073 0.8054

    (Van Dyke's jackknife components; RJafroc ``SsPowerGivenJK`` gives 0.80541995.)
    """
    c = _components(components)
    d, j, alpha = _check_inputs(effect_size, n_readers, alpha, analysis)
    if isinstance(n_cases, bool) or int(n_cases) != n_cases or n_cases < 2:
        raise ValueError(f"n_cases: must be an integer >= 2, got {n_cases!r}")
    k = np.array([int(n_cases)])
    return _frame(analysis, j, k, d, alpha, _power(c, d, j, k, analysis, alpha))


def or_sample_size(
    components: ORComponents | MRMCResult | Mapping[str, float],
    *,
    effect_size: float,
    n_readers: int,
    power: float = 0.8,
    analysis: PowerAnalysis = "RRRC",
    alpha: float = 0.05,
    max_cases: int = 1_000_000,
) -> pd.DataFrame:
    """Smallest number of cases K giving at least the target power with J readers.

    Power is evaluated (vectorised) for K = 2, 3, … in blocks until it first reaches
    ``power`` — the same upward search as RJafroc's ``SsSampleSizeKGivenJ``. In RRRC the
    Hillis ddf shrinks towards J − 1 as K grows, so with few readers power is not
    monotone in K and may never reach the target; the first K that reaches it is
    returned.

    Returns
    -------
    DataFrame
        One row with the columns of :func:`or_power` for the smallest such K.

    Raises
    ------
    ValueError
        ``power`` if the target is not reached with ``max_cases`` cases (for RRFC and
        RRRC the power is bounded by the reader variance when K grows).

    *Output contract.* Not a DataFrame of estimates: it plans a study, giving
    the number of cases reaching ``power`` at significance level ``alpha=``,
    one row.

    Examples
    --------
    >>> from analysis.stats.mrmc import ORComponents
    >>> pilot = ORComponents(var_r=0.001535, var_tr=0.00020040252358,
    ...     var_error=0.00080228826557, cov1=0.00034661370944, cov2=0.00034407482886,
    ...     cov3=0.00023902837089, n_cases=114)
    >>> from analysis.stats.power import or_sample_size
    >>> res = or_sample_size(pilot, effect_size=-0.043800322, n_readers=10)
    >>> cols = ["analysis", "n_readers", "n_cases", "power"]
    >>> print(res[cols].round(4).to_string(index=False))
    analysis  n_readers  n_cases  power
        RRRC         10      163 0.8016
    """
    c = _components(components)
    d, j, alpha = _check_inputs(effect_size, n_readers, alpha, analysis)
    if not 0 < float(power) < 1:
        raise ValueError(f"power: must be between 0 and 1, got {power!r}")
    if isinstance(max_cases, bool) or int(max_cases) != max_cases or max_cases < 2:
        raise ValueError(f"max_cases: must be an integer >= 2, got {max_cases!r}")
    start, block = 2, 4096
    while start <= max_cases:
        k = np.arange(start, min(start + block, int(max_cases) + 1))
        res = _power(c, d, j, k, analysis, alpha)
        hit = np.flatnonzero(res["power"] >= power)
        if hit.size:
            i = int(hit[0])
            one = {key: val[i : i + 1] for key, val in res.items()}
            return _frame(analysis, j, k[i : i + 1], d, alpha, one)
        start += block
        block *= 2
    raise ValueError(
        f"power: {power} is not reached with at most {max_cases} cases and {j} readers"
    )
