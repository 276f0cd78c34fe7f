"""A small study with readers, outputs, images, domains and people in every role."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from evaluation.models import LikertDomain, Rater, RatingSession
from evaluation.services import RatingSessionOptions, rating_session_create, rating_session_open
from readerstudy.studies.models import CaseImage, Reader, Reading, Study, StudyMember
from tests.conftest import png_bytes
from tests.factories import CaseFactory, StudyFactory, UserFactory
from tests.openai_server import Behaviour, FakeOpenAIServer, text

LEAKED_TEXT = "As an AI language model, I cannot see the images. BI-RADS 4. Biopsy is advised."

#: (code, kind, label) of the readers of the test study.
READERS: tuple[tuple[str, str, str], ...] = (
    ("R1", "human", "Senior radiologist"),
    ("M1", "model", "GPT-4o zero-shot, text-only"),
    ("M2", "model", "GPT-4o fine-tuned, joint text-image"),
)


def member(study: Study, role: str, username: str) -> Any:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    StudyMember.objects.create(study=study, user=user, role=role)
    return user


@dataclass
class World:
    study: Study
    other: Study
    coordinator: Any
    statistician: Any
    reader_user: Any
    raters: list[Any]
    outsider: Any
    readers: dict[str, Reader]
    domains: list[LikertDomain]
    readings: list[Reading] = field(default_factory=list)

    def rater_profiles(self) -> list[Rater]:
        return [Rater.objects.get(study=self.study, user=u) for u in self.raters]

    def leaked_reading(self) -> Reading:
        return Reading.objects.get(
            reader__code="M2", run=2, case__code="C1", reader__study=self.study
        )


@pytest.fixture
def world(db: None) -> World:
    study = StudyFactory(slug="nme", title="Blinded test study")
    other = StudyFactory(slug="other", title="Another study")
    cases = [
        CaseFactory(
            study=study,
            code=f"C{i}",
            truth=i % 2,
            location=f"left breast, region {i}",
            clinical_history=f"Female, {40 + i} years.",
            findings=f"Non-mass enhancement number {i}.",
            position=i,
        )
        for i in range(1, 5)
    ]
    readers = {
        code: Reader.objects.create(study=study, code=code, kind=kind, label=label, position=i)
        for i, (code, kind, label) in enumerate(READERS)
    }
    readings = []
    for case in cases:
        for code, reader in readers.items():
            for run in (1,) if reader.kind == "human" else (1, 2):
                text = f"**Impression**: enhancement pattern {case.position}; bi-rads {3 + run}."
                if code == "M2" and run == 2 and case.code == "C1":
                    text = LEAKED_TEXT
                readings.append(
                    Reading.objects.create(
                        reader=reader, case=case, run=run, category=3 + run, impression=text
                    )
                )
    for case in cases:
        # The first case's image carries a source-revealing name and metadata on purpose.
        name = "M1_run2_C1.png" if case.code == "C1" else f"{case.code}.png"
        meta = {"Comment": "M1 run 2"} if case.code == "C1" else None
        image = CaseImage(
            case=case, original_name=name, order=0, sha256="x", content_type="image/png"
        )
        image.file.save(name, ContentFile(png_bytes(90, meta)))
    CaseImage.objects.create(
        case=cases[0],
        file="img/00/not-served.dcm",
        original_name="x.dcm",
        order=1,
        sha256="y",
        content_type="application/dicom",
    )
    domains = [
        LikertDomain.objects.create(
            study=study, key="correctness", label="Correctness", group="Knowledge", position=0
        ),
        LikertDomain.objects.create(
            study=study, key="coherence", label="Coherence", group="Structure", position=1
        ),
        LikertDomain.objects.create(
            study=study, key="harmlessness", label="Harmlessness", group="Safety", position=2
        ),
    ]
    LikertDomain.objects.create(study=other, key="correctness", label="Correctness")
    raters = [member(study, "rater", f"rater{i}") for i in (1, 2, 3)]
    for i, user in enumerate(raters, start=1):
        Rater.objects.create(study=study, code=f"rater{i}", user=user)
    reader_user = member(study, "reader", "reader1")
    readers["R1"].user = reader_user
    readers["R1"].save()
    return World(
        study=study,
        other=other,
        coordinator=member(study, "coordinator", "coord"),
        statistician=member(study, "statistician", "stats"),
        reader_user=reader_user,
        raters=raters,
        outsider=member(other, "rater", "outsider"),
        readers=readers,
        domains=domains,
        readings=readings,
    )


SessionMaker = Callable[..., RatingSession]


@pytest.fixture
def make_session(world: World) -> SessionMaker:
    """Create (and by default start) a session over every output of the test study."""
    counter = iter(range(1000))

    def make(*, start: bool = True, **options: Any) -> RatingSession:
        params: dict[str, Any] = {
            "name": f"Session {next(counter)}",
            "readers": list(world.readers.values()),
            "runs": [1, 2],
            "domains": world.domains,
            "raters_per_item": 3,
            "seed": 12345,
            "show_images": True,
        }
        params.update(options)
        study = params.pop("study", world.study)
        actor = params.pop("actor", world.coordinator)
        raters = params.pop("raters") if "raters" in params else world.rater_profiles()
        session = rating_session_create(
            study=study, raters=raters, options=RatingSessionOptions(**params), actor=actor
        )
        if start:
            session = rating_session_open(
                session=session, actor=world.coordinator, confirm_unresolved_leaks=True
            )
        return session

    return make


def all_fours(body: dict[str, Any]) -> Behaviour:
    """A scripted LLM judge (``FakeOpenAIServer.script``) that gives 4 on every domain."""
    keys = body["response_format"]["json_schema"]["schema"]["required"]
    return text(json.dumps(dict.fromkeys(keys, 4)))


@pytest.fixture
def llm(settings: Any) -> Iterator[FakeOpenAIServer]:
    """The local OpenAI-compatible server, allowed, with fast retries (LLM judge tests)."""
    settings.GENERATION_RETRY_BASE_SECONDS = 0.01
    settings.GENERATION_RETRY_CAP_SECONDS = 0.05
    settings.GENERATION_DISPATCH = "inline"
    with FakeOpenAIServer(latency=0.02) as server:
        settings.GENERATION_ALLOWED_BASE_URLS = [server.origin]
        yield server
