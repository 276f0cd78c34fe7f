"""The streaming XLSX writer of ``data.xlsx``: values, text that looks like a formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from analysis.xlsx import XlsxWriter


def test_the_writer_keeps_every_value_and_stores_formula_text_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, -3], dtype="Int64"),
            "x": [0.25, np.nan, 1e-12],
            "flag": [True, False, True],
            "text": ["=1+1", "#N/A", "a<b>&\x01c"],
            "mixed": ["R3", 4, None],
        }
    )
    path = tmp_path / "out.xlsx"
    with XlsxWriter(path) as wb:
        wb.sheet("data", frame.columns)
        wb.rows(frame)
        wb.sheet("more", ["only"])
        wb.row(["=SUM(A1)"])
    book = load_workbook(path)
    assert book.sheetnames == ["data", "more"]
    rows = list(book["data"].iter_rows(values_only=True))
    assert rows[0] == ("n", "x", "flag", "text", "mixed")
    assert rows[1] == (1, 0.25, True, "=1+1", "R3")
    assert rows[2] == (None, None, False, "#N/A", 4)
    assert rows[3] == (-3, 1e-12, True, "a<b>&c", None)
    cell = book["more"]["A2"]
    assert (cell.value, cell.data_type) == ("=SUM(A1)", "s")
    assert pd.read_excel(path, sheet_name="data")["x"].iloc[0] == 0.25
