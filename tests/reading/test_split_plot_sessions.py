"""Split-plot reading sessions: readers in groups, each group reading its own disjoint,
seeded, truth-balanced block of the session's cases (service, session form and API)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.reading.forms import ReadingSessionForm
from readerstudy.reading.models import ReadingSession, ReadingWork
from readerstudy.reading.services import ReadingSessionError, split_plot_blocks
from tests.factories import CaseFactory, ReaderFactory
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db


def cases_read(session: ReadingSession) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for w in ReadingWork.objects.filter(assignment__session=session).select_related(
        "assignment__reader", "case"
    ):
        out.setdefault(w.assignment.reader.code, []).append(w.case.code)
    return out


def test_two_groups_read_disjoint_blocks_of_the_session(world: ReadingWorld) -> None:
    session = world.session(split_plot_groups=2, open=False)
    read = cases_read(session)
    assert set(read) == {"R1", "R2"}
    a, b = (set(v) for v in read.values())
    assert not a & b
    assert a | b == {c.code for c in world.cases}
    # truth-balanced: 3 positives and 2 negatives split 2/1 and 1/1
    truth = {c.code: c.truth for c in world.cases}
    for block in (a, b):
        assert {truth[c] for c in block} == {0, 1}
    # the session still holds every case; the audit event records the groups
    assert session.cases.count() == 5
    event = AuditEvent.objects.get(action="reading_session_created")
    groups = event.details["split_plot_groups"]
    assert sorted(len(g["readers"]) for g in groups) == [1, 1]
    assert sorted(g["cases"] for g in groups) == [2, 3]


def test_the_blocks_are_seeded(world: ReadingWorld) -> None:
    def plan(seed: int) -> list[tuple[list[str], list[str]]]:
        return [
            ([r.code for r in g], [c.code for c in b])
            for g, b in split_plot_blocks(
                seed=seed, readers=[world.reader1, world.reader2], cases=world.cases, groups=2
            )
        ]

    assert plan(1) == plan(1)
    assert len({str(plan(s)) for s in range(20)}) > 1


def test_groups_are_balanced_in_readers_and_cases(db: None) -> None:
    study = CaseFactory().study
    readers = [ReaderFactory(study=study, code=f"X{i}", position=i) for i in range(7)]
    cases = [
        CaseFactory(study=study, code=f"K{i}", truth=int(i < 13), position=i) for i in range(30)
    ]
    plan = split_plot_blocks(seed=5, readers=readers, cases=cases, groups=3)
    assert sorted(len(g) for g, _ in plan) == [2, 2, 3]
    assert sorted(sum(c.truth for c in b) for _, b in plan) == [4, 4, 5]
    assert sorted(len(b) for _, b in plan) == [10, 10, 10]
    assert sorted(c.code for _, b in plan for c in b) == sorted(c.code for c in cases)
    # each block keeps the session's case order
    for _, block in plan:
        assert [c.position for c in block] == sorted(c.position for c in block)


def test_more_groups_than_readers_is_refused(world: ReadingWorld) -> None:
    with pytest.raises(ReadingSessionError, match="split_plot_groups"):
        world.session(split_plot_groups=3, open=False)
    assert not ReadingSession.objects.exists()


def test_the_form_names_the_field(world: ReadingWorld) -> None:
    data: dict[str, Any] = {
        "name": "Split",
        "split": "test",
        "readers": [world.reader1.pk, world.reader2.pk],
        "order": "random",
        "run": 1,
        "modality": 3,
        "split_plot_groups": 3,
    }
    form = ReadingSessionForm(data, study=world.study)
    assert not form.is_valid()
    assert form.errors["split_plot_groups"] == ["More groups (3) than chosen readers (2)."]
    form = ReadingSessionForm({**data, "split_plot_groups": 2}, study=world.study)
    assert form.is_valid(), form.errors
    assert form.options().split_plot_groups == 2
    assert "Reader groups (split-plot)" in str(form["split_plot_groups"].label_tag())


def test_the_api_creates_a_split_plot_session(world: ReadingWorld) -> None:
    api = APIClient()
    api.force_authenticate(world.coordinator)
    url = "/api/studies/nme/reading-sessions/"
    body = {"name": "API split", "readers": ["R1", "R2"], "seed": 7, "split_plot_groups": 2}
    response = api.post(url, body, format="json")
    assert response.status_code == 201, response.json()
    read = cases_read(ReadingSession.objects.get(name="API split"))
    assert sum(len(v) for v in read.values()) == 5
    bad = api.post(url, {**body, "name": "x", "split_plot_groups": 5}, format="json")
    assert bad.status_code == 400
    assert "split_plot_groups" in bad.json()["errors"]
