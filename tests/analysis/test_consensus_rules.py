"""The consensus rules: one list (``readerstudy.core.choices.CONSENSUS_RULES``), one
implementation (``analysis.stats.consensus``), used by the study model, the bundle parser, the
results and the reading pages alike (issue 13, rule 2)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.results import _final_readings, runs_final_category
from analysis.stats.consensus import RULES
from readerstudy.bundles import parse
from readerstudy.core.choices import CONSENSUS_RULES
from readerstudy.studies.consensus import final_category
from readerstudy.studies.models import Study

#: One case per rule where the rules disagree: (rule, runs in run order, final category).
EXAMPLES = [
    ("majority-median", [3, 5, 5], 5),
    ("majority-median", [1, 3, 5], 3),
    ("median", [5, 5, 1, 1], 1),
    ("mode-lowest", [5, 3, 5, 3, 1], 3),
    ("first-run", [3, 5, 5], 3),
]


def test_the_study_model_offers_the_rules_of_the_one_list_with_their_labels() -> None:
    assert dict(Study.Consensus.choices) == CONSENSUS_RULES
    assert Study.Consensus.MAJORITY_MEDIAN == "majority-median"
    assert Study.Consensus.MODE_LOWEST == "mode-lowest"
    assert Study.Consensus.FIRST_RUN == "first-run"
    assert Study._meta.get_field("consensus").default == "majority-median"


def test_the_bundle_and_the_statistics_use_the_one_list() -> None:
    assert parse.CONSENSUS_RULES is CONSENSUS_RULES
    assert tuple(CONSENSUS_RULES) == RULES


def test_every_rule_has_an_example() -> None:
    assert {rule for rule, _, _ in EXAMPLES} == set(CONSENSUS_RULES)


@pytest.mark.parametrize(("rule", "runs", "final"), EXAMPLES)
def test_every_rule_gives_the_same_final_category_in_the_results_and_the_reading_pages(
    rule: str, runs: list[int], final: int
) -> None:
    readings = pd.DataFrame(
        {
            "reader_id": "M",
            "case_id": "C1",
            "run": range(1, len(runs) + 1),
            "category": runs,
            "truth": 1,
            "score": float("nan"),
        }
    )
    results, _ = _final_readings(readings.iloc[::-1], rule)  # row order must not matter
    assert results["category"].tolist() == [final]
    assert results["n_runs"].tolist() == [len(runs)]
    assert runs_final_category(runs, rule) == final
    # the reading pages (assisting model) get the analysis' implementation, registered when
    # the analysis app is ready
    assert final_category(runs, rule=rule) == final


def test_first_run_in_the_results_is_decided_by_the_first_run() -> None:
    readings = pd.DataFrame(
        {
            "reader_id": "M",
            "case_id": "C1",
            "run": [2, 1, 3],
            "category": [5, 3, 5],
            "truth": 0,
            "score": float("nan"),
        }
    )
    results, _ = _final_readings(readings, "first-run")
    assert results[["category", "n_agree", "decided_by"]].values.tolist() == [[3, 1, "first-run"]]


def test_no_runs_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="categories"):
        final_category([], rule="majority-median")
