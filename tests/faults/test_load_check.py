"""The exactly-once check of the fault tests catches what it is there to catch."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.faults.load import Load, Run, check_exactly_once

SCORES = {"correctness": 4, "coherence": 2}
TOKENS = ("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222")


def healthy() -> tuple[Run, dict[str, Any]]:
    """One rating and one reading submit, the reading resent once after the fault at t=10."""
    load = Load(attempted=2, failed_then_retried=1, resent=1, finished=2)
    load.rating_acks.append({"rater": "r", "item": "i1", "token": TOKENS[0], "scores": SCORES})
    load.reading_acks.append(
        {"reader": "d", "position": 1, "token": TOKENS[1], "category": 4, "probability": 70}
        | {"impression": "BI-RADS 4."}
    )
    load.failures.append((9.5, 10.2, "ConnectionError"))
    load.successes.extend([5.0, 13.0])
    stored = {
        "rating": [{"rater": "r", "item": "i1", "token": TOKENS[0], "scores": dict(SCORES)}],
        "scores_without_task": 0,
        "score_duplicates": 0,
        "reading": [
            {"reader": "d", "position": 1, "category": 4, "score": 0.7, "impression": "BI-RADS 4."}
        ],
        "submissions": {TOKENS[1]: ["d", 1, "saved"]},
        "entered_readings": 1,
    }
    return Run(load, disrupted_at=10.0, recovered_at=12.0, load_seconds=20.0), stored


def test_a_healthy_run_passes() -> None:
    run, stored = healthy()
    check_exactly_once(run, stored, n_clients=2)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda s: s["rating"].clear(), id="acknowledged rating lost"),
        pytest.param(lambda s: s["rating"][0]["scores"].pop("coherence"), id="partial item"),
        pytest.param(lambda s: s["rating"][0]["scores"].update(coherence=5), id="wrong value"),
        pytest.param(lambda s: s["rating"].append(copy.deepcopy(s["rating"][0])), id="twice"),
        pytest.param(lambda s: s.update(score_duplicates=1), id="duplicate score"),
        pytest.param(lambda s: s.update(scores_without_task=1), id="stray scores"),
        pytest.param(lambda s: s["reading"][0].update(category=3), id="wrong reading"),
        pytest.param(lambda s: s["submissions"].update(x=["d", 1, "saved"]), id="extra attempt"),
        pytest.param(lambda s: s.update(entered_readings=2), id="stray reading"),
    ],
)
def test_a_damaged_database_fails_the_check(damage: Any) -> None:
    run, stored = healthy()
    damage(stored)
    with pytest.raises(AssertionError):
        check_exactly_once(run, stored, n_clients=2)


def test_a_failure_after_recovery_fails_the_check() -> None:
    run, stored = healthy()
    run.load.failures.append((12.5, 12.6, "HTTP 500"))
    with pytest.raises(AssertionError, match="1 after recovery"):
        check_exactly_once(run, stored, n_clients=2)


def test_a_fault_that_hit_no_submit_fails_the_check() -> None:
    run, stored = healthy()
    run.load.failed_then_retried = 0
    with pytest.raises(AssertionError, match="hit no submit"):
        check_exactly_once(run, stored, n_clients=2)
