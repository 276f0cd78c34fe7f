"""The consensus rules: one list (``Study.Consensus``), one implementation (the analysis),
used by the bundle parser and the reading pages alike (issue 13, rule 2)."""

from __future__ import annotations

import pytest

from analysis.results import runs_final_category
from analysis.stats.consensus import RULES
from readerstudy.bundles.parse import CONSENSUS_RULES
from readerstudy.studies.consensus import final_category
from readerstudy.studies.models import Study


def test_the_bundle_accepts_exactly_the_rules_of_the_study_model() -> None:
    assert tuple(Study.Consensus.values) == CONSENSUS_RULES


def test_the_statistics_implement_every_study_rule_but_first_run() -> None:
    # first-run is no combination of runs: the results take each reader's first run
    assert set(Study.Consensus.values) - {"first-run"} <= set(RULES)


@pytest.mark.parametrize(
    ("rule", "runs", "final"),
    [
        ("first-run", [3, 5, 5], 3),
        ("majority-median", [3, 5, 5], 5),
        ("majority-median", [1, 3, 5], 3),
        ("median", [5, 5, 1, 1], 1),
    ],
)
def test_every_study_rule_gives_the_final_category_of_the_results(
    rule: str, runs: list[int], final: int
) -> None:
    assert rule in Study.Consensus.values
    assert runs_final_category(runs, rule) == final
    # the reading pages (assisting model) get the analysis' implementation, registered when
    # the analysis app is ready
    assert final_category(runs, rule=rule) == final


def test_no_runs_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="categories"):
        final_category([], rule="majority-median")
