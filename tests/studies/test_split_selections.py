"""The case selections (a split, or every case) are the case splits plus one "all"."""

from __future__ import annotations

from readerstudy.generation.models import GenerationRun
from readerstudy.studies.models import ALL_CASES, SPLIT_SELECTIONS, Case, SplitSelection


def test_the_selections_are_exactly_the_case_splits_and_all() -> None:
    assert set(SPLIT_SELECTIONS) == {*Case.Split.values, ALL_CASES}
    assert len(SPLIT_SELECTIONS) == len(Case.Split.values) + 1
    assert SPLIT_SELECTIONS[0] == Case.Split.TEST


def test_a_generation_run_selects_cases_from_the_one_list() -> None:
    assert GenerationRun.Split is SplitSelection
    field = GenerationRun._meta.get_field("split")
    assert [value for value, _ in field.choices] == list(SPLIT_SELECTIONS)
