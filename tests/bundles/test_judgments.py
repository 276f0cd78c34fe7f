"""preferences.csv, acceptability.csv and errors.csv: import, validation, export (issue 14)."""

from __future__ import annotations

import filecmp
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from evaluation.instruments import acceptability_scale, error_taxonomy
from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    PairwisePreference,
    Rater,
)
from readerstudy.studies.models import Study
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db

CASES = """\
case_id,truth,reference_impression
C1,1,"Segmental NME, BI-RADS 5."
C2,0,Benign background enhancement.
C3,1,
"""

READINGS = """\
reader_id,case_id,run,category,impression
R1,C1,1,5,BI-RADS 5: biopsy
R1,C2,1,2,BI-RADS 2
M1,C1,1,4,BI-RADS 4
M1,C1,2,5,BI-RADS 5
M1,C2,1,3,BI-RADS 3
M1,C3,1,4,BI-RADS 4
"""

PREFERENCES = """\
rater_id,case_id,reader_a,run_a,reader_b,run_b,choice,left,strength,seconds,comment
j1,C1,M1,1,reference,,a,b,4,12.5,"clearer, shorter"
j1,C1,M1,1,R1,1,tie,a,,,
j2,C2,M1,1,reference,,b,,,3,
j2,C1,reference,,M1,2,tie,b,1,,
"""

ACCEPTABILITY = """\
rater_id,reader_id,case_id,run,grade,seconds
j1,M1,C1,1,4,20
j1,reference,C1,,3,
j2,M1,C3,1,1,7.25
"""

ERRORS = """\
rater_id,reader_id,case_id,run,category,significant,start,end,comment
j1,M1,C1,1,false_finding,1,0,7,invented BI-RADS
j1,M1,C1,1,missed_finding,0,,,the NME
j1,reference,C1,,none,0,,,
j3,M1,C2,1,wrong_location,1,2,5,
"""

JUDGMENT_FILES: dict[str, str | bytes | None] = {
    "cases.csv": CASES,
    "readings.csv": READINGS,
    "preferences.csv": PREFERENCES,
    "acceptability.csv": ACCEPTABILITY,
    "errors.csv": ERRORS,
}


def judged_bundle(make_bundle: BundleFactory, **files: str | None) -> Path:
    chosen = {**JUDGMENT_FILES, "images/C1/phase1.png": None, "images/C1/phase2.png": None}
    chosen.update(files)
    return make_bundle(**{name.replace("/", "__"): v for name, v in chosen.items()})


def import_messages(path: Path) -> list[str]:
    with pytest.raises(CommandError) as excinfo:
        call_command("import_study", str(path), stdout=StringIO())
    return str(excinfo.value).splitlines()


def judgment_rows(slug: str) -> dict[str, Any]:
    """Every judgment of a study as comparable tuples (codes, not database ids)."""
    study = Study.objects.get(slug=slug)

    def side(reading: Any) -> tuple[Any, ...]:
        if reading is None:
            return ("reference",)
        return (reading.reader.code, reading.run, reading.modality)

    prefs = sorted(
        (
            p.rater.code,
            p.case.code,
            side(p.reading_a),
            side(p.reading_b),
            p.choice,
            p.left,
            p.strength,
            p.seconds,
            p.comment,
            p.source,
        )
        for p in PairwisePreference.objects.filter(rater__study=study)
    )
    grades = sorted(
        (g.rater.code, g.case.code, side(g.reading), g.grade, g.seconds)
        for g in AcceptabilityGrade.objects.filter(rater__study=study)
    )
    errors = sorted(
        (
            e.rater.code,
            e.case.code,
            side(e.reading),
            e.category,
            e.significant,
            -1 if e.start is None else e.start,
            -1 if e.end is None else e.end,
            e.comment,
        )
        for e in ErrorAnnotation.objects.filter(rater__study=study)
    )
    return {"preferences": prefs, "acceptability": grades, "errors": errors}


