"""The sample-size planning page: login required, form → result, MRMC grid plot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("analysis-planning")


def test_planning_needs_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_planning_reproduces_buderer_example(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(
        URL,
        {"kind": "sens-spec", "expected": "0.9", "half_width": "0.05", "prevalence": "0.2"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "692 cases in total (139 positive)" in text
    assert "Buderer NM (1996)" in text


def test_planning_mrmc_grid_shows_a_plot_with_one_line_per_reader_count(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(URL, {"kind": "mrmc", "readers": "5,10", "cases": "100,165"})
    assert response.status_code == 200
    text = response.content.decode()
    raw = re.search(
        r'<script id="fig-mrmc-power" type="application/json">(.*?)</script>', text, re.S
    )
    assert raw is not None
    fig = json.loads(raw.group(1))
    assert [t["name"] for t in fig["data"]] == ["5 readers", "10 readers"]
    assert "RJafroc SsPowerGivenJK" in text


def test_planning_bad_input_says_which_field(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(URL, {"kind": "sens-spec", "prevalence": "1.5"})
    assert response.status_code == 400
    assert "prevalence: must be between 0 and 1" in response.content.decode()


def test_planning_page_is_linked_from_the_dashboard_template() -> None:
    text = Path("templates/analysis/dashboard.html").read_text()
    assert "{% url 'analysis-planning' %}" in text
