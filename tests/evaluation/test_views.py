"""Rating pages and JSON endpoints: who may see what, and what a rater can do with them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from evaluation.models import LikertScore, RatingSession, RatingTask
from readerstudy.audit.models import AuditEvent
from tests.conftest import assert_confirmation_page
from tests.evaluation.conftest import SessionMaker, World

pytestmark = pytest.mark.django_db

FULL = {"correctness": 4, "coherence": 5, "harmlessness": 3}


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def own_task(session: RatingSession, user: Any, number: int = 0) -> RatingTask:
    return RatingTask.objects.select_related("item").get(
        assignment__session=session, assignment__rater__user=user, position=number
    )


def other_raters_item(session: RatingSession, user: Any) -> str:
    """An item of the session that is not in ``user``'s list."""
    mine = RatingTask.objects.filter(assignment__session=session, assignment__rater__user=user)
    return session.items.exclude(pk__in=mine.values("item_id")).values_list("public_id", flat=True)[
        0
    ]


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def rater_urls(session: RatingSession, public_id: str) -> list[tuple[str, str]]:
    return [
        ("get", "/rating/"),
        ("get", f"/rating/sessions/{session.pk}/"),
        ("get", f"/rating/sessions/{session.pk}/resume/"),
        ("get", f"/rating/items/{public_id}/"),
        ("get", f"/rating/items/{public_id}/review/"),
        ("get", f"/rating/items/{public_id}/draft.json"),
        ("get", f"/rating/items/{public_id}/images/1/"),
    ]


def coordinator_urls(study_slug: str, session: RatingSession, public_id: str) -> list[str]:
    base = f"/studies/{study_slug}/rating"
    return [
        f"{base}/",
        f"{base}/leaks/",
        f"{base}/unblind/",
        f"{base}/sessions/new/",
        f"{base}/sessions/{session.pk}/",
        f"{base}/sessions/{session.pk}/items/{public_id}/",
        f"{base}/sessions/{session.pk}/key/",
        f"{base}/sessions/{session.pk}/key.csv",
        f"{base}/sessions/{session.pk}/randomisation.csv",
    ]


