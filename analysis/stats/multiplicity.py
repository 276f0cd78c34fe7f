"""Adjustment of p values for multiple comparisons within a family of tests.

A *family* is the set of tests one question is answered with: every pair of readers in
the paired DeLong tests, every reader against the reference reader in the McNemar tests
of one metric, every pair of readers in Dunn's test of one run. :func:`adjust_p` adjusts
the p values of one family (as R ``p.adjust``).

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics*, 6(2), 65-70.

Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate: a practical
and powerful approach to multiple testing. *Journal of the Royal Statistical Society,
Series B*, 57(1), 289-300.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from analysis.stats.choices import P_ADJUST_METHODS

__all__ = ["P_ADJUST_LABELS", "P_ADJUST_METHODS", "PAdjust", "adjust_p", "check_p_adjust"]

PAdjust = Literal["none", "holm", "bonferroni", "fdr"]


#: How each adjustment is named in table footnotes.
P_ADJUST_LABELS: dict[str, str] = {
    "none": "not adjusted for multiple comparisons",
    "holm": "Holm-adjusted",
    "bonferroni": "Bonferroni-adjusted",
    "fdr": "Benjamini-Hochberg (false discovery rate) adjusted",
}


def check_p_adjust(method: object, *, arg: str = "p_adjust") -> str:
    """Return ``method`` if it is one of :data:`P_ADJUST_METHODS`, else raise ``ValueError``.

    *Output contract.* Not a DataFrame of estimates: validates an option name; returns
    it.

    Examples
    --------
    >>> from analysis.stats.multiplicity import check_p_adjust
    >>> check_p_adjust("holm")
    'holm'
    """
    if method not in P_ADJUST_METHODS:
        raise ValueError(f"{arg}: expected one of {', '.join(P_ADJUST_METHODS)}, got {method!r}")
    return str(method)


def adjust_p(p: np.ndarray | list[float], method: PAdjust | str) -> np.ndarray:
    r"""Adjust the p values of one family of tests (as R ``p.adjust``).

    With the ``m`` non-missing p values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`:

    - ``"none"``: unchanged;
    - ``"bonferroni"``: :math:`\min(1, m p)`;
    - ``"holm"`` (step-down): :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)
      p_{(j)})`;
    - ``"fdr"`` (Benjamini-Hochberg step-up): :math:`\tilde p_{(i)} = \min_{j \ge i}
      \min(1, m p_{(j)} / j)`.

    NaN p values stay NaN and do not count in ``m`` (R ``p.adjust``'s default
    ``n = length(p[!is.na(p)])``).

    Parameters
    ----------
    p : array_like of float
        The p values of one family.
    method : {"none", "holm", "bonferroni", "fdr"}
        The adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p values, in the order of ``p``.

    References
    ----------
    Holm (1979), *Scandinavian Journal of Statistics* 6, 65-70; Benjamini & Hochberg
    (1995), *JRSS B* 57, 289-300.

    *Output contract.* Not a DataFrame of estimates: returns the adjusted p values as an
    array of the input's shape, as R ``p.adjust``, so that callers adjust a ``p_value``
    column in place.

    Examples
    --------
    >>> from analysis.stats.multiplicity import adjust_p
    >>> adjust_p([0.01, 0.04, 0.03, float("nan")], "holm").round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    >>> adjust_p([0.01, 0.04, 0.03], "fdr").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    method = check_p_adjust(method, arg="method")
    p = np.asarray(p, dtype=float)
    out = p.copy()
    ok = ~np.isnan(p)
    values = p[ok]
    m = values.size
    if method == "none" or m == 0:
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, values * m)
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * ranked))
    else:
        adj = np.minimum(1.0, np.minimum.accumulate((m * ranked / np.arange(1, m + 1))[::-1])[::-1])
    adjusted = np.empty(m)
    adjusted[order] = adj
    out[ok] = adjusted
    return out
