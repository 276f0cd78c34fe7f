"""Schemathesis against the project's own OpenAPI schema, over real HTTP: no request gives a 5xx.

The app runs in pytest-django's live server with the demo study (sessions, items, images,
readings, scores); the schemathesis CLI fuzzes every operation of ``/api/schema/`` as the demo's
coordinator, a reader and a rater, with real values for the path parameters (the study's slug, the
reader's assignment token, the rater's item id, ...) so that requests reach the code behind the
lookups. Mode ``all`` sends valid and invalid data alike; the only check is "no 5xx".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from evaluation.models import RatingSession, RatingTask
from readerstudy.reading.models import ReadingAssignment
from readerstudy.studies.models import Study

pytestmark = [
    pytest.mark.slow,
    pytest.mark.schemathesis,  # once per CI run: .ci/run skips it on the SQLite pass
    pytest.mark.django_db(transaction=True),
]

ST = Path(sys.executable).with_name("st")
SLUG = "nme-gpt4o-demo"


@pytest.fixture
def demo_values(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Load the demo; the values to put into the schema's path parameters."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    users = get_user_model().objects
    study = Study.objects.get(slug=SLUG)
    assignment = ReadingAssignment.objects.filter(reader__user__username="r3").first()
    task = (
        RatingTask.objects.filter(assignment__rater__user__username="rater1")
        .order_by("position")
        .first()
    )
    assert assignment is not None and task is not None
    return {
        "slug": SLUG,
        "code": study.cases.order_by("position").first().code,
        "token": assignment.token,
        "position": 1,
        "index": 1,
        "number": 1,
        "public_id": task.item.public_id,
        "id": RatingSession.objects.filter(study=study).first().pk,
        "run_id": 1,
        "name": "readings.csv",
        "tokens": {
            name: Token.objects.get_or_create(user=users.get(username=name))[0].key
            for name in ("coordinator", "r3", "rater1")
        },
    }


def run_schemathesis(base: str, token: str, workdir: Path, values: dict[str, object]) -> str:
    parameters = ", ".join(
        f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}"
        for key, value in values.items()
        if key != "tokens"
    )
    config = workdir / "schemathesis.toml"
    config.write_text(
        f'parameters = {{ {parameters} }}\nheaders = {{ Authorization = "Token {token}" }}\n'
    )
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{base}/api/schema/",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "4",
        "--seed",
        "20261123",
        "--workers",
        "2",
        "--phases",
        "examples,coverage,fuzzing",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "60",
        # Revoking the token would end the run's authentication; it has its own tests.
        "--exclude-operation-id",
        "auth_token_destroy",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=900)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("username", ["coordinator", "r3", "rater1"])
def test_no_api_operation_gives_a_server_error(
    live_server, demo_values, tmp_path, username
) -> None:
    output = run_schemathesis(
        live_server.url, demo_values["tokens"][username], tmp_path, demo_values
    )
    assert "Tested:" in output
