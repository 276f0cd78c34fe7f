"""The web's bundle upload: a real .zip posted through the Django test client, the background
job (inline here), the progress JSON, every problem on the page, nothing written on any
problem, replacing as a confirmed choice, who may see what, and the audit log."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluation.models import LikertDomain, LikertScore
from readerstudy.audit.models import AuditEvent
from readerstudy.bundles.models import BundleUpload
from readerstudy.bundles.services_upload import _Progress
from readerstudy.reading.models import ReadingSession
from readerstudy.reading.services import ReadingSessionOptions, reading_session_create
from readerstudy.studies.models import Case, Reader, Reading, Study, StudyMember
from readerstudy.studies.services import StudySpec, study_create, study_member_add
from tests.conftest import CASES_CSV, STUDY_TOML, BundleFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings: object) -> None:
    settings.GENERATION_DISPATCH = "inline"  # type: ignore[attr-defined]


def zipped(folder: Path, *, name: str = "bundle.zip", inside: str = "bundle") -> SimpleUploadedFile:
    """The folder as an uploaded .zip (its files under ``inside/``, as people zip folders)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{inside}/{path.relative_to(folder).as_posix()}")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def web_study(slug: str = "tiny") -> tuple[Study, object]:
    coordinator = UserFactory(username=f"coord-{slug}")
    spec = StudySpec(
        slug=slug, title="Made on the web", positive_threshold=1, categories={0: "", 1: ""}
    )
    return study_create(actor=coordinator, spec=spec), coordinator


def counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (Study, Case, Reader, Reading, LikertDomain, LikertScore, StudyMember)
    }


def test_a_zip_posted_to_a_study_made_on_the_web_is_imported_into_it(
    client: Client, make_bundle: BundleFactory
) -> None:
    study, coordinator = web_study()
    client.force_login(coordinator)
    page = client.get("/studies/tiny/upload/")
    assert page.status_code == 200 and "replace" not in page.context["form"].fields
    response = client.post("/studies/tiny/upload/", {"bundle": zipped(make_bundle())})
    upload = BundleUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/uploads/{upload.pk}/"
    assert upload.status == "done" and upload.progress == 100 and upload.file == ""
    assert not default_storage.listdir("bundle_uploads")[1]  # the .zip is gone
    study.refresh_from_db()
    assert (study.pk, study.title) == (upload.study_id, "Tiny study")  # the same row
    assert study.categories == [0, 1, 2, 3, 4, 5, 6] and study.reference_reader.code == "R1"
    assert sorted(study.cases.values_list("code", flat=True)) == ["C1", "C2", "C3"]
    assert [d.key for d in LikertDomain.objects.filter(study=study)] == ["correctness", "coherence"]
    assert StudyMember.objects.filter(study=study, user=coordinator, role="coordinator").exists()
    assert upload.summary["cases"] == 3 and upload.summary["replaced"] is False
    progress = client.get(f"/uploads/{upload.pk}/progress/").json()
    assert progress["status"] == "done" and progress["progress"] == 100
    assert progress["active"] is False and progress["study_url"] == "/studies/tiny/"
    detail = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert "3 cases, 2 readers" in detail and 'id="upload-problems"' not in detail
    actions = list(
        AuditEvent.objects.filter(target=f"upload {upload.pk}")
        .order_by("pk")
        .values_list("action", "actor")
    )
    assert actions == [("bundle_uploaded", coordinator.pk), ("bundle_imported", coordinator.pk)]


