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

:func:`judge_instruments` adds, from every run and order of the judges' answers
(:attr:`~analysis.selectors.StudyData.judge_answers`) and their stored pairwise preferences
and acceptability grades (``instrument`` says which):

* ``self_consistency``: :func:`~analysis.stats.judge.judge_self_consistency` across the
  judge's runs (Krippendorff's α and exact agreement), per Likert domain, on the
  acceptability grades and on the pairwise choices (``a`` 1, ``tie`` 0, ``b`` −1, each order
  its own unit); only for a judge with two runs or more;
* ``position_bias``: :func:`~analysis.stats.judge.judge_position_bias` of the pairwise
  answers asked in both orders (share of first-shown choices with its binomial test; swap
  consistency);
* ``agreement`` and ``within_panel`` of the pairwise choices (domain ``preference``, scored
  1/0/−1 in one orientation of each pair) and of the acceptability grades (domain
  ``acceptability``, on the study's grades) against the human panel, as for a Likert domain.
"""

from __future__ import annotations

import pandas as pd

from analysis.notes import Note, note
from analysis.stats.judge import (
    judge_agreement,
    judge_conclusions,
    judge_position_bias,
    judge_self_consistency,
    judge_within_panel,
)

#: Bootstrap resamples of the agreement, within-panel and conclusions intervals.
JUDGE_BOOT = 1000

#: Columns of :func:`judges` (one row per estimate), in results.json order.
JUDGE_COLUMNS: list[str] = [
    "judge", "domain", "analysis", "measure", "against", "reader_a", "reader_b", "n",
    "n_cases", "statistic", "ci_low", "ci_high", "p_value", "judge_agreement",
    "human_agreement", "margin", "within", "p_panel", "p_judge", "significant_panel",
    "significant_judge", "changed", "instrument", "k", "n_runs",
]  # fmt: skip

#: The pairwise choices as ordinal scores (A better 1, equivalent 0, B better -1).
CHOICE_SCORE: dict[str, int] = {"a": 1, "tie": 0, "b": -1}
#: The ``domain`` of the pairwise and acceptability rows.
PREFERENCE_DOMAIN, ACCEPTABILITY_DOMAIN = "preference", "acceptability"


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
        rows.append(agree.assign(analysis="agreement", instrument="likert"))
        rows.append(
            within.rename(columns={"human": "against"}).assign(
                analysis="within_panel", measure="kappa_difference", instrument="likert"
            )
        )
        rows.append(
            concl.assign(
                analysis="conclusions",
                instrument="likert",
                measure=concl["comparison"].map({"rank": "kendall_tau", "pair": "pair_shift"}),
            )
        )
    if not rows:
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    out = pd.concat([r for r in rows if len(r)], ignore_index=True)
    return out.reindex(columns=JUDGE_COLUMNS).reset_index(drop=True)


def _pair_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Preferences as long scores: one orientation per pair (the sorted outputs), the choice
    flipped when a row names them the other way round; ``reader_id`` is the pair."""
    first = frame["reader"].astype(str) + "#" + frame["run_a"].astype(str)
    second = frame["comparator"].astype(str) + "#" + frame["run_b"].astype(str)
    swap = (first > second).to_numpy()
    score = frame["choice"].map(CHOICE_SCORE).astype(float).to_numpy()
    low, high = first.where(~swap, second), second.where(~swap, first)
    return pd.DataFrame(
        {
            "rater_id": frame["rater_id"].astype(str).to_numpy(),
            "case_id": frame["case_id"].astype(str).to_numpy(),
            "reader_id": (low + " vs " + high).to_numpy(),
            "domain": PREFERENCE_DOMAIN,
            "score": score * (1 - 2 * swap),
        }
    )


def _grade_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Grades as long scores; the unit is the output (``<case>#<run>``, reader), the same
    id in the panel's frame and the judge's."""
    case = frame["case_id"].astype(str) + "#" + frame["run"].astype(str)
    return pd.DataFrame(
        {
            "rater_id": frame["rater_id"].astype(str).to_numpy(),
            "case_id": case.to_numpy(),
            "reader_id": frame["reader_id"].astype(str).to_numpy(),
            "domain": ACCEPTABILITY_DOMAIN,
            "score": frame["grade"].astype(float).to_numpy(),
        }
    )


def _against_panel(
    panel: pd.DataFrame,
    judged: pd.DataFrame,
    *,
    instrument: str,
    low: float,
    high: float,
    seed: int | None,
    notes: list[Note],
) -> list[pd.DataFrame]:
    """Agreement and within-panel rows of each judge on one judgment instrument."""
    if judged.empty or panel.empty:
        return []
    frame = pd.concat([panel.assign(kind="human"), judged.assign(kind="model")], ignore_index=True)
    rows = []
    for judge in sorted(judged["rater_id"].unique()):
        own = frame[(frame["kind"] == "human") | (frame["rater_id"] == judge)]
        try:
            agree = judge_agreement(
                own, judge=judge, low=low, high=high, n_boot=JUDGE_BOOT, seed=seed
            )
        except ValueError as exc:
            notes.append(
                note(
                    "judge-not-compared", f"LLM judge {judge} ({instrument}): not compared ({exc})."
                )
            )
            continue
        rows.append(agree.assign(analysis="agreement", instrument=instrument))
        try:
            within = judge_within_panel(
                own, judge=judge, low=low, high=high, n_boot=JUDGE_BOOT, seed=seed
            )
        except ValueError:
            continue  # fewer than three humans: agreement only (judge_within_panel says why)
        rows.append(
            within.rename(columns={"human": "against"}).assign(
                analysis="within_panel", measure="kappa_difference", instrument=instrument
            )
        )
    return rows


def _consistency_units(answers: pd.DataFrame) -> pd.DataFrame:
    """The judges' answers of every run as scores (self-consistency): Likert per domain key,
    acceptability grades, pairwise choices 1/0/-1 with each order its own unit."""
    pairwise = answers["instrument"] == "pairwise"
    value = answers["value"].where(~pairwise, answers["value"].map(CHOICE_SCORE))
    reader = answers["reader"].astype(str) + "#" + answers["run_a"].astype(str)
    reader = reader.where(
        ~pairwise,
        reader + " vs " + answers["comparator"].astype(str) + "#" + answers["run_b"].astype(str)
        + " " + answers["order"].astype(str),
    )  # fmt: skip
    domain = answers["key"].astype(str)
    domain = domain.where(answers["instrument"] == "likert", answers["instrument"].map(
        {"pairwise": PREFERENCE_DOMAIN, "acceptability": ACCEPTABILITY_DOMAIN}
    ))  # fmt: skip
    return pd.DataFrame(
        {
            "rater_id": answers["rater_id"].astype(str).to_numpy(),
            "instrument": answers["instrument"].to_numpy(),
            "case_id": answers["case_id"].astype(str).to_numpy(),
            "reader_id": reader.to_numpy(),
            "domain": domain.to_numpy(),
            "run": answers["judge_run"].astype(int).to_numpy(),
            "score": pd.to_numeric(value).astype(float).to_numpy(),
        }
    )


def judge_instruments(
    *,
    answers: pd.DataFrame,
    preferences: pd.DataFrame,
    judge_preferences: pd.DataFrame,
    acceptability: pd.DataFrame,
    judge_acceptability: pd.DataFrame,
    grades: list[int],
    likert: tuple[int, int],
    seed: int | None,
    notes: list[Note],
) -> pd.DataFrame:
    """Self-consistency, position bias, and the pairwise and acceptability judges against the
    panel: rows of :data:`JUDGE_COLUMNS` (see the module docstring)."""
    rows: list[pd.DataFrame] = []
    if not judge_preferences.empty:
        rows += _against_panel(
            _pair_units(preferences), _pair_units(judge_preferences),
            instrument="pairwise", low=-1, high=1, seed=seed, notes=notes,
        )  # fmt: skip
    if not judge_acceptability.empty and grades:
        rows += _against_panel(
            _grade_units(acceptability), _grade_units(judge_acceptability),
            instrument="acceptability", low=min(grades), high=max(grades), seed=seed, notes=notes,
        )  # fmt: skip
    if not answers.empty:
        pairs = answers[answers["instrument"] == "pairwise"]
        if not pairs.empty:
            shown = pairs.assign(
                reader=pairs["reader"].astype(str) + "#" + pairs["run_a"].astype(str),
                comparator=pairs["comparator"].astype(str) + "#" + pairs["run_b"].astype(str),
            )
            bias = judge_position_bias(shown, choice="value", run="judge_run")
            rows.append(
                bias.assign(
                    analysis="position_bias", instrument="pairwise", domain=PREFERENCE_DOMAIN
                )
            )
        units = _consistency_units(answers)
        ranges = {"likert": likert, "pairwise": (-1, 1)}
        if grades:
            ranges["acceptability"] = (min(grades), max(grades))
        for (_judge, instrument), sub in units.groupby(["rater_id", "instrument"], sort=True):
            if sub["run"].nunique() < 2 or instrument not in ranges:
                continue
            low, high = ranges[str(instrument)]
            consistency = judge_self_consistency(
                sub, low=low, high=high, n_boot=JUDGE_BOOT, seed=seed
            )
            rows.append(consistency.assign(analysis="self_consistency", instrument=instrument))
    rows = [r for r in rows if len(r)]
    if not rows:
        return pd.DataFrame(columns=JUDGE_COLUMNS)
    out = pd.concat(rows, ignore_index=True)
    return out.reindex(columns=JUDGE_COLUMNS).reset_index(drop=True)


def judges_json(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The ``judges`` entry of results.json: one object per estimate, every column."""
    return [dict(r) for r in frame.reindex(columns=JUDGE_COLUMNS).to_dict("records")]
