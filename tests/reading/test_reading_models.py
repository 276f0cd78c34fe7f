"""Reading-session tables: check and unique constraints and cross-table triggers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.bundles.services import study_delete
from readerstudy.reading.models import (
    ReadingAssignment,
    ReadingSession,
    ReadingSessionCase,
    ReadingWork,
)
from readerstudy.reading.services import ReadingAnswer, reading_submit
from readerstudy.studies.models import Reading
from tests.factories import CaseFactory, ReaderFactory, ReadingFactory, StudyFactory
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db


def violates(fn: Callable[[], object]) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def new_session(study: object, **kw: object) -> ReadingSession:
    return ReadingSession.objects.create(study=study, name=kw.pop("name", "S"), seed=1, **kw)


def test_session_names_are_unique_within_a_study(world: ReadingWorld) -> None:
    new_session(world.study, name="A")
    assert violates(lambda: new_session(world.study, name="A"))
    assert not violates(lambda: new_session(StudyFactory(), name="A"))


def test_session_status_order_split_seed_run_and_modality_are_checked(world: ReadingWorld) -> None:
    assert violates(lambda: new_session(world.study, status="paused"))
    assert violates(lambda: new_session(world.study, order="alpha"))
    assert violates(lambda: new_session(world.study, split="valid"))
    assert violates(lambda: ReadingSession.objects.create(study=world.study, name="X", seed=-1))
    assert violates(lambda: new_session(world.study, run=0))
    assert violates(lambda: new_session(world.study, modality=0))


def test_an_open_session_has_an_opening_time_and_a_closed_one_a_closing_time(
    world: ReadingWorld,
) -> None:
    now = timezone.now()
    assert violates(lambda: new_session(world.study, status="open"))
    assert violates(lambda: new_session(world.study, status="closed", opened_at=now))
    assert not violates(
        lambda: new_session(world.study, status="closed", opened_at=now, closed_at=now)
    )


def test_a_session_case_must_belong_to_the_session_study(world: ReadingWorld) -> None:
    session = new_session(world.study)
    foreign = CaseFactory()
    assert violates(
        lambda: ReadingSessionCase.objects.create(session=session, case=foreign, position=1)
    )
    ReadingSessionCase.objects.create(session=session, case=world.cases[0], position=1)
    assert violates(
        lambda: ReadingSessionCase.objects.create(session=session, case=world.cases[0], position=2)
    )
    assert violates(
        lambda: ReadingSessionCase.objects.create(session=session, case=world.cases[1], position=1)
    )


def test_only_human_readers_of_the_study_can_be_assigned(world: ReadingWorld) -> None:
    session = new_session(world.study)
    assert violates(lambda: ReadingAssignment.objects.create(session=session, reader=world.model))
    assert violates(
        lambda: ReadingAssignment.objects.create(session=session, reader=ReaderFactory())
    )
    ReadingAssignment.objects.create(session=session, reader=world.reader1)
    assert violates(lambda: ReadingAssignment.objects.create(session=session, reader=world.reader1))


def test_the_assisting_reader_must_be_a_model_of_the_study(world: ReadingWorld) -> None:
    assert violates(lambda: new_session(world.study, name="H", assist_reader=world.reader1))
    other_model = ReaderFactory(kind="model")
    assert violates(lambda: new_session(world.study, name="O", assist_reader=other_model))
    assert not violates(lambda: new_session(world.study, name="M", assist_reader=world.model))


def test_a_work_item_must_be_a_case_of_its_session(world: ReadingWorld) -> None:
    session = new_session(world.study)
    ReadingSessionCase.objects.create(session=session, case=world.cases[0], position=1)
    assignment = ReadingAssignment.objects.create(session=session, reader=world.reader1)
    assert violates(
        lambda: ReadingWork.objects.create(assignment=assignment, case=world.cases[1], position=1)
    )
    assert not violates(
        lambda: ReadingWork.objects.create(assignment=assignment, case=world.cases[0], position=1)
    )


def test_a_submitted_work_item_has_a_matching_reading_and_version(world: ReadingWorld) -> None:
    session = world.session()
    work = ReadingWork.objects.filter(assignment__reader=world.reader1).first()
    assert work is not None
    now = timezone.now()

    def mark(**kw: object) -> None:
        ReadingWork.objects.filter(pk=work.pk).update(**kw)

    assert violates(lambda: mark(submitted_at=now, opened_at=now))  # no reading
    own = ReadingFactory(reader=world.reader1, case=work.case, run=1, modality=session.modality)
    assert violates(lambda: mark(submitted_at=now, opened_at=now, reading=own, version=0))
    assert violates(lambda: mark(submitted_at=now, opened_at=None, reading=own, version=1))
    other_modality = ReadingFactory(reader=world.reader1, case=work.case, run=1, modality=7)
    assert violates(
        lambda: mark(submitted_at=now, opened_at=now, reading=other_modality, version=1)
    )
    others = Reading.objects.get(reader=world.reader2, case=work.case, modality=1)
    assert violates(lambda: mark(submitted_at=now, opened_at=now, reading=others, version=1))
    assert not violates(lambda: mark(submitted_at=now, opened_at=now, reading=own, version=1))


def test_timings_cannot_be_negative(world: ReadingWorld) -> None:
    world.session()
    work = ReadingWork.objects.first()
    assert work is not None
    assert violates(lambda: ReadingWork.objects.filter(pk=work.pk).update(active_seconds=-1))
    assert violates(lambda: ReadingWork.objects.filter(pk=work.pk).update(seconds=-1))


def test_deleting_the_study_removes_sessions_and_entered_readings(world: ReadingWorld) -> None:
    import uuid

    session = world.session()
    work = ReadingWork.objects.filter(assignment__session=session).first()
    assert work is not None
    reading_submit(
        work=work,
        answer=ReadingAnswer(category=4, impression="x"),
        actor=world.user1,
        token=uuid.uuid4(),
        base_version=0,
    )
    study_delete(study=world.study)
    assert not ReadingSession.objects.exists()
    assert not ReadingWork.objects.exists()
    assert not Reading.objects.filter(source="entered").exists()


def test_an_entered_reading_cannot_be_deleted_on_its_own(world: ReadingWorld) -> None:
    import uuid

    from django.db.models import RestrictedError

    session = world.session()
    work = ReadingWork.objects.filter(assignment__session=session).first()
    assert work is not None
    result = reading_submit(
        work=work,
        answer=ReadingAnswer(category=4, impression="x"),
        actor=world.user1,
        token=uuid.uuid4(),
        base_version=0,
    )
    with pytest.raises(RestrictedError):
        result.work.reading.delete()
