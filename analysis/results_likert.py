"""Paired Likert comparisons of the rated readers (issue 18).

Called by :func:`analysis.results.run_analysis` with the panel's Likert scores of the
per-reader modality (``rater_id, reader_id, case_id, run, domain, score``). The same
raters score every rated reader on the same cases, so besides Kruskal-Wallis + Dunn
(every score one unit, the worked example's method) each domain gets
:func:`analysis.stats.likert_paired.friedman_test` across the readers and, per pair of
readers, :func:`analysis.stats.likert_paired.paired_comparisons`: the mean paired
difference with a two-way (rater x case) cluster bootstrap CI and the Wilcoxon
signed-rank test, Holm-adjusted over the pairs. The unit is the block rater x case, a
reader's runs averaged within it (:data:`PAIRED_UNIT`). Plain Python (no Django).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.notes import Note, note
from analysis.stats.likert_paired import friedman_test, paired_comparisons

#: bootstrap replicates of the two-way bootstrap CI of the paired mean differences
LIKERT_PAIRED_BOOT = 2000
#: p-value adjustment over the pairs of readers of a domain
LIKERT_PAIRED_ADJUST = "holm"
#: what one paired observation is (tables and results.json say it)
PAIRED_UNIT = "rater × case (runs averaged)"


def likert_paired(
    scores: pd.DataFrame,
    *,
    order: Sequence[str],
    domains: Sequence[str],
    low: float,
    high: float,
    seed: int | None,
    notes: list[Note],
) -> pd.DataFrame:
    """Friedman and paired comparisons of the rated readers, one row per domain x pair.

    Returns the columns of :func:`analysis.stats.likert_paired.paired_comparisons` with
    ``domain`` for its ``group`` and the domain's Friedman test as ``friedman_q,
    friedman_df, friedman_p, friedman_n_dropped``. Empty when fewer than two readers were
    rated (the ``likert-one-reader`` note says so). A row without a CI or a test adds a
    ``likert-paired-degenerate`` note.
    """
    if scores.empty or scores["reader_id"].nunique() < 2:
        return pd.DataFrame()
    rated = [r for r in order if r in set(scores["reader_id"])]
    rated += sorted(set(scores["reader_id"]) - set(rated))
    kw: dict[str, Any] = dict(
        source="reader_id", rater="rater_id", case="case_id", score="score", by="domain",
        order=rated, low=low, high=high,
    )  # fmt: skip
    fried = friedman_test(scores, **kw).set_index("group")
    pairs = paired_comparisons(
        scores, **kw, p_adjust=LIKERT_PAIRED_ADJUST, n_boot=LIKERT_PAIRED_BOOT, seed=seed
    ).rename(columns={"group": "domain"})
    pairs["friedman_q"] = pairs["domain"].map(fried["statistic"])
    pairs["friedman_df"] = pairs["domain"].map(fried["df"])
    pairs["friedman_p"] = pairs["domain"].map(fried["p_value"])
    pairs["friedman_n_dropped"] = pairs["domain"].map(fried["n_dropped"])
    rank = {d: i for i, d in enumerate(domains)}
    pairs = pairs.assign(_d=pairs["domain"].map(lambda d: rank.get(d, len(rank))))
    pairs = pairs.sort_values("_d", kind="stable").drop(columns="_d").reset_index(drop=True)
    problems = [
        f"{r['domain']} {r['source_a']}–{r['source_b']}: {r['note']}"
        for r in pairs[pairs["note"].notna()].to_dict("records")
    ] + [f"{d} (Friedman): {text}" for d, text in fried["note"].dropna().items()]
    if problems:
        notes.append(
            note(
                "likert-paired-degenerate",
                "Paired Likert comparisons: "
                + "; ".join(problems[:8])
                + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else "")
                + ".",
            )
        )
    dropped = fried["n_dropped"].to_numpy(dtype=float)
    if len(dropped) and np.nansum(dropped) > 0:
        notes.append(
            note(
                "likert-paired-blocks-dropped",
                f"Paired Likert comparisons: {int(np.nansum(dropped))} rater × case block(s) "
                "without a score of every rated reader were left out.",
            )
        )
    return pairs


def _f(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def likert_paired_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``results.json`` ``likert_paired``: one entry per domain x pair of readers."""
    return [
        {
            "domain": r["domain"],
            "reader_a": r["source_a"],
            "reader_b": r["source_b"],
            "unit": PAIRED_UNIT,
            "n_blocks": int(r["n_blocks"]),
            "n_raters": int(r["n_raters"]),
            "n_cases": int(r["n_cases"]),
            "mean_a": _f(r["mean_a"]),
            "mean_b": _f(r["mean_b"]),
            "diff": _f(r["statistic"]),
            "diff_ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "ci_method": "two-way bootstrap (raters, cases)",
            "v": _f(r["v"]),
            "z": _f(r["z"]),
            "wilcoxon_method": r["wilcoxon_method"],
            "p": _f(r["p_value"]),
            "p_adjusted": _f(r["p_adjusted"]),
            "p_adjust": r["p_adjust"],
            "friedman_q": _f(r["friedman_q"]),
            "friedman_df": _f(r["friedman_df"]),
            "friedman_p": _f(r["friedman_p"]),
            "note": r["note"],
        }
        for r in frame.to_dict("records")
    ]
