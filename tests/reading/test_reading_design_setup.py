"""Crossover designs set up on the web and through the API: the design page and
``POST /api/studies/<slug>/reading-designs/`` (validated like the page, coordinators only,
audited), both on top of ``reading_design_create``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import ReadingAssignment, ReadingDesign, ReadingSession
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db

PAGE = "/studies/nme/reading/designs/new/"
API = "/api/studies/nme/reading-designs/"


def form(world: ReadingWorld, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Crossover",
        "split": "test",
        "readers": [world.reader1.pk, world.reader2.pk],
        "cases": "",
        "order": "random",
        "seed": "99",
        "run": "1",
        "modality": "2",
        "aided_modality": "3",
        "assist_reader": world.model.pk,
        "condition_order": "counterbalanced",
        "washout_days": "14",
        "ai_draft": "on",
        "show_images": "on",
        "show_location": "on",
        "require_impression": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_coordinator_creates_a_counterbalanced_design_from_the_page(world: ReadingWorld) -> None:
    client = signed_in(world.coordinator)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Washout (days)" in html and 'value="counterbalanced"' in html
    response = client.post(PAGE, form(world))
    assert response.status_code == 302 and response["Location"] == "/studies/nme/"
    design = ReadingDesign.objects.get(name="Crossover")
    assert (design.washout_days, design.counterbalance, design.seed) == (14, True, 99)
    assert design.created_by == world.coordinator
    unaided, aided = design.sessions.order_by("modality")
    assert (unaided.name, unaided.modality, unaided.assist_reader) == (
        "Crossover — unaided",
        2,
        None,
    )
    assert (aided.name, aided.modality, aided.assist_reader, aided.ai_draft) == (
        "Crossover — aided",
        3,
        world.model,
        True,
    )
    assert unaided.status == aided.status == "draft"
    periods = sorted(
        ReadingAssignment.objects.filter(session=aided).values_list("period", flat=True)
    )
    assert periods == [1, 2]  # two readers: one starts aided
    event = AuditEvent.objects.get(action="reading_design_created")
    assert event.actor == world.coordinator and event.details["washout_days"] == 14
    hub = client.get("/studies/nme/").content.decode()
    assert "New crossover design" in hub and "washout 14 days" in hub


def test_a_fixed_order_starts_every_reader_unaided(world: ReadingWorld) -> None:
    response = signed_in(world.coordinator).post(
        PAGE, form(world, condition_order="fixed", ai_draft=None)
    )
    assert response.status_code == 302
    design = ReadingDesign.objects.get()
    assert not design.counterbalance
    aided = design.sessions.get(modality=3)
    assert not aided.ai_draft
    assert set(aided.assignments.values_list("period", flat=True)) == {2}


def test_bad_design_settings_are_all_reported_in_one_pass_and_nothing_is_created(
    world: ReadingWorld,
) -> None:
    response = signed_in(world.coordinator).post(
        PAGE,
        form(
            world,
            aided_modality="1",  # R2 has readings at modality 1
            washout_days="-1",
            assist_reader=None,
            cases="NOPE",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"washout_days", "assist_reader", "cases"}
    assert "Not case ids of this study: NOPE" in response.content.decode()
    response = signed_in(world.coordinator).post(PAGE, form(world, aided_modality="2"))
    assert response.status_code == 400
    assert "Must differ from the unaided modality" in response.content.decode()
    response = signed_in(world.coordinator).post(PAGE, form(world, aided_modality="1"))
    assert "R2 already has 5 readings" in str(response.context["form"].errors["aided_modality"])
    assert not ReadingDesign.objects.exists() and not ReadingSession.objects.exists()


def test_a_design_name_that_is_taken_is_refused(world: ReadingWorld) -> None:
    world.session(name="Crossover — aided", modality=7)
    response = signed_in(world.coordinator).post(PAGE, form(world))
    assert response.status_code == 400
    assert "already has a session named “Crossover — aided”" in response.content.decode()
    assert not ReadingDesign.objects.exists()


@pytest.mark.parametrize("who", ["user1", "rater", "statistician"])
def test_the_design_page_is_404_for_everyone_but_coordinators(
    world: ReadingWorld, who: str
) -> None:
    client = signed_in(getattr(world, who))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, form(world)).status_code == 404
    assert not ReadingDesign.objects.exists()


def test_the_api_creates_a_design_and_lists_it(world: ReadingWorld) -> None:
    coord = api(world.coordinator)
    body = {
        "name": "API crossover",
        "readers": ["R1", "R2"],
        "assist_reader": "M1",
        "seed": 5,
        "washout_days": 7,
        "condition_order": "fixed",
        "ai_draft": True,
    }
    response = coord.post(API, body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["washout_days"] == 7 and created["condition_order"] == "fixed"
    assert created["seed"] == 5
    unaided, aided = created["sessions"]
    # default modalities: the first free one (2) and the next
    assert (unaided["modality"], aided["modality"]) == (2, 3)
    assert aided["assist_reader"] == "M1" and aided["ai_draft"] is True
    assert unaided["assist_reader"] is None and unaided["n_cases"] == 5
    assert unaided["periods"] == {"R1": 1, "R2": 1} and aided["periods"] == {"R1": 2, "R2": 2}
    design = ReadingDesign.objects.get(pk=created["id"])
    assert design.created_by == world.coordinator
    assert AuditEvent.objects.filter(
        action="reading_design_created", target=f"reading design {design.pk}"
    ).exists()
    listed = coord.get(API).json()
    assert [d["name"] for d in listed["results"]] == ["API crossover"]


def test_the_api_reports_every_bad_field_at_once_and_writes_nothing(world: ReadingWorld) -> None:
    response = api(world.coordinator).post(
        API,
        {
            "name": "Bad",
            "readers": ["R1", "M1"],
            "assist_reader": "R2",
            "washout_days": -3,
            "condition_order": "sometimes",
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) >= {"washout_days", "condition_order"}
    response = api(world.coordinator).post(
        API, {"name": "Bad", "readers": ["R1", "M1"], "assist_reader": "R2"}, format="json"
    )
    errors = response.json()["errors"]
    assert "Not human readers linked to a user account: M1" in str(errors["readers"])
    assert "Not a model reader of this study: R2" in str(errors["assist_reader"])
    response = api(world.coordinator).post(
        API,
        {
            "name": "Bad",
            "readers": ["R1"],
            "assist_reader": "M1",
            "modality": 2,
            "aided_modality": 2,
        },
        format="json",
    )
    assert "Must differ from the unaided modality" in str(response.json()["errors"])
    assert not ReadingDesign.objects.exists() and not ReadingSession.objects.exists()


@pytest.mark.parametrize("who", ["user1", "rater", "statistician"])
def test_the_design_api_is_for_coordinators_only(world: ReadingWorld, who: str) -> None:
    client = api(getattr(world, who))
    body = {"name": "X", "readers": ["R1"], "assist_reader": "M1"}
    assert client.post(API, body, format="json").status_code in (403, 404)
    assert client.get(API).status_code in (403, 404)
    assert not ReadingDesign.objects.exists()
