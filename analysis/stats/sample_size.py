"""Sample-size planning for diagnostic-accuracy and reader studies (no Django).

Each function plans a study: it returns the number of cases (or the power) that a
planned analysis needs, as a one-row DataFrame.  *Output contract.* These are not
estimates, so there is no ``statistic``/``p_value``/``ci_low``/``ci_high``; interval
planning takes ``confidence=`` (the level of the planned interval) and test planning
takes ``alpha=`` (the level of the planned test), as :mod:`analysis.stats.power`.

Methods
-------
* :func:`auc_precision_sample_size` — cases for a CI half-width ``w`` around one AUC
  (Hanley & McNeil 1982 variance, or Obuchowski 1998 binormal variance).
* :func:`sens_spec_sample_size` — cases for a CI half-width around sensitivity or
  specificity at a given prevalence (Buderer 1996).
* :func:`two_auc_sample_size` — cases to detect a difference of two correlated AUCs
  (Obuchowski & McClish 1997).
* :func:`kappa_sample_size` — subjects to test κ₁ against κ₀ for two raters, binary
  rating (Cantor 1996).
* :func:`noninferiority_proportion_sample_size` — cases to show a proportion is at least
  ``p0 − margin`` (normal approximation or exact binomial).
* :func:`mrmc_power_grid` — OR-MRMC power over a readers × cases grid
  (:func:`analysis.stats.power.or_power`; RJafroc ``SsPowerGivenJK``).

References
----------
Hanley JA, McNeil BJ (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology 143(1):29–36.

Obuchowski NA (1998). Sample size calculations in studies of test accuracy. Statistical
Methods in Medical Research 7(4):371–392.

Buderer NM (1996). Statistical methodology: I. Incorporating the prevalence of disease
into the sample size calculation for sensitivity and specificity. Academic Emergency
Medicine 3(9):895–900.

Obuchowski NA, McClish DK (1997). Sample size determination for diagnostic accuracy
studies involving binormal ROC curve indices. Statistics in Medicine 16(13):1529–1542.

Cantor AB (1996). Sample-size calculations for Cohen's kappa. Psychological Methods
1(2):150–153.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.mrmc import MRMCResult, ORComponents
from analysis.stats.power import PowerAnalysis, or_power

__all__ = [
    "auc_precision_sample_size",
    "kappa_sample_size",
    "mrmc_power_grid",
    "noninferiority_proportion_sample_size",
    "sens_spec_sample_size",
    "two_auc_sample_size",
]

_MAX_N = 10_000_000


def _prob(value: float, name: str, *, closed: bool = False) -> float:
    v = float(value)
    ok = (0 <= v <= 1) if closed else (0 < v < 1)
    if not math.isfinite(v) or not ok:
        raise ValueError(f"{name}: must be between 0 and 1, got {value!r}")
    return v


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: must be a positive number, got {value!r}")
    return v


def _hm_variance(auc: float, n_pos: np.ndarray, n_neg: np.ndarray) -> np.ndarray:
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    return np.asarray(
        (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2))
        / (n_pos * n_neg),
        dtype=float,
    )


def _binormal_f_g(a: float, b: float) -> tuple[float, float]:
    e = math.exp(-(a**2) / (2 * (1 + b**2)))
    f = e / math.sqrt(2 * math.pi * (1 + b**2))
    g = -e * a * b / math.sqrt(2 * math.pi * (1 + b**2) ** 3)
    return f, g


def _binormal_var(a: float, b: float, kappa: float) -> float:
    """Obuchowski's per-positive-case variance of the binormal AUC (times n_pos)."""
    f, g = _binormal_f_g(a, b)
    return f**2 * (1 + b**2 / kappa + a**2 / 2) + g**2 * b**2 * (1 + kappa) / (2 * kappa)


