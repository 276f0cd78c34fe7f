"""The judgment instruments in an analysis (issue 14): pairwise preference, acceptability and
error annotation, and the inter-rater agreement of each.

Called by :func:`analysis.results.run_analysis` with the judgment frames of
:class:`analysis.selectors.StudyData` (shown identifiers: pseudonyms for a statistician before
unblinding; the reference impression is reader ``reference``). Plain Python over
:func:`analysis.stats.judgments` (no Django). No judgments of an instrument → empty frames
and no note; degenerate data (one rater, every comparison a tie, no recorded side, a ranking
that does not exist) → a note, never a silent number.

* **Preference**: one row per (reader, comparator) as the pair was imported (A vs B), the
  comparisons of every rater; with three or more sources a Bradley–Terry ranking (the
  reference impression the reference source when it is one, else the first).
* **Acceptability**: grades ``>= cutoff`` are acceptable; per reader over all its ratings, and
  every model reader against ``reference`` on the same cases (case-level majority).
* **Errors**: reports are (rater, reader, case, run).
* **Agreement**: Krippendorff's α of each instrument with two or more raters, with a seeded
  bootstrap CI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.notes import Note, note
from analysis.stats.judgments import (
    acceptability_paired,
    acceptability_summary,
    bradley_terry,
    error_summary,
    judgment_agreement,
    preference_summary,
)

#: The reader id of a case's reference impression.
REFERENCE = "reference"
#: Bootstrap resamples of the clustered (rater × case) intervals and of α.
JUDGMENT_BOOT = 1000


@dataclass
class Judgments:
    """The judgment results of one analysis (empty frames when an instrument has no data)."""

    preference: pd.DataFrame = field(default_factory=pd.DataFrame)
    bradley_terry: pd.DataFrame = field(default_factory=pd.DataFrame)
    acceptability: pd.DataFrame = field(default_factory=pd.DataFrame)
    acceptability_paired: pd.DataFrame = field(default_factory=pd.DataFrame)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)


def preference_input(preferences: pd.DataFrame) -> pd.DataFrame:
    """The frame :func:`preference_summary` and :func:`bradley_terry` take (``left`` NaN when
    the side was not recorded)."""
    frame = preferences[["rater_id", "case_id", "reader", "comparator", "choice", "left"]].copy()
    frame["left"] = frame["left"].where(frame["left"].isin(["a", "b"]))
    return frame.reset_index(drop=True)


def acceptability_input(acceptability: pd.DataFrame) -> pd.DataFrame:
    """The frame of :func:`acceptability_summary`: the grade as text, the output's case and run
    as the case (``<case>#<run>``, so that two runs of one reader are two outputs)."""
    return pd.DataFrame(
        {
            "rater_id": acceptability["rater_id"].to_numpy(),
            "case_id": acceptability["case_id"].astype(str).to_numpy(),
            "item": (
                acceptability["case_id"].astype(str) + "#" + acceptability["run"].astype(str)
            ).to_numpy(),
            "reader_id": acceptability["reader_id"].to_numpy(),
            "grade": acceptability["grade"].astype(int).astype(str).to_numpy(),
        }
    )


def error_input(errors: pd.DataFrame) -> pd.DataFrame:
    """The frame of :func:`error_summary` (``significant`` as 0/1)."""
    return pd.DataFrame(
        {
            "rater_id": errors["rater_id"].to_numpy(),
            "case_id": errors["case_id"].to_numpy(),
            "reader_id": errors["reader_id"].to_numpy(),
            "run": errors["run"].astype(int).to_numpy(),
            "category": errors["category"].astype(str).to_numpy(),
            "significant": errors["significant"].astype(int).to_numpy(),
        }
    )


def _order(values: Sequence[str], order: Sequence[str]) -> list[str]:
    """``values`` in display order, the reference last, anything else after."""
    present = set(values)
    out = [r for r in order if r in present]
    rest = sorted(present - set(out) - {REFERENCE})
    return out + rest + ([REFERENCE] if REFERENCE in present else [])


def _sorted(frame: pd.DataFrame, column: str, order: Sequence[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    rank = {r: i for i, r in enumerate(_order(frame[column].astype(str).tolist(), order))}
    key = frame[column].astype(str).map(rank)
    return frame.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k")


def judgments(
    preferences: pd.DataFrame,
    acceptability: pd.DataFrame,
    errors: pd.DataFrame,
    *,
    order: Sequence[str],
    kinds: dict[str, str],
    scale: Sequence[int],
    cutoff: int | None,
    seed: int,
    notes: list[Note],
    n_boot: int = JUDGMENT_BOOT,
) -> Judgments:
    """Every judgment statistic of the study (see the module docstring)."""
    out = Judgments()
    if len(preferences):
        _preference(out, preference_input(preferences), order, seed, n_boot, notes)
    if len(acceptability) and cutoff is not None:
        _acceptability(
            out, acceptability_input(acceptability), order, kinds, scale, cutoff, seed, n_boot,
            notes,
        )  # fmt: skip
    if len(errors):
        frame = error_input(errors)
        out.errors = _sorted(error_summary(frame, run="run"), "reader", order)
        agreement = _agreement(frame, "errors", seed, n_boot, notes)
        if agreement is not None:
            out.agreement = pd.concat([out.agreement, agreement], ignore_index=True)
    return out


def _preference(
    out: Judgments,
    frame: pd.DataFrame,
    order: Sequence[str],
    seed: int,
    n_boot: int,
    notes: list[Note],
) -> None:
    summary = preference_summary(frame, n_boot=n_boot, seed=seed)
    out.preference = _sorted(summary, "reader", order)
    for r in summary.to_dict("records"):
        if r["note"]:
            notes.append(
                note(
                    "judgment-degenerate",
                    f"Preference, {r['reader']} vs {r['comparator']}: {r['note']}.",
                    reader=str(r["reader"]),
                )
            )
    sources = set(frame["reader"].astype(str)) | set(frame["comparator"].astype(str))
    if len(sources) >= 3:
        reference = REFERENCE if REFERENCE in sources else None
        try:
            out.bradley_terry = bradley_terry(frame, reference=reference)
        except ValueError as exc:
            notes.append(
                note("judgment-degenerate", f"Preference: no Bradley–Terry ranking ({exc}).")
            )
    agreement = _agreement(
        frame.rename(columns={"reader": "reader_id"}), "preference", seed, n_boot, notes
    )
    if agreement is not None:
        out.agreement = pd.concat([out.agreement, agreement], ignore_index=True)


def _acceptability(
    out: Judgments,
    frame: pd.DataFrame,
    order: Sequence[str],
    kinds: dict[str, str],
    scale: Sequence[int],
    cutoff: int,
    seed: int,
    n_boot: int,
    notes: list[Note],
) -> None:
    levels = [str(v) for v in scale]
    summary = acceptability_summary(
        frame, scale=levels, cutoff=str(cutoff), n_boot=n_boot, seed=seed
    )
    out.acceptability = _sorted(summary, "reader", order)
    for r in summary.to_dict("records"):
        if r["note"]:
            notes.append(
                note(
                    "judgment-degenerate",
                    f"Acceptability, {r['reader']}: {r['note']}.",
                    reader=str(r["reader"]),
                )
            )
    readers = set(frame["reader_id"].astype(str))
    paired = []
    if REFERENCE in readers:
        for reader in _order(list(readers), order):
            if reader == REFERENCE or kinds.get(reader) != "model":
                continue
            try:
                paired.append(
                    acceptability_paired(
                        frame, reader=reader, reference=REFERENCE, scale=levels,
                        cutoff=str(cutoff),
                    )
                )  # fmt: skip
            except ValueError as exc:
                notes.append(
                    note(
                        "judgment-degenerate",
                        f"Acceptability, {reader} vs the reference impressions: not compared "
                        f"({exc}).",
                        reader=reader,
                    )
                )
    if paired:
        out.acceptability_paired = pd.concat(paired, ignore_index=True)
    agreement = _agreement(
        frame.drop(columns="case_id").rename(columns={"item": "case_id"}),
        "acceptability",
        seed,
        n_boot,
        notes,
        scale=levels,
    )
    if agreement is not None:
        out.agreement = pd.concat([out.agreement, agreement], ignore_index=True)


def _agreement(
    frame: pd.DataFrame,
    instrument: str,
    seed: int,
    n_boot: int,
    notes: list[Note],
    *,
    scale: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    if frame["rater_id"].nunique() < 2:
        notes.append(
            note(
                "judgment-degenerate",
                f"Agreement of the {instrument} judgments: one rater only, so no agreement.",
            )
        )
        return None
    try:
        if instrument == "acceptability" and scale is not None:
            return judgment_agreement(
                frame, instrument="acceptability", scale=scale, n_boot=n_boot, seed=seed
            )
        if instrument == "preference":
            return judgment_agreement(frame, instrument="preference", n_boot=n_boot, seed=seed)
        return judgment_agreement(frame, instrument="errors", n_boot=n_boot, seed=seed)
    except ValueError as exc:
        notes.append(
            note(
                "judgment-degenerate",
                f"Agreement of the {instrument} judgments: not computed ({exc}).",
            )
        )
        return None


# ---------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------


def _num(value: object) -> float | None:
    """A float (NaN stays NaN: ``clean_json`` makes it ``null``); None for None."""
    return None if value is None else float(value)  # type: ignore[arg-type]


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def judgments_json(result: Judgments) -> dict[str, list[dict[str, object]]]:
    """The ``results.json`` keys of the judgments (contract in docs/architecture.md):
    ``preference``, ``bradley_terry``, ``acceptability``, ``acceptability_paired``,
    ``errors`` and ``judgment_agreement``; each ``[]`` without data."""
    preference = [
        {
            "reader": r["reader"],
            "comparator": r["comparator"],
            "n": _int(r["n"]),
            "wins": _int(r["wins"]),
            "ties": _int(r["ties"]),
            "losses": _int(r["losses"]),
            "win_rate": _num(r["win_rate"]),
            "at_least_as_good": _num(r["at_least_as_good"]),
            "at_least_as_good_ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "sign_test_p": _num(r["sign_test_p"]),
            "left_chosen": _num(r["left_chosen"]),
            "left_bias_p": _num(r["left_bias_p"]),
            "clustered_ci": [_num(r["clustered_ci_low"]), _num(r["clustered_ci_high"])],
            "left_n": _int(r["left_n"]),
            "n_raters": _int(r["n_raters"]),
            "n_cases": _int(r["n_cases"]),
        }
        for r in result.preference.to_dict("records")
    ]
    ranking = [
        {
            "source": r["source"],
            "rank": _int(r["rank"]),
            "log_strength": _num(r["statistic"]),
            "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "p": _num(r["p_value"]),
            "strength": _num(r["strength"]),
            "n": _int(r["n"]),
        }
        for r in result.bradley_terry.to_dict("records")
    ]
    acceptability = [
        {
            "reader": r["reader"],
            "n": _int(r["n"]),
            "acceptable": _int(r["acceptable"]),
            "rate": _num(r["rate"]),
            "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "clustered_ci": [_num(r["clustered_ci_low"]), _num(r["clustered_ci_high"])],
            "n_raters": _int(r["n_raters"]),
            "n_cases": _int(r["n_cases"]),
        }
        for r in result.acceptability.to_dict("records")
    ]
    paired = [
        {
            "reader": r["reader"],
            "reference": r["reference"],
            "n": _int(r["n"]),
            "n_no_majority": _int(r["n_no_majority"]),
            "table": {
                "both": _int(r["both"]),
                "reader_only": _int(r["reader_only"]),
                "reference_only": _int(r["reference_only"]),
                "neither": _int(r["neither"]),
            },
            "rate_reader": _num(r["rate_reader"]),
            "rate_reference": _num(r["rate_reference"]),
            "diff": _num(r["statistic"]),
            "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "mcnemar_p": _num(r["p_value"]),
            "mcnemar_chi2": _num(r["mcnemar_statistic"]),
            "mcnemar_chi2_p": _num(r["mcnemar_p"]),
        }
        for r in result.acceptability_paired.to_dict("records")
    ]
    errors = [
        {
            "reader": r["reader"],
            "n_reports": _int(r["n_reports"]),
            "reports_with_error": _int(r["reports_with_error"]),
            "rate": _num(r["rate"]),
            "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "errors_per_report": _num(r["errors_per_report"]),
            "significant_per_report": _num(r["significant_per_report"]),
            "by_category": dict(r["by_category"]),
        }
        for r in result.errors.to_dict("records")
    ]
    agreement = [
        {
            "instrument": r["instrument"],
            "alpha": _num(r["statistic"]),
            "ci": [_num(r["ci_low"]), _num(r["ci_high"])],
            "level": r["level"],
            "n_units": _int(r["n_units"]),
            "n_raters": _int(r["n_raters"]),
        }
        for r in result.agreement.to_dict("records")
    ]
    return {
        "preference": preference,
        "bradley_terry": ranking,
        "acceptability": acceptability,
        "acceptability_paired": paired,
        "errors": errors,
        "judgment_agreement": agreement,
    }
