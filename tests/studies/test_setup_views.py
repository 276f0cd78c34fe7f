"""The pages that set a study up: who may use them, the invitation flow end to end, the CSV
upload and the case list (truth for coordinators only)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Study, StudyMember
from readerstudy.studies.services import StudySpec, study_create, study_member_add
from tests.factories import CaseFactory, ReaderFactory, UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "title": "NME study",
    "slug": "nme",
    "description": "",
    "scale_name": "BI-RADS",
    "categories": "0 Incomplete\n1 Negative\n2 Benign\n3\n4 Suspicious\n5\n6",
    "positive_threshold": "4",
    "consensus": "majority-median",
    "likert_min": "1",
    "likert_max": "5",
}


def make_study(slug: str = "nme") -> tuple[Study, object]:
    coordinator = UserFactory(username=f"coord-{slug}")
    spec = StudySpec(slug=slug, title=slug, positive_threshold=1, categories={0: "", 1: ""})
    return study_create(actor=coordinator, spec=spec), coordinator


def test_a_user_without_the_permission_may_not_create_a_study(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get("/studies/new/").status_code == 403
    assert client.post("/studies/new/", FORM).status_code == 403
    assert not Study.objects.exists()


def test_a_user_with_the_add_study_permission_creates_a_study_and_coordinates_it(
    client: Client,
) -> None:
    user = UserFactory(username="alice")
    user.user_permissions.add(Permission.objects.get(codename="add_study"))
    client.force_login(user)
    assert "Create a study" in client.get("/").content.decode()
    response = client.post("/studies/new/", FORM)
    assert response.status_code == 302 and response["Location"] == "/studies/nme/"
    study = Study.objects.get(slug="nme")
    assert study.categories == [0, 1, 2, 3, 4, 5, 6]
    hub = client.get("/studies/nme/").content.decode()
    assert "/studies/nme/members/" in hub and "/studies/nme/cases/" in hub


def test_the_settings_page_disables_the_locked_fields_once_the_study_has_cases(
    client: Client,
) -> None:
    study, coordinator = make_study()
    CaseFactory(study=study)
    client.force_login(coordinator)  # type: ignore[arg-type]
    html = client.get("/studies/nme/settings/").content.decode()
    assert re.search(r'name="positive_threshold"[^>]*disabled', html)
    assert not re.search(r'name="title"[^>]*disabled', html)
    form = {**FORM, "categories": "0\n1", "positive_threshold": "0", "title": "Renamed"}
    assert client.post("/studies/nme/settings/", form).status_code == 302
    study.refresh_from_db()
    assert (study.title, study.positive_threshold) == (
        "Renamed",
        1,
    )  # disabled fields keep their value


@pytest.mark.parametrize("role", ["reader", "rater", "statistician"])
def test_members_settings_and_case_list_refuse_non_coordinators(client: Client, role: str) -> None:
    study, _ = make_study()
    CaseFactory(study=study, code="SECRET-CASE")
    user = UserFactory()
    study_member_add(study=study, user=user, role=role)
    client.force_login(user)
    for url in ("/studies/nme/members/", "/studies/nme/cases/", "/studies/nme/settings/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"SECRET-CASE" not in response.content
    assert (
        client.post(
            "/studies/nme/members/",
            {"action": "invite", "email": "x@example.org", "role": "coordinator"},
        ).status_code
        == 404
    )
    assert not mail.outbox


def test_invitation_end_to_end_the_invitee_signs_up_and_reads_as_the_linked_reader(
    client: Client,
) -> None:
    study, coordinator = make_study()
    reader = ReaderFactory(study=study, code="R1")
    client.force_login(coordinator)  # type: ignore[arg-type]
    response = client.post(
        "/studies/nme/members/",
        {"action": "invite", "email": "rad@example.org", "role": "reader", "reader": reader.pk},
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rad@example.org"]
    link = re.search(r"http://testserver(/invitations/[^/\s]+/)", mail.outbox[0].body)
    assert link is not None
    client.logout()
    page = client.get(link.group(1))
    assert page.status_code == 200 and "reader" in page.content.decode()
    bad = client.post(
        link.group(1), {"username": "rad", "password1": "a-Long-pass-99", "password2": "other"}
    )
    assert "The two passwords differ." in bad.content.decode()
    response = client.post(
        link.group(1),
        {"username": "rad", "password1": "a-Long-pass-99", "password2": "a-Long-pass-99"},
    )
    assert response.status_code == 302 and response["Location"] == "/studies/nme/"
    reader.refresh_from_db()
    assert reader.user is not None and reader.user.username == "rad"
    assert StudyMember.objects.filter(study=study, user=reader.user, role="reader").exists()
    assert client.get("/studies/nme/").status_code == 200  # signed in as the new reader
    client.logout()
    assert client.get(link.group(1)).status_code == 404  # once only
    assert AuditEvent.objects.filter(action="study_invitation_accepted", study=study).exists()


def test_the_csv_upload_lists_the_problems_and_adds_nothing(client: Client) -> None:
    study, coordinator = make_study()
    UserFactory(username="bob")
    client.force_login(coordinator)  # type: ignore[arg-type]
    upload = SimpleUploadedFile(
        "people.csv", b"user,role\nbob,rater\nghost,reader\n", content_type="text/csv"
    )
    html = client.post("/studies/nme/members/", {"action": "csv", "file": upload}).content.decode()
    assert "people.csv:3: user: no account with &#x27;ghost&#x27;" in html
    assert not StudyMember.objects.filter(study=study, user__username="bob").exists()
    upload = SimpleUploadedFile("people.csv", b"user,role\nbob,rater\n", content_type="text/csv")
    assert (
        client.post("/studies/nme/members/", {"action": "csv", "file": upload}).status_code == 302
    )
    assert StudyMember.objects.filter(study=study, user__username="bob", role="rater").exists()


def test_members_page_adds_and_removes_an_existing_account(client: Client) -> None:
    study, coordinator = make_study()
    bob = UserFactory(username="bob", email="bob@example.org")
    client.force_login(coordinator)  # type: ignore[arg-type]
    client.post(
        "/studies/nme/members/",
        {"action": "add", "user": "bob@example.org", "role": "statistician"},
    )
    member = StudyMember.objects.get(study=study, user=bob)
    assert "bob" in client.get("/studies/nme/members/").content.decode()
    client.post("/studies/nme/members/", {"action": "remove", "member": member.pk})
    assert not StudyMember.objects.filter(study=study, user=bob).exists()
    assert Group.objects.get(name="statistician") in bob.groups.all()


def test_case_list_filters_selects_per_class_with_a_seed_and_prefills_the_session_form(
    client: Client,
) -> None:
    study, coordinator = make_study()
    for i in range(10):
        CaseFactory(study=study, code=f"K{i}", truth=i % 2, split="test", position=i)
    CaseFactory(study=study, code="T1", split="train", truth=1, position=20)
    client.force_login(coordinator)  # type: ignore[arg-type]
    html = client.get("/studies/nme/cases/", {"split": "test", "truth": "1"}).content.decode()
    assert "5 cases selected" in html and "K1" in html and "K0" not in html and "T1" not in html
    first = client.get("/studies/nme/cases/", {"split": "test", "per_class": "2", "seed": "7"})
    again = client.get("/studies/nme/cases/", {"split": "test", "per_class": "2", "seed": "7"})
    assert "4 cases selected" in first.content.decode()
    url = first.context["reading_session_url"]
    assert url == again.context["reading_session_url"] and "split=test" in url
    codes = re.search(r"cases=([^&]+)", url)
    assert codes is not None and len(codes.group(1).split("+")) == 4
    form_page = client.get(url).content.decode()
    chosen = codes.group(1).replace("+", " ")
    assert chosen in form_page


def test_a_study_created_on_the_web_gets_the_nine_likert_domains_of_the_worked_example(
    client: Client,
) -> None:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_study"))
    client.force_login(user)
    page = client.get("/studies/new/").content.decode()
    assert "specific_diagnosis | Specific diagnosis | Professional judgment" in page
    form = client.get("/studies/new/").context["form"]
    client.post("/studies/new/", {**FORM, "domains": form.fields["domains"].initial})
    study = Study.objects.get(slug="nme")
    keys = list(study.likert_domains.order_by("position").values_list("key", flat=True))  # type: ignore[attr-defined]
    assert keys[0] == "specific_diagnosis" and keys[-1] == "lack_of_bias" and len(keys) == 9


def test_bad_domain_lines_are_each_named_and_nothing_is_created(client: Client) -> None:
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_study"))
    client.force_login(user)
    html = client.post(
        "/studies/new/",
        {**FORM, "domains": "ok | OK\nbad key | x\nok | again", "categories": "1 a\nx"},
    ).content.decode()
    assert (
        "line 2: expected key | label | group" in html and "line 3: domain ok given twice" in html
    )
    assert "line 2: expected a whole number then a label" in html
    assert not Study.objects.exists()


def test_out_of_range_numbers_are_form_errors_not_server_errors(client: Client) -> None:
    study, coordinator = make_study()
    client.force_login(coordinator)  # type: ignore[arg-type]
    big = str(2**40)
    html = client.post(
        "/studies/nme/settings/", {**FORM, "categories": f"0\n{big}", "likert_max": big}
    ).content.decode()
    assert f"category {big} is out of range" in html
    assert (
        client.get("/studies/nme/cases/", {"seed": str(2**70), "per_class": big}).status_code == 200
    )
    removal = {"action": "remove", "member": "99999999999999999999"}
    assert client.post("/studies/nme/members/", removal).status_code == 404
    assert StudyMember.objects.filter(study=study).count() == 1
