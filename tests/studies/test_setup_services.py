"""Services that set a study up on the web: create and edit it, members, invitations, CSV."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import StudyInvitation, StudyMember
from readerstudy.studies.services import (
    StudyChangeError,
    StudySpec,
    study_create,
    study_invitation_accept,
    study_invitation_send,
    study_member_add,
    study_member_remove,
    study_members_bulk_add,
    study_update,
)
from tests.factories import CaseFactory, ReaderFactory, UserFactory

pytestmark = pytest.mark.django_db

SPEC = StudySpec(
    slug="nme",
    title="NME study",
    positive_threshold=4,
    categories={0: "Incomplete", 1: "Negative", 2: "Benign", 3: "", 4: "Suspicious", 5: "", 6: ""},
)


def test_study_create_makes_the_actor_its_coordinator_and_audits_the_settings() -> None:
    alice = UserFactory(username="alice")
    study = study_create(actor=alice, spec=SPEC)
    assert study.categories == [0, 1, 2, 3, 4, 5, 6]
    assert StudyMember.objects.filter(study=study, user=alice, role="coordinator").exists()
    assert alice.groups.filter(name="coordinator").exists()
    event = AuditEvent.objects.get(action="study_created")
    assert event.actor == alice and event.study == study
    assert (
        event.details["positive_threshold"] == 4
        and event.details["categories"]["4"] == "Suspicious"
    )


def test_study_create_refuses_a_threshold_off_the_scale_and_a_taken_slug() -> None:
    alice = UserFactory()
    with pytest.raises(StudyChangeError) as exc:
        study_create(actor=alice, spec=StudySpec(**{**SPEC.__dict__, "positive_threshold": 9}))
    assert exc.value.field == "positive_threshold"
    study_create(actor=alice, spec=SPEC)
    with pytest.raises(StudyChangeError) as exc:
        study_create(actor=alice, spec=SPEC)
    assert exc.value.field == "slug"


def test_study_update_audits_what_changed_and_locks_the_scale_once_cases_exist() -> None:
    alice = UserFactory()
    study = study_create(actor=alice, spec=SPEC)
    changed = study_update(
        actor=alice, study=study, spec=StudySpec(**{**SPEC.__dict__, "positive_threshold": 3})
    )
    assert changed == {"positive_threshold": [4, 3]}
    event = AuditEvent.objects.get(action="study_updated")
    assert event.details == {"changed": {"positive_threshold": [4, 3]}}
    CaseFactory(study=study)
    with pytest.raises(StudyChangeError, match="locked: consensus"):
        study_update(
            actor=alice,
            study=study,
            spec=StudySpec(**{**SPEC.__dict__, "positive_threshold": 3, "consensus": "median"}),
        )
    study.refresh_from_db()
    assert study.consensus == "majority-median"
    reader = ReaderFactory(study=study, code="R1")
    changed = study_update(
        actor=alice,
        study=study,
        spec=StudySpec(
            **{**SPEC.__dict__, "positive_threshold": 3, "title": "New", "reference_reader": reader}
        ),
    )
    assert changed == {"title": ["NME study", "New"], "reference_reader": [None, "R1"]}


def test_member_add_links_a_reader_and_remove_unlinks_it_but_keeps_one_coordinator() -> None:
    alice, bob = UserFactory(), UserFactory()
    study = study_create(actor=alice, spec=SPEC)
    reader = ReaderFactory(study=study, code="R1")
    member = study_member_add(actor=alice, study=study, user=bob, role="reader", reader=reader)
    reader.refresh_from_db()
    assert reader.user == bob
    assert AuditEvent.objects.filter(action="study_member_added", target=bob.username).exists()
    study_member_remove(actor=alice, member=member)
    reader.refresh_from_db()
    assert reader.user is None
    assert AuditEvent.objects.filter(action="study_member_removed", target=bob.username).exists()
    with pytest.raises(StudyChangeError, match="at least one coordinator"):
        study_member_remove(actor=alice, member=StudyMember.objects.get(study=study, user=alice))


def test_an_invitation_stores_only_the_token_hash_and_works_once() -> None:
    alice = UserFactory(username="alice")
    study = study_create(actor=alice, spec=SPEC)
    sent = study_invitation_send(
        actor=alice, study=study, email="r@example.org", role="rater", link="http://x/i/{token}/"
    )
    stored = StudyInvitation.objects.get()
    assert sent.token not in stored.token_hash and len(stored.token_hash) == 64
    assert f"http://x/i/{sent.token}/" in mail.outbox[0].body
    assert mail.outbox[0].to == ["r@example.org"]
    member = study_invitation_accept(
        actor=None, token=sent.token, username="rita", password="a-Long-pass-99"
    )
    assert member.role == "rater" and member.user.email == "r@example.org"
    assert member.user.check_password("a-Long-pass-99")
    with pytest.raises(StudyChangeError, match="used, expired or unknown"):
        study_invitation_accept(
            actor=None, token=sent.token, username="rita2", password="x-Long-pass-99"
        )
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"study_invitation_sent", "study_invitation_accepted", "study_member_added"} <= actions


def test_an_expired_invitation_is_refused() -> None:
    alice = UserFactory()
    study = study_create(actor=alice, spec=SPEC)
    sent = study_invitation_send(
        actor=alice, study=study, email="r@example.org", role="reader", link="{token}"
    )
    StudyInvitation.objects.update(expires_at=timezone.now())
    with pytest.raises(StudyChangeError):
        study_invitation_accept(
            actor=None, token=sent.token, username="rr", password="a-Long-pass-99"
        )
    assert not get_user_model().objects.filter(username="rr").exists()


def test_bulk_add_lists_every_problem_by_line_and_writes_nothing() -> None:
    alice = UserFactory(username="alice")
    UserFactory(username="bob", email="bob@example.org")
    study = study_create(actor=alice, spec=SPEC)
    ReaderFactory(study=study, code="R1")
    text = (
        "user,role,reader\n"
        "bob@example.org,reader,R1\n"
        "nobody,rater,\n"
        "bob,boss,\n"
        "bob,rater,R1\n"
        "bob,reader,R9\n"
    )
    before = StudyMember.objects.count()
    added, problems = study_members_bulk_add(actor=alice, study=study, text=text, filename="m.csv")
    assert added == 0
    assert problems == [
        "m.csv:3: user: no account with 'nobody'",
        "m.csv:4: role: 'boss' is not one of coordinator, reader, rater, statistician",
        "m.csv:5: reader: only the reader role links a reader",
        "m.csv:6: reader: 'R9' is not a reader of this study",
    ]
    assert StudyMember.objects.count() == before


def test_bulk_add_adds_every_row_when_there_is_no_problem() -> None:
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", email="bob@example.org")
    study = study_create(actor=alice, spec=SPEC)
    reader = ReaderFactory(study=study, code="R1")
    added, problems = study_members_bulk_add(
        actor=alice, study=study, text="user,role,reader\nbob@example.org,reader,R1\nbob,rater,\n"
    )
    assert (added, problems) == (2, [])
    assert set(StudyMember.objects.filter(user=bob).values_list("role", flat=True)) == {
        "reader",
        "rater",
    }
    reader.refresh_from_db()
    assert reader.user == bob
    assert AuditEvent.objects.get(action="study_members_bulk_added").details == {
        "rows": 2,
        "added": 2,
    }


def test_bulk_add_refuses_a_file_without_its_columns() -> None:
    study = study_create(actor=UserFactory(), spec=SPEC)
    added, problems = study_members_bulk_add(
        actor=None, study=study, text="name,job\nx,y\n", filename="m.csv"
    )  # type: ignore[arg-type]
    assert added == 0 and problems == [
        "m.csv:1: header: expected columns user (a username or an email), role"
    ]
