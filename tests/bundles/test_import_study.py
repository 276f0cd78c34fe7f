"""``manage.py import_study``: validation of the whole bundle, all-or-nothing writes."""

from __future__ import annotations

import re
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, ScaleCategory, Study
from tests.conftest import CASES_CSV, READINGS_CSV, STUDY_TOML, BundleFactory, png_bytes

pytestmark = pytest.mark.django_db


def run_import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_study", str(path), *args, stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (
            Study,
            Case,
            CaseImage,
            Reader,
            Reading,
            ScaleCategory,
            LikertDomain,
            LikertScore,
            Rater,
        )
    }


def test_it_imports_a_valid_bundle_and_prints_the_slug(make_bundle: BundleFactory) -> None:
    assert run_import(make_bundle()).strip() == "tiny"
    study = Study.objects.get(slug="tiny")
    assert study.title == "Tiny study"
    assert study.categories == [0, 1, 2, 3, 4, 5, 6]
    assert study.positive_threshold == 4
    assert study.reference_reader is not None and study.reference_reader.code == "R1"
    assert study.case_attributes == ["tic_type"]
    assert ScaleCategory.objects.get(study=study, value=4).label == "Suspicious"
    c1 = Case.objects.get(study=study, code="C1")
    assert c1.truth == 1 and c1.split == "test" and c1.attributes == {"tic_type": "washout"}
    assert c1.findings == "Segmental NME,\nclumped enhancement"
    assert Case.objects.get(study=study, code="C3").split == "train"
    r1 = Reader.objects.get(study=study, code="R1")
    assert (r1.kind, r1.years_experience, r1.interpretations) == ("human", 15.0, 1000)
    assert Reader.objects.get(study=study, code="M1").years_experience is None
    reading = Reading.objects.get(reader=r1, case=c1)
    assert (reading.run, reading.modality, reading.category, reading.score, reading.seconds) == (
        1,
        1,
        5,
        0.9,
        120.5,
    )
    assert reading.source == "imported"
    assert Reading.objects.filter(case__study=study).count() == 5
    assert LikertScore.objects.filter(domain__study=study).count() == 3
    assert sorted(Rater.objects.values_list("code", flat=True)) == ["rA", "rB"]
    assert [d.key for d in LikertDomain.objects.filter(study=study)] == ["correctness", "coherence"]


def test_it_stores_images_under_names_that_reveal_nothing(make_bundle: BundleFactory) -> None:
    run_import(make_bundle())
    images = list(CaseImage.objects.order_by("order"))
    assert [i.original_name for i in images] == ["phase1.png", "phase2.png"]
    for image in images:
        assert re.fullmatch(r"img/[0-9a-f]{2}/[0-9a-f]{32}\.png", image.file.name)
        assert "C1" not in image.file.name and "phase" not in image.file.name
        data = image.file.read()
        assert b"Jane Doe" not in data and b"tEXt" not in data
        assert image.content_type == "image/png"


def test_it_imports_a_zip_of_the_bundle_folder(make_bundle: BundleFactory, tmp_path: Path) -> None:
    root = make_bundle()
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, "mystudy/" + path.relative_to(root).as_posix())
    assert run_import(archive).strip() == "tiny"
    assert CaseImage.objects.count() == 2


def test_it_refuses_an_existing_slug_unless_replace(make_bundle: BundleFactory) -> None:
    run_import(make_bundle())
    with pytest.raises(CommandError, match="--replace"):
        run_import(make_bundle())
    changed = READINGS_CSV.replace("R1,C2,1,2,0.1", "R1,C2,1,3,0.2")
    run_import(make_bundle(readings_csv=changed), "--replace")
    assert Study.objects.count() == 1
    assert Reading.objects.get(reader__code="R1", case__code="C2").category == 3


def test_a_failed_replace_keeps_the_old_study(make_bundle: BundleFactory) -> None:
    run_import(make_bundle())
    before = table_counts()
    with pytest.raises(CommandError):
        run_import(make_bundle(readings_csv=READINGS_CSV + "R1,C3,1,9,,,\n"), "--replace")
    assert table_counts() == before
    assert all(image.file.storage.exists(image.file.name) for image in CaseImage.objects.all())


