"""``manage.py export_study``: the bundle written back is lossless and deterministic."""

from __future__ import annotations

import filecmp
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import LikertDomain, LikertScore
from readerstudy.bundles.export import BundleWriter
from readerstudy.bundles.names import UnsafeNameError
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, ScaleCategory, Study
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db


def snapshot(slug: str) -> dict[str, Any]:
    """Everything the import stores about a study, without database ids."""
    study = Study.objects.get(slug=slug)
    images = []
    for image in CaseImage.objects.filter(case__study=study).order_by(
        "case__code", "original_name"
    ):
        images.append(
            (
                image.case.code,
                image.original_name,
                image.series,
                image.phase,
                image.slice,
                image.order,
                image.sha256,
                image.file.read(),
            )
        )
    return {
        "study": (
            study.title,
            study.description,
            study.scale_name,
            study.positive_threshold,
            study.consensus,
            study.reference_reader.code if study.reference_reader else None,
            study.likert_min,
            study.likert_max,
            study.config,
            study.case_attributes,
        ),
        "scale": list(ScaleCategory.objects.filter(study=study).values_list("value", "label")),
        "domains": list(
            LikertDomain.objects.filter(study=study).values_list(
                "key", "label", "group", "description", "position", "extra"
            )
        ),
        "cases": list(
            Case.objects.filter(study=study).values_list(
                "code",
                "patient_id",
                "split",
                "truth",
                "location",
                "clinical_history",
                "findings",
                "reference_impression",
                "truth_detail",
                "attributes",
                "position",
            )
        ),
        "readers": list(
            Reader.objects.filter(study=study).values_list(
                "code",
                "kind",
                "label",
                "group",
                "years_experience",
                "interpretations",
                "description",
                "position",
            )
        ),
        "readings": sorted(
            Reading.objects.filter(case__study=study).values_list(
                "reader__code",
                "case__code",
                "run",
                "modality",
                "category",
                "score",
                "impression",
                "seconds",
                "source",
            )
        ),
        "scores": sorted(
            LikertScore.objects.filter(domain__study=study).values_list(
                "rater__code",
                "reading__reader__code",
                "reading__case__code",
                "reading__run",
                "domain__key",
                "score",
            )
        ),
        "images": images,
    }


def export(slug: str, path: Path) -> str:
    out = StringIO()
    call_command("export_study", slug, str(path), stdout=out)
    return out.getvalue()


RICH_TOML = (
    STUDY_TOML.replace(
        'title = "Tiny study"',
        'title = "Tiny study"\ndescription = "Round-trip check"\nsite = "Nantong"',
    ).replace(
        'group = "Report structure"',
        'group = "Report structure"\ndescription = "Logical flow"\nanchors = ["bad", "good"]',
    )
    + '\n[analysis]\nbootstrap = 2000\nlabels = ["a", "b"]\n'
)


def test_import_export_import_is_lossless(make_bundle: BundleFactory, tmp_path: Path) -> None:
    call_command("import_study", str(make_bundle(study_toml=RICH_TOML)), stdout=StringIO())
    first = snapshot("tiny")
    assert first["study"][8] == {
        "site": "Nantong",
        "analysis": {"bootstrap": 2000, "labels": ["a", "b"]},
    }
    export("tiny", tmp_path / "out1")
    call_command("import_study", str(tmp_path / "out1"), "--replace", stdout=StringIO())
    assert snapshot("tiny") == first


def test_modality_labels_travel_with_the_bundle(make_bundle: BundleFactory, tmp_path: Path) -> None:
    labelled = STUDY_TOML + '\n[modalities]\n1 = "unaided"\n2 = "AI-assisted"\n'
    call_command("import_study", str(make_bundle(study_toml=labelled)), stdout=StringIO())
    first = snapshot("tiny")
    assert Study.objects.get(slug="tiny").config["modalities"] == {
        "1": "unaided",
        "2": "AI-assisted",
    }
    export("tiny", tmp_path / "out")
    assert '[modalities]\n1 = "unaided"\n2 = "AI-assisted"\n' in (
        tmp_path / "out" / "study.toml"
    ).read_text(encoding="utf-8")
    call_command("import_study", str(tmp_path / "out"), "--replace", stdout=StringIO())
    assert snapshot("tiny") == first


