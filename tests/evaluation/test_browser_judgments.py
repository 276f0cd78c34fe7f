"""Pairwise, acceptability and error-annotation pages in Debian's Chromium: a rater answers with the keyboard
only, leaves, resumes where they left, and finishes; every answer is stored as a judgment."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
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


def test_a_rater_annotates_errors_by_keyboard_leaving_and_resuming(
    new_page: PageMaker, live_server: Any, world: World, make_session: SessionMaker
) -> None:
    """Spans chosen with the arrows and tagged with category keys, significance with S, a
    missed finding without a span, "no errors" with 0, Delete; the reference impression is
    one of the items and looks like the others."""
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference impression of {case.code}: no mass seen."
        case.save()
    session = make_session(
        instrument=Instrument.ERRORS,
        include_reference=True,
        readers=[world.readers["M1"]],
        domains=[],
        runs=[1],
        raters_per_item=1,
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    mine = tasks(session)
    assert len(mine) == 8 and sum(t.item.reference for t in mine) == 4
    page = new_page()
    sign_in(page, live_server.url, world.raters[0].username)
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert page.url.endswith(f"/rating/items/{mine[0].item.public_id}/")
    assert_blind(page)
    saved = page.locator("#save-status")
    # Item 1: the first two words are a significant false finding; a missed finding besides.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#text-single .tok.selected")).to_have_count(2)
    page.keyboard.press("1")
    expect(saved).to_have_text("Draft saved.")
    expect(page.locator("#text-single .tok.marked")).to_have_count(2)
    page.keyboard.press("s")
    expect(page.locator("#text-single .tok.marked.significant")).to_have_count(2)
    page.keyboard.press("2")
    expect(page.locator("#error-list li")).to_have_count(2)
    expect(saved).to_have_text("Draft saved.")
    url = page.url
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url)
    # Item 2: no errors.
    page.keyboard.press("0")
    expect(saved).to_have_text("Draft saved.")
    url = page.url
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url)
    # Item 3: the third word as a wrong location, as a draft only; leave and come back.
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("3")
    expect(page.locator("#error-list li")).to_have_count(1)
    expect(saved).to_have_text("Draft saved.")
    page.goto(f"{live_server.url}/rating/")
    page.goto(f"{live_server.url}/rating/sessions/{session.pk}/resume/")
    assert page.url.endswith(f"/rating/items/{mine[2].item.public_id}/")
    expect(page.locator("#error-list li")).to_have_count(1)
    expect(page.locator("#error-list select")).to_have_value("wrong_location")
    expect(page.locator("#text-single .tok.marked")).to_have_count(1)
    page.keyboard.press("Delete")
    expect(page.locator("#error-list li")).to_have_count(0)
    page.keyboard.press("0")
    expect(page.locator("#no-errors")).to_be_checked()
    expect(saved).to_have_text("Draft saved.")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: mine[2].item.public_id not in u)
    for _ in range(5):
        assert_blind(page)
        assert "reference" not in page.locator("main").inner_text().lower().replace(
            "reference impression of", ""
        )
        answer_by_keyboard(page, ["0"])
    assert page.url.endswith(f"/rating/sessions/{session.pk}/")
    first = mine[0].item
    words = [m.span() for m in re.finditer(r"\S+", first.display_text)]
    rows = list(
        ErrorAnnotation.objects.filter(
            case_id=first.reading.case_id,
            reading_id=(None if first.reference else first.reading_id),
        )
        .order_by("id")
        .values_list("category", "significant", "start", "end")
    )
    assert rows == [
        ("false_finding", True, words[0][0], words[1][1]),
        ("missed_finding", False, None, None),
    ]
    assert ErrorAnnotation.objects.filter(category="none").count() == 7
    # The reference items' annotations are stored without a reading (one row each, two for
    # item 1 if it is one); their linking outputs get none of them.
    expected = sum(2 if t is mine[0] else 1 for t in mine if t.item.reference)
    assert ErrorAnnotation.objects.filter(reading__isnull=True).count() == expected
    assert ErrorAnnotation.objects.exclude(reading__isnull=True).count() == 9 - expected
    assert not page.js_errors  # type: ignore[attr-defined]
