"""Sign-in throttling and security headers."""

from __future__ import annotations

import pytest
from django.test import Client

from readerstudy.models import AuditEvent
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
