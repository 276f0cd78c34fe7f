"""Sign-in throttling and security headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from readerstudy.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fail(client: Client, url: str = "/accounts/login/", username: str = "alice") -> None:
    client.post(url, {"username": username, "password": "wrong-password"})


def test_it_refuses_even_the_right_password_after_five_failures(client: Client) -> None:
    UserFactory(username="alice", password="correct-horse-42")
    for _ in range(5):
        fail(client)
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-42"}
    )
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_throttled", target="alice").exists()


def test_throttling_is_per_username(client: Client) -> None:
    UserFactory(username="bob", password="correct-horse-42")
    for _ in range(5):
        fail(client, username="alice")
    client.post("/accounts/login/", {"username": "bob", "password": "correct-horse-42"})
    assert "_auth_user_id" in client.session


def test_four_failures_still_allow_a_sign_in(client: Client) -> None:
    UserFactory(username="alice", password="correct-horse-42")
    for _ in range(4):
        fail(client)
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
    assert "_auth_user_id" in client.session


def test_the_admin_sign_in_is_throttled_too(client: Client) -> None:
    UserFactory(username="root", password="correct-horse-42", is_staff=True, is_superuser=True)
    for _ in range(5):
        fail(client, url="/admin/login/", username="root")
    response = client.post("/admin/login/", {"username": "root", "password": "correct-horse-42"})
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_window_passes(client: Client, settings: pytest.FixtureRequest) -> None:
    settings.LOGIN_FAILURE_WINDOW = 0
    UserFactory(username="alice", password="correct-horse-42")
    for _ in range(6):
        fail(client)
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
    assert "_auth_user_id" in client.session


def test_every_page_carries_security_headers(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_one_address_is_throttled_across_usernames(client: Client, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 6
    UserFactory(username="zoe", password="correct-horse-42")
    for i in range(6):
        fail(client, username=f"guess{i}")  # never 5 for one name: only the address limit
    client.post("/accounts/login/", {"username": "zoe", "password": "correct-horse-42"})
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_throttled", target="zoe").exists()


def test_a_session_ends_after_its_age_on_the_server(client: Client) -> None:
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    UserFactory(username="alice", password="correct-horse-42")
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct-horse-42"}
    )
    assert client.get("/").status_code == 200
    session = Session.objects.get()
    age = (session.expire_date - timezone.now()).total_seconds()
    assert 8 * 3600 - 60 < age <= 8 * 3600  # SESSION_COOKIE_AGE
    # The browser forgets the cookie when it closes, and it never reaches scripts.
    cookie = response.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"] and cookie["httponly"]
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_production_sends_hsts_on_https(client: Client, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")  # plain http


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/no-such-page/",
        "/api/me/",
        "/api/schema/",
        "/static/readerstudy/base.css",
    ],
    ids=["page", "404", "api-json", "api-schema", "static"],
)
def test_every_kind_of_response_carries_the_headers(client: Client, url: str) -> None:
    response = client.get(url)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if not url.startswith("/static/"):  # static files are served before the frame check
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
