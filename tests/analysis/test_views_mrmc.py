"""The dashboard's MRMC section and modality selector: the demo out of the box, live demo
readings, designs that are not fully crossed; never internal error text."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.test import Client

from fixtures.accounts import demo_accounts_create
from readerstudy.studies.models import Reading, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.analysis.conftest import Member, SmallStudy
from tests.analysis.test_results_mrmc import INTERNAL, _read_live

pytestmark = pytest.mark.django_db


def url(study: Study, tail: str = "") -> str:
    return f"/studies/{study.slug}/analysis/{tail}"


def section(page: str) -> str:
    """The MRMC section of a dashboard page (unescaped text)."""
    start = page.index('<section aria-labelledby="mrmc-title" id="mrmc">')
    return html.unescape(page[start : page.index("</section>", start)])


def text_of(page: str) -> str:
    """What a person reads on the page: no tags, no figure JSON."""
    page = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_demo_dashboard_shows_the_mrmc_table_figure_and_plain_notes(
    client: Client, demo_study: Study, member: Member
) -> None:
    client.force_login(member(demo_study, "coordinator"))
    response = client.get(url(demo_study))
    assert response.status_code == 200
    page = response.content.decode()
    mrmc = section(page)
    assert "MRMC: comparison of modalities" in mrmc
    assert (
        "Design: modality 1 (unaided) vs modality 2 (AI-assisted); readers R3, R4, R5 on 114 cases "
        "(57 positive), empirical AUC, jackknife covariance." in mrmc
    )
    assert (
        "Modality 2 (AI-assisted) raised the average AUC over modality 1 (unaided) by 0.078 "
        "(95% CI 0.014 to 0.142), p = 0.033, from 0.712 to 0.790" in mrmc
    )
    assert "readers and cases treated as random" in mrmc
    assert "The largest change is R5's." in mrmc
    assert "MRMC: 6 readers without readings in modality 2 (AI-assisted) are left out" in mrmc
    # the table: one row per analysis with AUC per modality, difference, CI, F, df, p
    table = mrmc[mrmc.index('id="table-mrmc"') :]
    for header in ("AUC A (95% CI)", "AUC B (95% CI)", "Difference B − A (95% CI)", "F", "df"):
        assert f'<th scope="col">{header}</th>' in table
    rows = re.findall(r"<tr><td>(RRRC|FRRC|RRFC)</td>(.*?)</tr>", table)
    assert [r[0] for r in rows] == ["RRRC", "FRRC", "RRFC"]
    assert "<td>0.078 (0.014–0.142)</td>" in rows[0][1] and "<td>1, 2.37</td>" in rows[0][1]
    assert "<td>1, ∞</td>" in rows[1][1]
    assert 'id="table-mrmc_readers"' in mrmc
    assert "Obuchowski–Rockette with Hillis (2007) denominator df, empirical AUC" in mrmc
    # the figure is drawn in the MRMC section, once
    assert 'data-figure="fig-mrmc_modalities"' in mrmc
    assert page.count('data-figure="fig-mrmc_modalities"') == 1
    # the modality selector of the per-reader tables
    select = re.search(r'<select name="modality".*?</select>', page, re.S)
    assert select is not None
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0)) == [
        "1 (unaided)",
        "2 (AI-assisted)",
    ]
    assert "per-reader tables and figures: modality 1 (unaided)" in page
    assert not INTERNAL.search(text_of(page))


def test_the_modality_selector_switches_the_per_reader_tables(
    client: Client, demo_study: Study, member: Member
) -> None:
    client.force_login(member(demo_study, "statistician"))
    page = client.get(url(demo_study), {"modality": "2"}).content.decode()
    assert "per-reader tables and figures: modality 2 (AI-assisted)" in page
    doc = json.loads(client.get(url(demo_study, "results.json"), {"modality": "2"}).content)
    assert doc["modality"] == 2 and len(doc["readers"]) == 3
    assert doc["mrmc"] and doc["mrmc"][0]["modalities"] == [1, 2]
    bad = client.get(url(demo_study), {"modality": "9"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()


def test_a_blinded_statistician_sees_pseudonyms_in_the_mrmc_section(
    client: Client, demo_study: Study, member: Member
) -> None:
    client.force_login(member(demo_study, "statistician"))
    mrmc = section(client.get(url(demo_study)).content.decode())
    for code in ("R3", "R4", "R5"):
        assert pseudonym(demo_study.slug, "reader", code) in mrmc
        assert not re.search(rf"\b{code}\b", mrmc), code


@pytest.mark.slow
def test_live_demo_readings_never_put_internal_error_text_on_the_dashboard(
    client: Client, demo_study: Study, member: Member
) -> None:
    demo_accounts_create(study=demo_study)
    client.force_login(member(demo_study, "coordinator"))
    # one reading, then a few of one class only, then a few by a second reader
    steps = [("R3", 1, None), ("R3", 4, 5), ("R4", 3, None)]
    for reader, n, category in steps:
        _read_live(demo_study, reader=reader, n=n, category=category)
        for query in ({}, {"modality": "3"}, {"modality": "2"}, {"readers": ["R3", "R4"]}):
            response = client.get(url(demo_study), query)
            assert response.status_code == 200, (reader, n, query)
            page = response.content.decode()
            assert not INTERNAL.search(text_of(page)), (reader, n, query)
            assert "Nothing was computed" not in page
            if "readers" not in query:
                assert "MRMC: modality 3 (live demo reading) is left out" in section(page)
                assert 'id="table-mrmc"' in section(page)
    page = client.get(url(demo_study)).content.decode()
    select = re.search(r'<select name="modality".*?</select>', page, re.S)
    assert select is not None and "3 (live demo reading)" in select.group(0)
    assert Reading.objects.filter(case__study=demo_study, modality=3).count() == 5 + 3


def test_a_design_that_is_not_fully_crossed_shows_a_note(
    client: Client, small_study: SmallStudy, member: Member
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1}, modalities=2, likert=False)
    Reading.objects.filter(reader__study=study, modality=2).exclude(reader__code="R1").delete()
    client.force_login(member(study, "coordinator"))
    response = client.get(url(study))
    assert response.status_code == 200
    mrmc = section(response.content.decode())
    assert "MRMC: not computed, because the design is not fully crossed." in mrmc
    assert 'id="table-mrmc"' not in mrmc
    assert not INTERNAL.search(text_of(response.content.decode()))
