"""Database constraints hold whatever writes: check, unique and the integrity triggers."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from readerstudy.studies.models import Case, Reading, Study
from tests.factories import (
    CaseFactory,
    LikertDomainFactory,
    LikertScoreFactory,
    RaterFactory,
    ReaderFactory,
    ReadingFactory,
    StudyFactory,
)

pytestmark = pytest.mark.django_db


def violates(fn: object) -> bool:
    try:
        with transaction.atomic():
            fn()  # type: ignore[operator]
    except IntegrityError:
        return True
    return False


def test_it_rejects_truth_other_than_0_or_1() -> None:
    study = StudyFactory()
    assert violates(lambda: Case.objects.create(study=study, code="X", truth=2))
    assert not violates(lambda: Case.objects.create(study=study, code="Y", truth=0))


def test_it_rejects_a_duplicate_case_id_within_a_study_only() -> None:
    case = CaseFactory(code="L1")
    assert violates(lambda: CaseFactory(study=case.study, code="L1"))
    assert not violates(lambda: CaseFactory(code="L1"))


def test_it_allows_one_reading_per_reader_case_run_and_modality() -> None:
    reading = ReadingFactory(run=1, modality=1)
    same = {"reader": reading.reader, "case": reading.case}
    assert violates(lambda: ReadingFactory(**same, run=1, modality=1))
    assert not violates(lambda: ReadingFactory(**same, run=2, modality=1))
    assert not violates(lambda: ReadingFactory(**same, run=1, modality=2))


def test_it_rejects_a_category_off_the_study_scale() -> None:
    study = StudyFactory(categories=[1, 2, 3, 4, 5])
    reader, case = ReaderFactory(study=study), CaseFactory(study=study)
    assert violates(lambda: ReadingFactory(reader=reader, case=case, category=0))
    assert violates(lambda: ReadingFactory(reader=reader, case=case, category=6))
    reading = ReadingFactory(reader=reader, case=case, category=5)

    def update_off_scale() -> None:
        Reading.objects.filter(pk=reading.pk).update(category=9)

    assert violates(update_off_scale)
    reading.refresh_from_db()
    assert reading.category == 5


def test_it_rejects_a_reading_whose_reader_and_case_are_in_different_studies() -> None:
    reader, case = ReaderFactory(), CaseFactory()
    assert reader.study != case.study
    assert violates(lambda: Reading.objects.create(reader=reader, case=case, category=4))


def test_it_rejects_a_run_below_one_and_negative_seconds() -> None:
    assert violates(lambda: ReadingFactory(run=0))
    assert violates(lambda: ReadingFactory(seconds=-1.0))


def test_it_rejects_likert_scores_out_of_range() -> None:
    score = LikertScoreFactory(score=5)
    study: Study = score.domain.study
    kwargs = {"reading": score.reading, "rater": score.rater}
    for bad in (0, 6):
        assert violates(
            lambda bad=bad: LikertScoreFactory(
                **kwargs, domain=LikertDomainFactory(study=study), score=bad
            )
        )
    assert not violates(
        lambda: LikertScoreFactory(**kwargs, domain=LikertDomainFactory(study=study), score=1)
    )


def test_it_rejects_a_score_from_another_study() -> None:
    score = LikertScoreFactory()
    other_rater = RaterFactory()
    assert violates(
        lambda: LikertScoreFactory(reading=score.reading, domain=score.domain, rater=other_rater)
    )


def test_it_rejects_two_scores_by_one_rater_for_the_same_output_and_domain() -> None:
    score = LikertScoreFactory()
    assert violates(
        lambda: LikertScoreFactory(reading=score.reading, domain=score.domain, rater=score.rater)
    )


def test_it_rejects_an_empty_likert_range() -> None:
    assert violates(lambda: StudyFactory(likert_min=5, likert_max=5))
