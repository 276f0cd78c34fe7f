"""Tests of analysis.stats.likert_paired against R (tests/stats/r/likert_paired_reference.R):
friedman.test, wilcox.test(paired = TRUE), p.adjust("holm") and an independent R
implementation of the two-way (rater x case) bootstrap."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.stats.likert_paired import PAIRED_COLUMNS, friedman_test, paired_comparisons
from tests.stats._agree_fixtures import R_DIR, load_reference

REF = load_reference("likert_paired_reference")
LIKERT = pd.read_csv(R_DIR / "likert_paired.csv")
EXACT = pd.read_csv(R_DIR / "likert_paired_exact.csv")
# The R and Python bootstraps use different random streams: with 20000 replicates the
# largest difference seen is 0.008.
BOOT_TOL = 0.03


def _check(got_f: pd.Series, got_p: pd.DataFrame, ref: dict) -> None:
    f = ref["friedman"]
    assert (got_f["n_blocks"], got_f["n_dropped"], got_f["k"], got_f["df"]) == (
        f["n_blocks"], f["n_dropped"], f["k"], f["df"],
    )  # fmt: skip
    assert got_f["statistic"] == pytest.approx(f["statistic"], rel=1e-10)
    assert got_f["p_value"] == pytest.approx(f["p"], rel=1e-8)
    assert len(got_p) == len(ref["pairs"])
    for (_, row), pair in zip(got_p.iterrows(), ref["pairs"], strict=True):
        assert (row["source_a"], row["source_b"]) == (pair["source_a"], pair["source_b"])
        assert row["n_blocks"] == pair["n_blocks"]
        assert row["statistic"] == pytest.approx(pair["mean_diff"], rel=1e-12, abs=1e-14)
        assert (row["mean_a"], row["mean_b"]) == pytest.approx((pair["mean_a"], pair["mean_b"]))
        assert row["v"] == pair["v"]
        assert row["wilcoxon_method"] == pair["method"]
        assert row["p_value"] == pytest.approx(pair["p"], rel=1e-8)
        assert row["p_adjusted"] == pytest.approx(pair["p_adjusted"], rel=1e-8)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(pair["boot_ci"], abs=BOOT_TOL)
        assert row["ci_low"] <= row["statistic"] <= row["ci_high"]


@pytest.mark.parametrize("domain", ["clarity", "correctness"])
def test_friedman_wilcoxon_holm_and_bootstrap_match_r_with_runs_averaged(domain: str) -> None:
    fr = friedman_test(LIKERT).set_index("group")
    pairs = paired_comparisons(LIKERT, n_boot=20000, seed=1)
    _check(fr.loc[domain], pairs[pairs["group"] == domain], REF["domains"][domain])


def test_exact_signed_rank_p_without_ties_matches_r() -> None:
    fr = friedman_test(EXACT, by=None).iloc[0]
    pairs = paired_comparisons(EXACT, by=None, n_boot=20000, seed=2)
    assert set(pairs["wilcoxon_method"]) == {"exact"}
    _check(fr, pairs, REF["exact"])


def test_order_sets_the_pairs_and_the_sign() -> None:
    pairs = paired_comparisons(EXACT, by=None, order=["C", "B", "A"], n_boot=200)
    assert list(zip(pairs["source_a"], pairs["source_b"], strict=True)) == [
        ("C", "B"), ("C", "A"), ("B", "A"),
    ]  # fmt: skip
    ref = {(p["source_a"], p["source_b"]): p for p in REF["exact"]["pairs"]}
    assert pairs["statistic"].iloc[1] == pytest.approx(-ref["A", "C"]["mean_diff"])
    assert list(pairs.columns) == list(PAIRED_COLUMNS)


def test_the_bootstrap_is_seeded_and_two_way() -> None:
    a = paired_comparisons(LIKERT, n_boot=500, seed=3)
    b = paired_comparisons(LIKERT, n_boot=500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    # The two-way bootstrap needs two raters and two cases; with one it gives no CI.
    one_rater = LIKERT.assign(rater_id="all")
    pooled = paired_comparisons(one_rater, n_boot=500, seed=3)
    assert pooled["note"].str.contains("fewer than 2 raters").all()
    assert pooled["ci_low"].isna().all()


def test_degenerate_data_give_notes_not_numbers() -> None:
    flat = EXACT.assign(score=3.0)
    fr = friedman_test(flat, by=None).iloc[0]
    assert np.isnan(fr["statistic"]) and "0/0" in fr["note"]
    pairs = paired_comparisons(flat, by=None, n_boot=200)
    assert pairs["p_value"].isna().all()
    assert pairs["note"].str.contains("every paired difference is zero").all()
    assert (pairs["ci_low"] == 0).all() and (pairs["ci_high"] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replicates": "raise"}, "replicates='mean'"),
        ({"replicates": "median"}, "replicates: expected"),
        ({"n_boot": 10}, "n_boot"),
        ({"confidence": 1.5}, "confidence"),
        ({"p_adjust": "sidak"}, "p_adjust"),
        ({"order": ["A", "B"]}, "order: source(s) ['C', 'D']"),
        ({"rater": "judge"}, "rater='judge'"),
        ({"high": 4}, "score='score'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        paired_comparisons(LIKERT, **kwargs)


def test_a_single_source_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 2 sources"):
        friedman_test(LIKERT[LIKERT["reader_id"] == "A"])
