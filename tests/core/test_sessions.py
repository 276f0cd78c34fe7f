"""The one base of the session kinds: fields, states, constraints and transitions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluation.models import RatingSession
from readerstudy.core.sessions import (
    SessionBase,
    SessionOrder,
    SessionStateError,
    SessionStatus,
    session_transition,
    session_transition_check,
)
from readerstudy.reading.models import ReadingSession
from tests.factories import StudyFactory

KINDS = (ReadingSession, RatingSession)

SHARED_FIELDS = (
    "name",
    "seed",
    "order",
    "status",
    "allow_amend",
    "show_location",
    "show_clinical_history",
    "show_findings",
    "show_images",
    "created_by",
    "created_at",
    "updated_at",
    "opened_at",
    "closed_at",
)


def new_session(kind: type[SessionBase], **kw: object) -> SessionBase:
    return kind.objects.create(study=StudyFactory(), name="S", seed=1, **kw)


def violates(fn: Callable[[], object]) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize("kind", KINDS)
def test_both_session_kinds_subclass_the_base_and_share_its_lists(kind: type) -> None:
    assert issubclass(kind, SessionBase)
    assert kind.Status is SessionStatus
    assert kind.Order is SessionOrder
    assert kind._meta.get_field("status").choices == SessionStatus.choices
    assert kind._meta.get_field("order").choices == SessionOrder.choices
    names = {f.name for f in kind._meta.get_fields()}
    assert set(SHARED_FIELDS) <= names
    assert "started_at" not in names


def test_the_kinds_keep_their_own_display_defaults() -> None:
    def default(kind: type[SessionBase], name: str) -> object:
        return kind._meta.get_field(name).default

    assert default(ReadingSession, "show_images") is True
    assert default(ReadingSession, "show_findings") is False
    assert default(RatingSession, "show_images") is False
    assert default(RatingSession, "show_findings") is True
    assert default(RatingSession, "show_clinical_history") is True


def test_the_session_status_list_is_draft_open_closed() -> None:
    assert SessionStatus.values == ["draft", "open", "closed"]
    assert SessionOrder.values == ["random", "fixed"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_shared_constraints_hold_for_both_kinds(kind: type[SessionBase]) -> None:
    now = timezone.now()
    assert violates(lambda: new_session(kind, status="paused"))
    assert violates(lambda: new_session(kind, order="alpha"))
    assert violates(lambda: kind.objects.create(study=StudyFactory(), name="X", seed=-1))
    assert violates(lambda: new_session(kind, status="open"))
    assert violates(lambda: new_session(kind, status="closed", opened_at=now))
    assert not violates(lambda: new_session(kind, status="open", opened_at=now))
    assert not violates(lambda: new_session(kind, status="closed", opened_at=now, closed_at=now))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_opening_a_draft_sets_opened_at_and_closing_sets_closed_at(
    kind: type[SessionBase],
) -> None:
    session = new_session(kind)
    before = timezone.now()
    session_transition(session=session, to=SessionStatus.OPEN)
    session.refresh_from_db()
    assert session.status == "open" and session.is_open
    assert session.opened_at is not None and session.opened_at >= before
    assert session.closed_at is None
    opened = session.opened_at
    session_transition(session=session, to=SessionStatus.CLOSED)
    session.refresh_from_db()
    assert session.status == "closed" and not session.is_open
    assert session.opened_at == opened
    assert session.closed_at is not None and session.closed_at >= opened


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_session_cannot_move_to_the_state_it_is_in(kind: type[SessionBase]) -> None:
    session = new_session(kind)
    session_transition(session=session, to="open")
    with pytest.raises(SessionStateError, match="already open") as info:
        session_transition(session=session, to="open")
    assert info.value.field == "status"
    assert info.value.status == 409
    session_transition(session=session, to="closed")
    with pytest.raises(SessionStateError, match="already closed"):
        session_transition(session=session, to="closed")


@pytest.mark.django_db
def test_a_closed_reading_session_reopens_keeping_its_first_opening_time() -> None:
    session = new_session(ReadingSession)
    session_transition(session=session, to="open")
    first = timezone.now() - timedelta(days=1)
    ReadingSession.objects.filter(pk=session.pk).update(opened_at=first)
    session.refresh_from_db()
    session_transition(session=session, to="closed")
    session_transition(session=session, to="open")
    session.refresh_from_db()
    assert session.status == "open"
    assert session.opened_at == first
    assert session.closed_at is None


@pytest.mark.django_db
def test_a_draft_reading_session_cannot_be_closed() -> None:
    session = new_session(ReadingSession)
    with pytest.raises(SessionStateError, match="only an open session can be closed"):
        session_transition(session=session, to="closed")
    session.refresh_from_db()
    assert session.status == "draft" and session.closed_at is None


@pytest.mark.django_db
def test_a_closed_rating_session_cannot_be_reopened() -> None:
    session = new_session(RatingSession)
    session_transition(session=session, to="open")
    session_transition(session=session, to="closed")
    with pytest.raises(SessionStateError, match="only a draft session can be opened"):
        session_transition(session=session, to="open")
    session.refresh_from_db()
    assert session.status == "closed"


@pytest.mark.django_db
def test_a_draft_rating_session_can_be_closed_and_gets_both_times() -> None:
    session = new_session(RatingSession)
    session_transition(session=session, to="closed")
    session.refresh_from_db()
    assert session.status == "closed"
    assert session.opened_at is not None and session.closed_at is not None


@pytest.mark.django_db
def test_the_check_refuses_without_saving_anything() -> None:
    session = new_session(ReadingSession)
    with pytest.raises(SessionStateError):
        session_transition_check(session=session, to="closed")
    session_transition_check(session=session, to="open")  # allowed: nothing raised
    session.refresh_from_db()
    assert session.status == "draft" and session.opened_at is None


def test_an_unknown_target_state_is_refused() -> None:
    with pytest.raises(ValueError):
        session_transition_check(session=ReadingSession(status="draft"), to="paused")


def test_the_state_error_is_a_value_error_with_a_safe_message() -> None:
    exc = SessionStateError("the session is already open")
    assert isinstance(exc, ValueError)
    assert exc.message == "the session is already open"
    assert str(exc) == "status: the session is already open"
