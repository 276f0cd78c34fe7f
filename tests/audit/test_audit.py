"""The audit log records sign-ins, role and membership changes, API tokens and exports, and
only coordinators (their study) and superusers (everything) read it."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from fixtures.accounts import demo_accounts_create
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import AUDIT_ACTIONS, audit_record
from readerstudy.studies.models import StudyMember
from tests.conftest import BundleFactory
from tests.factories import ReaderFactory, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_records_a_sign_in_and_a_failed_sign_in(client: Client) -> None:
    UserFactory(username="alice", password="correct-horse-42")
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-42"})
    actions = list(
        AuditEvent.objects.filter(action__startswith="login")
        .order_by("id")
        .values_list("action", "actor_name", "target")
    )
    assert actions == [("login_failed", "", "alice"), ("login", "alice", "")]
    assert AuditEvent.objects.filter(action="login").get().ip == "127.0.0.1"


def test_coordinators_read_and_export_their_study_audit_log(client: Client) -> None:
    from django.contrib.auth.models import Group

    from readerstudy.audit.services import audit_record
    from readerstudy.studies.models import StudyMember
    from tests.factories import StudyFactory

    study, other = StudyFactory(), StudyFactory()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="coordinator"))
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    audit_record(action="study_unblinded", actor=user, study=study, target="study")
    audit_record(action="export", actor=user, study=other, target="secret-other")
    client.force_login(user)
    html = client.get(f"/studies/{study.slug}/audit/").content.decode()
    assert "<td>Study unblinded</td>" in html and "secret-other" not in html
    response = client.get(f"/studies/{study.slug}/audit/?format=csv")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0] == "at,actor_name,action,study,target,ip,details"
    assert ",study_unblinded," in body
    assert AuditEvent.objects.filter(
        action="export", target=f"audit log audit-{study.slug}"
    ).exists()
    assert client.get(f"/studies/{other.slug}/audit/").status_code == 404
    assert client.get("/audit/").status_code == 404


def test_readers_cannot_read_the_audit_log(client: Client) -> None:
    from django.contrib.auth.models import Group

    from readerstudy.studies.models import StudyMember
    from tests.factories import StudyFactory

    study = StudyFactory()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="reader"))
    StudyMember.objects.create(study=study, user=user, role="reader")
    client.force_login(user)
    assert client.get(f"/studies/{study.slug}/audit/").status_code == 404


def events(action: str, after: int = 0) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The events of ``action`` recorded after the event with id ``after``."""
    return list(
        AuditEvent.objects.filter(action=action, id__gt=after)
        .order_by("id")
        .values_list("actor_name", "study__slug", "target", "details")
    )


def test_it_records_a_sign_out(client: Client) -> None:
    user = UserFactory(username="alice")
    client.force_login(user)
    client.post("/accounts/logout/")
    event = AuditEvent.objects.get(action="logout")
    assert (event.actor_name, event.ip) == ("alice", "127.0.0.1")


def test_role_group_changes_are_recorded_in_either_direction() -> None:
    user = UserFactory(username="alice")
    coordinator = Group.objects.get(name="coordinator")
    user.groups.add(coordinator, Group.objects.get(name="rater"))
    coordinator.user_set.remove(user)
    user.groups.clear()
    added = [(t, d["group"]) for _, _, t, d in events("role_group_added")]
    removed = [(t, d["group"]) for _, _, t, d in events("role_group_removed")]
    assert added == [("alice", "coordinator"), ("alice", "rater")]
    assert removed == [("alice", "coordinator"), ("alice", "rater")]


