"""Pairwise and acceptability pages: creation from the form, blinded pages, submit and amend."""

from __future__ import annotations

import re
import uuid

import pytest

from evaluation.models import (
    AcceptabilityGrade,
    Instrument,
    JudgmentAmendment,
    PairwisePreference,
    RatingSession,
    RatingTask,
)
from readerstudy.studies.models import Case
from tests.evaluation.conftest import READERS, SessionMaker, World
from tests.evaluation.test_views import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def references(world: World) -> None:
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference impression of {case.code}: benign enhancement."
        case.save()


def first_task(session: RatingSession, user: object) -> RatingTask:
    return RatingTask.objects.select_related("item").get(
        assignment__session=session, assignment__rater__user=user, position=0
    )


def test_creating_a_pairwise_session_from_the_form(world: World, references: None) -> None:
    client = client_for(world.coordinator)
    url = f"/studies/{world.study.slug}/rating/sessions/new/"
    page = client.get(url).content.decode()
    assert "Pairwise preference" in page and "Pairs of sources" in page
    response = client.post(
        url,
        {
            "name": "Pairs",
            "instrument": "pairwise",
            "pairs": "M1 vs M2\nM2 vs reference",
            "runs": ["1"],
            "raters": [u.pk for u in world.raters],
            "raters_per_item": "1",
            "order": "random",
        },
    )
    session = RatingSession.objects.get(name="Pairs")
    assert response.status_code == 302
    assert session.instrument == Instrument.PAIRWISE
    assert session.items.count() == 8
    assert session.selection["pairs"] == [["M1", "M2"], ["M2", "reference"]]


def test_the_form_names_a_bad_pair_line(world: World) -> None:
    client = client_for(world.coordinator)
    response = client.post(
        f"/studies/{world.study.slug}/rating/sessions/new/",
        {
            "name": "Pairs",
            "instrument": "pairwise",
            "pairs": "M1 and M2",
            "runs": ["1"],
            "raters": [world.raters[0].pk],
            "order": "random",
        },
    )
    assert response.status_code == 200
    assert "line 1: write" in response.content.decode()
    assert not RatingSession.objects.exists()


def test_a_pairwise_page_shows_a_and_b_without_any_source_and_submits_by_position(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = make_session(
        instrument=Instrument.PAIRWISE,
        pairs=[("M1", "reference")],
        domains=[],
        runs=[1],
        raters_per_item=1,
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    user = world.raters[0]
    client = client_for(user)
    task = first_task(session, user)
    page = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
    assert "A better" in page and "B better" in page and "judgment.js" in page
    for code, _kind, label in READERS:
        assert f">{code}<" not in page and label not in page
    shown = page.lower().replace("reference impression of", "")
    assert not re.search(r"\breference\b", shown)
    left, right = (
        (task.item.display_text, task.item.display_text_b)
        if task.item.left == "a"
        else (task.item.display_text_b, task.item.display_text)
    )
    assert page.index(left) < page.index(right)
    response = client.post(
        f"/rating/items/{task.item.public_id}/",
        {"version": "0", "token": str(uuid.uuid4()), "action": "submit", "choice": "right"},
    )
    assert response.status_code == 302
    row = PairwisePreference.objects.get(source=PairwisePreference.Source.ENTERED)
    assert row.choice == ("b" if task.item.left == "a" else "a")
    assert row.reading_b_id is None and row.source == "entered"
    task.refresh_from_db()
    client.post(
        f"/rating/items/{task.item.public_id}/",
        {"version": str(task.version), "token": str(uuid.uuid4()), "choice": "tie"},
    )
    row.refresh_from_db()
    assert row.choice == "tie"
    assert JudgmentAmendment.objects.get().before == {"choice": "right"}


def test_an_acceptability_page_offers_the_scale_and_saves_drafts_by_json(
    world: World, make_session: SessionMaker
) -> None:
    session = make_session(
        instrument=Instrument.ACCEPTABILITY, domains=[], runs=[1], raters_per_item=1
    )
    user = world.raters[0]
    client = client_for(user)
    task = first_task(session, user)
    page = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
    assert "acceptable without changes" in page and "unacceptable" in page
    saved = client.post(
        f"/rating/items/{task.item.public_id}/draft.json",
        {"version": 0, "scores": {"grade": 2}},
        content_type="application/json",
    )
    assert saved.json() == {"version": 1}
    bad = client.post(
        f"/rating/items/{task.item.public_id}/draft.json",
        {"version": 1, "scores": {"grade": 9}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "grade"
    done = client.post(
        f"/rating/items/{task.item.public_id}/submit.json",
        {"version": 1, "token": str(uuid.uuid4())},
        content_type="application/json",
    )
    assert done.json()["status"] == "submitted"
    assert AcceptabilityGrade.objects.get(source=AcceptabilityGrade.Source.ENTERED).grade == 2
    assert client.get(f"/rating/items/{task.item.public_id}/review/").status_code == 302


def test_the_coordinator_pages_of_a_pairwise_session_work_and_the_key_names_both_sides(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = make_session(
        instrument=Instrument.PAIRWISE,
        pairs=[("M1", "M2"), ("M1", "reference")],
        domains=[],
        runs=[1],
        raters_per_item=1,
        start=False,
    )
    client = client_for(world.coordinator)
    base = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
    for url in (base, f"{base}key/", f"{base}key.csv", f"{base}randomisation.csv"):
        assert client.get(url).status_code == 200, url
    lines = client.get(f"{base}key.csv").content.decode().splitlines()
    header = lines[0].split(",")
    assert header[-2:] == ["reader_b_id", "left"]
    sides = {tuple(line.split(",")[-2:]) for line in lines[1:]}
    assert {b for b, _ in sides} == {"M2", "reference"} and {s for _, s in sides} == {"a", "b"}
    assert client.get(f"/studies/{world.study.slug}/rating/").status_code == 200
