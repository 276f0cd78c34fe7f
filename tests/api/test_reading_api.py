"""Reading through the API: the same rules as the reading page (tests/reading/test_reading_views.py)."""

from __future__ import annotations

import uuid

import pytest

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.reading.models import ReadingAmendment, ReadingSubmission, ReadingWork
from readerstudy.reading.services import (
    ReadingSessionOptions,
    reading_session_close,
    reading_session_create,
)
from readerstudy.studies.models import Reading
from tests.api.world_core import (
    SECRET_MODEL,
    SECRET_OTHER_READER,
    SECRET_REFERENCE,
    SECRET_TRUTH,
    World,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(world: World, api_as):
    return api_as(world.people[roles.READER])


def base(world: World) -> str:
    return f"/api/reading/assignments/{world.assignment.token}/"


def answer(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "category": 4,
        "probability": 70,
        "impression": "Suspicious NME.",
        "token": str(uuid.uuid4()),
        "version": 0,
    }
    body.update(overrides)
    return body


def test_the_assignments_are_the_readers_worklist(world: World, reader) -> None:
    body = reader.get("/api/reading/assignments/").json()
    assert body["count"] == 1
    [entry] = body["results"]
    assert entry["token"] == world.assignment.token
    assert (entry["session"], entry["study"], entry["status"]) == ("Session A", "api-study", "open")
    assert (entry["done"], entry["total"], entry["next_position"]) == (0, 3, 1)
    assert reader.get("/api/reading/assignments/", {"status": "closed"}).json()["count"] == 0
    assert reader.get("/api/reading/assignments/", {"study": "x"}).json()["count"] == 0
    assert reader.get("/api/reading/assignments/", {"status": "x"}).status_code == 400


def test_draft_sessions_are_not_listed(world: World, reader) -> None:
    draft = reading_session_create(
        study=world.study,
        options=ReadingSessionOptions(name="Draft", readers=[world.reader], seed=1, modality=3),
    )
    tokens = [e["token"] for e in reader.get("/api/reading/assignments/").json()["results"]]
    assert draft.assignments.get().token not in tokens
    assert (
        reader.get(f"/api/reading/assignments/{draft.assignments.get().token}/").status_code == 404
    )


def test_a_case_shows_what_the_session_allows_and_nothing_else(world: World, reader) -> None:
    response = reader.get(base(world) + "next/")
    assert response.status_code == 200
    body = response.json()
    assert body["position"] == 1 and body["version"] == 0 and body["editable"] is True
    assert {i["label"] for i in body["info"]} == {"Lesion location", "Clinical history"}
    assert body["assist"] is None and body["answer"] is None
    text = response.content.decode().replace(world.assignment.token, "TOKEN")
    for secret in (SECRET_TRUTH, SECRET_REFERENCE, SECRET_OTHER_READER, SECRET_MODEL, "washout"):
        assert secret not in text
    for code in ("C1", "C2", "C3", "P1", "R1", "R2", "M1", '"truth"'):
        assert code not in text
    # Opening the case records the server time, as the reading page does.
    assert ReadingWork.objects.get(assignment=world.assignment, position=1).opened_at is not None


def test_images_are_served_only_through_the_readers_own_order(world: World, reader) -> None:
    position = world.assignment.work.get(case=world.cases[0]).position
    body = reader.get(base(world) + f"cases/{position}/").json()
    assert [i["index"] for i in body["images"]] == [1, 2]
    image = reader.get(body["images"][0]["url"], HTTP_ACCEPT="image/png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    # The URL addresses the image by the reader's position, never by the case's code (the
    # assignment token is random and may contain "C1" by chance, so only the path after it).
    assert "C1" not in body["images"][0]["url"].split(world.assignment.token, 1)[-1]
    assert reader.get(base(world) + f"cases/{position}/images/3/").status_code == 404


def test_a_session_without_images_lists_and_serves_none(world: World, reader) -> None:
    world.session.show_images = False
    world.session.save()
    position = world.assignment.work.get(case=world.cases[0]).position
    assert reader.get(base(world) + f"cases/{position}/").json()["images"] == []
    assert reader.get(base(world) + f"cases/{position}/images/1/").status_code == 404


def test_ai_assisted_sessions_show_the_models_consensus(world: World, api_as) -> None:
    session = reading_session_create(
        study=world.study,
        options=ReadingSessionOptions(
            name="Assisted",
            readers=[world.reader],
            cases=world.cases[:3],
            seed=2,
            modality=4,
            assist_reader=world.model,
        ),
    )
    from readerstudy.reading.services import reading_session_open

    reading_session_open(session=session)
    token = session.assignments.get().token
    body = api_as(world.people[roles.READER]).get(f"/api/reading/assignments/{token}/next/").json()
    assert body["assist"]["n_runs"] == 2 and body["assist"]["category"] in (4, 5)


def test_submit_saves_once_and_a_retry_is_not_duplicated(world: World, reader) -> None:
    url = base(world) + "cases/1/"
    body = answer()
    first = reader.post(url, body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["outcome"] == "saved" and first.json()["version"] == 1
    assert first.json()["next_position"] == 2
    retry = reader.post(url, body, format="json")
    assert retry.status_code == 201 and retry.json()["replayed"] is True
    work = ReadingWork.objects.get(assignment=world.assignment, position=1)
    reading = Reading.objects.get(pk=work.reading_id)
    assert (reading.category, reading.score, reading.source) == (4, 0.7, "entered")
    assert (reading.run, reading.modality) == (1, 2)
    assert Reading.objects.filter(reader=world.reader).count() == 1
    assert ReadingSubmission.objects.filter(work=work).count() == 1


def test_the_answer_is_validated_like_the_reading_form(world: World, reader) -> None:
    url = base(world) + "cases/1/"
    for body, field in (
        (answer(category=9), "category"),
        (answer(probability=101), "probability"),
        (answer(impression=""), "impression"),
        (answer(token="not-a-uuid"), "token"),
        ({k: v for k, v in answer().items() if k != "version"}, "version"),
    ):
        response = reader.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], response.json()
    assert reader.post(url, [answer()], format="json").status_code == 400
    assert not Reading.objects.filter(reader=world.reader).exists()


def test_a_token_of_another_case_is_refused(world: World, reader) -> None:
    body = answer()
    assert reader.post(base(world) + "cases/1/", body, format="json").status_code == 201
    response = reader.post(base(world) + "cases/2/", body, format="json")
    assert response.status_code == 400 and "token" in response.json()["errors"]
    assert ReadingWork.objects.get(assignment=world.assignment, position=2).version == 0


def test_without_amendments_a_second_answer_is_refused_and_kept(world: World, reader) -> None:
    url = base(world) + "cases/1/"
    reader.post(url, answer(category=4), format="json")
    response = reader.post(url, answer(category=2, version=1), format="json")
    assert response.status_code == 409
    assert response.json()["outcome"] == "refused"
    assert "does not allow changing" in response.json()["detail"]
    assert response.json()["answer"]["category"] == 4
    work = ReadingWork.objects.get(assignment=world.assignment, position=1)
    assert work.reading.category == 4
    assert work.submissions.filter(outcome="refused").get().payload["category"] == 2


def test_a_stale_version_is_a_conflict_and_overwrites_nothing(world: World, reader) -> None:
    world.session.allow_amend = True
    world.session.save()
    url = base(world) + "cases/1/"
    reader.post(url, answer(category=4), format="json")
    stale = reader.post(url, answer(category=1, version=0), format="json")
    assert stale.status_code == 409 and stale.json()["outcome"] == "conflict"
    assert ReadingWork.objects.get(assignment=world.assignment, position=1).reading.category == 4


def test_amendments_keep_history_and_are_audited(world: World, reader) -> None:
    world.session.allow_amend = True
    world.session.save()
    url = base(world) + "cases/1/"
    reader.post(url, answer(category=4), format="json")
    case = reader.get(url).json()
    assert case["version"] == 1 and case["editable"] is True and case["answer"]["category"] == 4
    amended = reader.post(url, answer(category=5, version=1), format="json")
    assert amended.status_code == 200 and amended.json()["outcome"] == "amended"
    assert amended.json()["version"] == 2
    [amendment] = ReadingAmendment.objects.all()
    assert amendment.before["category"] == 4 and amendment.after["category"] == 5
    assert AuditEvent.objects.filter(action="reading_amended").exists()
    same = reader.post(url, answer(category=5, version=2), format="json")
    assert same.status_code == 200 and same.json()["outcome"] == "unchanged"


def test_a_closed_session_refuses_answers_and_has_no_next_case(world: World, reader) -> None:
    reading_session_close(session=world.session)
    assert reader.get(base(world) + "next/").status_code == 409
    response = reader.post(base(world) + "cases/1/", answer(), format="json")
    assert response.status_code == 409 and response.json()["outcome"] == "refused"
    assert reader.get(base(world) + "cases/1/").json()["editable"] is False
    assert not Reading.objects.filter(reader=world.reader).exists()


def test_next_walks_the_order_and_ends_with_404(world: World, reader) -> None:
    positions = []
    while True:
        response = reader.get(base(world) + "next/")
        if response.status_code == 404:
            break
        position = response.json()["position"]
        positions.append(position)
        reader.post(base(world) + f"cases/{position}/", answer(), format="json")
    assert positions == [1, 2, 3]
    assert "done" in response.json()["detail"]
    entry = reader.get(base(world)).json()
    assert (entry["done"], entry["next_position"]) == (3, None)


def test_coordinators_see_progress_per_reader(world: World, reader, api_as) -> None:
    reader.post(base(world) + "cases/1/", answer(), format="json")
    client = api_as(world.people[roles.COORDINATOR])
    listing = client.get("/api/studies/api-study/reading-sessions/").json()
    [session] = listing["results"]
    assert (session["n_cases"], session["n_readers"], session["status"]) == (3, 2, "open")
    assert (
        client.get("/api/studies/api-study/reading-sessions/", {"status": "draft"}).json()["count"]
        == 0
    )
    detail = client.get(f"/api/studies/api-study/reading-sessions/{world.session.pk}/").json()
    progress = {p["reader"]: p for p in detail["progress"]}
    assert (progress["R1"]["done"], progress["R1"]["total"]) == (1, 3)
    assert progress["R2"]["done"] == 0
