"""Tests of analysis.stats.likert against R (tests/stats/r/likert_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.likert import (
    adjust_p,
    dunn_test,
    kruskal_wallis,
    likert_by_domain,
    likert_by_reader,
    likert_summary,
)
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("likert_reference")
SETS = REF["sets"]
GROUPS = dict(zip(REF["domains"]["domain"], REF["domains"]["group"], strict=True))


def _frame(dataset: dict) -> pd.DataFrame:
    return pd.DataFrame(dataset["data"])


def _check_summary(row: pd.Series, ref: dict) -> None:
    assert row["n"] == ref["n"]
    assert_close(row["statistic"], ref["mean"])
    for col in ("sd", "median", "q1", "q3"):
        assert_close(row[col], ref[col])
    assert_close([row["ci_low"], row["ci_high"]], ref["ci"])


@pytest.mark.parametrize("dataset", SETS, ids=lambda d: d["name"])
def test_by_reader_and_run_matches_r(dataset: dict) -> None:
    got = likert_by_reader(_frame(dataset))
    per_run = got[got["run"].notna()].set_index(["reader", "run"])
    assert len(per_run) == len(dataset["by_run"])
    for ref in dataset["by_run"]:
        _check_summary(per_run.loc[(ref["reader"], ref["run"])], ref)
    overall = got[got["run"].isna()].set_index("reader")
    for ref in dataset["overall"]:
        _check_summary(overall.loc[ref["reader"]], ref)


def test_by_reader_puts_the_all_runs_row_after_the_runs() -> None:
    got = likert_by_reader(_frame(SETS[1]))
    assert got["reader"].tolist() == ["p"] * 3 + ["q"] * 3 + ["r"] * 3 + ["s"] * 3
    assert got["run"].tolist()[:3] == [1, 2, None]
    assert list(got.columns) == [
        "reader",
        "run",
        "n",
        "statistic",
        "sd",
        "se",
        "ci_low",
        "ci_high",
        "median",
        "q1",
        "q3",
    ]
    only = likert_by_reader(_frame(SETS[1]), run=None)
    assert only["run"].isna().all() and len(only) == 4


def test_a_constant_reader_has_a_zero_width_ci() -> None:
    got = likert_by_reader(_frame(SETS[1]), run=None).set_index("reader").loc["s"]
    assert got["statistic"] == 5.0 and got["ci_low"] == 5.0 and got["ci_high"] == 5.0


@pytest.mark.parametrize("dataset", SETS, ids=lambda d: d["name"])
def test_by_domain_and_group_matches_r(dataset: dict) -> None:
    got = likert_by_domain(_frame(dataset), groups=GROUPS)
    domains = got[got["domain"].notna()].set_index(["reader", "domain"])
    for ref in dataset["by_domain"]:
        if ref["n"] == 0:
            assert (ref["reader"], ref["domain"]) not in domains.index
            continue
        row = domains.loc[(ref["reader"], ref["domain"])]
        assert row["group"] == GROUPS[ref["domain"]]
        _check_summary(row, ref)
    pooled = got[got["domain"].isna()].set_index(["reader", "group"])
    for ref in dataset["by_group"]:
        if ref["n"] == 0:
            continue
        _check_summary(pooled.loc[(ref["reader"], ref["group"])], ref)


def test_by_domain_rejects_an_unmapped_domain() -> None:
    with pytest.raises(ValueError, match="groups"):
        likert_by_domain(_frame(SETS[0]), groups={"coherence": "Report structure"})


def test_likert_summary_keeps_the_grouping_columns() -> None:
    got = likert_summary(_frame(SETS[0]), by=["reader_id", "rater_id"])
    assert list(got.columns[:2]) == ["reader_id", "rater_id"]
    assert len(got) == 6 * 3


@pytest.mark.parametrize("dataset", SETS, ids=lambda d: d["name"])
def test_kruskal_wallis_matches_r(dataset: dict) -> None:
    got = kruskal_wallis(_frame(dataset))
    assert got["run"].tolist() == [k["run"] for k in dataset["kruskal"]]
    for (_, row), ref in zip(got.iterrows(), dataset["kruskal"], strict=True):
        assert_close(row["statistic"], ref["h"])
        assert row["df"] == ref["df"]
        np.testing.assert_allclose(row["p_value"], ref["p"], rtol=1e-6)
    pooled = kruskal_wallis(_frame(dataset), run=None).iloc[0]
    assert pooled["run"] is None
    assert_close(pooled["statistic"], dataset["kruskal_pooled"]["h"])
    np.testing.assert_allclose(pooled["p_value"], dataset["kruskal_pooled"]["p"], rtol=1e-6)


@pytest.mark.parametrize("dataset", SETS, ids=lambda d: d["name"])
@pytest.mark.parametrize("method", ["bonferroni", "holm"])
def test_dunn_test_matches_r(dataset: dict, method: str) -> None:
    got = dunn_test(_frame(dataset), p_adjust=method)
    expected = [(fam["run"], pair) for fam in dataset["dunn"] for pair in fam["pairs"]]
    assert len(got) == len(expected)
    for (_, row), (run, ref) in zip(got.iterrows(), expected, strict=True):
        assert (row["run"], row["reader_a"], row["reader_b"]) == (
            run,
            ref["reader_a"],
            ref["reader_b"],
        )
        assert_close(row["statistic"], ref["z"])
        assert_close(row["p_value"], ref["p"])
        assert_close(row["p_adjusted"], ref[f"p_{method}"])
    pooled = dunn_test(_frame(dataset), run=None, p_adjust=method)
    assert_close(pooled["statistic"], [r["z"] for r in dataset["dunn_pooled"]])
    assert_close(pooled["p_adjusted"], [r[f"p_{method}"] for r in dataset["dunn_pooled"]])


@pytest.mark.parametrize("dataset", SETS, ids=lambda d: d["name"])
def test_dunn_test_matches_scikit_posthocs(dataset: dict) -> None:
    df = _frame(dataset)
    got = dunn_test(df, run=None, p_adjust="none")
    ref = sp.posthoc_dunn(df, val_col="score", group_col="reader_id", p_adjust=None)
    for _, row in got.iterrows():
        assert_close(row["p_value"], ref.loc[row["reader_a"], row["reader_b"]])


def test_dunn_z_is_positive_when_reader_a_scores_higher() -> None:
    df = pd.DataFrame({"reader_id": ["a"] * 5 + ["b"] * 5, "score": [5, 5, 4, 5, 4, 1, 2, 2, 3, 1]})
    got = dunn_test(df, run=None).iloc[0]
    assert (got["reader_a"], got["reader_b"]) == ("a", "b")
    assert got["statistic"] > 0 and got["mean_rank_a"] > got["mean_rank_b"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=12))
def test_holm_is_between_raw_and_bonferroni_and_monotone(p: list[float]) -> None:
    raw = np.array(p)
    holm = adjust_p(raw, "holm")
    bonf = adjust_p(raw, "bonferroni")
    assert (holm >= raw - 1e-15).all() and (holm <= bonf + 1e-15).all()
    order = np.argsort(raw, kind="stable")
    assert (np.diff(holm[order]) >= -1e-15).all()


def test_likert_rejects_scores_out_of_range_naming_the_column() -> None:
    df = pd.DataFrame({"reader_id": ["a", "b"], "run": 1, "rating": [3, 6]})
    with pytest.raises(ValueError, match="rating"):
        likert_by_reader(df, score="rating")
    with pytest.raises(ValueError, match="rating"):
        kruskal_wallis(df, score="rating")
    got = likert_by_reader(df, score="rating", high=7)
    assert got["n"].sum() == 4


def test_likert_rejects_nan_with_nan_policy_raise_and_omits_on_request() -> None:
    df = pd.DataFrame({"reader_id": ["a", "a", "b", "b"], "run": 1, "score": [3, np.nan, 4, 5]})
    with pytest.raises(ValueError, match="score"):
        dunn_test(df)
    got = dunn_test(df, nan_policy="omit").iloc[0]
    assert (got["n_a"], got["n_b"]) == (1, 2)


def test_kruskal_and_dunn_need_two_readers() -> None:
    df = pd.DataFrame({"reader_id": "a", "run": 1, "score": [3, 4, 5]})
    with pytest.raises(ValueError, match="reader"):
        kruskal_wallis(df)
    with pytest.raises(ValueError, match="reader"):
        dunn_test(df)


def test_dunn_rejects_an_unknown_adjustment() -> None:
    with pytest.raises(ValueError, match="p_adjust"):
        dunn_test(_frame(SETS[2]), p_adjust="sidak")  # type: ignore[arg-type]


def test_all_equal_scores_give_nan_h() -> None:
    df = pd.DataFrame({"reader_id": ["a", "a", "b", "b"], "run": 1, "score": 5})
    got = kruskal_wallis(df).iloc[0]
    assert np.isnan(got["statistic"]) and np.isnan(got["p_value"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=30))
def test_summary_ci_contains_the_mean(scores: list[int]) -> None:
    df = pd.DataFrame({"reader_id": "a", "score": scores})
    row = likert_summary(df, by="reader_id").iloc[0]
    if len(scores) == 1:
        assert np.isnan(row["ci_low"])
    else:
        assert row["ci_low"] <= row["statistic"] <= row["ci_high"]
    assert row["q1"] <= row["median"] <= row["q3"]
