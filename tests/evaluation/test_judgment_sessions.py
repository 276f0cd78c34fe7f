"""Pairwise and acceptability rating sessions: building, balancing, sides, submission, amendments."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from evaluation.models import (
    AcceptabilityGrade,
    Instrument,
    JudgmentAmendment,
    PairwisePreference,
    RatingItem,
    RatingSession,
    RatingTask,
)
from evaluation.services import (
    AlreadySubmittedError,
    RatingError,
    ScoresInvalidError,
    balanced_by_stratum,
    balanced_sides,
    rating_draft_save,
    rating_submit,
)
from readerstudy.studies.models import Case
from tests.evaluation.conftest import SessionMaker, World

pytestmark = pytest.mark.django_db

PAIRS = [("M1", "M2"), ("M1", "reference")]


def pairwise(make_session: SessionMaker, **options: object) -> RatingSession:
    params: dict[str, object] = {
        "instrument": Instrument.PAIRWISE,
        "pairs": PAIRS,
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


@pytest.fixture
def references(world: World) -> None:
    for case in Case.objects.filter(study=world.study):
        case.reference_impression = f"Reference impression of {case.code}: benign enhancement."
        case.save()


def test_pairwise_items_pair_the_sources_of_each_case_with_normalised_texts(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session, raters_per_item=3)
    items = list(RatingItem.objects.filter(session=session).select_related("reading__reader"))
    assert len(items) == 8  # 4 cases x 2 pairings
    vs_reference = [i for i in items if i.reading_b_id is None]
    assert len(vs_reference) == 4
    assert all(i.reading.reader.code == "M1" for i in items)
    assert all("Reference impression" in i.display_text_b for i in vs_reference)
    assert all("**" not in i.display_text + i.display_text_b for i in items)
    assert session.instrument == Instrument.PAIRWISE
    assert session.selection["pairs"] == [list(p) for p in PAIRS]


def test_pairwise_without_reference_impressions_skips_those_cases(
    make_session: SessionMaker,
) -> None:
    session = pairwise(make_session)
    assert RatingItem.objects.filter(session=session, reading_b__isnull=True).count() == 0
    assert RatingItem.objects.filter(session=session).count() == 4


def test_pairwise_sides_come_from_the_seed_and_are_recorded(
    make_session: SessionMaker, references: None
) -> None:
    one = pairwise(make_session, seed=7)
    two = pairwise(make_session, seed=7)

    def sides(s: RatingSession) -> list[tuple[int, int, str]]:
        rows = RatingItem.objects.filter(session=s).values_list(
            "reading_id", "reading_b_id", "left"
        )
        return sorted((a, b or 0, left) for a, b, left in rows)

    assert sides(one) == sides(two)
    assert {left for *_, left in sides(one)} == {"a", "b"}


def test_balanced_sides_show_each_side_equally_often_in_each_pairing() -> None:
    strata = ["x|y"] * 10 + ["x|ref"] * 7
    for seed in range(20):
        sides = balanced_sides(seed=seed, strata=strata)
        assert Counter(sides[:10]) == {"a": 5, "b": 5}
        assert sorted(Counter(sides[10:]).values()) == [3, 4]
    assert balanced_sides(seed=1, strata=strata) == balanced_sides(seed=1, strata=strata)
    assert len({tuple(balanced_sides(seed=s, strata=strata)) for s in range(20)}) > 10


def test_balanced_by_stratum_gives_each_rater_each_pairing_about_equally_often() -> None:
    strata = ["a|b"] * 13 + ["a|ref"] * 11 + ["b|ref"] * 5
    raters = ["r1", "r2", "r3", "r4"]
    for per_item in (1, 2, 3):
        given = balanced_by_stratum(seed=3, strata=strata, raters=raters, per_item=per_item)
        for label in set(strata):
            loads = [sum(1 for p in given[r] if strata[p] == label) for r in raters]
            assert max(loads) - min(loads) <= 1, (label, loads)
        totals = [len(given[r]) for r in raters]
        assert max(totals) - min(totals) <= 1
        coverage = Counter(p for r in raters for p in given[r])
        assert set(coverage.values()) == {per_item} and len(coverage) == len(strata)
        assert all(len(set(given[r])) == len(given[r]) for r in raters)


def test_pairwise_session_refuses_unknown_or_repeated_pairs(make_session: SessionMaker) -> None:
    with pytest.raises(RatingError) as exc:
        pairwise(make_session, pairs=[("M1", "X9")])
    assert exc.value.field == "pairs"
    with pytest.raises(RatingError):
        pairwise(make_session, pairs=[("M1", "M1")])
    with pytest.raises(RatingError):
        pairwise(make_session, pairs=[("M1", "M2"), ("M1", "M2")])
    with pytest.raises(RatingError):
        pairwise(make_session, pairs=[])
    assert not RatingSession.objects.exists()


def test_pairwise_submission_stores_the_canonical_choice_by_the_recorded_side(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session, raters_per_item=3, allow_amend=True)
    user = world.raters[0]
    for number in range(8):
        task = task_of(session, user, number)
        version = rating_draft_save(task=task, scores={"choice": "left"}, version=0)
        task = task_of(session, user, number)
        result = rating_submit(
            task=task,
            token=uuid.uuid4(),
            version=version,
            actor=user,
            scores={"choice": "left", "strength": 4, "comment": " clearer "},
        )
        assert result.status == "submitted"
        row = PairwisePreference.objects.get(
            rater__user=user, reading_a=task.item.reading_id, reading_b=task.item.reading_b_id
        )
        assert row.choice == task.item.left  # the left one was chosen
        assert row.left == task.item.left
        assert (row.strength, row.comment, row.source) == (4, "clearer", "entered")
        assert row.case_id == task.item.reading.case_id
    assert PairwisePreference.objects.filter(rater__user=user).count() == 8


def test_amending_a_preference_changes_the_row_and_keeps_the_history(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session, allow_amend=True, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    task = task_of(session, user)
    first = rating_submit(
        task=task, token=uuid.uuid4(), version=0, actor=user, scores={"choice": "right"}
    )
    task = task_of(session, user)
    token = uuid.uuid4()
    second = rating_submit(
        task=task, token=token, version=first.version, actor=user, scores={"choice": "tie"}
    )
    assert second.status == "amended"
    assert (
        PairwisePreference.objects.get(
            rater__user=user, reading_a=task.item.reading_id, reading_b=task.item.reading_b_id
        ).choice
        == "tie"
    )
    amendment = JudgmentAmendment.objects.get(task=task)
    assert (amendment.before, amendment.after, amendment.username) == (
        {"choice": "right"},
        {"choice": "tie"},
        user.username,
    )
    replay = rating_submit(
        task=task_of(session, user), token=token, version=first.version, actor=user
    )
    assert replay.replayed and JudgmentAmendment.objects.count() == 1


def test_resubmitting_without_amendments_is_refused(
    world: World, make_session: SessionMaker, references: None
) -> None:
    session = pairwise(make_session, raters=world.rater_profiles()[:1])
    user = world.raters[0]
    first = rating_submit(
        task=task_of(session, user),
        token=uuid.uuid4(),
        version=0,
        actor=user,
        scores={"choice": "left"},
    )
    with pytest.raises(AlreadySubmittedError):
        rating_submit(
            task=task_of(session, user),
            token=uuid.uuid4(),
            version=first.version,
            actor=user,
            scores={"choice": "right"},
        )


def test_pairwise_answers_are_validated(world: World, make_session: SessionMaker) -> None:
    session = pairwise(make_session)
    task = task_of(session, world.raters[0])
    for bad, field in (
        ({"choice": "a"}, "choice"),
        ({"choice": "left", "strength": 6}, "strength"),
        ({"grade": 3}, "grade"),
    ):
        with pytest.raises(ScoresInvalidError) as exc:
            rating_draft_save(task=task, scores=bad, version=0)
        assert exc.value.field == field
    with pytest.raises(ScoresInvalidError):
        rating_submit(task=task, token=uuid.uuid4(), version=0, actor=world.raters[0], scores={})


def test_acceptability_session_grades_outputs_of_humans_and_models_on_the_study_scale(
    world: World, make_session: SessionMaker
) -> None:
    session = make_session(
        instrument=Instrument.ACCEPTABILITY,
        domains=[],
        runs=[1],
        raters_per_item=1,
        allow_amend=True,
    )
    items = RatingItem.objects.filter(session=session)
    assert items.count() == 12  # R1, M1, M2 x 4 cases
    assert not items.exclude(display_text_b="").exists() and not items.exclude(left="").exists()
    counts = Counter(
        RatingTask.objects.filter(assignment__session=session).values_list(
            "assignment__rater__code", flat=True
        )
    )
    assert sorted(counts.values()) == [4, 4, 4]
    user = world.raters[0]
    task = task_of(session, user)
    with pytest.raises(ScoresInvalidError):
        rating_draft_save(task=task, scores={"grade": 5}, version=0)
    version = rating_draft_save(task=task, scores={"grade": "3"}, version=0)
    result = rating_submit(
        task=task_of(session, user), token=uuid.uuid4(), version=version, actor=user
    )
    grade = AcceptabilityGrade.objects.get(rater__user=user, reading=task.item.reading_id)
    assert (grade.grade, grade.source, result.status) == (3, "entered", "submitted")
    rating_submit(
        task=task_of(session, user),
        token=uuid.uuid4(),
        version=result.version,
        actor=user,
        scores={"grade": 1},
    )
    grade.refresh_from_db()
    assert grade.grade == 1
    assert JudgmentAmendment.objects.get(task=task).before == {"grade": 3}


def test_an_imported_judgment_is_not_overwritten_by_a_session(
    world: World, make_session: SessionMaker
) -> None:
    session = make_session(
        instrument=Instrument.ACCEPTABILITY,
        domains=[],
        runs=[1],
        raters=world.rater_profiles()[:1],
        raters_per_item=1,
    )
    user = world.raters[0]
    task = task_of(session, user)
    AcceptabilityGrade.objects.create(
        rater=task.assignment.rater,
        case_id=task.item.reading.case_id,
        reading_id=task.item.reading_id,
        grade=4,
    )
    with pytest.raises(AlreadySubmittedError):
        rating_submit(task=task, token=uuid.uuid4(), version=0, actor=user, scores={"grade": 1})
    assert AcceptabilityGrade.objects.get().grade == 4
    assert RatingTask.objects.get(pk=task.pk).submitted_at is None
