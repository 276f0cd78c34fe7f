"""Reading sessions set up through the API: create, open, a reader reads, close; the same
rules, messages and audit events as the session page (tests/reading/test_reading_views.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import ReadingAssignment, ReadingSession, ReadingWork
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db

URL = "/api/studies/nme/reading-sessions/"


def client(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "API session", "readers": ["R1", "R2"], "seed": 7}
    data.update(overrides)
    return data


def counts() -> tuple[int, int, int]:
    return (
        ReadingSession.objects.count(),
        ReadingAssignment.objects.count(),
        AuditEvent.objects.filter(action__startswith="reading_session").count(),
    )


def test_create_open_read_and_close_through_the_api(world: ReadingWorld) -> None:
    coord = client(world.coordinator)
    response = coord.post(URL, body(cases=["CASECODE3", "CASECODE1"], order="fixed"), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "draft" and created["n_cases"] == 2 and created["n_readers"] == 2
    assert created["seed"] == 7 and created["show_images"] is True
    session = ReadingSession.objects.get(pk=created["id"])
    assert session.created_by == world.coordinator
    # the default modality is one that no reading of the study uses yet (readings: 1)
    assert session.modality == 2
    assert list(session.cases.order_by("position").values_list("case__code", flat=True)) == [
        "CASECODE3",
        "CASECODE1",
    ]
    reader = client(world.user1)
    assert reader.get("/api/reading/assignments/").json()["count"] == 0  # drafts are hidden

    opened = coord.post(f"{URL}{session.pk}/open/")
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    [entry] = reader.get("/api/reading/assignments/").json()["results"]
    token = entry["token"]
    case = reader.get(f"/api/reading/assignments/{token}/next/").json()
    answer = {"category": 4, "impression": "Mass.", "token": str(uuid.uuid4()), "version": 0}
    saved = reader.post(
        f"/api/reading/assignments/{token}/cases/{case['position']}/", answer, format="json"
    )
    assert saved.status_code == 201

    assert coord.post(f"{URL}{session.pk}/open/").status_code == 409  # already open
    closed = coord.post(f"{URL}{session.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = coord.post(f"{URL}{session.pk}/close/")
    assert again.status_code == 409 and "status" in again.json()["errors"]
    late = reader.post(
        f"/api/reading/assignments/{token}/cases/2/",
        {**answer, "token": str(uuid.uuid4())},
        format="json",
    )
    assert late.status_code == 409 and late.json()["outcome"] == "refused"

    events = AuditEvent.objects.filter(target=f"reading session {session.pk}")
    assert [(e.action, e.actor) for e in events.order_by("id")] == [
        ("reading_session_created", world.coordinator),
        ("reading_session_opened", world.coordinator),
        ("reading_session_closed", world.coordinator),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"readers": ["R9"]}, "readers", "Not readers of this study: R9."),
        ({"readers": ["M1"]}, "readers", "Not human readers linked to a user account: M1."),
        ({"readers": []}, "readers", ""),
        ({"cases": ["NOPE"]}, "cases", "Not case ids of this study: NOPE."),
        ({"cases": ["TRAIN1"]}, "cases", "Not in the test split: TRAIN1."),
        ({"cases": ["CASECODE1", "CASECODE1"]}, "cases", "Listed more than once: CASECODE1."),
        ({"modality": 1}, "modality", "R2 already has"),
        ({"assist_reader": "R1"}, "assist_reader", "Not a model reader of this study: R1."),
        ({"order": "sideways"}, "order", ""),
        ({"seed": -1}, "seed", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(
    world: ReadingWorld, overrides: dict[str, Any], field: str, message: str
) -> None:
    before = counts()
    response = client(world.coordinator).post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert counts() == before


def test_every_problem_is_reported_in_one_answer(world: ReadingWorld) -> None:
    response = client(world.coordinator).post(
        URL, body(cases=["NOPE"], order="sideways", run=0), format="json"
    )
    assert response.status_code == 400
    assert {"order", "run"} <= set(response.json()["errors"])


def test_a_taken_name_is_refused_as_on_the_page(world: ReadingWorld) -> None:
    world.session(name="API session", open=False)
    before = counts()
    response = client(world.coordinator).post(URL, body(), format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["This study already has a session with this name."]
    assert counts() == before


def test_a_reader_without_the_reader_role_in_the_study_is_refused(world: ReadingWorld) -> None:
    world.study.members.filter(user=world.user2).delete()
    response = client(world.coordinator).post(URL, body(), format="json")
    assert response.status_code == 400
    assert "Not a reader member of this study" in response.json()["errors"]["readers"][0]


@pytest.mark.parametrize("who", ["reader", "rater", "statistician"])
def test_other_roles_may_not_create_open_or_close(world: ReadingWorld, who: str) -> None:
    user = {"reader": world.user1, "rater": world.rater, "statistician": world.statistician}[who]
    session = world.session(open=False)
    api = client(user)
    before = counts()
    assert api.post(URL, body(), format="json").status_code == 403
    assert api.post(f"{URL}{session.pk}/open/").status_code == 403
    session.refresh_from_db()
    assert session.status == "draft" and counts() == before
    assert ReadingWork.objects.filter(assignment__session__name="API session").count() == 0


def test_readers_are_added_and_a_session_cloned_through_the_api(world: ReadingWorld) -> None:
    from tests.factories import ReaderFactory, UserFactory
    from tests.reading.conftest import member

    coord = client(world.coordinator)
    session = world.session(readers=[world.reader1])
    reader3 = ReaderFactory(study=world.study, code="R3", user=UserFactory(username="reader3"))
    member(reader3.user, world.study, "reader")
    refused = coord.post(f"{URL}{session.pk}/readers/", {"readers": ["R1", "NOPE"]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["readers"] == ["Not readers of this study: NOPE."]
    added = coord.post(f"{URL}{session.pk}/readers/", {"readers": ["R3"]}, format="json")
    assert added.status_code == 200, added.json()
    assert added.json()["n_readers"] == 2
    again = coord.post(f"{URL}{session.pk}/readers/", {"readers": ["R3"]}, format="json")
    assert again.status_code == 400
    assert AuditEvent.objects.filter(action="reading_session_readers_added").count() == 1

    cloned = coord.post(f"{URL}{session.pk}/clone/", {"name": "Re-read"}, format="json")
    assert cloned.status_code == 201, cloned.json()
    assert cloned.json()["status"] == "draft" and cloned.json()["n_readers"] == 2
    assert cloned.json()["run"] == session.run + 1
    taken = coord.post(f"{URL}{session.pk}/clone/", {"name": "Re-read"}, format="json")
    assert taken.status_code == 400 and "name" in taken.json()["errors"]
    assert client(world.user1).post(f"{URL}{session.pk}/clone/", {"name": "x"}).status_code == 403
