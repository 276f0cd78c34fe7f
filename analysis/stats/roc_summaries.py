"""Partial AUC (McClish-standardised) and the Youden-optimal threshold with bootstrap CIs.

Both read the empirical ROC curve of each reader: the points (FPR, TPR) of the calls
``rating > t`` for every threshold ``t`` between two adjacent distinct ratings, joined by
straight lines (pROC's curve; with tied ratings the segment is a diagonal step).

Pure numpy/pandas/scipy (no Django), as the rest of :mod:`analysis.stats`.

References
----------
McClish, D. K. (1989). Analyzing a portion of the ROC curve. *Medical Decision Making*,
9(3), 190-195.

Youden, W. J. (1950). Index for rating diagnostic tests. *Cancer*, 3(1), 32-35.

Fluss, R., Faraggi, D., & Reiser, B. (2005). Estimation of the Youden index and its
associated cutoff point. *Biometrical Journal*, 47(4), 458-472.

Robin, X., Turck, N., Hainard, A., et al. (2011). pROC: an open-source package for R and
S+ to analyze and compare ROC curves. *BMC Bioinformatics*, 12, 77.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    binary_truth,
    check_confidence,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)

Focus = Literal["specificity", "sensitivity"]

PARTIAL_AUC_COLUMNS: list[str] = [
    "reader",
    "focus",
    "range_low",
    "range_high",
    "partial_auc",
    "statistic",
    "ci_low",
    "ci_high",
]
YOUDEN_COLUMNS: list[str] = [
    "reader",
    "statistic",
    "ci_low",
    "ci_high",
    "youden_j",
    "sensitivity",
    "specificity",
]


def _curve(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (pROC's midpoints, -inf first), and the FPR and TPR of ``score > t``."""
    values = np.unique(scores)
    mids = (values[:-1] + values[1:]) / 2
    thresholds = np.concatenate([[-np.inf], mids, [np.inf]])
    pos = np.sort(scores[truth])
    neg = np.sort(scores[~truth])
    tpr = 1 - np.searchsorted(pos, thresholds, side="right") / len(pos)
    fpr = 1 - np.searchsorted(neg, thresholds, side="right") / len(neg)
    return thresholds, fpr, tpr


def _segment_area(x: np.ndarray, y: np.ndarray, low: float, high: float) -> float:
    """Area under the polyline (x, y) (x non-decreasing) between ``low`` and ``high``."""
    x0, x1, y0, y1 = x[:-1], x[1:], y[:-1], y[1:]
    width = x1 - x0
    a = np.clip(x0, low, high)
    b = np.clip(x1, low, high)
    keep = (width > 0) & (b > a)
    slope = np.where(width > 0, (y1 - y0) / np.where(width > 0, width, 1.0), 0.0)
    ya = y0 + slope * (a - x0)
    yb = y0 + slope * (b - x0)
    return float(np.sum(np.where(keep, (b - a) * (ya + yb) / 2, 0.0)))


def _partial(scores: np.ndarray, truth: np.ndarray, low: float, high: float, focus: Focus) -> float:
    _, fpr, tpr = _curve(scores, truth)
    # points in increasing FPR / TPR (thresholds decreasing)
    fpr, tpr = fpr[::-1], tpr[::-1]
    if focus == "specificity":
        # ∫ Se d(Sp) over Sp in [low, high] = ∫ TPR d(FPR) over FPR in [1-high, 1-low]
        return _segment_area(fpr, tpr, 1 - high, 1 - low)
    # ∫ Sp d(Se) over Se in [low, high] = ∫ (1 - FPR) d(TPR)
    return _segment_area(tpr, 1 - fpr, low, high)


def _mcclish(pauc: float, low: float, high: float) -> float:
    width = high - low
    minimum = width * (1 - (low + high) / 2)
    if pauc < minimum:
        return float("nan")
    return (1 + (pauc - minimum) / (width - minimum)) / 2


