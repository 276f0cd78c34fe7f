"""Secrets exfiltration (issue 11, finding 1): only keys the server allows are ever sent.

The attack: a coordinator names a variable of the server (``SECRET_KEY``, ``DATABASE_URL``,
``PATH``, another team's key, an entry of the secrets file) as the configuration's API key,
points the base URL at a listener and starts a run; the listener records the
``Authorization`` header. Here the listener is the real local server, reached by the real
``openai`` client, on an origin the settings allow (so only the key rules stand in the way),
and every path that sends a key is tried: direct runs, batch runs, resuming, the page, the
API, fine-tuning jobs and their refresh.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.keys import (
    ApiKeyNotAllowedError,
    ConnectionSettingsError,
    api_key_name_allowed,
    api_key_names_allowed,
)
from readerstudy.generation.batch import run_batch_advance
from readerstudy.generation.checks import check_generation_configs, check_generation_settings
from readerstudy.generation.finetune import (
    FinetuneExportError,
    FineTuneOptions,
    finetune_export,
    finetune_job_create,
    finetune_job_refresh,
)
from readerstudy.generation.models import FineTuneJob, GenerationConfig, GenerationRun
from readerstudy.generation.runner import run_execute
from readerstudy.generation.services import RunOptions, run_create, run_resume
from readerstudy.studies.models import Study
from tests.generation.conftest import config_create, form_data
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db
BASE = "/studies/gen-study/generation/"

#: Variables a coordinator tried to have sent, and whether the settings can ever allow them.
SERVER_VARIABLES = [
    "SECRET_KEY",
    "DATABASE_URL",
    "PATH",
    "CELERY_BROKER_URL",
    "READERSTUDY_SECRETS_FILE",
    "READERSTUDY_VAR_DIR",
    "LOGIN_FAILURE_LIMIT",
    "PGPASSWORD",
    "DJANGO_DEBUG",
    "HTTPS_PROXY",
]


def marker(name: str) -> str:
    """A recognisable value for the variable ``name`` (what the listener must never see)."""
    return f"leak-{name.lower()}-{secrets.token_hex(8)}"


def bearer_tokens(llm: FakeOpenAIServer) -> set[str]:
    return {
        str(r.headers.get("authorization") or r.headers.get("Authorization")) for r in llm.requests
    }


def try_every_path(study: Study, config: GenerationConfig, tmp_path: Path) -> list[str]:
    """Every way a key is sent; the messages of the refusals."""
    messages = []
    with pytest.raises(ConnectionSettingsError) as refused:
        run_create(config=config)
    messages.append(str(refused.value))
    # Runs stored before the rule (or queued by hand) fail with the reason when executed.
    for mode, execute in (("direct", run_execute), ("batch", run_batch_advance)):
        run = GenerationRun.objects.create(config=config, n_runs=1, mode=mode, config_snapshot={})
        with pytest.raises(ConnectionSettingsError):
            execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "failed"
        messages.append(run.message)
        with pytest.raises(ConnectionSettingsError):
            run_resume(run=run)
    summary = finetune_export(study=study, mode="text", out=tmp_path / "train.jsonl")
    with pytest.raises((ConnectionSettingsError, FinetuneExportError)) as job_refused:
        finetune_job_create(
            study=study,
            options=FineTuneOptions(base_model="gpt-4o"),
            summary=summary,
            connection=Connection.of(config),
        )
    messages.append(str(job_refused.value))
    job = FineTuneJob.objects.create(
        study=study,
        mode="text",
        n_examples=1,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        base_model="gpt-4o",
        training_file_id="file-1",
        job_id="ftjob-1",
        status="running",
    )
    messages.append(finetune_job_refresh(job=job).error)
    return messages


@pytest.mark.parametrize("name", SERVER_VARIABLES)
def test_the_servers_own_variables_never_reach_a_listener(
    name: str,
    study: Study,
    llm: FakeOpenAIServer,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    value = marker(name)
    if name == "READERSTUDY_SECRETS_FILE":  # a path: the file exists
        value = str(tmp_path / value)
        Path(value).write_text("READERSTUDY_KEY_FROM_FILE=sk-file-0123456789abcdef\n")
    monkeypatch.setenv(name, value)
    # Even an administrator who lists it, or picks a prefix that matches it, cannot allow it.
    settings.GENERATION_API_KEYS = [name]
    settings.GENERATION_API_KEY_PREFIX = name[:5]
    assert not api_key_name_allowed(name) and name not in api_key_names_allowed()
    config = config_create(study, llm.url, api_key_env=name)
    for message in try_every_path(study, config, tmp_path):
        assert name in message and "server's own configuration" in message, message
        assert value not in message
    assert llm.requests == []
    assert not any(value in token for token in bearer_tokens(llm))


def test_a_name_nobody_allowed_is_refused_with_the_setting_named(
    study: Study,
    llm: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Another team's key, in the environment or the secrets file, is not the study's."""
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("OTHER_TEAM_KEY=sk-other-team-0123456789abcdef\n")
    monkeypatch.setenv("READERSTUDY_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-machine-0123456789abcdef")
    for name in ("OTHER_TEAM_KEY", "OPENAI_API_KEY"):
        config = config_create(study, llm.url, code=f"M-{name}", api_key_env=name)
        for message in try_every_path(study, config, tmp_path):
            assert f"the API key variable {name} is not allowed" in message
            assert "GENERATION_API_KEYS" in message and "READERSTUDY_KEY_" in message
    assert llm.requests == []


