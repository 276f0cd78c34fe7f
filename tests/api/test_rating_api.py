"""The rating API: raters' own items in their order, drafts, submissions, blinding; coordinators'
sessions and the unblinding key."""

# The fixtures of tests/evaluation/conftest.py are imported, so test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from django.utils import timezone

from evaluation.models import LikertScore, RatingSession, RatingTask
from evaluation.services import rating_item_redact, rating_session_close, rating_session_open
from readerstudy.audit.models import AuditEvent
from tests.evaluation.blinding_checks import forbidden_patterns, image_problems
from tests.evaluation.conftest import SessionMaker, World, make_session, world  # noqa: F401

pytestmark = pytest.mark.django_db

ITEMS = "/api/rating/items/"


def tasks_of(user, session: RatingSession) -> list[RatingTask]:
    return list(
        RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
        .select_related("item")
        .order_by("position")
    )


def full_scores(world: World, value: int = 4) -> dict[str, int]:
    return {d.key: value for d in world.domains}


def test_a_rater_lists_their_own_items_in_their_own_order(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    lists = {}
    for user in world.raters:
        body = api_as(user).get(ITEMS).json()
        ids = [row["id"] for row in body["results"]]
        assert ids == [t.item.public_id for t in tasks_of(user, session)]
        assert [row["number"] for row in body["results"]] == list(range(1, len(ids) + 1))
        assert {row["state"] for row in body["results"]} == {"new"}
        assert body["results"][0]["url"] == f"{ITEMS}{ids[0]}/"
        lists[user.username] = ids
    # Everybody rates every item, each in a different random order.
    assert len({tuple(ids) for ids in lists.values()}) == 3
    assert len({frozenset(ids) for ids in lists.values()}) == 1


def test_items_of_draft_and_closed_sessions_are_not_listed_and_filters_work(
    world: World, make_session: SessionMaker, api_as
) -> None:
    make_session(start=False)
    rater = api_as(world.raters[0])
    assert rater.get(ITEMS).json()["count"] == 0
    session = make_session(domains=world.domains[:1])
    first, second = (t.item.public_id for t in tasks_of(world.raters[0], session)[:2])
    assert (
        rater.put(
            f"{ITEMS}{first}/draft/", {"version": 0, "scores": {"correctness": 2}}, format="json"
        ).status_code
        == 200
    )
    rater.post(
        f"{ITEMS}{second}/submit/",
        {"token": str(uuid.uuid4()), "version": 0, "scores": {"correctness": 5}},
        format="json",
    )
    assert [r["id"] for r in rater.get(ITEMS, {"state": "draft"}).json()["results"]] == [first]
    assert [r["id"] for r in rater.get(ITEMS, {"state": "submitted"}).json()["results"]] == [second]
    assert rater.get(ITEMS, {"session": session.pk + 1000}).json()["count"] == 0
    assert rater.get(ITEMS, {"state": "nonsense"}).status_code == 400
    rating_session_close(session=session, actor=world.coordinator)
    assert rater.get(ITEMS).json()["count"] == 0
    # A closed session's item stays readable (read-only), as on the rating page.
    item = rater.get(f"{ITEMS}{second}/").json()
    assert item["session_open"] is False and item["editable"] is False
    assert item["stored"] == {"correctness": 5}


def test_the_item_shows_the_normalised_text_and_only_the_allowed_context(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session(show_findings=False, show_clinical_history=False)
    task = tasks_of(world.raters[0], session)[0]
    body = api_as(world.raters[0]).get(f"{ITEMS}{task.item.public_id}/").json()
    assert body["text"] == task.item.display_text
    assert "**" not in body["text"]
    assert body["findings"] == "" and body["clinical_history"] == ""
    assert body["location"].startswith("left breast")
    assert [d["key"] for d in body["domains"]] == [d.key for d in world.domains]
    assert body["anchors"][0] == {"value": 1, "label": "Strongly disagree"}
    assert body["number"] == 1 and body["previous"] is None
    assert body["next"] == f"{ITEMS}{tasks_of(world.raters[0], session)[1].item.public_id}/"
    assert set(body) == {
        "id", "session", "session_name", "session_open", "number", "total", "submitted_count",
        "text", "location", "clinical_history", "findings", "images", "domains", "anchors",
        "version", "submitted", "allow_amend", "editable", "complete", "stored", "previous",
        "next", "draft_url", "submit_url",
    }  # fmt: skip


def test_nothing_a_rater_reaches_names_the_source(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session(start=False)
    # The planted self-identifying output is redacted before the start, as coordinators do.
    leaked = session.items.get(reading=world.leaked_reading())
    rating_item_redact(item=leaked, text="BI-RADS 4. Biopsy is advised.", actor=world.coordinator)
    rating_session_open(session=session, actor=world.coordinator)
    rater = api_as(world.raters[0])
    forbidden = forbidden_patterns(world.study, other_usernames=["rater2", "rater3", "coord"])
    bodies = [rater.get(ITEMS, {"page_size": 5000}), rater.get("/api/rating/sessions/")]
    for task in tasks_of(world.raters[0], session):
        bodies.append(rater.get(f"{ITEMS}{task.item.public_id}/"))
        bodies.append(rater.get(f"{ITEMS}{task.item.public_id}/draft/"))
    for response in bodies:
        assert response.status_code == 200
        assert forbidden.leaks(response.content.decode()) == [], response.content[:300]
        for header in ("Content-Disposition", "ETag", "Last-Modified"):
            assert header not in response


def test_another_raters_item_is_404_everywhere_and_changes_nothing(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session(raters_per_item=1)
    mine = {t.item_id for t in tasks_of(world.raters[0], session)}
    foreign = RatingTask.objects.filter(assignment__session=session).exclude(item_id__in=mine)[0]
    public_id = foreign.item.public_id
    rater = api_as(world.raters[0])
    assert public_id not in str(rater.get(ITEMS, {"page_size": 5000}).json())
    for method, url, body in (
        ("get", f"{ITEMS}{public_id}/", None),
        ("get", f"{ITEMS}{public_id}/draft/", None),
        ("put", f"{ITEMS}{public_id}/draft/", {"version": 0, "scores": {"correctness": 1}}),
        ("post", f"{ITEMS}{public_id}/submit/", {"token": str(uuid.uuid4()), "version": 0,
                                                 "scores": full_scores(world)}),
        ("get", f"{ITEMS}{public_id}/images/1/", None),
    ):  # fmt: skip
        response = getattr(rater, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json() == {"detail": "No such item."}
    foreign.refresh_from_db()
    assert foreign.version == 0 and foreign.draft == {} and foreign.submitted_at is None
    assert not LikertScore.objects.filter(source="entered").exists()
    # A rater of another study, and a coordinator, get the same 404.
    for user in (world.outsider, world.coordinator):
        assert api_as(user).get(f"{ITEMS}{public_id}/").status_code == 404


def test_drafts_are_versioned_and_a_stale_save_gets_the_newer_draft(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    task = tasks_of(world.raters[0], session)[0]
    url = f"{ITEMS}{task.item.public_id}/draft/"
    rater = api_as(world.raters[0])
    saved = rater.put(url, {"version": 0, "scores": {"correctness": 2}}, format="json")
    assert saved.status_code == 200 and saved.json() == {"version": 1}
    # The page's form of the same save (POST) and a retry of it are not conflicts.
    assert rater.post(url, {"version": 0, "scores": {"correctness": 2}}, format="json").json() == {
        "version": 1
    }
    stale = rater.put(url, {"version": 0, "scores": {"correctness": 5}}, format="json")
    assert stale.status_code == 409
    assert stale.json()["version"] == 1 and stale.json()["scores"] == {"correctness": 2}
    assert rater.get(url).json() == {"version": 1, "scores": {"correctness": 2}, "submitted": False}
    bad = rater.put(url, {"version": 1, "scores": {"correctness": 9}}, format="json")
    assert bad.status_code == 400 and "correctness" in bad.json()["errors"]
    assert rater.put(url, {"scores": {}}, format="json").json()["errors"].keys() == {"version"}
    task.refresh_from_db()
    assert task.draft == {"correctness": 2} and task.version == 1


def test_a_retried_submission_with_the_same_token_is_stored_once(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    tasks = tasks_of(world.raters[0], session)
    url = f"{ITEMS}{tasks[0].item.public_id}/submit/"
    rater = api_as(world.raters[0])
    body = {"token": str(uuid.uuid4()), "version": 0, "scores": full_scores(world, 3)}
    first = rater.post(url, body, format="json")
    assert first.status_code == 200
    assert first.json() == {
        "status": "submitted",
        "version": 1,
        "replayed": False,
        "next": f"{ITEMS}{tasks[1].item.public_id}/",
    }
    again = rater.post(url, body, format="json")
    assert again.status_code == 200 and again.json()["replayed"] is True
    stored = LikertScore.objects.filter(
        rater__user=world.raters[0], reading_id=tasks[0].item.reading_id
    )
    assert sorted(stored.values_list("domain__key", "score")) == sorted(
        (d.key, 3) for d in world.domains
    )
    # Submitted without amendments: a new submission is refused, nothing changes.
    other = {"token": str(uuid.uuid4()), "version": 1, "scores": full_scores(world, 1)}
    refused = rater.post(url, other, format="json")
    assert refused.status_code == 409
    assert set(stored.values_list("score", flat=True)) == {3}


def test_submissions_name_the_missing_domain_and_refuse_stale_versions(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    task = tasks_of(world.raters[0], session)[0]
    url = f"{ITEMS}{task.item.public_id}/submit/"
    rater = api_as(world.raters[0])
    partial = {"correctness": 4, "coherence": 4}
    missing = rater.post(
        url, {"token": str(uuid.uuid4()), "version": 0, "scores": partial}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"harmlessness": ["Harmlessness: choose a score"]}
    no_token = rater.post(url, {"version": 0, "scores": full_scores(world)}, format="json")
    assert no_token.status_code == 400 and "token" in no_token.json()["errors"]
    rater.put(
        f"{ITEMS}{task.item.public_id}/draft/", {"version": 0, "scores": partial}, format="json"
    )
    stale = rater.post(
        url, {"token": str(uuid.uuid4()), "version": 0, "scores": full_scores(world)}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["version"] == 1
    assert not LikertScore.objects.filter(source="entered").exists()


def test_amendments_keep_history_when_the_session_allows_them(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session(allow_amend=True)
    task = tasks_of(world.raters[0], session)[0]
    rater = api_as(world.raters[0])
    url = f"{ITEMS}{task.item.public_id}/submit/"
    rater.post(
        url,
        {"token": str(uuid.uuid4()), "version": 0, "scores": full_scores(world, 3)},
        format="json",
    )
    amended = rater.post(
        url,
        {"token": str(uuid.uuid4()), "version": 1, "scores": full_scores(world, 5)},
        format="json",
    )
    assert amended.json()["status"] == "amended"
    assert AuditEvent.objects.filter(action="likert_scores_amended").count() == 1
    assert set(
        LikertScore.objects.filter(reading_id=task.item.reading_id, rater__user=world.raters[0])
        .values_list("score", flat=True)
    ) == {5}  # fmt: skip


def test_a_closed_session_refuses_drafts_with_409(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    task = tasks_of(world.raters[0], session)[0]
    rating_session_close(session=session, actor=world.coordinator)
    response = api_as(world.raters[0]).put(
        f"{ITEMS}{task.item.public_id}/draft/", {"version": 0, "scores": {}}, format="json"
    )
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]


def test_item_images_are_served_without_metadata_whatever_the_client_accepts(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    rater = api_as(world.raters[0])
    c1 = next(t for t in tasks_of(world.raters[0], session) if t.item.reading.case.code == "C1")
    item = rater.get(f"{ITEMS}{c1.item.public_id}/").json()
    assert item["images"] == [f"{ITEMS}{c1.item.public_id}/images/1/"]  # the DICOM is not sent
    response = rater.get(item["images"][0], HTTP_ACCEPT="image/png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert image_problems(response.content, "image/png") == []
    assert b"M1 run 2" not in response.content
    assert rater.get(f"{ITEMS}{c1.item.public_id}/images/2/").status_code == 404


def test_the_rater_worklist_shows_their_progress(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    task = tasks_of(world.raters[0], session)[0]
    api_as(world.raters[0]).post(
        f"{ITEMS}{task.item.public_id}/submit/",
        {"token": str(uuid.uuid4()), "version": 0, "scores": full_scores(world)},
        format="json",
    )
    [entry] = api_as(world.raters[0]).get("/api/rating/sessions/").json()["results"]
    assert entry["id"] == session.pk and entry["status"] == "open"
    assert entry["submitted"] == 1 and entry["total"] == session.items.count()
    assert entry["items"] == f"{ITEMS}?session={session.pk}"
    assert api_as(world.outsider).get("/api/rating/sessions/").json()["count"] == 0


# --------------------------------------------------------------------------------------
# Coordinators


def sessions_url(world: World, tail: str = "") -> str:
    return f"/api/studies/{world.study.slug}/rating-sessions/{tail}"


def test_coordinators_list_sessions_with_progress_per_rater(
    world: World, make_session: SessionMaker, api_as
) -> None:
    draft = make_session(start=False)
    session = make_session(domains=world.domains[:1], raters_per_item=1)
    task = tasks_of(world.raters[0], session)[0]
    api_as(world.raters[0]).post(
        f"{ITEMS}{task.item.public_id}/submit/",
        {"token": str(uuid.uuid4()), "version": 0, "scores": {"correctness": 4}},
        format="json",
    )
    coordinator = api_as(world.coordinator)
    body = coordinator.get(sessions_url(world)).json()
    assert [s["id"] for s in body["results"]] == [session.pk, draft.pk]  # newest first
    listed = body["results"][0]
    assert listed["tasks_submitted"] == 1 and listed["tasks_total"] == session.items.count()
    assert listed["domains"] == ["correctness"] and listed["n_raters"] == 3
    assert [s["id"] for s in coordinator.get(sessions_url(world), {"status": "draft"}).json()["results"]] == [draft.pk]  # fmt: skip
    detail = coordinator.get(sessions_url(world, f"{session.pk}/")).json()
    progress = {p["rater"]: p for p in detail["progress"]}
    assert progress["rater1"]["submitted"] == 1 and progress["rater2"]["submitted"] == 0
    assert sum(p["total"] for p in detail["progress"]) == session.items.count()
    assert detail["flagged"] >= 1  # the planted "As an AI language model" output
    assert coordinator.get(sessions_url(world, f"{session.pk + 999}/")).status_code == 404


def test_the_unblinding_key_is_for_coordinators_only_and_audited(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    url = sessions_url(world, f"{session.pk}/key/")
    for user in (world.statistician, world.raters[0], world.reader_user):
        assert api_as(user).get(url).status_code == 403
    assert api_as(world.outsider).get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="unblinding_key_viewed").exists()
    body = api_as(world.coordinator).get(url).json()
    assert body["count"] == session.items.count()
    first = body["results"][0]
    assert set(first) == {
        "item", "session_position", "reader_id", "kind", "label", "run", "modality", "case_id",
        "redacted",
    }  # fmt: skip
    assert first["session_position"] == 1
    event = AuditEvent.objects.get(action="unblinding_key_viewed")
    assert event.actor == world.coordinator and event.target == f"rating session {session.pk}"
    # A session of another study is not found through this study.
    assert (
        api_as(world.coordinator)
        .get(f"/api/studies/{world.other.slug}/rating-sessions/{session.pk}/key/")
        .status_code
        == 404
    )


def test_a_key_request_before_any_activity_still_records_who_and_when(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session(start=False)
    before = timezone.now()
    assert (
        api_as(world.coordinator).get(sessions_url(world, f"{session.pk}/key/")).status_code == 200
    )
    assert AuditEvent.objects.get(action="unblinding_key_viewed").at >= before


def test_out_of_range_numbers_are_client_errors_not_server_errors(
    world: World, make_session: SessionMaker, api_as
) -> None:
    session = make_session()
    rater = api_as(world.raters[0])
    assert rater.get(ITEMS, {"session": 10**40}).status_code == 400
    assert rater.get(ITEMS, {"session": -1}).status_code == 400
    own = tasks_of(world.raters[0], session)[0].item.public_id
    assert rater.get(f"{ITEMS}{own}/images/{10**30}/").status_code == 404
    coordinator = api_as(world.coordinator)
    assert coordinator.get(sessions_url(world, f"{10**30}/")).status_code == 404
    assert coordinator.get(sessions_url(world, f"{10**30}/key/")).status_code == 404


def test_sessions_give_opened_at_and_the_deprecated_started_at_alias(
    world: World, make_session: SessionMaker, api_as
) -> None:
    draft = make_session(start=False)
    session = make_session()
    session.refresh_from_db()
    body = api_as(world.coordinator).get(sessions_url(world)).json()
    listed = {s["id"]: s for s in body["results"]}
    assert listed[draft.pk]["opened_at"] is None and listed[draft.pk]["started_at"] is None
    opened = listed[session.pk]["opened_at"]
    assert opened is not None and datetime.fromisoformat(opened) == session.opened_at
    assert listed[session.pk]["started_at"] == opened
    detail = api_as(world.coordinator).get(sessions_url(world, f"{session.pk}/")).json()
    assert detail["opened_at"] == detail["started_at"] == opened
