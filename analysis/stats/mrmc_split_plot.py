"""Obuchowski–Rockette / Hillis MRMC analysis of split-plot designs.

In a split-plot design the readers are split into groups and each group reads its own
disjoint block of cases, every reader of a group reading every case of the block in every
modality (Hillis 2014, Table VII design (C); "cases nested within reader groups"). The
figures of merit θ_ij are computed as in a crossed study, but the error covariance of two
θ is only estimable (and only non-zero) when the two readers share cases:

* the covariance matrix is block-diagonal: the jackknife runs **within each reader group**
  over that group's ``K_g`` cases, ``(K_g − 1)/K_g Σ_k (θ(−k) − θ̄)(θ(−k) − θ̄)ᵀ``, and the
  covariance of two θ of readers in different groups is 0;
* ``Var``, ``Cov1``, ``Cov2``, ``Cov3`` are the means over all cells of the matrix (as
  MRMCaov averages them), so Cov2 and Cov3 are 0 where readers are nested (groups of one
  reader: RJafroc ``SPLIT-PLOT-C`` and MRMCaov design 2, "cases nested within readers")
  and ``(J/s − 1)/(J − 1)`` times the within-group means for ``s`` equal groups;
* the tests, intervals and variance components then follow the crossed OR analysis of
  :func:`analysis.stats.mrmc.or_analysis` (RRRC with Hillis' ddf, FRRC, RRFC). With this
  averaging the error variance of a mean modality difference,
  ``[2 J (Var − Cov1) + 2 Σ_{j≠j'} (Cov2_jj' − Cov3_jj')] / J²``, is exactly what the
  crossed formulas give.

References
----------
Hillis SL (2014). A marginal-mean ANOVA approach for analyzing multireader multicase
radiological imaging data. Statistics in Medicine 33(2):330–360.

Obuchowski NA, Rockette HE (1995). Communications in Statistics – Simulation and
Computation 24(2):285–308.

Chakraborty DP, Zhai X. RJafroc: Artificial Intelligence Systems and Observer Performance
(R package; ``StSignificanceTesting`` for ``SPLIT-PLOT-C`` datasets); Smith BJ, Hillis SL,
Pesce LL. MRMCaov (R package; cases nested within readers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats._checks import NanPolicy, check_confidence
from analysis.stats.mrmc import (
    ANALYSES,
    FOMS,
    Analysis,
    Fom,
    MRMCResult,
    _build_result,
    fom_covariance,
    or_analysis,
)
from analysis.stats.roc import _prepare_long

__all__ = ["mrmc_split_plot", "reader_groups"]


def reader_groups(present: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The reader groups of a split-plot design, from who read which case.

    Parameters
    ----------
    present : ndarray of bool, shape (t, r, N)
        ``present[i, j, k]``: reader j rated case k in modality i.

    Returns
    -------
    list of (readers, cases)
        Index arrays, one pair per group, in order of each group's first reader. A group
        is the readers with the same set of cases.

    Raises
    ------
    ValueError
        When a reader's cases differ between modalities, two groups share a case, or a
        case was read by nobody.

    *Output contract.* Not a DataFrame of estimates: the design helper of
    :func:`mrmc_split_plot`.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.stats.mrmc_split_plot import reader_groups
    >>> p = np.zeros((2, 3, 4), dtype=bool)
    >>> p[:, :2, :2] = True  # readers 0 and 1 read cases 0-1
    >>> p[:, 2, 2:] = True  # reader 2 reads cases 2-3
    >>> [(r.tolist(), c.tolist()) for r, c in reader_groups(p)]
    [([0, 1], [0, 1]), ([2], [2, 3])]
    """
    if not (present == present[:1]).all():
        raise ValueError(
            "df: a reader rated different cases in different modalities; in a split-plot "
            "design every reader rates the cases of their block in every modality"
        )
    by_reader = present[0]  # (r, N)
    keys: dict[bytes, list[int]] = {}
    for j in range(by_reader.shape[0]):
        keys.setdefault(by_reader[j].tobytes(), []).append(j)
    groups = [(np.array(rdrs), np.flatnonzero(by_reader[rdrs[0]])) for rdrs in keys.values()]
    seen = np.zeros(by_reader.shape[1], dtype=int)
    for _, cases in groups:
        seen[cases] += 1
    if (seen > 1).any():
        raise ValueError(
            "df: the reader groups' case blocks overlap (readers that share a case must "
            "rate the same cases); the design is neither crossed nor split-plot"
        )
    if (seen == 0).any():
        raise ValueError("df: a case was rated by no reader")
    return groups


