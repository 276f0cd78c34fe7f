"""The audit log records sign-ins and failed sign-ins."""

from __future__ import annotations

import pytest
from django.test import Client

from readerstudy.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_records_a_sign_in_and_a_failed_sign_in(client: Client) -> None:
    UserFactory(username="alice", password="correct-horse-42")
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_name", "target"))
    assert actions == [("login_failed", "", "alice"), ("login", "alice", "")]
    assert AuditEvent.objects.filter(action="login").get().ip == "127.0.0.1"
