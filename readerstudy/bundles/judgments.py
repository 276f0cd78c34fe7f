"""The judgment files of a bundle: ``preferences.csv``, ``acceptability.csv``, ``errors.csv``.

Each row names its output by reader, case, run (and optionally modality), or the case's
reference impression by the reader id ``reference`` (``evaluation.models.REFERENCE_READER``,
with the run left empty). The files are checked like ratings.csv, against cases.csv,
readers.csv, readings.csv and study.toml (acceptability scale, error taxonomy), and every
problem is reported in one pass as ``file:line: column: message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.blinding import normalise_output
from evaluation.instruments import NO_ERRORS, AcceptabilityScale, ErrorTaxonomy
from evaluation.models import (
    REFERENCE_READER,
    STRENGTH_MAX,
    STRENGTH_MIN,
    PreferenceChoice,
    PreferenceSide,
)
from readerstudy.bundles.limits import BundleLimits
from readerstudy.bundles.parse import (
    MAX_LISTED_ROWS,
    READING_KEYS,
    Table,
    _characters,
    _duplicates,
    _floats,
    _ids,
    _integers,
    _Problems,
    read_table,
)
from readerstudy.bundles.source import BundleSource

PREFERENCES = "preferences.csv"
ACCEPTABILITY = "acceptability.csv"
ERRORS = "errors.csv"

PREFERENCE_REQUIRED = ("rater_id", "case_id", "reader_a", "run_a", "reader_b", "run_b", "choice")
PREFERENCE_OPTIONAL = ("left", "strength", "seconds", "comment", "modality_a", "modality_b")
ACCEPTABILITY_REQUIRED = ("rater_id", "reader_id", "case_id", "run", "grade")
ACCEPTABILITY_OPTIONAL = ("seconds", "modality")
ERROR_REQUIRED = ("rater_id", "reader_id", "case_id", "run", "category", "significant")
ERROR_OPTIONAL = ("start", "end", "comment", "modality")

#: Largest character offset of an error span.
MAX_OFFSET = 2_147_483_647


@dataclass
class JudgmentContext:
    """What the judgment files are checked against (None: that check is skipped, because
    the file it comes from could not be read)."""

    case_ids: pd.Index | None
    #: case id → reference impression (for "reference" rows and the offsets into it)
    references: dict[str, str] | None
    reader_ids: pd.Index | None
    reading_keys: pd.DataFrame | None  # reader_id, case_id, run, modality (int64)
    uncertain: pd.MultiIndex | None  # (reader_id, case_id) of readings with unreadable keys
    readings: pd.DataFrame | None  # the valid readings (for the offsets into impressions)
    acceptability: AcceptabilityScale | None
    taxonomy: ErrorTaxonomy | None


@dataclass
class ParsedJudgments:
    preferences: pd.DataFrame | None
    acceptability: pd.DataFrame | None
    errors: pd.DataFrame | None

    def rater_ids(self) -> set[str]:
        out: set[str] = set()
        for frame in (self.preferences, self.acceptability, self.errors):
            if frame is not None:
                out.update(frame["rater_id"].unique().tolist())
        return out


def _output(
    table: Table,
    problems: _Problems,
    context: JudgmentContext,
    case_id: pd.Series,
    *,
    reader: str,
    run: str,
    modality: str,
) -> pd.DataFrame:
    """Check one output column group (reader, run, modality); return its columns.

    ``is_reference`` rows name the case's reference impression; their run and modality are
    0 (and must be empty in the file). For other rows the reading must be in readings.csv.
    """
    name = table.name
    reader_id = _ids(table, reader, problems)
    is_ref = (reader_id == REFERENCE_READER).to_numpy()
    run_text = table.frame[run].str.strip()
    number = _integers(
        table, run, problems, default=None, minimum=1, what="a run number (1, 2, ...)"
    )
    mod = _integers(
        table, modality, problems, default=1, minimum=1, what="a modality number (1, 2, ...)"
    )
    mod_text = table.frame[modality].str.strip()
    lines = table.lines
    ref_with_run = is_ref & ((run_text != "") | (mod_text != "")).to_numpy()
    if ref_with_run.any():
        problems.add_rows(
            name,
            lines[ref_with_run],
            run,
            run_text[ref_with_run],
            f"must be empty when {reader} is '{REFERENCE_READER}' (the case's reference "
            "impression has no run or modality), got {value}",
        )
    missing_run = (~is_ref) & (reader_id != "").to_numpy() & (run_text == "").to_numpy()
    if missing_run.any():
        problems.add_rows(name, lines[missing_run], run, run_text[missing_run], "must not be empty")
    if context.reader_ids is not None:
        unknown = (
            (reader_id != "").to_numpy() & ~is_ref & ~reader_id.isin(context.reader_ids).to_numpy()
        )
        if unknown.any():
            problems.add_rows(
                name,
                lines[unknown],
                reader,
                reader_id[unknown],
                f"unknown reader {{value}} (not in readers.csv, nor '{REFERENCE_READER}')",
            )
    if context.references is not None:
        known_case = case_id.isin(context.references.keys()).to_numpy()
        no_reference = (
            is_ref
            & known_case
            & (case_id.map(context.references).fillna("").str.strip() == "").to_numpy()
        )
        if no_reference.any():
            problems.add_rows(
                name,
                lines[no_reference],
                reader,
                case_id[no_reference],
                "case {value} has no reference_impression in cases.csv",
            )
    readable = (
        (reader_id != "").to_numpy()
        & (case_id != "").to_numpy()
        & ~is_ref
        & (number.notna() & mod.notna() & (number >= 1) & (mod >= 1)).to_numpy()
    )
    if context.reading_keys is not None:
        keys = pd.DataFrame(
            {
                "reader_id": reader_id[readable],
                "case_id": case_id[readable],
                "run": number[readable].astype(np.int64),
                "modality": mod[readable].astype(np.int64),
                "line": lines[readable],
            }
        )
        known = pd.MultiIndex.from_frame(context.reading_keys[READING_KEYS])
        present = pd.MultiIndex.from_frame(keys[READING_KEYS]).isin(known)
        if context.uncertain is not None and len(context.uncertain):
            present |= pd.MultiIndex.from_frame(keys[["reader_id", "case_id"]]).isin(
                context.uncertain
            )
        if context.case_ids is not None:
            present |= ~keys["case_id"].isin(context.case_ids).to_numpy()  # reported already
        if context.reader_ids is not None:
            present |= ~keys["reader_id"].isin(context.reader_ids).to_numpy()
        missing = keys.loc[~present]
        missing_lines = missing["line"].tolist()
        for line, r, c, run_, m in zip(
            missing_lines[:MAX_LISTED_ROWS],
            missing["reader_id"],
            missing["case_id"],
            missing["run"],
            missing["modality"],
            strict=False,
        ):
            problems.add(
                name,
                line,
                reader,
                f"no reading in readings.csv for reader {r!r}, case {c!r}, run {run_}, "
                f"modality {m}",
            )
        problems.add_more(
            name, missing_lines[MAX_LISTED_ROWS:], reader, "no reading in readings.csv"
        )
    ok = (reader_id != "").to_numpy() & (is_ref | readable)
    return pd.DataFrame(
        {
            "reader_id": reader_id,
            "run": number.where(~is_ref, 0).fillna(0),
            "modality": mod.where(~is_ref, 0).fillna(0),
            "is_reference": is_ref,
            "ok": ok,
        },
        index=table.frame.index,
    )


def _unknown_cases(
    table: Table, problems: _Problems, context: JudgmentContext, case_id: pd.Series
) -> None:
    if context.case_ids is None:
        return
    unknown = (case_id != "") & ~case_id.isin(context.case_ids)
    if unknown.any():
        problems.add_rows(
            table.name,
            table.lines[unknown.to_numpy()],
            "case_id",
            case_id[unknown],
            "unknown case {value} (not in cases.csv)",
        )


def _key(side: pd.DataFrame) -> pd.Series:
    """One text key of an output: ``reader\\x1frun\\x1fmodality`` (``reference`` alone)."""
    return side["reader_id"].where(
        side["is_reference"],
        side["reader_id"]
        + "\x1f"
        + side["run"].astype(np.int64).astype(str)
        + "\x1f"
        + side["modality"].astype(np.int64).astype(str),
    )


def parse_preferences(
    source: BundleSource,
    problems: _Problems,
    context: JudgmentContext,
    *,
    limits: BundleLimits | None = None,
) -> pd.DataFrame | None:
    """preferences.csv; None when absent or when it has problems."""
    if not source.exists(PREFERENCES):
        return None
    table = read_table(
        source,
        PREFERENCES,
        problems,
        required=PREFERENCE_REQUIRED,
        optional=PREFERENCE_OPTIONAL,
        limits=limits,
    )
    if table is None:
        return None
    before = len(problems.items)
    name, frame, lines = table.name, table.frame, table.lines
    rater_id = _ids(table, "rater_id", problems, defining=True)
    case_id = _ids(table, "case_id", problems)
    _unknown_cases(table, problems, context, case_id)
    side_a = _output(
        table, problems, context, case_id, reader="reader_a", run="run_a", modality="modality_a"
    )
    side_b = _output(
        table, problems, context, case_id, reader="reader_b", run="run_b", modality="modality_b"
    )
    choice = frame["choice"].str.strip().str.lower()
    bad = ~choice.isin(PreferenceChoice.values)
    if bad.any():
        problems.add_rows(
            name,
            lines[bad.to_numpy()],
            "choice",
            frame["choice"][bad],
            f"must be {', '.join(PreferenceChoice.values[:-1])} or "
            f"{PreferenceChoice.values[-1]}, got {{value}}",
        )
    left = frame["left"].str.strip().str.lower()
    bad = (left != "") & ~left.isin(PreferenceSide.values)
    if bad.any():
        problems.add_rows(
            name,
            lines[bad.to_numpy()],
            "left",
            frame["left"][bad],
            f"must be {' or '.join(PreferenceSide.values)} (the side shown on the left) or "
            "empty, got {value}",
        )
    strength = _integers(
        table,
        "strength",
        problems,
        default=None,
        minimum=STRENGTH_MIN,
        maximum=STRENGTH_MAX,
        what=f"an integer from {STRENGTH_MIN} to {STRENGTH_MAX}",
    )
    seconds = _floats(table, "seconds", problems, minimum=0)
    _characters(table, "comment", problems, "text")
    both_ref = (side_a["is_reference"] & side_b["is_reference"]).to_numpy()
    if both_ref.any():
        problems.add_rows(
            name,
            lines[both_ref],
            "reader_b",
            case_id[both_ref],
            "both sides are the reference impression of case {value}",
        )
    ok = side_a["ok"].to_numpy() & side_b["ok"].to_numpy() & (rater_id != "").to_numpy()
    ok &= (case_id != "").to_numpy()
    key_a, key_b = _key(side_a), _key(side_b)
    same = ok & ~both_ref & (key_a == key_b).to_numpy()
    if same.any():
        problems.add_rows(
            name,
            lines[same],
            "reader_b",
            side_b["reader_id"][same],
            "output B is output A (reader {value}, same run and modality): compare two outputs",
        )
    pair = pd.DataFrame(
        {
            "rater_id": rater_id,
            "case_id": case_id,
            "first": np.minimum(key_a.to_numpy(dtype=object), key_b.to_numpy(dtype=object)),
            "second": np.maximum(key_a.to_numpy(dtype=object), key_b.to_numpy(dtype=object)),
        }
    )
    _duplicates(name, pair.loc[ok], lines[ok], problems, "preference of this rater and pair")
    if len(problems.items) > before:
        return None
    return pd.DataFrame(
        {
            "rater_id": rater_id,
            "case_id": case_id,
            "line": lines,
            "reader_a": side_a["reader_id"],
            "run_a": side_a["run"].astype(np.int64),
            "modality_a": side_a["modality"].astype(np.int64),
            "reader_b": side_b["reader_id"],
            "run_b": side_b["run"].astype(np.int64),
            "modality_b": side_b["modality"].astype(np.int64),
            "choice": choice,
            "left": left,
            "strength": strength,
            "seconds": seconds,
            "comment": frame["comment"],
        }
    )


def parse_acceptability(
    source: BundleSource,
    problems: _Problems,
    context: JudgmentContext,
    *,
    limits: BundleLimits | None = None,
) -> pd.DataFrame | None:
    """acceptability.csv; None when absent or when it has problems."""
    if not source.exists(ACCEPTABILITY):
        return None
    table = read_table(
        source,
        ACCEPTABILITY,
        problems,
        required=ACCEPTABILITY_REQUIRED,
        optional=ACCEPTABILITY_OPTIONAL,
        limits=limits,
    )
    if table is None:
        return None
    before = len(problems.items)
    name, frame, lines = table.name, table.frame, table.lines
    rater_id = _ids(table, "rater_id", problems, defining=True)
    case_id = _ids(table, "case_id", problems)
    _unknown_cases(table, problems, context, case_id)
    side = _output(
        table, problems, context, case_id, reader="reader_id", run="run", modality="modality"
    )
    grade = _integers(
        table, "grade", problems, default=None, required=True, what="an integer grade"
    )
    if context.acceptability is not None:
        values = context.acceptability.values
        off = grade.notna() & ~grade.isin([float(v) for v in values])
        if off.any():
            problems.add_rows(
                name,
                lines[off.to_numpy()],
                "grade",
                frame["grade"][off],
                f"{{value}} is not a grade of the acceptability scale {values}",
            )
    seconds = _floats(table, "seconds", problems, minimum=0)
    ok = side["ok"].to_numpy() & (rater_id != "").to_numpy() & (case_id != "").to_numpy()
    keys = pd.DataFrame({"rater_id": rater_id, "case_id": case_id, "output": _key(side)})
    _duplicates(name, keys.loc[ok], lines[ok], problems, "grade of this rater and output")
    if len(problems.items) > before:
        return None
    return pd.DataFrame(
        {
            "rater_id": rater_id,
            "reader_id": side["reader_id"],
            "case_id": case_id,
            "line": lines,
            "run": side["run"].astype(np.int64),
            "modality": side["modality"].astype(np.int64),
            "grade": grade.astype(np.int64),
            "seconds": seconds,
        }
    )


def _output_texts(context: JudgmentContext, rows: pd.DataFrame) -> pd.Series | None:
    """The normalised text of each row's output (None when the texts are not known)."""
    if context.references is None or context.readings is None:
        return None
    readings = context.readings
    impressions = dict(
        zip(
            zip(
                readings["reader_id"],
                readings["case_id"],
                readings["run"].astype(np.int64),
                readings["modality"].astype(np.int64),
                strict=True,
            ),
            readings["impression"],
            strict=True,
        )
    )
    cache: dict[tuple[str, str, int, int], int] = {}
    lengths: list[int] = []
    for reader, case, run, modality, is_ref in zip(
        rows["reader_id"],
        rows["case_id"],
        rows["run"].astype(np.int64),
        rows["modality"].astype(np.int64),
        rows["is_reference"],
        strict=True,
    ):
        key = (reader, case, int(run), int(modality))
        if key not in cache:
            raw = context.references.get(case, "") if is_ref else impressions.get(key, "")
            cache[key] = len(normalise_output(raw))
        lengths.append(cache[key])
    return pd.Series(lengths, index=rows.index, dtype=np.int64)