def test_study_membership_changes_are_recorded_in_the_study_log(client: Client) -> None:
    study = StudyFactory(slug="s1")
    user = UserFactory(username="alice")
    member = StudyMember.objects.create(study=study, user=user, role="reader")
    member.role = "rater"
    member.save()
    member.save()  # no change, no event
    member.delete()
    assert events("study_member_added") == [("", "s1", "alice", {"role": "reader"})]
    assert events("study_member_changed") == [
        ("", "s1", "alice", {"role": "rater", "changed": {"role": ["reader", "rater"]}})
    ]
    assert events("study_member_removed") == [("", "s1", "alice", {"role": "rater"})]
    coordinator = UserFactory(username="coord")
    coordinator.groups.add(Group.objects.get(name="coordinator"))
    StudyMember.objects.create(study=study, user=coordinator, role="coordinator")
    client.force_login(coordinator)
    html = client.get("/studies/s1/audit/").content.decode()
    assert "Removed from the study" in html and "Study membership changed" in html


def test_access_flags_and_new_accounts_are_recorded() -> None:
    user = UserFactory(username="alice")
    assert events("user_created") == [
        ("", None, "alice", {"is_active": True, "is_staff": False, "is_superuser": False})
    ]
    user.is_staff = user.is_superuser = True
    user.save()
    user.save(update_fields=["last_login"])  # a sign-in: nothing to record
    assert events("user_flags_changed") == [
        ("", None, "alice", {"is_staff": [False, True], "is_superuser": [False, True]})
    ]


def test_the_demo_accounts_are_recorded_with_their_roles_and_profiles() -> None:
    study = StudyFactory(slug="demo-like")
    for code in ("R3", "R4", "R5"):
        ReaderFactory(study=study, code=code)
    demo_accounts_create(study=study)
    members = {(t, d["role"]) for _, _, t, d in events("study_member_added")}
    assert ("coordinator", "coordinator") in members and ("rater1", "rater") in members
    groups = {(t, d["group"]) for _, _, t, d in events("role_group_added")}
    assert ("r3", "reader") in groups and ("statistician", "statistician") in groups
    linked = {(t, d["to"]) for _, _, t, d in events("reader_account_changed")}
    assert linked == {("reader R3", "r3"), ("reader R4", "r4"), ("reader R5", "r5")}
    assert {t for _, _, t, _ in events("rater_account_changed")} == {
        "rater rater1",
        "rater rater2",
        "rater rater3",
    }