def test_a_second_export_is_byte_identical(make_bundle: BundleFactory, tmp_path: Path) -> None:
    call_command("import_study", str(make_bundle(study_toml=RICH_TOML)), stdout=StringIO())
    export("tiny", tmp_path / "a")
    call_command("import_study", str(tmp_path / "a"), "--replace", stdout=StringIO())
    export("tiny", tmp_path / "b")
    comparison = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not comparison.left_only and not comparison.right_only
    for name in [
        "study.toml",
        "cases.csv",
        "readers.csv",
        "readings.csv",
        "ratings.csv",
        "images.csv",
    ]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_it_writes_the_documented_columns(make_bundle: BundleFactory, tmp_path: Path) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    message = export("tiny", tmp_path / "out")
    assert "3 cases" in message and "5 readings" in message and "2 images" in message
    header = lambda name: (tmp_path / "out" / name).read_text().splitlines()[0]  # noqa: E731
    assert header("cases.csv") == (
        "case_id,patient_id,split,truth,location,clinical_history,findings,reference_impression,truth_detail,tic_type"
    )
    assert (
        header("readings.csv") == "reader_id,case_id,run,modality,category,score,impression,seconds"
    )
    assert header("ratings.csv") == "rater_id,reader_id,case_id,run,domain,score"
    assert (tmp_path / "out" / "images" / "C1" / "phase1.png").exists()


def test_it_exports_to_a_zip_that_imports_again(make_bundle: BundleFactory, tmp_path: Path) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    first = snapshot("tiny")
    export("tiny", tmp_path / "tiny.zip")
    with zipfile.ZipFile(tmp_path / "tiny.zip") as zf:
        assert "study.toml" in zf.namelist() and "images/C1/phase2.png" in zf.namelist()
    call_command("import_study", str(tmp_path / "tiny.zip"), "--replace", stdout=StringIO())
    assert snapshot("tiny") == first


def test_it_refuses_to_overwrite_a_non_empty_folder(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        export("tiny", tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"


def test_it_fails_for_an_unknown_slug(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        export("nope", tmp_path / "x")


def test_an_image_name_that_climbs_out_is_not_written_outside_the_export(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    """Issue 11, finding 3: a name with ``../`` already in the database (imported before
    names were checked) must not put a file anywhere on disk, in a folder or in a .zip."""
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    (tmp_path / "deep" / "er").mkdir(parents=True)
    CaseImage.objects.filter(original_name="phase1.png").update(
        original_name="../../../../canary.png"
    )
    for target in (tmp_path / "deep" / "er" / "out", tmp_path / "deep" / "er" / "out.zip"):
        with pytest.raises(CommandError) as info:
            export("tiny", target)
        assert (
            "case 'C1': image '../../../../canary.png': the name has an empty, '.' or '..' folder"
            in str(info.value)
        )
        assert "nothing was written" in str(info.value)
        assert not target.exists()
    assert not list(tmp_path.rglob("canary.png"))


@pytest.mark.parametrize(
    "name",
    [
        "../x.png",
        "/etc/x.png",
        "C:/x.png",
        "a\\..\\..\\x.png",
        "a/./b.png",
        "x\x00.png",
        "x\u202e.png",
    ],
)
def test_the_bundle_writer_refuses_every_name_that_could_leave_its_folder(
    tmp_path: Path, name: str
) -> None:
    for target in (tmp_path / "folder", tmp_path / "bundle.zip"):
        writer = BundleWriter(target)
        try:
            with pytest.raises(UnsafeNameError):
                writer.write_bytes(name, b"data")
            with pytest.raises(UnsafeNameError), writer.text(name):
                pass
        finally:
            writer.close()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bundle.zip", "folder"]


def test_a_second_zip_export_is_byte_identical(
    make_bundle: BundleFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: image entries carried the export time; every member has a fixed one now."""
    import time as real_time
    from types import SimpleNamespace

    call_command("import_study", str(make_bundle(study_toml=RICH_TOML)), stdout=StringIO())
    export("tiny", tmp_path / "a.zip")
    later = SimpleNamespace(
        time=lambda: real_time.time() + 86_400 * 400, localtime=real_time.localtime
    )
    monkeypatch.setattr(zipfile, "time", later)
    export("tiny", tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
