"""Dashboard, downloads and exports: access, pseudonyms, live data, audit, bad filters."""

from __future__ import annotations

import io
import json
import shutil

import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Reading, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.analysis.conftest import Member, SmallStudy
from tests.factories import StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(study: Study, tail: str = "") -> str:
    return f"/studies/{study.slug}/analysis/{tail}"


@pytest.fixture
def study(small_study: SmallStudy) -> Study:
    return small_study()


def test_statisticians_and_coordinators_see_the_dashboard(
    client: Client, study: Study, member: Member
) -> None:
    for role in ("statistician", "coordinator"):
        client.force_login(member(study, role))
        response = client.get(url(study))
        assert response.status_code == 200, role
        html = response.content.decode()
        assert "Diagnostic performance per reader (Table S1)" in html
        assert 'data-figure="fig-delong_matrix"' in html
        assert "/static/analysis/vendor/plotly.min.js" in html
        assert "cdn" not in html.lower()


def test_everyone_else_gets_404(client: Client, study: Study, member: Member) -> None:
    targets = [
        url(study),
        url(study, "results.json"),
        url(study, "tables/diagnostic_performance.csv"),
        url(study, "figures/roc_curves.html"),
        f"/studies/{study.slug}/exports/readings.csv",
    ]
    for role in ("reader", "rater"):
        client.force_login(member(study, role))
        for target in targets:
            assert client.get(target).status_code == 404, (role, target)
    client.force_login(UserFactory())
    for target in targets:
        assert client.get(target).status_code == 404, target
    client.logout()
    assert client.get(url(study)).status_code == 302  # sign-in first


def test_a_statistician_sees_pseudonyms_until_the_study_is_unblinded(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "statistician"))
    blinded = client.get(url(study)).content.decode()
    assert pseudonym(study.slug, "reader", "M1") in blinded
    assert 'value="M1"' not in blinded
    asked = client.get(url(study), {"ids": "real"}).content.decode()
    assert pseudonym(study.slug, "reader", "M1") in asked  # asking does not help
    export = b"".join(
        client.get(f"/studies/{study.slug}/exports/readings.csv?ids=real").streaming_content
    )
    assert b'"M1"' not in export and pseudonym(study.slug, "reader", "M1").encode() in export

    study.unblinded_at = timezone.now()
    study.save(update_fields=["unblinded_at"])
    unblinded = client.get(url(study)).content.decode()
    assert 'value="M1"' in unblinded
    assert pseudonym(study.slug, "reader", "M1") not in unblinded
    results = json.loads(client.get(url(study, "results.json")).content)
    assert set(results["readers"]) == {"R1", "M1", "M2"}
    again = client.get(url(study), {"ids": "pseudonymous"}).content.decode()
    assert pseudonym(study.slug, "reader", "M1") in again


def test_a_coordinator_sees_real_ids_and_may_ask_for_pseudonyms(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "coordinator"))
    results = json.loads(client.get(url(study, "results.json")).content)
    assert list(results["readers"]) == ["R1", "M1", "M2"]
    blinded = json.loads(client.get(url(study, "results.json"), {"ids": "pseudonymous"}).content)
    assert set(blinded["readers"]) == {
        pseudonym(study.slug, "reader", c) for c in ("R1", "M1", "M2")
    }


def test_the_dashboard_reflects_live_data(client: Client, study: Study, member: Member) -> None:
    client.force_login(member(study, "coordinator"))
    before = json.loads(client.get(url(study, "results.json")).content)
    Reading.objects.filter(reader__study=study, reader__code="R1").update(category=4)
    after = json.loads(client.get(url(study, "results.json")).content)
    assert before["readers"]["R1"]["auc"] != after["readers"]["R1"]["auc"]
    assert after["readers"]["R1"]["auc"] == 0.5


def test_filters_select_split_readers_and_runs(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "coordinator"))
    response = client.get(url(study, "results.json"), {"readers": ["M1", "M2"], "runs": ["1", "2"]})
    doc = json.loads(response.content)
    assert list(doc["readers"]) == ["M1", "M2"]
    assert {r["run"] for r in doc["likert"]["by_reader"]} == {1, 2, None}
    train = json.loads(client.get(url(study, "results.json"), {"split": "train"}).content)
    assert train["n_cases"] == 4


def test_bad_filters_are_refused_with_a_message_naming_the_field(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "statistician"))
    response = client.get(url(study), {"split": "validation"})
    assert response.status_code == 400
    assert "split" in response.content.decode()
    response = client.get(url(study), {"likert_min": "4"})
    assert response.status_code == 400
    assert "radial range" in response.content.decode()
    bad = client.get(url(study, "results.json"), {"runs": ["9"]})
    assert bad.status_code == 400 and b"runs" in bad.content
    assert client.get(f"/studies/{study.slug}/exports/readings.csv?ids=maybe").status_code == 400


