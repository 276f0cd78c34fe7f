"""Schemathesis against the project's own OpenAPI schema, over real HTTP: no request gives a 5xx.

The app runs in pytest-django's live server with a small imported study; the schemathesis CLI
fuzzes every operation of ``/api/schema/`` as each role, with the study's real slug filled in so
that requests get past the study lookup. Mode ``all`` sends valid and invalid data alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from readerstudy import roles
from readerstudy.services import study_import
from tests.api.conftest import member

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ST = Path(sys.executable).with_name("st")


@pytest.fixture
def fuzzed_study(make_bundle, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return study_import(path=make_bundle()).study


def run_schemathesis(base: str, token: str, workdir: Path, slug: str) -> dict[str, object]:
    config = workdir / "schemathesis.toml"
    config.write_text(
        "\n".join(
            [
                f'parameters = {{ slug = "{slug}" }}',
                f'headers = {{ Authorization = "Token {token}" }}',
                "",
            ]
        )
    )
    report = workdir / "report.json"
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{base}/api/schema/",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "15",
        "--seed",
        "20261123",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        # Revoking the token would end the run's authentication; it has its own tests.
        "--exclude-operation-id",
        "auth_token_destroy",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return json.loads(report.read_text()) if report.exists() else {}


@pytest.mark.parametrize("role", [roles.COORDINATOR, roles.STATISTICIAN, roles.READER, roles.RATER])
def test_no_api_operation_gives_a_server_error(live_server, fuzzed_study, tmp_path, role) -> None:
    user = member(fuzzed_study, role)
    token = Token.objects.create(user=user).key
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    run_schemathesis(live_server.url, token, tmp_path, fuzzed_study.slug)