def auc_precision_sample_size(
    *,
    auc: float,
    half_width: float,
    ratio: float = 1.0,
    confidence: float = 0.95,
    method: Literal["hanley_mcneil", "obuchowski"] = "hanley_mcneil",
    binormal_b: float = 1.0,
) -> pd.DataFrame:
    """Cases needed to estimate one AUC with a CI of half-width ``half_width``.

    ``ratio`` is the number of negative (non-diseased) cases per positive one.

    * ``"hanley_mcneil"`` (Hanley & McNeil 1982, eq. 2): with ``Q1 = θ/(2 − θ)``,
      ``Q2 = 2θ²/(1 + θ)``, ``Var(θ̂) = [θ(1 − θ) + (n₊ − 1)(Q1 − θ²) + (n₋ − 1)(Q2 − θ²)]
      / (n₊ n₋)``; the smallest integer ``n₊`` (``n₋ = ⌈ratio · n₊⌉``) with
      ``z_{1−α/2} √Var ≤ w`` is returned.
    * ``"obuchowski"`` (Obuchowski 1998; Obuchowski & McClish 1997): binormal ``A =
      Φ⁻¹(θ) √(1 + b²)``, ``f = e^{−A²/(2(1+b²))}/√(2π(1+b²))``,
      ``g = −A b e^{−A²/(2(1+b²))}/√(2π(1+b²)³)``, ``V = f²(1 + b²/R + A²/2) +
      g² b²(1 + R)/(2R)`` with ``R = ratio``; ``n₊ = ⌈z² V / w²⌉`` (for ``b = 1`` this is
      Obuchowski's ``V(θ) ≈ 0.0099 e^{−A²/2}(5A² + 8 + (A² + 8)/R)``).

    Parameters
    ----------
    auc : float
        Expected AUC θ, 0.5 ≤ θ < 1.
    half_width : float
        Desired CI half-width w (e.g. 0.05 for ±0.05).
    ratio : float
        Negatives per positive case (R).
    confidence : float
        Level of the planned interval.
    method : {"hanley_mcneil", "obuchowski"}
    binormal_b : float
        Binormal slope b (``"obuchowski"`` only).

    Returns
    -------
    DataFrame
        One row: ``method, auc, half_width, ratio, confidence, n_positive, n_negative,
        n_total, se`` (``se`` = the standard error at that size).

    References
    ----------
    Hanley & McNeil (1982), Radiology 143:29–36. Obuchowski (1998), Stat Methods Med Res
    7:371–392.

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.sample_size import auc_precision_sample_size
    >>> r = auc_precision_sample_size(auc=0.8, half_width=0.05, method="obuchowski")
    >>> int(r["n_positive"].iloc[0]), int(r["n_negative"].iloc[0])
    (185, 185)
    """
    theta = _prob(auc, "auc")
    if theta < 0.5:
        raise ValueError(f"auc: must be at least 0.5, got {auc!r}")
    w = _positive(half_width, "half_width")
    if w >= 0.5:
        raise ValueError(f"half_width: must be below 0.5, got {half_width!r}")
    r = _positive(ratio, "ratio")
    conf = _prob(confidence, "confidence")
    b = _positive(binormal_b, "binormal_b")
    z = float(stats.norm.ppf(1 - (1 - conf) / 2))
    if method == "hanley_mcneil":
        start, block = 1, 1024
        while start <= _MAX_N:
            n_pos = np.arange(start, start + block, dtype=float)
            n_neg = np.maximum(np.ceil(r * n_pos - 1e-9), 1.0)
            se = np.sqrt(_hm_variance(theta, n_pos, n_neg))
            hit = np.flatnonzero(z * se <= w)
            if hit.size:
                i = int(hit[0])
                npos, nneg, sei = int(n_pos[i]), int(n_neg[i]), float(se[i])
                break
            start += block
            block *= 2
        else:  # pragma: no cover - w >= 1e-4 always reaches it
            raise ValueError(f"half_width: {w} is not reached with {_MAX_N} cases")
    elif method == "obuchowski":
        a = float(stats.norm.ppf(theta)) * math.sqrt(1 + b**2)
        v = _binormal_var(a, b, r)
        npos = math.ceil(z**2 * v / w**2 - 1e-9)
        nneg = math.ceil(r * npos - 1e-9)
        sei = math.sqrt(v / npos)
    else:
        raise ValueError(f"method: expected 'hanley_mcneil' or 'obuchowski', got {method!r}")
    return pd.DataFrame(
        [
            {
                "method": method,
                "auc": theta,
                "half_width": w,
                "ratio": r,
                "confidence": conf,
                "n_positive": npos,
                "n_negative": nneg,
                "n_total": npos + nneg,
                "se": sei,
            }
        ]
    )


