"""A standalone AI (or CAD) against a panel of readers treated as a random sample.

One modality: the AI is one fixed "reader", the human readers a random sample of readers,
the cases a random sample of cases. :func:`ai_vs_readers` gives the difference of the AI's
figure of merit from the readers' average with the single-treatment Obuchowski–Rockette
analysis of Hillis (``1T-RRRC``, readers and cases random) or the one-sample t test of the
reader − AI differences (``1T-RRFC``, cases fixed), exactly as RJafroc's
``StSignificanceTestingCadVsRad`` computes them, and a non-inferiority test of the AI at a
margin. Plain numpy / pandas / scipy (no Django).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.stats._checks import (
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)

#: Figures of merit of :func:`ai_vs_readers` (the first is the default).
AI_FOMS: tuple[str, ...] = ("auc", "sensitivity", "specificity")
#: Methods of :func:`ai_vs_readers`, named as RJafroc names them (the first is the default).
AI_METHODS: tuple[str, ...] = ("1T-RRRC", "1T-RRFC")


def _jackknife_foms(ratings: np.ndarray, truth: np.ndarray, fom: str) -> np.ndarray:
    """Leave-one-case-out figures of merit, shape (readers, cases), and the full ones."""
    pos, neg = ratings[:, truth], ratings[:, ~truth]
    m, n = pos.shape[1], neg.shape[1]
    k = ratings.shape[1]
    out = np.empty((ratings.shape[0], k + 1))
    if fom == "auc":
        psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
        total = psi.sum(axis=(1, 2))
        out[:, np.flatnonzero(truth)] = (total[:, None] - psi.sum(axis=2)) / ((m - 1) * n)
        out[:, np.flatnonzero(~truth)] = (total[:, None] - psi.sum(axis=1)) / (m * (n - 1))
        out[:, k] = total / (m * n)
        return out
    # sensitivity / specificity: the proportion of positive (negative) decisions in a class
    cls = truth if fom == "sensitivity" else ~truth
    hits = ratings[:, cls] if fom == "sensitivity" else 1.0 - ratings[:, cls]
    size, total = hits.shape[1], hits.sum(axis=1)
    out[:, np.flatnonzero(cls)] = (total[:, None] - hits) / (size - 1)
    out[:, np.flatnonzero(~cls)] = (total / size)[:, None]
    out[:, k] = total / size
    return out


def ai_vs_readers(
    df: pd.DataFrame,
    *,
    ai: str,
    fom: str = "auc",
    method: str = "1T-RRRC",
    margin: float = 0.0,
    confidence: float = 0.95,
    reader: str = "reader_id",
    case: str = "case_id",
    truth: str = "truth",
    rating: str = "rating",
) -> pd.DataFrame:
    r"""The AI's figure of merit minus the readers' average, readers (and cases) random.

    Let :math:`\theta_0` be the AI's figure of merit, :math:`\theta_j` reader *j*'s
    (*j* = 1..J) and :math:`\psi_j = \theta_j - \theta_0`. For each case *k* left out,
    :math:`\psi_{j(k)}` is the difference of the leave-one-out figures of merit. From the
    covariance :math:`C_{jj'}` of :math:`\psi_{j(\cdot)}` over the K cases,
    :math:`\mathrm{Var} = \overline{C_{jj}}\,(K-1)^2/K` and
    :math:`\mathrm{Cov_2} = \overline{C_{jj'}}_{j \ne j'}\,(K-1)^2/K`.

    *1T-RRRC* (Hillis 2007; Chakraborty 2017, ch. 22): with
    :math:`\mathrm{MSR} = \sum_j (\psi_j - \bar\psi)^2 / (J-1)`,

    .. math:: \mathrm{MS_{den}} = \mathrm{MSR} + \max(J\,\mathrm{Cov_2}, 0),\quad
              t = \bar\psi / \sqrt{\mathrm{MS_{den}}/J},\quad
              \mathrm{df} = \mathrm{MS_{den}}^2 / (\mathrm{MSR}^2/(J-1)).

    *1T-RRFC*: the one-sample t test of the :math:`\psi_j` (df = J − 1).

    Reported with the sign the issue asks for: ``statistic`` = :math:`\theta_0 - \bar\theta`
    (AI minus reader average; RJafroc reports reader average minus AI), ``t`` of it, its
    CI :math:`\pm t_{df} \cdot SE` clipped to [−1, 1], the two-sided ``p_value``.
    **Non-inferiority** at ``margin`` δ ≥ 0: :math:`H_0: \theta_0 - \bar\theta \le -\delta`,
    :math:`t_{NI} = (\hat d + \delta)/SE`, one-sided ``p_noninferiority``;
    ``noninferior`` is True when ``ci_low`` > −δ (the same decision as the one-sided test
    at level (1 − confidence)/2).

    The figure of merit: ``auc`` (empirical, ties count one half: RJafroc's "Wilcoxon") of
    the ratings; ``sensitivity`` / ``specificity`` of binary decisions (``rating`` 1 =
    positive, 0 = negative). The design must be fully crossed: every reader and the AI
    rate every case once.

    Parameters
    ----------
    df : DataFrame
        One row per reader × case: ``reader``, ``case``, ``truth`` (0/1), ``rating``.
    ai : str
        The ``reader`` value of the AI; every other reader is one of the panel (≥ 2).
    fom, method : str
        One of :data:`AI_FOMS`, one of :data:`AI_METHODS`.
    margin : float
        The non-inferiority margin δ (0 ≤ δ < 1), on the figure of merit's scale.
    confidence : float
        Level of the two-sided CIs.

    Returns
    -------
    DataFrame
        One row: ``fom, method, n_readers, n_cases, ai_fom, readers_mean, statistic,
        ci_low, ci_high, se, t, df, p_value, margin, p_noninferiority, noninferior,
        readers_ci_low, readers_ci_high, var_r, var_error, cov2, note``. When the standard
        error is 0 (readers and AI agree on every jackknife sample) ``t``, ``df``, p values,
        CI and ``noninferior`` are missing and ``note`` says so.

    References
    ----------
    Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple
    observer ROC analysis. Stat Med 26:596–619. Chakraborty DP (2017). Observer
    Performance Methods for Diagnostic Imaging, ch. 22 (CAD vs radiologists); RJafroc
    ``StSignificanceTestingCadVsRad``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.ai import ai_vs_readers
    >>> truth = [1, 1, 1, 1, 0, 0, 0, 0]
    >>> ratings = {"AI": [5, 4, 4, 3, 2, 3, 1, 1], "A": [4, 4, 2, 3, 3, 1, 2, 1],
    ...            "B": [5, 3, 3, 2, 2, 2, 1, 3], "C": [4, 5, 3, 1, 2, 1, 1, 2]}
    >>> df = pd.DataFrame([{"reader_id": r, "case_id": k, "truth": truth[k], "rating": v[k]}
    ...                    for r, v in ratings.items() for k in range(8)])
    >>> out = ai_vs_readers(df, ai="AI", margin=0.1)
    >>> print(out[["ai_fom", "readers_mean", "statistic", "ci_low", "ci_high", "noninferior"]]
    ...       .round(3).to_string(index=False))
     ai_fom  readers_mean  statistic  ci_low  ci_high  noninferior
      0.969         0.833      0.135  -0.014    0.285         True
    """
    df = require_frame(df)
    require_columns(df, {"reader": reader, "case": case, "truth": truth, "rating": rating})
    require_unique(df, {"reader": reader, "case": case})
    if fom not in AI_FOMS:
        raise ValueError(f"fom: expected one of {', '.join(AI_FOMS)}, got {fom!r}")
    if method not in AI_METHODS:
        raise ValueError(f"method: expected one of {', '.join(AI_METHODS)}, got {method!r}")
    if not (0.0 <= float(margin) < 1.0):
        raise ValueError(f"margin: must be at least 0 and below 1, got {margin!r}")
    conf = check_confidence(confidence)
    values = require_numeric(df, rating, arg="rating")
    if np.isnan(values).any():
        raise ValueError("rating: missing values (every reader must rate every case)")
    if fom != "auc" and not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"rating: the {fom} needs binary decisions (0 or 1)")
    wide = df.assign(**{rating: values}).pivot(index=reader, columns=case, values=rating)
    if wide.isna().any().any():
        raise ValueError("df: not fully crossed (every reader and the AI must rate every case)")
    readers = [r for r in wide.index if str(r) != str(ai)]
    if len(readers) == len(wide.index):
        raise ValueError(f"ai: {ai!r} is not a reader of df")
    if len(readers) < 2:
        raise ValueError("df: at least two readers besides the AI are needed")
    if (df.groupby(case)[truth].nunique() > 1).any():
        raise ValueError("truth: a case has two different truths")
    per_case = df.drop_duplicates(case).set_index(case)[truth]
    is_pos = binary_truth(per_case.reindex(wide.columns), arg="truth")
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    need = {"auc": min(n_pos, n_neg), "sensitivity": n_pos, "specificity": n_neg}[fom]
    if need < 2:
        raise ValueError(f"truth: the {fom} needs at least two cases of each class it uses")

    order = [next(r for r in wide.index if str(r) == str(ai)), *readers]
    jk = _jackknife_foms(wide.loc[order].to_numpy(dtype=float), is_pos, fom)
    theta = jk[:, -1]
    n_cases, n_rdr = jk.shape[1] - 1, len(readers)
    psi = theta[1:] - theta[0]
    cov = np.cov(jk[1:, :-1] - jk[0, :-1], ddof=1) * (n_cases - 1) ** 2 / n_cases
    var_error = float(np.mean(np.diag(cov)))
    cov2 = float(cov[~np.eye(n_rdr, dtype=bool)].mean())
    msr = float(np.var(psi, ddof=1))
    if method == "1T-RRRC":
        ms_den = msr + max(n_rdr * cov2, 0.0)
        df_t = ms_den**2 / (msr**2 / (n_rdr - 1)) if msr > 0 else np.inf
    else:
        ms_den, df_t = msr, float(n_rdr - 1)
    se = float(np.sqrt(ms_den / n_rdr))
    diff = float(-psi.mean())
    readers_mean, ai_fom = float(theta[1:].mean()), float(theta[0])
    row: dict[str, object] = {
        "fom": fom,
        "method": method,
        "n_readers": n_rdr,
        "n_cases": n_cases,
        "ai_fom": ai_fom,
        "readers_mean": readers_mean,
        "statistic": diff,
        "se": se,
        "margin": float(margin),
        "var_r": float(np.var(theta[1:], ddof=1)),
        "var_error": var_error,
        "cov2": cov2,
        "note": "",
    }
    if se > 0:
        half = float(sps.t.ppf(0.5 + conf / 2, df_t)) * se
        t = diff / se
        low, high = diff - half, diff + half
        row |= {
            "ci_low": max(low, -1.0),
            "ci_high": min(high, 1.0),
            "t": t,
            "df": float(df_t),
            "p_value": float(2 * sps.t.sf(abs(t), df_t)),
            "p_noninferiority": float(sps.t.sf((diff + margin) / se, df_t)),
            "noninferior": bool(low > -margin),
            "readers_ci_low": max(ai_fom - high, 0.0),
            "readers_ci_high": min(ai_fom - low, 1.0),
        }
    else:
        row |= dict.fromkeys(
            ("ci_low", "ci_high", "t", "df", "p_value", "p_noninferiority", "noninferior"),
            np.nan,
        )
        row |= {"readers_ci_low": np.nan, "readers_ci_high": np.nan}
        row["note"] = "zero standard error: no test, CI or non-inferiority decision"
    columns = [
        "fom", "method", "n_readers", "n_cases", "ai_fom", "readers_mean", "statistic",
        "ci_low", "ci_high", "se", "t", "df", "p_value", "margin", "p_noninferiority",
        "noninferior", "readers_ci_low", "readers_ci_high", "var_r", "var_error", "cov2", "note",
    ]  # fmt: skip
    return pd.DataFrame([row], columns=columns)
