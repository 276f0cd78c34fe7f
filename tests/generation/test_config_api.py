"""Generation configurations created through the API: the configuration page's rules,
messages, starting values and audit event (tests/generation/test_views.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.generation.models import GenerationConfig
from readerstudy.generation.prompts import DEFAULT_USER_TEMPLATES
from readerstudy.studies.models import Reader, Reading, Study
from tests.factories import ReaderFactory, UserFactory
from tests.generation.conftest import config_create
from tests.openai_server import FakeOpenAIServer
from tests.reading.conftest import member

pytestmark = pytest.mark.django_db

URL = "/api/studies/gen-study/generation/configs/"


@pytest.fixture(autouse=True)
def _allowed(settings: Any) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = [
        *settings.GENERATION_ALLOWED_BASE_URLS,
        "http://vllm-host:8000",  # the server of body()
    ]


def client(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reader_code": "A1-live",
        "reader_label": "GPT-4o zero-shot, live",
        "base_url": "http://vllm-host:8000/v1",
        "n_runs": 2,
        "concurrency": 2,
    }
    data.update(overrides)
    return data


def counts() -> tuple[int, int, int]:
    return (
        GenerationConfig.objects.count(),
        Reader.objects.count(),
        AuditEvent.objects.filter(action="generation_config_create").count(),
    )


def test_a_configuration_made_through_the_api_generates_readings(
    study: Study, coordinator: Any, llm: FakeOpenAIServer
) -> None:
    api = client(coordinator)
    response = api.post(URL, body(base_url=llm.url), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["reader"], created["reader_label"], created["n_runs"]) == (
        "A1-live",
        "GPT-4o zero-shot, live",
        2,
    )
    # nothing that could carry a secret or the prompts is answered
    assert not {"base_url", "api_key_env", "system_template", "user_template"} & set(created)
    config = GenerationConfig.objects.get(pk=created["id"])
    assert config.created_by == coordinator and config.reader.kind == "model"
    # what the request left out is what the page starts with
    assert config.model == "gpt-4o-2024-08-06" and config.inputs == "text"
    assert config.user_template == DEFAULT_USER_TEMPLATES["text"]
    assert config.response_schema["properties"]["category"]["enum"] == list(range(7))
    event = AuditEvent.objects.get(action="generation_config_create", target="A1-live")
    assert event.actor == coordinator
    assert [c["reader"] for c in api.get(URL).json()["results"]] == ["A1-live"]

    run = api.post("/api/studies/gen-study/generation/runs/", {"reader": "A1-live"}, format="json")
    assert run.status_code == 201, run.json()
    assert run.json()["status"] == "finished"
    assert Reading.objects.filter(reader=config.reader).count() == 4 * 2  # 4 test cases, 2 runs


def test_an_existing_model_reader_gets_the_configuration(study: Study, coordinator: Any) -> None:
    model = ReaderFactory(study=study, code="M7", kind=Reader.Kind.MODEL)
    response = client(coordinator).post(
        URL, body(reader="M7", reader_code="", inputs="images"), format="json"
    )
    assert response.status_code == 201, response.json()
    config = GenerationConfig.objects.get(reader=model)
    assert config.user_template == DEFAULT_USER_TEMPLATES["images"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"user_template": "Findings: {report}"}, "user_template", "unknown placeholder {report}"),
        (
            {"response_schema": {"type": "object", "properties": {}}},
            "response_schema",
            "needs the property",
        ),
        ({"base_url": "ftp://example.org"}, "base_url", "only http:// and https://"),
        ({"base_url": "https://user:pw@example.org/v1"}, "base_url", "no user name or password"),
        ({"provider": "azure"}, "api_version", "needs an API version"),
        ({"reader_code": ""}, "reader_code", "choose a model reader"),
        ({"reader_code": "bad code!"}, "reader_code", ""),
        ({"temperature": 3}, "temperature", "less than or equal to 2"),
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
        ({"reader": "R404", "reader_code": ""}, "reader", "without a configuration: R404."),
    ],
)
def test_bad_configurations_name_the_field_and_write_nothing(
    study: Study, coordinator: Any, overrides: dict[str, Any], field: str, message: str
) -> None:
    before = counts()
    response = client(coordinator).post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert counts() == before


def test_a_reader_that_has_a_configuration_or_a_taken_code_is_refused(
    study: Study, coordinator: Any
) -> None:
    config_create(study, "http://vllm-host:8000/v1", code="M1")
    before = counts()
    api = client(coordinator)
    taken = api.post(URL, body(reader="M1", reader_code=""), format="json")
    assert taken.status_code == 400 and "reader" in taken.json()["errors"]
    again = api.post(URL, body(reader_code="M1"), format="json")
    assert again.json()["errors"]["reader_code"] == ["the study already has a reader M1"]
    assert counts() == before


def test_a_key_pasted_into_the_key_variable_is_refused_and_not_echoed(
    study: Study, coordinator: Any
) -> None:
    key = "sk-proj-PASTEDKEY1234567890abcdef"
    response = client(coordinator).post(URL, body(api_key_env=key), format="json")
    assert response.status_code == 400
    assert "never the key itself" in response.content.decode()
    assert "PASTEDKEY" not in response.content.decode()
    assert not GenerationConfig.objects.exists()


@pytest.mark.parametrize("role", ["reader", "rater", "statistician"])
def test_other_roles_may_not_create_configurations(study: Study, role: str) -> None:
    user = UserFactory()
    member(user, study, role)
    before = counts()
    assert client(user).post(URL, body(), format="json").status_code == 403
    assert client(user).get(URL).status_code == 403
    assert counts() == before
