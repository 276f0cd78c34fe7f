"""``manage.py demo`` opens the demo reading session for r3, r4 and r5."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from analysis.results import results_json, run_analysis
from analysis.selectors import study_data
from fixtures.demo_modalities import CROSSOVER_AIDED, CROSSOVER_UNAIDED, LIVE_DEMO
from readerstudy.reading.models import ReadingAssignment, ReadingDesign, ReadingSession, ReadingWork
from readerstudy.reading.selectors import ReadingWashoutError, reading_assignment_for_user
from readerstudy.studies.models import Reading, Study

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
    assert ReadingSession.objects.get(name="Demo reading").pk == session.pk
    assert ReadingDesign.objects.get().name == "Demo crossover"  # and the same design


@pytest.mark.slow
def test_the_demo_has_a_crossover_with_edited_ai_drafts_and_r3s_aided_session_open() -> None:
    out = StringIO()
    call_command("demo", "--no-images", stdout=out)
    assert "Crossover design 'Demo crossover'" in out.getvalue()
    design = ReadingDesign.objects.get(name="Demo crossover")
    assert (design.washout_days, design.counterbalance) == (28, True)
    unaided, aided = design.sessions.order_by("modality")
    assert (unaided.modality, aided.modality) == (CROSSOVER_UNAIDED, CROSSOVER_AIDED) == (4, 5)
    assert aided.ai_draft and aided.assist_reader.code == "A1"
    assert unaided.is_open and aided.is_open
    assert aided.cases.count() == unaided.cases.count() == 12
    periods = {
        (a.reader.code, a.session.modality): a.period
        for a in ReadingAssignment.objects.filter(session__design=design).select_related(
            "reader", "session"
        )
    }
    assert periods == {("R3", 4): 1, ("R3", 5): 2, ("R4", 4): 2, ("R4", 5): 1,
                       ("R5", 4): 1, ("R5", 5): 2}  # fmt: skip
    done = {
        code: ReadingWork.objects.filter(
            assignment__session=aided, assignment__reader__code=code, submitted_at__isnull=False
        ).count()
        for code in ("R3", "R4", "R5")
    }
    assert done == {"R3": 0, "R4": 12, "R5": 12}
    # r3 has finished period 1 long enough ago: the aided session is open for them
    r3_aided = ReadingAssignment.objects.get(session=aided, reader__code="R3")
    assert reading_assignment_for_user(user=r3_aided.reader.user, token=r3_aided.token)
    client = Client()
    assert client.login(username="r3", password="demo")
    page = client.get(f"/reading/{r3_aided.token}/", follow=True).content.decode()
    assert "Case 1 of 12" in page and "AI suggestion" in page
    # R5 (unaided first) read the aided condition 35 days after the unaided one
    r5 = {
        a.period: max(w.submitted_at for w in a.work.all())
        for a in ReadingAssignment.objects.filter(session__design=design, reader__code="R5")
    }
    assert (r5[2] - r5[1]).days >= 28
    # a fresh aided period 2 inside the washout would be refused: the rule still holds
    r4_unaided = ReadingAssignment.objects.get(session=unaided, reader__code="R4")
    assert r4_unaided.period == 2
    with pytest.raises(ReadingWashoutError):
        reading_assignment_for_user(
            user=r4_unaided.reader.user,
            token=r4_unaided.token,
            now=min(w.submitted_at for w in r4_unaided.work.all()) - timedelta(days=30),
        )

    doc = results_json(run_analysis(study_data(Study.objects.get(slug="nme-gpt4o-demo"))))
    edits = {(e["reader"], e["modality"]): e for e in doc["edits"]}
    assert set(edits) == {("R4", 5), ("R5", 5)}
    assert all(e["n"] == 12 and e["edit_distance_iqr"][1] > 0 for e in edits.values())
    assert all(e["drafting_seconds_median"] > 0 for e in edits.values())
    # the partly read crossover leaves the MRMC of modalities 1 and 2 as it was
    assert {tuple(m["modalities"]) for m in doc["mrmc"]} == {(1, 2)}
    dropped = " ".join(n["message"] for n in doc["notes"] if n["code"] == "mrmc-modality-dropped")
    assert "modality 4" in dropped and "modality 5" in dropped, dropped
