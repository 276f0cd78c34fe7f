"""A small study for the core API tests: cases with secrets, readers, readings, a session.

``make_world`` builds it on top of the ``people`` of ``api_study`` (one user per role) and
``other_study`` (whose objects must never be reachable through ``api_study``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from readerstudy.core import roles
from readerstudy.reading.models import ReadingAssignment, ReadingSession
from readerstudy.reading.services import (
    ReadingSessionOptions,
    reading_session_create,
    reading_session_open,
)
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, Study, StudyMember
from tests.api.conftest import member
from tests.conftest import png_bytes
from tests.factories import CaseFactory, ReaderFactory, ReadingFactory, UserFactory

#: Text no reader may ever receive.
SECRET_TRUTH = "SECRET-TRUTH-DETAIL"
SECRET_REFERENCE = "SECRET-REFERENCE-IMPRESSION"
SECRET_OTHER_READER = "SECRET-OTHER-READER-IMPRESSION"
SECRET_MODEL = "SECRET-MODEL-IMPRESSION"


@dataclass
class World:
    study: Study
    other: Study
    people: dict[str, Any]
    outsider: Any
    cases: list[Case]
    reader: Reader  # linked to people["reader"]
    reader2: Reader  # another human reader (their own account)
    model: Reader
    session: ReadingSession
    assignment: ReadingAssignment  # people["reader"]'s
    assignment2: ReadingAssignment  # reader2's
    other_case: Case
    other_reader: Reader
    other_session: ReadingSession
    other_assignment: ReadingAssignment
    other_reading: Reading

    def user(self, role: str) -> Any:
        """The user for a role name of the permission table (``anonymous`` is None)."""
        if role == "anonymous":
            return None
        if role == "outsider":
            return self.outsider
        return self.people[role]


def _cases(study: Study, prefix: str, n: int) -> list[Case]:
    return [
        CaseFactory(
            study=study,
            code=f"{prefix}{i}",
            truth=i % 2,
            split="test" if i <= n - 1 else "train",
            patient_id=f"P{i}",
            location=f"left breast, quadrant {i}",
            clinical_history=f"History {i}",
            findings=f"Findings {i}",
            truth_detail=SECRET_TRUTH,
            reference_impression=SECRET_REFERENCE,
            attributes={"tic": "washout"},
            position=i,
        )
        for i in range(1, n + 1)
    ]


def _image(case: Case, order: int) -> None:
    image = CaseImage(
        case=case,
        original_name=f"{case.code}_{order}.png",
        phase="1",
        slice=str(order),
        order=order,
        sha256="0" * 64,
        content_type="image/png",
    )
    image.file.save("x.png", ContentFile(png_bytes(40 * order)), save=True)


def make_world(study: Study, other: Study, people: dict[str, Any]) -> World:
    cases = _cases(study, "C", 4)  # C1-C3 test, C4 train
    _image(cases[0], 1)
    _image(cases[0], 2)
    reader = ReaderFactory(study=study, code="R1", user=people[roles.READER], position=1)
    user2 = UserFactory(username="reader2")
    member_existing(user2, study, roles.READER)
    reader2 = ReaderFactory(study=study, code="R2", user=user2, position=2, group="seniors")
    model = ReaderFactory(study=study, code="M1", kind=Reader.Kind.MODEL, position=3)
    for case in cases:
        ReadingFactory(reader=model, case=case, run=1, category=4, impression=SECRET_MODEL)
        ReadingFactory(reader=model, case=case, run=2, category=5, impression=SECRET_MODEL)
        ReadingFactory(reader=reader2, case=case, category=2, impression=SECRET_OTHER_READER)
    session = reading_session_open(
        session=reading_session_create(
            study=study,
            options=ReadingSessionOptions(
                name="Session A",
                readers=[reader, reader2],
                cases=cases[:3],
                seed=7,
                modality=2,
                show_clinical_history=True,
            ),
        )
    )
    assignments = {a.reader_id: a for a in session.assignments.all()}

    outsider = member(other, roles.COORDINATOR, "outsider")
    member_existing(outsider, other, roles.READER)
    [other_case] = _cases(other, "OC", 1)
    other_case.split = "test"
    other_case.save()
    other_reader = ReaderFactory(study=other, code="OR1", user=outsider)
    other_reading = ReadingFactory(reader=other_reader, case=other_case, category=3)
    other_session = reading_session_open(
        session=reading_session_create(
            study=other,
            options=ReadingSessionOptions(
                name="Other session", readers=[other_reader], seed=1, modality=2
            ),
        )
    )
    return World(
        study=study,
        other=other,
        people=people,
        outsider=outsider,
        cases=cases,
        reader=reader,
        reader2=reader2,
        model=model,
        session=session,
        assignment=assignments[reader.pk],
        assignment2=assignments[reader2.pk],
        other_case=other_case,
        other_reader=other_reader,
        other_session=other_session,
        other_assignment=other_session.assignments.get(),
        other_reading=other_reading,
    )


def member_existing(user: Any, study: Study, role: str) -> None:
    user.groups.add(Group.objects.get(name=role))
    StudyMember.objects.get_or_create(study=study, user=user, role=role)