BAD_BUNDLES = {
    "truth not 0/1": (
        {"cases_csv": CASES_CSV.replace("C2,0,P2", "C2,2,P2")},
        "cases.csv:4: truth: must be 0 or 1, got '2'",
    ),
    "reading for an unknown case": (
        {"readings_csv": READINGS_CSV + "R1,C9,1,4,,,\n"},
        "readings.csv:7: case_id: unknown case 'C9' (not in cases.csv)",
    ),
    "reading for an unknown reader": (
        {"readings_csv": READINGS_CSV + "X9,C1,1,4,,,\n"},
        "readings.csv:7: reader_id: unknown reader 'X9' (not in readers.csv)",
    ),
    "category off the scale": (
        {"readings_csv": READINGS_CSV.replace("M1,C2,1,3", "M1,C2,1,7")},
        "readings.csv:6: category: '7' is not on the scale [0, 1, 2, 3, 4, 5, 6]",
    ),
    "duplicate case id": (
        {"cases_csv": CASES_CSV + "C2,1,P9,test,,,\n"},
        "cases.csv:6: case_id: duplicate case_id (case_id='C2'); first on line 4",
    ),
    "missing required column": (
        {"cases_csv": CASES_CSV.replace("case_id,truth,", "case_id,")},
        "cases.csv:1: truth: required column is missing",
    ),
    "broken study.toml": (
        {"study_toml": STUDY_TOML.replace('title = "Tiny study"', 'title = "Tiny study')},
        "study.toml:2: column 20: not valid TOML",
    ),
    "bytes that are not UTF-8": (
        {"cases_csv": CASES_CSV.replace("Focal NME", "Focal NM\xc9").encode("latin-1")},
        "cases.csv:4: -: bytes are not valid UTF-8 (byte 0xc9",
    ),
    "duplicate reading": (
        {"readings_csv": READINGS_CSV + "M1,C1,2,4,,again,\n"},
        "readings.csv:7: reader_id: duplicate reading (reader_id='M1', case_id='C1', run=2, modality=1); first on line 5",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES), ids=list(BAD_BUNDLES))
def test_it_rejects_a_bad_bundle_naming_file_and_line_and_writes_nothing(
    make_bundle: BundleFactory, case: str
) -> None:
    files, expected = BAD_BUNDLES[case]
    before = table_counts()
    with pytest.raises(CommandError) as info:
        run_import(make_bundle(**files))
    assert expected in str(info.value)
    assert "nothing was imported" in str(info.value)
    assert table_counts() == before


def test_a_bad_bundle_leaves_an_existing_database_unchanged(make_bundle: BundleFactory) -> None:
    run_import(make_bundle())
    before = table_counts()
    bad = STUDY_TOML.replace('slug = "tiny"', 'slug = "other"')
    with pytest.raises(CommandError):
        run_import(make_bundle(study_toml=bad, readings_csv=READINGS_CSV + "R1,C1,1,5,,,\n"))
    assert table_counts() == before


@pytest.mark.slow
def test_it_exits_non_zero_from_the_command_line(make_bundle: BundleFactory) -> None:
    import subprocess
    import sys

    bundle = make_bundle(cases_csv=CASES_CSV.replace("C2,0,P2", "C2,x,P2"))
    result = subprocess.run(
        [sys.executable, "manage.py", "import_study", str(bundle)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_DEBUG": "1", "DATABASE_URL": "sqlite:///:memory:"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode != 0
    assert "cases.csv:4: truth: must be 0 or 1, got 'x'" in result.stderr


def test_it_reports_every_problem_not_only_the_first(make_bundle: BundleFactory) -> None:
    readings = READINGS_CSV + "R1,C9,1,4,,,\nX9,C1,1,4,,,\nM1,C2,2,8,,,\nM1,C2,3,4,,,-5\n"
    with pytest.raises(CommandError) as info:
        run_import(
            make_bundle(
                readings_csv=readings,
                cases_csv=CASES_CSV.replace("C2,0,P2,test", "C2,0,P2,validation"),
            )
        )
    message = str(info.value)
    for expected in (
        "cases.csv:4: split: must be train or test, got 'validation'",
        "readings.csv:7: case_id: unknown case 'C9'",
        "readings.csv:8: reader_id: unknown reader 'X9'",
        "readings.csv:9: category: '8' is not on the scale",
        "readings.csv:10: seconds: must be at least 0, got '-5'",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"study_toml": STUDY_TOML.replace("positive_threshold = 4", "positive_threshold = 9")},
            "study.toml:8: scale.positive_threshold: must be one of the categories",
        ),
        ({"study_toml": STUDY_TOML.replace('slug = "tiny"\n', "")}, "study.toml:1: slug: required"),
        (
            {
                "study_toml": STUDY_TOML.replace(
                    'reference_reader = "R1"', 'reference_reader = "R7"'
                )
            },
            "study.toml:3: reference_reader: 'R7' is not a reader_id",
        ),
        (
            {
                "study_toml": STUDY_TOML.replace(
                    'consensus = "majority-median"', 'consensus = "vote"'
                )
            },
            "study.toml:14: repeats.consensus: must be one of",
        ),
        (
            {"readers_csv": "reader_id,kind\nR1,human\nM1,robot\n"},
            "readers.csv:3: kind: must be human or model, got 'robot'",
        ),
        (
            {"readers_csv": "reader_id,kind,catgory\nR1,human,x\n"},
            "readers.csv:1: catgory: unknown column",
        ),
        (
            {
                "ratings_csv": "rater_id,reader_id,case_id,run,domain,score\nrA,M1,C1,1,correctness,6\n"
            },
            "ratings.csv:2: score: '6' is outside the Likert range 1-5",
        ),
        (
            {"ratings_csv": "rater_id,reader_id,case_id,run,domain,score\nrA,M1,C1,1,style,4\n"},
            "ratings.csv:2: domain: unknown domain 'style'",
        ),
        (
            {
                "ratings_csv": "rater_id,reader_id,case_id,run,domain,score\nrA,M1,C2,3,coherence,4\n"
            },
            "ratings.csv:2: reader_id: no reading in readings.csv for reader 'M1', case 'C2', run 3",
        ),
        (
            {"readings_csv": READINGS_CSV.replace("R1,C2,1,2,0.1", "R1,C2,1,2,high")},
            "readings.csv:3: score: must be a number, got 'high'",
        ),
        (
            {"readings_csv": READINGS_CSV.replace("M1,C1,2,5", "M1,C1,0,5")},
            "readings.csv:5: run: must be at least 1, got '0'",
        ),
        (
            {"readings_csv": READINGS_CSV + "M1,C2\n"},
            "readings.csv:7: -: expected 7 fields as in the header, found 2",
        ),
        (
            {"images__C9__a.png": b"\x89PNG\r\n\x1a\nbroken"},
            "images/C9/a.png:1: -: folder 'C9' is not a case_id",
        ),
        ({"images__C1__a.png": b"not a png"}, "images/C1/a.png:1: -: content is not image/png"),
        ({"cases_csv": None}, "cases.csv:1: -: file is missing"),
        (
            {"study_toml": STUDY_TOML + '\n[modalities]\n1 = "unaided"\n0 = "none"\n'},
            "study.toml:32: modalities: key '0' is not a modality number",
        ),
        (
            {"study_toml": STUDY_TOML + '\n[modalities]\n1 = "unaided"\n2 = ""\n'},
            "study.toml:32: modalities: label of modality 2 must be a non-empty string",
        ),
        (
            {
                "study_toml": STUDY_TOML.replace(
                    'reference_reader = "R1"',
                    'reference_reader = "R1"\nmodalities = ["unaided", "AI-assisted"]',
                )
            },
            "study.toml:4: modalities: must be a table mapping a modality number to its label",
        ),
    ],
)
def test_it_names_file_line_and_column_for_each_problem(
    make_bundle: BundleFactory, files: dict[str, str | bytes | None], expected: str
) -> None:
    with pytest.raises(CommandError) as info:
        run_import(make_bundle(**files))
    assert expected in str(info.value)
    assert Study.objects.count() == 0


