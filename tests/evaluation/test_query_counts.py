"""The autosave and submit endpoints run a fixed, small number of statements.

They are the hot path of a rating session (every rater, every item; bench/load_rating.py), so
an extra query per request is a regression. Counts exclude transaction control (BEGIN,
COMMIT, SAVEPOINT), which differs between SQLite and PostgreSQL, and assume the session's
domains are already in the per-process cache (one more SELECT on a process's first request).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.models import LikertScore, RatingSession
from evaluation.selectors import session_domains_cached
from tests.evaluation.conftest import SessionMaker, World
from tests.evaluation.test_views import FULL, client_for, own_task, post_json

pytestmark = pytest.mark.django_db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


def kinds(sqls: list[str]) -> list[str]:
    return [sql.split(None, 1)[0].upper() for sql in sqls]


def started(make_session: SessionMaker) -> RatingSession:
    session = make_session()
    session_domains_cached(session)
    return session


def run(client: Any, url: str, body: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = post_json(client, url, body)
    return response, statements(captured)


class TestAutosave:
    def test_an_autosave_on_a_new_item_is_six_statements(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = started(make_session)
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        url = f"/rating/items/{task.item.public_id}/draft.json"
        response, sqls = run(client, url, {"version": 0, "scores": {"coherence": 2}})
        assert response.status_code == 200, response.content
        # session, user, task with item and assignment, session with study and role check,
        # the draft UPDATE, where the rater is (UPDATE of the assignment)
        assert kinds(sqls) == ["SELECT"] * 4 + ["UPDATE", "UPDATE"], sqls

    def test_further_autosaves_of_the_same_item_are_five_statements(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = started(make_session)
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        url = f"/rating/items/{task.item.public_id}/draft.json"
        post_json(client, url, {"version": 0, "scores": {"coherence": 2}})
        response, sqls = run(client, url, {"version": 1, "scores": {"coherence": 3}})
        assert response.status_code == 200 and response.json()["version"] == 2
        assert kinds(sqls) == ["SELECT"] * 4 + ["UPDATE"], sqls


class TestSubmit:
    def test_a_first_submission_is_six_statements_on_postgresql_eight_on_sqlite(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = started(make_session)
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        url = f"/rating/items/{task.item.public_id}/submit.json"
        body = {"token": str(uuid.uuid4()), "version": 0, "scores": FULL}
        response, sqls = run(client, url, body)
        assert response.status_code == 200 and response.json()["status"] == "submitted"
        # 4 SELECTs as for an autosave; the task claimed by a conditional UPDATE (no row lock
        # taken beforehand), every score in one INSERT, the assignment UPDATE (on PostgreSQL
        # these three are one statement: WITH claimed AS (UPDATE ...) ...), the next item
        writes = ["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "INSERT", "UPDATE"]
        assert kinds(sqls) == ["SELECT"] * 4 + writes + ["SELECT"], sqls
        assert sum(sql.upper().count("INSERT INTO") for sql in sqls) == 1
        assert "FOR UPDATE" not in " ".join(sqls).upper()
        assert LikertScore.objects.filter(rater__user=world.raters[0]).count() == len(FULL)

    def test_a_retry_with_the_same_token_writes_nothing(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = started(make_session)
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        url = f"/rating/items/{task.item.public_id}/submit.json"
        body = {"token": str(uuid.uuid4()), "version": 0, "scores": FULL}
        post_json(client, url, body)
        response, sqls = run(client, url, body)
        assert response.status_code == 200 and response.json()["replayed"]
        assert not {"INSERT", "UPDATE", "DELETE"} & set(kinds(sqls)), sqls
        assert len(sqls) <= 6, sqls