def mrmc_split_plot(
    df: pd.DataFrame,
    *,
    truth: str = "truth",
    rating: str = "rating",
    reader: str = "reader_id",
    modality: str = "modality",
    case: str = "case_id",
    analysis: Analysis = "RRRC",
    fom: Fom = "auc",
    threshold: float | None = None,
    confidence: float = 0.95,
    nan_policy: NanPolicy = "raise",
) -> MRMCResult:
    """OR/Hillis MRMC analysis of a split-plot design (reader groups, disjoint case blocks).

    Parameters
    ----------
    df : DataFrame
        Long data, one row per modality × reader × case. The reader groups are found from
        the data: readers with the same set of cases form a group, groups' case sets must
        be disjoint, and every reader rates their cases in every modality. One group is a
        fully crossed study (the result then equals :func:`analysis.stats.mrmc.mrmc`).
    truth, rating, reader, modality, case : str
        Column names. ``truth`` is 0/1; higher ``rating`` = more likely positive.
    analysis : {"RRRC", "FRRC", "RRFC"}
        Random readers and cases (default); fixed readers; fixed cases.
    fom : {"auc", "sensitivity", "specificity"}
        Figure of merit (see :func:`analysis.stats.mrmc.fom_covariance`).
    threshold : float, optional
        For sensitivity / specificity: positive call when ``rating >= threshold``.
    confidence : float
        Confidence level of every interval.
    nan_policy : {"raise", "omit"}
        ``"omit"`` drops rows with NaN first.

    Returns
    -------
    MRMCResult
        As :func:`analysis.stats.mrmc.mrmc`; ``covariance`` is ``"jackknife"`` (within
        groups) and ``covariance_matrix`` is block-diagonal.

    Notes
    -----
    Jackknife within group g over its K_g cases gives the block ``C_g`` of the error
    covariance matrix ``C`` (zero between groups). With ``Var``, ``Cov1``, ``Cov2``,
    ``Cov3`` the means of ``C`` over the cells of the same θ, same reader / different
    modality, different reader / same modality and different reader and modality:

    * RRRC: ``F = MS(T) / [MS(T*R) + J·max(Cov2 − Cov3, 0)]`` on
      ``(t − 1, [MS(T*R) + J·max(Cov2 − Cov3, 0)]² / {MS(T*R)² / [(t − 1)(J − 1)]})``;
      with one reader per group Cov2 = Cov3 = 0 and ``F = MS(T)/MS(T*R)`` on
      ``(t − 1, (t − 1)(J − 1))``.
    * FRRC: ``X² = (t − 1) MS(T) / [Var − Cov1 + (J − 1)·max(Cov2 − Cov3, 0)]``.
    * RRFC: ``F = MS(T) / MS(T*R)``.

    Each group needs two positive and two negative cases for the AUC (two cases of the
    relevant class for sensitivity or specificity).

    References
    ----------
    Hillis SL (2014). Statistics in Medicine 33(2):330–360 (split-plot designs, Table VII).
    Obuchowski NA, Rockette HE (1995). Commun Stat Simul Comput 24(2):285–308.
    Hillis SL (2007). Statistics in Medicine 26(3):596–619.

    *Output contract.* As :func:`analysis.stats.mrmc.mrmc`: an :class:`MRMCResult`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from analysis.stats.mrmc_split_plot import mrmc_split_plot
    >>> rng = np.random.default_rng(3)
    >>> rows = []
    >>> for g, readers in enumerate((("r1", "r2"), ("r3", "r4"))):
    ...     for k in range(16):
    ...         t = k % 2
    ...         for m in (0, 1):
    ...             for r in readers:
    ...                 rows.append({"modality": m, "reader_id": r, "case_id": f"g{g}c{k}",
    ...                              "truth": t, "rating": t * (1 + m) + rng.normal()})
    >>> res = mrmc_split_plot(pd.DataFrame(rows))
    >>> print(res.test[["f", "df1", "df2", "p_value"]].round(3).to_string(index=False))
        f  df1  df2  p_value
    3.055  1.0  3.0    0.179
    """
    confidence = check_confidence(confidence)
    if analysis not in ANALYSES:
        raise ValueError(f"analysis: expected one of {ANALYSES}, got {analysis!r}")
    if fom not in FOMS:
        raise ValueError(f"fom: expected one of {FOMS}, got {fom!r}")
    if fom == "auc" and threshold is not None:
        raise ValueError("threshold: only used with fom='sensitivity' or 'specificity'")
    prep = _prepare_long(
        df,
        truth=truth,
        rating=rating,
        case=case,
        groups={"modality": modality, "reader": reader},
        nan_policy=nan_policy,
    )
    modalities, readers = prep.groups
    if len(modalities) < 2:
        raise ValueError(f"modality: column {modality!r} has a single value; need at least two")
    if len(readers) < 2:
        raise ValueError(f"reader: column {reader!r} has a single value; need at least two")
    wide = prep.wide()  # (t, r, N), NaN where not read
    groups = reader_groups(~np.isnan(wide))
    n_mod, n_rdr, n_cases = wide.shape
    if fom != "auc":
        if threshold is not None:
            wide = np.where(np.isnan(wide), np.nan, (wide >= threshold).astype(float))
        elif not np.isin(wide[~np.isnan(wide)], (0.0, 1.0)).all():
            raise ValueError(
                f"rating: column {rating!r} must be 0/1 decisions for fom={fom!r} "
                "(or pass threshold=)"
            )
    theta = np.empty((n_mod, n_rdr))
    cov = np.zeros((n_mod * n_rdr, n_mod * n_rdr))
    for number, (rdrs, cases) in enumerate(groups, start=1):
        block = wide[:, rdrs][:, :, cases].reshape(n_mod * rdrs.size, cases.size)
        try:
            th, c = fom_covariance(block, prep.case_truth[cases], fom=fom)
        except ValueError as exc:
            names = ", ".join(str(readers[j]) for j in rdrs)
            raise ValueError(f"{exc} (reader group {number}: {names})") from None
        theta[:, rdrs] = th.reshape(n_mod, rdrs.size)
        rows = (np.arange(n_mod)[:, None] * n_rdr + rdrs[None, :]).ravel()
        cov[np.ix_(rows, rows)] = c
    res = or_analysis(theta, cov, analysis=analysis, confidence=confidence)
    return _build_result(
        res, cov, modalities, readers, n_cases, analysis, "jackknife", fom, confidence
    )