def test_listed_names_and_names_with_the_prefix_are_sent(
    study: Study, llm: FakeOpenAIServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-listed-0123456789abcdef")
    monkeypatch.setenv("READERSTUDY_KEY_VLLM", "sk-prefixed-0123456789abcdef")
    settings.GENERATION_API_KEYS = ["OPENAI_API_KEY"]
    for code, name in (("L1", "OPENAI_API_KEY"), ("L2", "READERSTUDY_KEY_VLLM")):
        config = config_create(study, llm.url, code=code, api_key_env=name)
        assert (
            run_execute(run_id=run_create(config=config, options=RunOptions(limit=1)).pk).status
            == "finished"
        )
    assert bearer_tokens(llm) == {
        "Bearer sk-listed-0123456789abcdef",
        "Bearer sk-prefixed-0123456789abcdef",
    }


def test_the_page_and_the_api_refuse_with_the_variable_and_the_setting(
    study: Study, llm: FakeOpenAIServer, coordinator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "page-secret-0123456789abcdef")
    config = config_create(study, llm.url, api_key_env="SECRET_KEY")
    client = Client()
    client.force_login(coordinator)
    fields = {"mode": "direct", "n_runs": "1", "split": "test", "limit": "1"}
    page = client.post(f"{BASE}configs/{config.pk}/start/", {**fields, "action": "start"})
    html = page.content.decode()
    assert page.status_code == 200 and "SECRET_KEY is not allowed" in html
    home = client.get(BASE).content.decode()
    assert "Cannot run: the API key variable SECRET_KEY is not allowed" in home
    edit = client.get(f"{BASE}configs/{config.pk}/").content.decode()
    assert "SECRET_KEY: not allowed on this server" in edit
    api = client.post(
        f"/api/studies/{study.slug}/generation/runs/",
        {"reader": "M1", "n_runs": 1},
        content_type="application/json",
    )
    assert api.status_code == 400 and "SECRET_KEY is not allowed" in api.content.decode()
    for text in (html, home, edit, api.content.decode()):
        assert "page-secret-0123456789abcdef" not in text
    assert not GenerationRun.objects.exists() and llm.requests == []


def test_the_form_offers_only_allowed_names_and_never_values(
    study: Study, coordinator: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.GENERATION_ALLOWED_BASE_URLS = ["http://vllm-host:8000"]
    settings.GENERATION_API_KEYS = ["OPENAI_API_KEY", "SECRET_KEY", "UNSET_LISTED_KEY"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-value-of-openai-0123456789")
    monkeypatch.setenv("READERSTUDY_KEY_TEAM", "sk-value-of-team-0123456789")
    monkeypatch.setenv("SECRET_KEY", "value-of-secret-key-0123456789")
    client = Client()
    client.force_login(coordinator)
    html = client.get(f"{BASE}configs/new/").content.decode()
    for offered in ("OPENAI_API_KEY", "READERSTUDY_KEY_TEAM", "UNSET_LISTED_KEY (not set)"):
        assert offered in html
    assert 'value="SECRET_KEY"' not in html and 'value="PATH"' not in html
    assert "value-of" not in html
    for name in ("SECRET_KEY", "PATH", "DATABASE_URL"):
        response = client.post(f"{BASE}configs/new/", form_data(api_key_env=name))
        assert "choose one of the key variables this server allows" in response.content.decode()
    assert not GenerationConfig.objects.exists()
    response = client.post(f"{BASE}configs/new/", form_data(api_key_env="READERSTUDY_KEY_TEAM"))
    assert response.status_code == 302
    assert GenerationConfig.objects.get().api_key_env == "READERSTUDY_KEY_TEAM"


def test_the_settings_record_every_variable_they_read(settings: Any) -> None:
    read = settings.SETTINGS_ENVIRONMENT_VARIABLES
    for name in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"):
        assert name in read
    assert "GENERATION_API_KEYS" in read and "READERSTUDY_GENERATION_DISPATCH" in read


# ---------------------------------------------------------------------------- system checks


def test_the_system_check_warns_about_stored_configurations_with_forbidden_keys_or_servers(
    study: Study, llm: FakeOpenAIServer
) -> None:
    config_create(study, llm.url, api_key_env="SECRET_KEY")
    config_create(study, "http://169.254.169.254/latest", code="M2")
    config_create(study, llm.url, code="M3", api_key_env="READERSTUDY_KEY_OK")
    assert check_generation_configs(None) == []  # only with --database (as Django does)
    found = check_generation_configs(None, databases=["default"])
    assert [w.id for w in found] == ["readerstudy.W024", "readerstudy.W024"]
    assert "gen-study/M1" in found[0].msg and "SECRET_KEY is not allowed" in found[0].msg
    assert "gen-study/M2" in found[1].msg and "169.254.169.254" in found[1].msg


def test_check_database_reports_them_on_the_command_line(
    study: Study, llm: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config_create(study, llm.url, api_key_env="DATABASE_URL")
    call_command("check", "--database", "default")
    err = capsys.readouterr().err
    assert "readerstudy.W024" in err and "DATABASE_URL" in err


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"GENERATION_API_KEYS": ["SECRET_KEY", "OK_KEY"]}, "readerstudy.W021"),
        ({"GENERATION_API_KEY_PREFIX": "RE"}, "readerstudy.W022"),
        ({"GENERATION_API_KEY_PREFIX": "DATABASE_"}, "readerstudy.W022"),
        ({"GENERATION_ALLOW_LINK_LOCAL": True}, "readerstudy.W023"),
        ({"GENERATION_ALLOWED_BASE_URLS": ["ftp://files.local"]}, "readerstudy.E021"),
    ],
)
def test_the_system_check_warns_about_unsafe_generation_settings(
    overrides: dict[str, Any], expected: str, settings: Any
) -> None:
    assert check_generation_settings(None) == []
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert [m.id for m in check_generation_settings(None)] == [expected]


