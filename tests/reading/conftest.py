"""Fixtures of the reading-session tests: a small study with two readers, secrets to leak,
images, a model reader, a coordinator and a rater."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.files.base import ContentFile

from readerstudy.reading.models import ReadingSession
from readerstudy.reading.services import (
    ReadingSessionOptions,
    reading_session_create,
    reading_session_open,
)
from readerstudy.studies.models import Case, CaseImage, Reader, Study, StudyMember
from tests.conftest import png_bytes
from tests.factories import CaseFactory, ReaderFactory, ReadingFactory, StudyFactory, UserFactory

#: Strings no reader page may ever contain.
SECRETS = {
    "truth_detail": "SECRET-TRUTH-DETAIL",
    "reference_impression": "SECRET-REFERENCE-IMPRESSION",
    "patient_id": "SECRET-PATIENT-ID",
    "attribute": "SECRET-PATHOLOGY-ATTRIBUTE",
    "model": "SECRET-MODEL-IMPRESSION",
    "other_reader": "SECRET-OTHER-READER-IMPRESSION",
    "case_code": "CASECODE",
}


def member(user: AbstractBaseUser, study: Study, role: str) -> None:
    # get_or_create: transactional (browser) tests flush the groups the migration made
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StudyMember.objects.get_or_create(study=study, user=user, role=role)


@dataclass
class ReadingWorld:
    study: Study
    cases: list[Case]
    train_case: Case
    reader1: Reader
    reader2: Reader
    model: Reader
    coordinator: AbstractBaseUser
    rater: AbstractBaseUser
    statistician: AbstractBaseUser

    @property
    def user1(self) -> AbstractBaseUser:
        return self.reader1.user  # type: ignore[return-value]

    @property
    def user2(self) -> AbstractBaseUser:
        return self.reader2.user  # type: ignore[return-value]

    def session(self, **overrides: object) -> ReadingSession:
        """An open session of the five test cases for both readers (modality 2)."""
        options: dict[str, Any] = {
            "name": "Session",
            "readers": [self.reader1, self.reader2],
            "seed": 12345,
            "modality": 2,
            "show_location": True,
            "show_clinical_history": True,
        }
        options.update(overrides)
        start = options.pop("open", True)
        study, actor = options.pop("study", self.study), options.pop("actor", None)
        session = reading_session_create(
            study=study, options=ReadingSessionOptions(**options), actor=actor
        )
        if start:
            reading_session_open(session=session)
        return session


def make_world() -> ReadingWorld:
    study = StudyFactory(slug="nme", title="NME study")
    study.scale_categories.filter(value=4).update(label="Suspicious")
    cases = [
        CaseFactory(
            study=study,
            code=f"{SECRETS['case_code']}{i}",
            truth=i % 2,
            split="test",
            patient_id=SECRETS["patient_id"],
            location=f"left breast, quadrant {i}",
            clinical_history=f"History of case {i}",
            findings=f"Findings of case {i}",
            truth_detail=SECRETS["truth_detail"],
            reference_impression=SECRETS["reference_impression"],
            attributes={"pathology": SECRETS["attribute"]},
            position=i,
        )
        for i in range(1, 6)
    ]
    train_case = CaseFactory(study=study, code="TRAIN1", split="train", position=9)
    for case in cases:
        for phase in ("1", "2"):
            for slice_ in ("1", "2"):
                image = CaseImage(
                    case=case,
                    original_name=f"{case.code}_p{phase}_s{slice_}.png",
                    phase=phase,
                    slice=slice_,
                    order=int(phase) * 10 + int(slice_),
                    sha256="0" * 64,
                    content_type="image/png",
                )
                image.file.save("x.png", ContentFile(png_bytes(40 * int(phase))), save=True)
    reader1 = ReaderFactory(study=study, code="R1", user=UserFactory(username="reader1"))
    reader2 = ReaderFactory(study=study, code="R2", user=UserFactory(username="reader2"))
    for reader in (reader1, reader2):
        member(reader.user, study, "reader")
    model = ReaderFactory(study=study, code="M1", kind=Reader.Kind.MODEL)
    for case in cases:
        ReadingFactory(reader=model, case=case, run=1, category=4, impression=SECRETS["model"])
        ReadingFactory(
            reader=reader2, case=case, run=1, modality=1, impression=SECRETS["other_reader"]
        )
    coordinator = UserFactory(username="coord")
    member(coordinator, study, "coordinator")
    rater = UserFactory(username="rater")
    member(rater, study, "rater")
    statistician = UserFactory(username="stats")
    member(statistician, study, "statistician")
    return ReadingWorld(
        study=study,
        cases=cases,
        train_case=train_case,
        reader1=reader1,
        reader2=reader2,
        model=model,
        coordinator=coordinator,
        rater=rater,
        statistician=statistician,
    )


@pytest.fixture
def world(db: None) -> ReadingWorld:
    return make_world()