def test_it_imports_the_three_judgment_files(make_bundle: BundleFactory) -> None:
    call_command("import_study", str(judged_bundle(make_bundle)), stdout=StringIO())
    rows = judgment_rows("tiny")
    assert rows["preferences"][0] == (
        "j1", "C1", ("M1", 1, 1), ("R1", 1, 1), "tie", "a", None, None, "", "imported"
    )  # fmt: skip
    assert (
        "j1", "C1", ("M1", 1, 1), ("reference",), "a", "b", 4, 12.5, "clearer, shorter",
        "imported",
    ) in rows["preferences"]  # fmt: skip
    assert ("j2", "C1", ("reference",), ("M1", 2, 1), "tie", "b", 1, None, "", "imported") in rows[
        "preferences"
    ]
    assert rows["acceptability"] == [
        ("j1", "C1", ("M1", 1, 1), 4, 20.0),
        ("j1", "C1", ("reference",), 3, None),
        ("j2", "C3", ("M1", 1, 1), 1, 7.25),
    ]
    assert ("j1", "C1", ("reference",), "none", False, -1, -1, "") in rows["errors"]
    assert len(rows["errors"]) == 4
    # Raters come from every file, with those of ratings.csv, as for scores.
    codes = set(Rater.objects.filter(study__slug="tiny").values_list("code", flat=True))
    assert codes == {"rA", "rB", "j1", "j2", "j3"}


def test_import_export_import_keeps_every_judgment(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(judged_bundle(make_bundle)), stdout=StringIO())
    before = judgment_rows("tiny")
    first, second = tmp_path / "first", tmp_path / "second"
    call_command("export_study", "tiny", str(first), stdout=StringIO())
    assert {"preferences.csv", "acceptability.csv", "errors.csv"} <= {
        p.name for p in first.iterdir()
    }
    call_command("import_study", str(first), "--replace", stdout=StringIO())
    assert judgment_rows("tiny") == before
    call_command("export_study", "tiny", str(second), stdout=StringIO())
    for name in ("preferences.csv", "acceptability.csv", "errors.csv", "study.toml"):
        assert filecmp.cmp(first / name, second / name, shallow=False), name


def test_the_export_writes_the_documented_columns(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(judged_bundle(make_bundle)), stdout=StringIO())
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    heads = {
        name: (tmp_path / "out" / name).read_text().splitlines()[0]
        for name in ("preferences.csv", "acceptability.csv", "errors.csv")
    }
    assert heads == {
        "preferences.csv": "rater_id,case_id,reader_a,run_a,reader_b,run_b,choice,left,"
        "strength,seconds,comment",
        "acceptability.csv": "rater_id,reader_id,case_id,run,grade,seconds",
        "errors.csv": "rater_id,reader_id,case_id,run,category,significant,start,end,comment",
    }
    grades = (tmp_path / "out" / "acceptability.csv").read_text().splitlines()
    assert "j1,reference,C1,,3," in grades