def test_a_refused_key_is_an_api_key_error_with_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from readerstudy.core.llm.keys import api_key_resolve

    monkeypatch.setenv("SECRET_KEY", "resolve-secret-0123456789")
    with pytest.raises(ApiKeyNotAllowedError) as refused:
        api_key_resolve("SECRET_KEY")
    assert "resolve-secret" not in str(refused.value)


def test_the_service_refuses_what_the_form_refuses(study: Study, llm: FakeOpenAIServer) -> None:
    from django.core.exceptions import ValidationError

    from readerstudy.generation.services import generation_config_create

    values = {"base_url": "http://169.254.169.254/v1", "model": "m", "api_key_env": "SECRET_KEY"}
    values["user_template"] = "Findings: {findings}"
    with pytest.raises(ValidationError) as refused:
        generation_config_create(study=study, reader_code="S1", values=values)
    assert set(refused.value.message_dict) == {"api_key_env", "base_url"}
    assert not GenerationConfig.objects.exists()
    config = config_create(study, llm.url)
    config.api_key_env = "DATABASE_URL"
    from readerstudy.generation.services import generation_config_update

    with pytest.raises(ValidationError, match="DATABASE_URL is not allowed"):
        generation_config_update(config=config, changed=["api_key_env"])
    config.refresh_from_db()
    assert config.api_key_env == ""