def sens_spec_sample_size(
    *,
    expected: float,
    half_width: float,
    prevalence: float,
    measure: Literal["sensitivity", "specificity"] = "sensitivity",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Cases needed for a CI of half-width ``w`` around sensitivity or specificity.

    Buderer (1996): the positives (negatives) needed are ``n_d = z² p(1 − p)/w²``
    (Wald interval, ``z = z_{1−α/2}``); with prevalence π the total is
    ``N = ⌈n_d / π⌉`` for sensitivity and ``N = ⌈n_d / (1 − π)⌉`` for specificity.

    Parameters
    ----------
    expected : float
        Expected sensitivity (or specificity) p.
    half_width : float
        Absolute half-width w.
    prevalence : float
        Prevalence π of the target condition in the sample.
    measure : {"sensitivity", "specificity"}
    confidence : float
        Level of the planned interval.

    Returns
    -------
    DataFrame
        One row: ``measure, expected, half_width, prevalence, confidence, n_diseased``
        (positives, or negatives for specificity, ``⌈n_d⌉``) ``, n_total``.

    References
    ----------
    Buderer NM (1996). Academic Emergency Medicine 3(9):895–900.

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.sample_size import sens_spec_sample_size
    >>> r = sens_spec_sample_size(expected=0.9, half_width=0.05, prevalence=0.2)
    >>> int(r["n_total"].iloc[0])
    692
    """
    p = _prob(expected, "expected")
    w = _positive(half_width, "half_width")
    if w >= 1:
        raise ValueError(f"half_width: must be below 1, got {half_width!r}")
    prev = _prob(prevalence, "prevalence")
    conf = _prob(confidence, "confidence")
    if measure not in ("sensitivity", "specificity"):
        raise ValueError(f"measure: expected 'sensitivity' or 'specificity', got {measure!r}")
    z = float(stats.norm.ppf(1 - (1 - conf) / 2))
    n_d = z**2 * p * (1 - p) / w**2
    share = prev if measure == "sensitivity" else 1 - prev
    return pd.DataFrame(
        [
            {
                "measure": measure,
                "expected": p,
                "half_width": w,
                "prevalence": prev,
                "confidence": conf,
                "n_diseased": math.ceil(n_d - 1e-9),
                "n_total": math.ceil(n_d / share - 1e-9),
            }
        ]
    )


def two_auc_sample_size(
    *,
    auc1: float,
    auc2: float,
    r_positive: float,
    r_negative: float,
    ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    b1: float = 1.0,
    b2: float = 1.0,
    alternative: Literal["two-sided", "one-sided"] = "two-sided",
) -> pd.DataFrame:
    """Positive cases needed to detect AUC₁ ≠ AUC₂ on the same (paired) cases.

    Obuchowski & McClish (1997), binormal curves ``Aᵢ = Φ⁻¹(θᵢ)√(1 + bᵢ²)``: with
    ``fᵢ, gᵢ`` as in :func:`auc_precision_sample_size`, ``R = ratio``,
    ``Vᵢ = fᵢ²(1 + bᵢ²/R + Aᵢ²/2) + gᵢ² bᵢ²(1 + R)/(2R)`` and
    ``C = f₁f₂(r₊ + r₋b₁b₂/R + r₊²A₁A₂/2) + g₁g₂ b₁b₂(r₋² + R r₊²)/(2R)
    + f₁g₂ r₊²A₁b₂/2 + f₂g₁ r₊²A₂b₁/2``, where r₊ (r₋) is the correlation of the two
    tests' latent scores in positives (negatives); ``V_A = V₁ + V₂ − 2C`` and under
    H₀ ``V₀ = 2V₁ − 2C``;
    ``n₊ = (z_α √V₀ + z_β √V_A)² / (θ₁ − θ₂)²`` (``z_α`` of ``α/2`` if two-sided),
    rounded up; ``power`` at that size is ``Φ[(√(n₊ δ²) − z_α √V₀)/√V_A]``.

    Parameters
    ----------
    auc1, auc2 : float
        AUC of test 1 (the reference, used for the null variance) and test 2.
    r_positive, r_negative : float
        Correlation of the two tests in positive and in negative cases (Hanley–McNeil
        1983's r for each truth class).
    ratio : float
        Negatives per positive case.
    alpha, power : float
        Level of the planned test; target power.
    b1, b2 : float
        Binormal slopes.
    alternative : {"two-sided", "one-sided"}

    Returns
    -------
    DataFrame
        One row: ``auc1, auc2, r_positive, r_negative, ratio, alpha, power, n_positive,
        n_negative, n_total, n_positive_exact`` (unrounded).

    References
    ----------
    Obuchowski NA, McClish DK (1997). Statistics in Medicine 16:1529–1542 (as pROC
    ``power.roc.test`` with a parameter list).

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.sample_size import two_auc_sample_size
    >>> r = two_auc_sample_size(auc1=0.8, auc2=0.9, r_positive=0.5, r_negative=0.5)
    >>> int(r["n_positive"].iloc[0])
    132
    """
    t1 = _prob(auc1, "auc1")
    t2 = _prob(auc2, "auc2")
    if t1 == t2:
        raise ValueError("auc2: must differ from auc1")
    rp = float(r_positive)
    rn = float(r_negative)
    if not -1 < rp < 1:
        raise ValueError(f"r_positive: must be between -1 and 1, got {r_positive!r}")
    if not -1 < rn < 1:
        raise ValueError(f"r_negative: must be between -1 and 1, got {r_negative!r}")
    k = _positive(ratio, "ratio")
    a_lvl = _prob(alpha, "alpha")
    pw = _prob(power, "power")
    bb1 = _positive(b1, "b1")
    bb2 = _positive(b2, "b2")
    if alternative not in ("two-sided", "one-sided"):
        raise ValueError(f"alternative: expected 'two-sided' or 'one-sided', got {alternative!r}")
    a1 = float(stats.norm.ppf(t1)) * math.sqrt(1 + bb1**2)
    a2 = float(stats.norm.ppf(t2)) * math.sqrt(1 + bb2**2)
    f1, g1 = _binormal_f_g(a1, bb1)
    f2, g2 = _binormal_f_g(a2, bb2)
    v1 = _binormal_var(a1, bb1, k)
    v2 = _binormal_var(a2, bb2, k)
    ra = rp  # pROC's "ra": correlation in abnormal (positive) cases
    cov = (
        f1 * f2 * (ra + rn * bb1 * bb2 / k + ra**2 * a1 * a2 / 2)
        + g1 * g2 * (bb1 * bb2 * (rn**2 + k * ra**2) / (2 * k))
        + f1 * g2 * (ra**2 * a1 * bb2 / 2)
        + f2 * g1 * (ra**2 * a2 * bb1 / 2)
    )
    v0 = 2 * v1 - 2 * cov
    va = v1 + v2 - 2 * cov
    if v0 <= 0 or va <= 0:
        raise ValueError("r_positive: the implied variance of the AUC difference is not positive")
    side = 2 if alternative == "two-sided" else 1
    z_a = float(stats.norm.ppf(1 - a_lvl / side))
    z_b = float(stats.norm.ppf(pw))
    n_exact = (z_a * math.sqrt(v0) + z_b * math.sqrt(va)) ** 2 / (t1 - t2) ** 2
    n_pos = math.ceil(n_exact - 1e-9)
    n_neg = math.ceil(k * n_pos - 1e-9)
    return pd.DataFrame(
        [
            {
                "auc1": t1,
                "auc2": t2,
                "r_positive": rp,
                "r_negative": rn,
                "ratio": k,
                "alpha": a_lvl,
                "power": pw,
                "n_positive": n_pos,
                "n_negative": n_neg,
                "n_total": n_pos + n_neg,
                "n_positive_exact": n_exact,
            }
        ]
    )


def kappa_sample_size(
    *,
    rate1: float,
    rate2: float,
    kappa1: float,
    kappa0: float,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Literal["one-sided", "two-sided"] = "one-sided",
) -> pd.DataFrame:
    """Subjects needed to test H₀: κ = κ₀ against κ = κ₁ (two raters, binary rating).

    Cantor (1996): with marginal positive rates ``π₁, π₂`` of the raters, chance
    agreement ``π_e = π₁π₂ + (1 − π₁)(1 − π₂)``, the cell probabilities implied by κ
    (``π₀ = κ(1 − π_e) + π_e``, ``π₂₂ = (π₀ − π₁ + 1 − π₂)/2``, ``π₁₁ = π₀ − π₂₂``,
    ``π₁₂ = π₁ − π₁₁``, ``π₂₁ = π₂ − π₁₁``) give the asymptotic variance ``Q(κ)`` of
    Fleiss, Cohen & Everitt (1969), and
    ``N = ⌈[(z_α √Q(κ₀) + z_β √Q(κ₁)) / (κ₁ − κ₀)]²⌉`` (``z_α`` of ``α/2`` if two-sided).

    Returns
    -------
    DataFrame
        One row: ``rate1, rate2, kappa1, kappa0, alpha, power, alternative, n``.

    References
    ----------
    Cantor AB (1996). Psychological Methods 1(2):150–153 (as R ``irr::N.cohen.kappa``).

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.sample_size import kappa_sample_size
    >>> r = kappa_sample_size(rate1=0.5, rate2=0.5, kappa1=0.8, kappa0=0.6)
    >>> int(r["n"].iloc[0])
    83
    """
    p1 = _prob(rate1, "rate1")
    p2 = _prob(rate2, "rate2")
    k1 = float(kappa1)
    k0 = float(kappa0)
    if not -1 <= k1 <= 1:
        raise ValueError(f"kappa1: must be between -1 and 1, got {kappa1!r}")
    if not -1 <= k0 <= 1:
        raise ValueError(f"kappa0: must be between -1 and 1, got {kappa0!r}")
    if k1 == k0:
        raise ValueError("kappa1: must differ from kappa0")
    a_lvl = _prob(alpha, "alpha")
    pw = _prob(power, "power")
    if alternative not in ("one-sided", "two-sided"):
        raise ValueError(f"alternative: expected 'one-sided' or 'two-sided', got {alternative!r}")
    q2_, q_2 = 1 - p1, 1 - p2
    pie = p1 * p2 + q2_ * q_2

    def q_of(kappa: float) -> float:
        pi0 = kappa * (1 - pie) + pie
        pi22 = (pi0 - p1 + q_2) / 2
        pi11 = pi0 - pi22
        pi12 = p1 - pi11
        pi21 = p2 - pi11
        if min(pi11, pi22, pi12, pi21) < 0:
            raise ValueError(f"kappa1: κ = {kappa} is not attainable with rates {p1} and {p2}")
        return (1 - pie) ** (-4) * (
            pi11 * (1 - pie - (p2 + p1) * (1 - pi0)) ** 2
            + pi22 * (1 - pie - (q_2 + q2_) * (1 - pi0)) ** 2
            + (1 - pi0) ** 2 * (pi12 * (p2 + q2_) ** 2 + pi21 * (q_2 + p1) ** 2)
            - (pi0 * pie - 2 * pie + pi0) ** 2
        )

    q1, q0 = q_of(k1), q_of(k0)
    side = 2 if alternative == "two-sided" else 1
    n = (
        (stats.norm.ppf(1 - a_lvl / side) * math.sqrt(q0) + stats.norm.ppf(pw) * math.sqrt(q1))
        / (k1 - k0)
    ) ** 2
    return pd.DataFrame(
        [
            {
                "rate1": p1,
                "rate2": p2,
                "kappa1": k1,
                "kappa0": k0,
                "alpha": a_lvl,
                "power": pw,
                "alternative": alternative,
                "n": math.ceil(float(n) - 1e-9),
            }
        ]
    )


def noninferiority_proportion_sample_size(
    *,
    expected: float,
    reference: float,
    margin: float,
    alpha: float = 0.025,
    power: float = 0.8,
    method: Literal["normal", "exact"] = "exact",
    max_n: int = 100_000,
) -> pd.DataFrame:
    """Cases needed to show a proportion is at least ``reference − margin``.

    One-sided test of H₀: p ≤ p_L = p₀ − δ against H₁: p > p_L at level α, when the
    true proportion is p₁ (``expected``).

    * ``"normal"``: ``n = ⌈[z_{1−α}√(p_L(1 − p_L)) + z_{1−β}√(p₁(1 − p₁))]² /
      (p₁ − p_L)²⌉`` (score test; e.g. Chow, Shao & Wang 2008, §4.1).
    * ``"exact"``: the smallest n for which the exact binomial test (reject when
      X ≥ c, c the smallest count with ``P(X ≥ c | p_L) ≤ α``) has power
      ``P(X ≥ c | p₁) ≥ 1 − β``.  Exact power is saw-toothed in n, so a larger n may
      fall below the target again; the first n reaching it is returned.

    Returns
    -------
    DataFrame
        One row: ``method, expected, reference, margin, null_value, alpha, power, n,
        critical_count`` (the c for ``"exact"``; missing for ``"normal"``) ``,
        achieved_power``.

    References
    ----------
    Chow SC, Shao J, Wang H (2008). Sample Size Calculations in Clinical Research,
    2nd ed., Chapman & Hall, ch. 4. Exact binomial test: Clopper & Pearson (1934).

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.sample_size import noninferiority_proportion_sample_size
    >>> r = noninferiority_proportion_sample_size(
    ...     expected=0.9, reference=0.9, margin=0.1, method="normal")
    >>> int(r["n"].iloc[0])
    108
    """
    p1 = _prob(expected, "expected")
    p0 = _prob(reference, "reference")
    d = _positive(margin, "margin")
    pl = p0 - d
    if not 0 < pl < 1:
        raise ValueError(f"margin: reference − margin must be between 0 and 1, got {pl!r}")
    if p1 <= pl:
        raise ValueError(f"expected: must exceed reference − margin = {pl}, got {expected!r}")
    a_lvl = _prob(alpha, "alpha")
    pw = _prob(power, "power")
    if isinstance(max_n, bool) or int(max_n) != max_n or max_n < 1:
        raise ValueError(f"max_n: must be a positive integer, got {max_n!r}")
    if method == "normal":
        za = float(stats.norm.ppf(1 - a_lvl))
        zb = float(stats.norm.ppf(pw))
        n = math.ceil(
            (za * math.sqrt(pl * (1 - pl)) + zb * math.sqrt(p1 * (1 - p1))) ** 2 / (p1 - pl) ** 2
            - 1e-9
        )
        crit: float = math.nan
        achieved = float(
            stats.norm.cdf(
                (math.sqrt(n) * (p1 - pl) - za * math.sqrt(pl * (1 - pl)))
                / math.sqrt(p1 * (1 - p1))
            )
        )
    elif method == "exact":
        ns = np.arange(1, int(max_n) + 1)
        # smallest c with P(X >= c | pL) <= alpha: c = qbinom(1 - alpha, n, pL) + 1,
        # adjusted for the discrete quantile
        c = stats.binom.ppf(1 - a_lvl, ns, pl) + 1
        too_big = stats.binom.sf(c - 2, ns, pl) <= a_lvl  # P(X >= c-1) <= alpha
        c = np.where(too_big, c - 1, c)
        pow_n = stats.binom.sf(c - 1, ns, p1)
        hit = np.flatnonzero(pow_n >= pw)
        if not hit.size:
            raise ValueError(f"power: {pw} is not reached with at most {max_n} cases")
        i = int(hit[0])
        n, crit, achieved = int(ns[i]), float(c[i]), float(pow_n[i])
    else:
        raise ValueError(f"method: expected 'normal' or 'exact', got {method!r}")
    return pd.DataFrame(
        [
            {
                "method": method,
                "expected": p1,
                "reference": p0,
                "margin": d,
                "null_value": pl,
                "alpha": a_lvl,
                "power": pw,
                "n": n,
                "critical_count": crit,
                "achieved_power": achieved,
            }
        ]
    )


def mrmc_power_grid(
    components: ORComponents | MRMCResult | Mapping[str, float],
    *,
    effect_size: float,
    readers: Iterable[int],
    cases: Iterable[int],
    analysis: PowerAnalysis = "RRRC",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """OR-MRMC power of the two-modality test over a readers × cases grid.

    Each cell is :func:`analysis.stats.power.or_power` (Hillis, Obuchowski & Berbaum
    2011; RJafroc ``SsPowerGivenJK``); see :mod:`analysis.stats.power` for the formula.

    Returns
    -------
    DataFrame
        Long frame, one row per (readers, cases): ``readers, cases, power, ncp, df2``.

    References
    ----------
    Hillis SL, Obuchowski NA, Berbaum KS (2011). Academic Radiology 18(2):129–142.

    *Output contract.* Not a DataFrame of estimates: it plans a study (see the module
    docstring), one row per design.

    Examples
    --------
    >>> from analysis.stats.mrmc import ORComponents
    >>> from analysis.stats.sample_size import mrmc_power_grid
    >>> pilot = ORComponents(var_r=0.001535, var_tr=0.00020040252358,
    ...     var_error=0.00080228826557, cov1=0.00034661370944, cov2=0.00034407482886,
    ...     cov3=0.00023902837089, n_cases=114)
    >>> g = mrmc_power_grid(pilot, effect_size=-0.043800322, readers=[10], cases=[165])
    >>> round(float(g["power"].iloc[0]), 4)
    0.8054
    """
    js = [int(j) for j in readers]
    ks = [int(k) for k in cases]
    if not js:
        raise ValueError("readers: give at least one number of readers")
    if not ks:
        raise ValueError("cases: give at least one number of cases")
    rows = []
    for j in js:
        for k in ks:
            res = or_power(
                components,
                effect_size=effect_size,
                n_readers=j,
                n_cases=k,
                analysis=analysis,
                alpha=alpha,
            )
            rows.append(
                {
                    "readers": j,
                    "cases": k,
                    "power": float(res["power"].iloc[0]),
                    "ncp": float(res["ncp"].iloc[0]),
                    "df2": float(res["df2"].iloc[0]),
                }
            )
    return pd.DataFrame(rows, columns=["readers", "cases", "power", "ncp", "df2"])
