"""What text a bundle may carry (issue 11, finding 13) and every problem in one pass
(issue 12): control and bidirectional-formatting characters, deep nesting in study.toml,
the byte a UTF-8 error names behind a BOM, and cross-row checks that do not wait for the
other problems to be fixed."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from readerstudy.studies.models import Study
from tests.conftest import (
    CASES_CSV,
    RATINGS_CSV,
    READERS_CSV,
    READINGS_CSV,
    STUDY_TOML,
    BundleFactory,
)

pytestmark = pytest.mark.django_db

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ZWSP = "\u200b"  # ZERO WIDTH SPACE


def import_error(path: Path) -> str:
    with pytest.raises(CommandError) as info:
        call_command("import_study", str(path), stdout=StringIO())
    message = str(info.value)
    assert "nothing was imported" in message
    assert "Traceback" not in message
    assert not Study.objects.exists()
    return message


ID = "(control, bidirectional-formatting and zero-width characters are not allowed in ids)"
LABEL = "(control and bidirectional-formatting characters are not allowed in labels)"
TEXT = "(NUL and other control characters (except tab and line breaks) are not allowed)"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"cases_csv": CASES_CSV.replace("C2,0,P2", "C\x002,0,P2")},
            f"cases.csv:4: case_id: contains U+0000 a control character {ID}",
        ),
        (
            {"cases_csv": CASES_CSV.replace("C2,0,P2", f"C2{RLO}gnp.exe,0,P2")},
            f"cases.csv:4: case_id: contains U+202E RIGHT-TO-LEFT OVERRIDE {ID}",
        ),
        (
            {"readers_csv": READERS_CSV.replace("M1,model", f"M{ZWSP}1,model")},
            f"readers.csv:3: reader_id: contains U+200B ZERO WIDTH SPACE {ID}",
        ),
        (
            {"readers_csv": READERS_CSV.replace("Senior radiologist", f"Senior {RLO}rotcod")},
            f"readers.csv:2: label: contains U+202E RIGHT-TO-LEFT OVERRIDE {LABEL}",
        ),
        (
            {"ratings_csv": RATINGS_CSV.replace("rB,M1", "r\u2066B,M1")},
            f"ratings.csv:4: rater_id: contains U+2066 LEFT-TO-RIGHT ISOLATE {ID}",
        ),
        (
            {"cases_csv": CASES_CSV.replace("P2", "P\x1b[31m2")},
            f"cases.csv:4: patient_id: contains U+001B a control character {ID}",
        ),
        (
            {"readings_csv": READINGS_CSV.replace("BI-RADS 2", "BI-RADS\x00 2")},
            f"readings.csv:3: impression: contains U+0000 a control character {TEXT}",
        ),
        (
            {"cases_csv": CASES_CSV.replace("Focal NME", "Focal\x00NME")},
            f"cases.csv:4: findings: contains U+0000 a control character {TEXT}",
        ),
        (
            {"cases_csv": CASES_CSV.replace("tic_type", f"tic{RLO}type")},
            "cases.csv:1: 'tic\\u202etype': column name contains U+202E RIGHT-TO-LEFT OVERRIDE",
        ),
        (
            {"study_toml": STUDY_TOML.replace('"Tiny study"', '"Tiny \\u202estudy"')},
            f"study.toml:2: title: value contains U+202E RIGHT-TO-LEFT OVERRIDE {LABEL}",
        ),
        (
            {"study_toml": STUDY_TOML + '\n[analysis]\nnote = "a\\u0000b"\n'},
            f"study.toml:31: analysis.note: value contains U+0000 a control character {TEXT}",
        ),
        (
            {"study_toml": STUDY_TOML.replace('label = "Coherence"', 'label = "Co\\u202eherence"')},
            f"study.toml:27: likert.domains.label: value contains U+202E RIGHT-TO-LEFT OVERRIDE {LABEL}",
        ),
        (
            {"images__C1__x\u202egnp.png": b"\x89PNG"},
            "images/C1/x\u202egnp.png:1: -: unsafe file name: the name contains U+202E",
        ),
        (
            {"cases_csv": CASES_CSV.replace("C2,0,P2", "..,0,P2")},
            "cases.csv:4: case_id: must not be '.' or '..' or contain / or \\ (it names the "
            "folder images/<case_id>/): '..'",
        ),
        (
            {"readers_csv": READERS_CSV.replace("Senior radiologist", "x" * 301)},
            "readers.csv:2: label: is longer than 300 characters",
        ),
        (
            {"study_toml": STUDY_TOML.replace('slug = "tiny"', 'slug = "tiny\\n"')},
            "study.toml:1: slug: must be at most 80 letters, digits, '-' or '_', got 'tiny\\n'",
        ),
    ],
)
def test_control_and_bidi_characters_are_refused_where_they_mislead(
    make_bundle: BundleFactory, files: dict[str, str | bytes], expected: str
) -> None:
    assert expected in import_error(make_bundle(**files))


def test_tabs_and_line_breaks_stay_allowed_in_free_text(make_bundle: BundleFactory) -> None:
    readings = READINGS_CSV.replace("BI-RADS 2", '"BI-RADS\t2\r\nsecond line"')
    call_command("import_study", str(make_bundle(readings_csv=readings)), stdout=StringIO())
    assert Study.objects.filter(slug="tiny").exists()


@pytest.mark.parametrize(
    "nested",
    [
        "a = " + "[" * 5000 + "]" * 5000,  # RecursionError inside tomllib
        "a = " + "[" * 30 + "1" + "]" * 30,  # parses, but too deep to store
        "a = " + "{b = " * 400 + "1" + "}" * 400,
    ],
    ids=["arrays-5000", "arrays-30", "inline-tables-400"],
)
def test_a_deeply_nested_study_toml_is_a_problem_not_a_traceback(
    make_bundle: BundleFactory, nested: str
) -> None:
    message = import_error(
        make_bundle(study_toml=STUDY_TOML.replace("[scale]", nested + "\n[scale]"))
    )
    assert "study.toml:1: -: not valid here: arrays or tables nested deeper than 20" in message


def test_the_utf8_error_names_the_right_byte_behind_a_bom(make_bundle: BundleFactory) -> None:
    raw = b"\xef\xbb\xbf" + CASES_CSV.replace("Focal NME", "Focal NM\xc9").encode("latin-1")
    offset = raw.index(b"\xc9")
    message = import_error(make_bundle(cases_csv=raw))
    assert f"cases.csv:4: -: bytes are not valid UTF-8 (byte 0xc9 at offset {offset})" in message
    toml = b"\xef\xbb\xbf" + STUDY_TOML.replace("Tiny", "T\xefny").encode("latin-1")
    message = import_error(make_bundle(study_toml=toml))
    offset = toml.index(b"\xefny")
    assert f"study.toml:2: -: bytes are not valid UTF-8 (byte 0xef at offset {offset})" in message


def test_every_problem_is_reported_in_one_pass_cross_row_checks_included(
    make_bundle: BundleFactory,
) -> None:
    """Before, a duplicate reading, a score without a reading and a category off the scale
    were only reported once the other problems of their files were fixed."""
    readings = READINGS_CSV + "M1,C1,2,4,,again,\nR1,C3,1,9,,,\nR1,C1,x,4,,,\n"
    ratings = (
        RATINGS_CSV + "rA,M1,C2,5,coherence,4\nrA,M1,C1,1,correctness,4\nrB,M1,C2,1,correctness,9\n"
    )
    message = import_error(
        make_bundle(
            study_toml=STUDY_TOML.replace('title = "Tiny study"', 'title = ""'),
            cases_csv=CASES_CSV.replace("C2,0,P2,test", "C2,0,P2,validation"),
            readings_csv=readings,
            ratings_csv=ratings,
        )
    )
    for expected in (
        "study.toml:2: title: required: the study title",
        "cases.csv:4: split: must be train or test, got 'validation'",
        "readings.csv:7: reader_id: duplicate reading (reader_id='M1', case_id='C1', run=2, "
        "modality=1); first on line 5",
        "readings.csv:8: category: '9' is not on the scale [0, 1, 2, 3, 4, 5, 6]",
        "readings.csv:9: run: must be a run number (1, 2, ...), got 'x'",
        "ratings.csv:5: reader_id: no reading in readings.csv for reader 'M1', case 'C2', run 5, "
        "modality 1",
        "ratings.csv:6: rater_id: duplicate score (rater_id='rA', reader_id='M1', case_id='C1', "
        "run=1, modality=1, domain='correctness'); first on line 2",
        "ratings.csv:7: score: '9' is outside the Likert range 1-5",
    ):
        assert expected in message, expected
    # R1's reading of C1 with an unreadable run neither confirms nor refuses a score for it.
    assert "case 'C1', run 1" not in message


def test_a_broken_scale_does_not_flag_every_reading(make_bundle: BundleFactory) -> None:
    message = import_error(
        make_bundle(
            study_toml=STUDY_TOML.replace("categories = [0, 1, 2, 3, 4, 5, 6]", "categories = 3")
        )
    )
    assert "study.toml:7: scale.categories: required: a list of integers" in message
    assert "readings.csv" not in message and "ratings.csv" not in message
