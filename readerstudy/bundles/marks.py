"""``marks.csv``: where the lesions are (truth) and where the readers marked them.

One row per mark: ``reader_id, case_id, run, modality, series, slice, x, y, radius,
confidence``. A row with an empty ``reader_id`` is a truth lesion of a positive case (no
run, modality or confidence; its lesion number is its order among the case's truth rows:
1, 2, ...); any other row is a reader's mark on the reading (reader, case, run, modality)
of readings.csv, with its confidence (higher = surer there is a lesion). ``x`` and ``y``
are pixels from the image's top left corner, ``slice`` the 0-based position in the series,
``radius`` (optional, pixels) the lesion's or the mark's size. Checked against cases.csv and
readings.csv; every problem is reported in one pass as ``file:line: column: message``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from readerstudy.bundles.export import fmt_number
from readerstudy.bundles.limits import BundleLimits
from readerstudy.bundles.parse import (
    MAX_LISTED_ROWS,
    READING_KEYS,
    Table,
    _characters,
    _floats,
    _ids,
    _integers,
    _lengths,
    _Problems,
    read_table,
)
from readerstudy.bundles.source import BundleSource
from readerstudy.studies.models import LesionMark, Reading, Study, TruthMark

MARKS_FILE = "marks.csv"
MARK_COLUMNS = (
    "reader_id",
    "case_id",
    "run",
    "modality",
    "series",
    "slice",
    "x",
    "y",
    "radius",
    "confidence",
)
#: ``LesionMark.series`` / ``TruthMark.series``.
MAX_SERIES_LENGTH = 100
MAX_SLICE = 2**31 - 1


def _flag(table: Table, problems: _Problems, mask: pd.Series, column: str, message: str) -> None:
    if mask.any():
        problems.add_rows(
            table.name, table.lines[mask.to_numpy()], column, table.frame[column][mask], message
        )


def _coordinate(table: Table, column: str, problems: _Problems) -> pd.Series:
    values = _floats(table, column, problems, minimum=0)
    _flag(table, problems, table.frame[column].str.strip() == "", column, "must not be empty")
    return values


def parse_marks(
    source: BundleSource,
    problems: _Problems,
    *,
    case_truth: dict[str, int] | None,
    reading_keys: pd.DataFrame | None,
    uncertain: pd.MultiIndex | None = None,
    limits: BundleLimits | None = None,
) -> pd.DataFrame | None:
    """marks.csv (None when absent or with problems), checked against the cases (id →
    truth) and the keys of readings.csv; ``uncertain`` (reader, case) pairs, whose run or
    modality in readings.csv could not be read, are not reported as missing readings.

    Returns one row per mark: ``reader_id`` ("" for a truth lesion), ``case_id``, ``line``,
    ``run``, ``modality`` (0 for truth), ``series``, ``slice`` (NaN: none), ``x``, ``y``,
    ``radius`` (NaN: none), ``confidence`` (NaN for truth) and ``lesion`` (the truth
    lesion's number in its case, 0 for a reader's mark).
    """
    name = MARKS_FILE
    if not source.exists(name):
        return None
    table = read_table(
        source,
        name,
        problems,
        required=("case_id", "x", "y"),
        optional=tuple(c for c in MARK_COLUMNS if c not in ("case_id", "x", "y")),
        limits=limits,
    )
    if table is None:
        return None
    before = len(problems.items)
    frame = table.frame
    case_id = _ids(table, "case_id", problems)
    reader_id = frame["reader_id"].str.strip()
    truth_row = reader_id == ""
    if case_truth is not None:
        unknown = (case_id != "") & ~case_id.isin(list(case_truth))
        _flag(table, problems, unknown, "case_id", "unknown case {value} (not in cases.csv)")
        negative = truth_row & case_id.map(case_truth).eq(0)
        _flag(
            table,
            problems,
            negative,
            "case_id",
            "case {value} is negative in cases.csv: a truth lesion (no reader_id) needs a "
            "positive case",
        )
    long = reader_id.str.len() > 100
    _flag(table, problems, long, "reader_id", "is longer than 100 characters: {value}")
    for column in ("run", "modality", "confidence"):
        given = truth_row & (frame[column].str.strip() != "")
        _flag(
            table,
            problems,
            given,
            column,
            "must be empty on a truth lesion (a row without reader_id), got {value}",
        )
    run = _integers(table, "run", problems, default=1, minimum=1, what="a run number (1, 2, ...)")
    modality = _integers(
        table, "modality", problems, default=1, minimum=1, what="a modality number (1, 2, ...)"
    )
    confidence = _floats(table, "confidence", problems)
    no_confidence = ~truth_row & (frame["confidence"].str.strip() == "")
    _flag(table, problems, no_confidence, "confidence", "must not be empty on a reader's mark")
    slice_ = _integers(
        table, "slice", problems, default=None, minimum=0, maximum=MAX_SLICE, what="a slice number"
    )
    x = _coordinate(table, "x", problems)
    y = _coordinate(table, "y", problems)
    radius = _floats(table, "radius", problems)
    zero = radius.notna() & (radius <= 0)
    _flag(table, problems, zero, "radius", "must be more than 0, got {value}")
    series = frame["series"].str.strip()
    _characters(table, "series", problems, "text", series)
    _lengths(table, problems, {"series": MAX_SERIES_LENGTH}, pd.DataFrame({"series": series}))
    out = pd.DataFrame(
        {
            "reader_id": reader_id,
            "case_id": case_id,
            "line": table.lines,
            "run": run.where(~truth_row, 0),
            "modality": modality.where(~truth_row, 0),
            "series": series,
            "slice": slice_,
            "x": x,
            "y": y,
            "radius": radius,
            "confidence": confidence.where(~truth_row),
        }
    )
    del table.frame
    marked = ~truth_row & (case_id != "") & run.notna() & modality.notna()
    if case_truth is not None:
        marked &= case_id.isin(list(case_truth))
    if reading_keys is not None:
        keys = out.loc[marked.to_numpy(), ["reader_id", "case_id", "run", "modality", "line"]]
        keys = keys.astype({"run": np.int64, "modality": np.int64})
        known = pd.MultiIndex.from_frame(
            reading_keys[READING_KEYS].astype({"run": np.int64, "modality": np.int64})
        )
        present = pd.MultiIndex.from_frame(keys[READING_KEYS]).isin(known)
        if uncertain is not None and len(uncertain):
            present |= pd.MultiIndex.from_frame(keys[["reader_id", "case_id"]]).isin(uncertain)
        missing = keys.loc[~present]
        lines = missing["line"].tolist()
        for row in missing.head(MAX_LISTED_ROWS).itertuples(index=False):
            problems.add(
                name,
                row.line,
                "reader_id",
                f"no reading in readings.csv for reader {row.reader_id!r}, case "
                f"{row.case_id!r}, run {row.run}, modality {row.modality}",
            )
        problems.add_more(name, lines[MAX_LISTED_ROWS:], "reader_id", "no reading in readings.csv")
    if len(problems.items) > before:
        return None
    out["lesion"] = 0
    out.loc[truth_row.to_numpy(), "lesion"] = (
        out[truth_row.to_numpy()].groupby("case_id").cumcount() + 1
    )
    for column in ("run", "modality", "lesion"):
        out[column] = out[column].astype(np.int32)
    return out


def _optional(value: float) -> float | None:
    return None if value != value else float(value)


def marks_write(
    *,
    study: Study,
    marks: pd.DataFrame,
    reader_pk: dict[str, int],
    case_pk: dict[str, int],
) -> int:
    """Store the parsed marks of a study being imported: truth lesions as ``TruthMark``,
    readers' marks as ``LesionMark`` on their reading (in file order)."""
    truth = marks[marks["reader_id"] == ""]
    TruthMark.objects.bulk_create(
        (
            TruthMark(
                case_id=case_pk[row.case_id],
                lesion=int(row.lesion),
                series=row.series,
                slice=None if row.slice != row.slice else int(row.slice),
                x=float(row.x),
                y=float(row.y),
                radius=_optional(row.radius),
            )
            for row in truth.itertuples(index=False)
        ),
        batch_size=2000,
    )
    readers = marks[marks["reader_id"] != ""]
    if len(readers):
        rows = Reading.objects.filter(case__study=study).values_list(
            "reader_id", "case_id", "run", "modality", "pk"
        )
        reading_pk = {(r, c, run, m): pk for r, c, run, m, pk in rows.iterator(chunk_size=20_000)}
        position: dict[int, int] = {}
        objs = []
        for row in readers.itertuples(index=False):
            pk = reading_pk[
                (reader_pk[row.reader_id], case_pk[row.case_id], int(row.run), int(row.modality))
            ]
            position[pk] = position.get(pk, -1) + 1
            objs.append(
                LesionMark(
                    reading_id=pk,
                    series=row.series,
                    slice=None if row.slice != row.slice else int(row.slice),
                    x=float(row.x),
                    y=float(row.y),
                    radius=_optional(row.radius),
                    confidence=float(row.confidence),
                    position=position[pk],
                )
            )
        LesionMark.objects.bulk_create(objs, batch_size=2000)
    return len(marks)