def test_instrument_settings_of_study_toml_are_stored_and_exported(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    toml = STUDY_TOML + (
        "\n[acceptability]\nvalues = [2, 1, 0]\ncutoff = 1\n"
        '[acceptability.labels]\n2 = "fine"\n1 = "edits"\n0 = "no"\n'
        '\n[errors.categories]\nhallucination = "hallucination"\nomission = "omission"\n'
    )
    grades = "rater_id,reader_id,case_id,run,grade\nj1,M1,C1,1,0\n"
    errors = "rater_id,reader_id,case_id,run,category,significant\nj1,M1,C1,1,omission,1\n"
    path = judged_bundle(
        make_bundle,
        **{"study.toml": toml, "acceptability.csv": grades, "errors.csv": errors},
    )
    call_command("import_study", str(path), stdout=StringIO())
    study = Study.objects.get(slug="tiny")
    scale = acceptability_scale(study)
    assert (scale.values, scale.cutoff, scale.labels[1]) == ([2, 1, 0], 1, "edits")
    assert error_taxonomy(study).keys == ["hallucination", "omission", "none"]
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    call_command("import_study", str(tmp_path / "out"), "--replace", stdout=StringIO())
    again = Study.objects.get(slug="tiny")
    assert acceptability_scale(again) == scale
    assert error_taxonomy(again).categories == {
        "hallucination": "hallucination",
        "omission": "omission",
    }


def test_a_study_without_settings_uses_the_default_instruments(
    make_bundle: BundleFactory,
) -> None:
    call_command("import_study", str(judged_bundle(make_bundle)), stdout=StringIO())
    study = Study.objects.get(slug="tiny")
    scale = acceptability_scale(study)
    assert scale.values == [4, 3, 2, 1] and scale.cutoff == 3
    assert scale.labels[3] == "acceptable with minor edits"
    assert error_taxonomy(study).keys[0] == "false_finding"
    assert "acceptability" not in study.config


BAD_PREFERENCES = """\
rater_id,case_id,reader_a,run_a,reader_b,run_b,choice,left,strength,seconds,comment
j1,C1,M1,1,reference,,better,,,,
j1,C1,M1,1,reference,1,a,up,9,-1,
j1,C9,M1,1,R1,1,a,,,,
j1,C1,X9,1,R1,1,a,,,,
j1,C1,M1,3,R1,1,a,,,,
j1,C3,M1,1,reference,,a,,,,
j1,C1,reference,,reference,,tie,,,,
j1,C1,M1,1,M1,1,tie,,,,
j1,C1,M1,2,R1,1,a,,,,
j1,C1,R1,1,M1,2,b,,,,
j1,C1,M1,2,R1,,a,,,,
"""

BAD_ACCEPTABILITY = """\
rater_id,reader_id,case_id,run,grade,seconds
j1,M1,C1,1,7,
j1,M1,C1,1,4,
j1,M1,C1,1,3,
j1,reference,C3,,4,
j1,M1,C1,2,good,x
"""

BAD_ERRORS = """\
rater_id,reader_id,case_id,run,category,significant,start,end,comment
j1,M1,C1,1,typo,2,,,
j1,M1,C1,1,other,1,5,,
j1,M1,C1,1,other,1,5,3,
j1,M1,C1,1,none,1,,,
j1,M1,C1,2,none,0,,,
j1,M1,C1,2,other,0,,,
j1,M1,C2,1,other,0,0,500,
"""


def test_every_problem_of_the_judgment_files_is_reported_in_one_pass(
    make_bundle: BundleFactory,
) -> None:
    path = judged_bundle(
        make_bundle,
        **{
            "preferences.csv": BAD_PREFERENCES,
            "acceptability.csv": BAD_ACCEPTABILITY,
            "errors.csv": BAD_ERRORS,
        },
    )
    messages = import_messages(path)
    expected = [
        "preferences.csv:2: choice: must be a, tie or b, got 'better'",
        "preferences.csv:3: run_b: must be empty when reader_b is 'reference' (the case's "
        "reference impression has no run or modality), got '1'",
        "preferences.csv:3: left: must be a or b (the side shown on the left) or empty, got 'up'",
        "preferences.csv:3: strength: must be at most 5, got '9'",
        "preferences.csv:3: seconds: must be at least 0, got '-1'",
        "preferences.csv:4: case_id: unknown case 'C9' (not in cases.csv)",
        "preferences.csv:5: reader_a: unknown reader 'X9' (not in readers.csv, nor 'reference')",
        "preferences.csv:6: reader_a: no reading in readings.csv for reader 'M1', case 'C1', "
        "run 3, modality 1",
        "preferences.csv:7: reader_b: case 'C3' has no reference_impression in cases.csv",
        "preferences.csv:8: reader_b: both sides are the reference impression of case 'C1'",
        "preferences.csv:9: reader_b: output B is output A (reader 'M1', same run and "
        "modality): compare two outputs",
        "preferences.csv:11: rater_id: duplicate preference of this rater and pair "
        "(rater_id='j1', case_id='C1', first='M1\\x1f2\\x1f1', second='R1\\x1f1\\x1f1'); "
        "first on line 10",
        "preferences.csv:12: run_b: must not be empty",
        "acceptability.csv:2: grade: '7' is not a grade of the acceptability scale [4, 3, 2, 1]",
        "acceptability.csv:4: rater_id: duplicate grade of this rater and output "
        "(rater_id='j1', case_id='C1', output='M1\\x1f1\\x1f1'); first on line 2",
        "acceptability.csv:5: reader_id: case 'C3' has no reference_impression in cases.csv",
        "acceptability.csv:6: grade: must be an integer grade, got 'good'",
        "acceptability.csv:6: seconds: must be a number, got 'x'",
        "errors.csv:2: category: unknown category 'typo' (the taxonomy has: false_finding, "
        "missed_finding, wrong_location, wrong_severity, wrong_comparison, other, none)",
        "errors.csv:2: significant: must be 0 or 1, got '2'",
        "errors.csv:3: end: start and end are given together or not at all, got end ''",
        "errors.csv:4: end: must be greater than start, got '3'",
        "errors.csv:5: category: 'none' records 'no errors': significant must be 0 and start "
        "and end empty",
        "errors.csv:6: category: 'none' (no errors) with other rows for the same rater and "
        "output (lines 7)",
        "errors.csv:8: end: 500 is beyond the end of the output's normalised text (9 characters)",
    ]
    for message in expected:
        assert message in messages, message
    assert Study.objects.count() == 0  # nothing written


def test_a_reader_called_reference_is_refused_beside_judgment_files(
    make_bundle: BundleFactory,
) -> None:
    readers = "reader_id,kind\nR1,human\nM1,model\nreference,human\n"
    messages = import_messages(judged_bundle(make_bundle, **{"readers.csv": readers}))
    assert (
        "readers.csv:4: reader_id: 'reference' is reserved: in preferences.csv, "
        "acceptability.csv, errors.csv it means the case's reference impression; rename this "
        "reader"
    ) in messages


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[acceptability]\nvalues = [1]\n", "acceptability.values: must be a list of 2 to 20"),
        ("[acceptability]\nvalues = [2, 2]\n", "acceptability.values: grades must be unique"),
        (
            "[acceptability]\nvalues = [2, 1]\n",
            "acceptability.cutoff: required: one of the grades [1, 2]",
        ),
        (
            "[acceptability]\ncutoff = 9\n",
            "acceptability.cutoff: required: one of the grades [1, 2, 3, 4] (grades >= it are "
            "acceptable), got 9",
        ),
        (
            '[acceptability.labels]\n5 = "x"\n2 = "y"\n',
            "acceptability.cutoff: required: one of the grades",
        ),
        (
            '[acceptability]\nvalues = [4, 3, 2, 1]\n[acceptability.labels]\n9 = "x"\n',
            "acceptability.labels: label for 9, which is not a grade",
        ),
        ("[acceptability]\nscale = 3\n", "acceptability.scale: unknown key"),
        ('[errors.categories]\nnone = "x"\n', "errors.categories: 'none' is reserved"),
        (
            '[errors.categories]\n"Bad Key" = "x"\n',
            "errors.categories: category key 'Bad Key' must be at most 40 lower-case",
        ),
        ("[errors]\ncategories = 3\n", "errors.categories: must be a table of category key"),
        ("[errors]\ntaxonomy = 3\n", "errors.taxonomy: unknown key (expected categories)"),
    ],
)
def test_bad_instrument_settings_are_reported_with_their_key(
    make_bundle: BundleFactory, toml: str, message: str
) -> None:
    path = judged_bundle(
        make_bundle, **{"study.toml": STUDY_TOML + "\n" + toml, "acceptability.csv": None}
    )
    messages = import_messages(path)
    assert any(m.startswith("study.toml:") and message in m for m in messages), messages
    assert Study.objects.count() == 0


