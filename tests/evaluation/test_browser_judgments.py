"""Pairwise and acceptability pages in Debian's Chromium: a rater answers with the keyboard
only, leaves, resumes where they left, and finishes; every answer is stored as a judgment."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from evaluation.models import (
    AcceptabilityGrade,
    Instrument,
    PairwisePreference,
    RatingSession,
    RatingTask,
)
from readerstudy.studies.models import Case
from tests.browser import PageMaker, sign_in
from tests.evaluation.conftest import READERS, SessionMaker, World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer_by_keyboard(page: Page, keys: list[str]) -> None:
    """Press ``keys`` on the current item, wait for the autosave, then Enter (submit)."""
    url = page.url
    for key in keys:
        page.keyboard.press(key)
        expect(page.locator("#save-status")).to_have_text("Draft saved.")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url)


def tasks(session: RatingSession) -> list[RatingTask]:
    return list(
        RatingTask.objects.filter(assignment__session=session)
        .select_related("item")
        .order_by("position")
    )


def assert_blind(page: Page) -> None:
    html = page.content()
    for code, _kind, label in READERS:
        assert f">{code}<" not in html and label not in html


def test_a_rater_completes_a_pairwise_session_by_keyboard_leaving_and_resuming(
    new_page: PageMaker, live_server: Any, world: World, make_session: SessionMaker
) -> None:
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference impression of {case.code}."
        case.save()
    session = make_session(
        instrument=Instrument.PAIRWISE,
        pairs=[("M1", "M2"), ("M1", "reference")],
        domains=[],
        runs=[1],
        raters_per_item=1,
        raters=world.rater_profiles()[:1],
    )
    mine = tasks(session)
    assert len(mine) == 8
    page = new_page()
    sign_in(page, live_server.url, world.raters[0].username)
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert page.url.endswith(f"/rating/items/{mine[0].item.public_id}/")
    assert page.locator("#output-a").inner_text() == "A"
    assert page.locator("#output-b").inner_text() == "B"
    assert_blind(page)
    # Item 1: A better (left), strength 4; item 2: B better; item 3: equivalent (↓).
    answer_by_keyboard(page, ["ArrowLeft", "4"])
    answer_by_keyboard(page, ["ArrowRight"])
    page.keyboard.press("ArrowDown")
    expect(page.locator("#save-status")).to_have_text("Draft saved.")
    # Leave with item 3 answered as a draft only, then come back.
    page.goto(f"{live_server.url}/rating/")
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert page.url.endswith(f"/rating/items/{mine[2].item.public_id}/")
    assert page.locator('input[name="choice"][value="tie"]').is_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: mine[2].item.public_id not in u)
    for _ in range(5):
        assert_blind(page)
        answer_by_keyboard(page, ["="])
    assert page.url.endswith(f"/rating/sessions/{session.pk}/")
    stored = {(p.reading_a_id, p.reading_b_id): p for p in PairwisePreference.objects.all()}
    assert len(stored) == 8
    first, second = mine[0].item, mine[1].item
    pref = stored[(first.reading_id, first.reading_b_id)]
    assert (pref.choice, pref.strength, pref.left) == (first.left, 4, first.left)
    other = "b" if second.left == "a" else "a"
    assert stored[(second.reading_id, second.reading_b_id)].choice == other
    assert sum(1 for p in stored.values() if p.choice == "tie") == 6
    assert not page.js_errors  # type: ignore[attr-defined]


def test_a_rater_completes_an_acceptability_session_by_keyboard_leaving_and_resuming(
    new_page: PageMaker, live_server: Any, world: World, make_session: SessionMaker
) -> None:
    session = make_session(
        instrument=Instrument.ACCEPTABILITY,
        domains=[],
        runs=[1],
        raters_per_item=1,
        raters=world.rater_profiles()[:1],
    )
    mine = tasks(session)
    assert len(mine) == 12
    page = new_page()
    sign_in(page, live_server.url, world.raters[0].username)
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert "acceptable without changes" in page.content()
    assert_blind(page)
    answer_by_keyboard(page, ["1"])  # the first grade listed: acceptable without changes (4)
    answer_by_keyboard(page, ["3"])  # major edits needed (2)
    page.goto(f"{live_server.url}/rating/")
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert page.url.endswith(f"/rating/items/{mine[2].item.public_id}/")
    for _ in range(10):
        assert_blind(page)
        answer_by_keyboard(page, ["2"])
    assert page.url.endswith(f"/rating/sessions/{session.pk}/")
    grades = dict(AcceptabilityGrade.objects.values_list("reading_id", "grade"))
    assert len(grades) == 12
    assert grades[mine[0].item.reading_id] == 4 and grades[mine[1].item.reading_id] == 2
    assert sorted(grades.values()).count(3) == 10
    assert not page.js_errors  # type: ignore[attr-defined]
