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
from readerstudy.models import Case, CaseImage, Reader, Reading, ScaleCategory, Study
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
