"""Sensitivity and specificity when a patient contributes several cases (lesions).

With ``x_i`` correct calls among the ``m_i`` positive (for specificity: negative) cases
of patient i, sensitivity is the ratio estimator ``p = sum x_i / sum m_i`` over the K
patients with ``m_i > 0`` -- the same number as the unclustered proportion. Its variance
allows for the correlation of a patient's cases (Obuchowski 1998; Rao & Scott 1992):

.. math::

    \\widehat{Var}(\\hat p) = \\frac{K}{K - 1}\\,
    \\frac{\\sum_i (x_i - \\hat p\\, m_i)^2}{\\left(\\sum_i m_i\\right)^2}

with a Wald interval ``p +/- z SE`` truncated to [0, 1], and, beside it, a patient-level
cluster bootstrap (patients with ``m_i > 0`` resampled with replacement, percentile
interval). With one case per patient the variance is ``n/(n - 1) p(1 - p)/n``.

References
----------
Obuchowski, N. A. (1998). On the comparison of correlated proportions for clustered data.
*Statistics in Medicine*, 17(13), 1495-1507.

Rao, J. N. K., & Scott, A. J. (1992). A simple method for the analysis of clustered binary
data. *Biometrics*, 48(2), 577-585.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
)

__all__ = ["CLUSTERED_ACCURACY_COLUMNS", "clustered_accuracy"]

CLUSTERED_ACCURACY_COLUMNS: tuple[str, ...] = (
    "reader", "metric", "n", "n_clusters", "correct", "statistic", "se", "ci_low", "ci_high",
    "boot_ci_low", "boot_ci_high", "design_effect", "note",
)  # fmt: skip


def _ratio(x: np.ndarray, m: np.ndarray) -> tuple[float, float]:
    """(p, SE) of the ratio estimator over clusters with m > 0."""
    k = len(m)
    p = float(x.sum() / m.sum())
    if k < 2:
        return p, np.nan
    var = k / (k - 1) * float(((x - p * m) ** 2).sum()) / float(m.sum()) ** 2
    return p, float(np.sqrt(var))


def clustered_accuracy(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    patient: str = "patient_id",
    truth: str = "truth",
    category: str = "category",
    threshold: float = 4,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    r"""Sensitivity and specificity of each reader with patient-clustered CIs.

    A case is called positive when ``category >= threshold``. For each reader and metric
    (sensitivity over the positive cases, specificity over the negative ones) the patients
    with at least one such case are the clusters: ``statistic`` is the proportion, ``se``
    the ratio-estimator SE (module docstring, Obuchowski 1998), ``ci_low, ci_high`` the
    Wald interval ``p +/- z_{1-a/2} SE`` truncated to [0, 1], ``boot_ci_low,
    boot_ci_high`` the percentile interval of a patient-level cluster bootstrap
    (``n_boot`` resamples of the clusters, the same seed for every reader), and ``design_effect`` the variance
    ratio ``SE^2 / (p(1 - p)/n)``. A proportion of 0 or 1 has SE 0 and fewer than two
    clusters no SE: the row then has a ``note`` (and no interval for the latter).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per reader x case: reader, patient, truth (0/1) and category.
    reader, patient, truth, category : str
        Column names.
    threshold : float
        Smallest category that is a positive call.
    confidence : float
        Confidence level.
    n_boot : int
        Cluster-bootstrap resamples (at least 200).
    seed : int or None
        Seed of the bootstrap (``numpy.random.default_rng``).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN in a named column.

    Returns
    -------
    pandas.DataFrame
        Two rows per reader (sorted; ``sensitivity`` then ``specificity``), columns
        ``reader, metric, n, n_clusters, correct, statistic, se, ci_low, ci_high,
        boot_ci_low, boot_ci_high, design_effect, note``.

    References
    ----------
    Obuchowski (1998), *Stat Med* 17, 1495-1507; Rao & Scott (1992), *Biometrics* 48,
    577-585; Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap Methods and their
    Application*, section 3.8 (cluster resampling).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.clustered_accuracy import clustered_accuracy
    >>> df = pd.DataFrame({
    ...     "reader_id": "A",
    ...     "patient_id": ["p1", "p1", "p2", "p3", "p3", "p4", "p5", "p6", "p7", "p8"],
    ...     "truth": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
    ...     "category": [5, 4, 2, 5, 5, 3, 2, 2, 4, 1],
    ... })
    >>> res = clustered_accuracy(df, n_boot=500)
    >>> cols = ["metric", "n", "n_clusters", "statistic", "se", "ci_low", "ci_high"]
    >>> print(res[cols].round(3).to_string(index=False))
         metric  n  n_clusters  statistic    se  ci_low  ci_high
    sensitivity  6           4      0.667 0.257   0.164      1.0
    specificity  4           4      0.750 0.250   0.260      1.0
    """
    confidence = check_confidence(confidence)
    if int(n_boot) < 200:
        raise ValueError(f"n_boot: at least 200 bootstrap resamples, got {n_boot!r}")
    frame = require_frame(df)
    columns = {"reader": reader, "patient": patient, "truth": truth, "category": category}
    require_columns(frame, columns)
    frame = apply_nan_policy(frame, list(columns.values()), nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    positive = binary_truth(frame[truth], arg=f"truth={truth!r}")
    called = require_numeric(frame, category, arg=f"category={category!r}") >= threshold
    work = pd.DataFrame(
        {
            "reader": frame[reader].to_numpy(),
            "patient": frame[patient].astype(str).to_numpy(),
            "truth": positive,
            "correct": called == positive,
        }
    )
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    alpha = 1 - confidence
    rows = []
    for name, sub in work.groupby("reader", sort=True):
        # one stream per reader: a reader's CIs do not depend on the other readers
        rng = np.random.default_rng(seed)
        for metric, cls in (("sensitivity", True), ("specificity", False)):
            part = sub[sub["truth"] == cls]
            per = part.groupby("patient", sort=True)["correct"].agg(["sum", "count"])
            x = per["sum"].to_numpy(dtype=float)
            m = per["count"].to_numpy(dtype=float)
            row: dict[str, object] = {
                "reader": name, "metric": metric, "n": int(m.sum()), "n_clusters": len(m),
                "correct": int(x.sum()),
            }  # fmt: skip
            text = None
            p = se = lo = hi = b_lo = b_hi = deff = np.nan
            if len(m) == 0:
                text = f"no {'positive' if cls else 'negative'} case: no {metric}"
            else:
                p, se = _ratio(x, m)
                if len(m) < 2:
                    text = "one patient: no clustered SE"
                else:
                    lo, hi = max(0.0, p - z * se), min(1.0, p + z * se)
                    idx = rng.integers(0, len(m), size=(int(n_boot), len(m)))
                    boot = x[idx].sum(axis=1) / m[idx].sum(axis=1)
                    b_lo, b_hi = (float(v) for v in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
                    binomial = p * (1 - p) / m.sum()
                    if binomial > 0:
                        deff = se**2 / binomial
                    else:
                        text = f"{metric} is {p:g}: the SE is 0 and the CI a single point"
            row.update(
                statistic=p, se=se, ci_low=lo, ci_high=hi, boot_ci_low=b_lo, boot_ci_high=b_hi,
                design_effect=deff, note=text,
            )  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows, columns=list(CLUSTERED_ACCURACY_COLUMNS))
