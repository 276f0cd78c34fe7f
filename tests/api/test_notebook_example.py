"""The notebook example of docs/api.md runs as written against a live server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from readerstudy.core import roles
from tests.api.conftest import member
from tests.api.world_core import make_world
from tests.factories import StudyFactory

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def notebook_snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Notebook example (statistician)", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/api.md: the notebook section has no python block"
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_the_notebook_example_pulls_every_page(live_server: Any, monkeypatch, capsys) -> None:
    study = StudyFactory(slug="api-study")
    people = {role: member(study, role, f"{role}1") for role in roles.ROLES}
    world = make_world(study, StudyFactory(slug="other-study"), people)
    study.unblinded_at = timezone.now()
    study.save()
    token, _ = Token.objects.get_or_create(user=world.people[roles.STATISTICIAN])
    monkeypatch.setenv("READERSTUDY_URL", live_server.url)
    monkeypatch.setenv("READERSTUDY_STUDY", "api-study")
    monkeypatch.setenv("READERSTUDY_TOKEN", token.key)

    namespace: dict[str, Any] = {}
    exec(compile(notebook_snippet(), "docs/api.md", "exec"), namespace)

    data = namespace["data"]
    assert len(data) == 9  # test cases C1-C3: M1 x 2 runs + R2
    assert set(data["reader"]) == {"M1", "R2"}
    assert data["truth"].notna().all()  # unblinded: statisticians get the truth
    assert "M1" in capsys.readouterr().out
    # Small pages give the same rows: the loop follows `next` to the end.
    paged = namespace["fetch"]("readings", split="test", page_size=2)
    assert sorted(paged["id"]) == sorted(data["id"])


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_snippet() -> str:
    section = README.read_text(encoding="utf-8").split("**REST API.**", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md: the REST API paragraph has no python block"
    return match.group(1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_readme_notebook_example_runs_on_the_demo(live_server: Any, monkeypatch) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("demo", "--no-images", stdout=open("/dev/null", "w"))  # noqa: SIM115
    statistician = get_user_model().objects.get(username="statistician")
    token, _ = Token.objects.get_or_create(user=statistician)
    monkeypatch.setenv("READERSTUDY_URL", live_server.url)
    monkeypatch.setenv("READERSTUDY_TOKEN", token.key)

    namespace: dict[str, Any] = {}
    exec(compile(readme_snippet(), "README.md", "exec"), namespace)

    readings = namespace["readings"]
    assert len(readings) > 114 * 9  # every test-split reading of the demo
    aucs = namespace["aucs"]
    assert len(aucs) == 9 and aucs["auc"].between(0.4, 1.0).all()
    # Before unblinding both tables name readers by the same pseudonyms, so they join.
    assert readings["reader"].str.match(r"^RD-[0-9a-f]{12}$").all()
    summary = namespace["summary"]
    assert len(summary) == 9 and summary["count"].ge(114).all()
    assert summary["auc"].notna().all() and set(summary.index) == set(aucs.index)
