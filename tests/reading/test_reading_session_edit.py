"""Editing reading sessions (a draft completely, an open one by adding readers) and cloning
them, never changing an answer; the pages that do it; the audit log."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from django.test import Client

from readerstudy.audit.models import AuditEvent
from readerstudy.core.sessions import SessionStatus
from readerstudy.reading.models import ReadingSession, ReadingWork
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingSessionError,
    reading_session_close,
    reading_submit,
)
from readerstudy.reading.services_edit import (
    reading_session_add_readers,
    reading_session_clone,
    reading_session_options,
    reading_session_update,
)
from readerstudy.studies.models import Reading
from tests.factories import ReaderFactory, UserFactory
from tests.reading.conftest import ReadingWorld, member

pytestmark = pytest.mark.django_db


def order_of(session: ReadingSession, reader: object) -> list[str]:
    return list(
        ReadingWork.objects.filter(assignment__session=session, assignment__reader=reader)
        .order_by("position")
        .values_list("case__code", flat=True)
    )


def answer(session: ReadingSession, reader: object) -> Reading:
    work = ReadingWork.objects.get(
        assignment__session=session, assignment__reader=reader, position=1
    )
    reading_submit(
        work=work,
        actor=reader.user,  # type: ignore[attr-defined]
        token=uuid.uuid4(),
        base_version=work.version,
        answer=ReadingAnswer(category=4, probability=80, impression="NME, BI-RADS 4."),
    )
    work.refresh_from_db()
    assert work.reading is not None
    return work.reading


def test_a_draft_is_changed_completely(world: ReadingWorld) -> None:
    session = world.session(open=False, readers=[world.reader1])
    options = reading_session_options(session=session)
    assert [r.code for r in options.readers] == ["R1"] and options.seed == 12345
    changed = reading_session_update(
        session=session,
        options=replace(
            options,
            name="Renamed",
            readers=[world.reader1, world.reader2],
            cases=world.cases[:3],
            seed=99,
            show_findings=True,
        ),
        actor=world.coordinator,
    )
    assert changed == ["cases", "name", "readers", "seed", "show_findings"]
    session.refresh_from_db()
    assert (session.name, session.seed, session.show_findings) == ("Renamed", 99, True)
    assert sorted(order_of(session, world.reader2)) == sorted(c.code for c in world.cases[:3])
    event = AuditEvent.objects.get(action="reading_session_updated")
    assert event.details["changed"]["seed"] == [12345, 99] and event.actor == world.coordinator


def test_a_draft_edit_that_fails_its_checks_writes_nothing(world: ReadingWorld) -> None:
    session = world.session(open=False)
    world.session(name="Other", open=False, modality=3)
    before = order_of(session, world.reader1)
    with pytest.raises(ReadingSessionError) as caught:
        reading_session_update(
            session=session,
            options=replace(reading_session_options(session=session), name="Other"),
        )
    assert caught.value.field == "name"
    assert order_of(session, world.reader1) == before
    assert ReadingSession.objects.get(pk=session.pk).name == "Session"


def test_an_open_session_is_not_edited_completely(world: ReadingWorld) -> None:
    session = world.session()
    with pytest.raises(ReadingSessionError, match="only a draft is edited completely"):
        reading_session_update(session=session, options=reading_session_options(session=session))


def test_readers_added_to_an_open_session_leave_the_answers_alone(world: ReadingWorld) -> None:
    session = world.session(readers=[world.reader1])
    reading = answer(session, world.reader1)
    before = order_of(session, world.reader1)
    reader3 = ReaderFactory(study=world.study, code="R3", user=UserFactory(username="reader3"))
    reading_session_add_readers(session=session, readers=[reader3], actor=world.coordinator)
    assert order_of(session, world.reader1) == before
    assert Reading.objects.get(pk=reading.pk).category == 4
    # The new reader's order is the one the session's seed gives a reader of that code.
    fresh = world.session(name="Fresh", open=False, readers=[reader3], modality=5)
    assert order_of(session, reader3) == order_of(fresh, reader3)
    assert AuditEvent.objects.get(action="reading_session_readers_added").details == {
        "readers": ["R3"],
        "status": "open",
    }
    with pytest.raises(ReadingSessionError, match="already in the session: R3"):
        reading_session_add_readers(session=session, readers=[reader3])


def test_readers_are_not_added_to_a_closed_session_or_unlinked(world: ReadingWorld) -> None:
    session = world.session(readers=[world.reader1])
    unlinked = ReaderFactory(study=world.study, code="R9")
    with pytest.raises(ReadingSessionError, match="no user account"):
        reading_session_add_readers(session=session, readers=[unlinked])
    reading_session_close(session=session)
    with pytest.raises(ReadingSessionError, match="closed"):
        reading_session_add_readers(session=session, readers=[world.reader2])


def test_a_clone_is_a_draft_of_the_next_free_run_with_a_new_seed(world: ReadingWorld) -> None:
    session = world.session(readers=[world.reader1], cases=world.cases[:4], order="fixed")
    answer(session, world.reader1)
    clone = reading_session_clone(session=session, name="Round 2", actor=world.coordinator)
    assert clone.status == SessionStatus.DRAFT and clone.pk != session.pk
    assert (clone.run, clone.modality, clone.order) == (2, session.modality, "fixed")
    assert clone.seed != session.seed
    assert order_of(clone, world.reader1) == [c.code for c in world.cases[:4]]
    cloned = AuditEvent.objects.get(action="reading_session_cloned")
    assert cloned.details["from"] == session.pk and cloned.details["run"] == 2
    with pytest.raises(ReadingSessionError) as caught:
        reading_session_clone(session=session, name="Round 3", run=1)
    assert caught.value.field == "modality"  # run 1 holds the reader's answers


def test_the_pages_edit_add_readers_and_clone(world: ReadingWorld, client: Client) -> None:
    client.force_login(world.coordinator)
    draft = world.session(open=False, readers=[world.reader1])
    url = f"/studies/{world.study.slug}/reading/{draft.pk}/edit/"
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].initial["name"] == "Session"
    data = {
        "name": "Edited",
        "split": "test",
        "readers": [world.reader1.pk, world.reader2.pk],
        "cases": "",
        "order": "random",
        "seed": "7",
        "show_images": "on",
        "show_location": "on",
        "require_impression": "on",
        "run": "1",
        "modality": "2",
    }
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert (draft.name, draft.seed, draft.assignments.count()) == ("Edited", 7, 2)

    opened = world.session(name="Live", readers=[world.reader1], modality=4)
    reader3 = ReaderFactory(study=world.study, code="R3", user=UserFactory(username="reader3"))
    member(reader3.user, world.study, "reader")
    live_url = f"/studies/{world.study.slug}/reading/{opened.pk}/edit/"
    page = client.get(live_url).content.decode()
    assert "Add readers" in page and "R3" in page
    assert client.post(live_url, {"readers": [reader3.pk]}).status_code == 302
    assert sorted(opened.assignments.values_list("reader__code", flat=True)) == ["R1", "R3"]

    clone_url = f"/studies/{world.study.slug}/reading/{opened.pk}/clone/"
    assert client.get(clone_url).status_code == 200
    response = client.post(clone_url, {"name": "Live again"})
    clone = ReadingSession.objects.get(name="Live again")
    assert response["Location"] == f"/studies/{world.study.slug}/reading/{clone.pk}/"
    assert clone.run == 2 and clone.assignments.count() == 2


def test_only_coordinators_edit_or_clone(world: ReadingWorld, client: Client) -> None:
    session = world.session()
    for user in (world.user1, world.rater, world.statistician):
        client.force_login(user)
        for action in ("edit", "clone"):
            url = f"/studies/{world.study.slug}/reading/{session.pk}/{action}/"
            assert client.get(url).status_code == 404
            assert client.post(url, {"name": "x"}).status_code == 404
    assert ReadingSession.objects.count() == 1
