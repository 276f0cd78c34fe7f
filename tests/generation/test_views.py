"""The coordinator pages: access, configuration, estimate and start, progress, stop, resume."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from readerstudy.audit.models import AuditEvent
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.studies.models import Reader, Reading, Study, StudyMember
from tests.conftest import assert_confirmation_page
from tests.factories import CaseFactory, StudyFactory, UserFactory
from tests.generation.conftest import config_create, form_data, study_create
from tests.openai_server import FakeOpenAIServer, malformed, refusal

BASE = "/studies/gen-study/generation/"


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def signed_in(client: Client, coordinator: Any, settings: Any) -> Client:
    settings.GENERATION_ALLOWED_BASE_URLS = [
        *settings.GENERATION_ALLOWED_BASE_URLS,
        "http://vllm-host:8000",  # the server of form_data()
    ]
    client.force_login(coordinator)
    return client


@pytest.mark.django_db
def test_only_coordinators_of_the_study_see_the_pages(
    client: Client, config: GenerationConfig, study: Study
) -> None:
    urls = [
        BASE,
        f"{BASE}configs/new/",
        f"{BASE}configs/{config.pk}/",
        f"{BASE}configs/{config.pk}/start/",
    ]
    assert client.get(BASE).status_code == 302  # sign in first
    outsider = UserFactory()
    outsider.groups.add(Group.objects.get(name="coordinator"))
    statistician = UserFactory()
    statistician.groups.add(Group.objects.get(name="statistician"))
    StudyMember.objects.create(study=study, user=statistician, role="statistician")
    for user in (outsider, statistician):
        client.force_login(user)
        assert [client.get(u).status_code for u in urls] == [404] * len(urls)


@pytest.mark.django_db
def test_objects_of_another_study_are_404(
    signed_in: Client, study: Study, llm: FakeOpenAIServer
) -> None:
    other = StudyFactory(slug="other-study")
    foreign = config_create(other, llm.url, code="X1")
    assert signed_in.get(f"{BASE}configs/{foreign.pk}/").status_code == 404
    assert signed_in.get("/studies/other-study/generation/").status_code == 404


@pytest.mark.django_db
def test_a_coordinator_configures_a_new_model_reader(signed_in: Client, study: Study) -> None:
    page = signed_in.get(f"{BASE}configs/new/").content.decode()
    assert 'name="api_key_env"' in page
    assert 'name="api_key"' not in page and 'type="password"' not in page  # no field for a key
    response = signed_in.post(f"{BASE}configs/new/", form_data())
    assert response.status_code == 302
    reader = Reader.objects.get(study=study, code="A1-live")
    assert reader.kind == "model" and reader.label == "GPT-4o zero-shot, live"
    config = reader.generation_config
    assert config.base_url == "http://vllm-host:8000/v1"
    assert config.response_schema["properties"]["category"]["enum"] == list(range(7))
    assert AuditEvent.objects.filter(action="generation_config_create", target="A1-live").exists()
    hub = signed_in.get(f"/studies/{study.slug}/").content.decode()
    assert "Model generation" in hub and "1 configured model reader" in hub


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("user_template", "Findings: {report}", "unknown placeholder {report}"),
        ("response_schema", '{"type": "object", "properties": {}}', "needs the property"),
        ("response_schema", "{not json", "Enter a valid JSON"),
        ("base_url", "ftp://example.org", "only http:// and https://"),
        ("base_url", "https://user:pw@example.org/v1", "no user name or password"),
        ("provider", "azure", "needs an API version"),
        ("reader_code", "", "choose a model reader"),
        ("temperature", "3", "less than or equal to 2"),
        ("concurrency", "0", "greater than or equal to 1"),
    ],
)
def test_bad_configurations_are_refused_with_the_field_named(
    signed_in: Client, study: Study, field: str, value: str, message: str
) -> None:
    response = signed_in.post(f"{BASE}configs/new/", form_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not GenerationConfig.objects.exists()


@pytest.mark.django_db
def test_a_key_pasted_into_the_key_variable_field_is_refused_and_not_shown(
    signed_in: Client, study: Study
) -> None:
    key = "sk-proj-PASTEDKEY1234567890abcdef"
    response = signed_in.post(f"{BASE}configs/new/", form_data(api_key_env=key))
    html = response.content.decode()
    assert "never the key itself" in html
    assert key not in html and "PASTEDKEY" not in html
    assert not GenerationConfig.objects.exists()


@pytest.mark.django_db
def test_editing_a_configuration_keeps_its_reader(
    signed_in: Client, config: GenerationConfig
) -> None:
    data = form_data(model="gpt-4o-mini", base_url=config.base_url)
    for name in ("reader", "reader_code", "reader_label"):
        data.pop(name)
    assert signed_in.post(f"{BASE}configs/{config.pk}/", data).status_code == 302
    config.refresh_from_db()
    assert config.model == "gpt-4o-mini" and config.reader.code == "M1"
    changed = AuditEvent.objects.get(action="generation_config_update").details["changed"]
    assert "model" in changed and "concurrency" not in changed


@pytest.mark.django_db
def test_estimate_then_start_then_see_the_results(
    signed_in: Client, config: GenerationConfig, llm: FakeOpenAIServer
) -> None:
    llm.when("[T2]", refusal("I can't."))
    llm.when("[T3]", malformed('{"category": 4, "impre'))
    start = f"{BASE}configs/{config.pk}/start/"
    assert "Estimate the cost" in signed_in.get(start).content.decode()
    fields = {"mode": "direct", "n_runs": "3", "split": "test", "limit": ""}
    html = signed_in.post(start, {**fields, "action": "estimate"}).content.decode()
    assert "12 (4 cases × 3 runs, direct)" in html and "Start the run" in html
    assert not GenerationRun.objects.exists()  # nothing is sent before the confirmation
    response = signed_in.post(start, {**fields, "action": "start"})
    run = GenerationRun.objects.get()
    assert response["Location"] == f"{BASE}runs/{run.pk}/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Finished" in page and "12 of 12 items (100.0%)" in page
    assert 'data-active="false"' in page
    refused = signed_in.get(f"{BASE}runs/{run.pk}/?status=refused").content.decode()
    assert "Refused: I can&#x27;t." in refused and "T2" in refused and "T1</td>" not in refused
    progress = signed_in.get(f"{BASE}runs/{run.pk}/progress/").json()
    assert progress["counts"] == {
        "pending": 0,
        "done": 10,
        "refused": 1,
        "unparseable": 1,
        "error": 0,
    }
    assert progress["status"] == "finished" and progress["percent"] == 100.0
    item = GenerationItem.objects.get(run=run, status="unparseable")
    detail = signed_in.get(f"{BASE}items/{item.pk}/").content.decode()
    assert "Unparseable" in detail and "not JSON" in detail and "chat.completion" in detail
    home = signed_in.get(BASE).content.decode()
    assert f"Run {run.pk}" in home and "12/12" in home


@pytest.mark.django_db
def test_a_conflict_is_explained_and_nothing_starts(
    signed_in: Client, config: GenerationConfig, study: Study
) -> None:
    case = study.cases.get(code="T1")
    Reading.objects.create(reader=config.reader, case=case, category=3, source="imported")
    start = f"{BASE}configs/{config.pk}/start/"
    html = signed_in.post(
        start, {"mode": "direct", "n_runs": "3", "split": "test", "action": "start"}
    ).content.decode()
    assert "already has 1 reading(s) (imported)" in html
    assert not GenerationRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_start_progress_stop_resume_from_the_page_with_a_background_worker(
    client: Client, settings: Any
) -> None:
    settings.GENERATION_DISPATCH = "thread"
    study = study_create()
    user = UserFactory(username="coord2")
    # get_or_create: an earlier transactional test may have flushed the groups of migration 0003
    user.groups.add(Group.objects.get_or_create(name="coordinator")[0])
    StudyMember.objects.create(study=study, user=user, role="coordinator")
    client.force_login(user)
    with FakeOpenAIServer(latency=0.06) as llm:
        settings.GENERATION_ALLOWED_BASE_URLS = [llm.origin]
        config = config_create(study, llm.url, concurrency=1)
        start = f"{BASE}configs/{config.pk}/start/"
        client.post(start, {"mode": "direct", "n_runs": "3", "split": "test", "action": "start"})
        run = GenerationRun.objects.get()
        progress_url = f"{BASE}runs/{run.pk}/progress/"
        page = client.get(f"{BASE}runs/{run.pk}/").content.decode()
        assert 'data-active="true"' in page and "generation.js" in page

        wait_for(lambda: client.get(progress_url).json()["finished"] >= 2)
        client.post(f"{BASE}runs/{run.pk}/stop/")
        wait_for(lambda: client.get(progress_url).json()["status"] == "stopped")
        stopped = client.get(progress_url).json()
        assert 2 <= stopped["finished"] < 12 and stopped["can_resume"]
        assert "Resume" in client.get(f"{BASE}runs/{run.pk}/").content.decode()

        client.post(f"{BASE}runs/{run.pk}/resume/")
        wait_for(lambda: client.get(progress_url).json()["status"] == "finished")
        assert llm.chat_requests == 12
    assert Reading.objects.filter(reader=config.reader, source="generated").count() == 12
    assert set(
        AuditEvent.objects.filter(action__startswith="generation_run").values_list(
            "action", flat=True
        )
    ) == {"generation_run_create", "generation_run_stop", "generation_run_resume"}


@pytest.mark.django_db
def test_the_raw_response_and_progress_are_404_across_studies(
    signed_in: Client, study: Study, llm: FakeOpenAIServer
) -> None:
    from readerstudy.generation.services import run_create

    other = StudyFactory(slug="other-study")
    CaseFactory(study=other, code="O1")
    foreign = config_create(other, llm.url, code="X1")
    run = run_create(config=foreign)
    item = GenerationItem.objects.filter(run=run).first()
    assert item is not None
    for url in (
        f"{BASE}runs/{run.pk}/",
        f"{BASE}runs/{run.pk}/progress/",
        f"{BASE}items/{item.pk}/",
    ):
        assert signed_in.get(url).status_code == 404
    assert signed_in.post(f"{BASE}runs/{run.pk}/stop/").status_code == 404
    assert GenerationRun.objects.get(pk=run.pk).status == "queued"
    assert signed_in.get(f"{BASE}runs/999999/progress/").status_code == 404


@pytest.mark.django_db
def test_stopping_a_run_asks_first(signed_in: Client, config: GenerationConfig) -> None:
    run = GenerationRun.objects.create(config=config, status=GenerationRun.Status.QUEUED, n_runs=1)
    page = signed_in.get(f"{BASE}runs/{run.pk}/").content.decode()
    assert f'<a class="button danger" href="{BASE}runs/{run.pk}/stop/">Stop…</a>' in page
    assert f'action="{BASE}runs/{run.pk}/stop/"' not in page  # no one-click stop
    html = signed_in.get(f"{BASE}runs/{run.pk}/stop/").content.decode()
    assert_confirmation_page(html, action=f"{BASE}runs/{run.pk}/stop/", button="Stop the run")
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.QUEUED
    signed_in.post(f"{BASE}runs/{run.pk}/stop/")
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.STOPPED  # a queued run stops at once
    # nothing left to stop: back to the run page
    assert signed_in.get(f"{BASE}runs/{run.pk}/stop/").status_code == 302


@pytest.mark.django_db
def test_the_fine_tuning_hint_names_a_reader_of_this_study(
    signed_in: Client, study: Study, llm: FakeOpenAIServer
) -> None:
    html = signed_in.get(BASE).content.decode()
    assert "A1-live" not in html  # the demo's reader, not this study's
    assert "--reader READER]" in html and "configured model reader" in html
    config_create(study, llm.url, code="GPT4o-ft")
    html = signed_in.get(BASE).content.decode()
    assert "--reader GPT4o-ft]" in html and "A1-live" not in html
