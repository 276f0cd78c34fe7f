"""Localisation: lesion marks against truth lesions, and the JAFROC figures of merit.

A reader's mark is a point (series, slice, x, y) with a confidence rating; a truth lesion
is a point with an optional radius. ``lesion_localisation`` decides which marks are
lesion localisations (LL) and which are non-lesion localisations (NL); ``afroc_fom`` turns
them into the weighted AFROC (wAFROC) or AFROC figure of merit per reader × modality with a
case-jackknife interval, and ``afroc_reader_average`` into the reader average per modality
with the fixed-reader (FRRC) interval of the Obuchowski–Rockette analysis, as RJafroc
computes them (checked against RJafroc 2.1.2, tests/stats/r/localisation_reference.R).

Plain numpy / pandas / scipy (no Django).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.stats._checks import check_confidence, require_columns, require_frame

#: The figures of merit ``afroc_fom`` computes (value → what it is).
FIGURES_OF_MERIT: dict[str, str] = {
    "wAFROC": "weighted AFROC: each abnormal case counts once, its lesions by weight",
    "AFROC": "AFROC: each lesion counts once",
}

_MARK_COLUMNS = ("series", "slice", "x", "y")


def _check_fom(fom: str) -> None:
    if fom not in FIGURES_OF_MERIT:
        raise ValueError(f"fom: expected one of {', '.join(FIGURES_OF_MERIT)}, got {fom!r}")


def _numeric(df: pd.DataFrame, column: str, *, arg: str) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"{arg}: column {column!r} must be numeric, with no missing value")
    return values


def lesion_localisation(
    marks: pd.DataFrame,
    lesions: pd.DataFrame,
    *,
    radius: float,
    slice_tolerance: int = 0,
    case: str = "case_id",
    lesion: str = "lesion",
    rating: str = "rating",
    reader: str = "reader_id",
    modality: str = "modality",
) -> pd.DataFrame:
    """Classify each mark as the localisation of a truth lesion (LL) or not (NL).

    A mark *reaches* a lesion of its case when it is on the lesion's series (a lesion
    with an empty series is on every series), on a slice at most ``slice_tolerance`` from
    the lesion's (a missing slice matches every slice) and its distance to the lesion's
    centre is at most the acceptance radius, ``max(radius, lesion radius)`` (the lesion's
    own ``radius`` column when it has one: a mark inside the lesion is a hit, and so is one
    within ``radius`` of its centre). A mark goes to the nearest lesion it reaches. When
    several marks of one reader × modality reach the same lesion, the highest rated is the
    lesion localisation and the others count as non-lesion localisations (Chakraborty 2017,
    ch. 12).

    *Output contract.* A classification, not an estimate: no CI.

    Parameters
    ----------
    marks : DataFrame
        One row per mark: ``reader``, ``modality``, ``case``, ``series``, ``slice``, ``x``,
        ``y``, ``rating``.
    lesions : DataFrame
        One row per truth lesion: ``case``, ``lesion`` (its id within the case),
        ``series``, ``slice``, ``x``, ``y`` and optionally ``radius``.
    radius : float
        The acceptance radius, in the units of ``x`` and ``y`` (pixels), > 0.
    slice_tolerance : int
        How many slices a mark may be away from the lesion's slice (0: the same slice).

    Returns
    -------
    DataFrame
        ``marks`` with ``lesion`` (the id of the lesion it localises, missing for an NL)
        and ``distance`` (to the nearest lesion it reaches, missing if none).

    References
    ----------
    Chakraborty DP. *Observer Performance Methods for Diagnostic Imaging.* CRC Press, 2017.

    Examples
    --------
    >>> marks = pd.DataFrame({"reader_id": "A", "modality": 1, "case_id": [1, 1, 2],
    ...     "series": "", "slice": 0, "x": [10.0, 80.0, 5.0], "y": [10.0, 80.0, 5.0],
    ...     "rating": [4, 2, 3]})
    >>> truth = pd.DataFrame({"case_id": [1], "lesion": [1], "series": "", "slice": 0,
    ...     "x": [12.0], "y": [11.0]})
    >>> lesion_localisation(marks, truth, radius=5)["lesion"].tolist()
    [1.0, nan, nan]
    """
    marks = require_frame(marks, arg="marks")
    lesions = require_frame(lesions, arg="lesions")
    columns = {"reader": reader, "modality": modality, "case": case, "rating": rating}
    require_columns(marks, columns | {c: c for c in _MARK_COLUMNS}, arg="marks")
    require_columns(
        lesions, {"case": case, "lesion": lesion} | {c: c for c in _MARK_COLUMNS}, arg="lesions"
    )
    if not np.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius: must be a positive number, got {radius!r}")
    if slice_tolerance < 0:
        raise ValueError(f"slice_tolerance: must be 0 or more, got {slice_tolerance!r}")
    mx, my = _numeric(marks, "x", arg="marks"), _numeric(marks, "y", arg="marks")
    _numeric(marks, rating, arg="marks")
    lx, ly = _numeric(lesions, "x", arg="lesions"), _numeric(lesions, "y", arg="lesions")
    reach = np.full(len(lesions), float(radius))
    if "radius" in lesions.columns:
        own = pd.to_numeric(lesions["radius"], errors="coerce").to_numpy(dtype=float)
        reach = np.fmax(reach, own)
    mslice = pd.to_numeric(marks["slice"], errors="coerce").to_numpy(dtype=float)
    lslice = pd.to_numeric(lesions["slice"], errors="coerce").to_numpy(dtype=float)
    mseries = marks["series"].fillna("").astype(str).to_numpy()
    lseries = lesions["series"].fillna("").astype(str).to_numpy()
    by_case: dict[object, np.ndarray] = {
        key: np.asarray(idx) for key, idx in lesions.groupby(case, sort=False).indices.items()
    }
    hit = np.full(len(marks), np.nan)
    dist = np.full(len(marks), np.nan)
    ids = lesions[lesion].to_numpy()
    for i, key in enumerate(marks[case].to_numpy()):
        idx = by_case.get(key)
        if idx is None:
            continue
        d = np.hypot(lx[idx] - mx[i], ly[idx] - my[i])
        ok = d <= reach[idx] + 1e-9
        ok &= (lseries[idx] == "") | (lseries[idx] == mseries[i])
        ok &= (
            np.isnan(lslice[idx])
            | np.isnan(mslice[i])
            | (np.abs(lslice[idx] - mslice[i]) <= slice_tolerance)
        )
        if ok.any():
            best = idx[ok][np.argmin(d[ok])]
            hit[i], dist[i] = float(ids[best]), float(np.min(d[ok]))
    out = marks.assign(lesion=hit, distance=dist)
    # one LL per lesion and reader x modality: the highest rated mark
    located = out[~np.isnan(hit)]
    order = located.sort_values(rating, ascending=False, kind="stable")
    dup = order.duplicated(subset=[reader, modality, case, "lesion"], keep="first")
    out.loc[order.index[dup.to_numpy()], "lesion"] = np.nan
    return out


def _psi_sums(fp: np.ndarray, ll: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums (per normal case, weighted) and column counts (per lesion) of ψ(FP, LL).

    ψ(x, y) = 1 if y > x, ½ if y = x, 0 otherwise; unmarked cases and lesions are −∞
    (so ψ(−∞, −∞) = ½), computed by sorting instead of the K₁ × L matrix.
    """
    fp_sorted = np.sort(fp)
    lo = np.searchsorted(fp_sorted, ll, side="left")
    hi = np.searchsorted(fp_sorted, ll, side="right")
    columns = lo + 0.5 * (hi - lo)
    order = np.argsort(ll, kind="stable")
    ll_sorted, cum = ll[order], np.concatenate([[0.0], np.cumsum(w[order])])
    lo = np.searchsorted(ll_sorted, fp, side="left")
    hi = np.searchsorted(ll_sorted, fp, side="right")
    rows = (cum[-1] - cum[hi]) + 0.5 * (cum[hi] - cum[lo])
    return rows, columns


