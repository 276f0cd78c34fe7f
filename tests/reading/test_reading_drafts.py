"""Autosaved reading drafts: what a reader typed comes back when they return to the case,
a submit clears it, it never changes a reading or the reading time, and nobody else sees it."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from readerstudy.reading.models import ReadingDraft, ReadingSession, ReadingWork
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingDraftError,
    reading_draft_save,
    reading_session_close,
    reading_submit,
    reading_work_open,
)
from readerstudy.studies.models import Reading
from tests.reading.conftest import ReadingWorld

pytestmark = pytest.mark.django_db

MARK = "DRAFT-ONLY-THE-READER-MAY-SEE"


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def work_of(session: ReadingSession, reader: object, position: int = 1) -> ReadingWork:
    return ReadingWork.objects.select_related("assignment__session").get(
        assignment__session=session, assignment__reader=reader, position=position
    )


def draft_url(work: ReadingWork) -> str:
    return f"/reading/{work.assignment.token}/{work.position}/draft.json"


def post_draft(client: Client, work: ReadingWork, **body: object):  # type: ignore[no-untyped-def]
    payload = {"version": 0, "category": 4, "probability": 70, "impression": MARK, **body}
    return client.post(draft_url(work), json.dumps(payload), content_type="application/json")


def save(work: ReadingWork, **kw: object) -> ReadingDraft:
    values: dict[str, object] = {
        "base_version": work.version,
        "category": 3,
        "probability": 40,
        "impression": MARK,
        "active_seconds": 7.5,
    }
    values.update(kw)
    return reading_draft_save(work=work, **values)  # type: ignore[arg-type]


def submit(work: ReadingWork, user: object, **kw: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "token": uuid.uuid4(),
        "base_version": work.version,
        "category": 5,
        "probability": 90,
        "impression": "Submitted impression.",
    }
    values.update(kw)
    token, base_version = values.pop("token"), values.pop("base_version")
    return reading_submit(
        work=work,
        actor=user,
        token=token,  # type: ignore[arg-type]
        base_version=base_version,  # type: ignore[arg-type]
        answer=ReadingAnswer(**values),  # type: ignore[arg-type]
    )


# --- service ---------------------------------------------------------------------------


def test_a_draft_keeps_the_input_and_leaves_reading_and_timing_alone(
    world: ReadingWorld,
) -> None:
    session = world.session()
    work = reading_work_open(work=work_of(session, world.reader1))
    opened = work.opened_at
    save(work)
    save(work, category=4, impression=MARK + " more")  # one draft per case, updated
    draft = ReadingDraft.objects.get(work=work)
    assert (draft.category, draft.probability, draft.impression) == (4, 40, MARK + " more")
    work.refresh_from_db()
    assert work.opened_at == opened and work.submitted_at is None and work.seconds is None
    assert work.version == 0 and work.reading is None
    assert not Reading.objects.filter(reader=world.reader1, modality=2).exists()


def test_an_accepted_submit_clears_the_draft_and_a_rejected_one_keeps_it(
    world: ReadingWorld,
) -> None:
    session = world.session()
    work = reading_work_open(work=work_of(session, world.reader1))
    save(work)
    rejected = submit(work, world.user1, base_version=3)
    assert rejected.outcome == "conflict"
    assert ReadingDraft.objects.filter(work=work).exists()
    accepted = submit(work, world.user1)
    assert accepted.outcome == "saved"
    assert not ReadingDraft.objects.filter(work=work).exists()
    reading = Reading.objects.get(reader=world.reader1, case=work.case, modality=2)
    assert (reading.category, reading.impression) == (5, "Submitted impression.")


def test_a_draft_based_on_an_older_version_is_refused(world: ReadingWorld) -> None:
    session = world.session(allow_amend=True)
    work = reading_work_open(work=work_of(session, world.reader1))
    submit(work, world.user1)
    work.refresh_from_db()
    with pytest.raises(ReadingDraftError, match="another window or tab"):
        save(work, base_version=0)
    assert not ReadingDraft.objects.filter(work=work).exists()
    save(work)  # based on the saved version: an amendment in progress
    assert ReadingDraft.objects.get(work=work).base_version == 1


@pytest.mark.parametrize("state", ["closed", "answered without amendments"])
def test_no_draft_where_nothing_can_be_entered(world: ReadingWorld, state: str) -> None:
    session = world.session()
    work = reading_work_open(work=work_of(session, world.reader1))
    if state == "closed":
        reading_session_close(session=session)
    else:
        submit(work, world.user1)
        work.refresh_from_db()
    with pytest.raises(ReadingDraftError):
        save(work)
    assert not ReadingDraft.objects.exists()


# --- the case page and the autosave endpoint ----------------------------------------------


def test_the_autosave_endpoint_stores_the_readers_draft(world: ReadingWorld) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    client = client_for(world.user1)
    client.get(f"/reading/{work.assignment.token}/1/")
    response = post_draft(client, work, active_seconds=12.3)
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 0
    draft = ReadingDraft.objects.get(work=work)
    assert (draft.category, draft.probability, draft.impression) == (4, 70, MARK)
    assert draft.active_seconds == pytest.approx(12.3)


def test_a_draft_may_be_partial_but_not_invalid(world: ReadingWorld) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    client = client_for(world.user1)
    partial = post_draft(client, work, category=None, probability=None, impression="  typing ")
    assert partial.status_code == 200
    assert ReadingDraft.objects.get(work=work).impression == "  typing "  # kept as typed
    for body, field in (({"category": 9}, "category"), ({"probability": 101}, "probability")):
        response = post_draft(client, work, **body)
        assert response.status_code == 400
        assert response.json()["field"] == field
        assert response.json()["error"].startswith(f"{field}: ")
    bad = client.post(draft_url(work), "not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    assert ReadingDraft.objects.get(work=work).category is None  # the bad ones stored nothing


def test_a_stale_autosave_is_a_409_and_stores_nothing(world: ReadingWorld) -> None:
    session = world.session(allow_amend=True)
    work = work_of(session, world.reader1)
    client = client_for(world.user1)
    client.get(f"/reading/{work.assignment.token}/1/")
    submit(work_of(session, world.reader1), world.user1)
    response = post_draft(client, work, version=0)
    assert response.status_code == 409
    assert "another window or tab" in response.json()["error"]
    assert not ReadingDraft.objects.exists()


@pytest.mark.parametrize("who", ["reader2", "coordinator", "statistician", "anonymous"])
def test_nobody_else_can_write_a_readers_draft(world: ReadingWorld, who: str) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    users = {"reader2": world.user2, "coordinator": world.coordinator}
    users["statistician"] = world.statistician
    client = Client() if who == "anonymous" else client_for(users[who])
    response = post_draft(client, work)
    assert response.status_code == (403 if who == "anonymous" else 404)
    assert not ReadingDraft.objects.exists()


def test_the_autosave_endpoint_takes_only_post(world: ReadingWorld) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    assert client_for(world.user1).get(draft_url(work)).status_code == 405


def checked_category(html: str) -> str | None:
    match = re.search(r'<input type="radio" name="category" value="(\d+)"[^>]*checked', html)
    return match.group(1) if match else None


def test_coming_back_restores_the_draft_into_the_form(world: ReadingWorld) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    client = client_for(world.user1)
    url = f"/reading/{work.assignment.token}/1/"
    client.get(url)
    post_draft(client, work, category=3, probability=35, impression=MARK, active_seconds=20)
    client.get(f"/reading/{work.assignment.token}/2/")  # elsewhere, then back
    html = client.get(url).content.decode()
    assert checked_category(html) == "3"
    assert re.search(r'name="probability" value="35"', html)
    assert MARK in html
    assert "is restored: not submitted yet" in html
    assert 'data-draft-active="20.0"' in html
    assert f'data-draft-url="/reading/{work.assignment.token}/1/draft.json"' in html


def test_submitting_clears_the_draft_and_stores_what_was_submitted(world: ReadingWorld) -> None:
    session = world.session()
    work = work_of(session, world.reader1)
    client = client_for(world.user1)
    url = f"/reading/{work.assignment.token}/1/"
    html = client.get(url).content.decode()
    post_draft(client, work, category=3, impression=MARK)
    ReadingWork.objects.filter(pk=work.pk).update(opened_at=timezone.now() - timedelta(seconds=30))
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    response = client.post(
        url,
        {"token": token, "version": 0, "category": 4, "impression": "Final.", "active_seconds": 9},
    )
    assert response.status_code == 302
    assert not ReadingDraft.objects.exists()
    work.refresh_from_db()
    assert (work.reading.category, work.reading.impression) == (4, "Final.")
    assert work.seconds == pytest.approx(30, abs=2)  # from the first view, drafts or not
    assert work.active_seconds == pytest.approx(9)


def test_a_stale_draft_is_shown_not_restored_and_never_reaches_the_reading(
    world: ReadingWorld,
) -> None:
    session = world.session(allow_amend=True)
    work = reading_work_open(work=work_of(session, world.reader1))
    save(work, category=2, impression=MARK)  # typed in one tab...
    submit(work, world.user1, category=5, impression="Saved in another tab.")  # ...saved in another
    # the other tab's submit cleared it; a late autosave of the first tab comes back stale
    ReadingDraft.objects.create(work=work, base_version=0, category=2, impression=MARK)
    client = client_for(world.user1)
    html = client.get(f"/reading/{work.assignment.token}/1/").content.decode()
    assert checked_category(html) == "5"  # the saved answer is in the form
    assert 'id="stale-draft"' in html and MARK in html  # the draft is shown, not lost
    assert "is restored" not in html
    reading = Reading.objects.get(reader=world.reader1, case=work.case, modality=2)
    assert (reading.category, reading.impression) == (5, "Saved in another tab.")


def test_a_draft_is_invisible_to_everyone_else(world: ReadingWorld) -> None:
    session = world.session()
    save(reading_work_open(work=work_of(session, world.reader1)))
    assert ReadingDraft not in admin.site._registry
    slug = world.study.slug
    other_token = session.assignments.get(reader=world.reader2).token
    pages = {
        world.user2: [f"/reading/{other_token}/{p}/" for p in range(1, 6)] + ["/reading/"],
        world.coordinator: [
            f"/studies/{slug}/reading/{session.pk}/",
            f"/studies/{slug}/reading/{session.pk}/randomisation.csv",
            f"/studies/{slug}/",
            f"/api/studies/{slug}/readings/",
            f"/api/studies/{slug}/reading-sessions/{session.pk}/",
        ],
        world.statistician: [f"/studies/{slug}/", f"/api/studies/{slug}/readings/"],
    }
    for user, urls in pages.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert MARK.encode() not in body, (user, url)
