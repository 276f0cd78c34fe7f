"""Adding raters to a draft or open Likert rating session: each gets every item, nobody
else's items, drafts or scores change; refusals; the page; the audit log."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from evaluation.models import LikertScore, Rater, RatingTask
from evaluation.services import RatingError, rating_session_close, rating_submit
from evaluation.services_edit import rating_session_add_raters
from readerstudy.audit.models import AuditEvent
from tests.evaluation.conftest import SessionMaker, World, member

pytestmark = pytest.mark.django_db

FULL = {"correctness": 4, "coherence": 5, "harmlessness": 3}


def items_of(rater: Rater, session: object) -> list[tuple[int, int, bool]]:
    """(item, position, still open) of the rater's tasks in the session, in order."""
    tasks = RatingTask.objects.filter(assignment__rater=rater, assignment__session=session)
    return [(t.item_id, t.position, t.submitted_at is None) for t in tasks.order_by("position")]


def test_an_added_rater_gets_every_item_and_nothing_else_changes(
    world: World, make_session: SessionMaker
) -> None:
    first, second, third = world.rater_profiles()
    session = make_session(raters=[first, second], raters_per_item=1)
    task = RatingTask.objects.filter(assignment__rater=first, assignment__session=session).first()
    assert task is not None
    rating_submit(task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[0])
    before = (items_of(first, session), items_of(second, session), LikertScore.objects.count())
    n_items = session.items.count()
    assert len(before[0]) + len(before[1]) == n_items  # one rater per item so far

    rating_session_add_raters(session=session, raters=[third], actor=world.coordinator)
    assert (items_of(first, session), items_of(second, session)) == before[:2]
    assert LikertScore.objects.count() == before[2]
    added = items_of(third, session)
    assert sorted(i for i, _, _ in added) == sorted(session.items.values_list("pk", flat=True))
    assert [p for _, p, _ in added] == list(range(n_items)) and all(open_ for *_, open_ in added)
    # Seeded: the order is not the session's own, and the same for the same seed and code.
    positions = dict(session.items.values_list("pk", "position"))
    assert [positions[i] for i, _, _ in added] != sorted(positions.values())
    event = AuditEvent.objects.get(action="rating_session_raters_added")
    assert event.details == {"raters": ["rater3"], "items_each": n_items, "status": "open"}
    with pytest.raises(RatingError, match="already in the session: rater3"):
        rating_session_add_raters(session=session, raters=[third])


def test_a_rater_who_scored_these_outputs_or_a_closed_session_is_refused(
    world: World, make_session: SessionMaker
) -> None:
    first, second, third = world.rater_profiles()
    done = make_session(raters=[third], raters_per_item=1)
    task = RatingTask.objects.filter(assignment__session=done).first()
    assert task is not None
    rating_submit(task=task, token=uuid.uuid4(), version=0, scores=FULL, actor=world.raters[2])
    rating_session_close(session=done, actor=world.coordinator)
    session = make_session(raters=[first], raters_per_item=1, start=False)
    with pytest.raises(RatingError, match="already scored") as caught:
        rating_session_add_raters(session=session, raters=[third])
    assert caught.value.field == "raters"
    assert not RatingTask.objects.filter(assignment__rater=third, assignment__session=session)
    rating_session_add_raters(session=session, raters=[second])  # a draft takes raters too
    rating_session_close(session=session, actor=world.coordinator)
    with pytest.raises(RatingError, match="closed"):
        rating_session_add_raters(session=session, raters=[third])


def test_the_page_adds_a_rater_member_and_only_coordinators_see_it(
    world: World, make_session: SessionMaker, client: Client
) -> None:
    first = world.rater_profiles()[0]
    session = make_session(raters=[first], raters_per_item=1)
    newcomer = member(world.study, "rater", "rater4")
    url = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/raters/"
    for user in (world.raters[0], world.statistician, world.reader_user, world.outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"raters": [newcomer.pk]}).status_code == 404
    client.force_login(world.coordinator)
    page = client.get(url).content.decode()
    assert "rater4" in page and "rater1" not in page.split("<form")[1]
    assert client.post(url, {"raters": [newcomer.pk]}).status_code == 302
    rater = Rater.objects.get(study=world.study, user=newcomer)
    assert len(items_of(rater, session)) == session.items.count()