class TestAccessMatrix:
    def test_coordinator_pages_are_for_the_study_coordinator_only(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = session.items.first().public_id
        urls = coordinator_urls(world.study.slug, session, public_id)
        expected = {
            "coordinator": 200,
            "statistician": 404,
            "reader": 404,
            "rater": 404,
            "outsider": 404,
        }
        users = {
            "coordinator": world.coordinator,
            "statistician": world.statistician,
            "reader": world.reader_user,
            "rater": world.raters[0],
            "outsider": world.outsider,
        }
        for role, user in users.items():
            client = client_for(user)
            for url in urls:
                assert client.get(url).status_code == expected[role], (role, url)
        anonymous = client_for(None)
        for url in urls:
            response = anonymous.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_coordinator_pages_of_another_study_are_404_for_its_non_members(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = session.items.first().public_id
        client = client_for(world.coordinator)
        for url in coordinator_urls(world.other.slug, session, public_id)[4:]:
            assert client.get(url).status_code == 404, url

    def test_a_rater_reaches_only_their_own_items_and_sessions(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(raters_per_item=1)
        mine = own_task(session, world.raters[0]).item.public_id
        theirs = other_raters_item(session, world.raters[0])
        client = client_for(world.raters[0])
        for _, url in rater_urls(session, mine):
            assert client.get(url).status_code in (200, 302), url
        for _, url in rater_urls(session, theirs)[3:]:
            assert client.get(url).status_code == 404, url
        assert (
            post_json(
                client, f"/rating/items/{theirs}/draft.json", {"version": 0, "scores": {}}
            ).status_code
            == 404
        )
        assert (
            post_json(
                client,
                f"/rating/items/{theirs}/submit.json",
                {"token": str(uuid.uuid4()), "version": 0, "scores": FULL},
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/rating/items/{theirs}/submit/", {"token": str(uuid.uuid4()), "version": 0}
            ).status_code
            == 404
        )
        assert not LikertScore.objects.exists()

    @pytest.mark.parametrize("who", ["coordinator", "statistician", "reader_user", "outsider"])
    def test_people_who_are_not_raters_of_the_session_get_404_on_its_items(
        self, world: World, make_session: SessionMaker, who: str
    ) -> None:
        session = make_session()
        public_id = session.items.first().public_id
        client = client_for(getattr(world, who))
        for _, url in rater_urls(session, public_id)[1:]:
            assert client.get(url).status_code == 404, url

    def test_items_of_a_draft_session_are_not_reachable_yet(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        public_id = own_task(session, world.raters[0]).item.public_id
        client = client_for(world.raters[0])
        assert client.get(f"/rating/items/{public_id}/").status_code == 404
        assert client.get(f"/rating/sessions/{session.pk}/resume/").status_code == 404
        assert "No rating session is open" in client.get("/rating/").content.decode()

    def test_a_rater_removed_from_the_study_loses_access(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        client = client_for(world.raters[0])
        assert client.get(f"/rating/items/{public_id}/").status_code == 200
        world.study.members.filter(user=world.raters[0]).delete()
        assert client.get(f"/rating/items/{public_id}/").status_code == 404

    def test_json_endpoints_answer_anonymous_callers_with_403(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = session.items.first().public_id
        client = client_for(None)
        assert client.get(f"/rating/items/{public_id}/draft.json").status_code == 403
        assert post_json(client, f"/rating/items/{public_id}/submit.json", {}).status_code == 403

    def test_the_unblinding_key_is_404_for_everyone_but_coordinators_and_audited(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        key = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/key/"
        for user in (world.raters[0], world.statistician, world.reader_user, world.outsider):
            assert client_for(user).get(key).status_code == 404
            assert client_for(user).get(key.replace("key/", "key.csv")).status_code == 404
        assert not AuditEvent.objects.filter(action__startswith="unblinding_key").exists()
        response = client_for(world.coordinator).get(key)
        assert response.status_code == 200
        assert "M2" in response.content.decode()
        csv_response = client_for(world.coordinator).get(key.replace("key/", "key.csv"))
        assert csv_response["Content-Type"].startswith("text/csv")
        lines = csv_response.content.decode().splitlines()
        assert (
            lines[0] == "item,session_position,reader_id,kind,label,run,modality,case_id,redacted"
        )
        assert len(lines) == 21
        actions = list(AuditEvent.objects.values_list("action", "actor_name"))
        assert ("unblinding_key_viewed", "coord") in actions
        assert ("unblinding_key_exported", "coord") in actions


class TestRaterFlow:
    def test_resume_goes_to_the_first_item_then_to_the_last_one_worked_on(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        client = client_for(world.raters[0])
        first = own_task(session, world.raters[0], 0).item.public_id
        third = own_task(session, world.raters[0], 2).item.public_id
        assert (
            client.get(f"/rating/sessions/{session.pk}/resume/")["Location"]
            == f"/rating/items/{first}/"
        )
        post_json(
            client, f"/rating/items/{third}/draft.json", {"version": 0, "scores": {"coherence": 2}}
        )
        assert (
            client.get(f"/rating/sessions/{session.pk}/resume/")["Location"]
            == f"/rating/items/{third}/"
        )
        html = client.get(f"/rating/items/{third}/").content.decode()
        assert 'name="score-coherence" value="2" checked' in html
        assert "Item 3 of 20" in html

    def test_autosave_returns_the_new_version_and_409_with_the_newer_draft(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        client = client_for(world.raters[0])
        url = f"/rating/items/{public_id}/draft.json"
        assert post_json(client, url, {"version": 0, "scores": {"correctness": 4}}).json() == {
            "version": 1
        }
        stale = post_json(client, url, {"version": 0, "scores": {"correctness": 1}})
        assert stale.status_code == 409
        assert stale.json()["version"] == 1 and stale.json()["scores"] == {"correctness": 4}
        assert "another window" in stale.json()["error"]
        assert client.get(url).json() == {
            "version": 1,
            "scores": {"correctness": 4},
            "submitted": False,
        }

    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            (
                {"version": 0, "scores": {"correctness": 9}},
                "Correctness: the score must be from 1 to 5",
            ),
            ({"scores": {}}, "version: This field is required."),
            ({"version": 0, "scores": {"nope": 1}}, "scores.nope: not a domain"),
            ("not an object", "body: expected a JSON object"),
        ],
    )
    def test_bad_draft_input_is_a_400_naming_the_field(
        self, world: World, make_session: SessionMaker, body: Any, fragment: str
    ) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        response = post_json(
            client_for(world.raters[0]), f"/rating/items/{public_id}/draft.json", body
        )
        assert response.status_code == 400 and fragment in response.json()["error"]
        assert (
            RatingTask.objects.get(
                item__public_id=public_id, assignment__rater__user=world.raters[0]
            ).version
            == 0
        )

    def test_invalid_json_is_a_400(self, world: World, make_session: SessionMaker) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        response = client_for(world.raters[0]).post(
            f"/rating/items/{public_id}/draft.json", data="{", content_type="application/json"
        )
        assert response.status_code == 400 and "not valid JSON" in response.json()["error"]

    def test_a_retried_json_submit_is_answered_from_the_stored_result(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        body = {"token": str(uuid.uuid4()), "version": 0, "scores": FULL}
        first = post_json(client, f"/rating/items/{task.item.public_id}/submit.json", body)
        again = post_json(client, f"/rating/items/{task.item.public_id}/submit.json", body)
        assert first.status_code == again.status_code == 200
        assert first.json()["status"] == "submitted" and not first.json()["replayed"]
        assert again.json()["replayed"] and again.json()["version"] == first.json()["version"]
        assert (
            first.json()["next"]
            == f"/rating/items/{own_task(session, world.raters[0], 1).item.public_id}/"
        )
        assert LikertScore.objects.count() == 3

    def test_the_no_script_path_saves_reviews_submits_and_moves_on(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        task = own_task(session, world.raters[0])
        client = client_for(world.raters[0])
        url = f"/rating/items/{task.item.public_id}/"
        form = {f"score-{k}": str(v) for k, v in FULL.items()}
        response = client.post(url, {**form, "version": "0", "action": "review"})
        assert response["Location"] == f"{url}review/"
        review = client.get(f"{url}review/").content.decode()
        assert "Submit scores" in review and "Harmlessness" in review
        token = str(uuid.uuid4())
        response = client.post(f"{url}submit/", {"token": token, "version": "1"})
        assert (
            response["Location"]
            == f"/rating/items/{own_task(session, world.raters[0], 1).item.public_id}/"
        )
        # The browser resends the form (double click, retry): nothing is duplicated.
        client.post(f"{url}submit/", {"token": token, "version": "1"})
        assert LikertScore.objects.count() == 3

    def test_the_review_page_lists_missing_scores_and_offers_no_submit(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        client = client_for(world.raters[0])
        post_json(
            client,
            f"/rating/items/{public_id}/draft.json",
            {"version": 0, "scores": {"coherence": 3}},
        )
        html = client.get(f"/rating/items/{public_id}/review/").content.decode()
        assert "not scored" in html and "Submit scores" not in html

    def test_amending_shows_before_and_after_and_keeps_history(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(allow_amend=True)
        public_id = own_task(session, world.raters[0]).item.public_id
        client = client_for(world.raters[0])
        post_json(
            client,
            f"/rating/items/{public_id}/submit.json",
            {"token": str(uuid.uuid4()), "version": 0, "scores": FULL},
        )
        post_json(
            client,
            f"/rating/items/{public_id}/draft.json",
            {"version": 1, "scores": {**FULL, "coherence": 1}},
        )
        html = client.get(f"/rating/items/{public_id}/review/").content.decode()
        assert "Save amendment" in html and "New score" in html
        response = post_json(
            client,
            f"/rating/items/{public_id}/submit.json",
            {"token": str(uuid.uuid4()), "version": 2},
        )
        assert response.json()["status"] == "amended"

    def test_a_closed_session_is_read_only_for_raters(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        public_id = own_task(session, world.raters[0]).item.public_id
        client_for(world.coordinator).post(
            f"/studies/{world.study.slug}/rating/sessions/{session.pk}/close/"
        )
        client = client_for(world.raters[0])
        html = client.get(f"/rating/items/{public_id}/").content.decode()
        assert (
            "This session is closed" in html
            and '<fieldset class="likert-row" data-key="correctness" disabled>' in html
        )
        response = post_json(
            client, f"/rating/items/{public_id}/draft.json", {"version": 0, "scores": {}}
        )
        assert response.status_code == 409 and "closed" in response.json()["error"]

    def test_images_are_served_without_metadata_or_names_and_dicom_never(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(readers=[world.readers["M1"]], runs=[2], case_sample=None)
        task = RatingTask.objects.select_related("item").get(
            assignment__session=session,
            assignment__rater__user=world.raters[0],
            item__reading__case__code="C1",
        )
        client = client_for(world.raters[0])
        html = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
        assert "Image 1 of 1" in html  # the DICOM file is not offered
        response = client.get(f"/rating/items/{task.item.public_id}/images/1/")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"tEXt" not in response.content and b"M1 run 2" not in response.content
        assert "Content-Disposition" not in response and "ETag" not in response
        assert client.get(f"/rating/items/{task.item.public_id}/images/2/").status_code == 404
        assert client.get(f"/rating/items/{task.item.public_id}/images/0/").status_code == 404

    def test_images_are_not_offered_when_the_session_hides_them(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(show_images=False, show_findings=False)
        task = RatingTask.objects.select_related("item").get(
            assignment__session=session,
            assignment__rater__user=world.raters[0],
            item__reading__reader__code="R1",
            item__reading__case__code="C1",
        )
        client = client_for(world.raters[0])
        html = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
        assert "/images/" not in html and "Findings" not in html and "Location" in html
        assert client.get(f"/rating/items/{task.item.public_id}/images/1/").status_code == 404


class TestCoordinatorPages:
    def test_creating_a_session_from_the_form(self, world: World) -> None:
        client = client_for(world.coordinator)
        url = f"/studies/{world.study.slug}/rating/sessions/new/"
        assert "Raters per item" in client.get(url).content.decode()
        response = client.post(
            url,
            {
                "name": "Panel A",
                "readers": [world.readers["M1"].pk, world.readers["R1"].pk],
                "runs": ["1"],
                "raters": [u.pk for u in world.raters],
                "domains": [d.pk for d in world.domains],
                "raters_per_item": "2",
                "order": "random",
                "show_location": "on",
            },
        )
        session = RatingSession.objects.get(name="Panel A")
        assert response["Location"] == f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
        assert session.items.count() == 8 and session.raters_per_item == 2
        assert not session.show_findings and session.show_location
        detail = client.get(response["Location"]).content.decode()
        assert "No item identifies its source." in detail

    def test_bad_form_input_names_the_field_and_creates_nothing(self, world: World) -> None:
        client = client_for(world.coordinator)
        response = client.post(
            f"/studies/{world.study.slug}/rating/sessions/new/",
            {
                "name": "Panel A",
                "readers": [world.readers["M1"].pk],
                "runs": ["1"],
                "raters": [world.raters[0].pk],
                "domains": [d.pk for d in world.domains],
                "raters_per_item": "2",
                "order": "random",
            },
        )
        assert response.status_code == 200
        assert (
            "Raters per item: Must be at most the number of raters chosen (1)."
            in response.content.decode()
        )
        assert not RatingSession.objects.exists()

    def test_leak_review_redaction_and_start_from_the_pages(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        client = client_for(world.coordinator)
        base = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
        detail = client.get(base).content.decode()
        assert "1 item flagged, 1 unresolved" in detail and "As an AI" in detail
        client.post(f"{base}start/")
        session.refresh_from_db()
        assert session.status == "draft"
        item = session.items.exclude(leak_flags=[]).get()
        page = client.get(f"{base}items/{item.public_id}/").content.decode()
        assert "The original output (unchanged)" in page
        client.post(
            f"{base}items/{item.public_id}/",
            {"action": "redact", "text": "Images reviewed. BI-RADS 4."},
        )
        assert "0 unresolved" not in client.get(base).content.decode()
        client.post(f"{base}start/")
        session.refresh_from_db()
        assert session.status == "open"

    def test_starting_with_confirmation_and_the_progress_table(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        client = client_for(world.coordinator)
        base = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
        client.post(f"{base}start/", {"confirm": "on"})
        session.refresh_from_db()
        assert session.status == "open"
        task = own_task(session, world.raters[1])
        post_json(
            client_for(world.raters[1]),
            f"/rating/items/{task.item.public_id}/submit.json",
            {"token": str(uuid.uuid4()), "version": 0, "scores": FULL},
        )
        html = client.get(base).content.decode()
        assert "1 of 60 rater-items submitted" in html
        assert "<td>rater2</td>" in html

    def test_the_randomisation_export_reproduces_every_order(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        response = client_for(world.coordinator).get(
            f"/studies/{world.study.slug}/rating/sessions/{session.pk}/randomisation.csv"
        )
        lines = response.content.decode().splitlines()
        assert lines[0] == "session,seed,order,raters_per_item,rater_id,position,item"
        assert len(lines) == 61 and f",{session.seed},random,3,rater1,1," in lines[1]
        assert AuditEvent.objects.filter(action="rating_randomisation_exported").exists()

    def test_the_study_leak_report_lists_the_self_identifying_output(self, world: World) -> None:
        html = (
            client_for(world.coordinator)
            .get(f"/studies/{world.study.slug}/rating/leaks/")
            .content.decode()
        )
        assert "<td>M2</td><td>2</td><td>C1</td>" in html

    def test_closing_a_rating_session_asks_first(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session()
        client = client_for(world.coordinator)
        base = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
        detail = client.get(base).content.decode()
        assert f'<a class="button danger" href="{base}close/">Close the session…</a>' in detail
        assert f'action="{base}close/"' not in detail  # no one-click close
        html = client.get(f"{base}close/").content.decode()
        assert_confirmation_page(html, action=f"{base}close/", button="Close the session")
        assert "cannot be re-opened" in html and "rater-items are submitted" in html
        session.refresh_from_db()
        assert session.status == RatingSession.Status.OPEN
        client.post(f"{base}close/")
        session.refresh_from_db()
        assert session.status == RatingSession.Status.CLOSED

    def test_the_unblind_button_looks_dangerous(self, world: World) -> None:
        html = (
            client_for(world.coordinator)
            .get(f"/studies/{world.study.slug}/rating/unblind/")
            .content.decode()
        )
        assert '<button type="submit" class="danger">Unblind the study</button>' in html
        assert "cannot be undone" in html

    def test_unblinding_needs_confirmation_and_is_audited(self, world: World) -> None:
        client = client_for(world.coordinator)
        url = f"/studies/{world.study.slug}/rating/unblind/"
        assert client.post(url, {}).status_code == 200
        world.study.refresh_from_db()
        assert world.study.unblinded_at is None
        assert client.post(url, {"confirm": "on"}).status_code == 302
        world.study.refresh_from_db()
        assert world.study.unblinded_at is not None
        assert AuditEvent.objects.filter(action="study_unblinded").count() == 1

    def test_the_study_hub_shows_sessions_to_coordinators_and_own_sessions_to_raters(
        self, world: World, make_session: SessionMaker
    ) -> None:
        make_session(name="Main panel")
        hub = f"/studies/{world.study.slug}/"
        coordinator = client_for(world.coordinator).get(hub).content.decode()
        assert "Main panel" in coordinator and "Manage rating" in coordinator
        rater = client_for(world.raters[0]).get(hub).content.decode()
        assert "My rating sessions" in rater and "0 of 20 submitted" in rater
        statistician = client_for(world.statistician).get(hub).content.decode()
        assert "Main panel" in statistician and "Manage rating" not in statistician


class TestStructureWarningPages:
    def test_the_session_page_and_the_leak_report_name_the_structure_and_counts(
        self, world: World, make_session: SessionMaker
    ) -> None:
        from readerstudy.studies.models import Reading

        Reading.objects.filter(reader__code="M1", run=1, reader__study=world.study).update(
            impression='**Impression**:\n\n```json\n{"birads": 4}\n```'
        )
        session = make_session(start=False)
        client = client_for(world.coordinator)
        base = f"/studies/{world.study.slug}/rating/"
        page = client.get(f"{base}sessions/{session.pk}/").content.decode()
        assert "Structure that differs by source" in page
        assert "<strong>Code block (``` fence)</strong>: human 0 of 4, model 4 of 16" in page
        assert "<strong>JSON</strong>: human 0 of 4, model 4 of 16" in page
        report = client.get(f"{base}leaks/").content.decode()
        assert "<strong>JSON</strong>: human 0 of 4, model 4 of 16" in report
        assert "The original output has: JSON" in report

    def test_no_warning_when_sources_are_formatted_alike(
        self, world: World, make_session: SessionMaker
    ) -> None:
        session = make_session(start=False)
        page = client_for(world.coordinator).get(
            f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
        )
        assert "Structure that differs by source" not in page.content.decode()
