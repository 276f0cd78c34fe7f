"""marks.csv: truth lesions and readers' lesion marks, import, validation, export (issue 20)."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from readerstudy.studies.models import LesionMark, Study, TruthMark
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db

MARKS = """\
reader_id,case_id,run,modality,series,slice,x,y,radius,confidence
,C1,,,DCE,4,120.5,88,6,
,C1,,,DCE,9,30,40,,
,C3,,,,,12,14,,
R1,C1,1,1,DCE,4,118,90,,4
R1,C1,1,1,DCE,5,200,10,3.5,2
R1,C2,1,1,,,5,5,,1.25
M1,C1,2,1,DCE,9,31,41,,0.8
"""


def _import_messages(path: Path) -> list[str]:
    with pytest.raises(CommandError) as excinfo:
        call_command("import_study", str(path), stdout=StringIO())
    return str(excinfo.value).splitlines()


def test_it_imports_truth_lesions_and_reader_marks(make_bundle: BundleFactory) -> None:
    call_command("import_study", str(make_bundle(marks_csv=MARKS)), stdout=StringIO())
    study = Study.objects.get(slug="tiny")
    truth = list(
        TruthMark.objects.filter(case__study=study)
        .order_by("case__code", "lesion")
        .values_list("case__code", "lesion", "series", "slice", "x", "y", "radius")
    )
    assert truth == [
        ("C1", 1, "DCE", 4, 120.5, 88.0, 6.0),
        ("C1", 2, "DCE", 9, 30.0, 40.0, None),
        ("C3", 1, "", None, 12.0, 14.0, None),
    ]
    marks = list(
        LesionMark.objects.filter(reading__case__study=study).values_list(
            "reading__reader__code",
            "reading__case__code",
            "reading__run",
            "position",
            "slice",
            "confidence",
            "radius",
        )
    )
    assert sorted(marks) == [
        ("M1", "C1", 2, 0, 9, 0.8, None),
        ("R1", "C1", 1, 0, 4, 4.0, None),
        ("R1", "C1", 1, 1, 5, 2.0, 3.5),
        ("R1", "C2", 1, 0, None, 1.25, None),
    ]


def test_export_writes_marks_back_and_a_second_import_export_is_identical(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    toml = STUDY_TOML + "\n[localisation]\nradius = 12.5\nslice_tolerance = 1\n"
    bundle = make_bundle(marks_csv=MARKS, study_toml=toml)
    call_command("import_study", str(bundle), stdout=StringIO())
    first = tmp_path / "first"
    call_command("export_study", "tiny", str(first), stdout=StringIO())
    rows = list(csv.reader((first / "marks.csv").open()))
    assert rows[0] == [
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
    ]
    assert rows[1] == ["", "C1", "", "", "DCE", "4", "120.5", "88", "6", ""]
    assert len(rows) == 8
    call_command("import_study", str(first), "--replace", stdout=StringIO())
    second = tmp_path / "second"
    call_command("export_study", "tiny", str(second), stdout=StringIO())
    assert (first / "marks.csv").read_bytes() == (second / "marks.csv").read_bytes()
    assert (
        "[localisation]\nradius = 12.5\nslice_tolerance = 1" in (second / "study.toml").read_text()
    )


def test_a_study_without_marks_exports_no_marks_file(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    assert not (tmp_path / "out" / "marks.csv").exists()


def test_every_problem_is_reported_at_once_and_nothing_is_written(
    make_bundle: BundleFactory,
) -> None:
    bad = """\
reader_id,case_id,run,modality,series,slice,x,y,radius,confidence
,C2,,,,,1,1,,
,C1,1,,,,1,1,,3
R1,C9,1,1,,,1,1,,2
R1,C1,1,1,,-1,x,,0,
M1,C2,3,1,,,1,1,,2
R1,C1,1,2,,,1,1,,2
"""
    messages = _import_messages(make_bundle(marks_csv=bad))
    expected = [
        "marks.csv:2: case_id: case 'C2' is negative in cases.csv",
        "marks.csv:3: run: must be empty on a truth lesion",
        "marks.csv:3: confidence: must be empty on a truth lesion",
        "marks.csv:4: case_id: unknown case 'C9' (not in cases.csv)",
        "marks.csv:5: slice: must be at least 0, got '-1'",
        "marks.csv:5: x: must be a number, got 'x'",
        "marks.csv:5: y: must not be empty",
        "marks.csv:5: radius: must be more than 0, got '0'",
        "marks.csv:5: confidence: must not be empty on a reader's mark",
        "marks.csv:6: reader_id: no reading in readings.csv for reader 'M1', case 'C2', run 3",
        "marks.csv:7: reader_id: no reading in readings.csv for reader 'R1', case 'C1', run 1, "
        "modality 2",
    ]
    for text in expected:
        assert any(m.startswith(text) for m in messages), (text, messages)
    assert not any(m.startswith("marks.csv:4: reader_id") for m in messages)  # case unknown
    assert not Study.objects.filter(slug="tiny").exists()
    assert not TruthMark.objects.exists() and not LesionMark.objects.exists()


def test_unknown_columns_are_refused(make_bundle: BundleFactory) -> None:
    messages = _import_messages(make_bundle(marks_csv="case_id,x,y,w\nC1,1,1,2\n"))
    assert any(m.startswith("marks.csv:1: w: unknown column") for m in messages)