def test_judgments_of_a_second_modality_travel_with_their_modality(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    lines = READINGS.splitlines()[1:]
    readings = "reader_id,case_id,run,modality,category,impression\n" + "".join(
        ",".join([*line.split(",", 3)[:3], "1", line.split(",", 3)[3]]) + "\n" for line in lines
    )
    readings += "M1,C1,1,2,4,BI-RADS 4 with AI\n"
    prefs = (
        "rater_id,case_id,reader_a,run_a,reader_b,run_b,choice,modality_a,modality_b\n"
        "j1,C1,M1,1,M1,1,a,2,1\n"
    )
    grades = "rater_id,reader_id,case_id,run,grade,modality\nj1,M1,C1,1,4,2\nj1,M1,C1,1,2,\n"
    errors = "rater_id,reader_id,case_id,run,category,significant,modality\nj1,M1,C1,1,none,0,2\n"
    path = judged_bundle(
        make_bundle,
        **{
            "readings.csv": readings,
            "preferences.csv": prefs,
            "acceptability.csv": grades,
            "errors.csv": errors,
        },
    )
    call_command("import_study", str(path), stdout=StringIO())
    before = judgment_rows("tiny")
    assert before["preferences"][0][2:4] == (("M1", 1, 2), ("M1", 1, 1))
    assert [g[2] for g in before["acceptability"]] == [("M1", 1, 1), ("M1", 1, 2)]
    out = tmp_path / "out"
    call_command("export_study", "tiny", str(out), stdout=StringIO())
    assert (out / "preferences.csv").read_text().splitlines()[0].endswith(",modality_a,modality_b")
    assert (out / "errors.csv").read_text().splitlines()[1] == "j1,M1,C1,1,none,0,,,,2"
    call_command("import_study", str(out), "--replace", stdout=StringIO())
    assert judgment_rows("tiny") == before


def test_a_judgment_of_a_reading_whose_run_is_unreadable_is_not_reported_twice(
    make_bundle: BundleFactory,
) -> None:
    readings = READINGS + "M1,C2,two,3,BI-RADS 3\n"
    grades = "rater_id,reader_id,case_id,run,grade\nj1,M1,C2,2,4\n"
    messages = import_messages(
        judged_bundle(make_bundle, **{"readings.csv": readings, "acceptability.csv": grades})
    )
    assert any(m.startswith("readings.csv:8: run: must be a run number") for m in messages)
    assert not any(m.startswith("acceptability.csv") for m in messages), messages


DOMAIN_TOML = STUDY_TOML.replace(
    'group = "Knowledge accuracy"\n',
    'group = "Knowledge accuracy"\nmin = 1\nmax = 3\n\n[likert.domains.anchors]\n1 = "wrong"\n'
    '3 = "right"\n',
)


def test_a_domains_own_range_is_checked_in_ratings_and_travels(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    ratings = "rater_id,reader_id,case_id,run,domain,score\nrA,M1,C1,1,correctness,4\n"
    ratings += "rA,M1,C1,1,coherence,5\n"
    messages = import_messages(
        judged_bundle(make_bundle, **{"study.toml": DOMAIN_TOML, "ratings.csv": ratings})
    )
    assert (
        "ratings.csv:2: score: '4' is outside the Likert range 1-3 of domain 'correctness'"
    ) in messages
    assert not any("ratings.csv:3" in m for m in messages)
    valid = "rater_id,reader_id,case_id,run,domain,score\nrA,M1,C1,1,correctness,3\n"
    path = judged_bundle(make_bundle, **{"study.toml": DOMAIN_TOML, "ratings.csv": valid})
    call_command("import_study", str(path), stdout=StringIO())
    domain = LikertDomain.objects.get(study__slug="tiny", key="correctness")
    assert (domain.scale.low, domain.scale.high, domain.scale.anchors) == (
        1,
        3,
        {1: "wrong", 3: "right"},
    )
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    call_command("import_study", str(tmp_path / "out"), "--replace", stdout=StringIO())
    assert LikertDomain.objects.get(study__slug="tiny", key="correctness").scale == domain.scale


def test_a_domain_range_outside_the_studys_is_reported_on_its_line(
    make_bundle: BundleFactory,
) -> None:
    toml = DOMAIN_TOML.replace("min = 1\nmax = 3\n", "min = 0\nmax = 3\n")
    messages = import_messages(judged_bundle(make_bundle, **{"study.toml": toml}))
    line = toml.splitlines().index("min = 0") + 1
    assert (
        f"study.toml:{line}: min: domain 'correctness': the domain's range 0-3 must lie inside "
        "the study's Likert range 1-5"
    ) in messages


def test_the_verbose_import_counts_the_judgments(make_bundle: BundleFactory) -> None:
    err = StringIO()
    call_command(
        "import_study", str(judged_bundle(make_bundle)), "-v", "2", stdout=StringIO(), stderr=err
    )
    assert "3 Likert scores, 4 preferences, 3 acceptability grades, 4 error annotations" in (
        err.getvalue()
    )
