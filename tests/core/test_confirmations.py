"""Home pages lead each role to its work; destructive or irreversible actions ask first (a
confirmation page, no JavaScript needed) and look dangerous."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token

from readerstudy.reading.models import ReadingSession
from tests.conftest import assert_confirmation_page
from tests.factories import UserFactory
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def post_forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)"', html)


def test_each_roles_home_links_to_its_worklist_or_dashboard(world: ReadingWorld) -> None:
    dashboard = f'href="/studies/{world.study.slug}/analysis/"'
    rater = client_for(world.rater).get("/").content.decode()
    assert 'href="/rating/"' in rater and "Open your rating worklist" in rater
    statistician = client_for(world.statistician).get("/").content.decode()
    assert dashboard in statistician and "Open the analysis dashboard" in statistician
    reader = client_for(world.user1).get("/").content.decode()
    assert 'href="/reading/"' in reader and dashboard not in reader
    assert dashboard in client_for(world.coordinator).get("/").content.decode()


def test_closing_a_reading_session_asks_first_and_get_changes_nothing(
    world: ReadingWorld,
) -> None:
    session = world.session()
    client = client_for(world.coordinator)
    base = f"/studies/{world.study.slug}/reading/{session.pk}/"
    detail = client.get(base).content.decode()
    assert f"{base}close/" not in post_forms(detail)  # no one-click close
    assert f'<a class="button danger" href="{base}close/">Close the session…</a>' in detail
    page = client.get(f"{base}close/")
    assert page.status_code == 200
    html = page.content.decode()
    assert_confirmation_page(html, action=f"{base}close/", button="Close the session")
    assert "0 of 10 reader-cases are answered" in html
    session.refresh_from_db()
    assert session.status == ReadingSession.Status.OPEN
    assert client.post(f"{base}close/").status_code == 302
    session.refresh_from_db()
    assert session.status == ReadingSession.Status.CLOSED
    # a closed session has nothing to confirm; opening needs no confirmation
    assert client.get(f"{base}close/").status_code == 302
    assert client.get(f"{base}open/").status_code == 405


def test_deleting_a_draft_session_asks_first(world: ReadingWorld) -> None:
    session = world.session(open=False)
    client = client_for(world.coordinator)
    base = f"/studies/{world.study.slug}/reading/{session.pk}/"
    assert f'<a class="button danger" href="{base}delete/">' in client.get(base).content.decode()
    html = client.get(f"{base}delete/").content.decode()
    assert_confirmation_page(html, action=f"{base}delete/", button="Delete the draft")
    assert "This cannot be undone" in html and str(session.seed) in html
    assert ReadingSession.objects.filter(pk=session.pk).exists()
    client.post(f"{base}delete/")
    assert not ReadingSession.objects.filter(pk=session.pk).exists()


@pytest.mark.parametrize(("confirm", "gone"), [("revoke", True), ("replace", False)])
def test_revoking_or_replacing_the_api_token_asks_first(confirm: str, gone: bool) -> None:
    user = UserFactory()
    key = Token.objects.create(user=user).key
    client = client_for(user)
    page = client.get("/accounts/token/").content.decode()
    assert f'<a class="button danger" href="?confirm={confirm}">' in page
    assert "/accounts/token/" not in post_forms(page)  # no one-click revoke or replace
    html = client.get(f"/accounts/token/?confirm={confirm}").content.decode()
    button = "Revoke the token" if confirm == "revoke" else "Replace the token"
    assert_confirmation_page(html, action="/accounts/token/", button=button)
    assert Token.objects.get(user=user).key == key  # GET changed nothing
    action = re.search(r'name="action" value="(\w+)"', html).group(1)  # type: ignore[union-attr]
    client.post("/accounts/token/", {"action": action})
    token = Token.objects.filter(user=user).first()
    assert (token is None) if gone else (token is not None and token.key != key)


def test_danger_buttons_have_a_style_of_their_own() -> None:
    css = (Path(settings.BASE_DIR) / "static/readerstudy/base.css").read_text()
    rule = re.search(r"button\.danger, \.button\.danger \{([^}]*)\}", css)
    assert rule is not None and "var(--err)" in rule.group(1)
