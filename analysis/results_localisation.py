"""Localisation in an analysis (issue 20): the readers' lesion marks against the truth lesions.

Called by :func:`analysis.results.run_analysis` with the population's readings, the readers'
marks (:attr:`analysis.selectors.StudyData.marks`) and the truth lesions
(:attr:`~analysis.selectors.StudyData.truth_marks`). Plain Python over
:mod:`analysis.stats.localisation` (no Django). Per modality, with each reader's first run:

* the marks are classified against the truth lesions with the study's acceptance radius
  and slice tolerance (study.toml ``[localisation]``);
* ``readers``: the wAFROC and AFROC figures of merit of each reader with a mark in the
  modality (case-jackknife CI, RJafroc's);
* ``modalities``: their reader average (Obuchowski–Rockette fixed-reader interval).

The cases are those every such reader read in the modality; positive cases without a truth
lesion are left out (a note). No mark at all → empty tables and ``note`` says so (no entry in
the notes: a study without a localisation task is not a problem).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from analysis.notes import Note, note
from analysis.stats.localisation import (
    FIGURES_OF_MERIT,
    afroc_fom,
    afroc_reader_average,
    lesion_localisation,
)

#: Columns of :attr:`Localisation.readers` and :attr:`Localisation.modalities`.
READER_COLUMNS: list[str] = [
    "reader", "modality", "fom", "statistic", "ci_low", "ci_high", "std_err", "n_normal",
    "n_abnormal", "n_lesions", "n_marks", "n_hits",
]  # fmt: skip
MODALITY_COLUMNS: list[str] = [
    "modality", "fom", "statistic", "ci_low", "ci_high", "std_err", "n_readers",
]  # fmt: skip

NO_MARKS = "no lesion marks in the selection: no localisation analysis"
NO_TRUTH = "lesion marks but no truth lesion (marks.csv rows without reader_id): no figure of merit"


@dataclass
class Localisation:
    """The localisation figures of merit of an analysis (module docstring)."""

    radius: float = 10.0
    slice_tolerance: int = 0
    readers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=READER_COLUMNS))
    modalities: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MODALITY_COLUMNS))
    note: str | None = NO_MARKS


def localisation(
    readings: pd.DataFrame,
    marks: pd.DataFrame,
    truth_marks: pd.DataFrame,
    *,
    radius: float,
    slice_tolerance: int,
    order: Sequence[str],
    notes: list[Note],
) -> Localisation:
    """The localisation analysis of the population (module docstring)."""
    out = Localisation(radius=radius, slice_tolerance=slice_tolerance)
    if marks.empty or readings.empty:
        return out
    if truth_marks.empty:
        out.note = NO_TRUTH
        return out
    out.note = None
    first = readings.groupby(["reader_id", "modality"])["run"].transform("min")
    readings = readings[readings["run"] == first]
    reader_rows, modality_rows = [], []
    for modality, sub in readings.groupby("modality", sort=True):
        chosen = marks.merge(
            sub[["reader_id", "case_id", "run", "modality"]],
            on=["reader_id", "case_id", "run", "modality"],
        )
        if chosen.empty:
            continue
        markers = sorted(set(chosen["reader_id"]), key=list(order).index)
        read = sub[sub["reader_id"].isin(markers)]
        counts = read.groupby("case_id")["reader_id"].nunique()
        common = counts.index[counts == len(markers)]
        cases = read.drop_duplicates("case_id")[["case_id", "truth"]]
        cases = cases[cases["case_id"].isin(common)]
        with_truth = set(truth_marks["case_id"])
        bare = cases[(cases["truth"] == 1) & ~cases["case_id"].isin(with_truth)]
        if len(common) < len(counts) or len(bare):
            notes.append(
                note(
                    "localisation-cases-dropped",
                    f"modality {modality}: {len(counts) - len(common)} case(s) not read by every "
                    f"reader with marks and {len(bare)} positive case(s) without a truth lesion "
                    "were left out of the localisation analysis",
                )
            )
        cases = cases[~cases["case_id"].isin(bare["case_id"])]
        chosen = chosen[chosen["case_id"].isin(cases["case_id"])]
        lesions = truth_marks[truth_marks["case_id"].isin(cases["case_id"])]
        if cases.empty or lesions.empty or chosen.empty:
            notes.append(
                note(
                    "localisation-not-computed",
                    f"modality {modality}: no case with both classes and marks remains",
                )
            )
            continue
        located = lesion_localisation(
            chosen, lesions, radius=radius, slice_tolerance=slice_tolerance
        )
        n_marks = located.groupby("reader_id").size()
        n_hits = located[located["lesion"].notna()].groupby("reader_id").size()
        for fom in FIGURES_OF_MERIT:
            per_reader = afroc_fom(located, cases, lesions, fom=fom)
            if per_reader["note"].iloc[0]:
                notes.append(
                    note(
                        "localisation-not-computed",
                        f"modality {modality}, {fom}: {per_reader['note'].iloc[0]}",
                    )
                )
            for row in per_reader.to_dict("records"):
                reader_rows.append(
                    {
                        **{k: row[k] for k in READER_COLUMNS if k in row},
                        "fom": fom,
                        "n_marks": int(n_marks.get(row["reader"], 0)),
                        "n_hits": int(n_hits.get(row["reader"], 0)),
                    }
                )
            average = afroc_reader_average(located, cases, lesions, fom=fom)
            for row in average.to_dict("records"):
                modality_rows.append(
                    {**{k: row[k] for k in MODALITY_COLUMNS if k in row}, "fom": fom}
                )
    if reader_rows:
        frame = pd.DataFrame(reader_rows).reindex(columns=READER_COLUMNS)
        frame["_order"] = frame["reader"].map({r: i for i, r in enumerate(order)})
        out.readers = (
            frame.sort_values(["modality", "fom", "_order"], ascending=[True, False, True])
            .drop(columns="_order")
            .reset_index(drop=True)
        )
        out.modalities = pd.DataFrame(modality_rows).reindex(columns=MODALITY_COLUMNS)
    return out


def localisation_json(result: Localisation) -> dict[str, object]:
    """The ``localisation`` entry of results.json."""
    return {
        "radius": result.radius,
        "slice_tolerance": result.slice_tolerance,
        "figures_of_merit": list(FIGURES_OF_MERIT),
        "readers": [
            {
                "reader": r["reader"],
                "modality": int(r["modality"]),
                "fom": r["fom"],
                "statistic": r["statistic"],
                "ci": [r["ci_low"], r["ci_high"]],
                "se": r["std_err"],
                **{
                    k: int(r[k])
                    for k in ("n_normal", "n_abnormal", "n_lesions", "n_marks", "n_hits")
                },
            }
            for r in result.readers.to_dict("records")
        ],
        "modalities": [
            {
                "modality": int(r["modality"]),
                "fom": r["fom"],
                "statistic": r["statistic"],
                "ci": [r["ci_low"], r["ci_high"]],
                "se": r["std_err"],
                "n_readers": int(r["n_readers"]),
            }
            for r in result.modalities.to_dict("records")
        ],
        "note": result.note,
    }
