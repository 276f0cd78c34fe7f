"""An LLM judge measured against the human panel (issue 21): agreement, bias, position, runs.

A judge is a rater of kind ``model`` who scores the same blinded items as the human raters.
The Likert functions take one long frame of scores, one row per rater x output x domain::

    rater_id, kind ("human" | "model"), case_id, reader_id (the output's source), domain, score

and compare the judge (one ``rater_id`` of kind ``model``) with the humans. The unit is one
output (case x reader) on one domain. The **panel consensus** of a unit is the **median** of
the human scores of that unit (a half point when an even number of humans scored it); the
weighted kappa is computed on the half-point grid from ``low`` to ``high``, so its quadratic
weights stay ``1 - (x - y)^2 / (high - low)^2`` in score units.

- :func:`judge_agreement`: quadratic-weighted kappa, Krippendorff's alpha, ICC(2,1), the mean
  difference judge - panel and the Bland-Altman limits of agreement, per domain, against each
  human and against the consensus.
- :func:`judge_within_panel`: leave-one-rater-out -- is the judge's agreement with the panel
  within the humans' agreement with each other? Case-bootstrap CI.
- :func:`judge_position_bias`: pairwise judgments asked in both orders -- share of first-shown
  choices (exact binomial test) and consistency after swapping (Wilson CI).
- :func:`judge_self_consistency`: Krippendorff's alpha and exact agreement across runs.
- :func:`judge_conclusions`: would the judge change the study's conclusions -- Kendall's tau
  of the readers' mean scores and which Dunn comparisons are significant under each.

References
----------
Bland, J. M., & Altman, D. G. (1999). Measuring agreement in method comparison studies.
*Statistical Methods in Medical Research*, 8(2), 135-160.

Cohen, J. (1968). Weighted kappa. *Psychological Bulletin*, 70(4), 213-220.

Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
Communication, University of Pennsylvania.

Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations. *Psychological Bulletin*,
86(2), 420-428.

Zheng, L., et al. (2023). Judging LLM-as-a-judge with MT-Bench and Chatbot Arena.
*NeurIPS 2023 Datasets and Benchmarks* (position bias, swapped-order consistency).

Kendall, M. G. (1938). A new measure of rank correlation. *Biometrika*, 30(1/2), 81-93.

Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall
(percentile interval; cases resampled as clusters).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import (
    check_confidence,
    check_range,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)
from analysis.stats.agreement import AlphaLevel, cohen_kappa, icc, krippendorff_alpha
from analysis.stats.diagnostic import proportion_ci
from analysis.stats.likert import dunn_test
from analysis.stats.multiplicity import PAdjust, check_p_adjust

HUMAN = "human"
MODEL = "model"
PANEL = "panel"

AGREEMENT_COLUMNS: tuple[str, ...] = (
    "domain",
    "judge",
    "against",
    "measure",
    "n",
    "n_cases",
    "statistic",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
)


# --------------------------------------------------------------------------------------
# input helpers
# --------------------------------------------------------------------------------------


def _check_boot(n_boot: int, *, minimum: int = 0) -> int:
    if int(n_boot) < minimum:
        raise ValueError(f"n_boot: must be >= {minimum}, got {n_boot!r}")
    return int(n_boot)


def _likert(
    df: object,
    *,
    judge: object,
    rater: str,
    kind: str,
    case: str,
    reader: str,
    domain: str,
    score: str,
    low: float,
    high: float,
) -> pd.DataFrame:
    """Validate the long Likert frame; return it with ``score`` numeric and no NaN score."""
    frame = require_frame(df)
    columns = {
        "rater": rater,
        "kind": kind,
        "case": case,
        "reader": reader,
        "domain": domain,
        "score": score,
    }
    require_columns(frame, columns)
    problems = []
    key_na = frame[[rater, kind, case, reader, domain]].isna().any(axis=1)
    if key_na.any():
        problems.append(f"{int(key_na.sum())} row(s) have NaN in {rater}/{kind}/{case}/...")
    bad_kind = ~frame[kind].isin([HUMAN, MODEL]) & frame[kind].notna()
    if bad_kind.any():
        values = sorted(map(str, frame.loc[bad_kind, kind].unique()))
        problems.append(f"kind: values must be 'human' or 'model', got {values}")
    if problems:
        raise ValueError("df: " + "; ".join(problems))
    require_unique(frame, {"rater": rater, "case": case, "reader": reader, "domain": domain})
    frame = frame.copy()
    frame[score] = require_numeric(frame, score, arg=f"score={score!r}")
    frame = frame[frame[score].notna()]
    check_range(frame[score].to_numpy(), low=low, high=high, arg=f"score={score!r}")
    kinds = frame.groupby(rater)[kind].nunique()
    if (kinds > 1).any():
        raise ValueError(
            f"kind: rater(s) {sorted(map(str, kinds[kinds > 1].index))} have two kinds"
        )
    judges = frame.loc[frame[kind] == MODEL, rater].unique()
    if judge not in set(judges):
        raise ValueError(f"judge: {judge!r} is not a rater of kind 'model' (have {list(judges)})")
    if not (frame[kind] == HUMAN).any():
        raise ValueError("df: no rater of kind 'human'")
    return frame


def _wide(sub: pd.DataFrame, *, rater: str, case: str, reader: str, score: str) -> pd.DataFrame:
    """Units (case, reader) x raters table of scores."""
    return sub.pivot_table(index=[case, reader], columns=rater, values=score, aggfunc="first")


def _grid(low: float, high: float) -> np.ndarray:
    return np.arange(2 * low, 2 * high + 1) / 2.0


def _weighted_kappa(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    r"""Quadratic-weighted kappa ``1 - mean((x-y)^2) / (var x + var y + (mean x - mean y)^2)``.

    Equal to Cohen's quadratic-weighted kappa on an equally spaced category set (population
    variances). ``w`` (B x U) gives one weighted kappa per row (bootstrap multiplicities).
    """
    if w is None:
        w = np.ones((1, len(x)))
    total = w.sum(axis=1)
    mx = w @ x / total
    my = w @ y / total
    vx = w @ (x**2) / total - mx**2
    vy = w @ (y**2) / total - my**2
    d2 = w @ ((x - y) ** 2) / total
    denominator = vx + vy + (mx - my) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa: np.ndarray = np.where(denominator > 0, 1 - d2 / denominator, np.nan)
    return kappa


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.nan, np.nan
    q = [50 * (1 - confidence), 50 * (1 + confidence)]
    low, high = np.percentile(finite, q)
    return float(low), float(high)


def _case_weights(codes: np.ndarray, n_boot: int, seed: int | None) -> np.ndarray:
    """(n_boot x units) multiplicities of each unit's case in case-bootstrap resamples."""
    n_cases = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_cases, np.full(n_cases, 1.0 / n_cases), size=n_boot)
    weights: np.ndarray = draws[:, codes].astype(float)
    return weights