def _case_truth(
    cases: pd.DataFrame, lesions: pd.DataFrame, *, case: str, lesion: str, truth: str, fom: str
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    cases = require_frame(cases, arg="cases")
    require_columns(cases, {"case": case, "truth": truth}, arg="cases")
    require_columns(lesions, {"case": case, "lesion": lesion}, arg="lesions")
    if cases[case].duplicated().any():
        raise ValueError(
            f"cases: case {cases[case][cases[case].duplicated()].iloc[0]!r} is listed twice"
        )
    t = pd.to_numeric(cases[truth], errors="coerce")
    if not t.isin((0, 1)).all():
        raise ValueError(f"cases: {truth!r} must be 0 or 1")
    normal = cases[case][t.to_numpy() == 0].to_numpy()
    abnormal = cases[case][t.to_numpy() == 1].to_numpy()
    les = lesions[[case, lesion]].copy()
    if les.duplicated().any():
        raise ValueError("lesions: a lesion id is listed twice for one case")
    on_normal = les[les[case].isin(normal)]
    if not on_normal.empty:
        raise ValueError(f"lesions: case {on_normal[case].iloc[0]!r} is negative but has a lesion")
    les = les[les[case].isin(abnormal)]
    bare = sorted(set(abnormal) - set(les[case]), key=str)
    if bare:
        raise ValueError(
            f"lesions: positive case(s) without a lesion: {', '.join(map(str, bare[:5]))}"
        )
    if fom == "wAFROC":
        if "weight" in lesions.columns:
            w = pd.to_numeric(lesions.loc[les.index, "weight"], errors="coerce")
            if w.isna().any() or (w <= 0).any():
                raise ValueError("lesions: 'weight' must be a positive number")
            les["weight"] = w / w.groupby(les[case]).transform("sum")
        else:
            les["weight"] = 1.0 / les.groupby(case)[lesion].transform("size")
    else:
        les["weight"] = 1.0
    return normal, abnormal, les.reset_index(drop=True)


def _cell_jackknife(
    marks: pd.DataFrame,
    normal: np.ndarray,
    abnormal: np.ndarray,
    les: pd.DataFrame,
    *,
    case: str,
    lesion: str,
    rating: str,
    fom: str,
) -> tuple[float, np.ndarray]:
    """The figure of merit of one reader × modality and its K jackknife values."""
    k1, k2 = len(normal), len(abnormal)
    nl = marks[marks[case].isin(normal)]
    fp_max = nl.groupby(case)[rating].max()
    fp = fp_max.reindex(normal).fillna(-np.inf).to_numpy(dtype=float)
    ll_marks = marks[marks["lesion"].notna()]
    ll_max = ll_marks.groupby([case, "lesion"])[rating].max()
    key = pd.MultiIndex.from_arrays([les[case], les[lesion].astype(float)])
    ll = ll_max.reindex(key).fillna(-np.inf).to_numpy(dtype=float)
    w = les["weight"].to_numpy(dtype=float)
    rows, columns = _psi_sums(fp, ll, w)
    total = float(w @ columns)
    per_case = pd.Series(w * columns).groupby(les[case].to_numpy()).sum()
    per_case = per_case.reindex(abnormal).to_numpy(dtype=float)
    if fom == "wAFROC":
        denom, denom_drop = k1 * k2, np.full(k2, k1 * (k2 - 1.0))
    else:
        n_les = les.groupby(case).size().reindex(abnormal).to_numpy(dtype=float)
        denom, denom_drop = k1 * float(w.sum()), k1 * (float(w.sum()) - n_les)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop_normal = (total - rows) / ((k1 - 1.0) * (denom / k1))
        drop_abnormal = (total - per_case) / denom_drop
    return total / denom, np.concatenate([drop_normal, drop_abnormal])


def _jk_var(jk: np.ndarray) -> float:
    k = len(jk)
    return float((k - 1) / k * np.sum((jk - jk.mean()) ** 2))


def _cells(
    marks: pd.DataFrame,
    cases: pd.DataFrame,
    lesions: pd.DataFrame,
    *,
    fom: str,
    reader: str,
    modality: str,
    case: str,
    lesion: str,
    rating: str,
    truth: str,
) -> tuple[list[tuple[object, object, float, np.ndarray]], int, int, int]:
    _check_fom(fom)
    marks = require_frame(marks, arg="marks")
    require_columns(
        marks, {"reader": reader, "modality": modality, "case": case, "rating": rating}, arg="marks"
    )
    if "lesion" not in marks.columns:
        raise ValueError("marks: no 'lesion' column (classify the marks with lesion_localisation)")
    marks = marks.assign(
        **{rating: _numeric(marks, rating, arg="marks")},
        lesion=pd.to_numeric(marks["lesion"], errors="coerce"),
    )
    normal, abnormal, les = _case_truth(
        cases, lesions, case=case, lesion=lesion, truth=truth, fom=fom
    )
    unknown = sorted(set(marks[case]) - set(normal) - set(abnormal), key=str)
    if unknown:
        raise ValueError(f"marks: case(s) not in cases: {', '.join(map(str, unknown[:5]))}")
    out = []
    for (r, m), sub in marks.groupby([reader, modality], sort=True):
        if len(normal) and len(abnormal):
            stat, jk = _cell_jackknife(
                sub, normal, abnormal, les, case=case, lesion=lesion, rating=rating, fom=fom
            )
        else:
            stat, jk = float("nan"), np.full(len(normal) + len(abnormal), np.nan)
        out.append((r, m, stat, jk))
    return out, len(normal), len(abnormal), len(les)


def _interval(stat: float, var: float, confidence: float) -> tuple[float, float, float]:
    se = float(np.sqrt(var)) if var >= 0 else float("nan")
    q = float(sps.norm.ppf(0.5 + confidence / 2))
    return se, max(0.0, stat - q * se), min(1.0, stat + q * se)


def _note(k1: int, k2: int) -> str:
    if k1 == 0:
        return "no negative case: the figure of merit needs false positives on normal cases"
    if k2 == 0:
        return "no positive case with a lesion"
    if k1 + k2 < 3:
        return "fewer than 3 cases: no jackknife interval"
    return ""


def afroc_fom(
    marks: pd.DataFrame,
    cases: pd.DataFrame,
    lesions: pd.DataFrame,
    *,
    fom: str = "wAFROC",
    confidence: float = 0.95,
    reader: str = "reader_id",
    modality: str = "modality",
    case: str = "case_id",
    lesion: str = "lesion",
    rating: str = "rating",
    truth: str = "truth",
) -> pd.DataFrame:
    r"""The JAFROC figure of merit (wAFROC or AFROC) per reader × modality.

    With :math:`K_1` normal and :math:`K_2` abnormal cases, :math:`FP_{k_1}` the highest
    rating of the marks on normal case :math:`k_1` and :math:`LL_{k_2 l}` the rating of the
    lesion localisation of lesion :math:`l` of case :math:`k_2` (both :math:`-\infty` when
    there is no mark),

    .. math::

        \theta_{wAFROC} = \frac{1}{K_1 K_2} \sum_{k_1} \sum_{k_2} \sum_{l}
            W_{k_2 l}\, \psi(FP_{k_1}, LL_{k_2 l}), \qquad
        \theta_{AFROC} = \frac{1}{K_1 L} \sum_{k_1} \sum_{k_2 l} \psi(FP_{k_1}, LL_{k_2 l})

    with :math:`\psi(x, y) = 1` if :math:`y > x`, ½ if equal, 0 otherwise, lesion weights
    :math:`W` summing to 1 per case (equal unless ``lesions`` has a ``weight`` column) and
    :math:`L` lesions in all. Marks on abnormal cases that localise no lesion do not enter
    (they would in wAFROC1 / AFROC1). The interval is
    :math:`\hat\theta \pm z_{1-\alpha/2}\sqrt{\widehat{Var}}` with the case-jackknife
    variance :math:`\frac{K-1}{K}\sum_k(\hat\theta_{(k)} - \bar\theta)^2` over all
    :math:`K = K_1 + K_2` cases (RJafroc's jackknife), cut at 0 and 1.

    Parameters
    ----------
    marks : DataFrame
        One row per mark: ``reader``, ``modality``, ``case``, ``rating`` (higher = more
        confident) and ``lesion`` (the lesion it localises, missing for an NL), e.g. from
        :func:`lesion_localisation`. A reader × modality with no mark at all is not listed.
    cases : DataFrame
        Every case read: ``case`` and ``truth`` (1 positive, with at least one lesion; 0
        negative).
    lesions : DataFrame
        ``case``, ``lesion`` and optionally ``weight``.
    fom : {"wAFROC", "AFROC"}
    confidence : float

    Returns
    -------
    DataFrame
        ``reader, modality, statistic, p_value`` (NaN: no test), ``ci_low, ci_high,
        std_err, n_normal, n_abnormal, n_lesions, note``.

    References
    ----------
    Chakraborty DP, Zhai X. On the meaning of the weighted alternative free-response
    operating characteristic figure of merit. *Med Phys* 2016;43:2548–57.
    Chakraborty DP. *Observer Performance Methods for Diagnostic Imaging.* CRC Press, 2017.

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": [1, 2, 3, 4], "truth": [0, 0, 1, 1]})
    >>> lesions = pd.DataFrame({"case_id": [3, 4, 4], "lesion": [1, 1, 2]})
    >>> marks = pd.DataFrame({"reader_id": "A", "modality": 1, "case_id": [1, 3, 4, 4],
    ...     "lesion": [None, 1, 2, None], "rating": [2, 4, 1, 5]})
    >>> out = afroc_fom(marks, cases, lesions)
    >>> round(float(out["statistic"].iloc[0]), 4)
    0.6875
    """
    check_confidence(confidence)
    cells, k1, k2, n_les = _cells(
        marks,
        cases,
        lesions,
        fom=fom,
        reader=reader,
        modality=modality,
        case=case,
        lesion=lesion,
        rating=rating,
        truth=truth,
    )
    note = _note(k1, k2)
    rows = []
    for r, m, stat, jk in cells:
        lo = hi = se = float("nan")
        if not note:
            se, lo, hi = _interval(stat, _jk_var(jk), confidence)
        rows.append(
            {
                "reader": r,
                "modality": m,
                "statistic": stat,
                "p_value": float("nan"),
                "ci_low": lo,
                "ci_high": hi,
                "std_err": se,
                "n_normal": k1,
                "n_abnormal": k2,
                "n_lesions": n_les,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "reader",
            "modality",
            "statistic",
            "p_value",
            "ci_low",
            "ci_high",
            "std_err",
            "n_normal",
            "n_abnormal",
            "n_lesions",
            "note",
        ],
    )


def afroc_reader_average(
    marks: pd.DataFrame,
    cases: pd.DataFrame,
    lesions: pd.DataFrame,
    *,
    fom: str = "wAFROC",
    confidence: float = 0.95,
    reader: str = "reader_id",
    modality: str = "modality",
    case: str = "case_id",
    lesion: str = "lesion",
    rating: str = "rating",
    truth: str = "truth",
) -> pd.DataFrame:
    r"""The reader-average figure of merit per modality, for these readers (fixed readers).

    The Obuchowski–Rockette fixed-reader random-case (FRRC) interval of each modality's
    average over its :math:`J` readers, as RJafroc's ``StSignificanceTesting(method =
    "OR")`` ``FRRC$ciAvgRdrEachTrt``:
    :math:`\bar\theta \pm z_{1-\alpha/2}\sqrt{\overline{Var}/J + (J-1)\,\overline{Cov_2}/J}`,
    with :math:`\overline{Var}` the mean case-jackknife variance of the readers' figures of
    merit and :math:`\overline{Cov_2}` the mean jackknife covariance of two readers in the
    modality; cut at 0 and 1. Figures of merit as in :func:`afroc_fom`.

    Returns
    -------
    DataFrame
        ``modality, statistic, p_value`` (NaN: no test), ``ci_low, ci_high, std_err,
        n_readers, note`` (the interval is normal, as RJafroc's, though RJafroc prints
        ``DF = K - 1`` next to it).

    References
    ----------
    Obuchowski NA, Rockette HE. Hypothesis testing of diagnostic accuracy for multiple
    readers and multiple tests. *Commun Stat Simul Comput* 1995;24:285–308.
    Hillis SL. A comparison of denominator degrees of freedom methods for multiple
    observer ROC analysis. *Stat Med* 2007;26:596–619.

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": [1, 2, 3, 4], "truth": [0, 0, 1, 1]})
    >>> lesions = pd.DataFrame({"case_id": [3, 4], "lesion": [1, 1]})
    >>> marks = pd.DataFrame({"reader_id": ["A", "A", "B", "B"], "modality": 1,
    ...     "case_id": [1, 3, 2, 4], "lesion": [None, 1, None, 1], "rating": [2, 4, 3, 1]})
    >>> afroc_reader_average(marks, cases, lesions)["statistic"].tolist()
    [0.5]
    """
    check_confidence(confidence)
    cells, k1, k2, _ = _cells(
        marks,
        cases,
        lesions,
        fom=fom,
        reader=reader,
        modality=modality,
        case=case,
        lesion=lesion,
        rating=rating,
        truth=truth,
    )
    note = _note(k1, k2)
    k = k1 + k2
    rows = []
    for m in sorted({c[1] for c in cells}, key=str):
        group = [c for c in cells if c[1] == m]
        j = len(group)
        stat = float(np.mean([c[2] for c in group]))
        lo = hi = se = float("nan")
        if not note:
            jk = np.vstack([c[3] for c in group])
            var = float(np.mean([_jk_var(x) for x in jk]))
            cov2 = 0.0
            if j > 1:
                centred = jk - jk.mean(axis=1, keepdims=True)
                cov = (k - 1) / k * centred @ centred.T
                cov2 = float(cov[~np.eye(j, dtype=bool)].mean())
            se, lo, hi = _interval(stat, var / j + (j - 1) * cov2 / j, confidence)
        rows.append(
            {
                "modality": m,
                "statistic": stat,
                "p_value": float("nan"),
                "ci_low": lo,
                "ci_high": hi,
                "std_err": se,
                "n_readers": j,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "modality",
            "statistic",
            "p_value",
            "ci_low",
            "ci_high",
            "std_err",
            "n_readers",
            "note",
        ],
    )
