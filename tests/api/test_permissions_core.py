"""Who may call each core endpoint: a table of (method, path, body) x role -> status.

``ROWS`` is the table (the lead merges it into the global matrix). Each row names a request
built from a ``World`` (tests/api/world_core.py) and the status each caller gets:
``anonymous`` (no token), the four roles of ``api_study``, and ``outsider`` (coordinator and
reader of ``other_study`` only). Rows with other-study or other-person object ids check that
such ids are 404 even for the study's coordinator.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from readerstudy.studies.pseudonyms import pseudonym
from tests.api.world_core import World

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "coordinator", "reader", "rater", "statistician", "outsider")


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: Callable[[World], str]
    expected: dict[str, int]
    body: Callable[[World], Any] | None = None
    format: str = "json"
    extra: dict[str, Any] = field(default_factory=dict)


def statuses(
    *, coordinator: int, statistician: int = 403, reader: int = 403, rater: int = 403
) -> dict[str, int]:
    """Status per caller: outsiders get 404 for everything in ``api_study``."""
    return {
        "anonymous": 401,
        "coordinator": coordinator,
        "reader": reader,
        "rater": rater,
        "statistician": statistician,
        "outsider": 404,
    }


def everyone(code: int, **overrides: int) -> dict[str, int]:
    return {**dict.fromkeys(CALLERS, code), "anonymous": 401, **overrides}


STAFF_READ = statuses(coordinator=200, statistician=200)
COORDINATOR_READ = statuses(coordinator=200)

S = "/api/studies/api-study/"


def _new_reading(w: World) -> list[dict[str, Any]]:
    return [{"reader_id": "R1", "case_id": "C1", "category": 3, "run": 5, "modality": 9}]


def _answer(w: World) -> dict[str, Any]:
    return {"category": 4, "impression": "Suspicious.", "token": str(uuid.uuid4()), "version": 0}


ROWS: list[Row] = [
    # Cases
    Row("cases list", "get", lambda w: S + "cases/", STAFF_READ),
    # A blinded statistician names a case by its pseudonym; its real code is not found.
    Row(
        "case detail", "get", lambda w: S + "cases/C1/", statuses(coordinator=200, statistician=404)
    ),
    Row(
        "case detail by pseudonym",
        "get",
        lambda w: S + f"cases/{pseudonym('api-study', 'case', 'C1')}/",
        statuses(coordinator=404, statistician=200),
    ),
    Row(
        "case of another study",
        "get",
        lambda w: S + f"cases/{w.other_case.code}/",
        statuses(coordinator=404, statistician=404),
    ),
    Row(
        "case create",
        "post",
        lambda w: S + "cases/",
        statuses(coordinator=201),
        body=lambda w: {"code": "NEW1", "truth": 1},
    ),
    Row(
        "case update",
        "patch",
        lambda w: S + "cases/C1/",
        statuses(coordinator=200),
        body=lambda w: {"location": "right breast"},
    ),
    # Readers
    Row("readers list", "get", lambda w: S + "readers/", STAFF_READ),
    Row(
        "reader detail",
        "get",
        lambda w: S + "readers/R1/",
        statuses(coordinator=200, statistician=404),
    ),
    Row(
        "reader detail by pseudonym",
        "get",
        lambda w: S + f"readers/{pseudonym('api-study', 'reader', 'R1')}/",
        statuses(coordinator=404, statistician=200),
    ),
    Row(
        "reader of another study",
        "get",
        lambda w: S + f"readers/{w.other_reader.code}/",
        statuses(coordinator=404, statistician=404),
    ),
    # Readings
    Row("readings list", "get", lambda w: S + "readings/", STAFF_READ),
    Row(
        "readings import",
        "post",
        lambda w: S + "readings/import/",
        statuses(coordinator=201),
        body=_new_reading,
    ),
    # Reading sessions (coordinators)
    Row("reading sessions list", "get", lambda w: S + "reading-sessions/", COORDINATOR_READ),
    Row(
        "reading session detail",
        "get",
        lambda w: S + f"reading-sessions/{w.session.pk}/",
        COORDINATOR_READ,
    ),
    Row(
        "reading session of another study",
        "get",
        lambda w: S + f"reading-sessions/{w.other_session.pk}/",
        statuses(coordinator=404),
    ),
    Row(
        "reading session create",
        "post",
        lambda w: S + "reading-sessions/",
        statuses(coordinator=201),
        body=lambda w: {"name": "New session", "readers": ["R1"], "seed": 1},
    ),
    Row(
        "reading session open (already open)",
        "post",
        lambda w: S + f"reading-sessions/{w.session.pk}/open/",
        statuses(coordinator=409),
    ),
    Row(
        "reading session close",
        "post",
        lambda w: S + f"reading-sessions/{w.session.pk}/close/",
        statuses(coordinator=200),
    ),
    Row(
        "reading session close of another study",
        "post",
        lambda w: S + f"reading-sessions/{w.other_session.pk}/close/",
        statuses(coordinator=404),
    ),
    # Crossover designs (issue 17), adding readers and cloning (issue 15): coordinators
    Row("reading designs list", "get", lambda w: S + "reading-designs/", COORDINATOR_READ),
    Row(
        "reading session clone",
        "post",
        lambda w: S + f"reading-sessions/{w.session.pk}/clone/",
        statuses(coordinator=201),
        body=lambda w: {"name": "Cloned session"},
    ),
    Row(
        "reading session add a reader already in it",
        "post",
        lambda w: S + f"reading-sessions/{w.session.pk}/readers/",
        statuses(coordinator=400),
        body=lambda w: {"readers": ["R1"]},
    ),
    # Generation configurations and runs (coordinators)
    Row("generation configs list", "get", lambda w: S + "generation/configs/", COORDINATOR_READ),
    Row(
        "generation config create",
        "post",
        lambda w: S + "generation/configs/",
        statuses(coordinator=201),
        body=lambda w: {"reader": "M1"},
    ),
    Row("generation runs list", "get", lambda w: S + "generation/runs/", COORDINATOR_READ),
    Row(
        "generation run start without a configuration",
        "post",
        lambda w: S + "generation/runs/",
        statuses(coordinator=400),
        body=lambda w: {"reader": "M1"},
    ),
    Row(
        "generation run that does not exist",
        "get",
        lambda w: S + "generation/runs/999999/",
        statuses(coordinator=404),
    ),
    Row(
        "generation run stop of a missing run",
        "post",
        lambda w: S + "generation/runs/999999/stop/",
        statuses(coordinator=404),
    ),
    # A reader's own work: anyone signed in gets their own list; assignments are the reader's
    Row("assignments list", "get", lambda w: "/api/reading/assignments/", everyone(200)),
    Row(
        "own assignment",
        "get",
        lambda w: f"/api/reading/assignments/{w.assignment.token}/",
        everyone(404, reader=200),
    ),
    Row(
        "another reader's assignment",
        "get",
        lambda w: f"/api/reading/assignments/{w.assignment2.token}/",
        everyone(404),
    ),
    Row(
        "next case",
        "get",
        lambda w: f"/api/reading/assignments/{w.assignment.token}/next/",
        everyone(404, reader=200),
    ),
    Row(
        "case at a position",
        "get",
        lambda w: f"/api/reading/assignments/{w.assignment.token}/cases/1/",
        everyone(404, reader=200),
    ),
    Row(
        "another reader's case",
        "get",
        lambda w: f"/api/reading/assignments/{w.assignment2.token}/cases/1/",
        everyone(404),
    ),
    Row(
        "submit",
        "post",
        lambda w: f"/api/reading/assignments/{w.assignment.token}/cases/1/",
        everyone(404, reader=201),
        body=_answer,
    ),
    Row(
        "submit to another reader's assignment",
        "post",
        lambda w: f"/api/reading/assignments/{w.assignment2.token}/cases/1/",
        everyone(404),
        body=_answer,
    ),
    Row(
        "submit to another study's assignment",
        "post",
        lambda w: f"/api/reading/assignments/{w.other_assignment.token}/cases/1/",
        everyone(404, outsider=201),
        body=_answer,
    ),
    Row(
        "image",
        "get",
        lambda w: (
            f"/api/reading/assignments/{w.assignment.token}/cases/"
            f"{w.assignment.work.get(case=w.cases[0]).position}/images/1/"
        ),
        everyone(404, reader=200),
    ),
    Row(
        "another reader's image",
        "get",
        lambda w: (
            f"/api/reading/assignments/{w.assignment2.token}/cases/"
            f"{w.assignment2.work.get(case=w.cases[0]).position}/images/1/"
        ),
        everyone(404),
    ),
    Row(
        "generation run resume of a missing run",
        "post",
        lambda w: S + "generation/runs/999999/resume/",
        statuses(coordinator=404),
    ),
]

#: URL names of this area (the permission table must cover each of them).
AREA_PREFIXES = ("api-case", "api-reader", "api-reading", "api-generation", "api-assignment")


def _cells() -> list[tuple[Row, str]]:
    return [(row, caller) for row in ROWS for caller in CALLERS]


@pytest.mark.parametrize(("row", "caller"), _cells(), ids=[f"{r.name}-{c}" for r, c in _cells()])
def test_permission_table(world: World, api_as, row: Row, caller: str) -> None:
    expected = row.expected[caller]
    client = api_as(world.user(caller))
    kwargs: dict[str, Any] = {}
    if row.body is not None:
        kwargs = {"data": row.body(world), "format": row.format}
    response = getattr(client, row.method)(row.path(world), **kwargs)
    assert response.status_code == expected, (row.name, caller, response.content[:300])
    if response.status_code in (403, 404) and response.get("Content-Type", "").startswith(
        "application/json"
    ):
        # A refusal says nothing about the object asked for.
        text = response.content.decode()
        for secret in ("SECRET", "OC1", "OR1"):
            assert secret not in text


def test_every_core_url_has_a_row(world: World) -> None:
    from django.urls import resolve

    from readerstudy import api_urls as urls

    names = {
        p.name for p in urls.urlpatterns if (getattr(p, "name", "") or "").startswith(AREA_PREFIXES)
    }
    covered = {resolve(row.path(world).split("?")[0]).url_name for row in ROWS}
    assert names and not names - covered, f"URLs without a row: {sorted(names - covered)}"
