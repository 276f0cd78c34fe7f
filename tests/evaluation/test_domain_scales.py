"""Per-domain Likert ranges and anchors (issue 14, item 4): read from study.toml into
``LikertDomain.extra``, checked in ratings.csv, the scores import and the rating page."""

from __future__ import annotations

import pytest

from evaluation.instruments import DomainScale, domain_scale, parse_domain_scale
from evaluation.models import RatingSession, RatingTask
from evaluation.services import ScoresInvalidError, rating_draft_save
from tests.evaluation.conftest import SessionMaker, World
from tests.factories import LikertDomainFactory, StudyFactory

pytestmark = pytest.mark.django_db


def test_a_domain_without_its_own_range_has_the_studys() -> None:
    domain = LikertDomainFactory(study=StudyFactory(likert_min=1, likert_max=7))
    assert domain.scale == DomainScale(1, 7, {})


def test_a_domain_range_and_anchors_come_from_extra() -> None:
    domain = LikertDomainFactory(extra={"min": 1, "max": 3, "anchors": {"1": "poor", "3": "good"}})
    assert domain.scale == DomainScale(1, 3, {1: "poor", 3: "good"})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"min": 3, "max": 3},
            ("min", "domain min and max must be integers with min < max, got 3 and 3"),
        ),
        (
            {"min": "1"},
            ("min", "domain min and max must be integers with min < max, got '1' and 5"),
        ),
        (
            {"min": 0},
            ("min", "the domain's range 0-5 must lie inside the study's Likert range 1-5"),
        ),
        ({"anchors": {"9": "x"}}, ("anchors", "anchor 9 is outside the domain's range 1-5")),
        ({"anchors": {"a": "x"}}, ("anchors", "anchor key 'a' is not a point of the scale")),
        ({"anchors": {"2": ""}}, ("anchors", "anchor 2 must be a non-empty string")),
        ({"anchors": 1}, ("anchors", 'must be a table mapping a point to its label: 1 = "poor"')),
        (
            {"anchors": ["a", "b", "c"]},
            (
                "anchors",
                "a list of anchors has one label per point (5) or the labels of the two ends, "
                "got 3",
            ),
        ),
    ],
)
def test_bad_domain_scales_are_reported(raw: dict[str, object], problem: tuple[str, str]) -> None:
    _, problems = parse_domain_scale(raw, low=1, high=5)
    assert problem in problems
    # The stored value never breaks a page: an invalid one falls back to the study's range.
    assert domain_scale(raw, low=1, high=5) == DomainScale(1, 5, {})


def test_a_list_of_anchors_labels_every_point_or_the_two_ends() -> None:
    assert parse_domain_scale({"max": 3, "anchors": ["x", "y", "z"]}, low=1, high=5) == (
        DomainScale(1, 3, {1: "x", 2: "y", 3: "z"}),
        [],
    )
    assert parse_domain_scale({"anchors": ["bad", "good"]}, low=1, high=5) == (
        DomainScale(1, 5, {1: "bad", 5: "good"}),
        [],
    )


def task_of(session: RatingSession, user: object) -> RatingTask:
    return RatingTask.objects.select_related("assignment__session__study").get(
        assignment__session=session, assignment__rater__user=user, position=0
    )


def test_the_rating_page_refuses_a_score_outside_the_domains_range(
    world: World, make_session: SessionMaker
) -> None:
    domain = world.domains[0]
    domain.extra = {"min": 1, "max": 3}
    domain.save()
    task = task_of(make_session(), world.raters[0])
    with pytest.raises(ScoresInvalidError, match="Correctness: the score must be from 1 to 3"):
        rating_draft_save(task=task, scores={"correctness": 4}, version=0)
    assert rating_draft_save(task=task, scores={"correctness": 3}, version=0) == 1
