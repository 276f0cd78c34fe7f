"""``manage.py demo``: the demo study and the demo accounts."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from evaluation.models import LikertScore, Rater
from readerstudy.models import Case, Reader, Reading, Study, StudyMember

pytestmark = pytest.mark.django_db

ACCOUNTS = ["coordinator", "statistician", "r3", "r4", "r5", "rater1", "rater2", "rater3"]


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-images", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_demo_study_and_prints_the_logins() -> None:
    output = run_demo()
    study = Study.objects.get(slug="nme-gpt4o-demo")
    assert Case.objects.filter(study=study, split="test").count() == 114
    assert Case.objects.filter(study=study, split="train").count() == 119
    # R3-R5 unaided (modality 1) and AI-assisted (modality 2), six models with three runs
    assert Reading.objects.filter(case__study=study).count() == 2 * 3 * 114 + 6 * 3 * 114
    assert Reading.objects.filter(case__study=study, modality=2).count() == 3 * 114
    assert LikertScore.objects.filter(domain__study=study).count() == 55_404
    assert "http://127.0.0.1:8000/" in output
    for username in ACCOUNTS:
        assert username in output


@pytest.mark.slow
def test_the_demo_logins_work_and_are_linked_to_readers_and_raters() -> None:
    run_demo()
    study = Study.objects.get(slug="nme-gpt4o-demo")
    for username in ACCOUNTS:
        client = Client()
        assert client.login(username=username, password="demo"), username
        assert client.get(f"/studies/{study.slug}/").status_code == 200
    assert Reader.objects.get(study=study, code="R3").user.username == "r3"
    assert Rater.objects.get(study=study, code="rater2").user.username == "rater2"
    assert StudyMember.objects.filter(study=study).count() == len(ACCOUNTS)


@pytest.mark.slow
def test_running_it_again_keeps_the_study() -> None:
    run_demo()
    first = Study.objects.get(slug="nme-gpt4o-demo").pk
    assert "already loaded" in run_demo()
    assert Study.objects.get(slug="nme-gpt4o-demo").pk == first


@pytest.mark.slow
def test_it_creates_no_demo_accounts_outside_development(settings: pytest.FixtureRequest) -> None:
    settings.DEV_MODE = False
    with pytest.raises(CommandError, match="only created in development"):
        run_demo()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="r3").exists()


@pytest.mark.slow
def test_the_printed_reader_count_is_the_one_the_home_page_shows() -> None:
    output = run_demo()
    study = Study.objects.get(slug="nme-gpt4o-demo")
    total = Reader.objects.filter(study=study).count()
    assert total == 10  # R3-R5, A1, A2, B-E and the live model reader A1-live
    stated = re.search(r"The study has (\d+) cases and (\d+) readers", output)
    assert stated is not None, output
    assert int(stated.group(2)) == total
    assert "9 readers" not in output
    client = Client()
    client.login(username="coordinator", password="demo")
    home = client.get("/").content.decode()
    assert f"{stated.group(1)} cases · {total} readers" in home
