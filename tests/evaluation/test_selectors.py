"""Rater lookups written in SQL (evaluation.selectors, readerstudy.core.db.rows) load exactly what
the ORM loads."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Model
from django.http import Http404

from evaluation import selectors
from evaluation.models import RatingTask
from tests.evaluation.conftest import SessionMaker, World
from tests.evaluation.test_views import FULL, client_for, own_task, post_json

pytestmark = pytest.mark.django_db


def field_values(obj: Model) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


class TestRaterTaskFor:
    def test_the_task_item_assignment_session_and_study_equal_the_orm_instances(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(allow_amend=True)
        task = own_task(session, world.raters[0])
        body = {"token": str(uuid.uuid4()), "version": 0, "scores": FULL}
        client = client_for(world.raters[0])
        response = post_json(client, f"/rating/items/{task.item.public_id}/submit.json", body)
        assert response.status_code == 200
        loaded = selectors.rater_task_for(world.raters[0], task.item.public_id)
        orm = RatingTask.objects.select_related("item", "assignment__session__study").get(
            pk=task.pk
        )
        # JSON, UUID, datetimes and booleans come back converted as the ORM converts them
        assert loaded.draft == FULL and loaded.last_token == uuid.UUID(body["token"])
        assert loaded.submitted_at is not None and loaded.submitted_at.tzinfo is not None
        assert loaded.assignment.session.allow_amend is True
        for mine, theirs in (
            (loaded, orm),
            (loaded.item, orm.item),
            (loaded.assignment, orm.assignment),
            (loaded.assignment.session, orm.assignment.session),
            (loaded.assignment.session.study, orm.assignment.session.study),
        ):
            assert field_values(mine) == field_values(theirs)
            assert not mine._state.adding

    def test_a_rater_removed_from_the_rater_group_gets_a_404(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        task = own_task(session, world.raters[0])
        world.raters[0].groups.clear()
        with pytest.raises(Http404):
            selectors.rater_task_for(world.raters[0], task.item.public_id)


class TestNextPending:
    def test_the_next_item_wraps_around_to_the_first_unsubmitted_one(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        first = own_task(session, world.raters[0], 0)
        tasks = RatingTask.objects.filter(assignment=first.assignment).order_by("position")
        last = tasks.last()
        assert selectors.next_pending_public_id(first) == tasks[1].item.public_id
        assert selectors.next_pending_public_id(last) == first.item.public_id
        tasks.exclude(pk=last.pk).update(submitted_at=last.updated_at)
        assert selectors.next_pending_public_id(last) is None
