"""The admin shows reading sessions and their history read-only."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from readerstudy.reading.models import ReadingSession, ReadingSubmission, ReadingWork
from readerstudy.reading.services import ReadingAnswer, reading_submit
from tests.factories import UserFactory
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db


def test_staff_can_inspect_sessions_and_submits_but_change_nothing(world: ReadingWorld) -> None:
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
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in ("readingsession", "readingsubmission", "readingamendment"):
        assert client.get(f"/admin/readerstudy/{model}/").status_code == 200
    assert client.get("/admin/readerstudy/readingsession/add/").status_code == 403
    submission = ReadingSubmission.objects.get()
    assert (
        client.post(f"/admin/readerstudy/readingsubmission/{submission.pk}/delete/").status_code
        == 403
    )
    assert client.post(f"/admin/readerstudy/readingsession/{session.pk}/delete/").status_code == 403
    assert ReadingSession.objects.filter(pk=session.pk).exists()
    assert ReadingSubmission.objects.filter(pk=submission.pk).exists()
