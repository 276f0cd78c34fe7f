"""``manage.py demo`` opens the demo reading session for r3, r4 and r5."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from fixtures.demo_modalities import LIVE_DEMO
from readerstudy.reading.models import ReadingSession, ReadingWork
from readerstudy.studies.models import Reading

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_the_demo_opens_a_ready_reading_session_for_the_three_radiologists() -> None:
    out = StringIO()
    call_command("demo", "--no-images", stdout=out)
    assert "Reading session 'Demo reading' is open for r3, r4 and r5" in out.getvalue()
    session = ReadingSession.objects.get(name="Demo reading")
    assert session.status == "open" and session.split == "test"
    assert (session.run, session.modality) == (1, LIVE_DEMO) == (1, 3)
    assert session.show_images and session.show_location and session.show_clinical_history
    assert not session.show_findings
    assert list(session.assignments.values_list("reader__user__username", flat=True)) == [
        "r3",
        "r4",
        "r5",
    ]
    assert ReadingWork.objects.filter(assignment__session=session).count() == 3 * 114
    # the imported readings (modality 1 unaided, 2 AI-assisted) are untouched and the readers
    # have everything to do
    assert not Reading.objects.filter(modality=LIVE_DEMO).exists()
    assert Reading.objects.filter(reader__code="R3", modality=1).count() == 114
    assert Reading.objects.filter(reader__code="R3", modality=2).count() == 114

    client = Client()
    assert client.login(username="r4", password="demo")
    resume = client.get(f"/reading/{session.assignments.get(reader__code='R4').token}/")
    assert resume.status_code == 302
    page = client.get(resume["Location"])
    assert page.status_code == 200 and "Case 1 of 114" in page.content.decode()

    call_command("demo", "--no-images", stdout=StringIO())  # again: the same session
    assert ReadingSession.objects.get().pk == session.pk