def _bland_altman(
    d: np.ndarray, clusters: np.ndarray | None, *, confidence: float, limits: float
) -> list[dict[str, object]]:
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else np.nan
    z = float(stats.norm.ppf(0.5 + limits / 2))
    if clusters is None:
        se, dof = sd / np.sqrt(n), n - 1
    else:
        codes = pd.factorize(clusters)[0]
        n_c = int(codes.max()) + 1
        totals = np.bincount(codes, weights=d, minlength=n_c)
        sizes = np.bincount(codes, minlength=n_c)
        se = (
            np.sqrt(n_c / (n_c - 1) * ((totals - sizes * mean) ** 2).sum()) / n
            if n_c > 1
            else np.nan
        )
        dof = n_c - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = float(stats.t.ppf(0.5 + confidence / 2, dof)) if dof > 0 else np.nan
        se_loa = float(np.sqrt(se**2 + z**2 * sd**2 / (2 * (n - 1)))) if n > 1 else np.nan
        p = float(2 * stats.t.sf(abs(mean / se), dof)) if se > 0 else np.nan
    measures = ("mean_difference", "loa_low", "loa_high")
    values = (mean, mean - z * sd, mean + z * sd)
    ses = (float(se), se_loa, se_loa)
    return [
        {
            "measure": m,
            "statistic": v,
            "se": s,
            "ci_low": v - tq * s,
            "ci_high": v + tq * s,
            "p_value": p if m == "mean_difference" else np.nan,
        }
        for m, v, s in zip(measures, values, ses, strict=True)
    ]


# --------------------------------------------------------------------------------------
# agreement with each human and with the consensus
# --------------------------------------------------------------------------------------


