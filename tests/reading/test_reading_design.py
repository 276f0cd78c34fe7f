"""Crossover designs (unaided/aided with washout) and editable AI drafts."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from readerstudy.bundles.services import study_delete
from readerstudy.reading.models import ReadingAssignment, ReadingDesign, ReadingSession, ReadingWork
from readerstudy.reading.selectors import (
    ReadingWashoutError,
    reading_assignment_for_user,
    reading_washout_opens_at,
)
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingDesignOptions,
    ReadingSessionError,
    ReadingSessionOptions,
    reading_design_create,
    reading_design_periods,
    reading_session_create,
    reading_session_open,
    reading_submit,
    reading_work_open,
)
from tests.reading.conftest import SECRETS, ReadingWorld


def design(world: ReadingWorld, **overrides: object) -> ReadingDesign:
    base = ReadingSessionOptions(
        name="Crossover", readers=[world.reader1, world.reader2], seed=777, modality=2
    )
    options: dict[str, object] = {
        "base": base,
        "aided_modality": 3,
        "assist_reader": world.model,
        "washout_days": 14,
        "counterbalance": False,
        "ai_draft": True,
    }
    options.update(overrides)
    created = reading_design_create(study=world.study, options=ReadingDesignOptions(**options))  # type: ignore[arg-type]
    for session in created.sessions.all():
        reading_session_open(session=session)
    return created


def assignment(created: ReadingDesign, reader: object, period: int) -> ReadingAssignment:
    return ReadingAssignment.objects.select_related("session", "session__design", "reader").get(
        session__design=created, reader=reader, period=period
    )


def read_all(a: ReadingAssignment, impression: str = "Benign.") -> None:
    for work in ReadingWork.objects.filter(assignment=a).select_related(
        "assignment__session", "case"
    ):
        work = reading_work_open(work=work)
        reading_submit(
            work=work,
            actor=a.reader.user,
            token=uuid.uuid4(),
            base_version=0,
            answer=ReadingAnswer(category=2, probability=10, impression=impression),
        )


def test_a_design_creates_an_unaided_and_an_aided_session_over_the_same_cases(
    world: ReadingWorld,
) -> None:
    created = design(world)
    unaided = created.sessions.get(modality=2)
    aided = created.sessions.get(modality=3)
    assert unaided.assist_reader is None and not unaided.ai_draft
    assert aided.assist_reader == world.model and aided.ai_draft
    cases = lambda s: {c.case_id for c in s.cases.all()}  # noqa: E731
    assert cases(unaided) == cases(aided) == {c.pk for c in world.cases}
    # fixed order: everyone reads unaided first
    assert set(aided.assignments.values_list("period", flat=True)) == {2}
    assert set(unaided.assignments.values_list("period", flat=True)) == {1}
    # case order randomised per reader and condition
    orders = {
        (w.assignment.session.modality, w.assignment.reader.code): []
        for w in ReadingWork.objects.all()
    }
    for w in ReadingWork.objects.order_by("position").select_related(
        "assignment__session", "assignment__reader"
    ):
        orders[(w.assignment.session.modality, w.assignment.reader.code)].append(w.case_id)
    assert unaided.seed != aided.seed
    assert len({tuple(v) for v in orders.values()}) > 1


def test_counterbalancing_starts_half_the_readers_aided_and_is_seeded() -> None:
    codes = [f"R{i}" for i in range(1, 11)]
    periods = reading_design_periods(seed=42, reader_codes=codes)
    assert sorted(periods.values()) == [1] * 5 + [2] * 5
    assert reading_design_periods(seed=42, reader_codes=list(reversed(codes))) == periods
    others = [reading_design_periods(seed=s, reader_codes=codes) for s in range(1, 20)]
    assert any(o != periods for o in others)
    odd = reading_design_periods(seed=1, reader_codes=codes[:5])
    assert sorted(odd.values()) == [1, 1, 2, 2, 2]


def test_counterbalanced_design_gives_each_reader_the_other_condition_in_period_2(
    world: ReadingWorld,
) -> None:
    created = design(world, counterbalance=True)
    for reader in (world.reader1, world.reader2):
        periods = {
            a.session.modality: a.period
            for a in ReadingAssignment.objects.filter(session__design=created, reader=reader)
        }
        assert sorted(periods.values()) == [1, 2]
    aided_first = ReadingAssignment.objects.filter(
        session__design=created, session__modality=3, period=1
    ).count()
    assert aided_first == 1


def test_the_second_condition_is_refused_before_the_washout_and_allowed_after(
    world: ReadingWorld,
) -> None:
    created = design(world)
    second = assignment(created, world.reader1, 2)
    # period 1 unfinished: closed, no date yet
    with pytest.raises(ReadingWashoutError, match="after you finish the first session"):
        reading_assignment_for_user(user=world.user1, token=second.token)
    read_all(assignment(created, world.reader1, 1))
    last = max(
        ReadingWork.objects.filter(assignment=assignment(created, world.reader1, 1)).values_list(
            "submitted_at", flat=True
        )
    )
    opens = last + timedelta(days=14)
    assert reading_washout_opens_at(assignment=second, now=opens - timedelta(minutes=1)) == (
        False,
        opens,
    )
    with pytest.raises(ReadingWashoutError, match=f"opens for you on {opens:%Y-%m-%d}") as exc:
        reading_assignment_for_user(
            user=world.user1, token=second.token, now=last + timedelta(days=13)
        )
    assert exc.value.opens_at == opens
    got = reading_assignment_for_user(user=world.user1, token=second.token, now=opens)
    assert got.pk == second.pk
    # the first condition itself is never held back
    first = assignment(created, world.reader1, 1)
    assert reading_assignment_for_user(user=world.user1, token=first.token).pk == first.pk


def test_the_page_and_the_api_refuse_the_second_condition_with_the_date(
    world: ReadingWorld,
) -> None:
    created = design(world)
    read_all(assignment(created, world.reader1, 1))
    second = assignment(created, world.reader1, 2)
    client = Client()
    client.force_login(world.user1)
    page = client.get(
        reverse("reading-case", kwargs={"token": second.token, "position": 1}), follow=True
    )
    assert "washout of 14 days" in page.content.decode()
    api = client.get(reverse("api-reading-next", kwargs={"token": second.token}))
    assert api.status_code == 403
    assert "opens for you on" in api.json()["detail"]


def test_an_ai_draft_is_prefilled_stored_and_its_edit_distance_kept(world: ReadingWorld) -> None:
    created = design(world, washout_days=0)
    read_all(assignment(created, world.reader1, 1))
    aided = assignment(created, world.reader1, 2)
    work = ReadingWork.objects.select_related("assignment__session", "case").get(
        assignment=aided, position=1
    )
    work = reading_work_open(work=work)
    assert work.draft_shown == SECRETS["model"]
    final = SECRETS["model"] + " Benign X"
    reading_submit(
        work=work,
        actor=world.user1,
        token=uuid.uuid4(),
        base_version=0,
        answer=ReadingAnswer(category=2, impression=final, active_seconds=5.0),
    )
    work.refresh_from_db()
    assert work.reading is not None and work.reading.impression == final
    assert (work.edit_chars, work.edit_words) == (len(" Benign X"), 2)
    assert work.active_seconds is not None


def test_an_ai_draft_needs_an_assisting_model(world: ReadingWorld) -> None:
    with pytest.raises(ReadingSessionError, match="ai_draft"):
        reading_session_create(
            study=world.study,
            options=ReadingSessionOptions(name="x", readers=[world.reader1], ai_draft=True),
        )


def test_a_design_refuses_equal_modalities_and_writes_nothing(world: ReadingWorld) -> None:
    with pytest.raises(ReadingSessionError, match="aided_modality"):
        design(world, aided_modality=2)
    assert not ReadingDesign.objects.exists() and not ReadingSession.objects.exists()


def test_the_aided_case_page_prefills_the_impression_with_the_ai_draft(
    world: ReadingWorld,
) -> None:
    created = design(world, washout_days=0)
    read_all(assignment(created, world.reader1, 1))
    aided = assignment(created, world.reader1, 2)
    client = Client()
    client.force_login(world.user1)
    page = client.get(reverse("reading-case", kwargs={"token": aided.token, "position": 1}))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["impression"] == SECRETS["model"]
    work = ReadingWork.objects.get(assignment=aided, position=1)
    assert work.draft_shown == SECRETS["model"]


def test_without_the_draft_option_the_aided_impression_starts_empty(world: ReadingWorld) -> None:
    created = design(world, washout_days=0, ai_draft=False)
    read_all(assignment(created, world.reader1, 1))
    aided = assignment(created, world.reader1, 2)
    client = Client()
    client.force_login(world.user1)
    page = client.get(reverse("reading-case", kwargs={"token": aided.token, "position": 1}))
    assert not page.context["form"].initial.get("impression")
    work = ReadingWork.objects.get(assignment=aided, position=1)
    assert work.draft_shown == "" and work.edit_chars is None


def test_a_study_with_a_read_crossover_design_can_be_deleted(world: ReadingWorld) -> None:
    created = design(world, washout_days=0)
    read_all(assignment(created, world.reader1, 1))
    read_all(assignment(created, world.reader1, 2), impression=SECRETS["model"] + " X")
    study_delete(study=world.study, delete_files=False)
    assert not ReadingDesign.objects.exists() and not ReadingSession.objects.exists()
