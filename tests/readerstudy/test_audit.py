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


def test_coordinators_read_and_export_their_study_audit_log(client: Client) -> None:
    from django.contrib.auth.models import Group

    from readerstudy.audit import audit_record
    from readerstudy.models import StudyMember
    from tests.factories import StudyFactory

    study, other = StudyFactory(), StudyFactory()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="coordinator"))
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    audit_record(action="unblinded", actor=user, study=study, target="study")
    audit_record(action="export", actor=user, study=other, target="secret-other")
    client.force_login(user)
    html = client.get(f"/studies/{study.slug}/audit/").content.decode()
    assert "unblinded" in html and "secret-other" not in html
    response = client.get(f"/studies/{study.slug}/audit/?format=csv")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0] == "at,actor_name,action,study,target,ip,details"
    assert "unblinded" in body
    assert AuditEvent.objects.filter(
        action="export", target=f"audit log audit-{study.slug}"
    ).exists()
    assert client.get(f"/studies/{other.slug}/audit/").status_code == 404
    assert client.get("/audit/").status_code == 404


def test_readers_cannot_read_the_audit_log(client: Client) -> None:
    from django.contrib.auth.models import Group

    from readerstudy.models import StudyMember
    from tests.factories import StudyFactory

    study = StudyFactory()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="reader"))
    StudyMember.objects.create(study=study, user=user, role="reader")
    client.force_login(user)
    assert client.get(f"/studies/{study.slug}/audit/").status_code == 404