def judge_agreement(
    df: pd.DataFrame,
    *,
    judge: object,
    rater: str = "rater_id",
    kind: str = "kind",
    case: str = "case_id",
    reader: str = "reader_id",
    domain: str = "domain",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    level: AlphaLevel = "ordinal",
    cluster: bool = True,
    limits: float = 0.95,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Agreement of a judge with each human rater and with the panel consensus, per domain.

    For every domain and every comparison (``against`` = a human's id, or ``"panel"``: the
    **median** of the humans' scores of the unit), on the units (case x reader) both sides
    scored, with ``d = judge - other``:

    - ``weighted_kappa``: Cohen's quadratic-weighted kappa
      ``1 - sum p_ij (i-j)^2 / sum p_i. p_.j (i-j)^2`` on the half-point grid ``low .. high``
      with the Fleiss-Cohen-Everitt (1969) SE and CI (:func:`analysis.stats.agreement.cohen_kappa`);
    - ``krippendorff_alpha``: alpha of the two raters at ``level`` (default ordinal, as the
      project's Likert reliability) with a unit-bootstrap CI (``n_boot``, ``seed``);
    - ``icc``: ICC(2,1), two-way random, absolute agreement, single rater (Shrout & Fleiss
      1979) with the McGraw-Wong CI and the F test (``p_value``), as ``psych::ICC``;
    - ``mean_difference``: the bias ``d-bar`` with ``t`` CI and ``p_value`` of ``d-bar = 0``;
    - ``loa_low`` / ``loa_high``: Bland-Altman limits ``d-bar -/+ z s_d`` (``z`` the normal
      quantile of ``limits``, 1.96) with the CI of Bland & Altman (1999, section 4.2)
      ``LoA +/- t SE``, ``SE^2 = SE(d-bar)^2 + z^2 s_d^2 / (2(n-1))``.

    *Clustered data.* The outputs of one case (one per reader) share the case and are not
    independent. With ``cluster=True`` (default) ``SE(d-bar)`` is the cluster-robust
    (sandwich) SE over cases, ``sqrt(C/(C-1) sum_c (D_c - n_c d-bar)^2) / n`` (``D_c`` the sum
    of the case's differences, ``C`` cases) on ``C - 1`` df; it enters both the bias CI and the
    limits' CI. ``s_d`` is the SD of all the unit differences: each output is a different
    object, so these are not the replicates of Bland & Altman (1999, section 5), and the
    limits describe single outputs. ``cluster=False`` gives the textbook ``SE = s_d/sqrt(n)``
    on ``n - 1`` df. Kappa, alpha and the ICC treat units as independent.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores: ``rater, kind, case, reader, domain, score``.
    judge : object
        The ``rater`` id of the judge (a rater of kind ``"model"``).
    rater, kind, case, reader, domain, score : str
        Column names.
    low, high : float
        The Likert scale's range.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement of alpha.
    cluster : bool
        Cluster-robust SE of the bias over cases (see above).
    limits : float
        Coverage of the limits of agreement (default 0.95).
    confidence : float
        Confidence level of every CI.
    n_boot, seed : int
        Bootstrap resamples of alpha's CI and their seed.

    Returns
    -------
    pandas.DataFrame
        One row per domain x ``against`` x ``measure``; columns ``domain, judge, against,
        measure, n, n_cases, statistic, se, ci_low, ci_high, p_value``.

    References
    ----------
    Bland & Altman (1999), *Stat Methods Med Res* 8, 135-160; Fleiss, Cohen & Everitt (1969),
    *Psychological Bulletin* 72, 323-327; Shrout & Fleiss (1979); Krippendorff (2011).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judge import judge_agreement
    >>> human = [3, 4, 2, 5, 1, 3, 4, 2]
    >>> df = pd.DataFrame({
    ...     "rater_id": ["h1"] * 8 + ["h2"] * 8 + ["j"] * 8,
    ...     "kind": ["human"] * 16 + ["model"] * 8,
    ...     "case_id": [1, 1, 2, 2, 3, 3, 4, 4] * 3,
    ...     "reader_id": ["A", "B"] * 12,
    ...     "domain": "accuracy",
    ...     "score": human + [3, 4, 3, 5, 2, 3, 4, 2] + [4, 5, 3, 5, 2, 4, 5, 3],
    ... })
    >>> res = judge_agreement(df, judge="j", n_boot=0)
    >>> res = res[(res["against"] == "panel")]
    >>> print(res[["measure", "n", "statistic"]].round(3).to_string(index=False))
               measure  n  statistic
        weighted_kappa  8      0.758
    krippendorff_alpha  8      0.744
                   icc  8      0.782
       mean_difference  8      0.750
               loa_low  8      0.009
              loa_high  8      1.491
    """
    confidence = check_confidence(confidence)
    if not (0.0 < float(limits) < 1.0):
        raise ValueError(f"limits: must be between 0 and 1, got {limits!r}")
    n_boot = _check_boot(n_boot)
    frame = _likert(
        df,
        judge=judge,
        rater=rater,
        kind=kind,
        case=case,
        reader=reader,
        domain=domain,
        score=score,
        low=low,
        high=high,
    )
    humans = sorted(frame.loc[frame[kind] == HUMAN, rater].unique(), key=str)
    grid = _grid(low, high)
    rows: list[dict[str, object]] = []
    for dom, sub in frame.groupby(domain, sort=True):
        wide = _wide(sub, rater=rater, case=case, reader=reader, score=score)
        if judge not in wide.columns:
            continue
        present = [h for h in humans if h in wide.columns]
        others = {h: wide[h] for h in present} | {PANEL: wide[present].median(axis=1)}
        for against, other in others.items():
            pair = pd.DataFrame({"j": wide[judge], "o": other}).dropna()
            if len(pair) < 2:
                continue
            base = {
                "domain": dom,
                "judge": judge,
                "against": against,
                "n": len(pair),
                "n_cases": int(pair.index.get_level_values(0).nunique()),
            }
            long = pd.DataFrame(
                {
                    "rater": ["j"] * len(pair) + ["o"] * len(pair),
                    "unit": list(range(len(pair))) * 2,
                    "score": np.concatenate([pair["j"].to_numpy(), pair["o"].to_numpy()]),
                }
            )
            kap = cohen_kappa(
                long.rename(columns={"rater": "reader_id", "unit": "case_id", "score": "category"}),
                reader_a="j",
                reader_b="o",
                categories=grid,
                weights="quadratic",
                confidence=confidence,
            ).iloc[0]
            rows.append(
                base
                | {
                    "measure": "weighted_kappa",
                    "statistic": kap["statistic"],
                    "se": kap["se"],
                    "ci_low": kap["ci_low"],
                    "ci_high": kap["ci_high"],
                    "p_value": np.nan,
                }
            )
            alpha = krippendorff_alpha(
                long,
                rater="rater",
                unit="unit",
                score="score",
                level=level,
                confidence=confidence,
                n_boot=n_boot,
                seed=seed,
            ).iloc[0]
            rows.append(
                base
                | {
                    "measure": "krippendorff_alpha",
                    "statistic": alpha["statistic"],
                    "se": np.nan,
                    "ci_low": alpha["ci_low"],
                    "ci_high": alpha["ci_high"],
                    "p_value": np.nan,
                }
            )
            res = icc(long, rater="rater", target="unit", score="score", confidence=confidence)
            icc2 = res[res["type"] == "ICC2"].iloc[0]
            rows.append(
                base
                | {
                    "measure": "icc",
                    "statistic": icc2["statistic"],
                    "se": np.nan,
                    "ci_low": icc2["ci_low"],
                    "ci_high": icc2["ci_high"],
                    "p_value": icc2["p_value"],
                }
            )
            d = (pair["j"] - pair["o"]).to_numpy()
            clusters = pair.index.get_level_values(0).to_numpy() if cluster else None
            rows.extend(
                base | r
                for r in _bland_altman(d, clusters, confidence=confidence, limits=float(limits))
            )
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


# --------------------------------------------------------------------------------------
# leave-one-rater-out: the judge within the humans' agreement
# --------------------------------------------------------------------------------------


def judge_within_panel(
    df: pd.DataFrame,
    *,
    judge: object,
    rater: str = "rater_id",
    kind: str = "kind",
    case: str = "case_id",
    reader: str = "reader_id",
    domain: str = "domain",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    margin: float = 0.1,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Is the judge's agreement with the panel within the humans' agreement? (leave one out)

    Per domain (at least three humans): for each human h, on the units (case x reader) that
    the judge, h and at least one other human scored, with ``P_-h`` the median of the other
    humans' scores of the unit (so incomplete, e.g. balanced, rating designs work),
    ``kappa_J(h) = kappa_w(judge, P_-h)`` and ``kappa_H(h) = kappa_w(h, P_-h)``, where
    ``kappa_w`` is the quadratic-weighted kappa on equally spaced scores,

    .. math::

        \kappa_w(x, y) = 1 - \frac{\overline{(x - y)^2}}{s_x^2 + s_y^2 + (\bar x - \bar y)^2}

    (population variances; identical to Cohen's 1968 quadratic-weighted kappa). The row of h
    has ``statistic = kappa_J(h) - kappa_H(h)``; the row ``human = "mean"`` has the mean over
    the humans, ``D = (1/m) sum_h (kappa_J(h) - kappa_H(h))``: the judge compared with an
    average human replacing them in the same panel.

    *Bootstrap.* Cases are resampled with replacement (every output of a drawn case comes
    along: cases are the clusters), ``n_boot`` times with ``numpy.random.default_rng(seed)``;
    every kappa is recomputed on the resample and the CI is the percentile interval. The
    judge is *within the panel* (``within``, mean row) when ``ci_low > -margin``: the judge's
    agreement is at most ``margin`` (in kappa) worse than a human's, a non-inferiority
    reading.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, as :func:`judge_agreement`.
    judge : object
        The judge's rater id.
    margin : float
        Non-inferiority margin on the kappa difference (default 0.1).
    confidence : float
        Confidence level of the percentile intervals.
    n_boot, seed : int
        Case-bootstrap resamples (at least 1) and their seed.

    Returns
    -------
    pandas.DataFrame
        Per domain one row per human and a ``"mean"`` row; columns ``domain, judge, human,
        n, n_cases, judge_agreement, human_agreement, statistic, ci_low, ci_high, margin,
        within`` (``within`` only on the mean row, else NA; ``n`` counts the units used,
        on the mean row those used for any human).

    References
    ----------
    Cohen (1968); Efron & Tibshirani (1993), ch. 13 (percentile interval); for the idea,
    the leave-one-rater-out comparison of a model with a panel of readers, e.g. Rajpurkar
    et al. (2018), *PLoS Medicine* 15, e1002686.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.stats.judge import judge_within_panel
    >>> rng = np.random.default_rng(1)
    >>> q = rng.normal(3, 1, 40)
    >>> raters = {"h1": "human", "h2": "human", "h3": "human", "j": "model"}
    >>> df = pd.DataFrame([
    ...     {"rater_id": r, "kind": k, "case_id": i // 2, "reader_id": "AB"[i % 2],
    ...      "domain": "accuracy", "score": float(np.clip(np.round(q[i] + rng.normal(0, .5)), 1, 5))}
    ...     for r, k in raters.items() for i in range(40)])
    >>> res = judge_within_panel(df, judge="j", n_boot=200)
    >>> print(res[["human", "statistic", "ci_low", "within"]].round(2).to_string(index=False))
    human  statistic  ci_low  within
       h1      -0.05   -0.18    <NA>
       h2      -0.07   -0.18    <NA>
       h3      -0.09   -0.21    <NA>
     mean      -0.07   -0.15   False
    """
    confidence = check_confidence(confidence)
    n_boot = _check_boot(n_boot, minimum=1)
    if not float(margin) >= 0:
        raise ValueError(f"margin: must be >= 0, got {margin!r}")
    frame = _likert(
        df,
        judge=judge,
        rater=rater,
        kind=kind,
        case=case,
        reader=reader,
        domain=domain,
        score=score,
        low=low,
        high=high,
    )
    humans = sorted(frame.loc[frame[kind] == HUMAN, rater].unique(), key=str)
    if len(humans) < 3:
        raise ValueError(f"{rater}: leave-one-rater-out needs at least 3 humans, got {len(humans)}")
    columns = [
        "domain",
        "judge",
        "human",
        "n",
        "n_cases",
        "judge_agreement",
        "human_agreement",
        "statistic",
        "ci_low",
        "ci_high",
        "margin",
        "within",
    ]
    rows: list[dict[str, object]] = []
    for dom, sub in frame.groupby(domain, sort=True):
        wide = _wide(sub, rater=rater, case=case, reader=reader, score=score)
        if judge not in wide.columns:
            continue
        present = [h for h in humans if h in wide.columns]
        wide = wide[wide[judge].notna()]
        if len(present) < 3 or len(wide) < 2:
            continue
        codes = pd.factorize(wide.index.get_level_values(0))[0]
        weights = _case_weights(codes, n_boot, seed)
        used = np.zeros(len(wide), dtype=bool)
        point: list[tuple[object, int, int, float, float]] = []
        boot = []
        for h in present:
            others = wide[[o for o in present if o != h]]
            keep = (wide[h].notna() & others.notna().any(axis=1)).to_numpy()
            if keep.sum() < 2:
                continue
            used |= keep
            rest = others[keep].median(axis=1).to_numpy(dtype=float)
            x = wide.loc[keep, h].to_numpy(dtype=float)
            j = wide.loc[keep, judge].to_numpy(dtype=float)
            kj, kh = float(_weighted_kappa(j, rest)[0]), float(_weighted_kappa(x, rest)[0])
            n_cases_h = len(np.unique(codes[keep]))
            point.append((h, int(keep.sum()), n_cases_h, kj, kh))
            w = weights[:, keep]
            boot.append(_weighted_kappa(j, rest, w) - _weighted_kappa(x, rest, w))
        if not point:
            continue
        base = {"domain": dom, "judge": judge}
        for (h, n_h, c_h, kj, kh), b in zip(point, boot, strict=True):
            low_h, high_h = _percentile(b, confidence)
            rows.append(
                base
                | {
                    "human": h,
                    "n": n_h,
                    "n_cases": c_h,
                    "judge_agreement": kj,
                    "human_agreement": kh,
                    "statistic": kj - kh,
                    "ci_low": low_h,
                    "ci_high": high_h,
                    "margin": float(margin),
                    "within": pd.NA,
                }
            )
        mean_boot = np.mean(np.vstack(boot), axis=0)
        low_m, high_m = _percentile(mean_boot, confidence)
        rows.append(
            base
            | {
                "human": "mean",
                "n": int(used.sum()),
                "n_cases": len(np.unique(codes[used])),
                "judge_agreement": float(np.mean([p[3] for p in point])),
                "human_agreement": float(np.mean([p[4] for p in point])),
                "statistic": float(np.mean([p[3] - p[4] for p in point])),
                "ci_low": low_m,
                "ci_high": high_m,
                "margin": float(margin),
                "within": bool(low_m > -float(margin)),
            }
        )
    out = pd.DataFrame(rows, columns=columns)
    out["within"] = out["within"].astype("boolean")
    return out


# --------------------------------------------------------------------------------------
# pairwise: position bias and swap consistency
# --------------------------------------------------------------------------------------


def judge_position_bias(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader",
    comparator: str = "comparator",
    order: str = "order",
    choice: str = "choice",
    run: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Position bias and swap consistency of pairwise judgments asked in both orders.

    Each comparison of ``reader`` (option a) with ``comparator`` (option b) on a case is
    shown as ``order = "ab"`` (reader first) and ``"ba"`` (comparator first); ``choice`` is
    ``a``, ``b`` or ``tie`` in reader terms. Per judge (``rater``):

    - ``position_bias``: of the k non-tie answers, the share ``k_first / k`` that picked the
      option shown first (``ab`` & ``a`` or ``ba`` & ``b``), with the Clopper-Pearson CI and
      ``p_value`` the exact two-sided binomial test of ½ (R ``binom.test``). An unbiased
      judge is at ½ whatever the readers' quality, because every pair is shown both ways.
    - ``consistency``: of the comparisons asked in both orders, the share with the same
      choice (same preference, or tie both times) after swapping, with the Wilson score CI
      (R ``prop.test(correct = FALSE)``); ``p_value`` NaN.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per judgment: ``rater, case, reader, comparator, order, choice``.
    rater, case, reader, comparator, order, choice : str
        Column names.
    run : str, optional
        Column of the judge's repeated runs: every run's judgments count, and a comparison is
        swapped within its run.
    confidence : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Two rows per judge, columns ``judge, measure, n, k, statistic, ci_low, ci_high,
        p_value``.

    References
    ----------
    Zheng et al. (2023), MT-Bench (position bias, swapped-order consistency); Clopper &
    Pearson (1934), *Biometrika* 26, 404-413; Wilson (1927), *JASA* 22, 209-212.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judge import judge_position_bias
    >>> df = pd.DataFrame({
    ...     "rater_id": "j",
    ...     "case_id": [1, 1, 2, 2, 3, 3, 4, 4],
    ...     "reader": "m1", "comparator": "m2",
    ...     "order": ["ab", "ba"] * 4,
    ...     "choice": ["a", "b", "a", "b", "a", "a", "tie", "b"],
    ... })
    >>> res = judge_position_bias(df)
    >>> print(res[["measure", "n", "k", "statistic", "p_value"]].round(3).to_string(index=False))
          measure  n  k  statistic  p_value
    position_bias  7  6      0.857    0.125
      consistency  4  1      0.250      NaN
    """
    confidence = check_confidence(confidence)
    frame = require_frame(df)
    cols = {
        "rater": rater,
        "case": case,
        "reader": reader,
        "comparator": comparator,
        "order": order,
        "choice": choice,
    }
    if run is not None:
        cols["run"] = run
    require_columns(frame, cols)
    problems = []
    if frame[list(cols.values())].isna().any(axis=None):
        problems.append("NaN in " + ", ".join(c for c in cols.values() if frame[c].isna().any()))
    bad_order = sorted(map(str, set(frame[order].dropna()) - {"ab", "ba"}))
    if bad_order:
        problems.append(f"order: values must be 'ab' or 'ba', got {bad_order}")
    bad_choice = sorted(map(str, set(frame[choice].dropna()) - {"a", "b", "tie"}))
    if bad_choice:
        problems.append(f"choice: values must be 'a', 'b' or 'tie', got {bad_choice}")
    if problems:
        raise ValueError("df: " + "; ".join(problems))
    require_unique(frame, {k: v for k, v in cols.items() if k != "choice"})
    rows: list[dict[str, object]] = []
    key = [rater, case, reader, comparator] + ([run] if run is not None else [])
    for judge, sub in frame.groupby(rater, sort=True):
        decided = sub[sub[choice] != "tie"]
        first = ((decided[order] == "ab") & (decided[choice] == "a")) | (
            (decided[order] == "ba") & (decided[choice] == "b")
        )
        n, k = len(decided), int(first.sum())
        cp = proportion_ci(k, n, confidence=confidence, method="exact").iloc[0]
        p = float(stats.binomtest(k, n, 0.5).pvalue) if n > 0 else np.nan
        rows.append(
            {
                "judge": judge,
                "measure": "position_bias",
                "n": n,
                "k": k,
                "statistic": cp["statistic"],
                "ci_low": cp["ci_low"],
                "ci_high": cp["ci_high"],
                "p_value": p,
            }
        )
        both = sub[sub[order] == "ab"].merge(
            sub[sub[order] == "ba"], on=key, suffixes=("_ab", "_ba")
        )
        n2 = len(both)
        k2 = int((both[f"{choice}_ab"] == both[f"{choice}_ba"]).sum())
        wil = proportion_ci(k2, n2, confidence=confidence, method="wilson").iloc[0]
        rows.append(
            {
                "judge": judge,
                "measure": "consistency",
                "n": n2,
                "k": k2,
                "statistic": wil["statistic"],
                "ci_low": wil["ci_low"],
                "ci_high": wil["ci_high"],
                "p_value": np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["judge", "measure", "n", "k", "statistic", "ci_low", "ci_high", "p_value"]
    )


# --------------------------------------------------------------------------------------
# self-consistency across runs
# --------------------------------------------------------------------------------------


def judge_self_consistency(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader_id",
    domain: str = "domain",
    run: str = "run",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    level: AlphaLevel = "ordinal",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Self-consistency of a judge across repeated runs on the same items, per domain.

    The runs are taken as raters of the unit (case x reader):

    - ``krippendorff_alpha``: alpha across the runs at ``level`` (Krippendorff 2011) with
      the unit-bootstrap percentile CI (:func:`analysis.stats.agreement.krippendorff_alpha`);
    - ``exact_agreement``: of the k units scored in at least two runs, the share whose runs
      all gave the same score, with the Wilson score CI.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per judge x run x case x reader x domain with the score.
    rater, case, reader, domain, run, score : str
        Column names.
    low, high : float
        The scale's range.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Level of measurement of alpha.
    confidence : float
        Confidence level.
    n_boot, seed : int
        Bootstrap resamples of alpha's CI.

    Returns
    -------
    pandas.DataFrame
        Two rows per judge x domain, columns ``judge, domain, measure, n_runs, n, statistic,
        ci_low, ci_high``.

    References
    ----------
    Krippendorff (2011); Wilson (1927), *JASA* 22, 209-212.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judge import judge_self_consistency
    >>> df = pd.DataFrame({
    ...     "rater_id": "j", "domain": "accuracy", "reader_id": "A",
    ...     "run": [1] * 6 + [2] * 6,
    ...     "case_id": list(range(6)) * 2,
    ...     "score": [1, 2, 3, 4, 5, 3, 1, 2, 4, 4, 5, 3],
    ... })
    >>> res = judge_self_consistency(df, n_boot=0)
    >>> print(res[["measure", "n", "statistic"]].round(3).to_string(index=False))
               measure  n  statistic
    krippendorff_alpha  6      0.940
       exact_agreement  6      0.833
    """
    confidence = check_confidence(confidence)
    n_boot = _check_boot(n_boot)
    frame = require_frame(df)
    cols = {
        "rater": rater,
        "case": case,
        "reader": reader,
        "domain": domain,
        "run": run,
        "score": score,
    }
    require_columns(frame, cols)
    keys = [rater, case, reader, domain, run]
    if frame[keys].isna().any(axis=None):
        raise ValueError("df: NaN in " + ", ".join(c for c in keys if frame[c].isna().any()))
    require_unique(frame, {k: v for k, v in cols.items() if k != "score"})
    frame = frame.copy()
    frame[score] = require_numeric(frame, score, arg=f"score={score!r}")
    frame = frame[frame[score].notna()]
    check_range(frame[score].to_numpy(), low=low, high=high, arg=f"score={score!r}")
    rows: list[dict[str, object]] = []
    for (judge, dom), sub in frame.groupby([rater, domain], sort=True):
        n_runs = int(sub[run].nunique())
        alpha = krippendorff_alpha(
            sub,
            rater=run,
            unit=[case, reader],
            score=score,
            level=level,
            confidence=confidence,
            n_boot=n_boot,
            seed=seed,
        ).iloc[0]
        base = {"judge": judge, "domain": dom, "n_runs": n_runs}
        rows.append(
            base
            | {
                "measure": "krippendorff_alpha",
                "n": int(alpha["n_units"]),
                "statistic": alpha["statistic"],
                "ci_low": alpha["ci_low"],
                "ci_high": alpha["ci_high"],
            }
        )
        per_unit = sub.groupby([case, reader])[score].agg(["count", "nunique"])
        per_unit = per_unit[per_unit["count"] >= 2]
        k, n = int((per_unit["nunique"] == 1).sum()), len(per_unit)
        wil = proportion_ci(k, n, confidence=confidence, method="wilson").iloc[0]
        rows.append(
            base
            | {
                "measure": "exact_agreement",
                "n": n,
                "statistic": wil["statistic"],
                "ci_low": wil["ci_low"],
                "ci_high": wil["ci_high"],
            }
        )
    return pd.DataFrame(
        rows,
        columns=["judge", "domain", "measure", "n_runs", "n", "statistic", "ci_low", "ci_high"],
    )


# --------------------------------------------------------------------------------------
# would the judge change the conclusions?
# --------------------------------------------------------------------------------------


def _reader_means(
    values: np.ndarray, reader_codes: np.ndarray, weights: np.ndarray, n_readers: int
) -> np.ndarray:
    """(B x readers) weighted mean score per reader; ``weights`` is (B x rows)."""
    onehot = np.zeros((len(values), n_readers))
    onehot[np.arange(len(values)), reader_codes] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        means: np.ndarray = (weights @ (onehot * values[:, None])) / (weights @ onehot)
    return means


def _kendall(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan, np.nan
    res = stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)


def judge_conclusions(
    df: pd.DataFrame,
    *,
    judge: object,
    rater: str = "rater_id",
    kind: str = "kind",
    case: str = "case_id",
    reader: str = "reader_id",
    domain: str = "domain",
    score: str = "score",
    low: float = 1,
    high: float = 5,
    p_adjust: PAdjust = "bonferroni",
    significance: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Would replacing the panel by the judge change the study's conclusions? Per domain.

    *Ranking.* ``mean_panel(r)`` is the mean of all human scores of reader (source) r,
    ``mean_judge(r)`` the mean of the judge's; the ``rank`` row has ``statistic`` =
    Kendall's tau-b between the two vectors of reader means (Kendall 1938; ``p_value`` from
    ``scipy.stats.kendalltau``, exact without ties as R ``cor.test(method = "kendall")``) and
    ``changed`` = the two orders differ (tau < 1).

    *Pairwise differences.* For each pair of readers a < b, Dunn's test
    (:func:`analysis.stats.likert.dunn_test`, the project's Likert comparison after
    Kruskal-Wallis, ``p_adjust`` within the domain) on the human scores (``p_panel``) and on
    the judge's scores (``p_judge``); ``significant_*`` is ``p < significance``; ``changed``
    = the two verdicts differ, or both are significant in opposite directions. The pair
    row's ``statistic`` is how much the judge moves the difference,
    ``(mean_judge(a) - mean_judge(b)) - (mean_panel(a) - mean_panel(b))``.

    *Bootstrap* (the CIs of both kinds of row): cases are resampled with replacement
    (``n_boot`` times, ``numpy.random.default_rng(seed)``; all outputs and all scores of a
    drawn case come along) and the percentile interval is taken.

    Parameters
    ----------
    df : pandas.DataFrame
        Long scores, as :func:`judge_agreement`.
    judge : object
        The judge's rater id.
    p_adjust : {"bonferroni", "holm", "fdr", "none"}
        Adjustment of Dunn's p values.
    significance : float
        Level at which a difference counts as significant (default 0.05).
    confidence : float
        Confidence level of the bootstrap intervals.
    n_boot, seed : int
        Case-bootstrap resamples (at least 1) and their seed.

    Returns
    -------
    pandas.DataFrame
        Per domain one ``comparison = "rank"`` row and one ``"pair"`` row per reader pair;
        columns ``domain, judge, comparison, reader_a, reader_b, mean_panel_a,
        mean_panel_b, mean_judge_a, mean_judge_b, statistic, ci_low, ci_high, p_value,
        p_panel, p_judge, significant_panel, significant_judge, changed``.

    References
    ----------
    Kendall (1938), *Biometrika* 30, 81-93; Dunn (1964), *Technometrics* 6, 241-252.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judge import judge_conclusions
    >>> scores = {"h1": [5, 4, 5, 4, 2, 1, 2, 2, 3, 3, 3, 4],
    ...           "h2": [4, 4, 5, 5, 1, 2, 2, 1, 3, 2, 3, 3],
    ...           "j": [3, 3, 3, 4, 3, 3, 2, 3, 3, 3, 3, 4]}
    >>> df = pd.DataFrame([
    ...     {"rater_id": r, "kind": "model" if r == "j" else "human", "case_id": i % 4,
    ...      "reader_id": "ABC"[i // 4], "domain": "accuracy", "score": s}
    ...     for r, v in scores.items() for i, s in enumerate(v)])
    >>> res = judge_conclusions(df, judge="j", n_boot=200)
    >>> cols = ["comparison", "reader_a", "reader_b", "significant_panel",
    ...         "significant_judge", "changed"]
    >>> print(res[cols].to_string(index=False))
    comparison reader_a reader_b  significant_panel  significant_judge  changed
          rank     <NA>     <NA>               <NA>               <NA>     True
          pair        A        B               True              False     True
          pair        A        C              False              False    False
          pair        B        C              False              False    False
    """
    confidence = check_confidence(confidence)
    n_boot = _check_boot(n_boot, minimum=1)
    check_p_adjust(p_adjust)
    if not (0.0 < float(significance) < 1.0):
        raise ValueError(f"significance: must be between 0 and 1, got {significance!r}")
    frame = _likert(
        df,
        judge=judge,
        rater=rater,
        kind=kind,
        case=case,
        reader=reader,
        domain=domain,
        score=score,
        low=low,
        high=high,
    )
    frame = frame[(frame[kind] == HUMAN) | (frame[rater] == judge)]
    rows: list[dict[str, object]] = []
    for dom, sub in frame.groupby(domain, sort=True):
        hum = sub[sub[kind] == HUMAN]
        jud = sub[sub[rater] == judge]
        names = sorted(set(hum[reader]) & set(jud[reader]), key=str)
        if len(names) < 2:
            continue
        hum, jud = hum[hum[reader].isin(names)], jud[jud[reader].isin(names)]
        idx = {n: i for i, n in enumerate(names)}
        case_codes = pd.factorize(pd.concat([hum[case], jud[case]]), sort=True)[0]
        weights = _case_weights(case_codes, n_boot, seed)
        n_h = len(hum)
        w_h = np.vstack([np.ones(n_h), weights[:, :n_h]])
        w_j = np.vstack([np.ones(len(jud)), weights[:, n_h:]])
        r_h = hum[reader].map(idx).to_numpy()
        r_j = jud[reader].map(idx).to_numpy()
        m_panel = _reader_means(hum[score].to_numpy(float), r_h, w_h, len(names))
        m_judge = _reader_means(jud[score].to_numpy(float), r_j, w_j, len(names))
        tau, p_tau = _kendall(m_panel[0], m_judge[0])
        taus = np.array([_kendall(a, b)[0] for a, b in zip(m_panel[1:], m_judge[1:], strict=True)])
        t_low, t_high = _percentile(taus, confidence)
        base = {"domain": dom, "judge": judge}
        rows.append(
            base
            | {
                "comparison": "rank",
                "statistic": tau,
                "ci_low": t_low,
                "ci_high": t_high,
                "p_value": p_tau,
                "changed": bool(not tau >= 1.0),
            }
        )
        dunn_h = dunn_test(
            hum, reader=reader, run=None, score=score, p_adjust=p_adjust, low=low, high=high
        ).set_index(["reader_a", "reader_b"])
        dunn_j = dunn_test(
            jud, reader=reader, run=None, score=score, p_adjust=p_adjust, low=low, high=high
        ).set_index(["reader_a", "reader_b"])
        for a, b in combinations(names, 2):
            ia, ib = idx[a], idx[b]
            moved = (m_judge[:, ia] - m_judge[:, ib]) - (m_panel[:, ia] - m_panel[:, ib])
            low_ab, high_ab = _percentile(moved[1:], confidence)
            p_h = float(dunn_h.loc[(a, b), "p_adjusted"])
            p_j = float(dunn_j.loc[(a, b), "p_adjusted"])
            z_h = float(dunn_h.loc[(a, b), "statistic"])
            z_j = float(dunn_j.loc[(a, b), "statistic"])
            sig_h, sig_j = p_h < significance, p_j < significance
            rows.append(
                base
                | {
                    "comparison": "pair",
                    "reader_a": a,
                    "reader_b": b,
                    "mean_panel_a": m_panel[0, ia],
                    "mean_panel_b": m_panel[0, ib],
                    "mean_judge_a": m_judge[0, ia],
                    "mean_judge_b": m_judge[0, ib],
                    "statistic": float(moved[0]),
                    "ci_low": low_ab,
                    "ci_high": high_ab,
                    "p_value": np.nan,
                    "p_panel": p_h,
                    "p_judge": p_j,
                    "significant_panel": sig_h,
                    "significant_judge": sig_j,
                    "changed": bool(sig_h != sig_j or (sig_h and np.sign(z_h) != np.sign(z_j))),
                }
            )
    columns = [
        "domain",
        "judge",
        "comparison",
        "reader_a",
        "reader_b",
        "mean_panel_a",
        "mean_panel_b",
        "mean_judge_a",
        "mean_judge_b",
        "statistic",
        "ci_low",
        "ci_high",
        "p_value",
        "p_panel",
        "p_judge",
        "significant_panel",
        "significant_judge",
        "changed",
    ]
    out = pd.DataFrame(rows, columns=columns)
    for col in ("significant_panel", "significant_judge", "changed"):
        out[col] = out[col].astype("boolean")
    for col in ("reader_a", "reader_b"):
        out[col] = out[col].astype("object").where(out[col].notna(), pd.NA)
    return out


__all__: Sequence[str] = (
    "judge_agreement",
    "judge_conclusions",
    "judge_position_bias",
    "judge_self_consistency",
    "judge_within_panel",
)
