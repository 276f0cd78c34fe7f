"""The demo: A1-live generates against the local server from the command line and the page,
and A1's imported readings stay as they were."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.studies.models import Reading
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_the_demo_a1_configuration_runs_from_the_command_and_the_page(
    llm: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("READERSTUDY_DEMO_LLM_URL", llm.url)
    call_command("demo", "--no-images", stdout=StringIO())
    config = GenerationConfig.objects.get(reader__code="A1-live")
    assert config.base_url == llm.url and config.reader.study.slug == "nme-gpt4o-demo"
    a1 = list(
        Reading.objects.filter(reader__code="A1", reader__study=config.reader.study)
        .order_by("pk")
        .values_list("pk", "category", "impression", "source")
    )
    assert len(a1) == 3 * 114 and {r[3] for r in a1} == {"imported"}

    out = StringIO()
    call_command(
        "generate",
        "nme-gpt4o-demo",
        "A1-live",
        "--limit",
        "5",
        "--yes",
        "--no-progress",
        stdout=out,
    )
    assert "finished. done 15" in out.getvalue()
    first = set(
        Reading.objects.filter(reader=config.reader, source="generated").values_list(
            "pk", flat=True
        )
    )
    assert len(first) == 15

    client = Client()
    client.force_login(User.objects.get(username="coordinator"))
    start = f"/studies/nme-gpt4o-demo/generation/configs/{config.pk}/start/"
    fields = {"mode": "direct", "n_runs": "3", "split": "test", "limit": "4", "overwrite": "on"}
    assert "Start the run" in client.post(start, {**fields, "action": "estimate"}).content.decode()
    response = client.post(start, {**fields, "action": "start"})
    run = GenerationRun.objects.order_by("-pk").first()
    assert run is not None and response["Location"].endswith(f"/runs/{run.pk}/")
    assert run.status == "finished"
    now = set(Reading.objects.filter(reader=config.reader).values_list("pk", flat=True))
    assert len(now) == 15 and len(now - first) == 12  # the first 4 cases' readings replaced
    assert llm.chat_requests == 15 + 12 and llm.context_violations == 0
    after = list(
        Reading.objects.filter(reader__code="A1", reader__study=config.reader.study)
        .order_by("pk")
        .values_list("pk", "category", "impression", "source")
    )
    assert after == a1
    hub = client.get("/studies/nme-gpt4o-demo/").content.decode()
    assert "/studies/nme-gpt4o-demo/generation/" in hub
