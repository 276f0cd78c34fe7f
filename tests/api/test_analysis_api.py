"""The analysis API (results.json, exports) and the audit log API: who sees what, pseudonyms,
live data, audit, bad parameters."""

# The fixtures of tests/analysis/conftest.py are imported, so test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import io
import json
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import audit_record
from readerstudy.studies.models import Reading, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.analysis.conftest import Member, SmallStudy, member, small_study  # noqa: F401
from tests.factories import StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(small_study: SmallStudy) -> Study:
    return small_study()


def results_url(study: Study) -> str:
    return f"/api/studies/{study.slug}/analysis/results/"


def export_url(study: Study, name: str) -> str:
    return f"/api/studies/{study.slug}/exports/{name}/"


def test_results_are_the_dashboards_results_json_and_audited(
    study: Study, member: Member, api_as, client
) -> None:
    coordinator = member(study, "coordinator")
    response = api_as(coordinator).get(results_url(study), {"split": "all"})
    assert response.status_code == 200
    body = response.json()
    client.force_login(coordinator)
    download = client.get(f"/studies/{study.slug}/analysis/results.json", {"split": "all"})
    assert body == json.loads(download.content)
    assert "M1" in str(body)  # coordinators see real ids
    event = AuditEvent.objects.filter(action="export", details__via="api").get()
    assert event.target == "results.json" and event.actor == coordinator
    assert event.details["pseudonymous"] is False and event.details["filters"]["split"] == "all"


def test_statisticians_get_pseudonyms_until_unblinding(
    study: Study, member: Member, api_as
) -> None:
    client = api_as(member(study, "statistician"))
    blinded = str(client.get(results_url(study), {"ids": "real"}).json())
    assert "'M1'" not in blinded and pseudonym(study.slug, "reader", "M1") in blinded
    export = b"".join(
        client.get(export_url(study, "readings.csv"), {"ids": "real"}).streaming_content
    )
    assert b'"M1"' not in export and pseudonym(study.slug, "reader", "M1").encode() in export
    study.unblinded_at = timezone.now()
    study.save(update_fields=["unblinded_at"])
    assert "'M1'" in str(client.get(results_url(study)).json())
    assert "'M1'" not in str(client.get(results_url(study), {"ids": "pseudonymous"}).json())


def test_results_follow_the_stored_data(study: Study, member: Member, api_as) -> None:
    client = api_as(member(study, "coordinator"))
    before = client.get(results_url(study)).json()
    Reading.objects.filter(reader__study=study, reader__code="M2").delete()
    after = client.get(results_url(study)).json()
    assert "M2" in str(before) and "M2" not in str(after)


def test_bad_filters_are_400_naming_the_field(study: Study, member: Member, api_as) -> None:
    client = api_as(member(study, "coordinator"))
    response = client.get(results_url(study), {"split": "sideways", "runs": "x"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"split", "runs"}
    assert not AuditEvent.objects.filter(action="export").exists()


def test_exports_stream_csv_and_are_audited(study: Study, member: Member, api_as) -> None:
    statistician = member(study, "statistician")
    response = api_as(statistician).get(export_url(study, "likert.csv"), HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].endswith('-pseudonymous-likert.csv"')
    frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)))
    assert len(frame) and {"rater_id", "reader_id", "score"} <= set(frame.columns)
    assert set(frame["rater_id"]) == {pseudonym(study.slug, "rater", c) for c in ("rA", "rB")}
    event = AuditEvent.objects.get(action="export")
    assert event.target == "likert.csv" and event.actor == statistician
    assert event.details["pseudonymous"] is True


def test_unknown_exports_and_bad_ids_are_json_errors(study: Study, member: Member, api_as) -> None:
    client = api_as(member(study, "coordinator"))
    missing = client.get(export_url(study, "secrets.csv"))
    assert missing.status_code == 404 and missing.json() == {"detail": "No such export."}
    bad = client.get(export_url(study, "readings.csv"), {"ids": "maybe"})
    assert bad.status_code == 400 and "ids" in bad.json()["errors"]
    assert not AuditEvent.objects.filter(action="export").exists()


def test_only_coordinators_and_statisticians_reach_the_analysis(
    study: Study, member: Member, api_as
) -> None:
    other = StudyFactory()
    for role in ("reader", "rater"):
        client = api_as(member(study, role))
        assert client.get(results_url(study)).status_code == 403
        assert client.get(export_url(study, "readings.csv")).status_code == 403
    outsider = api_as(member(other, "statistician"))
    assert outsider.get(results_url(study)).status_code == 404
    assert outsider.get(export_url(study, "readings.csv")).status_code == 404
    assert api_as(UserFactory()).get(results_url(study)).status_code == 404
    assert api_as(None).get(results_url(study)).status_code == 401
    assert not AuditEvent.objects.filter(action="export").exists()


# --------------------------------------------------------------------------------------
# Audit log


def test_the_audit_log_is_paginated_filtered_and_for_coordinators_only(
    member: Member, api_as
) -> None:
    study, other = StudyFactory(), StudyFactory()
    coordinator = member(study, "coordinator")
    AuditEvent.objects.filter(study=study).delete()  # membership events of the set-up
    for i in range(5):
        audit_record(action="export", study=study, target=f"t{i}", actor=coordinator)
    audit_record(action="study_unblinded", study=study, target=study.slug)
    audit_record(action="export", study=other, target="elsewhere")
    old = audit_record(action="login", study=study)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=10))
    client = api_as(coordinator)
    url = f"/api/studies/{study.slug}/audit/"
    body = client.get(url, {"page_size": 2}).json()
    assert body["count"] == 7 and len(body["results"]) == 2 and body["next"]
    assert body["results"][0]["at"] >= body["results"][1]["at"]
    assert "elsewhere" not in str(client.get(url, {"page_size": 100}).json())
    exports = client.get(url, {"action": "export"}).json()
    assert exports["count"] == 5 and exports["results"][0]["target"] == "t4"  # newest first
    assert client.get(url, {"action": "export,study_unblinded"}).json()["count"] == 6
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert client.get(url, {"since": since}).json()["count"] == 6
    assert client.get(url, {"until": since}).json()["count"] == 1
    assert client.get(url, {"since": "yesterday"}).status_code == 400
    for role in ("statistician", "reader", "rater"):
        assert api_as(member(study, role)).get(url).status_code == 403
    assert api_as(member(other, "coordinator")).get(url).status_code == 404


def test_the_modality_filter_selects_the_per_reader_results(
    small_study: SmallStudy, member: Member, api_as
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1}, modalities=2, likert=False)
    client = api_as(member(study, "coordinator"))
    second = client.get(results_url(study), {"modality": 2}).json()
    first = client.get(results_url(study)).json()
    assert (first["modality"], second["modality"]) == (1, 2)
    assert first["readers"]["R1"]["auc"] != second["readers"]["R1"]["auc"]
    assert second["mrmc"] == first["mrmc"] and len(first["mrmc"]) == 3
    bad = client.get(results_url(study), {"modality": 4})
    assert bad.status_code == 400 and "modality" in bad.json()["errors"]
