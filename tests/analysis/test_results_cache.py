"""The dashboard's results cache: keyed by the study's data version, invalidated by changes."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis.selectors import study_data_version
from evaluation.models import LikertScore
from readerstudy.studies.models import Case, Reading, Study
from tests.analysis.conftest import Member, SmallStudy

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(small_study: SmallStudy) -> Study:
    return small_study()


def dashboard(client: Client, study: Study) -> str:
    response = client.get(f"/studies/{study.slug}/analysis/")
    assert response.status_code == 200
    # the CSRF token of the sign-out form is new in every response
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_the_data_version_moves_with_every_kind_of_change(study: Study) -> None:
    versions = [study_data_version(study)]
    assert study_data_version(study) == versions[0]  # nothing changed
    reading = Reading.objects.filter(reader__study=study).order_by("pk").first()
    assert reading is not None
    reading.category = 5 if reading.category != 5 else 1
    reading.save()
    versions.append(study_data_version(study))
    # in place, without touching updated_at
    Reading.objects.filter(pk=reading.pk).update(score=0.123)
    versions.append(study_data_version(study))
    LikertScore.objects.filter(reading__reader__study=study).filter(
        pk=LikertScore.objects.filter(reading__reader__study=study).order_by("pk")[0].pk
    ).update(score=1)
    versions.append(study_data_version(study))
    Case.objects.filter(study=study).filter(pk=reading.case_id).update(truth=1 - reading.case.truth)
    versions.append(study_data_version(study))
    Reading.objects.filter(pk=reading.pk).delete()
    versions.append(study_data_version(study))
    assert len(set(versions)) == len(versions)


def test_a_warm_dashboard_loads_no_readings_and_a_change_shows_at_once(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "coordinator"))
    with CaptureQueriesContext(connection) as cold:
        first = dashboard(client, study)
    with CaptureQueriesContext(connection) as warm:
        assert dashboard(client, study) == first
    tables = ("studies_reading", "evaluation_likertscore")
    loads = [q["sql"] for q in warm.captured_queries if "SUM(" not in q["sql"]]
    assert not [q for q in loads if any(t in q for t in tables)]
    assert len(warm.captured_queries) < len(cold.captured_queries)
    before = json.loads(client.get(f"/studies/{study.slug}/analysis/results.json").content)
    Reading.objects.filter(reader__study=study, reader__code="R1").update(category=4)
    after_html = dashboard(client, study)
    after = json.loads(client.get(f"/studies/{study.slug}/analysis/results.json").content)
    assert after_html != first
    assert before["readers"]["R1"]["auc"] != after["readers"]["R1"]["auc"]
    assert after["readers"]["R1"]["auc"] == 0.5
    assert "0.50" in after_html