def test_every_problem_is_on_the_page_and_nothing_is_written(
    client: Client, make_bundle: BundleFactory
) -> None:
    study, coordinator = web_study()
    bad_cases = CASES_CSV.replace("C2,0,P2", "C2,yes,P2").replace("C3,1,P3,train", "C3,1,P3,valid")
    bundle = make_bundle(cases_csv=bad_cases, readings_csv="reader_id,case_id,category\nR1,C9,4\n")
    before = counts()
    client.force_login(coordinator)
    client.post("/studies/tiny/upload/", {"bundle": zipped(bundle)})
    upload = BundleUpload.objects.get()
    assert upload.status == "failed" and upload.n_problems == len(upload.problems) >= 3
    assert counts() == before and study.cases.count() == 0
    page = client.get(f"/uploads/{upload.pk}/").content.decode()
    for expected in ("cases.csv:4: truth:", "cases.csv:5: split:", "readings.csv:2: case_id:"):
        assert any(p.startswith(expected) for p in upload.problems), upload.problems
        assert f"<code>{expected}" in page
    assert f"Nothing was written: {upload.n_problems} problems" in page
    assert client.get(f"/uploads/{upload.pk}/progress/").json()["status"] == "failed"
    refused = AuditEvent.objects.get(action="bundle_refused")
    assert refused.study_id == study.pk and refused.details["problems"] == upload.n_problems


def test_a_bundle_of_another_slug_is_refused_naming_the_line(
    client: Client, make_bundle: BundleFactory
) -> None:
    _, coordinator = web_study("other")
    client.force_login(coordinator)
    client.post("/studies/other/upload/", {"bundle": zipped(make_bundle())})
    upload = BundleUpload.objects.get()
    assert upload.problems == [
        "study.toml:1: slug: the bundle is for the study 'tiny', not 'other': set "
        'slug = "other" to import it into this study'
    ]
    assert not Case.objects.exists()


def test_replacing_a_study_with_data_is_a_confirmed_choice(
    client: Client, make_bundle: BundleFactory
) -> None:
    study, coordinator = web_study()
    client.force_login(coordinator)
    client.post("/studies/tiny/upload/", {"bundle": zipped(make_bundle())})
    reader_user = UserFactory(username="radiologist")
    r1 = Reader.objects.get(study=study, code="R1")
    study_member_add(study=study, user=reader_user, role="reader", reader=r1, actor=coordinator)
    assert Reader.objects.get(pk=r1.pk).user_id == reader_user.pk
    # A session whose assisting model is M1 (a protected reference) goes with the data.
    reading_session_create(
        study=study,
        options=ReadingSessionOptions(
            name="Round 1",
            readers=[Reader.objects.get(pk=r1.pk)],
            assist_reader=Reader.objects.get(study=study, code="M1"),
            modality=2,
        ),
        actor=coordinator,
    )
    before = counts()
    fewer = CASES_CSV.replace("C3,1,P3,train,left breast,,plateau\n", "")
    second = make_bundle(
        cases_csv=fewer,
        readings_csv="reader_id,case_id,category\nR1,C1,5\nR1,C2,1\nM1,C1,4\n",
        ratings_csv=None,
        images__C1__phase1_png=None,
        images__C1__phase2_png=None,
    )
    refused = client.post("/studies/tiny/upload/", {"bundle": zipped(second)})
    assert refused.status_code == 200
    assert "holds 3 cases" in refused.context["form"].errors["replace"][0]
    wrong = client.post(
        "/studies/tiny/upload/", {"bundle": zipped(second), "replace": "on", "confirm_slug": "x"}
    )
    assert wrong.context["form"].errors["confirm_slug"] == ["Type tiny to confirm."]
    assert BundleUpload.objects.count() == 1 and counts() == before
    client.post(
        "/studies/tiny/upload/",
        {"bundle": zipped(second), "replace": "on", "confirm_slug": "tiny"},
    )
    upload = BundleUpload.objects.first()
    assert upload is not None and upload.status == "done" and upload.replace
    assert upload.summary["replaced"] is True
    assert sorted(study.cases.values_list("code", flat=True)) == ["C1", "C2"]
    assert Reading.objects.filter(reader__study=study).count() == 3
    assert Study.objects.get(slug="tiny").pk == study.pk
    assert not ReadingSession.objects.filter(study=study).exists()
    # The members stay, and the account stays linked to the new reader R1.
    assert StudyMember.objects.filter(study=study).count() == before["StudyMember"]
    assert Reader.objects.get(study=study, code="R1").user_id == reader_user.pk
    assert AuditEvent.objects.get(action="bundle_uploaded", target=f"upload {upload.pk}").details[
        "replace"
    ]