def marks_rows(study: Study) -> Iterator[list[object]]:
    """The rows of marks.csv for ``study`` (header first): truth lesions by case and lesion,
    then readers' marks by reader, case, run, modality and order. Nothing when it has none."""
    truth = (
        TruthMark.objects.filter(case__study=study)
        .order_by("case__position", "case__code", "lesion")
        .values_list("case__code", "series", "slice", "x", "y", "radius")
    )
    marks = (
        LesionMark.objects.filter(reading__case__study=study)
        .order_by(
            "reading__reader__position",
            "reading__reader__code",
            "reading__case__position",
            "reading__case__code",
            "reading__run",
            "reading__modality",
            "position",
        )
        .values_list(
            "reading__reader__code",
            "reading__case__code",
            "reading__run",
            "reading__modality",
            "series",
            "slice",
            "x",
            "y",
            "radius",
            "confidence",
        )
    )
    if not truth.exists() and not marks.exists():
        return
    yield list(MARK_COLUMNS)
    for case, series, slice_, x, y, radius in truth.iterator(chunk_size=20_000):
        yield [
            "",
            case,
            "",
            "",
            series,
            _text(slice_),
            fmt_number(x),
            fmt_number(y),
            fmt_number(radius),
            "",
        ]
    for reader, case, run, modality, series, slice_, x, y, radius, confidence in marks.iterator(
        chunk_size=20_000
    ):
        yield [
            reader,
            case,
            run,
            modality,
            series,
            _text(slice_),
            fmt_number(x),
            fmt_number(y),
            fmt_number(radius),
            fmt_number(confidence),
        ]


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


