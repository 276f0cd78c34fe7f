"""Readings uploaded through the API, validated exactly as ``readings.csv`` of a bundle.

An upload is either the bytes of a ``readings.csv`` or a list of JSON objects with the same
columns. Both go through ``parse_readings`` against the study's cases, readers and scale (so
the messages are the import's), then through one more check a bundle does not need: a
reading that the study already holds (same reader, case, run and modality) is a duplicate.

Problems of a CSV upload are on the file's physical lines (``readings.csv:4: category: ...``);
those of a JSON upload are on the 1-based position of the row in the array (``row 3: ...``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from readerstudy.bundles.parse import READING_COLUMNS, _Problems, _show, parse_readings
from readerstudy.bundles.problems import Problem
from readerstudy.bundles.source import BundleSource
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.studies.models import Case, Reader, Reading, Study

READINGS_FILE = "readings.csv"


class MemorySource(BundleSource):
    """A bundle source whose files are held in memory (one uploaded table)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.path = Path(".")
        self._zip = None
        self._prefix = ""
        self._files = files

    def exists(self, name: str) -> bool:
        return name in self._files

    def read_bytes(self, name: str, limit: int | None = None) -> bytes:
        return self._files[name]  # the API bounds uploads (API_IMPORT_MAX_BYTES)

    def read_prefix(self, name: str, size: int) -> bytes:
        return self._files[name][:size]

    def files_under(self, folder: str) -> Iterator[str]:
        prefix = folder.rstrip("/") + "/"
        yield from sorted(n for n in self._files if n.startswith(prefix))


@dataclass(frozen=True)
class UploadProblem:
    """One problem of an upload: ``line`` is the CSV line, or the JSON row number."""

    where: str  # "readings.csv:4" or "row 3"
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class UploadError(Exception):
    """The upload is invalid; ``problems`` lists everything wrong with it (nothing is written)."""

    def __init__(self, problems: list[UploadProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems[:20]))


def _csv_problem(problem: Problem) -> UploadProblem:
    return UploadProblem(
        f"{READINGS_FILE}:{problem.line}", problem.line, problem.column, problem.message
    )


def _json_cell(value: Any) -> str | None:
    """The CSV text of a JSON value, or None when the value has no CSV form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    return None


def rows_to_csv(rows: Any) -> tuple[bytes, dict[int, int]]:
    """A JSON array of reading objects as ``readings.csv`` bytes, and CSV line -> row number.

    Raises ``UploadError`` for what CSV cannot express: a body that is not an array of
    objects, keys that are not columns, values that are not text, numbers or null.
    """
    if not isinstance(rows, list):
        raise UploadError([UploadProblem("body", 1, "-", "expected a JSON array of readings")])
    problems: list[UploadProblem] = []
    known = set(READING_COLUMNS)
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(UploadProblem(f"row {n}", n, "-", "expected an object"))
            continue
        for key, value in row.items():
            if key not in known:
                problems.append(
                    UploadProblem(
                        f"row {n}",
                        n,
                        str(key)[:100],
                        f"unknown column (expected: {', '.join(READING_COLUMNS)})",
                    )
                )
            elif _json_cell(value) is None:
                problems.append(
                    UploadProblem(
                        f"row {n}",
                        n,
                        key,
                        f"must be text, a number or null, got {_show(json_type(value))}",
                    )
                )
    if problems:
        raise UploadError(problems)
    present = {key for row in rows for key in row}
    header = [c for c in READING_COLUMNS if c in present or c in ("reader_id", "case_id")]
    if "category" not in header:
        header.append("category")
    out = io.StringIO()
    # Neutralised as the bundle export writes them: the import restores the exact text.
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_json_cell(row.get(c)) or "" for c in header] for row in rows)
    text = out.getvalue()
    # The line each row starts on, counted as parse_readings counts them.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    next(reader)
    line_to_row: dict[int, int] = {}
    previous = reader.line_num
    for n, _ in enumerate(reader, start=1):
        line_to_row[previous + 1] = n
        previous = reader.line_num
    return text.encode("utf-8"), line_to_row


def json_type(value: Any) -> str:
    return {bool: "a boolean", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def parse_readings_upload(
    *, study: Study, csv_bytes: bytes, line_to_row: dict[int, int] | None = None
) -> pd.DataFrame:
    """Validate an uploaded ``readings.csv`` against ``study``; the parsed rows, or ``UploadError``.

    ``line_to_row`` (from ``rows_to_csv``) reports problems on JSON row numbers instead of
    CSV lines.
    """
    problems = _Problems()
    readers = pd.Index(Reader.objects.filter(study=study).values_list("code", flat=True))
    cases = pd.Index(Case.objects.filter(study=study).values_list("code", flat=True))
    frame = parse_readings(
        MemorySource({READINGS_FILE: csv_bytes}),
        problems,
        case_ids=cases,
        reader_ids=readers,
        categories=study.categories,
    )
    items = [p for p in problems.items]
    if frame is not None and not items:
        items = _already_stored(study, frame)
    if items:
        items.sort(key=lambda p: (p.line, p.column, p.message))
        if line_to_row is None:
            raise UploadError([_csv_problem(p) for p in items])
        raise UploadError(
            [
                UploadProblem(
                    f"row {line_to_row.get(p.line, 0)}" if p.line > 1 else "body",
                    line_to_row.get(p.line, 0) if p.line > 1 else 0,
                    p.column,
                    p.message.replace("readers.csv", "the study's readers").replace(
                        "cases.csv", "the study's cases"
                    ),
                )
                for p in items
            ]
        )
    assert frame is not None
    return frame


def _already_stored(study: Study, frame: pd.DataFrame) -> list[Problem]:
    """Rows of the upload that the study already holds (reader, case, run and modality)."""
    if frame.empty:
        return []
    stored = pd.DataFrame(
        list(
            Reading.objects.filter(
                reader__study=study, reader__code__in=frame["reader_id"].unique().tolist()
            ).values_list("reader__code", "case__code", "run", "modality", "source")
        ),
        columns=["reader_id", "case_id", "run", "modality", "source"],
    )
    if stored.empty:
        return []
    stored[["run", "modality"]] = stored[["run", "modality"]].astype(np.int32)
    hits = frame.merge(stored, on=["reader_id", "case_id", "run", "modality"], how="inner")
    return [
        Problem(
            READINGS_FILE,
            int(row.line),
            "reader_id",
            f"the study already holds this reading (reader_id={_show(row.reader_id)}, "
            f"case_id={_show(row.case_id)}, run={int(row.run)}, modality={int(row.modality)}, "
            f"source {row.source})",
        )
        for row in hits.itertuples(index=False)
    ]