def _readers(
    df: object,
    *,
    truth: str,
    rating: str,
    reader: str,
    case: str,
    nan_policy: NanPolicy,
) -> list[tuple[object, np.ndarray, np.ndarray]]:
    frame = require_frame(df)
    require_columns(frame, {"truth": truth, "rating": rating, "reader": reader, "case": case})
    frame = apply_nan_policy(frame, [truth, rating, reader, case], nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"reader": reader, "case": case})
    values = require_numeric(frame, rating, arg="rating")
    t = binary_truth(frame[truth], arg="truth")
    out = []
    readers = frame[reader].to_numpy()
    for r in sorted(pd.unique(readers)):
        mask = readers == r
        rt = t[mask]
        if rt.all() or not rt.any():
            raise ValueError(
                f"truth: reader {r!r} has only one class; an ROC curve needs positive (1) "
                "and negative (0) cases"
            )
        out.append((r, values[mask], rt))
    return out


def _boot_indices(rng: np.random.Generator, truth: np.ndarray) -> np.ndarray:
    pos = np.flatnonzero(truth)
    neg = np.flatnonzero(~truth)
    return np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])


def _check_boot(n_boot: int) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot: must be a positive integer, got {n_boot!r}")


def partial_auc(
    df: pd.DataFrame,
    *,
    low: float = 0.8,
    high: float = 1.0,
    focus: Focus = "specificity",
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """McClish-standardised partial AUC of each reader with a stratified bootstrap CI.

    ``pAUC = ∫ Se d(Sp)`` over specificity in ``[low, high]`` (``focus="specificity"``;
    ``∫ Sp d(Se)`` over sensitivity in ``[low, high]`` with ``focus="sensitivity"``) under
    the empirical, linearly interpolated ROC curve (pROC ``auc(partial.auc = c(high, low),
    partial.auc.focus = ...)``). McClish (1989) maps it to the AUC scale,
    ``pAUC_std = (1 + (pAUC - min) / (max - min)) / 2`` with ``max = high - low`` (a perfect
    test) and ``min = (high - low)(1 - (high + low)/2)`` (the chance diagonal), so 0.5 is
    chance and 1 perfect (pROC ``partial.auc.correct = TRUE``). A curve below the diagonal
    in the band has no standardised value (NaN, as pROC). The interval is the percentile
    interval of ``n_boot`` bootstrap resamples drawn within the positive and within the
    negative cases (pROC's stratified bootstrap); resamples without a standardised value
    are dropped.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    low, high : float
        The band of specificity (or sensitivity), ``0 <= low < high <= 1``.
    focus : {"specificity", "sensitivity"}
        Which axis the band is on.
    truth, rating, reader, case : str
        Column names; higher ``rating`` = more likely positive.
    confidence : float
        Confidence level of the bootstrap interval (default 0.95).
    n_boot : int
        Number of bootstrap resamples (default 2000).
    seed : int or None
        Seed of the bootstrap (default 0, reproducible).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        One row per reader (sorted): ``reader, focus, range_low, range_high, partial_auc``
        (the raw area), ``statistic`` (McClish-standardised), ``ci_low, ci_high``.

    References
    ----------
    McClish (1989), *Med Decis Making* 9, 190-195; Robin et al. (2011), pROC.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc_summaries import partial_auc
    >>> df = pd.DataFrame({
    ...     "reader_id": "A",
    ...     "case_id": range(10),
    ...     "truth": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    ...     "rating": [5, 4, 4, 3, 2, 3, 2, 2, 1, 1],
    ... })
    >>> res = partial_auc(df, low=0.8, n_boot=200)  # pROC: 0.14, corrected 0.8333
    >>> print(res[["reader", "partial_auc", "statistic"]].round(4).to_string(index=False))
    reader  partial_auc  statistic
         A         0.14     0.8333
    """
    confidence = check_confidence(confidence)
    _check_boot(n_boot)
    if focus not in ("specificity", "sensitivity"):
        raise ValueError(f"focus: expected 'specificity' or 'sensitivity', got {focus!r}")
    if not (0.0 <= low < high <= 1.0):
        raise ValueError(f"low: need 0 <= low < high <= 1, got low={low!r}, high={high!r}")
    rng = np.random.default_rng(seed)
    alpha = 1 - confidence
    rows = []
    for r, scores, t in _readers(
        df, truth=truth, rating=rating, reader=reader, case=case, nan_policy=nan_policy
    ):
        raw = _partial(scores, t, low, high, focus)
        boot = np.array(
            [
                _mcclish(_partial(scores[idx], t[idx], low, high, focus), low, high)
                for idx in (_boot_indices(rng, t) for _ in range(int(n_boot)))
            ]
        )
        boot = boot[np.isfinite(boot)]
        ci = np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if len(boot) else [np.nan, np.nan]
        rows.append(
            {
                "reader": r,
                "focus": focus,
                "range_low": low,
                "range_high": high,
                "partial_auc": raw,
                "statistic": _mcclish(raw, low, high),
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
            }
        )
    return pd.DataFrame(rows, columns=PARTIAL_AUC_COLUMNS)


def _youden_best(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float, float, float]:
    thresholds, fpr, tpr = _curve(scores, truth)
    j = tpr - fpr
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    k = int(best[0])  # the lowest threshold among ties (the most sensitive call)
    return float(thresholds[k]), float(j[k]), float(tpr[k]), float(1 - fpr[k])


def youden_threshold(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    case: str = "case_id",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Youden-optimal threshold of each reader with a stratified bootstrap CI.

    Over pROC's thresholds ``t`` (midpoints between adjacent distinct ratings; a case is
    called positive when ``rating > t``) the threshold maximising
    ``J(t) = Se(t) + Sp(t) - 1`` (Youden 1950; pROC ``coords(roc, "best",
    best.method = "youden")``). When several thresholds share the maximum, the lowest is
    returned (pROC returns them all). The interval is the percentile interval of the
    optimal threshold over ``n_boot`` resamples drawn within the positive and the negative
    cases (Fluss et al. 2005; as pROC ``ci.coords`` resamples), widened to include the
    observed threshold if the bootstrap distribution of this discrete quantity lies to one
    side of it; ``youden_j``, ``sensitivity`` and ``specificity`` are those of the observed
    curve at the threshold.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case.
    truth, rating, reader, case : str
        Column names; higher ``rating`` = more likely positive.
    confidence : float
        Confidence level of the bootstrap interval (default 0.95).
    n_boot : int
        Number of bootstrap resamples (default 2000).
    seed : int or None
        Seed of the bootstrap (default 0).
    nan_policy : {"raise", "omit"}
        What to do with rows that have NaN.

    Returns
    -------
    pandas.DataFrame
        One row per reader: ``reader, statistic`` (the threshold), ``ci_low, ci_high,
        youden_j, sensitivity, specificity``.

    References
    ----------
    Youden (1950), *Cancer* 3, 32-35; Fluss, Faraggi & Reiser (2005), *Biom J* 47,
    458-472; Robin et al. (2011), pROC.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.roc_summaries import youden_threshold
    >>> df = pd.DataFrame({
    ...     "reader_id": "A",
    ...     "case_id": range(10),
    ...     "truth": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    ...     "rating": [5, 4, 4, 3, 2, 3, 2, 2, 1, 1],
    ... })
    >>> res = youden_threshold(df, n_boot=200)  # pROC: 2.5 and 3.5 tie (J = 0.6)
    >>> print(res[["reader", "statistic", "youden_j", "sensitivity", "specificity"]].to_string(index=False))
    reader  statistic  youden_j  sensitivity  specificity
         A        2.5       0.6          0.8          0.8
    """
    confidence = check_confidence(confidence)
    _check_boot(n_boot)
    rng = np.random.default_rng(seed)
    alpha = 1 - confidence
    rows = []
    for r, scores, t in _readers(
        df, truth=truth, rating=rating, reader=reader, case=case, nan_policy=nan_policy
    ):
        thr, j, se, sp = _youden_best(scores, t)
        boot = np.array(
            [
                _youden_best(scores[idx], t[idx])[0]
                for idx in (_boot_indices(rng, t) for _ in range(int(n_boot)))
            ]
        )
        boot = boot[np.isfinite(boot)]
        ci = np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if len(boot) else [np.nan, np.nan]
        rows.append(
            {
                "reader": r,
                "statistic": thr,
                "ci_low": min(float(ci[0]), thr),
                "ci_high": max(float(ci[1]), thr),
                "youden_j": j,
                "sensitivity": se,
                "specificity": sp,
            }
        )
    return pd.DataFrame(rows, columns=YOUDEN_COLUMNS)
