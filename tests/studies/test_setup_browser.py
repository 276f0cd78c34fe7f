"""End to end in Debian's Chromium: a staff user creates a study on the web, invites a reader
by email, and the reader signs up through the emailed link."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page

from readerstudy.studies.models import Study, StudyMember
from tests.browser import PageMaker, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_study_is_created_and_a_reader_invited_without_shell_or_admin(
    live_server: object, new_page: PageMaker
) -> None:
    base = str(live_server)
    UserFactory(username="boss", is_staff=True)
    page: Page = new_page()
    sign_in(page, base, "boss")
    page.get_by_role("link", name="Create a study", exact=True).click()
    page.fill("#id_title", "Web study")
    page.fill("#id_slug", "web-study")
    page.get_by_role("button", name="Create the study").click()
    page.wait_for_url(f"{base}/studies/web-study/")
    study = Study.objects.get(slug="web-study")
    assert study.categories == [0, 1, 2, 3, 4, 5, 6] and study.positive_threshold == 4

    page.get_by_role("link", name=re.compile("^Members")).click()
    page.fill("#id_email", "reader@example.org")
    page.locator("form:has(input[value='invite']) select[name='role']").select_option("reader")
    page.get_by_role("button", name="Send the invitation").click()
    page.get_by_text("Invitation sent to reader@example.org.").wait_for()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body)
    assert link is not None

    invitee = new_page()
    invitee.goto(link.group(0))
    invitee.fill("#id_username", "newreader")
    invitee.fill("#id_password1", "a-Long-pass-99")
    invitee.fill("#id_password2", "a-Long-pass-99")
    invitee.keyboard.press("Enter")
    invitee.wait_for_url(f"{base}/studies/web-study/")
    assert StudyMember.objects.filter(
        study=study, user__username="newreader", role="reader"
    ).exists()
    assert not invitee.js_errors  # type: ignore[attr-defined]
