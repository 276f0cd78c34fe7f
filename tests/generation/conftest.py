"""Fixtures of the generation tests: the local OpenAI-compatible server and a small study."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group

from readerstudy.generation.models import GenerationConfig
from readerstudy.generation.prompts import (
    DEFAULT_SYSTEM_TEMPLATE,
    DEFAULT_USER_TEMPLATES,
    default_schema,
)
from readerstudy.studies.models import Case, Reader, ScaleCategory, Study, StudyMember
from tests.factories import CaseFactory, ReaderFactory, StudyFactory, UserFactory
from tests.openai_server import FakeOpenAIServer

FINDINGS = [
    "Segmental non-mass enhancement with clumped internal enhancement; type III curve.",
    "Focal non-mass enhancement, homogeneous; type I curve.",
    "Linear non-mass enhancement, heterogeneous; type II curve.",
    "Regional non-mass enhancement, homogeneous; type I curve.",
]


@pytest.fixture(autouse=True)
def _generation_settings(settings: Any) -> None:
    settings.GENERATION_DISPATCH = "inline"
    settings.GENERATION_RETRY_BASE_SECONDS = 0.01
    settings.GENERATION_RETRY_CAP_SECONDS = 0.05


@pytest.fixture
def llm(settings: Any) -> Iterator[FakeOpenAIServer]:
    """The local server, on a free port that the settings allow explicitly."""
    with FakeOpenAIServer() as server:
        settings.GENERATION_ALLOWED_BASE_URLS = [server.origin]
        yield server


def study_create(n_test: int = 4, n_train: int = 2) -> Study:
    study = StudyFactory(slug="gen-study", title="Generation study")
    ScaleCategory.objects.filter(study=study, value=4).update(label="Suspicious")
    for i in range(n_test):
        CaseFactory(
            study=study,
            code=f"T{i + 1}",
            split="test",
            truth=1 if i % 2 == 0 else 0,
            position=i,
            location=f"left breast, region {i + 1}",
            clinical_history=f"Patient {i + 1}, 50 years.",
            findings=f"[T{i + 1}] " + FINDINGS[i % len(FINDINGS)],
            reference_impression=f"Reference impression {i + 1}. BI-RADS {4 if i % 2 == 0 else 2}.",
        )
    for i in range(n_train):
        CaseFactory(
            study=study,
            code=f"L{i + 1}",
            split="train",
            truth=i % 2,
            position=100 + i,
            location="right breast",
            clinical_history="Screening.",
            findings=f"[L{i + 1}] " + FINDINGS[i % len(FINDINGS)],
            reference_impression=f"Training impression {i + 1}. Assessment: BI-RADS {5 if i % 2 else 2}.",
        )
    return study


def config_create(
    study: Study, url: str, *, code: str = "M1", **overrides: Any
) -> GenerationConfig:
    reader = ReaderFactory(study=study, code=code, kind=Reader.Kind.MODEL, label="Model")
    values: dict[str, Any] = {
        "reader": reader,
        "base_url": url,
        "model": "gpt-4o-2024-08-06",
        "system_template": DEFAULT_SYSTEM_TEMPLATE,
        "user_template": DEFAULT_USER_TEMPLATES["text"],
        "response_schema": default_schema(study.categories),
        "concurrency": 4,
        "timeout_seconds": 5,
        "max_attempts": 4,
        "price_input_per_1k": "0.0025",
        "price_output_per_1k": "0.01",
    }
    values.update(overrides)
    return GenerationConfig.objects.create(**values)


def form_data(**overrides: Any) -> dict[str, Any]:
    """What the configuration page posts for a new model reader A1-live."""
    data = {
        "reader": "",
        "reader_code": "A1-live",
        "reader_label": "GPT-4o zero-shot, live",
        "provider": "openai",
        "base_url": "http://vllm-host:8000/v1",
        "api_version": "",
        "model": "gpt-4o-2024-08-06",
        "api_key_env": "",
        "inputs": "text",
        "system_template": "You are a radiologist. Scale: {scale} ({categories}).",
        "user_template": "History: {clinical_history}\nLocation: {location}\nFindings: {findings}",
        "image_detail": "auto",
        "max_images": "",
        "temperature": "1.0",
        "seed": "",
        "n_runs": "3",
        "response_format": "json_schema",
        "response_schema": "",
        "max_tokens": "800",
        "token_param": "max_tokens",
        "price_input_per_1k": "0.0025",
        "price_output_per_1k": "0.01",
        "concurrency": "4",
        "timeout_seconds": "30",
        "max_attempts": "4",
    }
    data.update(overrides)
    return data


@pytest.fixture
def study() -> Study:
    return study_create()


@pytest.fixture
def config(study: Study, llm: FakeOpenAIServer) -> GenerationConfig:
    return config_create(study, llm.url)


@pytest.fixture
def coordinator(study: Study) -> Any:
    user = UserFactory(username="coord")
    user.groups.add(Group.objects.get(name="coordinator"))
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    return user


def cases_of(study: Study) -> list[Case]:
    return list(Case.objects.filter(study=study, split="test").order_by("position"))
