"""Reading-session services: creation and orders, timing, idempotent and optimistic submits,
amendments, closing and the demo session."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.core.randomisation import permutation
from readerstudy.core.sessions import SessionStateError
from readerstudy.reading.models import (
    ReadingAmendment,
    ReadingSession,
    ReadingSubmission,
    ReadingWork,
)
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingSessionError,
    ReadingSessionOptions,
    ReadingTokenError,
    reading_session_close,
    reading_session_create,
    reading_session_delete,
    reading_session_open,
    reading_submit,
    reading_work_open,
)
from readerstudy.studies.models import Reading
from tests.factories import CaseFactory, ReaderFactory, ReadingFactory
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db

Outcome = ReadingSubmission.Outcome


def order_of(session: ReadingSession, reader: object) -> list[str]:
    return list(
        ReadingWork.objects.filter(assignment__session=session, assignment__reader=reader)
        .order_by("position")
        .values_list("case__code", flat=True)
    )


def first_work(session: ReadingSession, reader: object, position: int = 1) -> ReadingWork:
    return ReadingWork.objects.select_related("assignment__session").get(
        assignment__session=session, assignment__reader=reader, position=position
    )


def submit(work: ReadingWork, user: object, **kw: object) -> object:
    options: dict[str, object] = {
        "token": uuid.uuid4(),
        "base_version": work.version,
        "category": 4,
        "probability": 80,
        "impression": "Segmental NME, BI-RADS 4.",
    }
    options.update(kw)
    token, base_version = options.pop("token"), options.pop("base_version")
    return reading_submit(
        work=work,
        actor=user,
        token=token,  # type: ignore[arg-type]
        base_version=base_version,  # type: ignore[arg-type]
        answer=ReadingAnswer(**options),  # type: ignore[arg-type]
    )


# --- creation and randomisation -------------------------------------------------------------


def test_each_reader_gets_the_seeded_permutation_of_the_session_cases(world: ReadingWorld) -> None:
    session = world.session(seed=987654321)
    codes = [c.code for c in world.cases]  # session order = the study's case order
    for reader in (world.reader1, world.reader2):
        expected = [codes[i] for i in permutation(987654321, reader.code, len(codes))]
        assert order_of(session, reader) == expected
    assert order_of(session, world.reader1) != order_of(session, world.reader2)


def test_the_same_seed_reproduces_the_same_orders_in_another_session(world: ReadingWorld) -> None:
    first = world.session(name="A", seed=77, modality=2)
    second = world.session(name="B", seed=77, modality=3)
    assert order_of(first, world.reader1) == order_of(second, world.reader1)
    assert order_of(first, world.reader2) == order_of(second, world.reader2)


def test_a_new_seed_is_drawn_and_stored_when_none_is_given(world: ReadingWorld) -> None:
    session = world.session(seed=None)
    assert 0 <= session.seed < 2**63
    codes = [c.code for c in world.cases]
    expected = [codes[i] for i in permutation(session.seed, "R1", 5)]
    assert order_of(session, world.reader1) == expected


def test_fixed_order_follows_the_listed_case_subset_for_everyone(world: ReadingWorld) -> None:
    subset = [world.cases[3], world.cases[0], world.cases[2]]
    session = world.session(order="fixed", cases=subset)
    expected = [c.code for c in subset]
    assert order_of(session, world.reader1) == expected
    assert order_of(session, world.reader2) == expected


def test_by_default_a_session_reads_every_case_of_its_split(world: ReadingWorld) -> None:
    test_session = world.session(name="test")
    assert test_session.cases.count() == 5
    train_session = world.session(name="train", split="train")
    assert list(train_session.cases.values_list("case__code", flat=True)) == ["TRAIN1"]


BAD_SETTINGS = {
    "modality": lambda w: {"modality": 1, "readers": [w.reader2]},  # R2's imported readings
    "readers": lambda w: {"readers": []},
    "readers-model": lambda w: {"readers": [w.model]},
    "cases": lambda w: {"cases": [w.train_case]},
    "cases-foreign": lambda w: {"cases": [CaseFactory()]},
    "assist_reader": lambda w: {"assist_reader": w.reader1},
    "name": lambda w: {"name": "  "},
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_creation_refuses_bad_settings_naming_the_field_and_writes_nothing(
    world: ReadingWorld, case: str
) -> None:
    with pytest.raises(ReadingSessionError) as excinfo:
        world.session(**BAD_SETTINGS[case](world))
    assert excinfo.value.field == case.split("-")[0]
    assert not ReadingSession.objects.exists()
    assert not ReadingWork.objects.exists()


def test_a_reader_without_an_account_cannot_be_assigned(world: ReadingWorld) -> None:
    nobody = ReaderFactory(study=world.study, code="R9")
    with pytest.raises(ReadingSessionError, match="no user account"):
        world.session(readers=[nobody])


def test_two_sessions_cannot_give_a_reader_the_same_case_at_the_same_modality(
    world: ReadingWorld,
) -> None:
    world.session(name="A", cases=world.cases[:3])
    with pytest.raises(ReadingSessionError, match="session 'A' already assigns 1"):
        world.session(name="B", cases=world.cases[2:])
    world.session(name="C", cases=world.cases[3:])  # disjoint cases: fine


# --- opening, timing ------------------------------------------------------------------------


def test_opened_at_is_set_on_first_view_only(world: ReadingWorld) -> None:
    session = world.session()
    work = first_work(session, world.reader1)
    reading_work_open(work=work)
    first = work.opened_at
    assert first is not None
    work = first_work(session, world.reader1)
    reading_work_open(work=work)
    assert work.opened_at == first


def test_nothing_is_timed_in_a_draft_session(world: ReadingWorld) -> None:
    session = world.session(open=False)
    work = first_work(session, world.reader1)
    reading_work_open(work=work)
    assert work.opened_at is None


def test_a_first_submit_creates_the_entered_reading_with_server_time(world: ReadingWorld) -> None:
    session = world.session()
    work = first_work(session, world.reader1)
    reading_work_open(work=work)
    ReadingWork.objects.filter(pk=work.pk).update(opened_at=timezone.now() - timedelta(seconds=90))
    work.refresh_from_db()
    result = submit(work, world.user1, active_seconds=600.0)
    assert result.outcome == Outcome.SAVED
    reading = Reading.objects.get(reader=world.reader1, case=work.case, run=1, modality=2)
    assert reading.source == "entered"
    assert reading.category == 4 and reading.score == pytest.approx(0.8)
    assert reading.impression == "Segmental NME, BI-RADS 4."
    assert 90 <= reading.seconds < 100
    work.refresh_from_db()
    assert work.version == 1 and work.reading == reading and work.seconds == reading.seconds
    # the browser's active time cannot exceed the server's opened -> submitted time
    assert work.active_seconds == pytest.approx(reading.seconds)


def test_without_a_probability_the_reading_has_no_score(world: ReadingWorld) -> None:
    work = first_work(world.session(), world.reader1)
    submit(work, world.user1, probability=None, active_seconds=None)
    work.refresh_from_db()
    assert work.reading.score is None and work.active_seconds is None


# --- nothing lost ---------------------------------------------------------------------------


def test_a_retried_submit_returns_the_same_result_without_duplicating(world: ReadingWorld) -> None:
    work = first_work(world.session(), world.reader1)
    token = uuid.uuid4()
    first = submit(work, world.user1, token=token)
    again = submit(work, world.user1, token=token, base_version=0, category=2)
    assert first.outcome == again.outcome == Outcome.SAVED
    assert again.replayed
    assert Reading.objects.filter(reader=world.reader1, modality=2).count() == 1
    assert Reading.objects.get(reader=world.reader1, modality=2).category == 4
    assert ReadingSubmission.objects.filter(token=token).count() == 1


def test_a_token_of_another_case_is_refused(world: ReadingWorld) -> None:
    session = world.session()
    token = uuid.uuid4()
    submit(first_work(session, world.reader1), world.user1, token=token)
    with pytest.raises(ReadingTokenError):
        submit(first_work(session, world.reader1, 2), world.user1, token=token)


def test_a_stale_submit_is_a_conflict_that_keeps_both_answers(world: ReadingWorld) -> None:
    work = first_work(world.session(allow_amend=True), world.reader1)
    submit(work, world.user1, impression="first tab")
    stale = submit(work, world.user1, base_version=0, category=2, impression="second tab")
    assert stale.outcome == Outcome.CONFLICT and not stale.accepted
    reading = Reading.objects.get(reader=world.reader1, modality=2)
    assert reading.impression == "first tab"  # nothing overwritten
    kept = ReadingSubmission.objects.get(outcome=Outcome.CONFLICT)
    assert kept.payload["impression"] == "second tab" and kept.base_version == 0
    assert not ReadingAmendment.objects.exists()


def test_amendments_keep_history_and_are_audited(world: ReadingWorld) -> None:
    work = first_work(world.session(allow_amend=True), world.reader1)
    submit(work, world.user1, category=4, probability=80, impression="v1")
    work.refresh_from_db()
    result = submit(work, world.user1, category=5, probability=95, impression="v2")
    assert result.outcome == Outcome.AMENDED
    work.refresh_from_db()
    assert work.version == 2
    amendment = ReadingAmendment.objects.get()
    assert amendment.username == "reader1" and amendment.version == 2
    assert amendment.before == {"category": 4, "score": 0.8, "impression": "v1"}
    assert amendment.after == {"category": 5, "score": 0.95, "impression": "v2"}
    reading = work.reading
    reading.refresh_from_db()
    assert (reading.category, reading.impression) == (5, "v2")
    event = AuditEvent.objects.get(action="reading_amended")
    assert event.actor == world.user1 and event.target == f"reading {reading.pk}"
    assert event.details["version"] == 2


def test_an_identical_resubmit_changes_nothing(world: ReadingWorld) -> None:
    work = first_work(world.session(allow_amend=True), world.reader1)
    submit(work, world.user1)
    work.refresh_from_db()
    assert submit(work, world.user1).outcome == Outcome.UNCHANGED
    work.refresh_from_db()
    assert work.version == 1 and not ReadingAmendment.objects.exists()


def test_amendments_are_refused_when_the_session_does_not_allow_them(world: ReadingWorld) -> None:
    work = first_work(world.session(allow_amend=False), world.reader1)
    submit(work, world.user1, impression="v1")
    work.refresh_from_db()
    result = submit(work, world.user1, impression="v2")
    assert result.outcome == Outcome.REFUSED
    assert Reading.objects.get(reader=world.reader1, modality=2).impression == "v1"
    assert ReadingSubmission.objects.get(outcome=Outcome.REFUSED).payload["impression"] == "v2"


def test_a_closed_session_refuses_submits_and_deletes_nothing(world: ReadingWorld) -> None:
    session = world.session()
    submit(first_work(session, world.reader1), world.user1)
    counts = (
        Reading.objects.count(),
        ReadingWork.objects.count(),
        ReadingSubmission.objects.count(),
        session.cases.count(),
        session.assignments.count(),
    )
    reading_session_close(session=session, actor=world.coordinator)
    session.refresh_from_db()
    assert session.status == "closed" and session.closed_at is not None
    assert (
        Reading.objects.count(),
        ReadingWork.objects.count(),
        ReadingSubmission.objects.count(),
        session.cases.count(),
        session.assignments.count(),
    ) == counts
    result = submit(first_work(session, world.reader1, 2), world.user1)
    assert result.outcome == Outcome.REFUSED
    assert Reading.objects.count() == counts[0]
    assert AuditEvent.objects.filter(action="reading_session_closed").exists()


def test_a_closed_session_can_be_reopened_and_only_drafts_deleted(world: ReadingWorld) -> None:
    session = world.session()
    with pytest.raises(SessionStateError, match="already open"):
        reading_session_open(session=session)
    with pytest.raises(SessionStateError, match="only a draft"):
        reading_session_delete(session=session)
    reading_session_close(session=session)
    with pytest.raises(SessionStateError, match="already closed"):
        reading_session_close(session=session)
    reading_session_open(session=session)
    assert session.status == "open" and session.closed_at is None
    draft = world.session(name="draft", modality=5, open=False)
    with pytest.raises(SessionStateError, match="only an open"):
        reading_session_close(session=draft)
    reading_session_delete(session=draft)
    assert not ReadingSession.objects.filter(name="draft").exists()


def test_an_answer_existing_outside_the_session_is_never_overwritten(world: ReadingWorld) -> None:
    session = world.session()
    work = first_work(session, world.reader1)
    # imported after the session was created, at the session's run and modality
    ReadingFactory(reader=world.reader1, case=work.case, run=1, modality=2, impression="import")
    result = submit(work, world.user1)
    assert result.outcome == Outcome.CONFLICT
    assert Reading.objects.get(reader=world.reader1, case=work.case, modality=2).impression == (
        "import"
    )


def test_the_demo_session_reads_the_test_split_as_modality_three(world: ReadingWorld) -> None:
    from fixtures.demo_sessions import READING_SESSION_NAME as DEMO_SESSION_NAME
    from fixtures.demo_sessions import reading_session_demo_create

    world.reader1.code = "R3"
    world.reader1.save()
    imported = Reading.objects.count()
    session = reading_session_demo_create(study=world.study)
    assert session.name == DEMO_SESSION_NAME and session.status == "open"
    # modality 1 unaided and 2 AI-assisted are the demo's imported readings
    assert session.modality == 3 and session.show_images and session.show_clinical_history
    assert list(session.assignments.values_list("reader__code", flat=True)) == ["R3"]
    assert session.cases.count() == 5
    assert reading_session_demo_create(study=world.study).pk == session.pk
    assert Reading.objects.count() == imported


def test_sessions_record_who_created_them_in_the_audit_log(world: ReadingWorld) -> None:
    session = reading_session_create(
        study=world.study,
        options=ReadingSessionOptions(name="Audited", readers=[world.reader1]),
        actor=world.coordinator,
    )
    assert session.created_by == world.coordinator
    event = AuditEvent.objects.get(action="reading_session_created")
    assert event.actor == world.coordinator and event.details["readers"] == ["R1"]


def _race(work_pk: int, user: object, tokens: list[uuid.UUID]) -> list[str]:
    """Submit once per token from parallel threads (own connections), all at once."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(tokens))
    outcomes: list[str] = []

    def run(token: uuid.UUID) -> None:
        try:
            work = ReadingWork.objects.get(pk=work_pk)
            barrier.wait()
            result = reading_submit(
                work=work,
                answer=ReadingAnswer(category=3, impression="t"),
                actor=user,
                token=token,
                base_version=0,
            )
            outcomes.append(result.outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_submits_save_one_answer_and_keep_the_other(world: ReadingWorld) -> None:
    work = first_work(world.session(), world.reader1)
    outcomes = _race(work.pk, world.user1, [uuid.uuid4(), uuid.uuid4()])
    assert outcomes == [Outcome.CONFLICT, Outcome.SAVED]
    assert Reading.objects.filter(reader=world.reader1, modality=2).count() == 1
    assert ReadingSubmission.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_submit_save_it_once(world: ReadingWorld) -> None:
    work = first_work(world.session(), world.reader1)
    token = uuid.uuid4()
    assert _race(work.pk, world.user1, [token, token, token]) == [Outcome.SAVED] * 3
    assert Reading.objects.filter(reader=world.reader1, modality=2).count() == 1
    assert ReadingSubmission.objects.count() == 1
