"""End to end in Debian's Chromium: a reader goes through both conditions of a crossover
design — unaided first, the aided session locked until the washout has passed, then aided
with the AI's suggestion shown and its impression as an editable draft.

Time is controlled by moving the reader's period-1 submit times back past the washout (what
the server compares with its clock), not by waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from playwright.sync_api import Page

from readerstudy.reading.models import ReadingAssignment, ReadingDesign, ReadingWork
from readerstudy.reading.services import (
    ReadingDesignOptions,
    ReadingSessionOptions,
    reading_design_create,
    reading_session_open,
)
from tests.browser import PageMaker, sign_in
from tests.reading.conftest import SECRETS, ReadingWorld

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WASHOUT = 14
APPENDED = " Agreed."


def crossover(world: ReadingWorld) -> ReadingDesign:
    design = reading_design_create(
        study=world.study,
        options=ReadingDesignOptions(
            base=ReadingSessionOptions(
                name="Crossover", readers=[world.reader1, world.reader2], seed=31, modality=2
            ),
            aided_modality=3,
            assist_reader=world.model,
            washout_days=WASHOUT,
            counterbalance=False,  # everyone starts unaided
            ai_draft=True,
        ),
        actor=world.coordinator,
    )
    for session in design.sessions.all():
        reading_session_open(session=session)
    return design


def start(page: Page, base: str, session_name: str) -> None:
    """From the worklist, press the start/resume button of the session named."""
    page.goto(f"{base}/reading/")
    card = page.locator("li.role-card", has=page.locator("h2", has_text=session_name))
    card.get_by_role("link", name="Start reading").click()


def answer(page: Page, category: str, impression: str | None) -> None:
    """Answer the open case with the keyboard; ``impression=None`` appends to the draft."""
    page.keyboard.press(category)
    box = page.locator("textarea[name='impression']")
    box.focus()
    if impression is None:
        page.keyboard.press("Control+End")
        page.keyboard.type(APPENDED)
    else:
        page.keyboard.type(impression)
    page.keyboard.press("Control+Enter")


def test_a_reader_reads_unaided_waits_out_the_washout_then_edits_the_ai_drafts(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    design = crossover(world)
    base = str(live_server)
    page = new_page()
    sign_in(page, base, "reader1")

    # period 2 (aided) is locked while period 1 is unfinished
    start(page, base, "Crossover — aided")
    page.wait_for_url(f"{base}/reading/")
    assert f"after you finish the first session of this design and a washout of {WASHOUT} days" in (
        page.inner_text("main")
    )

    # period 1: unaided, no AI anywhere on the page, the impression starts empty
    start(page, base, "Crossover — unaided")
    for position in range(1, 6):
        page.wait_for_url(f"**/{position}/")
        assert page.inner_text("#case-title") == f"Case {position} of 5"
        assert page.locator("#assist-h").count() == 0
        assert SECRETS["model"] not in page.content()
        assert page.input_value("textarea[name='impression']") == ""
        answer(page, "2", f"Unaided read {position}.")
    page.wait_for_url(f"{base}/reading/")

    # finished, but inside the washout: still locked, with the date it opens
    first = ReadingAssignment.objects.get(session__design=design, reader=world.reader1, period=1)
    last = max(w.submitted_at for w in ReadingWork.objects.filter(assignment=first))
    opens = last + timedelta(days=WASHOUT)
    start(page, base, "Crossover — aided")
    page.wait_for_url(f"{base}/reading/")
    assert f"opens for you on {opens:%Y-%m-%d}" in page.inner_text("main")

    # time control: the reader's period-1 reads were WASHOUT days and a minute ago
    ReadingWork.objects.filter(assignment=first).update(
        submitted_at=F("submitted_at") - timedelta(days=WASHOUT, minutes=1),
        opened_at=F("opened_at") - timedelta(days=WASHOUT, minutes=1),
    )

    # period 2: aided, the suggestion shown and the AI impression pre-filled as a draft
    start(page, base, "Crossover — aided")
    for position in range(1, 6):
        page.wait_for_url(f"**/{position}/")
        assert page.inner_text("#assist-h") == "AI suggestion"
        assert SECRETS["model"] in page.inner_text("section.assist")
        assert page.input_value("textarea[name='impression']") == SECRETS["model"]
        if position == 1:
            answer(page, "4", None)  # keep the draft, add a sentence
        else:
            page.keyboard.press("4")
            page.keyboard.press("Control+Enter")  # accept the draft as it is
    page.wait_for_url(f"{base}/reading/")
    assert page.js_errors == []  # type: ignore[attr-defined]

    second = ReadingAssignment.objects.get(session__design=design, reader=world.reader1, period=2)
    unaided = ReadingWork.objects.filter(assignment=first).select_related("reading")
    aided = {
        w.position: w
        for w in ReadingWork.objects.filter(assignment=second).select_related("reading")
    }
    assert {w.reading.modality for w in unaided} == {2}
    assert {w.reading.modality for w in aided.values()} == {3}
    assert all(w.draft_shown == "" and w.edit_chars is None for w in unaided)
    assert aided[1].reading.impression == SECRETS["model"] + APPENDED
    assert (aided[1].edit_chars, aided[1].edit_words) == (len(APPENDED), 1)
    for position in range(2, 6):
        assert aided[position].draft_shown == SECRETS["model"]
        assert (aided[position].edit_chars, aided[position].edit_words) == (0, 0)
        assert aided[position].reading.category == 4
    assert all(w.active_seconds is not None for w in aided.values())
