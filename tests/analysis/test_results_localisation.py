"""results.json ``localisation`` (issue 20): wAFROC / AFROC of the readers' lesion marks.

The expected figures of merit are worked out by hand below from the definition
(analysis.stats.localisation, checked against RJafroc in tests/stats/test_localisation.py).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analysis.results import results_json, run_analysis
from analysis.results_localisation import NO_MARKS, NO_TRUTH
from analysis.selectors import study_data
from readerstudy.studies.models import Study
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db

CASES = "case_id,truth\nC1,1\nC2,0\nC3,1\nC4,0\nC5,1\nC6,0\n"
READINGS = "reader_id,case_id,run,category\n" + "".join(
    f"{r},C{c},1,{4 if c % 2 else 2}\n" for r in ("R1", "M1") for c in range(1, 7)
)
# truth: C1 one lesion, C3 two, C5 one on DCE slice 2; acceptance radius 8 (study.toml)
MARKS = """\
reader_id,case_id,run,modality,series,slice,x,y,radius,confidence
,C1,,,,,100,100,,
,C3,,,,,50,50,,
,C3,,,,,200,200,,
,C5,,,DCE,2,30,30,,
R1,C1,1,1,,,104,100,,5
R1,C3,1,1,,,50,58,,3
R1,C3,1,1,,,200,209,,4
R1,C5,1,1,DCE,2,30,30,,2
R1,C2,1,1,,,10,10,,3
R1,C4,1,1,,,10,10,,1
M1,C6,1,1,,,10,10,,2
"""


def _results(make_bundle: BundleFactory, **files: str | None) -> dict:
    chosen = {
        "study_toml": STUDY_TOML + "\n[localisation]\nradius = 8\n",
        "cases_csv": CASES,
        "readings_csv": READINGS,
        "ratings_csv": None,
        **files,
    }
    call_command("import_study", str(make_bundle(**chosen)), stdout=StringIO())
    return results_json(run_analysis(study_data(Study.objects.get(slug="tiny"))))


def test_figures_of_merit_per_reader_and_modality(make_bundle: BundleFactory) -> None:
    doc = _results(make_bundle, marks_csv=MARKS)["localisation"]
    assert (doc["radius"], doc["slice_tolerance"], doc["note"]) == (8.0, 0, None)
    got = {(r["reader"], r["fom"]): r for r in doc["readers"]}
    # R1: FP (normals) 3, 1, -inf; LL C1 5, C3 3 and -inf (the mark 9 px away is an NL),
    # C5 2. wAFROC (1.25 + 2.5 + 2.75) / 9; AFROC (1.5 + 3 + 3.5) / 12.
    assert got[("R1", "wAFROC")]["statistic"] == pytest.approx(6.5 / 9)
    assert got[("R1", "AFROC")]["statistic"] == pytest.approx(8 / 12)
    # M1: one NL on C6 rated 2, no lesion marked: ties at -inf count 1/2
    assert got[("M1", "wAFROC")]["statistic"] == pytest.approx(3 / 9)
    r1 = got[("R1", "wAFROC")]
    assert (r1["n_normal"], r1["n_abnormal"], r1["n_lesions"]) == (3, 3, 4)
    assert (r1["n_marks"], r1["n_hits"]) == (6, 3)
    assert r1["ci"][0] < r1["statistic"] < r1["ci"][1] <= 1
    average = {m["fom"]: m for m in doc["modalities"]}
    assert average["wAFROC"]["statistic"] == pytest.approx((6.5 / 9 + 3 / 9) / 2)
    assert average["wAFROC"]["n_readers"] == 2


def test_no_marks_gives_empty_tables_and_a_note(make_bundle: BundleFactory) -> None:
    doc = _results(make_bundle)
    assert doc["localisation"]["readers"] == [] and doc["localisation"]["modalities"] == []
    assert doc["localisation"]["note"] == NO_MARKS
    assert not [n for n in doc["notes"] if n["code"].startswith("localisation")]


def test_marks_without_truth_lesions_give_a_note(make_bundle: BundleFactory) -> None:
    readers_only = "\n".join(line for line in MARKS.splitlines() if not line.startswith(","))
    doc = _results(make_bundle, marks_csv=readers_only + "\n")["localisation"]
    assert doc["readers"] == [] and doc["note"] == NO_TRUTH


def test_positive_cases_without_a_truth_lesion_are_left_out_with_a_note(
    make_bundle: BundleFactory,
) -> None:
    without_c5 = "\n".join(line for line in MARKS.splitlines() if "C5" not in line) + "\n"
    doc = _results(make_bundle, marks_csv=without_c5)
    r1 = next(r for r in doc["localisation"]["readers"] if r["reader"] == "R1")
    assert r1["n_abnormal"] == 2
    assert [n["code"] for n in doc["notes"] if n["code"].startswith("localisation")] == [
        "localisation-cases-dropped"
    ]


def test_a_bad_localisation_table_in_study_toml_is_reported(make_bundle: BundleFactory) -> None:
    bad = STUDY_TOML + '\n[localisation]\nradius = -1\nslice_tolerance = "a"\nwidth = 2\n'
    with pytest.raises(CommandError) as excinfo:
        call_command("import_study", str(make_bundle(study_toml=bad)), stdout=StringIO())
    text = str(excinfo.value)
    for key in ("localisation.radius", "localisation.slice_tolerance", "localisation.width"):
        assert "study.toml:" in text and key in text