def test_a_role_change_in_the_admin_names_the_admin_and_the_address(client: Client) -> None:
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    alice = UserFactory(username="alice")
    client.force_login(root)
    response = client.post(
        f"/admin/auth/user/{alice.pk}/change/",
        {
            "username": "alice",
            "is_active": "on",
            "groups": [Group.objects.get(name="statistician").pk],
            "date_joined_0": "2025-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="role_group_added")
    assert (event.actor_name, event.target, event.details, event.ip) == (
        "root",
        "alice",
        {"group": "statistician"},
        "127.0.0.1",
    )


def test_api_tokens_are_recorded_however_they_are_made_or_removed(client: Client) -> None:
    alice = UserFactory(username="alice")
    client.force_login(alice)
    client.post("/accounts/token/")  # the token page
    created = AuditEvent.objects.get(action="api_token_created")
    assert (created.actor_name, created.target, created.ip) == ("alice", "alice", "127.0.0.1")
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    # the admin addresses a token by its user's id
    response = client.post(f"/admin/authtoken/tokenproxy/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Token.objects.filter(user=alice).exists()
    revoked = AuditEvent.objects.get(action="api_token_revoked")
    assert (revoked.actor_name, revoked.target) == ("root", "alice")
    Token.objects.create(user=alice)  # the shell: the owner is the actor
    assert events("api_token_created")[-1][:3] == ("alice", None, "alice")


def test_export_study_is_recorded(tmp_path: Path, make_bundle: BundleFactory) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    call_command("export_study", "tiny", str(tmp_path / "out.zip"), stdout=StringIO())
    [(actor, slug, target, details)] = events("export")
    assert (actor, slug, target) == ("", "tiny", f"bundle {tmp_path / 'out.zip'}")
    assert details["via"] == "export_study" and details["cases"] == 3


def test_only_coordinators_and_superusers_read_the_audit_log(client: Client) -> None:
    study = StudyFactory(slug="s1")
    audit_record(action="study_unblinded", study=study, target="secret-target")
    people = {}
    for role in ("coordinator", "reader", "rater", "statistician"):
        people[role] = UserFactory(username=f"u-{role}")
        people[role].groups.add(Group.objects.get(name=role))
        StudyMember.objects.create(study=study, user=people[role], role=role)
    people["superuser"] = UserFactory(username="root", is_superuser=True)
    for who, user in people.items():
        client.force_login(user)
        allowed = who in ("coordinator", "superuser")
        for url in ("/studies/s1/audit/", "/studies/s1/audit/?format=csv"):
            response = client.get(url)
            body = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode()
            assert response.status_code == (200 if allowed else 404), (who, url)
            assert ("secret-target" in body) == allowed, (who, url)
        assert client.get("/audit/").status_code == (200 if who == "superuser" else 404)
    assert AuditEvent.objects.filter(action="export", study=study).count() == 2


def test_deleting_a_study_is_recorded_with_its_memberships() -> None:
    # Module-scoped fixtures of other test files delete their studies outside a rolled-back
    # transaction, and audit events are never deleted: count only this test's events.
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    study = StudyFactory(slug="gone", title="Gone study")
    StudyMember.objects.create(study=study, user=UserFactory(username="alice"), role="reader")
    study.delete()
    assert events("study_deleted", before) == [("", None, "gone", {"title": "Gone study"})]
    assert events("study_member_removed", before) == [
        ("", None, "alice", {"role": "reader", "study_deleted": True})
    ]


def test_the_audit_page_shows_labels_and_the_csv_keeps_the_codes(client: Client) -> None:
    study = StudyFactory()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="coordinator"))
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    audit_record(action="reading_amended", actor=user, study=study, target="reading 7")
    audit_record(action="rating_item_flags_dismissed", actor=user, study=study, target="item")
    audit_record(action="some_new_event", actor=user, study=study, target="x")
    client.force_login(user)
    html = client.get(f"/studies/{study.slug}/audit/").content.decode()
    cells = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html)
    assert cells[:3] == ["Some new event", "Rating item leak flags dismissed", "Reading amended"]
    assert "<td>reading_amended</td>" not in html
    csv_body = b"".join(client.get(f"/studies/{study.slug}/audit/?format=csv").streaming_content)
    codes = [row.split(",")[2] for row in csv_body.decode().splitlines()[1:5]]
    assert codes == ["export", "some_new_event", "rating_item_flags_dismissed", "reading_amended"]


APP_DIRS = ("readerstudy", "evaluation", "analysis")
ARGPARSE_ACTIONS = {"store_true", "store_false", "append", "count", "extend", "store_const"}


def recorded_action_codes() -> set[str]:
    """Every audit action code the application code can record."""
    root = Path(settings.BASE_DIR)
    codes: set[str] = set()
    for app in APP_DIRS:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            codes.update(re.findall(r'\baction="([a-z_]+)"', path.read_text()))
    codes -= ARGPARSE_ACTIONS
    audit = (root / "readerstudy/audit/services.py").read_text()
    codes.update(re.findall(r'verb = "([a-z_]+)" if .* else "([a-z_]+)"', audit)[0])
    receivers = (root / "readerstudy/studies/receivers.py").read_text()
    codes.update(re.findall(r'action, details = "([a-z_]+)"', receivers))
    codes.update(re.findall(r'_token_event\("([a-z_]+)"', audit))
    assert 'action=f"{kind}_account_changed"' in audit  # kind: the Reader or Rater model
    codes.update({"reader_account_changed", "rater_account_changed"})
    return codes


def test_every_recorded_action_has_a_label() -> None:
    codes = recorded_action_codes()
    assert {"reading_amended", "api_token_created", "study_member_added"} <= codes
    assert not codes - set(AUDIT_ACTIONS), "codes without a label in AUDIT_ACTIONS"
    assert len(set(AUDIT_ACTIONS.values())) == len(AUDIT_ACTIONS)  # labels tell them apart