def zip_of(root: Path, archive: Path, extra: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
        for name, data in extra.items():
            zf.writestr(name, data)
    return archive


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("images/C1/../../../../tmp/canary.png", "the name has an empty, '.' or '..' folder"),
        ("images/C1/..\\..\\canary.png", "the name contains a backslash"),
        ("/images/C1/canary.png", "the name is an absolute path"),
        ("images/C1/C:canary.png", "the name contains ':' (a drive letter or a stream name)"),
        ("images/C1/\u202egnp.exe", "the name contains U+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_a_zip_member_with_an_unsafe_name_is_refused(
    make_bundle: BundleFactory, tmp_path: Path, name: str, reason: str
) -> None:
    """Issue 11, finding 3: the name was stored and written back by export_study."""
    archive = zip_of(make_bundle(), tmp_path / "evil.zip", {name: png_bytes(1)})
    with pytest.raises(CommandError) as info:
        run_import(archive)
    assert f"unsafe file name: {reason}" in str(info.value)
    assert Study.objects.count() == 0 and CaseImage.objects.count() == 0


def test_a_symbolic_link_out_of_the_bundle_folder_is_refused(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    root = make_bundle()
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes(3))
    (root / "images" / "C1" / "link.png").symlink_to(outside)
    with pytest.raises(CommandError) as info:
        run_import(root)
    assert "images/C1/link.png:1: -: is a symbolic link to outside the bundle folder" in str(
        info.value
    )


def test_coordinator_option_gives_existing_users_the_study_and_audits_it(
    make_bundle: BundleFactory,
) -> None:
    """Issue 12: an imported study was invisible until someone found the admin's inline."""
    from django.test import Client

    from readerstudy.audit.models import AuditEvent
    from readerstudy.studies.models import StudyMember
    from tests.factories import UserFactory

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    run_import(make_bundle(), "--coordinator", "alice", "--coordinator", "bob")
    study = Study.objects.get(slug="tiny")
    for user in (alice, bob):
        assert StudyMember.objects.filter(study=study, user=user, role="coordinator").exists()
        assert user.groups.filter(name="coordinator").exists()
        events = set(
            AuditEvent.objects.filter(target=user.username).values_list("action", flat=True)
        )
        assert {"study_member_added", "role_group_added"} <= events
    client = Client()
    client.force_login(alice)
    assert client.get("/studies/tiny/").status_code == 200


def test_coordinator_option_with_an_unknown_user_imports_nothing(
    make_bundle: BundleFactory,
) -> None:
    from tests.factories import UserFactory

    UserFactory(username="alice")
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run_import(make_bundle(), "--coordinator", "alice", "--coordinator", "nobody")
    assert table_counts()["Study"] == 0