def test_tables_and_figures_download(client: Client, study: Study, member: Member) -> None:
    client.force_login(member(study, "coordinator"))
    csv = client.get(url(study, "tables/diagnostic_performance.csv"))
    assert csv.status_code == 200
    assert "attachment" in csv["Content-Disposition"]
    table = pd.read_csv(io.BytesIO(csv.content))
    assert table["reader"].tolist() == ["R1", "M1", "M2"]
    docx = client.get(url(study, "tables/auc_comparisons.docx"))
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert docx["Content-Type"].endswith("wordprocessingml.document")
    xlsx = client.get(url(study, "tables/tables.xlsx"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    html = client.get(url(study, "figures/roc_curves.html"))
    assert html.status_code == 200
    assert b"<script" in html.content and b'src="http' not in html.content
    png = client.get(url(study, "figures/confusion_matrices.png"))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(url(study, "figures/delong_matrix.svg"))
    assert svg.status_code == 200 and svg.content.startswith(b"<svg")
    # the print layout: the figure's own column (confusion_matrices: 183 mm) at 300 dpi
    with Image.open(io.BytesIO(png.content)) as image:
        assert abs(image.size[0] - 183 * 300 / 25.4) <= 1
        assert [round(v) for v in image.info["dpi"]] == [300, 300]
    tiff = client.get(url(study, "figures/roc_curves.tiff"))
    assert tiff.status_code == 200 and tiff["Content-Type"] == "image/tiff"
    with Image.open(io.BytesIO(tiff.content)) as image:
        assert image.format == "TIFF" and abs(image.size[0] - 89 * 300 / 25.4) <= 1
    pdf = client.get(url(study, "figures/roc_curves.pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    if shutil.which("gs"):  # CI installs Ghostscript
        eps = client.get(url(study, "figures/roc_curves.eps"))
        assert eps.status_code == 200 and eps["Content-Type"] == "application/postscript"
        assert eps.content.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    assert client.get(url(study, "figures/nothing.html")).status_code == 404
    assert client.get(url(study, "tables/nothing.csv")).status_code == 404


def test_every_export_streams_and_is_audited(client: Client, study: Study, member: Member) -> None:
    user = member(study, "coordinator")
    client.force_login(user)
    response = client.get(f"/studies/{study.slug}/exports/likert.csv")
    assert response.status_code == 200
    assert response.streaming
    frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)))
    assert len(frame) == Reading.objects.filter(reader__study=study).count() * 4
    sav = client.get(f"/studies/{study.slug}/exports/readings.sav")
    assert sav.status_code == 200
    assert b"".join(sav.streaming_content)[:4] == b"$FL2"
    assert client.get(f"/studies/{study.slug}/exports/secrets.txt").status_code == 404
    events = AuditEvent.objects.filter(action="export", study=study, actor=user).order_by("id")
    assert [(e.details["kind"], e.details["pseudonymous"]) for e in events] == [
        ("likert.csv", False),
        ("readings.sav", False),
    ]


def test_the_study_hub_links_to_the_dashboard(client: Client, study: Study, member: Member) -> None:
    client.force_login(member(study, "statistician"))
    assert (
        f'href="/studies/{study.slug}/analysis/"'
        in client.get(f"/studies/{study.slug}/").content.decode()
    )


def test_plotly_js_is_served_by_the_app(client: Client) -> None:
    response = client.get("/static/analysis/vendor/plotly.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"plotly" in body[:2000].lower() and len(body) > 1_000_000


def test_a_study_without_readings_yet_shows_an_empty_dashboard(
    client: Client, member: Member
) -> None:
    empty = StudyFactory()
    client.force_login(member(empty, "coordinator"))
    response = client.get(url(empty))
    assert response.status_code == 200
    assert "0 cases read" in response.content.decode()
    doc = json.loads(client.get(url(empty, "results.json")).content)
    assert doc["readers"] == {} and doc["auc_tests"] == [] and doc["mrmc"] == []


def test_the_dashboard_offers_the_statistical_options_in_the_query_string(
    client: Client, study: Study, member: Member
) -> None:
    client.force_login(member(study, "statistician"))
    page = client.get(url(study)).content.decode()
    for name in ("kappa_ci", "proportion_ci", "p_adjust", "mrmc_covariance"):
        assert f'name="{name}"' in page
    assert "Fleiss κ (Gwet CI)" in page and "not adjusted for multiple comparisons" in page
    query = {"kappa_ci": "spss", "proportion_ci": "wilson", "p_adjust": "holm"}
    chosen = client.get(url(study), query).content.decode()
    assert "Fleiss κ (SPSS CI)" in chosen and "Holm-adjusted" in chosen
    assert "Wilson score" in chosen and "Dunn (Holm)" in chosen
    results = json.loads(client.get(url(study, "results.json"), query).content)
    assert results["methods"]["fleiss_kappa_ci"] == "spss"
    assert results["methods"]["p_adjust"] == {"delong": "holm", "mcnemar": "holm", "dunn": "holm"}
    api = client.get(f"/api/studies/{study.slug}/analysis/results/", query)
    assert api.status_code == 200
    assert api.json()["methods"]["proportion_ci"] == "wilson"
    bad = client.get(url(study), {"p_adjust": "sidak"})
    assert bad.status_code == 400 and "p_adjust" in bad.content.decode()
