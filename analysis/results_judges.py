"""LLM judges measured against the human panel in an analysis (issue 21, item 2).

Called by :func:`analysis.results.run_analysis` with the panel's Likert scores
(:attr:`analysis.selectors.StudyData.scores`, human raters) and the judges' scores
(:attr:`~analysis.selectors.StudyData.judge_scores`: source ``judged``, run 1 of each judge;
rater codes pseudonymised like the panel's for a statistician before unblinding). Plain
Python over :mod:`analysis.stats.judge` (no Django). Per judge and domain:

* ``agreement``: :func:`~analysis.stats.judge.judge_agreement` against each human and the
  panel consensus (median) -- weighted κ, Krippendorff's α, ICC(2,1), mean difference and
  Bland–Altman limits;
* ``within_panel``: :func:`~analysis.stats.judge.judge_within_panel` (leave-one-rater-out
  κ difference, case-bootstrap CI);
* ``conclusions``: :func:`~analysis.stats.judge.judge_conclusions` (Kendall's τ of the
  readers' means; the shift of each pairwise difference, Dunn verdicts under each).

One output (a reading: case x reader x run) is one unit; with several runs of the outputs the
unit's case is ``<case>#<run>``. No judge → an empty frame and no note; a judge that cannot
be compared (no human scored the same outputs, too few readers) → a note.
"""

from __future__ import annotations

import pandas as pd

from analysis.notes import Note, note
from analysis.stats.judge import judge_agreement, judge_conclusions, judge_within_panel

#: Bootstrap resamples of the agreement, within-panel and conclusions intervals.
JUDGE_BOOT = 1000

#: Columns of :func:`judges` (one row per estimate), in results.json order.
JUDGE_COLUMNS: list[str] = [
    "judge", "domain", "analysis", "measure", "against", "reader_a", "reader_b", "n",
    "n_cases", "statistic", "ci_low", "ci_high", "p_value", "judge_agreement",
    "human_agreement", "margin", "within", "p_panel", "p_judge", "significant_panel",
    "significant_judge", "changed",
]  # fmt: skip


def judge_input(scores: pd.DataFrame, judge_scores: pd.DataFrame) -> pd.DataFrame:
    """The long frame of :mod:`analysis.stats.judge`: the panel's scores (kind ``human``) and
    the judges' (kind ``model``); ``case_id`` is ``<case>#<run>`` when the outputs have
    several runs, so that two runs of one reader are two units."""
    frames = [
        scores.assign(kind="human"),
        judge_scores.assign(kind="model"),
    ]
    both = pd.concat(frames, ignore_index=True)
    case = both["case_id"].astype(str)
    if both["run"].nunique() > 1:
        case = case + "#" + both["run"].astype(str)
    return pd.DataFrame(
        {
            "rater_id": both["rater_id"].astype(str).to_numpy(),
            "kind": both["kind"].to_numpy(),
            "case_id": case.to_numpy(),
            "reader_id": both["reader_id"].astype(str).to_numpy(),
            "domain": both["domain"].to_numpy(),
            "score": both["score"].astype(float).to_numpy(),
        }
    )


def judges(
    scores: pd.DataFrame,
    judge_scores: pd.DataFrame,
    *,
    low: int,
    high: int,
    p_adjust: str,
    seed: int | None,
    notes: list[Note],
) -> pd.DataFrame:
    """Every judge against the panel: one row per estimate (columns :data:`JUDGE_COLUMNS`)."""
    if judge_scores.empty:
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    if scores.empty:
        notes.append(
            note(
                "judge-not-compared",
                "LLM judges: the panel has no Likert scores, so no judge is compared with it.",
            )
        )
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    frame = judge_input(scores, judge_scores)
    rows: list[pd.DataFrame] = []
    for judge in sorted(judge_scores["rater_id"].astype(str).unique()):
        # the panel and this judge, on the outputs the judge scored
        own = frame[(frame["kind"] == "human") | (frame["rater_id"] == judge)]
        try:
            agree = judge_agreement(
                own, judge=judge, low=low, high=high, n_boot=JUDGE_BOOT, seed=seed
            )
            within = judge_within_panel(
                own, judge=judge, low=low, high=high, n_boot=JUDGE_BOOT, seed=seed
            )
            concl = judge_conclusions(
                own,
                judge=judge,
                low=low,
                high=high,
                p_adjust=p_adjust,  # type: ignore[arg-type]
                n_boot=JUDGE_BOOT,
                seed=seed,
            )
        except ValueError as exc:
            notes.append(note("judge-not-compared", f"LLM judge {judge}: not compared ({exc})."))
            continue
        rows.append(agree.assign(analysis="agreement"))
        rows.append(
            within.rename(columns={"human": "against"}).assign(
                analysis="within_panel", measure="kappa_difference"
            )
        )
        rows.append(
            concl.assign(
                analysis="conclusions",
                measure=concl["comparison"].map({"rank": "kendall_tau", "pair": "pair_shift"}),
            )
        )
    if not rows:
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    out = pd.concat([r for r in rows if len(r)], ignore_index=True)
    return out.reindex(columns=JUDGE_COLUMNS).reset_index(drop=True)


def judges_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The ``judges`` entry of results.json: one object per estimate, every column."""
    return [dict(r) for r in frame.reindex(columns=JUDGE_COLUMNS).to_dict("records")]
