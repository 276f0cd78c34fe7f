"""End to end in Debian's Chromium: a reader works through cases with the keyboard only,
and other people's direct URLs give 404."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.base import ContentFile
from PIL import Image
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from readerstudy.reading.models import ReadingDraft, ReadingWork
from readerstudy.reading.services import ReadingAnswer, reading_submit
from readerstudy.studies.models import Reading
from tests.browser import PageMaker, sign_in
from tests.reading.conftest import SECRETS, ReadingWorld

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
        answer=ReadingAnswer(category=5, impression="READER-ONE-PRIVATE-ANSWER"),
        actor=world.user1,
        token=uuid.uuid4(),
        base_version=0,
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


def case_url(base: str, session: object, reader: object, position: int) -> str:
    token = session.assignments.get(reader=reader).token  # type: ignore[attr-defined]
    return f"{base}/reading/{token}/{position}/"


def open_case(new_page: PageMaker, base: str, session: object, reader: object) -> Page:
    """A new browser signed in as ``reader``'s account, on the first case of their order."""
    page = new_page()
    sign_in(page, base, reader.user.username)  # type: ignore[attr-defined]
    page.goto(case_url(base, session, reader, 1))
    return page


def form_state(page: Page) -> dict[str, str | None]:
    return page.evaluate(
        "() => { const f = document.getElementById('reading-form');"
        " const c = f.querySelector(\"input[name='category']:checked\");"
        " return {category: c ? c.value : null, probability: f.probability.value,"
        " impression: f.impression.value}; }"
    )


def test_typed_input_survives_leaving_the_case_and_a_new_browser(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    session = world.session()
    base = str(live_server)
    page = open_case(new_page, base, session, world.reader1)
    page.keyboard.press("3")
    page.keyboard.press("Tab")
    page.keyboard.type("35")
    page.keyboard.press("Tab")
    page.keyboard.type("Typed, not submitted.")
    page.locator("#draft-status").filter(has_text="Draft saved").wait_for()
    typed = {"category": "3", "probability": "35", "impression": "Typed, not submitted."}

    page.click("a[rel='next']")  # leave mid-way...
    page.wait_for_url("**/2/")
    assert form_state(page) == {"category": None, "probability": "", "impression": ""}
    page.click("a[rel='prev']")  # ...and come back
    page.wait_for_url("**/1/")
    assert form_state(page) == typed
    assert "restored" in page.inner_text("#draft-status")

    other = open_case(new_page, base, session, world.reader1)  # the draft is on the server
    assert form_state(other) == typed
    other.keyboard.press("Control+Enter")
    other.wait_for_url("**/2/")
    assert page.js_errors == [] and other.js_errors == []  # type: ignore[attr-defined]

    work = ReadingWork.objects.select_related("reading").get(
        assignment__session=session, assignment__reader=world.reader1, position=1
    )
    assert (work.reading.category, work.reading.score) == (3, pytest.approx(0.35))
    assert work.reading.impression == "Typed, not submitted."
    assert not ReadingDraft.objects.filter(work=work).exists()
    # the first page's active time came back with the draft; never more than the server time
    assert 0 < work.active_seconds <= work.seconds


def closed_without_asking(page: Page) -> bool:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    try:
        with page.expect_event("close", timeout=5000):
            page.close(run_before_unload=True)
    except PlaywrightTimeoutError:
        return False
    return not dialogs


def test_leaving_warns_only_while_input_is_unsaved(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    session = world.session()
    base = str(live_server)
    untouched = open_case(new_page, base, session, world.reader1)
    untouched.click("#id_impression")  # a user gesture, no input
    assert closed_without_asking(untouched)

    page = open_case(new_page, base, session, world.reader1)
    page.click("#id_impression")
    page.keyboard.type("Half-way")
    with page.expect_event("dialog") as asked:  # before the autosave ran
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()  # stay: the draft is saved meanwhile
    page.locator("#draft-status").filter(has_text="Draft saved").wait_for()
    assert ReadingDraft.objects.get().impression == "Half-way"
    assert closed_without_asking(page)


def viewer_geometry(page: Page) -> dict[str, float]:
    return page.evaluate(
        "() => { const c = document.getElementById('image-canvas');"
        " const w = document.getElementById('canvas-wrap');"
        " const cr = c.getBoundingClientRect(), wr = w.getBoundingClientRect();"
        " return {left: cr.left, top: cr.top, width: cr.width, height: cr.height,"
        " nw: c.width, nh: c.height, vw: w.clientWidth,"
        " wx: wr.left + w.clientLeft + w.clientWidth / 2, wy: wr.top + w.clientTop + w.clientHeight / 2}; }"
    )


def image_point(g: dict[str, float], x: float, y: float) -> tuple[float, float]:
    """The image pixel under the viewport point (x, y)."""
    return ((x - g["left"]) / g["width"] * g["nw"], (y - g["top"]) / g["height"] * g["nh"])


def wide_png() -> bytes:
    image = Image.linear_gradient("L").resize((320, 200))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_the_single_image_is_centred_and_zoom_keeps_the_point_in_place(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    session = world.session()
    work = ReadingWork.objects.get(
        assignment__session=session, assignment__reader=world.reader1, position=1
    )
    for image in work.case.images.all():
        image.file.save("wide.png", ContentFile(wide_png()), save=True)
    page = open_case(new_page, str(live_server), session, world.reader1)
    page.click(".thumb >> nth=0")
    status = page.locator("#image-status")
    status.filter(has_text="zoom 100%").wait_for()

    g = viewer_geometry(page)
    assert (g["nw"], g["nh"]) == (320, 200)
    assert abs(g["left"] + g["width"] / 2 - g["wx"]) < 1  # centred in both directions
    assert abs(g["top"] + g["height"] / 2 - g["wy"]) < 1

    # the wheel zooms at the pointer: the image point under it stays under it
    x, y = g["left"] + 0.3 * g["width"], g["top"] + 0.7 * g["height"]
    before = image_point(g, x, y)
    page.mouse.move(x, y)
    for _ in range(3):
        page.mouse.wheel(0, -100)
    status.filter(has_text="zoom 133%").wait_for()
    zoomed = viewer_geometry(page)
    assert zoomed["width"] > 1.3 * g["width"]
    assert image_point(zoomed, x, y) == pytest.approx(before, abs=0.5)
    page.mouse.wheel(0, 100)
    status.filter(has_text="zoom 121%").wait_for()
    assert image_point(viewer_geometry(page), x, y) == pytest.approx(before, abs=0.5)

    # the keys zoom at the centre of the viewport
    g = viewer_geometry(page)
    centre = image_point(g, g["wx"], g["wy"])
    page.focus("#single-view")
    page.keyboard.press("+")
    status.filter(has_text="zoom 151%").wait_for()
    g = viewer_geometry(page)
    assert image_point(g, g["wx"], g["wy"]) == pytest.approx(centre, abs=0.5)

    # Ctrl+arrow moves the image; R puts it back, fitted and centred
    page.keyboard.press("Control+ArrowRight")
    moved = viewer_geometry(page)
    assert moved["left"] - g["left"] == pytest.approx(g["vw"] / 10, abs=1)
    assert moved["top"] == pytest.approx(g["top"], abs=0.5)
    page.keyboard.press("r")
    status.filter(has_text="zoom 100%").wait_for()
    g = viewer_geometry(page)
    assert abs(g["left"] + g["width"] / 2 - g["wx"]) < 1
    assert abs(g["top"] + g["height"] / 2 - g["wy"]) < 1
    assert page.js_errors == []  # type: ignore[attr-defined]
