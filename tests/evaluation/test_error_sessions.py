"""Error-annotation sessions and the reference impression as a blinded item: building,
validation of spans and categories, submission into ErrorAnnotation rows, amendments with
history (also after an autosave of the new answer), the unblinding key."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter

import pytest
from rest_framework.test import APIClient

from evaluation.instruments import DEFAULT_ERROR_CATEGORIES, NO_ERRORS
from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
    Instrument,
    JudgmentAmendment,
    PairwisePreference,
    RatingItem,
    RatingSession,
    RatingTask,
)
from evaluation.selectors import rater_judgment_view, unblinding_key
from evaluation.services import (
    AlreadySubmittedError,
    RatingError,
    ScoresInvalidError,
    rating_draft_save,
    rating_submit,
)
from readerstudy.studies.models import Case
from tests.evaluation.conftest import READERS, SessionMaker, World
from tests.evaluation.test_views import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def references(world: World) -> None:
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference impression of {case.code}: **benign** enhancement."
        case.save()


def single(make_session: SessionMaker, instrument: str, **options: object) -> RatingSession:
    params: dict[str, object] = {
        "instrument": instrument,
        "domains": [],
        "runs": [1],
        "raters_per_item": 1,
    }
    params.update(options)
    return make_session(**params)


def task_of(session: RatingSession, user: object, number: int = 0) -> RatingTask:
    return RatingTask.objects.select_related(
        "assignment__session__study", "assignment__rater", "item__reading"
    ).get(assignment__session=session, assignment__rater__user=user, position=number)


def reference_task(session: RatingSession, user: object) -> RatingTask:
    position = (
        RatingTask.objects.filter(
            assignment__session=session, assignment__rater__user=user, item__reference=True
        )
        .order_by("position")
        .values_list("position", flat=True)
        .first()
    )
    assert position is not None
    return task_of(session, user, position)


def test_reference_items_are_mixed_into_acceptability_sessions_one_per_case(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(make_session, Instrument.ACCEPTABILITY, include_reference=True)
    items = list(RatingItem.objects.filter(session=session).select_related("reading__case"))
    assert len(items) == 16  # R1, M1, M2 and the reference x 4 cases
    refs = [i for i in items if i.reference]
    assert len(refs) == 4 and len({i.reading.case_id for i in refs}) == 4
    assert all(i.display_text.startswith("Reference impression of") for i in refs)
    assert all("**" not in i.display_text for i in refs)  # normalised like the outputs
    assert {i.reading_b_id for i in refs} == {None} and {i.left for i in refs} == {""}
    # The reference items are shuffled in with the others, not grouped at an end.
    positions = sorted(i.position for i in refs)
    assert positions != list(range(12, 16)) and positions != list(range(4))
    assert session.selection["reference"] is True
    key = {row.public_id: row for row in unblinding_key(session)}
    for item in refs:
        row = key[item.public_id]
        assert (row.reader, row.reader_kind, row.run, row.case) == (
            "reference",
            "reference",
            0,
            item.reading.case.code,
        )
    assert Counter(row.reader for row in key.values())["reference"] == 4


def test_cases_without_a_reference_impression_have_no_reference_item(
    make_session: SessionMaker,
) -> None:
    session = single(make_session, Instrument.ACCEPTABILITY, include_reference=True)
    assert not RatingItem.objects.filter(session=session, reference=True).exists()


def test_a_pairwise_or_likert_session_refuses_include_reference(
    make_session: SessionMaker, references: None
) -> None:
    with pytest.raises(RatingError) as exc:
        single(make_session, Instrument.PAIRWISE, pairs=[("M1", "M2")], include_reference=True)
    assert exc.value.field == "include_reference"


def test_grading_the_reference_stores_a_grade_without_reading(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(
        make_session,
        Instrument.ACCEPTABILITY,
        include_reference=True,
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    user = world.raters[0]
    task = reference_task(session, user)
    view = rater_judgment_view(task)
    assert view.text == task.item.display_text and view.instrument == "acceptability"
    version = rating_draft_save(task=task, scores={"grade": 2}, version=0)
    first = rating_submit(
        task=reference_task(session, user), token=uuid.uuid4(), version=version, actor=user
    )
    grade = AcceptabilityGrade.objects.get(rater__user=user, reading__isnull=True)
    assert (grade.case_id, grade.grade, grade.source) == (task.item.reading.case_id, 2, "entered")
    # The item's linking output is never graded.
    assert not AcceptabilityGrade.objects.filter(reading=task.item.reading_id).exists()
    # An amendment whose new answer the page has already autosaved is still recorded.
    version = rating_draft_save(
        task=reference_task(session, user), scores={"grade": 4}, version=first.version
    )
    second = rating_submit(
        task=reference_task(session, user), token=uuid.uuid4(), version=version, actor=user
    )
    assert second.status == "amended"
    grade.refresh_from_db()
    assert grade.grade == 4
    amendment = JudgmentAmendment.objects.get(task=task)
    assert (amendment.before, amendment.after) == ({"grade": 2}, {"grade": 4})


def test_an_autosaved_pairwise_amendment_changes_the_stored_preference(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(
        make_session,
        Instrument.PAIRWISE,
        pairs=[("M1", "M2")],
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    user = world.raters[0]
    first = rating_submit(
        task=task_of(session, user),
        token=uuid.uuid4(),
        version=0,
        actor=user,
        scores={"choice": "left"},
    )
    version = rating_draft_save(
        task=task_of(session, user), scores={"choice": "tie"}, version=first.version
    )
    second = rating_submit(
        task=task_of(session, user), token=uuid.uuid4(), version=version, actor=user
    )
    assert second.status == "amended"
    assert PairwisePreference.objects.get().choice == "tie"
    assert JudgmentAmendment.objects.get().before == {"choice": "left"}


def test_error_items_are_single_outputs_with_the_taxonomy_as_options(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(make_session, Instrument.ERRORS, include_reference=True, raters_per_item=3)
    assert RatingItem.objects.filter(session=session).count() == 16
    view = rater_judgment_view(task_of(session, world.raters[0]))
    assert [o.value for o in view.options] == list(DEFAULT_ERROR_CATEGORIES)
    assert [o.key for o in view.options] == ["1", "2", "3", "4", "5", "6"]
    assert view.left_text == view.right_text == ""


def test_error_answers_become_annotation_rows_with_spans_into_the_shown_text(
    world: World, make_session: SessionMaker
) -> None:
    session = single(make_session, Instrument.ERRORS, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    task = task_of(session, user)
    text = task.item.display_text
    answer = {
        "errors": [
            {"category": "false_finding", "significant": True, "start": 0, "end": 5},
            {"category": "missed_finding", "significant": False, "comment": " no effusion "},
        ]
    }
    version = rating_draft_save(task=task, scores=answer, version=0)
    assert RatingTask.objects.get(pk=task.pk).draft["errors"][1]["comment"] == "no effusion"
    result = rating_submit(
        task=task_of(session, user), token=uuid.uuid4(), version=version, actor=user
    )
    assert result.status == "submitted"
    rows = list(ErrorAnnotation.objects.filter(rater__user=user).order_by("id"))
    assert [(r.category, r.significant, r.start, r.end, r.comment, r.source) for r in rows] == [
        ("false_finding", True, 0, 5, "", "entered"),
        ("missed_finding", False, None, None, "no effusion", "entered"),
    ]
    assert all(r.reading_id == task.item.reading_id for r in rows)
    assert all(r.case_id == task.item.reading.case_id for r in rows)
    assert text[rows[0].start : rows[0].end] == text[:5]

    # "No errors" is one row of category none.
    second = task_of(session, user, 1)
    rating_submit(
        task=second, token=uuid.uuid4(), version=0, actor=user, scores={"no_errors": True}
    )
    none = ErrorAnnotation.objects.get(reading=second.item.reading_id)
    assert (none.category, none.significant, none.start) == (NO_ERRORS, False, None)


def test_error_answers_are_validated_against_the_taxonomy_and_the_text(
    world: World, make_session: SessionMaker
) -> None:
    session = single(make_session, Instrument.ERRORS, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    task = task_of(session, user)
    length = len(task.item.display_text)
    for bad, field, words in (
        ({"grade": 3}, "grade", "not an answer"),
        ({"errors": [{"category": "typo"}]}, "errors", "category"),
        ({"errors": [{"category": NO_ERRORS}]}, "errors", "category"),
        ({"errors": [{"category": "other", "start": 4, "end": 4}]}, "errors", "start < end"),
        ({"errors": [{"category": "other", "start": 0, "end": length + 1}]}, "errors", str(length)),
        ({"errors": [{"category": "other", "start": 2}]}, "errors", "start and end"),
        ({"errors": [{"category": "other", "where": 1}]}, "errors", "where"),
        ({"errors": [{"category": "other", "significant": "maybe"}]}, "errors", "significant"),
        ({"errors": "false_finding"}, "errors", "list"),
        ({"no_errors": True, "errors": [{"category": "other"}]}, "no_errors", "together"),
    ):
        with pytest.raises(ScoresInvalidError) as exc:
            rating_draft_save(task=task, scores=bad, version=0)
        assert exc.value.field == field and words in exc.value.message, (bad, exc.value.message)
    with pytest.raises(ScoresInvalidError) as exc:
        rating_submit(task=task, token=uuid.uuid4(), version=0, actor=user, scores={})
    assert "no errors" in exc.value.message
    assert not ErrorAnnotation.objects.exists()
    assert RatingTask.objects.get(pk=task.pk).version == 0


def test_amending_errors_replaces_the_rows_and_keeps_both_answers(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(
        make_session,
        Instrument.ERRORS,
        include_reference=True,
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    user = world.raters[0]
    task = reference_task(session, user)
    first = rating_submit(
        task=task,
        token=uuid.uuid4(),
        version=0,
        actor=user,
        scores={
            "errors": [{"category": "wrong_location", "significant": True, "start": 0, "end": 9}]
        },
    )
    row = ErrorAnnotation.objects.get(rater__user=user)
    assert (row.reading_id, row.case_id) == (None, task.item.reading.case_id)
    # The rater changes their mind: no errors after all (autosaved first, as the page does).
    version = rating_draft_save(
        task=reference_task(session, user), scores={"no_errors": True}, version=first.version
    )
    token = uuid.uuid4()
    second = rating_submit(
        task=reference_task(session, user), token=token, version=version, actor=user
    )
    assert second.status == "amended"
    assert list(ErrorAnnotation.objects.values_list("category", "reading_id")) == [
        (NO_ERRORS, None)
    ]
    amendment = JudgmentAmendment.objects.get(task=task)
    assert amendment.before == {
        "errors": [{"category": "wrong_location", "significant": True, "start": 0, "end": 9}]
    }
    assert (amendment.after, amendment.token, amendment.username) == (
        {"no_errors": True},
        token,
        user.username,
    )
    replay = rating_submit(
        task=reference_task(session, user), token=token, version=version, actor=user
    )
    assert replay.replayed and JudgmentAmendment.objects.count() == 1
    same = rating_submit(
        task=reference_task(session, user), token=uuid.uuid4(), version=second.version, actor=user
    )
    assert same.status == "unchanged" and JudgmentAmendment.objects.count() == 1


def test_imported_annotations_are_not_overwritten_by_a_session(
    world: World, make_session: SessionMaker
) -> None:
    session = single(make_session, Instrument.ERRORS, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    task = task_of(session, user)
    ErrorAnnotation.objects.create(
        rater=task.assignment.rater,
        case_id=task.item.reading.case_id,
        reading_id=task.item.reading_id,
        category="other",
    )
    with pytest.raises(AlreadySubmittedError):
        rating_submit(
            task=task, token=uuid.uuid4(), version=0, actor=user, scores={"no_errors": True}
        )
    assert ErrorAnnotation.objects.get().category == "other"
    assert RatingTask.objects.get(pk=task.pk).submitted_at is None


def test_without_amendments_a_submitted_annotation_is_final(
    world: World, make_session: SessionMaker
) -> None:
    session = single(make_session, Instrument.ERRORS, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    first = rating_submit(
        task=task_of(session, user),
        token=uuid.uuid4(),
        version=0,
        actor=user,
        scores={"no_errors": True},
    )
    with pytest.raises(AlreadySubmittedError):
        rating_submit(
            task=task_of(session, user),
            token=uuid.uuid4(),
            version=first.version,
            actor=user,
            scores={"errors": [{"category": "other"}]},
        )
    assert ErrorAnnotation.objects.get().category == NO_ERRORS


# ------------------------------------------------------------------------------ the pages


def test_creating_an_error_session_with_the_reference_from_the_form(
    world: World, references: None
) -> None:
    client = client_for(world.coordinator)
    url = f"/studies/{world.study.slug}/rating/sessions/new/"
    page = client.get(url).content.decode()
    assert "Error annotation" in page and "reference impression" in page
    response = client.post(
        url,
        {
            "name": "Errors",
            "instrument": "errors",
            "include_reference": "on",
            "readers": [world.readers["M1"].pk, world.readers["R1"].pk],
            "runs": ["1"],
            "raters": [u.pk for u in world.raters],
            "raters_per_item": "2",
            "order": "random",
        },
    )
    assert response.status_code == 302
    session = RatingSession.objects.get(name="Errors")
    assert session.instrument == Instrument.ERRORS
    assert session.items.count() == 12 and session.items.filter(reference=True).count() == 4
    client.post(
        f"/studies/{world.study.slug}/rating/sessions/{session.pk}/start/", {"confirm": "on"}
    )
    base = f"/studies/{world.study.slug}/rating/sessions/{session.pk}/"
    for path in (base, f"{base}key/", f"{base}key.csv", f"{base}randomisation.csv"):
        assert client.get(path).status_code == 200, path
    key = client.get(f"{base}key.csv").content.decode()
    assert key.count(",reference,reference,") == 4


def test_an_error_page_is_blind_and_posts_errors_without_script(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = single(
        make_session,
        Instrument.ERRORS,
        include_reference=True,
        raters=world.rater_profiles()[:1],
        allow_amend=True,
    )
    user = world.raters[0]
    client = client_for(user)
    pages = {}
    for task in RatingTask.objects.filter(assignment__session=session).select_related("item"):
        page = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
        for code, _kind, label in READERS:
            assert f">{code}<" not in page and label not in page
        shown = page.lower().replace("reference impression of", "")
        assert not re.search(r"\breference\b", shown), task.item.reference
        pages[task.item.reference] = page
    assert set(pages) == {True, False}
    # A reference item's page and an output's page differ only in the text.
    strip = re.compile(
        r'value="[0-9a-f-]{36}"|value="[0-9A-Za-z]{64}"|<nav class="pager".*?</nav>|[0-9a-z]{20}'
        r'|Item \d+|<div class="output-text[^<]*</div>',
        re.S,
    )
    assert strip.sub("", pages[True]) == strip.sub("", pages[False])
    assert "wrong severity or category" in pages[False] and 'id="no-errors"' in pages[False]
    task = task_of(session, user)
    response = client.post(
        f"/rating/items/{task.item.public_id}/",
        {
            "version": "0",
            "token": str(uuid.uuid4()),
            "action": "submit",
            "errors": json.dumps(
                [{"category": "other", "significant": True, "start": 0, "end": 3}]
            ),
        },
    )
    assert response.status_code == 302
    assert list(ErrorAnnotation.objects.values_list("category", "significant", "start", "end")) == [
        ("other", True, 0, 3)
    ]
    page = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
    assert "clinically significant" in page and f"“{task.item.display_text[:3]}”" in page
    task.refresh_from_db()
    client.post(
        f"/rating/items/{task.item.public_id}/",
        {
            "version": str(task.version),
            "token": str(uuid.uuid4()),
            "no_errors": "1",
            "errors": "[]",
        },
    )
    assert list(ErrorAnnotation.objects.values_list("category", flat=True)) == [NO_ERRORS]
    assert JudgmentAmendment.objects.get().after == {"no_errors": True}
    bad = client.post(
        f"/rating/items/{task_of(session, user, 1).item.public_id}/draft.json",
        {"version": 0, "scores": {"errors": [{"category": "typo"}]}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["field"] == "errors"


def test_the_api_item_of_an_error_session_gives_the_text_and_the_categories(
    world: World, make_session: SessionMaker
) -> None:
    session = single(make_session, Instrument.ERRORS, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    task = task_of(session, user)
    api = APIClient()
    api.force_authenticate(user)
    data = api.get(f"/api/rating/items/{task.item.public_id}/").json()
    assert data["instrument"] == "errors" and data["text"] == task.item.display_text
    assert [o["value"] for o in data["options"]][:2] == ["false_finding", "missed_finding"]
    done = api.post(
        data["submit_url"],
        {"version": 0, "token": str(uuid.uuid4()), "scores": {"no_errors": True}},
        format="json",
    )
    assert done.status_code == 200, done.content
    assert ErrorAnnotation.objects.get().category == NO_ERRORS


# ----------------------------------------------------- per-domain anchors on the Likert page


def test_a_domain_with_its_own_range_and_anchors_shows_them_on_the_rating_page(
    world: World, make_session: SessionMaker
) -> None:
    own, plain = world.domains[0], world.domains[1]
    own.extra = {"min": 1, "max": 3, "anchors": {"1": "Wrong", "2": "Partly right", "3": "Right"}}
    own.save()
    session = make_session(
        domains=[own, plain], raters=world.rater_profiles()[:1], runs=[1], raters_per_item=1
    )
    user = world.raters[0]
    task = task_of(session, user)
    client = client_for(user)
    page = client.get(f"/rating/items/{task.item.public_id}/").content.decode()
    own_row = page[page.index(f'data-key="{own.key}"') :]
    own_row = own_row[: own_row.index("</fieldset>")]
    plain_row = page[page.index(f'data-key="{plain.key}"') :]
    plain_row = plain_row[: plain_row.index("</fieldset>")]
    assert re.findall(r'name="score-[a-z_]+" value="(\d)"', own_row) == ["1", "2", "3"]
    assert "partly right" in own_row and "Right" in own_row
    assert re.findall(r'name="score-[a-z_]+" value="(\d)"', plain_row) == ["1", "2", "3", "4", "5"]
    assert "row-anchors" not in plain_row
    api = APIClient()
    api.force_authenticate(user)
    domains = {
        d["key"]: d for d in api.get(f"/api/rating/items/{task.item.public_id}/").json()["domains"]
    }
    assert domains[own.key]["anchors"] == [
        {"value": 1, "label": "Wrong"},
        {"value": 2, "label": "Partly right"},
        {"value": 3, "label": "Right"},
    ]
    assert [a["value"] for a in domains[plain.key]["anchors"]] == [1, 2, 3, 4, 5]
    # The review shows the domain's own anchor of the chosen score.
    scores = {own.key: 2, plain.key: 5}
    client.post(
        f"/rating/items/{task.item.public_id}/draft.json",
        {"version": 0, "scores": scores},
        content_type="application/json",
    )
    review = client.get(f"/rating/items/{task.item.public_id}/review/").content.decode()
    assert "partly right" in review and "strongly agree" in review
