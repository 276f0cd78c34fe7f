"""findings.csv, reading_findings.csv and [[findings]] of study.toml (issue 16)."""

from __future__ import annotations

import filecmp
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from readerstudy.studies.models import CaseFinding, ReadingFinding, Study
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db

VOCABULARY = """
[[findings]]
key = "nme"
label = "Non-mass enhancement"
synonyms = ["NME", "非肿块强化"]

[[findings]]
key = "washout"
label = "Washout"
synonyms = ["廓清"]
"""

FINDINGS = """\
case_id,finding,present,location
C1,nme,1,left upper outer
C1,washout,1,
C2,nme,1,
C2,washout,0,
"""

READING_FINDINGS = """\
reader_id,case_id,run,finding,present,method
R1,C1,1,nme,1,
R1,C1,1,washout,0,form
M1,C1,2,nme,1,extracted_rules
M1,C2,1,washout,1,imported
"""


def bundle(make_bundle: BundleFactory, **files: str | None) -> Path:
    chosen: dict[str, str | None] = {
        "study.toml": STUDY_TOML + VOCABULARY,
        "findings.csv": FINDINGS,
        "reading_findings.csv": READING_FINDINGS,
    }
    chosen.update(files)
    return make_bundle(**chosen)


def messages(path: Path) -> list[str]:
    with pytest.raises(CommandError) as excinfo:
        call_command("import_study", str(path), stdout=StringIO())
    return str(excinfo.value).splitlines()


def rows(slug: str) -> tuple[list[tuple], list[tuple]]:
    study = Study.objects.get(slug=slug)
    truth = sorted(
        CaseFinding.objects.filter(case__study=study).values_list(
            "case__code", "finding", "present", "location"
        )
    )
    labels = sorted(
        ReadingFinding.objects.filter(case__study=study).values_list(
            "reader__code", "case__code", "run", "finding", "present", "method"
        )
    )
    return truth, labels


def test_import_stores_the_truth_and_the_labels_with_their_method(
    make_bundle: BundleFactory,
) -> None:
    call_command("import_study", str(bundle(make_bundle)), stdout=StringIO())
    truth, labels = rows("tiny")
    assert truth == [
        ("C1", "nme", True, "left upper outer"),
        ("C1", "washout", True, ""),
        ("C2", "nme", True, ""),
        ("C2", "washout", False, ""),
    ]
    assert labels == [
        ("M1", "C1", 2, "nme", True, "extracted_rules"),
        ("M1", "C2", 1, "washout", True, "imported"),
        ("R1", "C1", 1, "nme", True, "imported"),
        ("R1", "C1", 1, "washout", False, "form"),
    ]
    study = Study.objects.get(slug="tiny")
    assert [f["key"] for f in study.config["findings"]] == ["nme", "washout"]


def test_import_export_import_keeps_every_finding_byte_for_byte(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(bundle(make_bundle)), stdout=StringIO())
    before = rows("tiny")
    first, second = tmp_path / "first", tmp_path / "second"
    call_command("export_study", "tiny", str(first), stdout=StringIO())
    assert (first / "findings.csv").read_text() == FINDINGS
    head = (first / "reading_findings.csv").read_text().splitlines()[0]
    assert head == "reader_id,case_id,run,finding,present,method"
    call_command("import_study", str(first), "--replace", stdout=StringIO())
    assert rows("tiny") == before
    call_command("export_study", "tiny", str(second), stdout=StringIO())
    for name in ("findings.csv", "reading_findings.csv", "study.toml"):
        assert filecmp.cmp(first / name, second / name, shallow=False), name


def test_a_study_without_findings_exports_no_finding_files(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert not {"findings.csv", "reading_findings.csv"} & names


def test_every_problem_is_reported_in_one_pass_and_nothing_is_written(
    make_bundle: BundleFactory,
) -> None:
    findings = FINDINGS + "C9,nme,1,\nC1,cyst,1,\nC2,nme,yes,\nC1,nme,0,\n"
    labels = READING_FINDINGS + "R9,C1,1,nme,1,\nR1,C1,0,nme,1,\nR1,C2,1,nme,1,guessed\n"
    files = {"findings.csv": findings, "reading_findings.csv": labels}
    got = messages(bundle(make_bundle, **files))
    expected = [
        "findings.csv:6: case_id: unknown case 'C9' (not in cases.csv)",
        "findings.csv:7: finding: unknown finding 'cyst' (the [[findings]] keys of study.toml: "
        "nme, washout)",
        "findings.csv:8: present: must be 0 (absent) or 1 (present), got 'yes'",
        "findings.csv:9: case_id: duplicate finding of this case (case_id='C1', "
        "finding='nme'); first on line 2",
        "reading_findings.csv:6: reader_id: unknown reader 'R9' (not in readers.csv)",
        "reading_findings.csv:7: run: must be at least 1, got '0'",
        "reading_findings.csv:8: method: must be one of imported, form, generated, "
        "extracted_rules, reviewed, got 'guessed'",
    ]
    for line in expected:
        assert any(line in m for m in got), (line, got)
    assert not Study.objects.filter(slug="tiny").exists()
    assert not CaseFinding.objects.exists() and not ReadingFinding.objects.exists()


def test_a_bad_vocabulary_is_reported_with_its_line(make_bundle: BundleFactory) -> None:
    toml = STUDY_TOML + VOCABULARY + '\n[[findings]]\nkey = "nme"\n\n[[findings]]\nkey = "a b"\n'
    got = messages(bundle(make_bundle, **{"study.toml": toml}))
    lines = toml.splitlines()
    dup = [i + 1 for i, ln in enumerate(lines) if ln == 'key = "nme"'][1]
    assert any(f"study.toml:{dup}: findings.key: finding key 'nme' appears twice" in m for m in got)
    assert any("findings.key: finding 4: key must be" in m for m in got), got


def test_findings_without_a_vocabulary_are_refused(make_bundle: BundleFactory) -> None:
    got = messages(bundle(make_bundle, **{"study.toml": STUDY_TOML}))
    assert any(
        "findings.csv:2: finding: unknown finding 'nme' (the [[findings]] keys of study.toml: "
        "none: study.toml has no [[findings]])" in m
        for m in got
    ), got