def test_a_new_study_from_a_bundle_makes_the_uploader_its_coordinator(
    client: Client, make_bundle: BundleFactory
) -> None:
    user = UserFactory(username="lead")
    client.force_login(user)
    assert client.get("/studies/new/upload/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_study"))
    client.post("/studies/new/upload/", {"bundle": zipped(make_bundle())})
    upload = BundleUpload.objects.get()
    assert upload.status == "done" and upload.new_study
    study = Study.objects.get(slug="tiny")
    assert upload.study_id == study.pk
    assert StudyMember.objects.filter(study=study, user=user, role="coordinator").exists()
    assert client.get("/studies/tiny/").status_code == 200
    # Its slug is taken now: a second upload as a new study is refused, nothing written.
    before = counts()
    client.post("/studies/new/upload/", {"bundle": zipped(make_bundle())})
    second = BundleUpload.objects.first()
    assert second is not None and second.status == "failed"
    assert second.problems == [
        "study.toml:1: slug: a study with slug 'tiny' exists; upload it from that study's "
        "page (as its coordinator) to replace its data"
    ]
    assert counts() == before


def test_not_a_zip_is_refused_by_the_form(client: Client, tmp_path: Path) -> None:
    _, coordinator = web_study()
    client.force_login(coordinator)
    response = client.post(
        "/studies/tiny/upload/", {"bundle": SimpleUploadedFile("cases.csv", b"case_id,truth\n")}
    )
    assert response.context["form"].errors["bundle"] == ["cases.csv: not a .zip file"]
    assert not BundleUpload.objects.exists()


def test_a_damaged_study_toml_in_a_zip_is_listed(
    client: Client, make_bundle: BundleFactory
) -> None:
    _, coordinator = web_study()
    client.force_login(coordinator)
    toml = STUDY_TOML.replace("positive_threshold = 4", "positive_threshold = 9")
    client.post("/studies/tiny/upload/", {"bundle": zipped(make_bundle(study_toml=toml))})
    upload = BundleUpload.objects.get()
    assert upload.status == "failed"
    assert any(p.startswith("study.toml:") and "positive_threshold" in p for p in upload.problems)


def test_only_coordinators_and_the_uploader_see_an_upload(
    client: Client, make_bundle: BundleFactory
) -> None:
    study, coordinator = web_study()
    client.force_login(coordinator)
    client.post("/studies/tiny/upload/", {"bundle": zipped(make_bundle())})
    upload = BundleUpload.objects.get()
    for role in ("reader", "rater", "statistician"):
        someone = UserFactory(username=f"a-{role}")
        study_member_add(study=study, user=someone, role=role, actor=coordinator)
        client.force_login(someone)
        for url in (
            "/studies/tiny/upload/",
            f"/uploads/{upload.pk}/",
            f"/uploads/{upload.pk}/progress/",
        ):
            assert client.get(url).status_code == 404, (role, url)
        assert (
            client.post("/studies/tiny/upload/", {"bundle": zipped(make_bundle())}).status_code
            == 404
        )
    assert BundleUpload.objects.count() == 1


def test_the_progress_is_written_as_the_checking_goes(make_bundle: BundleFactory) -> None:
    study, coordinator = web_study()
    upload = BundleUpload.objects.create(study=study, original_name="b.zip", created_by=coordinator)
    progress = _Progress(upload.pk)
    progress("checking cases.csv", 0.05)
    upload.refresh_from_db()
    assert (upload.stage, upload.progress) == ("checking cases.csv", 4)
    progress("checking the images (20 of 40)", 0.8)
    progress("checking the images (40 of 40)", 0.99)  # too soon after the last: skipped
    upload.refresh_from_db()
    assert (upload.stage, upload.progress) == ("checking the images (20 of 40)", 72)
    progress("writing to the database", 1.0)
    upload.refresh_from_db()
    assert (upload.stage, upload.progress) == ("writing to the database", 90)
