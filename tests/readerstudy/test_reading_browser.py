"""End to end in Debian's Chromium: a reader works through cases with the keyboard only,
and other people's direct URLs give 404."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page

from readerstudy.models import Reading
from readerstudy.models_reading import ReadingWork
from readerstudy.services_reading import reading_submit
from tests.browser import PageMaker, sign_in
from tests.readerstudy.conftest import SECRETS, ReadingWorld

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def active_element(page: Page) -> dict[str, str]:
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {name: e.name || '', text: (e.textContent || '').trim(), cls: e.className || ''}; }"
    )


def tab_until(page: Page, test: callable, limit: int = 40) -> None:  # type: ignore[valid-type]
    for _ in range(limit):
        page.keyboard.press("Tab")
        if test(active_element(page)):
            return
    raise AssertionError("focus never reached the element")


def read_case(page: Page, category: str, probability: str, impression: str) -> None:
    page.keyboard.press(category)
    assert page.is_checked(f"input[name='category'][value='{category}']")
    page.keyboard.press("Tab")
    assert active_element(page)["name"] == "probability"
    page.keyboard.type(probability)
    page.keyboard.press("Tab")
    assert active_element(page)["name"] == "impression"
    page.keyboard.type(impression)
    page.keyboard.press("Control+Enter")


def test_a_reader_completes_three_cases_with_the_keyboard_and_resumes_at_the_fourth(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    session = world.session()
    base = str(live_server)
    page = new_page()
    sign_in(page, base, "reader1")

    tab_until(page, lambda e: "reading worklist" in e["text"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/reading/")
    tab_until(page, lambda e: e["text"] == "Start reading")
    page.keyboard.press("Enter")
    page.wait_for_url("**/1/")
    assert page.inner_text("#case-title") == "Case 1 of 5"

    # the viewer: open the first image with Enter, next image, zoom, window, back to the grid
    tab_until(page, lambda e: "thumb" in e["cls"])
    page.keyboard.press("ArrowRight")  # grid: phase 2 of the same slice
    page.keyboard.press("Enter")
    status = page.locator("#image-status")
    status.filter(has_text="Image 3 of 4").wait_for()
    page.keyboard.press("PageDown")
    status.filter(has_text="Image 4 of 4 · Phase 2, slice 2").wait_for()
    page.keyboard.press("+")
    page.keyboard.press("Shift+ArrowLeft")
    status.filter(has_text="zoom 125% · W 247 L 128").wait_for()
    page.keyboard.press("Escape")
    assert page.is_hidden("#single-view") and page.is_visible("#grid-view")

    read_case(page, "4", "80", "Segmental clumped NME, BI-RADS 4.")
    page.wait_for_url("**/2/")
    assert page.inner_text("#case-title") == "Case 2 of 5"
    read_case(page, "2", "5", "Benign-appearing regional NME.")
    page.wait_for_url("**/3/")
    read_case(page, "5", "97", "Linear branching NME, highly suspicious.")
    page.wait_for_url("**/4/")

    page.reload()
    assert page.inner_text("#case-title") == "Case 4 of 5"
    page.goto(f"{base}/reading/")
    assert "3 of 5 cases done" in page.inner_text("main")
    tab_until(page, lambda e: e["text"] == "Resume at case 4")
    page.keyboard.press("Enter")
    page.wait_for_url("**/4/")
    assert page.inner_text("#case-title") == "Case 4 of 5"
    assert page.js_errors == []  # type: ignore[attr-defined]

    saved = {
        w.position: w
        for w in ReadingWork.objects.filter(
            assignment__session=session, assignment__reader=world.reader1
        )
        .exclude(submitted_at=None)
        .select_related("reading")
    }
    assert sorted(saved) == [1, 2, 3]
    assert [saved[p].reading.category for p in (1, 2, 3)] == [4, 2, 5]
    assert saved[3].reading.score == pytest.approx(0.97)
    assert saved[1].reading.impression == "Segmental clumped NME, BI-RADS 4."
    # case 1 included the viewer work: the page counted active (visible, focused) time
    assert saved[1].active_seconds > 0
    for work in saved.values():
        assert work.reading.source == "entered" and work.reading.modality == 2
        assert work.seconds is not None and work.active_seconds is not None
        assert work.active_seconds <= work.seconds


def test_direct_urls_of_another_readers_cases_and_answers_are_404(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    session = world.session()
    work = ReadingWork.objects.select_related("assignment").get(
        assignment__session=session, assignment__reader=world.reader1, position=1
    )
    reading_submit(
        work=work,
        user=world.user1,
        token=uuid.uuid4(),
        base_version=0,
        category=5,
        impression="READER-ONE-PRIVATE-ANSWER",
    )
    base = str(live_server)
    token = work.assignment.token
    urls = [f"/reading/{token}/", f"/reading/{token}/1/", f"/reading/{token}/1/images/1"]
    for username in ("rater", "reader2"):
        page = new_page()
        sign_in(page, base, username)
        for url in urls:
            response = page.goto(base + url)
            assert response is not None and response.status == 404, (username, url)
            html = page.content()
            assert "READER-ONE-PRIVATE-ANSWER" not in html
            assert SECRETS["truth_detail"] not in html
    assert Reading.objects.get(reader=world.reader1, modality=2).category == 5
