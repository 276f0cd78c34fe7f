"""Tests of analysis.stats.accuracy against R (tests/stats/r/accuracy_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.accuracy import (
    MEASURES,
    accuracy_summaries,
    accuracy_summary,
    newcombe_paired_ci,
    paired_accuracy_difference,
    tango_paired_ci,
)
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("accuracy_reference")


@pytest.mark.parametrize("row", REF["epi_tests"], ids=lambda r: f"{r['method']}-{r['confidence']}")
def test_accuracy_summaries_match_epir_epi_tests(row: dict) -> None:
    got = accuracy_summaries(
        row["tp"],
        row["fp"],
        row["fn"],
        row["tn"],
        confidence=row["confidence"],
        method=row["method"],
    ).set_index("measure")
    for measure in MEASURES:
        assert_close(got.loc[measure, ["statistic", "ci_low", "ci_high"]], row[measure])


def test_accuracy_summaries_are_vectorised_in_table_order() -> None:
    rows = [r for r in REF["epi_tests"] if r["method"] == "exact" and r["confidence"] == 0.95]
    got = accuracy_summaries(*(np.array([r[k] for r in rows]) for k in ("tp", "fp", "fn", "tn")))
    assert got["table"].tolist() == [i for i in range(len(rows)) for _ in MEASURES]
    dor = got[got["measure"] == "diagnostic_odds_ratio"]["statistic"]
    assert_close(dor, [r["diagnostic_odds_ratio"][0] for r in rows])


def test_accuracy_summary_per_reader_matches_epi_tests_of_reader_a() -> None:
    df = pd.DataFrame(REF["readings"])
    got = accuracy_summary(df, threshold=REF["threshold"])
    assert sorted(got["reader"].unique()) == ["A", "B"]
    a = got[got["reader"] == "A"].set_index("measure")
    for measure in MEASURES:
        assert_close(
            a.loc[measure, ["statistic", "ci_low", "ci_high"]], REF["reader_a_epi"][measure]
        )


def test_a_perfect_specificity_gives_nan_lr_positive_and_dor_not_infinity() -> None:
    got = accuracy_summaries(10, 0, 2, 8).set_index("measure")
    cols = ["statistic", "ci_low", "ci_high"]
    assert got.loc[["lr_positive", "diagnostic_odds_ratio"], cols].isna().all(axis=None)
    assert got.loc["lr_negative", "statistic"] == pytest.approx(2 / 12)
    assert got.loc["youden_j", "statistic"] == pytest.approx(10 / 12)


def test_a_perfect_sensitivity_gives_lr_negative_zero_without_interval() -> None:
    got = accuracy_summaries(10, 2, 0, 8).set_index("measure")
    assert got.loc["lr_negative", "statistic"] == 0.0
    assert np.isnan(got.loc["lr_negative", "ci_low"]) and np.isnan(
        got.loc["lr_negative", "ci_high"]
    )


def test_accuracy_summaries_reject_tables_without_diseased_or_healthy_cases() -> None:
    with pytest.raises(ValueError, match="tp"):
        accuracy_summaries(0, 3, 0, 5)
    with pytest.raises(ValueError, match="tn"):
        accuracy_summaries(3, 0, 2, 0)


def test_accuracy_summaries_reject_negative_or_fractional_counts() -> None:
    with pytest.raises(ValueError, match="fp"):
        accuracy_summaries(3, -1, 2, 4)
    with pytest.raises(ValueError, match="fn"):
        accuracy_summaries(3, 1, 2.5, 4)


def test_accuracy_summaries_reject_a_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        accuracy_summaries(3, 1, 2, 4, confidence=95)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=200), min_size=4, max_size=4))
def test_accuracy_intervals_contain_their_estimate(cells: list[int]) -> None:
    got = accuracy_summaries(*cells)
    assert (got["ci_low"] <= got["statistic"] + 1e-12).all()
    assert (got["statistic"] <= got["ci_high"] + 1e-12).all()
    j = got[got["measure"] == "youden_j"].iloc[0]
    assert j["ci_low"] >= -1.0 and j["ci_high"] <= 1.0


# --------------------------------------------------------------------------------------
# paired differences
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", REF["paired"], ids=lambda r: str(r["confidence"]))
def test_newcombe_paired_ci_matches_the_independent_r_version_and_mcnemar(row: dict) -> None:
    got = newcombe_paired_ci(
        row["both"], row["only_a"], row["only_b"], row["neither"], confidence=row["confidence"]
    ).iloc[0]
    assert_close(got[["statistic", "ci_low", "ci_high"]], row["newcombe"])
    assert_close(got["mcnemar_statistic"], row["mcnemar_statistic"])
    assert_close(got["p_value"], row["p_value"])


def test_newcombe_paired_ci_reproduces_the_cavo_example() -> None:
    # Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, ch. 8:
    # Cavo et al. (2012), table (59, 6, 16, 80): -0.0621 (95% CI -0.1186 to -0.0046), as
    # printed by their R package contingencytables (tests/testthat/test-ch8.R).
    got = newcombe_paired_ci(59, 6, 16, 80).iloc[0]
    assert got["statistic"] == pytest.approx(-0.0621, abs=5e-5)
    assert got["ci_low"] == pytest.approx(-0.1186, abs=5e-5)
    assert got["ci_high"] == pytest.approx(-0.0046, abs=5e-5)


def test_newcombe_paired_ci_rejects_an_empty_table() -> None:
    with pytest.raises(ValueError, match="both"):
        newcombe_paired_ci(0, 0, 0, 0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=4, max_size=4))
def test_newcombe_interval_lies_in_minus_one_one_and_contains_the_difference(
    cells: list[int],
) -> None:
    if sum(cells) == 0:
        return
    got = newcombe_paired_ci(*cells).iloc[0]
    assert -1.0 <= got["ci_low"] <= got["statistic"] + 1e-12
    assert got["statistic"] <= got["ci_high"] + 1e-12 <= 1.0 + 1e-12
    assert 0.0 <= got["p_value"] <= 1.0


def test_paired_accuracy_difference_matches_r_on_two_readers() -> None:
    df = pd.DataFrame(REF["readings"])
    got = paired_accuracy_difference(df, reader_a="A", reader_b="B", threshold=REF["threshold"])
    assert got["metric"].tolist() == ["sensitivity", "specificity"]
    for _, row in got.iterrows():
        ref = REF["readers"][row["metric"]]
        assert (row["b"], row["c"]) == (ref["only_a"], ref["only_b"])
        assert row["n"] == ref["both"] + ref["only_a"] + ref["only_b"] + ref["neither"]
        assert_close(row[["statistic", "ci_low", "ci_high"]], ref["newcombe"])
        assert_close(row["p_value"], ref["p_value"])


def test_paired_accuracy_difference_rejects_an_unknown_reader() -> None:
    df = pd.DataFrame(REF["readings"])
    with pytest.raises(ValueError, match="reader"):
        paired_accuracy_difference(df, reader_a="A", reader_b="Z")


@pytest.mark.parametrize("row", REF["paired"], ids=lambda r: str(r["confidence"]))
def test_tango_paired_ci_matches_the_numerical_r_version(row: dict) -> None:
    got = tango_paired_ci(
        row["both"], row["only_a"], row["only_b"], row["neither"], confidence=row["confidence"]
    ).iloc[0]
    assert_close(got[["statistic", "ci_low", "ci_high"]], row["tango"])
    assert_close(got["p_value"], row["p_value"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=4, max_size=4))
def test_tango_interval_lies_in_minus_one_one_and_excludes_zero_iff_mcnemar_rejects(
    cells: list[int],
) -> None:
    if sum(cells) == 0:
        return
    got = tango_paired_ci(*cells).iloc[0]
    assert -1.0 <= got["ci_low"] <= got["statistic"] + 1e-12
    assert got["statistic"] <= got["ci_high"] + 1e-12 <= 1.0 + 1e-12
    # Tango's score test at 0 is McNemar's: the interval and the test agree
    if abs(got["p_value"] - 0.05) > 1e-6:
        excludes = got["ci_low"] > 0 or got["ci_high"] < 0
        assert excludes == (got["p_value"] < 0.05)


def test_paired_accuracy_difference_with_tango_matches_r() -> None:
    df = pd.DataFrame(REF["readings"])
    got = paired_accuracy_difference(
        df, reader_a="A", reader_b="B", threshold=REF["threshold"], method="tango"
    )
    for _, row in got.iterrows():
        assert_close(
            row[["statistic", "ci_low", "ci_high"]], REF["readers"][row["metric"]]["tango"]
        )


def test_paired_accuracy_difference_rejects_an_unknown_method() -> None:
    df = pd.DataFrame(REF["readings"])
    with pytest.raises(ValueError, match="method"):
        paired_accuracy_difference(df, reader_a="A", reader_b="B", method="wald")  # type: ignore[arg-type]
