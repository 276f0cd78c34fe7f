"""Statistics of the judgment instruments: pairwise preference, acceptability, error annotation.

Every function takes a long DataFrame (one row per judgment) and is plain numpy, pandas
and scipy, as the rest of :mod:`analysis.stats`.

- :func:`preference_summary`: wins, ties and losses of a reader against a comparator,
  "at least as good" with a Wilson interval, the sign test, a position-bias test and a
  two-way (rater x case) cluster-bootstrap interval.
- :func:`bradley_terry`: a Bradley-Terry ranking of three or more sources (ties split
  half), Wald intervals of the log-strengths.
- :func:`acceptability_summary`, :func:`acceptability_paired`: acceptability rates with
  Clopper-Pearson and clustered intervals; a reader against a reference on the same cases
  (Newcombe's paired interval, McNemar's test on the case-level majority).
- :func:`error_summary`: reports with an error, errors and significant errors per report,
  counts by category.
- :func:`judgment_agreement`: inter-rater agreement of an instrument (Krippendorff's
  alpha from :func:`analysis.stats.agreement.krippendorff_alpha`).

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA*, 22(158), 209-212.

Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. *Biometrika*, 26(4), 404-413.

Owen, A. B. (2007). The pigeonhole bootstrap. *Annals of Applied Statistics*, 1(2),
386-411.

Bradley, R. A., & Terry, M. E. (1952). Rank analysis of incomplete block designs: I. The
method of paired comparisons. *Biometrika*, 39(3/4), 324-345.

Agresti, A. (2013). *Categorical Data Analysis* (3rd ed.). Wiley. (Section 11.6.)

Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial
proportions based on paired data. *Statistics in Medicine*, 17(22), 2635-2650.

McNemar, Q. (1947). Note on the sampling error of the difference between correlated
proportions or percentages. *Psychometrika*, 12(2), 153-157.
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
)
from analysis.stats.agreement import krippendorff_alpha
from analysis.stats.diagnostic import mcnemar_counts, proportion_ci

CHOICES: tuple[str, str, str] = ("a", "b", "tie")

#: The default acceptability scale of issue 14, best first.
DEFAULT_SCALE: tuple[str, ...] = (
    "acceptable without changes",
    "acceptable with minor edits",
    "major edits needed",
    "unacceptable",
)
DEFAULT_CUTOFF = "acceptable with minor edits"

Instrument = Literal["preference", "acceptability", "errors"]

# IRLS for the Bradley-Terry model
_BT_MAX_ITER = 100
_BT_TOL = 1e-10
_BT_MAX_COEF = 15.0


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _check_boot(n_boot: int) -> int:
    if not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise ValueError(f"n_boot: expected a non-negative integer, got {n_boot!r}")
    return int(n_boot)


def _binom_p(k: int, n: int, p: float = 0.5) -> float:
    """Two-sided exact binomial p value (R ``binom.test``); NaN when ``n = 0``."""
    if n == 0:
        return float("nan")
    return float(stats.binomtest(int(k), int(n), p).pvalue)


def _cluster_bootstrap(
    values: np.ndarray,
    raters: np.ndarray,
    cases: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    confidence: float,
) -> tuple[float, float]:
    """Percentile interval of a mean under the two-way (pigeonhole) bootstrap.

    Raters and cases are resampled independently with replacement; an observation of
    rater r on case c enters a resample ``R_r * C_c`` times, where ``R_r`` and ``C_c``
    are the multiplicities of r and c in the resample (Owen 2007).
    """
    if n_boot == 0:
        return float("nan"), float("nan")
    r_codes, r_levels = pd.factorize(raters)
    c_codes, c_levels = pd.factorize(cases)
    n_r, n_c = len(r_levels), len(c_levels)
    r_mult = rng.multinomial(n_r, np.full(n_r, 1.0 / n_r), size=n_boot)
    c_mult = rng.multinomial(n_c, np.full(n_c, 1.0 / n_c), size=n_boot)
    weights = r_mult[:, r_codes] * c_mult[:, c_codes]
    total = weights.sum(axis=1)
    ok = total > 0
    means = (weights[ok] @ values.astype(float)) / total[ok]
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _cluster_note(n_raters: int, n_cases: int, n_boot: int) -> list[str]:
    """Say when the clustered interval is missing or resamples one dimension only."""
    if n_boot == 0:
        return ["no clustered CI (n_boot = 0)"]
    notes = []
    if n_raters == 1:
        notes.append("one rater: the clustered CI resamples cases only")
    if n_cases == 1:
        notes.append("one case: the clustered CI resamples raters only")
    return notes


def _text(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.lower()


# --------------------------------------------------------------------------------------
# pairwise preference
# --------------------------------------------------------------------------------------


def _preferences(
    df: object,
    *,
    rater: str,
    case: str,
    reader: str,
    comparator: str,
    choice: str,
    left: str | None,
    nan_policy: NanPolicy,
) -> pd.DataFrame:
    frame = require_frame(df)
    cols = {"rater": rater, "case": case, "reader": reader, "comparator": comparator}
    cols["choice"] = choice
    require_columns(frame, cols)
    frame = apply_nan_policy(frame, list(cols.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    out = pd.DataFrame(
        {
            "rater": frame[rater].to_numpy(),
            "case": frame[case].to_numpy(),
            "reader": frame[reader].to_numpy(),
            "comparator": frame[comparator].to_numpy(),
            "choice": _text(frame[choice]).to_numpy(),
        }
    )
    bad = sorted(set(out["choice"]) - set(CHOICES))
    if bad:
        raise ValueError(f"choice: values must be 'a', 'b' or 'tie', got {bad}")
    same = out["reader"].astype(str) == out["comparator"].astype(str)
    if same.any():
        raise ValueError(f"comparator: {int(same.sum())} row(s) compare a reader with itself")
    if left is not None and left in frame.columns:
        side = frame[left]
        known = side.notna().to_numpy()
        side_text = np.where(known, _text(side.fillna("")).to_numpy(), "")
        wrong = sorted(set(side_text[known]) - {"a", "b"})
        if wrong:
            raise ValueError(f"left: values must be 'a' or 'b', got {wrong}")
        out["left"] = np.where(known, side_text, "")
    elif left is not None and left != "left":
        raise ValueError(f"left: missing column {left!r}")
    else:
        out["left"] = ""
    return out


def preference_summary(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader",
    comparator: str = "comparator",
    choice: str = "choice",
    left: str | None = "left",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Wins, ties and losses of each reader against each comparator, with intervals and tests.

    One input row is one comparison: rater, case, the reader shown as option ``a``, the
    comparator shown as option ``b`` and the ``choice`` (``"a"``, ``"b"`` or ``"tie"``);
    optionally ``left`` (``"a"`` or ``"b"``: the option shown on the left). Pairs are
    taken as given (a row of X vs Y and one of Y vs X are two groups). Per (reader,
    comparator), with ``W`` wins, ``T`` ties, ``L`` losses and ``n = W + T + L``:

    - ``win_rate = W / n``; ``statistic = at_least_as_good = (W + T) / n`` with the Wilson
      score interval without continuity correction ``ci_low, ci_high`` (R
      ``prop.test(W + T, n, correct = FALSE)``);
    - ``sign_test_p`` (also ``p_value``): the two-sided exact binomial test of ``W`` wins
      in ``W + L`` non-tied comparisons against 1/2 (R ``binom.test(W, W + L)``), NaN
      when every comparison is a tie;
    - ``left_chosen``: the share of the non-tied comparisons with a known ``left`` in
      which the left option was chosen (``left_n`` of them), and ``left_bias_p``, the
      exact binomial test of that share against 1/2 (R ``binom.test``); NaN without
      ``left``;
    - ``clustered_ci_low, clustered_ci_high``: a percentile interval of
      ``at_least_as_good`` under the two-way cluster ("pigeonhole") bootstrap of Owen
      (2007): raters and cases are resampled independently with replacement (numpy
      ``default_rng(seed)``), a comparison of rater r on case c is weighted by the product
      of their multiplicities, and the resampled statistic is the weighted share. It
      respects that comparisons by one rater, and on one case, are correlated; Owen shows
      its variance is mildly conservative. ``n_boot = 0`` leaves it NaN.

    Returns
    -------
    pandas.DataFrame
        One row per (reader, comparator): ``reader, comparator, n, wins, ties, losses,
        win_rate, at_least_as_good, statistic, ci_low, ci_high, p_value, sign_test_p,
        left_n, left_chosen, left_bias_p, clustered_ci_low, clustered_ci_high,
        n_raters, n_cases, note``; ``note`` says why a test or interval is missing (all
        ties, no recorded side, ``n_boot = 0``) or resamples one dimension only (one rater
        or one case).

    References
    ----------
    Wilson (1927), *JASA* 22, 209-212; Owen (2007), *Ann. Appl. Stat.* 1, 386-411;
    Dixon, W. J., & Mood, A. M. (1946). The statistical sign test. *JASA*, 41, 557-566.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import preference_summary
    >>> df = pd.DataFrame({"rater_id": ["r1"] * 5 + ["r2"] * 5, "case_id": list(range(5)) * 2,
    ...     "reader": "model", "comparator": "reference",
    ...     "choice": ["a", "tie", "b", "a", "a", "tie", "a", "b", "tie", "a"],
    ...     "left": ["a", "b", "a", "b", "a", "a", "b", "b", "a", "a"]})
    >>> out = preference_summary(df, n_boot=0)
    >>> print(out[["n", "wins", "ties", "losses", "statistic", "ci_low", "ci_high",
    ...     "sign_test_p", "left_chosen"]].round(3).to_string(index=False))
     n  wins  ties  losses  statistic  ci_low  ci_high  sign_test_p  left_chosen
    10     5     3       2        0.8    0.49    0.943        0.453        0.571
    """
    confidence = check_confidence(confidence)
    n_boot = _check_boot(n_boot)
    data = _preferences(
        df,
        rater=rater,
        case=case,
        reader=reader,
        comparator=comparator,
        choice=choice,
        left=left,
        nan_policy=nan_policy,
    )
    rng = np.random.default_rng(seed)
    rows = []
    for (rd, cp), grp in data.groupby(["reader", "comparator"], sort=True):
        ch = grp["choice"].to_numpy()
        wins, ties, losses = (
            int((ch == "a").sum()),
            int((ch == "tie").sum()),
            int((ch == "b").sum()),
        )
        n = wins + ties + losses
        wilson = proportion_ci(wins + ties, n, confidence=confidence, method="wilson").iloc[0]
        sign_p = _binom_p(wins, wins + losses)
        side = grp["left"].to_numpy()
        has_side = np.array([s in ("a", "b") for s in side]) & (ch != "tie")
        left_n = int(has_side.sum())
        left_k = int((side[has_side] == ch[has_side]).sum())
        ok = (ch == "a") | (ch == "tie")
        c_low, c_high = _cluster_bootstrap(
            ok,
            grp["rater"].to_numpy(),
            grp["case"].to_numpy(),
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
        )
        notes = _cluster_note(grp["rater"].nunique(), grp["case"].nunique(), n_boot)
        if wins + losses == 0:
            notes.append("every comparison is a tie: no sign test")
        if left_n == 0:
            notes.append("no non-tied comparison with a recorded side: no position-bias test")
        rows.append(
            {
                "reader": rd,
                "comparator": cp,
                "n": n,
                "wins": wins,
                "ties": ties,
                "losses": losses,
                "win_rate": wins / n,
                "at_least_as_good": (wins + ties) / n,
                "statistic": float(wilson["statistic"]),
                "ci_low": float(wilson["ci_low"]),
                "ci_high": float(wilson["ci_high"]),
                "p_value": sign_p,
                "sign_test_p": sign_p,
                "left_n": left_n,
                "left_chosen": left_k / left_n if left_n else float("nan"),
                "left_bias_p": _binom_p(left_k, left_n),
                "clustered_ci_low": c_low,
                "clustered_ci_high": c_high,
                "n_raters": int(grp["rater"].nunique()),
                "n_cases": int(grp["case"].nunique()),
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows)


def bradley_terry(
    df: pd.DataFrame,
    *,
    reader: str = "reader",
    comparator: str = "comparator",
    choice: str = "choice",
    reference: object | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Bradley-Terry ranking of three or more sources from pairwise preferences.

    With strengths ``pi_i = exp(beta_i)``, ``P(i preferred to j) = pi_i / (pi_i + pi_j)``,
    i.e. ``logit P = beta_i - beta_j`` (Bradley & Terry 1952). Ties are split half: a tie
    counts as half a win for each side (not the Davidson 1970 tie model). The
    log-strengths are the maximum-likelihood estimates of the binomial logistic regression
    of ``(wins + ties/2)`` out of ``n`` per pair on the design matrix ``x_i = +1, x_j =
    -1`` without intercept, with ``beta_reference = 0`` (Agresti 2013, section 11.6); they
    are found by iteratively reweighted least squares. This is R ``glm(cbind(w, l) ~ X -
    1, family = binomial)``. ``ci_low, ci_high`` are Wald intervals ``beta +/- z SE`` from
    the inverse Fisher information, and ``p_value`` the Wald test of ``beta = 0`` (equal
    strength with the reference).

    Parameters
    ----------
    reference : optional
        The source whose log-strength is fixed at 0; default the first in sorted order.

    Returns
    -------
    pandas.DataFrame
        One row per source, strongest first: ``source, rank, statistic`` (the
        log-strength), ``se, ci_low, ci_high, p_value, strength`` (``exp(statistic)``),
        ``n`` (comparisons involving the source), ``note``. The reference row has
        ``statistic = 0`` and NaN ``se``, interval and p value.

    Raises
    ------
    ValueError
        Fewer than three sources, a comparison graph that is not connected, or a source
        that wins (or loses) every comparison (the estimate is infinite).

    References
    ----------
    Bradley & Terry (1952), *Biometrika* 39, 324-345; Agresti (2013), section 11.6;
    Davidson, R. R. (1970). On extending the Bradley-Terry model to accommodate ties in
    paired comparison experiments. *JASA*, 65, 317-328.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import bradley_terry
    >>> df = pd.DataFrame({"reader": ["m1"] * 6 + ["m1"] * 6 + ["m2"] * 6,
    ...     "comparator": ["m2"] * 6 + ["ref"] * 6 + ["ref"] * 6,
    ...     "choice": list("aaabbt") + list("aabbbt") + list("abbbbt")})
    >>> df["choice"] = df["choice"].replace({"t": "tie"})
    >>> out = bradley_terry(df, reference="ref")
    >>> print(out[["source", "rank", "statistic", "ci_low", "ci_high"]].round(3)
    ...     .to_string(index=False))
    source  rank  statistic  ci_low  ci_high
       ref     1      0.000     NaN      NaN
        m1     2     -0.468  -1.829    0.892
        m2     3     -0.936  -2.349    0.477
    """
    confidence = check_confidence(confidence)
    frame = require_frame(df)
    require_columns(frame, {"reader": reader, "comparator": comparator, "choice": choice})
    frame = apply_nan_policy(frame, [reader, comparator, choice], nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    ch = _text(frame[choice]).to_numpy()
    bad = sorted(set(ch) - set(CHOICES))
    if bad:
        raise ValueError(f"choice: values must be 'a', 'b' or 'tie', got {bad}")
    a = frame[reader].astype(str).to_numpy()
    b = frame[comparator].astype(str).to_numpy()
    if (a == b).any():
        raise ValueError("comparator: a row compares a reader with itself")
    sources = sorted(set(a) | set(b))
    if len(sources) < 3:
        raise ValueError(
            f"df: a Bradley-Terry ranking needs at least three sources, got {len(sources)}; "
            "use preference_summary for one pair"
        )
    ref = sources[0] if reference is None else str(reference)
    if ref not in sources:
        raise ValueError(f"reference: {reference!r} is not a source")
    index = {s: i for i, s in enumerate(sources)}
    # connectivity (union-find over compared pairs)
    parent = list(range(len(sources)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, y in zip(a, b, strict=True):
        parent[find(index[x])] = find(index[y])
    if len({find(i) for i in range(len(sources))}) > 1:
        raise ValueError("df: the sources do not form one connected comparison graph")
    score = np.where(ch == "a", 1.0, np.where(ch == "tie", 0.5, 0.0))
    pairs = pd.DataFrame({"a": a, "b": b, "y": score}).groupby(["a", "b"], sort=True)["y"]
    table = pd.DataFrame({"y": pairs.sum(), "n": pairs.size()}).reset_index()
    free = [s for s in sources if s != ref]
    x = np.zeros((len(table), len(free)))
    for j, s in enumerate(free):
        x[:, j] = (table["a"] == s).to_numpy(float) - (table["b"] == s).to_numpy(float)
    y = table["y"].to_numpy(float)
    n = table["n"].to_numpy(float)
    beta = np.zeros(len(free))
    converged = False
    for _ in range(_BT_MAX_ITER):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        w = n * p * (1 - p)
        info = x.T @ (x * w[:, None])
        step = np.linalg.solve(info, x.T @ (y - n * p))
        beta = beta + step
        if np.max(np.abs(step)) < _BT_TOL:
            converged = True
            break
    if not converged or np.max(np.abs(beta)) > _BT_MAX_COEF:
        raise ValueError(
            "df: the Bradley-Terry estimates do not exist (a source wins or loses every "
            "comparison it is in)"
        )
    p = 1.0 / (1.0 + np.exp(-(x @ beta)))
    info = x.T @ (x * (n * p * (1 - p))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    z = stats.norm.ppf(0.5 + confidence / 2)
    counts = pd.Series(np.concatenate([a, b])).value_counts()
    rows = [
        {
            "source": ref,
            "statistic": 0.0,
            "se": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "p_value": float("nan"),
            "note": "reference (log-strength fixed at 0)",
        }
    ]
    for j, s in enumerate(free):
        rows.append(
            {
                "source": s,
                "statistic": float(beta[j]),
                "se": float(se[j]),
                "ci_low": float(beta[j] - z * se[j]),
                "ci_high": float(beta[j] + z * se[j]),
                "p_value": float(2 * stats.norm.sf(abs(beta[j] / se[j]))),
                "note": "",
            }
        )
    out = pd.DataFrame(rows)
    out["strength"] = np.exp(out["statistic"])
    out["n"] = out["source"].map(counts).astype(int)
    out = out.sort_values(["statistic", "source"], ascending=[False, True]).reset_index(drop=True)
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    return out[
        [
            "source",
            "rank",
            "statistic",
            "se",
            "ci_low",
            "ci_high",
            "p_value",
            "strength",
            "n",
            "note",
        ]
    ]


# --------------------------------------------------------------------------------------
# acceptability
# --------------------------------------------------------------------------------------


def _acceptability(
    df: object,
    *,
    rater: str,
    case: str,
    reader: str,
    grade: str,
    scale: Sequence[object],
    cutoff: object,
    nan_policy: NanPolicy,
) -> pd.DataFrame:
    frame = require_frame(df)
    cols = {"rater": rater, "case": case, "reader": reader, "grade": grade}
    require_columns(frame, cols)
    frame = apply_nan_policy(frame, list(cols.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    levels = [str(s).strip().lower() for s in scale]
    if len(levels) < 2 or len(set(levels)) != len(levels):
        raise ValueError("scale: expected at least two distinct grades, best first")
    cut = str(cutoff).strip().lower()
    if cut not in levels:
        raise ValueError(f"cutoff: {cutoff!r} is not a grade of the scale")
    grades = _text(frame[grade])
    unknown = sorted(set(grades) - set(levels))
    if unknown:
        raise ValueError(f"grade: {unknown} not on the scale {levels}")
    rank = grades.map({g: i for i, g in enumerate(levels)}).to_numpy(int)
    return pd.DataFrame(
        {
            "rater": frame[rater].to_numpy(),
            "case": frame[case].to_numpy(),
            "reader": frame[reader].to_numpy(),
            "rank": rank,
            "acceptable": rank <= levels.index(cut),
        }
    )


def acceptability_summary(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader_id",
    grade: str = "grade",
    scale: Sequence[object] = DEFAULT_SCALE,
    cutoff: object = DEFAULT_CUTOFF,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Share of ratings that find a reader's output acceptable, per reader.

    ``scale`` lists the grades best first; a rating is *acceptable* when its grade is
    ``cutoff`` or better (default: "acceptable with minor edits" or better). Per reader,
    with ``k`` acceptable ratings of ``n``:

    - ``statistic = rate = k / n`` with the Clopper-Pearson interval ``ci_low, ci_high``
      (R ``binom.test(k, n)``);
    - ``clustered_ci_low, clustered_ci_high``: percentile interval of the rate under the
      two-way (rater x case) pigeonhole bootstrap of Owen (2007), as in
      :func:`preference_summary` (``n_boot = 0``: NaN).

    Returns
    -------
    pandas.DataFrame
        One row per reader: ``reader, n, acceptable, rate, statistic, ci_low, ci_high,
        clustered_ci_low, clustered_ci_high, n_raters, n_cases, note`` (``note`` as in
        :func:`preference_summary`).

    References
    ----------
    Clopper & Pearson (1934), *Biometrika* 26, 404-413; Owen (2007).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import acceptability_summary
    >>> df = pd.DataFrame({"rater_id": ["r1"] * 4 + ["r2"] * 4, "case_id": [1, 2] * 4,
    ...     "reader_id": ["model", "model", "reference", "reference"] * 2,
    ...     "grade": ["unacceptable", "acceptable with minor edits",
    ...               "acceptable without changes", "acceptable without changes",
    ...               "major edits needed", "acceptable with minor edits",
    ...               "acceptable without changes", "major edits needed"]})
    >>> out = acceptability_summary(df, n_boot=0)
    >>> print(out[["reader", "n", "acceptable", "statistic", "ci_low", "ci_high"]].round(3)
    ...     .to_string(index=False))
       reader  n  acceptable  statistic  ci_low  ci_high
        model  4           2       0.50   0.068    0.932
    reference  4           3       0.75   0.194    0.994
    """
    confidence = check_confidence(confidence)
    n_boot = _check_boot(n_boot)
    data = _acceptability(
        df,
        rater=rater,
        case=case,
        reader=reader,
        grade=grade,
        scale=scale,
        cutoff=cutoff,
        nan_policy=nan_policy,
    )
    rng = np.random.default_rng(seed)
    rows = []
    for rd, grp in data.groupby("reader", sort=True):
        ok = grp["acceptable"].to_numpy()
        k, n = int(ok.sum()), len(ok)
        cp = proportion_ci(k, n, confidence=confidence, method="exact").iloc[0]
        c_low, c_high = _cluster_bootstrap(
            ok,
            grp["rater"].to_numpy(),
            grp["case"].to_numpy(),
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
        )
        notes = _cluster_note(grp["rater"].nunique(), grp["case"].nunique(), n_boot)
        rows.append(
            {
                "reader": rd,
                "n": n,
                "acceptable": k,
                "rate": k / n,
                "statistic": float(cp["statistic"]),
                "ci_low": float(cp["ci_low"]),
                "ci_high": float(cp["ci_high"]),
                "clustered_ci_low": c_low,
                "clustered_ci_high": c_high,
                "n_raters": int(grp["rater"].nunique()),
                "n_cases": int(grp["case"].nunique()),
                "note": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows)


def newcombe_paired_ci(
    a: int, b: int, c: int, d: int, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    r"""Newcombe's (1998, method 10) score interval for a difference of paired proportions.

    For the paired 2 x 2 table ``a`` (both yes), ``b`` (first yes, second no), ``c``
    (first no, second yes), ``d`` (both no), ``n = a + b + c + d``, the difference is
    ``D = (b - c) / n``. With Wilson limits ``(l1, u1)`` of ``p1 = (a + b) / n`` and
    ``(l2, u2)`` of ``p2 = (a + c) / n`` and the correlation correction
    ``phi = (ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d))`` (0 when a margin is 0, and
    ``max(ad - bc - n/2, 0)`` in place of ``ad - bc`` when ``ad > bc``):

    .. math::

        L = D - \sqrt{(p_1 - l_1)^2 - 2\phi (p_1 - l_1)(u_2 - p_2) + (u_2 - p_2)^2},\\
        U = D + \sqrt{(p_2 - l_2)^2 - 2\phi (p_2 - l_2)(u_1 - p_1) + (u_1 - p_1)^2}.

    Output contract: a building block of :func:`acceptability_paired`, returns the
    tuple ``(D, L, U)`` rather than a DataFrame.

    References
    ----------
    Newcombe (1998), *Statistics in Medicine* 17, 2635-2650 (method 10).

    Examples
    --------
    >>> from analysis.stats.judgments import newcombe_paired_ci
    >>> [round(v, 4) for v in newcombe_paired_ci(1, 1, 7, 12)]
    [-0.2857, -0.5069, -0.0256]
    """
    confidence = check_confidence(confidence)
    counts = np.array([a, b, c, d], dtype=float)
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("a, b, c, d: counts must be non-negative integers")
    n = counts.sum()
    if n == 0:
        raise ValueError("a, b, c, d: the table is empty")
    p1, p2 = (a + b) / n, (a + c) / n
    w = proportion_ci([a + b, a + c], [n, n], confidence=confidence, method="wilson")
    l1, u1 = float(w["ci_low"].iloc[0]), float(w["ci_high"].iloc[0])
    l2, u2 = float(w["ci_low"].iloc[1]), float(w["ci_high"].iloc[1])
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    if denom == 0:
        phi = 0.0
    else:
        num = a * d - b * c
        if num > 0:
            num = max(num - n / 2, 0.0)
        phi = num / np.sqrt(denom)
    diff = (b - c) / n
    low = diff - np.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0))
    high = diff + np.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0))
    return float(diff), float(max(low, -1.0)), float(min(high, 1.0))


