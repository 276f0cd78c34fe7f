"""Final category of repeated runs (e.g. three independent generations of a model).

The worked example: "The final BI-RADS category was determined by majority voting; if all
three outputs differed, the median category was used." That is the default rule,
``"majority-median"``, the value of ``[repeats] consensus`` in a study's ``study.toml``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.stats._checks import (
    NanPolicy,
    apply_nan_policy,
    require_columns,
    require_frame,
    require_numeric,
    require_unique,
)
from readerstudy.core.choices import CONSENSUS_RULES

Rule = Literal["majority-median", "median", "mode-lowest", "first-run"]

#: The consensus rules understood by :func:`consensus`: the one list of the platform
#: (``readerstudy.core.choices.CONSENSUS_RULES``, pure vocabulary; ``study.toml`` values).
RULES: tuple[str, ...] = tuple(CONSENSUS_RULES)


def consensus(
    df: pd.DataFrame,
    *,
    reader: str = "reader_id",
    case: str = "case_id",
    run: str = "run",
    category: str = "category",
    rule: Rule = "majority-median",
    nan_policy: NanPolicy = "raise",
) -> pd.DataFrame:
    """Combine the runs of each reader x case into one category.

    Rules (``n`` runs of one reader on one case):

    - ``"majority-median"`` (default): the category given by more than half of the runs
      (a strict majority, ``count > n/2``); when no category has one, the median of the
      runs, taking the lower of the two middle values when ``n`` is even (so the result
      is always a category some run gave).
    - ``"median"``: always the (lower) median.
    - ``"mode-lowest"``: the most frequent category (a plurality is enough); ties go to
      the lowest of the tied categories.
    - ``"first-run"``: the category of the run with the lowest run number (the other runs
      only count towards ``n_agree``).

    With a single run every rule returns that run.

    Parameters
    ----------
    df : pandas.DataFrame
        Long readings, one row per reader x case x run.
    reader, case, run, category : str
        Column names; ``category`` must be numeric (it is ordered).
    rule : {"majority-median", "median", "mode-lowest", "first-run"}
        Consensus rule.
    nan_policy : {"raise", "omit"}
        What to do with rows with NaN in the four columns (``"omit"`` drops those runs).

    Returns
    -------
    pandas.DataFrame
        One row per reader x case (sorted by reader, then case) with the columns
        ``reader, case, category, n_runs, n_agree, agreement, decided_by``: the final
        category (integer if the input column is), the number of runs, how many runs gave
        the final category, their share, and ``"majority"``, ``"median"``, ``"mode"`` or
        ``"first-run"`` for the branch of the rule that decided.

    References
    ----------
    Tang et al. (2026), Fine-tuned multimodal GPT-4o for generating diagnostic
    impressions in breast MRI: non-mass enhancement lesions, *Quantitative Imaging in
    Medicine and Surgery* (Methods, "Statistical analyses").

    *Output contract.* Not a DataFrame of estimates: the final category of each reader x
    case, not an estimate (no ``statistic`` or interval).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.consensus import consensus
    >>> df = pd.DataFrame({
    ...     "reader_id": "a",
    ...     "case_id": [1, 1, 1, 2, 2, 2],
    ...     "run": [1, 2, 3] * 2,
    ...     "category": [4, 4, 2, 1, 3, 5],
    ... })
    >>> print(consensus(df).to_string(index=False))
    reader  case  category  n_runs  n_agree  agreement decided_by
         a     1         4       3        2   0.666667   majority
         a     2         3       3        1   0.333333     median
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    frame = require_frame(df)
    require_columns(frame, {"reader": reader, "case": case, "run": run, "category": category})
    frame = apply_nan_policy(frame, [reader, case, run, category], nan_policy=nan_policy)
    if frame.empty:
        raise ValueError("df: no rows left after dropping NaN")
    require_unique(frame, {"reader": reader, "case": case, "run": run})
    values = require_numeric(frame, category, arg="category")

    keys = frame[[reader, case]].reset_index(drop=True)
    group = keys.groupby([reader, case], sort=True).ngroup().to_numpy()
    n_groups = int(group.max()) + 1
    order = np.lexsort((values, group))  # by group, then category ascending
    g_sorted, v_sorted = group[order], values[order]
    n_runs = np.bincount(group, minlength=n_groups)
    start = np.concatenate(([0], np.cumsum(n_runs)[:-1]))

    # lower median: element (n - 1) // 2 of each sorted group
    median = v_sorted[start + (n_runs - 1) // 2]

    # mode: run-length encode the sorted (group, category) pairs; the first maximal run
    # in each group is the lowest of the most frequent categories
    new = np.ones(len(v_sorted), dtype=bool)
    new[1:] = (g_sorted[1:] != g_sorted[:-1]) | (v_sorted[1:] != v_sorted[:-1])
    block_start = np.flatnonzero(new)
    block_len = np.diff(np.append(block_start, len(v_sorted)))
    block_group = g_sorted[block_start]
    block_value = v_sorted[block_start]
    rank = np.lexsort((block_value, -block_len, block_group))  # per group: longest, lowest
    first = np.ones(len(rank), dtype=bool)
    first[1:] = block_group[rank][1:] != block_group[rank][:-1]
    best = rank[first]  # one block per group, in group order
    mode_value = block_value[best]
    mode_count = block_len[best]

    if rule == "median":
        final = median
        decided = np.full(n_groups, "median", dtype=object)
    elif rule == "mode-lowest":
        final = mode_value
        decided = np.full(n_groups, "mode", dtype=object)
    elif rule == "first-run":
        runs = frame[run].to_numpy()
        by_run = np.lexsort((runs, group))  # by group, then run ascending
        final = values[by_run[start]]
        decided = np.full(n_groups, "first-run", dtype=object)
    else:
        majority = 2 * mode_count > n_runs
        final = np.where(majority, mode_value, median)
        decided = np.where(majority, "majority", "median").astype(object)

    # runs that gave the final category
    hit = values == final[group]
    n_agree = np.bincount(group, weights=hit.astype(float), minlength=n_groups).astype(int)

    first_row = np.concatenate(([0], np.flatnonzero(np.diff(g_sorted)) + 1))
    rows_of_group = order[first_row]
    out = pd.DataFrame(
        {
            "reader": keys[reader].to_numpy()[rows_of_group],
            "case": keys[case].to_numpy()[rows_of_group],
            "category": final,
            "n_runs": n_runs,
            "n_agree": n_agree,
            "agreement": n_agree / n_runs,
            "decided_by": decided,
        }
    )
    if pd.api.types.is_integer_dtype(frame[category].dtype):
        out["category"] = out["category"].astype(frame[category].dtype)
    return out
