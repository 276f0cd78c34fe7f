"""Cases and readers through the API: truth by role, filters, validated and audited writes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.studies.models import Case
from tests.api.world_core import SECRET_REFERENCE, SECRET_TRUTH, World

pytestmark = pytest.mark.django_db

CASES = "/api/studies/api-study/cases/"


def test_coordinators_see_truth_and_cases_in_study_order(world: World, api_as) -> None:
    body = api_as(world.people[roles.COORDINATOR]).get(CASES).json()
    assert body["count"] == 4
    assert [c["code"] for c in body["results"]] == ["C1", "C2", "C3", "C4"]
    first = body["results"][0]
    assert first["truth"] == 1 and first["truth_detail"] == SECRET_TRUTH
    assert first["n_images"] == 2 and first["attributes"] == {"tic": "washout"}


def test_statisticians_see_no_truth_until_the_study_is_unblinded(world: World, api_as) -> None:
    client = api_as(world.people[roles.STATISTICIAN])
    blinded = client.get(CASES)
    assert blinded.status_code == 200
    text = blinded.content.decode()
    assert '"truth"' not in text and SECRET_TRUTH not in text and SECRET_REFERENCE not in text
    assert client.get(CASES + "C1/").json().keys().isdisjoint({"truth", "truth_detail"})
    assert client.get(CASES, {"truth": 1}).status_code == 403

    world.study.unblinded_at = timezone.now()
    world.study.save()
    unblinded = client.get(CASES, {"truth": 1}).json()
    assert [c["code"] for c in unblinded["results"]] == ["C1", "C3"]
    assert unblinded["results"][0]["truth_detail"] == SECRET_TRUTH


def test_cases_filter_by_split_patient_and_truth(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    codes = lambda params: [c["code"] for c in client.get(CASES, params).json()["results"]]  # noqa: E731
    assert codes({"split": "train"}) == ["C4"]
    assert codes({"patient_id": "P2"}) == ["C2"]
    assert codes({"truth": 0}) == ["C2", "C4"]
    bad = client.get(CASES, {"split": "validation"})
    assert bad.status_code == 400 and "split" in bad.json()["errors"]


def test_a_coordinator_adds_a_case_validated_like_cases_csv(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    created = client.post(
        CASES,
        {"code": " N1 ", "truth": 0, "split": "TRAIN", "attributes": {"tic": "plateau"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    case = Case.objects.get(study=world.study, code="N1")
    assert case.split == "train" and case.position == 5 and case.truth == 0
    assert created.json()["code"] == "N1"
    assert AuditEvent.objects.filter(action="case_created", target="case N1").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "N1", "truth": 2}, "truth"),
        ({"code": "N1", "truth": 1, "split": "validation"}, "split"),
        ({"code": "C1", "truth": 1}, "__all__"),  # taken in this study
        ({"code": "", "truth": 1}, "code"),
        ({"code": "x" * 101, "truth": 1}, "code"),
        ({"truth": 1}, "code"),
        ({"code": "N1", "truth": 1, "attributes": {"a": [1]}}, "attributes"),
        ({"code": "N\u202e1", "truth": 1}, "code"),  # bidi override, as in cases.csv
        ({"code": "N1", "truth": 1, "findings": "a\x00b"}, "findings"),
        ({"code": "N1", "truth": 1, "attributes": {"a": "b\x00"}}, "attributes"),
    ],
)
def test_invalid_cases_are_refused_naming_the_field_and_change_nothing(
    world: World, api_as, body, field
) -> None:
    before = Case.objects.count()
    response = api_as(world.people[roles.COORDINATOR]).post(CASES, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors or (field == "__all__" and "code" in str(errors)), errors
    assert Case.objects.count() == before
    assert not AuditEvent.objects.filter(action="case_created").exists()


def test_a_case_code_of_another_study_is_free_here(world: World, api_as) -> None:
    response = api_as(world.people[roles.COORDINATOR]).post(
        CASES, {"code": world.other_case.code, "truth": 1}, format="json"
    )
    assert response.status_code == 201


def test_changing_truth_is_audited_with_before_and_after(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    response = client.patch(CASES + "C2/", {"truth": 1, "location": "right"}, format="json")
    assert response.status_code == 200, response.content
    case = Case.objects.get(study=world.study, code="C2")
    assert (case.truth, case.location) == (1, "right")
    event = AuditEvent.objects.get(action="case_updated")
    assert event.details["truth"] == {"before": 0, "after": 1}
    assert event.details["fields"] == ["location", "truth"]


def test_a_case_code_cannot_be_changed_and_put_is_not_offered(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    client.patch(CASES + "C2/", {"code": "Z9"}, format="json")
    assert Case.objects.filter(study=world.study, code="C2").exists()
    assert client.put(CASES + "C2/", {"code": "C2", "truth": 1}, format="json").status_code == 405


def test_an_invalid_change_changes_nothing(world: World, api_as) -> None:
    response = api_as(world.people[roles.COORDINATOR]).patch(
        CASES + "C2/", {"truth": 1, "split": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert Case.objects.get(study=world.study, code="C2").truth == 0


def test_readers_are_listed_with_filters_and_no_account_names(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    body = client.get("/api/studies/api-study/readers/").json()
    assert [r["code"] for r in body["results"]] == ["R1", "R2", "M1"]
    assert body["results"][0]["has_account"] is True
    assert world.people[roles.READER].username not in str(body)
    models = client.get("/api/studies/api-study/readers/", {"kind": "model"}).json()
    assert [r["code"] for r in models["results"]] == ["M1"]
    group = client.get("/api/studies/api-study/readers/", {"group": "seniors"}).json()
    assert [r["code"] for r in group["results"]] == ["R2"]
    assert client.get("/api/studies/api-study/readers/M1/").json()["kind"] == "model"
