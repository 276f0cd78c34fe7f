"""A study with everything the app's pages show, a second study built the same way, and one
account per role (anonymous, the four roles, a member of the other study, a superuser).

The world is built once per test module and every request of the matrix runs inside a
savepoint that is rolled back, so no row sees another row's writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from rest_framework.authtoken.models import Token

from evaluation.models import LikertDomain, LikertScore, Rater, RatingSession, RatingTask
from evaluation.services import RatingSessionOptions, rating_session_create, rating_session_open
from readerstudy.audit.models import AuditEvent
from readerstudy.generation.models import FineTuneJob, GenerationItem, GenerationRun
from readerstudy.reading.models import ReadingAssignment, ReadingSession, ReadingWork
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingSessionOptions,
    reading_session_create,
    reading_session_open,
    reading_submit,
    reading_work_open,
)
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, Study, StudyMember
from tests.bundles.crafted_images import dicom_bytes
from tests.conftest import png_bytes
from tests.factories import CaseFactory, StudyFactory, UserFactory
from tests.generation.conftest import config_create

#: The roles of the matrix, in the order its columns are printed.
ANON = "anonymous"
COORD = "coordinator"
READER = "reader"
RATER = "rater"
STATS = "statistician"
OUTSIDER = "outsider"  # every role, but in the other study only
SUPER = "superuser"
ROLES: tuple[str, ...] = (ANON, COORD, READER, RATER, STATS, OUTSIDER, SUPER)

#: Strings put into every text of a study; the other study's must never reach a non-member.
MARK = {"main": "ZQMAINZQ", "other": "ZQOTHERZQ"}


def grant(user: Any, study: Study, role: str) -> None:
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StudyMember.objects.get_or_create(study=study, user=user, role=role)


def make_coordinator_staff(user: Any) -> None:
    """What ``demo_accounts_create`` gives coordinators: the admin, for the study models."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["readerstudy", "evaluation"])
    )


@dataclass
class StudyObjects:
    """The objects of one study that URLs address."""

    study: Study
    case: Case
    reading: Reading
    reader: Reader  # the human reader linked to the study's reader account
    reading_session: ReadingSession
    own_token: str  # the reader account's assignment
    other_token: str  # another reader's assignment in the same session
    rating_session: RatingSession
    own_item: str  # public id of an item of the rater account
    other_item: str  # public id of an item of another rater only
    rater: Rater
    domain: LikertDomain
    config_id: int
    run_id: int
    item_id: int
    job_id: int
    audit_id: int
    amendment_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    main: StudyObjects
    other: StudyObjects
    users: dict[str, Any]  # role -> user (no entry for anonymous)
    tokens: dict[str, str]  # role -> API token key

    def user(self, role: str) -> Any:
        return self.users.get(role)


