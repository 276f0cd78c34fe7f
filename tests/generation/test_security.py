"""API keys never reach the database, exports, pages or logs (but do reach the server)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from readerstudy.core.llm.client import Connection
from readerstudy.generation.batch import run_batch_advance
from readerstudy.generation.finetune import FineTuneOptions, finetune_export, finetune_job_create
from readerstudy.generation.models import GenerationItem
from readerstudy.generation.runner import run_execute
from readerstudy.generation.services import RunOptions, run_create
from readerstudy.studies.models import Study
from tests.generation.conftest import config_create
from tests.openai_server import FakeOpenAIServer, echo_key

pytestmark = pytest.mark.django_db


def database_text() -> str:
    """Every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_the_key_is_sent_to_the_server_and_stored_nowhere(
    study: Study,
    llm: FakeOpenAIServer,
    coordinator: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    key = "sk-test-" + secrets.token_hex(20)
    fragments = [key, key[:8] + key[8:20], key[-6:], key[8:]]
    monkeypatch.setenv("READERSTUDY_KEY_TEST", key)
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)

    direct = config_create(study, llm.url, api_key_env="READERSTUDY_KEY_TEST")
    batch = config_create(study, llm.url, code="M2", api_key_env="READERSTUDY_KEY_TEST")
    llm.when("[T2]", echo_key())  # a 401 that repeats the key
    run = run_create(config=direct)
    assert run_execute(run_id=run.pk).status == "failed"
    llm.when("[T2]", echo_key())
    batch_run = run_create(config=batch, options=RunOptions(mode="batch"))
    assert run_batch_advance(run_id=batch_run.pk).status == "failed"
    summary = finetune_export(study=study, mode="text", out=tmp_path / "ft.jsonl")
    finetune_job_create(
        study=study,
        options=FineTuneOptions(base_model="gpt-4o-2024-08-06"),
        summary=summary,
        connection=Connection.of(direct),
    )

    # The server did get the key, and did echo it back.
    auth = {r.headers.get("authorization") or r.headers.get("Authorization") for r in llm.requests}
    assert auth == {f"Bearer {key}"}
    errors = list(GenerationItem.objects.filter(status="error").values_list("error", flat=True))
    assert len(errors) == 2 and all("Incorrect API key provided: [redacted]" in e for e in errors)

    client = Client()
    client.force_login(coordinator)  # type: ignore[arg-type]
    base = f"/studies/{study.slug}/generation/"
    item = GenerationItem.objects.filter(run=run, status="error").get()
    pages = [
        base,
        f"{base}configs/{direct.pk}/",
        f"{base}runs/{run.pk}/",
        f"{base}runs/{run.pk}/?status=error",
        f"{base}runs/{run.pk}/progress/",
        f"{base}runs/{batch_run.pk}/",
        f"{base}items/{item.pk}/",
        f"/studies/{study.slug}/",
    ]
    html = "\n".join(client.get(url).content.decode() for url in pages)
    call_command("export_study", study.slug, str(tmp_path / "export"))
    exported = "\n".join(
        p.read_text(errors="replace") for p in (tmp_path / "export").rglob("*") if p.is_file()
    )

    for where, text in [
        ("database", database_text()),
        ("pages", html),
        ("export", exported),
        ("logs", caplog.text),
    ]:
        for fragment in fragments:
            assert fragment not in text, f"the key leaked into the {where}"
    assert "READERSTUDY_KEY_TEST" in html  # the name of the variable is shown, never its value