#: study.toml ``[localisation]``: the acceptance radius of a mark (pixels: a mark within it
#: of a truth lesion's centre, or inside the lesion's own radius, localises it) and how many
#: slices away from the lesion's slice a mark may be.
LOCALISATION_DEFAULTS: dict[str, float | int] = {"radius": 10.0, "slice_tolerance": 0}


def localisation_problems(raw: object) -> list[tuple[str, str]]:
    """(key, message) of each problem of study.toml's ``[localisation]`` table (None: absent)."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [("localisation", "must be a table ([localisation])")]
    found = [
        (f"localisation.{key}", f"unknown key (expected: {', '.join(LOCALISATION_DEFAULTS)})")
        for key in raw
        if key not in LOCALISATION_DEFAULTS
    ]
    radius = raw.get("radius", 1.0)
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not radius > 0:
        found.append(("localisation.radius", f"must be a number above 0, got {radius!r}"))
    tolerance = raw.get("slice_tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        found.append(
            (
                "localisation.slice_tolerance",
                f"must be a whole number, 0 or more, got {tolerance!r}",
            )
        )
    return found


def localisation_settings(config: dict[str, object]) -> tuple[float, int]:
    """(acceptance radius, slice tolerance) of a study's config (study.toml, checked)."""
    raw = config.get("localisation")
    table = raw if isinstance(raw, dict) else {}
    radius = table.get("radius", LOCALISATION_DEFAULTS["radius"])
    tolerance = table.get("slice_tolerance", LOCALISATION_DEFAULTS["slice_tolerance"])
    return float(radius), int(tolerance)
