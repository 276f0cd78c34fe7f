"""The rating pages in Debian's Chromium: keyboard scoring, resume after reload, review and
submit, a crawl of what a demo rater's browser receives, and direct URLs of other people's things."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, Response, sync_playwright

from evaluation.models import LikertScore, RatingSession, RatingTask
from fixtures.demo import STUDY_SLUG
from fixtures.demo_sessions import RATING_SESSION_NAME as DEMO_SESSION_NAME
from readerstudy.studies.models import Study
from tests.browser import CHROMIUM_ARGS
from tests.evaluation.blinding_checks import forbidden_patterns
from tests.evaluation.conftest import SessionMaker, World

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True, scope="module")
def _async_unsafe_allowed() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test's thread, where Django would refuse
    database access; allowed for this module only (it must never reach other processes, such
    as the ``check --deploy`` test's)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def sign_in(browser: Browser, base: str, username: str, password: str) -> Page:
    page = browser.new_context(base_url=base).new_page()
    page.goto("/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"], input[type="submit"]')
    page.wait_for_load_state()
    return page


def focused_name(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.name || ''")


def test_a_demo_rater_scores_by_keyboard_resumes_after_reload_reviews_and_submits(
    browser: Browser, live_server: Any
) -> None:
    call_command("demo", "--no-images", stdout=StringIO())
    study = Study.objects.get(slug=STUDY_SLUG)
    session = RatingSession.objects.get(study=study, name=DEMO_SESSION_NAME)
    keys = list(session.domains.order_by("position").values_list("key", flat=True))
    assert len(keys) == 9

    page = sign_in(browser, live_server.url, "rater1", "demo")
    bodies: list[tuple[str, str]] = []

    def keep(response: Response) -> None:
        kind = response.headers.get("content-type", "")
        if response.url.startswith(live_server.url) and kind.startswith(
            ("text/html", "application/json")
        ):
            bodies.append((response.url, response.text()))

    page.on("response", keep)
    page.goto("/rating/")
    # the second demo study's judgment sessions are listed too: start the Likert one
    card = page.locator("li.card").filter(has_text=DEMO_SESSION_NAME)
    card.get_by_role("link", name="Start").click()
    page.wait_for_url(re.compile(r"/rating/items/[0-9a-z]{20}/$"))
    item_url = page.url
    assert "Item 1 of 24" in page.content()

    # The first row has the focus; keys 1-5 score it and move on; arrows move between rows.
    assert focused_name(page) == f"score-{keys[0]}"
    for key in "4534":
        page.keyboard.press(key)
    assert focused_name(page) == f"score-{keys[4]}"
    page.keyboard.press("ArrowUp")
    assert focused_name(page) == f"score-{keys[3]}"
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("#save-status:has-text('Draft saved.')")

    # Reload mid-way: the draft is restored and the focus is on the first row left to do.
    page.reload()
    for key, value in zip(keys[:4], "4534", strict=True):
        assert page.is_checked(f'input[name="score-{key}"][value="{value}"]')
    assert not page.is_checked(f'input[name="score-{keys[4]}"][value="4"]')
    assert focused_name(page) == f"score-{keys[4]}"

    for key in "44452":
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.id") == "review-button"
    page.keyboard.press("Enter")
    page.wait_for_url(item_url + "review/")
    rows = page.locator("table.review tbody tr")
    assert rows.count() == 9 and "not scored" not in page.content()
    page.keyboard.press("Enter")  # the submit button has the focus
    page.wait_for_url(re.compile(r"/rating/items/[0-9a-z]{20}/$"))
    assert page.url != item_url and "Item 2 of 24 · 1 submitted" in page.content()

    task = RatingTask.objects.get(
        item__public_id=item_url.rstrip("/").rsplit("/", 1)[1], assignment__rater__code="rater1"
    )
    stored = dict(
        LikertScore.objects.filter(
            rater__code="rater1", reading_id=task.item.reading_id, source="entered"
        ).values_list("domain__key", "score")
    )
    assert stored == dict(zip(keys, [4, 5, 3, 4, 4, 4, 4, 5, 2], strict=True))

    # Crawl what the browser can reach from the rater's list of items.
    page.goto(f"/rating/sessions/{session.pk}/")
    links = page.eval_on_selector_all(
        "table.items a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert len(links) == 24
    for link in links:
        page.goto(link, wait_until="domcontentloaded")
        page.goto(link + "review/", wait_until="domcontentloaded")
        response = page.request.get(link + "draft.json")
        bodies.append((response.url, response.text()))
    page.goto("/")
    page.goto(f"/studies/{study.slug}/")
    forbidden = forbidden_patterns(study, other_usernames=["rater2", "rater3", "r3", "r4", "r5"])
    problems = [f"{url}: {leak}" for url, text in bodies for leak in forbidden.leaks(text)]
    assert not problems, problems[:20]
    assert len(bodies) > 70


def test_a_rater_s_browser_gets_404_on_other_people_s_items_answers_and_the_key(
    browser: Browser, live_server: Any, world: World, make_session: SessionMaker
) -> None:
    session = make_session(raters_per_item=1)
    mine = RatingTask.objects.filter(
        assignment__session=session, assignment__rater__user=world.raters[0]
    )
    foreign = session.items.exclude(pk__in=mine.values("item_id")).first().public_id
    page = sign_in(browser, live_server.url, "rater1", "pw-not-secret-123")
    urls = [
        f"/rating/items/{foreign}/",
        f"/rating/items/{foreign}/review/",
        f"/rating/items/{foreign}/draft.json",
        f"/rating/items/{foreign}/images/1/",
        f"/studies/{world.study.slug}/rating/sessions/{session.pk}/key/",
        f"/studies/{world.study.slug}/rating/sessions/{session.pk}/key.csv",
        f"/studies/{world.study.slug}/rating/leaks/",
        f"/studies/{world.other.slug}/",
    ]
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        assert "M1" not in page.content() and "M2" not in page.content()
