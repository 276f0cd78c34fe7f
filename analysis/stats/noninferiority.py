"""Non-inferiority of a difference of figures of merit from its estimate, SE and df.

Used for aided vs unaided reading in the MRMC output: the Obuchowski–Rockette / Hillis
analysis (:func:`analysis.stats.mrmc.mrmc`) gives the difference of two modalities' mean
figures of merit with its standard error and (Hillis) denominator degrees of freedom; the
treatment is non-inferior to the reference when the difference is shown to exceed
−δ. Plain numpy / pandas / scipy (no Django).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats as sps

from analysis.stats._checks import check_confidence

NONINFERIORITY_COLUMNS: list[str] = [
    "statistic", "se", "df", "t", "p_value", "ci_low", "ci_high", "margin", "noninferior",
    "note",
]  # fmt: skip


def noninferiority_test(
    *,
    difference: float,
    se: float,
    df: float,
    margin: float,
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Test :math:`H_0: d \le -\delta` against :math:`H_1: d > -\delta` for a difference
    :math:`d` = treatment − reference (a higher figure of merit is better).

    .. math:: t_{NI} = (\hat d + \delta) / SE, \qquad p = P(T_{df} > t_{NI}),

    with :math:`T_{df}` Student's t on ``df`` degrees of freedom (the standard normal when
    ``df`` is infinite, as for FRRC). The two-sided CI is
    :math:`\hat d \pm t_{df,\,(1+c)/2}\,SE` at ``confidence`` *c*, clipped to [−1, 1]; the
    verdict ``noninferior`` is ``ci_low > −δ``, the same decision as the one-sided test at
    level (1 − c)/2 (Blackwelder 1982; the CI approach of the FDA guidance on
    non-inferiority trials, 2016). For MRMC, :math:`\hat d`, SE and df are those of the
    OR/Hillis comparison (Obuchowski & Rockette 1995; Hillis 2007), as MRMCaov reports them.

    Parameters
    ----------
    difference : float
        The estimate :math:`\hat d` (treatment − reference), in [−1, 1].
    se : float
        Its standard error (≥ 0).
    df : float
        Degrees of freedom (> 0; ``inf`` for a normal reference).
    margin : float
        The non-inferiority margin δ (0 ≤ δ < 1).
    confidence : float
        Level of the two-sided CI.

    Returns
    -------
    DataFrame
        One row: ``statistic`` (= :math:`\hat d`), ``se, df``, ``t`` (:math:`t_{NI}`),
        ``p_value`` (one-sided), ``ci_low, ci_high, margin, noninferior, note``. With a
        zero SE, ``t``, ``p_value``, the CI and the verdict are missing and ``note`` says so.

    References
    ----------
    Blackwelder WC (1982). "Proving the null hypothesis" in clinical trials. Control Clin
    Trials 3:345–353. Hillis SL (2007). Stat Med 26:596–619. Obuchowski NA, Rockette HE
    (1995). Commun Stat Simul Comput 24:285–308.

    Examples
    --------
    >>> from analysis.stats.noninferiority import noninferiority_test
    >>> r = noninferiority_test(difference=0.078, se=0.0172, df=2.37, margin=0.05).iloc[0]
    >>> print(round(r["t"], 3), round(r["p_value"], 4), bool(r["noninferior"]))
    7.442 0.0054 True
    """
    conf = check_confidence(confidence)
    values = {"difference": difference, "se": se, "df": df, "margin": margin}
    for name, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            raise ValueError(f"{name}: expected a number, got {value!r}")
    if not -1.0 <= difference <= 1.0:
        raise ValueError(f"difference: must be in [-1, 1], got {difference!r}")
    if se < 0 or math.isinf(se):
        raise ValueError(f"se: must be finite and at least 0, got {se!r}")
    if df <= 0:
        raise ValueError(f"df: must be positive (or inf), got {df!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin: must be at least 0 and below 1, got {margin!r}")
    row: dict[str, object] = {
        "statistic": float(difference),
        "se": float(se),
        "df": float(df),
        "margin": float(margin),
        "note": "",
    }
    if se > 0:
        t = (difference + margin) / se
        half = float(sps.t.ppf(0.5 + conf / 2, df)) * se
        low = difference - half
        row |= {
            "t": float(t),
            "p_value": float(sps.t.sf(t, df)),
            "ci_low": max(low, -1.0),
            "ci_high": min(difference + half, 1.0),
            "noninferior": bool(low > -margin),
        }
    else:
        row |= dict.fromkeys(("t", "p_value", "ci_low", "ci_high", "noninferior"), math.nan)
        row["note"] = "zero standard error: no non-inferiority test"
    return pd.DataFrame([row], columns=NONINFERIORITY_COLUMNS)
