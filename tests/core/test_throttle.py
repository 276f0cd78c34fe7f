"""Sign-in throttling under concurrency, the back-off, and client addresses behind proxies
(issue 11, findings 8 and 9; docs/security.md)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from readerstudy.audit.context import client_ip
from readerstudy.audit.models import AuditEvent
from readerstudy.core.throttle import backoff_seconds, login_attempt_reserve
from tests.core import counting_backend
from tests.factories import UserFactory

PASSWORD = "pw-not-secret-123"  # tests.factories.UserFactory
PROXY = "10.0.0.2"

pytestmark = pytest.mark.django_db  # the race tests: transaction=True (real commits)


@pytest.fixture
def counted(settings: Any) -> Callable[[], list[str]]:
    """Password checks go through the real backend, counted."""
    settings.AUTHENTICATION_BACKENDS = ["tests.core.counting_backend.CountingModelBackend"]
    counting_backend.reset()
    return counting_backend.checks


def fire(n: int, send: Callable[[], int]) -> list[int]:
    """``send`` from ``n`` threads released at the same moment; their status codes."""
    barrier = threading.Barrier(n)
    codes: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            code = send()
            with lock:
                codes.append(code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(codes) == n, "a request failed or hung"
    return codes


@pytest.mark.django_db(transaction=True)
def test_40_concurrent_wrong_passwords_on_the_sign_in_page_get_5_password_checks(
    settings: Any, counted: Callable[[], list[str]]
) -> None:
    settings.LOGIN_BACKOFF_BASE = 600  # no second chance while the burst lasts
    UserFactory(username="alice")

    def send() -> int:
        body = {"username": "alice", "password": "wrong-password"}
        return Client().post("/accounts/login/", body).status_code

    codes = fire(40, send)
    assert codes == [200] * 40  # the form again, never a session
    assert counted() == ["alice"] * settings.LOGIN_FAILURE_LIMIT
    failed = AuditEvent.objects.filter(action="login_failed", target="alice").count()
    refused = AuditEvent.objects.filter(action="login_throttled", target="alice").count()
    assert (failed, refused) == (5, 35)


@pytest.mark.django_db(transaction=True)
def test_15_concurrent_wrong_passwords_on_the_token_endpoint_get_5_password_checks(
    settings: Any, counted: Callable[[], list[str]]
) -> None:
    settings.LOGIN_BACKOFF_BASE = 600
    UserFactory(username="alice")

    def send() -> int:
        body = {"username": "alice", "password": "wrong-password"}
        return APIClient().post("/api/auth/token/", body, format="json").status_code

    codes = fire(15, send)
    assert sorted(codes) == [401] * 5 + [429] * 10
    assert counted() == ["alice"] * 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_across_usernames_get_at_most_the_address_limit(
    settings: Any, counted: Callable[[], list[str]]
) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 6
    settings.LOGIN_BACKOFF_BASE = 600
    names = iter(f"guess{i}" for i in range(20))
    lock = threading.Lock()

    def send() -> int:
        with lock:
            name = next(names)
        body = {"username": name, "password": "wrong-password"}
        return APIClient().post("/api/auth/token/", body, format="json").status_code

    codes = fire(20, send)
    assert sorted(codes) == [401] * 6 + [429] * 14
    assert len(counted()) == 6


def test_the_wait_doubles_after_the_limit_up_to_the_cap(db: None, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_BASE = 3, 1
    settings.LOGIN_BACKOFF_MAX = 60
    settings.LOGIN_FAILURE_WINDOW = 15 * 60
    now = timezone.now()
    waits: list[int] = []
    allowed = 0
    while len(waits) < 10:
        wait = login_attempt_reserve(username="alice", ip=None, now=now)
        if wait:
            waits.append(wait)
            now += timedelta(seconds=wait)
        else:
            allowed += 1
    # Three free attempts, then one after 1 s, 2 s, 4 s … at most 60 s: slowed, never locked.
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert allowed == 3 + 9
    assert [backoff_seconds(failures=n, limit=3) for n in (2, 3, 4, 9, 10, 10**6)] == [
        0,
        1,
        2,
        60,
        60,
        60,
    ]


def test_a_refused_attempt_is_not_counted_and_the_window_forgets(db: None, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_BASE = 1, 10
    settings.LOGIN_FAILURE_WINDOW = 100
    now = timezone.now()
    assert login_attempt_reserve(username="bob", ip=None, now=now) == 0
    for second in range(1, 10):  # hammering during the wait does not make it longer
        assert login_attempt_reserve(username="bob", ip=None, now=now + timedelta(seconds=second))
    assert login_attempt_reserve(username="bob", ip=None, now=now + timedelta(seconds=10)) == 0
    later = now + timedelta(seconds=10 + 100)  # a quiet window: bob starts afresh
    assert login_attempt_reserve(username="bob", ip=None, now=later) == 0


def test_after_the_wait_the_right_password_signs_in(
    client: Client, settings: Any, counted: Callable[[], list[str]]
) -> None:
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_BASE = 3, 1
    UserFactory(username="alice")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert "Too many failed sign-ins. Try again in 1 second." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert len(counted()) == 3  # the refused attempt was not checked
    time.sleep(1.1)
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    # and the count starts afresh: the next wrong password is free again
    client.logout()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert "_auth_user_id" in client.session


def test_a_form_without_a_password_does_not_reset_the_count(client: Client, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_BASE = 3, 60
    UserFactory(username="alice")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})
        client.post("/accounts/login/", {"username": "alice", "password": ""})
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert "Too many failed sign-ins. Try again in 1 minute." in response.content.decode()


def test_the_token_endpoint_says_how_long_to_wait(db: None, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_BACKOFF_BASE = 2, 30
    UserFactory(username="alice")
    api = APIClient()
    for _ in range(2):
        api.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    response = api.post(
        "/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 429
    assert 29 <= int(response["Retry-After"]) <= 30
    event = AuditEvent.objects.get(action="login_throttled", target="alice")
    assert 29 <= event.details["wait_seconds"] <= 30


# --------------------------------------------------------------------------------------
# Client addresses behind a trusted proxy (finding 9)


def test_behind_the_proxy_one_clients_failures_do_not_slow_down_other_users(
    client: Client, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    UserFactory(username="bob")
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    for i in range(settings.LOGIN_FAILURE_LIMIT_IP + 5):
        Client(**attacker).post(
            "/accounts/login/", {"username": f"guess{i % 4}", "password": "wrong-password"}
        )
    refused = Client(**attacker).post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert "Too many failed sign-ins" in refused.content.decode()
    # Bob, from his own address through the same proxy, signs in at once.
    bob = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.9")
    bob.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert "_auth_user_id" in bob.session
    # The audit log has every failure, with the client's address, not the proxy's.
    failures = AuditEvent.objects.filter(action="login_failed")
    assert failures.count() == settings.LOGIN_FAILURE_LIMIT_IP
    assert set(failures.values_list("ip", flat=True)) == {"203.0.113.7"}
    assert AuditEvent.objects.get(action="login", actor_name="bob").ip == "198.51.100.9"


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    client: Client, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network(PROXY)]
    settings.LOGIN_FAILURE_LIMIT_IP = 6
    UserFactory(username="zoe")
    for i in range(6):  # a new forged address each time, and never 5 for one name
        Client(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").post(
            "/accounts/login/", {"username": f"guess{i}", "password": "wrong-password"}
        )
    forged = Client(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="192.0.2.1")
    forged.post("/accounts/login/", {"username": "zoe", "password": PASSWORD})
    assert "_auth_user_id" not in forged.session
    ips = set(AuditEvent.objects.filter(action__startswith="login_").values_list("ip", flat=True))
    assert ips == {"203.0.113.50"}


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.5", "", "203.0.113.5"),  # no proxy
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),  # through the proxy
        ("10.0.0.2", "", "10.0.0.2"),  # the proxy itself
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),  # client-written 1.2.3.4
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),  # two trusted proxies
        ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),  # every hop trusted: the first
        ("10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),  # the proxy did not vouch
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),  # with a port
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),  # IPv4-mapped proxy
        ("", "198.51.100.1", None),
    ],
)
def test_client_ip_takes_the_right_most_untrusted_forwarded_address(
    settings: Any, remote: str, forwarded: str, expected: str | None
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.2"


def test_a_good_account_does_not_clear_the_addresss_failures(client: Client, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 4
    UserFactory(username="mallory")
    for i in range(3):
        client.post("/accounts/login/", {"username": f"guess{i}", "password": "wrong"})
    client.post("/accounts/login/", {"username": "mallory", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    client.logout()
    client.post("/accounts/login/", {"username": "guess9", "password": "wrong"})  # the 4th
    response = client.post("/accounts/login/", {"username": "guess10", "password": "wrong"})
    assert "Too many failed sign-ins" in response.content.decode()
