"""Tests of analysis.stats.consensus (majority / median / mode / first of repeated runs)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.consensus import RULES, consensus
from readerstudy.core.choices import CONSENSUS_RULES


def _runs(rows: dict[tuple[str, int], list[int]]) -> pd.DataFrame:
    records = [
        {"reader_id": r, "case_id": c, "run": i + 1, "category": v}
        for (r, c), values in rows.items()
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(records)


def _by_key(got: pd.DataFrame) -> dict[tuple[str, int], dict]:
    return {(r["reader"], r["case"]): r for r in got.to_dict("records")}


def _oracle(values: list[int], rule: str) -> int:
    """Plain-Python statement of the rules, one reader x case at a time (runs in order)."""
    if rule == "first-run":
        return values[0]
    ordered = sorted(values)
    lower_median = ordered[(len(ordered) - 1) // 2]
    counts = Counter(values)
    top = max(counts.values())
    mode_lowest = min(v for v, c in counts.items() if c == top)
    if rule == "median":
        return lower_median
    if rule == "mode-lowest":
        return mode_lowest
    return mode_lowest if 2 * top > len(values) else lower_median


def test_worked_example_rule_majority_then_median() -> None:
    df = _runs(
        {
            ("A1", 1): [4, 4, 2],  # majority 4
            ("A1", 2): [2, 3, 5],  # all differ: median 3
            ("A1", 3): [5, 5, 5],  # unanimous
            ("B", 1): [6, 2, 4],  # all differ: median 4
        }
    )
    got = consensus(df)
    assert got["reader"].tolist() == ["A1", "A1", "A1", "B"]
    assert got["case"].tolist() == [1, 2, 3, 1]
    assert got["category"].tolist() == [4, 3, 5, 4]
    assert got["decided_by"].tolist() == ["majority", "median", "majority", "median"]
    assert got["n_runs"].tolist() == [3, 3, 3, 3]
    assert got["n_agree"].tolist() == [2, 1, 3, 1]
    np.testing.assert_allclose(got["agreement"], [2 / 3, 1 / 3, 1.0, 1 / 3])
    assert list(got.columns) == [
        "reader",
        "case",
        "category",
        "n_runs",
        "n_agree",
        "agreement",
        "decided_by",
    ]


def test_even_number_of_runs_without_majority_takes_the_lower_middle_value() -> None:
    got = consensus(_runs({("M", 1): [5, 2, 5, 2], ("M", 2): [1, 2, 3, 4]}))
    assert got["category"].tolist() == [2, 2]
    assert got["decided_by"].tolist() == ["median", "median"]


def test_two_of_four_is_not_a_majority_but_three_of_four_is() -> None:
    got = consensus(_runs({("M", 1): [4, 4, 2, 3], ("M", 2): [4, 4, 4, 2]}))
    assert got["category"].tolist() == [3, 4]
    assert got["decided_by"].tolist() == ["median", "majority"]


def test_mode_lowest_breaks_ties_downwards() -> None:
    got = consensus(_runs({("M", 1): [5, 3, 5, 3, 1]}), rule="mode-lowest")
    assert got["category"].tolist() == [3]
    assert got["decided_by"].tolist() == ["mode"]


def test_first_run_takes_the_lowest_run_number_whatever_the_row_order() -> None:
    df = pd.DataFrame(
        {
            "reader_id": ["M", "M", "M", "N", "N"],
            "case_id": [1, 1, 1, 1, 1],
            "run": [3, 2, 5, 7, 4],
            "category": [5, 2, 5, 1, 3],
        }
    )
    got = consensus(df, rule="first-run")
    assert got["category"].tolist() == [2, 3]  # run 2 of M, run 4 of N
    assert got["decided_by"].tolist() == ["first-run", "first-run"]
    assert got["n_runs"].tolist() == [3, 2]
    assert got["n_agree"].tolist() == [1, 1]


def test_first_run_counts_the_later_runs_that_agree_with_it() -> None:
    got = consensus(_runs({("M", 1): [4, 2, 4]}), rule="first-run")
    assert got["category"].tolist() == [4]
    assert got["n_agree"].tolist() == [2]
    np.testing.assert_allclose(got["agreement"], [2 / 3])


def test_first_run_ignores_the_majority() -> None:
    got = consensus(_runs({("M", 1): [3, 5, 5]}), rule="first-run")
    assert got["category"].tolist() == [3]


def test_every_rule_of_the_platform_is_implemented() -> None:
    assert tuple(CONSENSUS_RULES) == RULES
    assert set(RULES) == {"majority-median", "median", "mode-lowest", "first-run"}


def test_median_rule_ignores_the_majority() -> None:
    got = consensus(_runs({("M", 1): [2, 2, 5, 5, 5]}), rule="median")
    assert got["category"].tolist() == [5]
    got = consensus(_runs({("M", 1): [2, 5, 5]}), rule="median")
    assert got["category"].tolist() == [5]
    got = consensus(_runs({("M", 1): [2, 2, 5, 6]}), rule="median")
    assert got["category"].tolist() == [2]


def test_custom_column_names() -> None:
    df = _runs({("M", 1): [4, 4, 2]}).rename(
        columns={"reader_id": "who", "case_id": "lesion", "run": "rep", "category": "birads"}
    )
    got = consensus(df, reader="who", case="lesion", run="rep", category="birads")
    assert got.iloc[0][["reader", "case", "category"]].tolist() == ["M", 1, 4]


def test_a_single_run_is_its_own_consensus() -> None:
    got = consensus(_runs({("R3", 1): [4], ("R3", 2): [2]}))
    assert got["category"].tolist() == [4, 2]
    assert got["agreement"].tolist() == [1.0, 1.0]


def test_it_rejects_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="rule"):
        consensus(_runs({("M", 1): [4]}), rule="vote")  # type: ignore[arg-type]


def test_it_rejects_a_repeated_run() -> None:
    df = pd.DataFrame({"reader_id": "M", "case_id": 1, "run": [1, 1], "category": [4, 2]})
    with pytest.raises(ValueError, match="run"):
        consensus(df)


def test_it_rejects_nan_with_nan_policy_raise_and_omits_on_request() -> None:
    df = pd.DataFrame(
        {"reader_id": "M", "case_id": 1, "run": [1, 2, 3], "category": [4, np.nan, 2]}
    )
    with pytest.raises(ValueError, match="category"):
        consensus(df)
    got = consensus(df, nan_policy="omit")
    assert got["n_runs"].tolist() == [2]
    assert got["category"].tolist() == [2.0]


def test_it_rejects_a_non_numeric_category() -> None:
    df = pd.DataFrame({"reader_id": "M", "case_id": 1, "run": [1, 2], "category": ["4", "x"]})
    with pytest.raises(ValueError, match="category"):
        consensus(df)


def test_it_rejects_a_missing_column() -> None:
    with pytest.raises(ValueError, match="run"):
        consensus(pd.DataFrame({"reader_id": ["M"], "case_id": [1], "category": [4]}))


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------

runs_of_case = st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=7)
study = st.dictionaries(
    st.tuples(st.sampled_from(["A1", "A2", "B"]), st.integers(min_value=1, max_value=12)),
    runs_of_case,
    min_size=1,
    max_size=15,
)


@settings(max_examples=30, deadline=None)
@given(study, st.sampled_from(RULES))
def test_every_rule_matches_its_plain_statement(rows: dict, rule: str) -> None:
    got = _by_key(consensus(_runs(rows), rule=rule))
    assert len(got) == len(rows)
    for key, values in rows.items():
        assert got[key]["category"] == _oracle(values, rule)
        assert got[key]["n_runs"] == len(values)
        assert got[key]["n_agree"] == values.count(_oracle(values, rule))


@settings(max_examples=30, deadline=None)
@given(study, st.sampled_from(RULES), st.integers(min_value=2, max_value=5))
def test_consensus_of_identical_runs_is_that_run(rows: dict, rule: str, m: int) -> None:
    same = {key: [values[0]] * m for key, values in rows.items()}
    got = _by_key(consensus(_runs(same), rule=rule))
    for key, values in same.items():
        assert got[key]["category"] == values[0]
        assert got[key]["agreement"] == 1.0


#: The rules that combine the runs (first-run picks one by its number: order matters).
COMBINING = [r for r in RULES if r != "first-run"]


@settings(max_examples=30, deadline=None)
@given(study, st.sampled_from(COMBINING), st.randoms(use_true_random=False))
def test_consensus_is_invariant_to_run_order(rows: dict, rule: str, rnd: random.Random) -> None:
    shuffled = {}
    for key, values in rows.items():
        copy = list(values)
        rnd.shuffle(copy)
        shuffled[key] = copy
    a = consensus(_runs(rows), rule=rule)
    df = _runs(shuffled)
    b = consensus(df.sample(frac=1.0, random_state=rnd.randint(0, 10_000)), rule=rule)
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(study, st.sampled_from(RULES), st.randoms(use_true_random=False))
def test_consensus_is_invariant_to_row_order(rows: dict, rule: str, rnd: random.Random) -> None:
    df = _runs(rows)
    a = consensus(df, rule=rule)
    b = consensus(df.sample(frac=1.0, random_state=rnd.randint(0, 10_000)), rule=rule)
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(study, st.sampled_from(RULES))
def test_consensus_is_a_category_some_run_gave(rows: dict, rule: str) -> None:
    got = _by_key(consensus(_runs(rows), rule=rule))
    for key, values in rows.items():
        assert got[key]["category"] in values
        assert got[key]["n_agree"] >= 1
