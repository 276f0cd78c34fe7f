"""Rating sessions set up through the API: create, open, a rater scores, close; the same
rules, messages and audit events as the session pages (tests/evaluation/test_views.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from evaluation.models import RatingAssignment, RatingItem, RatingSession
from readerstudy.audit.models import AuditEvent
from tests.evaluation.conftest import SessionMaker, World

pytestmark = pytest.mark.django_db

URL = "/api/studies/nme/rating-sessions/"


def client(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "API rating",
        "readers": ["M1", "M2"],
        "runs": [2],
        "raters": ["rater1", "rater2"],
        "seed": 11,
    }
    data.update(overrides)
    return data


def counts() -> tuple[int, int, int, int]:
    return (
        RatingSession.objects.count(),
        RatingItem.objects.count(),
        RatingAssignment.objects.count(),
        AuditEvent.objects.filter(action__startswith="rating_session").count(),
    )


def test_create_open_score_and_close_through_the_api(world: World) -> None:
    coord = client(world.coordinator)
    response = coord.post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "draft"
    assert created["n_items"] == 8 and created["n_raters"] == 2  # 4 cases x 2 models, run 2
    assert created["domains"] == ["correctness", "coherence", "harmlessness"]  # default: all
    assert created["tasks_total"] == 16 and created["seed"] == 11
    session = RatingSession.objects.get(pk=created["id"])
    assert session.created_by == world.coordinator

    # M2's run 2 on C1 gives itself away: opening needs the explicit confirmation.
    refused = coord.post(f"{URL}{session.pk}/open/", {}, format="json")
    assert refused.status_code == 409 and "confirm" in refused.json()["errors"]
    session.refresh_from_db()
    assert session.status == "draft"
    opened = coord.post(
        f"{URL}{session.pk}/open/", {"confirm_unresolved_leaks": True}, format="json"
    )
    assert opened.status_code == 200 and opened.json()["status"] == "open"

    rater = client(world.raters[0])
    [entry] = rater.get("/api/rating/sessions/").json()["results"]
    assert entry["id"] == session.pk and entry["total"] == 8
    first = rater.get("/api/rating/items/", {"session": session.pk}).json()["results"][0]
    item = rater.get(first["url"]).json()
    scores = {d["key"]: 4 for d in item["domains"]}
    submit = {"token": str(uuid.uuid4()), "version": item["version"], "scores": scores}
    assert rater.post(item["submit_url"], submit, format="json").status_code == 200

    closed = coord.post(f"{URL}{session.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["tasks_submitted"] == 1
    assert coord.post(f"{URL}{session.pk}/close/").status_code == 409
    assert coord.post(f"{URL}{session.pk}/open/", {}, format="json").status_code == 409
    second = rater.get(first["url"]).json()
    assert second["editable"] is False

    events = AuditEvent.objects.filter(target=f"rating session {session.pk}")
    assert [(e.action, e.actor) for e in events.order_by("id")] == [
        ("rating_session_created", world.coordinator),
        ("rating_session_started", world.coordinator),
        ("rating_session_closed", world.coordinator),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"readers": ["X9"]}, "readers", "Not readers of this study: X9."),
        ({"raters": ["outsider"]}, "raters", "Not rater members of this study: outsider."),
        ({"raters": ["coord"]}, "raters", "Not rater members of this study: coord."),
        ({"domains": ["style"]}, "domains", "Not Likert domains of this study: style."),
        ({"runs": [7]}, "runs", ""),
        ({"raters_per_item": 3}, "raters_per_item", "at most the number of raters chosen (2)"),
        ({"readers": ["R1"], "runs": [2]}, "readers", "no outputs with text"),
        ({"order": "sideways"}, "order", ""),
        ({"case_sample": 0}, "case_sample", ""),
        ({"name": ""}, "name", ""),
        ({"raters": []}, "raters", ""),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(
    world: World, overrides: dict[str, Any], field: str, message: str
) -> None:
    before = counts()
    response = client(world.coordinator).post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert counts() == before


def test_a_taken_name_and_a_rater_conflict_are_refused_as_on_the_page(
    world: World, make_session: SessionMaker
) -> None:
    make_session(name="API rating")
    before = counts()
    coord = client(world.coordinator)
    taken = coord.post(URL, body(), format="json")
    assert taken.status_code == 400 and "exists in this study" in taken.json()["errors"]["name"][0]
    # The open session above has every output pending for every rater.
    conflict = coord.post(URL, body(name="Another"), format="json")
    assert conflict.status_code == 400
    assert "already scored (or have pending" in conflict.json()["errors"]["raters"][0]
    assert counts() == before


@pytest.mark.parametrize("who", ["reader", "rater", "statistician"])
def test_other_roles_may_not_create_open_or_close(
    world: World, make_session: SessionMaker, who: str
) -> None:
    user = {
        "reader": world.reader_user,
        "rater": world.raters[0],
        "statistician": world.statistician,
    }[who]
    draft = make_session(start=False)
    api = client(user)
    before = counts()
    assert api.post(URL, body(), format="json").status_code == 403
    assert (
        api.post(
            f"{URL}{draft.pk}/open/", {"confirm_unresolved_leaks": True}, format="json"
        ).status_code
        == 403
    )
    assert api.post(f"{URL}{draft.pk}/close/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft" and counts() == before
    assert client(world.outsider).post(f"{URL}{draft.pk}/close/").status_code == 404
