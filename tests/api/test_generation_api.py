"""Generation runs through the API, against the local OpenAI-compatible server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.generation.models import GenerationRun
from readerstudy.studies.models import Reading
from tests.api.conftest import member
from tests.generation.conftest import config_create, study_create
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db

RUNS = "/api/studies/gen-study/generation/runs/"
KEY_ENV = "READERSTUDY_KEY_API_TEST"


@pytest.fixture(autouse=True)
def _inline(settings: Any) -> None:
    settings.GENERATION_DISPATCH = "inline"
    settings.GENERATION_RETRY_BASE_SECONDS = 0.01
    settings.GENERATION_RETRY_CAP_SECONDS = 0.05


@pytest.fixture
def llm(settings: Any) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        settings.GENERATION_ALLOWED_BASE_URLS = [server.origin]
        yield server


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "sk-test-" + secrets.token_hex(20)
    monkeypatch.setenv(KEY_ENV, value)
    return value


@pytest.fixture
def gen(db: None, llm: FakeOpenAIServer) -> dict[str, Any]:
    study = study_create()
    config = config_create(study, llm.url, api_key_env=KEY_ENV)
    return {
        "study": study,
        "config": config,
        "coordinator": member(study, roles.COORDINATOR),
        "statistician": member(study, roles.STATISTICIAN),
    }


def test_a_coordinator_starts_a_run_and_no_key_is_ever_returned(gen, api_as, key) -> None:
    client = api_as(gen["coordinator"])
    response = client.post(RUNS, {"reader": "M1", "n_runs": 2}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["reader"], body["status"], body["n_runs"]) == ("M1", "finished", 2)
    assert body["counts"]["done"] == 8 and body["progress"]["finished"] == 8
    assert Reading.objects.filter(reader=gen["config"].reader, source="generated").count() == 8
    assert AuditEvent.objects.filter(action="generation_run_create").exists()
    pages = [
        response.content,
        client.get(RUNS).content,
        client.get(RUNS + f"{body['id']}/").content,
    ]
    for page in pages:
        text = page.decode()
        assert key not in text and key[8:20] not in text
        assert KEY_ENV not in text and "127.0.0.1" not in text
        assert "system_template" not in text


def test_runs_are_listed_with_counts_and_filters(gen, api_as, key) -> None:
    client = api_as(gen["coordinator"])
    run_id = client.post(RUNS, {"reader": "M1", "limit": 1, "n_runs": 1}, format="json").json()[
        "id"
    ]
    listing = client.get(RUNS).json()
    assert [r["id"] for r in listing["results"]] == [run_id]
    assert listing["results"][0]["counts"]["done"] == 1
    assert client.get(RUNS, {"status": "running"}).json()["count"] == 0
    assert client.get(RUNS, {"reader": "M1"}).json()["count"] == 1
    detail = client.get(RUNS + f"{run_id}/").json()
    assert detail["progress"]["can_resume"] is False and detail["model"] == "gpt-4o-2024-08-06"


def test_a_missing_key_is_400_and_creates_nothing(gen, api_as, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    response = api_as(gen["coordinator"]).post(RUNS, {"reader": "M1"}, format="json")
    assert response.status_code == 400
    assert "reader" in response.json()["errors"]
    assert not GenerationRun.objects.exists()


def test_existing_readings_are_a_conflict_unless_overwrite(gen, api_as, key) -> None:
    client = api_as(gen["coordinator"])
    assert client.post(RUNS, {"reader": "M1", "limit": 1}, format="json").status_code == 201
    again = client.post(RUNS, {"reader": "M1", "limit": 1}, format="json")
    assert again.status_code == 409 and "not overwritten" in again.json()["detail"]
    assert GenerationRun.objects.count() == 1
    replaced = client.post(RUNS, {"reader": "M1", "limit": 1, "overwrite": True}, format="json")
    assert replaced.status_code == 201


def test_invalid_start_requests_name_the_field(gen, api_as, key) -> None:
    client = api_as(gen["coordinator"])
    for body, field in (
        ({"reader": "M1", "n_runs": 21}, "n_runs"),
        ({"reader": "M1", "mode": "fast"}, "mode"),
        ({"reader": "nobody"}, "reader"),
        ({}, "reader"),
    ):
        response = client.post(RUNS, body, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], body
    assert not GenerationRun.objects.exists()


def test_stop_and_resume(gen, api_as, key) -> None:
    client = api_as(gen["coordinator"])
    run_id = client.post(RUNS, {"reader": "M1", "limit": 1}, format="json").json()["id"]
    assert client.post(RUNS + f"{run_id}/stop/").status_code == 409  # finished already
    GenerationRun.objects.filter(pk=run_id).update(status="stopped")
    resumed = client.post(RUNS + f"{run_id}/resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "finished"


def test_statisticians_and_other_studies_get_no_runs(gen, api_as, key, other_study) -> None:
    client = api_as(gen["coordinator"])
    run_id = client.post(RUNS, {"reader": "M1", "limit": 1}, format="json").json()["id"]
    assert api_as(gen["statistician"]).get(RUNS).status_code == 403
    outsider = member(other_study, roles.COORDINATOR)
    assert api_as(outsider).get(RUNS + f"{run_id}/").status_code == 404
    assert (
        api_as(outsider).get(f"/api/studies/other-study/generation/runs/{run_id}/").status_code
        == 404
    )