def parse_errors(
    source: BundleSource,
    problems: _Problems,
    context: JudgmentContext,
    *,
    limits: BundleLimits | None = None,
) -> pd.DataFrame | None:
    """errors.csv; None when absent or when it has problems."""
    if not source.exists(ERRORS):
        return None
    table = read_table(
        source, ERRORS, problems, required=ERROR_REQUIRED, optional=ERROR_OPTIONAL, limits=limits
    )
    if table is None:
        return None
    before = len(problems.items)
    name, frame, lines = table.name, table.frame, table.lines
    rater_id = _ids(table, "rater_id", problems, defining=True)
    case_id = _ids(table, "case_id", problems)
    _unknown_cases(table, problems, context, case_id)
    side = _output(
        table, problems, context, case_id, reader="reader_id", run="run", modality="modality"
    )
    category = frame["category"].str.strip()
    if context.taxonomy is not None:
        keys_allowed = context.taxonomy.keys
        bad = ~category.isin(keys_allowed)
        if bad.any():
            problems.add_rows(
                name,
                lines[bad.to_numpy()],
                "category",
                frame["category"][bad],
                f"unknown category {{value}} (the taxonomy has: {', '.join(keys_allowed)})",
            )
    significant_text = frame["significant"].str.strip()
    bad = ~significant_text.isin(["0", "1"])
    if bad.any():
        problems.add_rows(
            name,
            lines[bad.to_numpy()],
            "significant",
            significant_text[bad],
            "must be 0 or 1, got {value}",
        )
    significant = significant_text == "1"
    start = _integers(table, "start", problems, default=None, minimum=0, maximum=MAX_OFFSET)
    end = _integers(table, "end", problems, default=None, minimum=0, maximum=MAX_OFFSET)
    start_text, end_text = frame["start"].str.strip(), frame["end"].str.strip()
    half = (start_text == "") != (end_text == "")
    if half.any():
        problems.add_rows(
            name,
            lines[half.to_numpy()],
            "end",
            end_text[half],
            "start and end are given together or not at all, got end {value}",
        )
    both = start.notna() & end.notna()
    backwards = both & (start >= end)
    if backwards.any():
        problems.add_rows(
            name,
            lines[backwards.to_numpy()],
            "end",
            end_text[backwards],
            "must be greater than start, got {value}",
        )
    none = category == NO_ERRORS
    none_marked = none & (significant | (start_text != "") | (end_text != ""))
    if none_marked.any():
        problems.add_rows(
            name,
            lines[none_marked.to_numpy()],
            "category",
            category[none_marked],
            "{value} records 'no errors': significant must be 0 and start and end empty",
        )
    _characters(table, "comment", problems, "text")
    ok = side["ok"].to_numpy() & (rater_id != "").to_numpy() & (case_id != "").to_numpy()
    output = _key(side)
    item = pd.DataFrame({"rater_id": rater_id, "case_id": case_id, "output": output})
    # "none" must be the only row of its rater and output.
    rows = pd.DataFrame({"line": lines, **item, "none": none.to_numpy()}).loc[ok]
    groups = rows.groupby(["rater_id", "case_id", "output"], sort=False)["line"]
    crowded = rows.loc[rows["none"] & (groups.transform("size") > 1).to_numpy()]
    if len(crowded):
        by_item = groups.apply(list)
        for line, rater, case, out in crowded.iloc[:MAX_LISTED_ROWS][
            ["line", "rater_id", "case_id", "output"]
        ].itertuples(index=False, name=None):
            others = ", ".join(str(n) for n in by_item.loc[(rater, case, out)] if n != line)
            problems.add(
                name,
                int(line),
                "category",
                f"'{NO_ERRORS}' (no errors) with other rows for the same rater and output "
                f"(lines {others})",
            )
    spans = ok & both.to_numpy() & ~backwards.to_numpy()
    if spans.any():
        lengths = _output_texts(
            context,
            pd.DataFrame({"case_id": case_id, **{c: side[c] for c in side.columns}}).loc[spans],
        )
        if lengths is not None:
            beyond = end.loc[lengths.index] > lengths
            if beyond.any():
                idx = beyond[beyond].index
                for i in idx[:MAX_LISTED_ROWS]:
                    problems.add(
                        name,
                        int(lines[frame.index.get_loc(i)]),
                        "end",
                        f"{int(end.loc[i])} is beyond the end of the output's normalised text "
                        f"({int(lengths.loc[i])} characters)",
                    )
    if len(problems.items) > before:
        return None
    return pd.DataFrame(
        {
            "rater_id": rater_id,
            "reader_id": side["reader_id"],
            "case_id": case_id,
            "line": lines,
            "run": side["run"].astype(np.int64),
            "modality": side["modality"].astype(np.int64),
            "category": category,
            "significant": significant,
            "start": start,
            "end": end,
            "comment": frame["comment"],
        }
    )


def parse_judgments(
    source: BundleSource,
    problems: _Problems,
    context: JudgmentContext,
    *,
    limits: BundleLimits | None = None,
) -> ParsedJudgments:
    """The three judgment files (each None when absent or invalid)."""
    return ParsedJudgments(
        preferences=parse_preferences(source, problems, context, limits=limits),
        acceptability=parse_acceptability(source, problems, context, limits=limits),
        errors=parse_errors(source, problems, context, limits=limits),
    )
