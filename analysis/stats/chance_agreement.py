"""Agreement coefficients that hold up under skewed prevalence, and category-wise kappa.

Kappa depends on the prevalence of the categories: with most cases negative, two readers
who agree on 95% of the cases can have a kappa of 0.5 (the "kappa paradox" of Feinstein &
Cicchetti 1990). Reviewers therefore ask for coefficients whose chance agreement does not
grow with the imbalance, next to kappa:

- :func:`agreement_coefficients`: Gwet's AC1 (nominal) and AC2 (weighted, ordinal),
  Brennan & Prediger's coefficient -- for two categories and no weights this is the
  prevalence- and bias-adjusted kappa PABAK of Byrt, Bishop & Carlin (1993), ``2 p_o - 1``
  -- and the (weighted) Fleiss kappa, for any number of raters, with missing ratings, and
  with Gwet's (2008, 2014) linearisation variance, as R ``irrCAC`` computes them.
- :func:`category_kappa`: the kappa of each category against the others (Fleiss 1971,
  as R ``irr::kappam.fleiss(detail = TRUE)``) with a non-null CI.

References
----------
Brennan, R. L., & Prediger, D. J. (1981). Coefficient kappa: some uses, misuses, and
alternatives. *Educational and Psychological Measurement*, 41, 687-699.

Byrt, T., Bishop, J., & Carlin, J. B. (1993). Bias, prevalence and kappa. *Journal of
Clinical Epidemiology*, 46(5), 423-429.

Feinstein, A. R., & Cicchetti, D. V. (1990). High agreement but low kappa: I. The problems
of two paradoxes. *Journal of Clinical Epidemiology*, 43(6), 543-549.

Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
*Psychological Bulletin*, 76(5), 378-382.

Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
high agreement. *British Journal of Mathematical and Statistical Psychology*, 61, 29-48.

Gwet, K. L. (2014). *Handbook of Inter-Rater Reliability* (4th ed.). Advanced Analytics.

Gwet, K. L. (2019). irrCAC: Computing Chance-Corrected Agreement Coefficients (R package
1.0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)
from analysis.stats.agreement import Weights, _category_set, _weight_matrix
from analysis.stats.choices import AGREEMENT_COEFFICIENTS

Coefficient = Literal["gwet", "brennan-prediger", "fleiss"]


def _counts(
    df: object,
    *,
    rater: str,
    case: str,
    category: str,
    categories: Sequence[float] | None,
    threshold: float | None,
    nan_policy: NanPolicy,
) -> tuple[np.ndarray, np.ndarray, str, int]:
    """(N x q counts of ratings per case and category, category set, scale, n raters)."""
    frame = require_frame(df)
    columns = {"rater": rater, "case": case, "category": category}
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(columns.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"rater": rater, "case": case})
    values = require_numeric(frame, category, arg="category")
    codes, cats, scale = _category_set(
        values, categories=categories, threshold=threshold, arg="category"
    )
    case_codes, case_index = pd.factorize(frame[case], sort=True)
    counts = np.zeros((len(case_index), len(cats)))
    np.add.at(counts, (case_codes, codes), 1.0)
    return counts, cats, scale, int(frame[rater].nunique())


def _coefficient(
    counts: np.ndarray, w: np.ndarray, coefficient: str
) -> tuple[float, float, float, np.ndarray]:
    """(p_a, p_e, coefficient, per-case linearised terms) of Gwet (2014), as irrCAC."""
    n, q = counts.shape
    r = counts.sum(axis=1)
    rated = r >= 2
    n2 = int(rated.sum())
    sum_q = (counts * (counts @ w.T - 1)).sum(axis=1)
    den = r * (r - 1)
    den = np.where(den == 0, -1.0, den)
    pa_i = sum_q / den
    pa = float(pa_i[rated].sum() / n2)
    pi = (counts / r[:, None]).sum(axis=0) / n
    t_w = float(w.sum())
    if coefficient == "gwet":
        pe = t_w * float((pi * (1 - pi)).sum()) / (q * (q - 1))
    elif coefficient == "fleiss":
        pe = float(pi @ w @ pi)
    else:
        pe = t_w / q**2
    if np.isclose(pe, 1.0, rtol=0, atol=1e-12):
        return pa, pe, np.nan, np.full(n, np.nan)
    coef = (pa - pe) / (1 - pe)
    terms = (n / n2) * (pa_i - pe * rated) / (1 - pe)
    if coefficient == "gwet":
        pe_i = (t_w / (q * (q - 1))) * (counts @ (1 - pi)) / r
        terms = terms - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
    elif coefficient == "fleiss":
        pi_w = (w @ pi + w.T @ pi) / 2
        pe_i = (counts @ pi_w) / r
        terms = terms - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
    return pa, pe, float(coef), terms


def _interval(
    coef: float, terms: np.ndarray, n: int, confidence: float
) -> tuple[float, float, float, float]:
    """(se, ci_low, ci_high, p_value): ``coef +/- t_{n-1} se`` clipped to [-1, 1]."""
    if n < 2 or not np.isfinite(coef):
        return np.nan, np.nan, np.nan, np.nan
    se = float(np.sqrt(((terms - coef) ** 2).sum() / (n * (n - 1))))
    crit = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    low = float(np.clip(coef - crit * se, -1.0, 1.0))
    high = float(np.clip(coef + crit * se, -1.0, 1.0))
    if se == 0:
        return se, low, high, (0.0 if coef != 0 else np.nan)
    p = float(2 * stats.t.sf(abs(coef / se), n - 1))
    return se, low, high, p


def _method_name(coefficient: str, weighted: bool) -> str:
    if coefficient == "gwet":
        return "gwet-ac2" if weighted else "gwet-ac1"
    if coefficient == "brennan-prediger":
        return "brennan-prediger" if weighted else "pabak"
    return "fleiss"


def agreement_coefficients(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    category: str = "category",
    categories: Sequence[float] | None = None,
    threshold: float | None = None,
    weights: Weights = "none",
    coefficients: Sequence[Coefficient] = AGREEMENT_COEFFICIENTS,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "omit",
) -> pd.DataFrame:
    r"""Gwet's AC1 / AC2, Brennan-Prediger (PABAK) and weighted Fleiss kappa with their CIs.

    Any number of raters (two readers, or the runs of one reader as ``rater="run"``); a
    case may lack some ratings (cases with fewer than two ratings count in the category
    prevalences only, as irrCAC). With ``r_ik`` the number of ratings of case i in
    category k, ``r_i`` its ratings, the weighted count ``r*_ik = sum_l w_kl r_il``,
    ``n`` cases of which ``n'`` have ``r_i >= 2``, q categories and agreement weights
    ``w`` (identity when unweighted):

    .. math::

        p_a = \frac{1}{n'} \sum_{r_i \ge 2} \sum_k \frac{r_{ik}(r^*_{ik} - 1)}{r_i(r_i-1)},
        \quad \pi_k = \frac1n \sum_i \frac{r_{ik}}{r_i},\quad
        \gamma = \frac{p_a - p_e}{1 - p_e}

    with the chance agreement

    - Gwet's AC1 / AC2: ``p_e = T_w / (q (q-1)) sum_k pi_k (1 - pi_k)`` (``T_w`` the sum
      of the weights); it is small when one category dominates, which is what makes AC1
      stable under skewed prevalence (Gwet 2008);
    - Brennan-Prediger: ``p_e = T_w / q^2``; for two categories without weights this is
      PABAK ``= 2 p_a - 1`` (Byrt et al. 1993), and for q categories Byrt's
      ``(q p_a - 1)/(q - 1)``, hence ``method = "pabak"`` (``"brennan-prediger"`` when
      weighted);
    - Fleiss: ``p_e = sum_kl w_kl pi_k pi_l`` (weighted Fleiss kappa; unweighted it is
      Fleiss' 1971 kappa).

    *Variance* (Gwet 2014, ch. 5; the linearisation irrCAC uses): ``Var = sum_i
    (gamma*_i - gamma)^2 / (n (n - 1))`` with ``gamma_i = (n/n') (p_{a|i} - p_e [r_i >=
    2]) / (1 - p_e)`` and ``gamma*_i = gamma_i - 2 (1 - gamma) (p_{e|i} - p_e) / (1 -
    p_e)`` (``p_{e|i} = T_w/(q(q-1)) sum_k r_ik (1 - pi_k) / r_i`` for AC1/AC2,
    ``sum_k r_ik (pi_{+k} + pi_{k+})/(2 r_i)`` with the weighted margins for Fleiss;
    Brennan-Prediger has no correction). CI: ``gamma +/- t_{n-1, 1-a/2} SE`` clipped to
    [-1, 1] (irrCAC caps only the upper limit); ``p_value`` is the t test of
    ``gamma = 0`` on n - 1 df (irrCAC's).

    *Categories and weights* as in :func:`analysis.stats.agreement.cohen_kappa`: pass the
    scale's ``categories`` (q, hence AC1 and Brennan-Prediger, depends on it: a category
    nobody used still counts as one a rater could have chosen) or ``threshold`` for
    positive calls (q = 2). Linear and quadratic weights are on the positions of the
    sorted categories, as irrCAC's with ``categ.labels``.

    *Degenerate data.* With a single category (``p_e = 1``) the coefficient is NaN; a
    perfect agreement has SE 0 and a one-point CI.

    Parameters
    ----------
    df : pandas.DataFrame
        Long ratings, one row per rater x case.
    rater, case, category : str
        Column names.
    categories : sequence of numbers, optional
        The fixed category set (default: those observed).
    threshold : float, optional
        Compare positive calls (``category >= threshold``).
    weights : {"none", "linear", "quadratic"}
        Agreement weights (AC1 becomes AC2).
    coefficients : sequence of {"gwet", "brennan-prediger", "fleiss"}
        Which coefficients, one row each, in this order.
    confidence : float
        Confidence level.
    nan_policy : {"raise", "omit"}
        Rows with NaN raise or are dropped (a missing rating is otherwise allowed).

    Returns
    -------
    pandas.DataFrame
        One row per coefficient, columns ``method, scale, weights, n_cases, n_raters,
        observed_agreement, expected_agreement, statistic, se, ci_low, ci_high,
        p_value``.

    References
    ----------
    Gwet (2008), *British Journal of Mathematical and Statistical Psychology* 61, 29-48;
    Gwet (2014), *Handbook of Inter-Rater Reliability*, 4th ed., ch. 2-5; Brennan &
    Prediger (1981); Byrt, Bishop & Carlin (1993), *J Clin Epidemiol* 46, 423-429;
    R ``irrCAC::gwet.ac1.raw``, ``bp.coeff.raw``, ``fleiss.kappa.raw``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.chance_agreement import agreement_coefficients
    >>> calls = [0] * 18 + [1, 1] + [0] * 17 + [1, 0, 1]
    >>> df = pd.DataFrame({"rater_id": ["a"] * 20 + ["b"] * 20,
    ...                    "case_id": list(range(20)) * 2, "category": calls})
    >>> res = agreement_coefficients(df, threshold=1)
    >>> cols = ["method", "statistic", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
      method  statistic  ci_low  ci_high
    gwet-ac1      0.878   0.686      1.0
       pabak      0.800   0.512      1.0
      fleiss      0.444  -0.263      1.0
    """
    confidence = check_confidence(confidence)
    chosen = list(coefficients)
    if not chosen:
        raise ValueError("coefficients: name at least one coefficient")
    for c in chosen:
        if c not in AGREEMENT_COEFFICIENTS:
            raise ValueError(
                f"coefficients: expected {', '.join(map(repr, AGREEMENT_COEFFICIENTS))}, got {c!r}"
            )
    counts, cats, scale, n_raters = _counts(
        df,
        rater=rater,
        case=case,
        category=category,
        categories=categories,
        threshold=threshold,
        nan_policy=nan_policy,
    )
    q = len(cats)
    if q < 2:
        raise ValueError("categories: the coefficients need at least 2 categories")
    w = _weight_matrix(q, weights)
    if int((counts.sum(axis=1) >= 2).sum()) == 0:
        raise ValueError(f"{rater}: no case has at least two ratings")
    n = counts.shape[0]
    rows = []
    for c in chosen:
        pa, pe, coef, terms = _coefficient(counts, w, c)
        se, low, high, p = _interval(coef, terms, n, confidence)
        rows.append(
            {
                "method": _method_name(c, weights != "none"),
                "scale": scale,
                "weights": weights,
                "n_cases": n,
                "n_raters": n_raters,
                "observed_agreement": pa,
                "expected_agreement": pe,
                "statistic": coef,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "p_value": p,
            }
        )
    return pd.DataFrame(rows)


def category_kappa(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    category: str = "category",
    categories: Sequence[float] | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Kappa of each category against all the others (Fleiss 1971), with CIs.

    Every case must have the same number ``m >= 2`` of ratings. With ``n_ij`` the ratings
    of case i in category j (N cases) and ``p_j = sum_i n_ij / (N m)``:

    .. math::

        \kappa_j = 1 - \frac{\sum_i n_{ij} (m - n_{ij})}{N m (m-1) p_j (1 - p_j)},

    which is Fleiss' kappa of the ratings turned into "category j" vs "another category".
    ``z`` and ``p_value`` test ``kappa_j = 0`` with the null standard error
    ``sqrt(2 / (N m (m-1)))`` of Fleiss (1971), as R ``irr::kappam.fleiss(detail =
    TRUE)``. That null SE does not depend on the data and is too narrow away from 0, so
    the CI instead uses the non-null linearisation variance of that dichotomised Fleiss
    kappa (Gwet 2014, as :func:`agreement_coefficients`, ``irrCAC::fleiss.kappa.raw``):
    ``kappa_j +/- t_{N-1} SE_j``, clipped to [-1, 1]. A category nobody (or everybody)
    used has an undefined kappa (NaN).

    Parameters
    ----------
    df : pandas.DataFrame
        Long ratings, one row per rater x case.
    rater, case, category : str
        Column names (``rater="run"`` for the runs of one reader).
    categories : sequence of numbers, optional
        The category set (default: those observed); one row each.
    confidence : float
        Confidence level.
    nan_policy : {"raise", "omit"}
        ``"omit"`` drops rows with NaN and then the cases with fewer ratings than the
        most-rated one (listwise, as irr); ``"raise"`` raises on both.

    Returns
    -------
    pandas.DataFrame
        One row per category, columns ``category, n_cases, n_raters, prevalence,
        statistic, se, ci_low, ci_high, null_se, z, p_value``.

    References
    ----------
    Fleiss (1971), *Psychological Bulletin* 76, 378-382; Gamer, M., Lemon, J., Fellows,
    I., & Singh, P. (2019). irr: Various Coefficients of Interrater Reliability and
    Agreement (R package 0.84.1); Gwet (2014).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.chance_agreement import category_kappa
    >>> df = pd.DataFrame({
    ...     "rater_id": [1, 2, 3] * 6,
    ...     "case_id": [c for c in range(6) for _ in range(3)],
    ...     "category": [1, 1, 1, 2, 2, 3, 3, 3, 3, 1, 1, 1, 2, 2, 2, 3, 2, 3],
    ... })
    >>> res = category_kappa(df)
    >>> cols = ["category", "statistic", "ci_low", "ci_high", "p_value"]
    >>> print(res[cols].round(3).to_string(index=False))
     category  statistic  ci_low  ci_high  p_value
          1.0        1.0   1.000      1.0    0.000
          2.0        0.5  -0.278      1.0    0.034
          3.0        0.5  -0.278      1.0    0.034
    """
    confidence = check_confidence(confidence)
    counts, cats, _, n_raters = _counts(
        df,
        rater=rater,
        case=case,
        category=category,
        categories=categories,
        threshold=None,
        nan_policy=nan_policy,
    )
    per_case = counts.sum(axis=1)
    if nan_policy == "omit":
        counts = counts[per_case == per_case.max()]
        per_case = counts.sum(axis=1)
    if (per_case != per_case[0]).any():
        raise ValueError(f"{rater}: every case must have the same number of ratings")
    m = int(per_case[0])
    if m < 2:
        raise ValueError(f"{rater}: category kappa needs at least 2 ratings per case, got {m}")
    n = counts.shape[0]
    p_j = counts.sum(axis=0) / (n * m)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = 1 - (counts * (m - counts)).sum(axis=0) / (n * m * (m - 1) * p_j * (1 - p_j))
    kappa = np.where((p_j > 0) & (p_j < 1), kappa, np.nan)
    null_se = float(np.sqrt(2.0 / (n * m * (m - 1))))
    z = kappa / null_se
    p = 2 * stats.norm.sf(np.abs(z))
    identity = np.eye(2)
    rows = []
    for j, cat in enumerate(cats):
        binary = np.column_stack((counts[:, j], m - counts[:, j]))
        _, _, coef, terms = _coefficient(binary, identity, "fleiss")
        se, low, high, _ = _interval(coef, terms, n, confidence)
        rows.append(
            {
                "category": float(cat),
                "n_cases": n,
                "n_raters": n_raters,
                "prevalence": float(p_j[j]),
                "statistic": float(kappa[j]),
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "null_se": null_se,
                "z": float(z[j]),
                "p_value": float(p[j]),
            }
        )
    return pd.DataFrame(rows)