def _study(kind: str, people: dict[str, Any]) -> StudyObjects:
    mark = MARK[kind]
    study = StudyFactory(slug=f"{kind}-study", title=f"{mark} study title")
    cases = [
        CaseFactory(
            study=study,
            code=f"{mark}C{i}",
            truth=i % 2,
            split="test",
            position=i,
            location=f"left breast {mark}",
            clinical_history=f"History {mark}",
            findings=f"Findings {mark} {i}",
            truth_detail=f"Truth {mark}",
            reference_impression=f"Reference {mark}",
        )
        for i in range(1, 5)
    ]
    for case in cases:
        image = CaseImage(
            case=case,
            original_name=f"{mark}.png",
            order=0,
            sha256="0" * 64,
            content_type="image/png",
        )
        image.file.save("x.png", ContentFile(png_bytes(90)), save=True)
        dicom = CaseImage(
            case=case,
            original_name=f"{mark}.dcm",
            order=1,
            sha256="0" * 64,
            content_type="application/dicom",
            dicom_series="2.25.1",
            dicom_series_index=0,
            dicom_slice=0,
        )
        dicom.file.save("x.dcm", ContentFile(dicom_bytes(rows=4, columns=4)), save=True)
    reader = Reader.objects.create(
        study=study, code="R1", kind="human", label=f"Reader {mark}", user=people["reader"]
    )
    second = Reader.objects.create(
        study=study, code="R2", kind="human", label=f"Second {mark}", user=people["reader2"]
    )
    model = Reader.objects.create(study=study, code="M1", kind="model", label=f"Model {mark}")
    readings = []
    for case in cases:
        for r in (reader, model):
            readings.append(
                Reading.objects.create(
                    reader=r, case=case, run=1, category=4, impression=f"Impression {mark}"
                )
            )
    domain = LikertDomain.objects.create(study=study, key="correctness", label=f"Correct {mark}")
    raters = [
        Rater.objects.create(study=study, code=f"rater{i}", user=people[f"rater{i}"])
        for i in (1, 2)
    ]
    for role, user in people.items():
        grant(user, study, role.rstrip("12"))

    reading_session = reading_session_create(
        study=study,
        options=ReadingSessionOptions(
            name=f"Reading {mark}", readers=[reader, second], seed=1, modality=2, allow_amend=True
        ),
    )
    reading_session_open(session=reading_session)
    # The reader's last case is answered and amended (positions 1-3 stay unanswered).
    work = ReadingWork.objects.get(
        assignment__session=reading_session, assignment__reader=reader, position=4
    )
    reading_work_open(work=work)
    for version, category in ((0, 3), (1, 4)):
        reading_submit(
            work=work,
            answer=ReadingAnswer(category=category, impression=f"Answer {mark}"),
            actor=people["reader"],
            token=uuid.uuid4(),
            base_version=version,
        )
    tokens = dict(
        ReadingAssignment.objects.filter(session=reading_session).values_list(
            "reader__code", "token"
        )
    )

    rating_session = rating_session_create(
        study=study,
        options=RatingSessionOptions(
            name=f"Rating {mark}",
            readers=[model],
            runs=[1],
            domains=[domain],
            raters_per_item=1,
            seed=1,
            show_images=True,
        ),
        raters=raters,
        actor=people["coordinator"],
    )
    rating_session = rating_session_open(
        session=rating_session, actor=people["coordinator"], confirm_unresolved_leaks=True
    )
    LikertScore.objects.create(reading=readings[0], rater=raters[1], domain=domain, score=4)
    tasks = RatingTask.objects.filter(assignment__session=rating_session)
    own_item = tasks.filter(assignment__rater=raters[0]).first().item.public_id
    other_item = tasks.filter(assignment__rater=raters[1]).first().item.public_id

    config = config_create(study, "http://127.0.0.1:9/v1", code="M9", model=f"gpt-{mark}")
    run = GenerationRun.objects.create(
        config=config, status=GenerationRun.Status.FINISHED, n_runs=1, message=f"Run {mark}"
    )
    item = GenerationItem.objects.create(
        run=run, case=cases[0], run_number=1, status="unparseable", raw_text=f"Raw {mark}"
    )
    job = FineTuneJob.objects.create(
        study=study,
        mode="text",
        n_examples=2,
        base_url="http://127.0.0.1:9/v1",
        base_model="gpt-4o",
        training_file_id="file-1",
        job_id=f"ftjob-{kind}",
        status="succeeded",
    )
    audit = AuditEvent.objects.create(action="test_event", study=study, target=f"Event {mark}")
    return StudyObjects(
        study=study,
        case=cases[0],
        reading=readings[0],
        reader=reader,
        reading_session=reading_session,
        own_token=tokens["R1"],
        other_token=tokens["R2"],
        rating_session=rating_session,
        own_item=own_item,
        other_item=other_item,
        rater=raters[0],
        domain=domain,
        config_id=config.pk,
        run_id=run.pk,
        item_id=item.pk,
        job_id=job.pk,
        audit_id=audit.pk,
    )


def make_world() -> World:
    users = {role: UserFactory(username=role) for role in ROLES if role != ANON}
    users[SUPER].is_staff = users[SUPER].is_superuser = True
    users[SUPER].save()
    make_coordinator_staff(users[COORD])
    make_coordinator_staff(users[OUTSIDER])
    main_people = {
        "coordinator": users[COORD],
        "reader": users[READER],
        "reader2": UserFactory(username="reader-two"),
        "rater1": users[RATER],
        "rater2": UserFactory(username="rater-two"),
        "statistician": users[STATS],
    }
    other_people = {
        "coordinator": users[OUTSIDER],
        "reader": users[OUTSIDER],
        "reader2": UserFactory(username="other-reader-two"),
        "rater1": users[OUTSIDER],
        "rater2": UserFactory(username="other-rater-two"),
        "statistician": users[OUTSIDER],
    }
    main = _study("main", main_people)
    other = _study("other", other_people)
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    return World(main=main, other=other, users=users, tokens=tokens)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, media_root: Path) -> None:
    """Overrides the suite's per-test media folder: the world's images live in the module's."""
    settings.MEDIA_ROOT = media_root
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.GENERATION_DISPATCH = "inline"


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, media_root: Path) -> Iterator[World]:
    """Built once per module inside a transaction that is rolled back at its end."""
    old = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = media_root
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            yield make_world()
        finally:
            settings.MEDIA_ROOT = old
            transaction.set_rollback(True)
