"""A streaming XLSX writer for large data sheets (``data.xlsx``), column-vectorised.

openpyxl's write-only mode builds a cell object and an XML element per value: about 50 µs a
cell, 35 s for the demo's 700,000 cells. This writer formats each column of a chunk at once
and writes the sheet XML straight into the zip (deflate level 1), about 1 µs a cell.

Every text is an inline string cell (``t="inlineStr"``), so a text starting with ``=`` or
equal to an Excel error code (``#N/A``) stays text, never a formula or an error; characters
XML 1.0 does not allow (control characters other than tab, CR, LF) are dropped. Numbers are
numeric cells, booleans boolean cells, missing values empty cells. No styles.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EMPTY = "<c/>"
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAX_TEXT = 32_767  # Excel's limit of characters in a cell


def text_cell(value: str) -> str:
    """The XML of one inline-string cell holding ``value`` (always text)."""
    text = escape(_ILLEGAL.sub("", value[:_MAX_TEXT]))
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def value_cell(value: Any) -> str:
    """The XML of one cell for any value (number, boolean, text, missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return _EMPTY
    if isinstance(value, bool | np.bool_):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | np.integer):
        return f"<c><v>{int(value)}</v></c>"
    if isinstance(value, float | np.floating):
        number = float(value)
        return _EMPTY if not math.isfinite(number) else f"<c><v>{number!r}</v></c>"
    return text_cell(str(value))


def column_cells(values: pd.Series) -> list[str]:
    """The cell XML of every value of ``values``, vectorised for numeric columns."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) and not values.isna().any():
        return ['<c t="b"><v>1</v></c>' if v else '<c t="b"><v>0</v></c>' for v in values]
    if pd.api.types.is_integer_dtype(dtype):
        missing = values.isna().to_numpy()
        numbers = values.to_numpy(dtype=object, na_value=0)
        return [
            _EMPTY if m else f"<c><v>{int(n)}</v></c>"
            for n, m in zip(numbers, missing, strict=True)
        ]
    if pd.api.types.is_float_dtype(dtype):
        array = values.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(array)
        return [
            f"<c><v>{n!r}</v></c>" if k else _EMPTY for n, k in zip(array.tolist(), ok, strict=True)
        ]
    # text: codes repeat, so each distinct value is formatted once
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    cells = np.array([value_cell(u) for u in uniques] + [_EMPTY], dtype=object)
    return cells[codes].tolist()  # type: ignore[no-any-return]


class XlsxWriter:
    """Write sheets one after another into ``path``; :meth:`close` (or ``with``) finishes.

    ``sheet(name, header)`` starts a sheet, ``rows(frame)`` appends a chunk of rows (the
    frame's columns in order), ``row(values)`` one row of any values.
    """

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._names: list[str] = []
        self._out: IO[bytes] | None = None

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sheet(self, name: str, header: Sequence[Any]) -> None:
        self._end_sheet()
        if len(name) > 31 or name in self._names:
            raise ValueError(f"name: sheet names are unique and at most 31 characters: {name!r}")
        self._names.append(name)
        self._out = self._zip.open(
            f"xl/worksheets/sheet{len(self._names)}.xml", "w", force_zip64=True
        )
        self._out.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_NS}"><sheetData>'.encode()
        )
        self.row(header)

    def row(self, values: Iterable[Any]) -> None:
        assert self._out is not None, "sheet() first"
        self._out.write(("<row>" + "".join(value_cell(v) for v in values) + "</row>").encode())

    def rows(self, frame: pd.DataFrame) -> None:
        assert self._out is not None, "sheet() first"
        if frame.empty:
            return
        columns = [column_cells(frame.iloc[:, i]) for i in range(frame.shape[1])]
        body = "".join("<row>" + "".join(cells) + "</row>" for cells in zip(*columns, strict=True))
        self._out.write(body.encode("utf-8"))

    def _end_sheet(self) -> None:
        if self._out is not None:
            self._out.write(b"</sheetData></worksheet>")
            self._out.close()
            self._out = None

    def close(self) -> None:
        self._end_sheet()
        sheets = "".join(
            f'<sheet name={quoteattr(n)} sheetId="{i}" r:id="rId{i}"/>'
            for i, n in enumerate(self._names, 1)
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self._names) + 1)
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for i in range(1, len(self._names) + 1)
        )
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        pkg = "http://schemas.openxmlformats.org/package/2006"
        self._zip.writestr(
            "[Content_Types].xml",
            f'{head}<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        self._zip.writestr(
            "_rels/.rels",
            f'{head}<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        self._zip.writestr(
            "xl/workbook.xml",
            f'{head}<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>',
        )
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{head}<Relationships xmlns="{pkg}/relationships">{rels}</Relationships>',
        )
        self._zip.close()