def acceptability_paired(
    df: pd.DataFrame,
    *,
    reader: object,
    reference: object = "reference",
    rater: str = "rater_id",
    case: str = "case_id",
    reader_col: str = "reader_id",
    grade: str = "grade",
    scale: Sequence[object] = DEFAULT_SCALE,
    cutoff: object = DEFAULT_CUTOFF,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""A reader's acceptability against a reference's on the same cases (case-level majority).

    Only cases rated for both ``reader`` and ``reference`` are used. Each case's output
    of a source is *acceptable* when more than half of its ratings are acceptable (see
    :func:`acceptability_summary`); cases where exactly half are, for either source, have
    no majority and are left out (``n_no_majority``). On the paired 2 x 2 table of the
    remaining ``n`` cases (``a`` both acceptable, ``b`` reader only, ``c`` reference only,
    ``d`` neither):

    - ``statistic = (b - c) / n`` (reader minus reference), with Newcombe's (1998,
      method 10) hybrid score interval (:func:`newcombe_paired_ci`);
    - ``p_value``: the exact McNemar test, two-sided binomial of ``b`` in ``b + c``
      against 1/2 (R ``binom.test(b, b + c)``); ``mcnemar_statistic, mcnemar_p``: the
      continuity-corrected chi-square of R ``mcnemar.test`` (NaN when ``b + c = 0``);
    - ``rate_reader, rate_reference``: the rating-level rates on the shared cases.

    Returns
    -------
    pandas.DataFrame
        One row: ``reader, reference, n, n_no_majority, both, reader_only,
        reference_only, neither, rate_reader, rate_reference, majority_rate_reader,
        majority_rate_reference, statistic, ci_low, ci_high, p_value,
        mcnemar_statistic, mcnemar_p``.

    References
    ----------
    Newcombe (1998); McNemar (1947), *Psychometrika* 12, 153-157.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import acceptability_paired
    >>> grades = {"model": [1, 1, 0, 0, 1, 0, 1, 0], "reference": [1, 1, 1, 1, 1, 0, 1, 1]}
    >>> df = pd.DataFrame([{"rater_id": "r1", "case_id": i, "reader_id": s,
    ...     "grade": "ok" if g else "bad"} for s, gs in grades.items() for i, g in enumerate(gs)])
    >>> out = acceptability_paired(df, reader="model", scale=["ok", "bad"], cutoff="ok")
    >>> print(out[["n", "reader_only", "reference_only", "statistic", "ci_low", "ci_high",
    ...     "p_value"]].round(3).to_string(index=False))
     n  reader_only  reference_only  statistic  ci_low  ci_high  p_value
     8            0               3     -0.375  -0.678    0.073     0.25
    """
    confidence = check_confidence(confidence)
    data = _acceptability(
        df,
        rater=rater,
        case=case,
        reader=reader_col,
        grade=grade,
        scale=scale,
        cutoff=cutoff,
        nan_policy=nan_policy,
    )
    names = set(data["reader"].astype(str))
    for arg, value in (("reader", reader), ("reference", reference)):
        if str(value) not in names:
            raise ValueError(f"{arg}: {value!r} has no ratings")
    if str(reader) == str(reference):
        raise ValueError("reference: must differ from reader")
    data = data.assign(reader=data["reader"].astype(str))
    data = data[data["reader"].isin([str(reader), str(reference)])]
    share = data.groupby(["case", "reader"])["acceptable"].mean().unstack("reader")
    share = share.dropna()
    if share.empty:
        raise ValueError(f"df: no case is rated for both {reader!r} and {reference!r}")
    shared = data[data["case"].isin(share.index)]
    rate = shared.groupby("reader")["acceptable"].mean()
    tied = (share == 0.5).any(axis=1)
    major = share.loc[~tied] > 0.5
    if major.empty:
        raise ValueError("df: no shared case has a majority for both sources")
    r_ok = major[str(reader)].to_numpy()
    f_ok = major[str(reference)].to_numpy()
    a = int((r_ok & f_ok).sum())
    b = int((r_ok & ~f_ok).sum())
    c = int((~r_ok & f_ok).sum())
    d = int((~r_ok & ~f_ok).sum())
    diff, low, high = newcombe_paired_ci(a, b, c, d, confidence=confidence)
    mc = mcnemar_counts(np.array([b]), np.array([c])).iloc[0]
    n = a + b + c + d
    return pd.DataFrame(
        [
            {
                "reader": reader,
                "reference": reference,
                "n": n,
                "n_no_majority": int(tied.sum()),
                "both": a,
                "reader_only": b,
                "reference_only": c,
                "neither": d,
                "rate_reader": float(rate[str(reader)]),
                "rate_reference": float(rate[str(reference)]),
                "majority_rate_reader": (a + b) / n,
                "majority_rate_reference": (a + c) / n,
                "statistic": diff,
                "ci_low": low,
                "ci_high": high,
                "p_value": float(mc["p_exact"]),
                "mcnemar_statistic": float(mc["statistic_corrected"]),
                "mcnemar_p": float(mc["p_corrected"]),
            }
        ]
    )


# --------------------------------------------------------------------------------------
# error annotation
# --------------------------------------------------------------------------------------


def error_summary(
    df: pd.DataFrame,
    *,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader_id",
    run: str | None = None,
    category: str = "category",
    significant: str = "significant",
    none: str = "none",
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Error annotations per reader: reports with an error, errors per report, by category.

    One input row is one annotated error (rater, case, reader, optional run, category,
    significant 0/1) or, with ``category = none``, the record that the rater found no
    error in that report. A *report* is one (rater, reader, case[, run]); a report with
    both a ``none`` row and an error row is contradictory and rejected. Per reader, with
    ``N`` reports of which ``k`` have at least one error, ``E`` errors and ``S``
    significant errors:

    - ``statistic = rate = k / N`` with the Clopper-Pearson interval (R ``binom.test``);
    - ``errors_per_report = E / N``, ``significant_per_report = S / N``;
    - ``by_category``: a dict of error counts per category (sorted by category).

    Returns
    -------
    pandas.DataFrame
        One row per reader: ``reader, n_reports, reports_with_error, rate, statistic,
        ci_low, ci_high, errors, significant_errors, errors_per_report,
        significant_per_report, by_category``.

    References
    ----------
    Clopper & Pearson (1934), *Biometrika* 26, 404-413.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import error_summary
    >>> df = pd.DataFrame({"rater_id": ["r1", "r1", "r1", "r2", "r2"],
    ...     "case_id": [1, 1, 2, 1, 2], "reader_id": "model",
    ...     "category": ["false finding", "missed finding", "none", "none", "wrong location"],
    ...     "significant": [1, 0, None, None, 1]})
    >>> out = error_summary(df)
    >>> print(out[["n_reports", "reports_with_error", "statistic", "ci_low", "ci_high",
    ...     "errors_per_report", "significant_per_report"]].round(3).to_string(index=False))
     n_reports  reports_with_error  statistic  ci_low  ci_high  errors_per_report  significant_per_report
             4                   2        0.5   0.068    0.932               0.75                     0.5
    """
    confidence = check_confidence(confidence)
    frame = require_frame(df)
    cols = {"rater": rater, "case": case, "reader": reader, "category": category}
    if run is not None:
        cols["run"] = run
    require_columns(frame, cols)
    if significant not in frame.columns:
        raise ValueError(f"df: missing column(s) significant={significant!r}")
    frame = apply_nan_policy(frame, list(cols.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    cat = _text(frame[category]).to_numpy()
    is_error = cat != str(none).strip().lower()
    sig_raw = pd.to_numeric(frame[significant], errors="coerce").to_numpy(float)
    sig_err = sig_raw[is_error]
    if np.isnan(sig_err).any() or not np.isin(sig_err, (0.0, 1.0)).all():
        raise ValueError("significant: must be 0 or 1 on every error row")
    keys = [rater, reader, case] + ([run] if run is not None else [])
    data = pd.DataFrame({k: frame[k].to_numpy() for k in keys})
    data["_error"] = is_error
    data["_sig"] = np.where(is_error, np.nan_to_num(sig_raw), 0.0)
    data["_cat"] = cat
    per_report = data.groupby(keys, sort=False)["_error"].agg(["any", "all", "size"])
    mixed = per_report["any"] & ~per_report["all"]
    if mixed.any():
        raise ValueError(
            f"category: {int(mixed.sum())} report(s) have both a '{none}' row and an error row"
        )
    rows = []
    for rd, grp in data.groupby(reader, sort=True):
        reports = grp.groupby(keys, sort=False)["_error"].any()
        n_rep, k = len(reports), int(reports.sum())
        cp = proportion_ci(k, n_rep, confidence=confidence, method="exact").iloc[0]
        errs = grp[grp["_error"]]
        rows.append(
            {
                "reader": rd,
                "n_reports": n_rep,
                "reports_with_error": k,
                "rate": k / n_rep,
                "statistic": float(cp["statistic"]),
                "ci_low": float(cp["ci_low"]),
                "ci_high": float(cp["ci_high"]),
                "errors": len(errs),
                "significant_errors": int(errs["_sig"].sum()),
                "errors_per_report": len(errs) / n_rep,
                "significant_per_report": float(errs["_sig"].sum()) / n_rep,
                "by_category": {
                    str(c): int(v) for c, v in errs["_cat"].value_counts().sort_index().items()
                },
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# inter-rater agreement
# --------------------------------------------------------------------------------------


def judgment_agreement(
    df: pd.DataFrame,
    *,
    instrument: Instrument,
    rater: str = "rater_id",
    case: str = "case_id",
    reader: str = "reader_id",
    comparator: str = "comparator",
    value: str | None = None,
    scale: Sequence[object] = DEFAULT_SCALE,
    none: str = "none",
    confidence: float = 0.95,
    n_boot: int = 0,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Inter-rater agreement of a judgment instrument (Krippendorff's alpha).

    Reshapes the judgments to the unit x rater matrix and calls
    :func:`analysis.stats.agreement.krippendorff_alpha` (which allows any number of
    raters per unit and missing ratings, and gives a bootstrap CI with ``n_boot > 0``):

    - ``"preference"``: unit = (case, reader, comparator), value = the choice
      (``a``/``tie``/``b``), *ordinal* (b < tie < a); ``value`` defaults to ``"choice"``;
    - ``"acceptability"``: unit = (case, reader), value = the grade's position on
      ``scale``, *ordinal*; ``value`` defaults to ``"grade"``;
    - ``"errors"``: unit = (case, reader), value = whether the rater marked at least one
      error (``category != none``), *nominal*; ``value`` defaults to ``"category"``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~analysis.stats.agreement.krippendorff_alpha` with
        ``instrument`` first.

    References
    ----------
    Krippendorff, K. (2011). *Computing Krippendorff's alpha-reliability*; Hayes &
    Krippendorff (2007), *Communication Methods and Measures* 1, 77-89.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.judgments import judgment_agreement
    >>> df = pd.DataFrame({"rater_id": ["r1"] * 4 + ["r2"] * 4, "case_id": [1, 2, 3, 4] * 2,
    ...     "reader_id": "model", "category": ["none", "other", "none", "other",
    ...                                        "none", "other", "other", "other"]})
    >>> out = judgment_agreement(df, instrument="errors")
    >>> print(round(float(out["statistic"].iloc[0]), 3))
    0.533
    """
    confidence = check_confidence(confidence)
    frame = require_frame(df)
    if instrument == "preference":
        col = value or "choice"
        require_columns(frame, {"rater": rater, "case": case, "reader": reader})
        require_columns(frame, {"comparator": comparator, "value": col})
        ch = _text(frame[col])
        bad = sorted(set(ch.dropna()) - set(CHOICES))
        if bad:
            raise ValueError(f"value: choices must be 'a', 'b' or 'tie', got {bad}")
        scores = ch.map({"b": 0.0, "tie": 1.0, "a": 2.0})
        units: list[str] = [case, reader, comparator]
        level: Literal["ordinal", "nominal"] = "ordinal"
    elif instrument == "acceptability":
        col = value or "grade"
        require_columns(frame, {"rater": rater, "case": case, "reader": reader, "value": col})
        levels = [str(s).strip().lower() for s in scale]
        grades = _text(frame[col])
        unknown = sorted(set(grades) - set(levels))
        if unknown:
            raise ValueError(f"value: {unknown} not on the scale {levels}")
        scores = grades.map({g: float(i) for i, g in enumerate(levels)})
        units = [case, reader]
        level = "ordinal"
    elif instrument == "errors":
        col = value or "category"
        require_columns(frame, {"rater": rater, "case": case, "reader": reader, "value": col})
        flag = (_text(frame[col]) != str(none).strip().lower()).astype(float)
        grouped = (
            pd.DataFrame({rater: frame[rater], case: frame[case], reader: frame[reader], "f": flag})
            .groupby([rater, case, reader], sort=False)["f"]
            .max()
            .reset_index()
        )
        frame, scores = grouped, grouped["f"]
        units = [case, reader]
        level = "nominal"
    else:
        raise ValueError(
            f"instrument: expected 'preference', 'acceptability' or 'errors', got {instrument!r}"
        )
    matrix = pd.DataFrame({u: frame[u].to_numpy() for u in [rater, *units]})
    matrix["_score"] = scores.to_numpy(float)
    if matrix.duplicated(subset=[rater, *units]).any():
        raise ValueError("df: a rater judged the same item twice")
    if matrix[rater].nunique() < 2:
        raise ValueError(f"rater: agreement needs at least two raters in column {rater!r}")
    out = krippendorff_alpha(
        matrix,
        rater=rater,
        unit=units,
        score="_score",
        level=level,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
    )
    out.insert(0, "instrument", instrument)
    return out
