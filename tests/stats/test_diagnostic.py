"""Tests of analysis.stats.diagnostic against R (tests/stats/r/diagnostic_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.diagnostic import (
    attribute_by_truth,
    confusion_counts,
    diagnostic_performance,
    fisher_exact_2xc,
    mcnemar_counts,
    mcnemar_test,
    proportion_ci,
)
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("diagnostic_reference")


def _frame(dataset: dict) -> pd.DataFrame:
    return pd.DataFrame(dataset["data"])


# --------------------------------------------------------------------------------------
# binomial intervals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "wilson"])
def test_proportion_ci_matches_r_binom_test_and_prop_test(method: str) -> None:
    for conf in (0.95, 0.90):
        rows = [r for r in REF["binom"] if r["confidence"] == conf]
        k = np.array([r["k"] for r in rows])
        n = np.array([r["n"] for r in rows])
        got = proportion_ci(k, n, confidence=conf, method=method)
        assert_close(got["statistic"], [r["estimate"] for r in rows])
        assert_close(got["ci_low"], [r[method][0] for r in rows])
        assert_close(got["ci_high"], [r[method][1] for r in rows])


def test_proportion_ci_of_zero_trials_is_nan() -> None:
    got = proportion_ci(0, 0)
    assert got[["statistic", "ci_low", "ci_high"]].isna().all(axis=None)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=300).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    st.sampled_from(["exact", "wilson"]),
)
def test_proportion_ci_contains_the_estimate(kn: tuple[int, int], method: str) -> None:
    k, n = kn
    got = proportion_ci(k, n, method=method).iloc[0]
    assert 0.0 <= got["ci_low"] <= got["statistic"] <= got["ci_high"] <= 1.0


def test_proportion_ci_rejects_successes_above_trials() -> None:
    with pytest.raises(ValueError, match="successes"):
        proportion_ci(5, 4)


def test_proportion_ci_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="method"):
        proportion_ci(1, 4, method="agresti")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# diagnostic performance
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", REF["readings"], ids=lambda d: d["name"])
@pytest.mark.parametrize("method", ["exact", "wilson"])
def test_diagnostic_performance_matches_r(dataset: dict, method: str) -> None:
    got = diagnostic_performance(
        _frame(dataset), threshold=dataset["threshold"], method=method
    ).set_index("reader")
    assert sorted(got.index) == sorted(dataset["readers"])
    for reader, ref in dataset["readers"].items():
        row = got.loc[reader]
        for cell in ("tp", "fp", "tn", "fn"):
            assert row[cell] == ref[cell]
        assert row["n"] == ref["tp"] + ref["fp"] + ref["tn"] + ref["fn"]
        for metric in ("sensitivity", "specificity", "accuracy", "ppv", "npv"):
            assert_close(row[metric], ref[metric]["estimate"])
            assert_close([row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]], ref[metric][method])


def test_diagnostic_performance_has_fixed_columns() -> None:
    got = diagnostic_performance(_frame(REF["readings"][0]))
    metrics = ["sensitivity", "specificity", "accuracy", "ppv", "npv"]
    expected = ["reader", "n", "tp", "fp", "tn", "fn"]
    for m in metrics:
        expected += [m, f"{m}_ci_low", f"{m}_ci_high"]
    assert list(got.columns) == expected


def test_undefined_metrics_are_nan_for_a_reader_who_never_calls_positive() -> None:
    got = diagnostic_performance(_frame(REF["readings"][0])).set_index("reader")
    never = got.loc["never"]
    assert never["sensitivity"] == 0.0
    assert np.isnan(never["ppv"]) and np.isnan(never["ppv_ci_low"])
    assert np.isnan(got.loc["constant", "npv"])


def test_threshold_defines_the_positive_call() -> None:
    df = pd.DataFrame(
        {
            "reader_id": "R1",
            "case_id": ["a", "b", "c", "d"],
            "truth": [1, 1, 0, 0],
            "category": [4, 3, 4, 2],
        }
    )
    at4 = confusion_counts(df, threshold=4).iloc[0]
    assert (at4["tp"], at4["fn"], at4["fp"], at4["tn"]) == (1, 1, 1, 1)
    at3 = confusion_counts(df, threshold=3).iloc[0]
    assert (at3["tp"], at3["fn"], at3["fp"], at3["tn"]) == (2, 0, 1, 1)


def test_custom_column_names_are_used() -> None:
    df = pd.DataFrame({"who": "R1", "id": [1, 2], "gt": [1, 0], "birads": [5, 2]})
    got = confusion_counts(df, reader="who", case="id", truth="gt", category="birads")
    assert got.iloc[0][["tp", "tn"]].tolist() == [1, 1]


def test_it_rejects_nan_with_nan_policy_raise_and_omits_on_request() -> None:
    df = pd.DataFrame(
        {"reader_id": "R1", "case_id": [1, 2, 3], "truth": [1, 0, 1], "category": [5, np.nan, 2]}
    )
    with pytest.raises(ValueError, match="category"):
        diagnostic_performance(df)
    got = diagnostic_performance(df, nan_policy="omit").iloc[0]
    assert got["n"] == 2


def test_it_rejects_non_binary_truth() -> None:
    df = pd.DataFrame({"reader_id": "R1", "case_id": [1, 2], "truth": [1, 2], "category": [5, 2]})
    with pytest.raises(ValueError, match="truth"):
        diagnostic_performance(df)


def test_it_rejects_repeated_reader_case_rows() -> None:
    df = pd.DataFrame({"reader_id": "R1", "case_id": [1, 1], "truth": [1, 1], "category": [5, 2]})
    with pytest.raises(ValueError, match="case"):
        diagnostic_performance(df)


def test_it_rejects_a_case_with_two_truths() -> None:
    df = pd.DataFrame(
        {"reader_id": ["R1", "R2"], "case_id": [1, 1], "truth": [1, 0], "category": [5, 2]}
    )
    with pytest.raises(ValueError, match="truth"):
        diagnostic_performance(df)


def test_it_rejects_a_missing_column() -> None:
    df = pd.DataFrame({"reader_id": "R1", "case_id": [1], "truth": [1]})
    with pytest.raises(ValueError, match="category"):
        diagnostic_performance(df)


def test_it_rejects_a_non_numeric_category() -> None:
    df = pd.DataFrame({"reader_id": "R1", "case_id": [1], "truth": [1], "category": ["x"]})
    with pytest.raises(ValueError, match="category"):
        diagnostic_performance(df)


# --------------------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", REF["readings"], ids=lambda d: d["name"])
def test_mcnemar_test_matches_r(dataset: dict) -> None:
    df = _frame(dataset)
    for pair in dataset["mcnemar"]:
        got = mcnemar_test(
            df, reader_a=pair["reader_a"], reader_b=pair["reader_b"], threshold=dataset["threshold"]
        ).set_index("metric")
        for metric in ("sensitivity", "specificity"):
            ref, row = pair[metric], got.loc[metric]
            assert (row["b"], row["c"]) == (ref["b"], ref["c"])
            for col, ref_col in (
                ("statistic", "statistic"),
                ("p_value", "p"),
                ("statistic_corrected", "statistic_corrected"),
                ("p_corrected", "p_corrected"),
            ):
                assert_close(row[col], ref[ref_col])
            if ref["p_exact"] is None:  # R's binom.test refuses n = 0; we report 1
                assert ref["b"] + ref["c"] == 0 and row["p_exact"] == 1.0
            else:
                assert_close(row["p_exact"], ref["p_exact"])


def test_mcnemar_difference_is_the_difference_of_the_estimates() -> None:
    df = _frame(REF["readings"][0])
    got = mcnemar_test(df, reader_a="good", reader_b="random")
    perf = diagnostic_performance(df).set_index("reader")
    sens = got.set_index("metric").loc["sensitivity"]
    assert_close(sens["estimate_a"], perf.loc["good", "sensitivity"])
    assert_close(sens["difference"], (sens["b"] - sens["c"]) / sens["n"])


def test_mcnemar_counts_with_no_discordant_pair() -> None:
    got = mcnemar_counts(np.array([0]), np.array([0])).iloc[0]
    assert np.isnan(got["statistic"]) and np.isnan(got["p_corrected"])
    assert got["p_exact"] == 1.0


def test_mcnemar_rejects_readers_with_different_cases() -> None:
    df = pd.DataFrame(
        {
            "reader_id": ["A", "A", "B", "B"],
            "case_id": [1, 2, 1, 3],
            "truth": [1, 0, 1, 1],
            "category": [5, 2, 5, 2],
        }
    )
    with pytest.raises(ValueError, match="reader_b"):
        mcnemar_test(df, reader_a="A", reader_b="B")


def test_mcnemar_rejects_an_unknown_reader() -> None:
    df = _frame(REF["readings"][0])
    with pytest.raises(ValueError, match="reader_b"):
        mcnemar_test(df, reader_a="good", reader_b="nobody")


# --------------------------------------------------------------------------------------
# attribute by truth (Table 3)
# --------------------------------------------------------------------------------------


def _attribute_frame(case: dict) -> pd.DataFrame:
    df = pd.DataFrame(case["data"])
    df["level"] = pd.Categorical(df["level"], categories=case["levels"])
    return df


@pytest.mark.parametrize("case", REF["attributes"], ids=lambda c: c["name"])
def test_attribute_by_truth_matches_r(case: dict) -> None:
    df = _attribute_frame(case)
    chi = attribute_by_truth(df, attribute="level", test="chi-square")
    assert chi["level"].tolist() == case["levels"]
    assert_close(chi["statistic"].iloc[0], case["chisq"]["statistic"])
    assert_close(chi["df"].iloc[0], case["chisq"]["df"])
    assert_close(chi["p_value"].iloc[0], case["chisq"]["p"])
    corrected = attribute_by_truth(df, attribute="level", test="chi-square", correction=True)
    assert_close(corrected["statistic"].iloc[0], case["chisq_corrected"]["statistic"])
    assert_close(corrected["p_value"].iloc[0], case["chisq_corrected"]["p"])
    fisher = attribute_by_truth(df, attribute="level", test="fisher")
    assert fisher["test"].iloc[0] == "fisher"
    assert_close(fisher["p_value"].iloc[0], case["fisher_p"])
    np.testing.assert_allclose(fisher["p_value"].iloc[0], case["fisher_p"], rtol=1e-6)
    # logistic regression: LR test and odds ratios against the first level
    assert_close(chi["lr_statistic"].iloc[0], case["lr"]["statistic"])
    assert_close(chi["lr_df"].iloc[0], case["lr"]["df"])
    np.testing.assert_allclose(chi["lr_p"].iloc[0], case["lr"]["p"], rtol=1e-6)
    others = chi.iloc[1:]
    assert others["level"].tolist() == case["odds_ratio"]["level"]
    assert_close(others["odds_ratio"], case["odds_ratio"]["estimate"])
    assert_close(others["odds_ratio_ci_low"], case["odds_ratio"]["ci_low"])
    assert_close(others["odds_ratio_ci_high"], case["odds_ratio"]["ci_high"])
    assert_close(others["odds_ratio_p"], case["odds_ratio"]["p"])
    assert chi["odds_ratio"].iloc[0] == 1.0


@pytest.mark.parametrize("case", REF["attributes"], ids=lambda c: c["name"])
def test_auto_test_uses_fisher_when_an_expected_count_is_below_five(case: dict) -> None:
    got = attribute_by_truth(_attribute_frame(case), attribute="level")
    small = (np.asarray(case["expected"]) < 5).any()
    assert got["test"].iloc[0] == ("fisher" if small else "chi-square")


def test_table3_counts_and_percentages_are_reproduced() -> None:
    case = next(c for c in REF["attributes"] if c["name"] == "table3_distribution")
    got = attribute_by_truth(_attribute_frame(case), attribute="level")
    # Table 3 of the worked example: Focal 27 (21.26) vs 30 (28.30); Diffuse 5 (3.94) vs 2 (1.89)
    focal = got.set_index("level").loc["Focal"]
    assert (focal["n_positive"], focal["n_negative"]) == (27, 30)
    assert round(focal["percent_positive"], 2) == 21.26
    assert round(focal["percent_negative"], 2) == 28.30
    diffuse = got.set_index("level").loc["Diffuse"]
    assert round(diffuse["percent_positive"], 2) == 3.94
    assert round(diffuse["percent_negative"], 2) == 1.89


def test_reference_level_changes_the_odds_ratios() -> None:
    case = next(c for c in REF["attributes"] if c["name"] == "table3_tic")
    df = _attribute_frame(case)
    base = attribute_by_truth(df, attribute="level").set_index("level")
    other = attribute_by_truth(df, attribute="level", reference="Washout").set_index("level")
    assert other.loc["Washout", "odds_ratio"] == 1.0
    assert_close(
        other.loc["Persistent", "odds_ratio"],
        base.loc["Persistent", "odds_ratio"] / base.loc["Washout", "odds_ratio"],
    )


def test_separated_level_has_nan_odds_ratio() -> None:
    df = pd.DataFrame(
        {
            "case_id": range(8),
            "truth": [1, 1, 1, 0, 0, 0, 1, 0],
            "level": ["a", "a", "b", "b", "b", "c", "c", "a"],
        }
    )
    df.loc[df["level"] == "b", "truth"] = [1, 1, 1]  # level b: only positives
    got = attribute_by_truth(df, attribute="level").set_index("level")
    assert np.isnan(got.loc["b", "odds_ratio"]) and np.isnan(got.loc["b", "odds_ratio_ci_low"])
    assert np.isfinite(got.loc["c", "odds_ratio"])
    assert np.isfinite(got["lr_p"].iloc[0])


def test_attribute_by_truth_rejects_a_single_truth_class() -> None:
    df = pd.DataFrame({"case_id": [1, 2, 3], "truth": [1, 1, 1], "level": ["a", "b", "a"]})
    with pytest.raises(ValueError, match="truth"):
        attribute_by_truth(df, attribute="level")


def test_attribute_by_truth_rejects_a_single_level() -> None:
    df = pd.DataFrame({"case_id": [1, 2, 3], "truth": [1, 0, 1], "level": ["a", "a", "a"]})
    with pytest.raises(ValueError, match="attribute"):
        attribute_by_truth(df, attribute="level")


def test_attribute_by_truth_rejects_an_unknown_reference() -> None:
    df = pd.DataFrame({"case_id": [1, 2, 3, 4], "truth": [1, 0, 1, 0], "level": list("abab")})
    with pytest.raises(ValueError, match="reference"):
        attribute_by_truth(df, attribute="level", reference="z")


def test_attribute_by_truth_rejects_nan_with_nan_policy_raise() -> None:
    df = pd.DataFrame({"case_id": [1, 2, 3], "truth": [1, 0, 1], "level": ["a", None, "b"]})
    with pytest.raises(ValueError, match="level"):
        attribute_by_truth(df, attribute="level")


def test_fisher_exact_2xc_matches_scipy_on_2x2_tables() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    for _ in range(20):
        table = rng.integers(0, 15, size=(2, 2))
        if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
            continue
        p, _ = fisher_exact_2xc(table)
        assert_close(p, stats.fisher_exact(table).pvalue)


def test_fisher_falls_back_to_monte_carlo_for_large_tables() -> None:
    from scipy import stats

    table = np.array([[90, 110, 95, 120, 80, 100, 105, 97], [100, 95, 110, 90, 120, 100, 99, 101]])
    p, method = fisher_exact_2xc(table)
    assert method == "fisher-monte-carlo"
    # with large expected counts the exact test and Pearson's chi-square agree closely
    assert abs(p - stats.chi2_contingency(table).pvalue) < 0.01
    assert fisher_exact_2xc(table) == (p, method)  # seeded
