"""analysis.stats.judgments against R (tests/stats/r/judgments_reference.R) and its edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import judgments
from analysis.stats.agreement import krippendorff_alpha
from analysis.stats.judgments import (
    acceptability_paired,
    acceptability_summary,
    bradley_terry,
    error_summary,
    judgment_agreement,
    newcombe_paired_ci,
    preference_summary,
)

HERE = Path(__file__).parent
REF = json.loads((HERE / "r" / "judgments_reference.json").read_text())
PREF = pd.read_csv(HERE / "data" / "judgments_preferences.csv")
ACC = pd.read_csv(HERE / "data" / "judgments_acceptability.csv")
ERR = pd.read_csv(HERE / "data" / "judgments_errors.csv")
TOL = 1e-9


# ---------------------------------------------------------------- preference


@pytest.mark.parametrize("confidence", [0.95, 0.90])
def test_preference_summary_matches_r_prop_test_and_binom_test(confidence: float) -> None:
    out = preference_summary(PREF, confidence=confidence, n_boot=0).set_index(
        ["reader", "comparator"]
    )
    for ref in REF["preference"]:
        row = out.loc[(ref["reader"], ref["comparator"])]
        assert (row["n"], row["wins"], row["ties"], row["losses"]) == (
            ref["n"],
            ref["wins"],
            ref["ties"],
            ref["losses"],
        )
        assert row["statistic"] == pytest.approx(ref["estimate"], abs=TOL)
        assert row["at_least_as_good"] == row["statistic"]
        low, high = ref[f"wilson_{confidence}"]
        assert row["ci_low"] == pytest.approx(low, abs=TOL)
        assert row["ci_high"] == pytest.approx(high, abs=TOL)
        assert row["sign_test_p"] == pytest.approx(ref["sign_test_p"], rel=1e-8)
        assert row["p_value"] == row["sign_test_p"]
        assert row["left_n"] == ref["left_n"]
        assert row["left_chosen"] == pytest.approx(ref["left_chosen"], abs=TOL)
        assert row["left_bias_p"] == pytest.approx(ref["left_bias_p"], rel=1e-8)


def test_preference_reproduces_mira_at_least_as_good_with_r_wilson_ci() -> None:
    # MIRA (seed 001): "at least as good" in 1,657 of 2,400 comparisons (69.0%)
    ref = REF["mira"]
    choice = ["a"] * 1200 + ["tie"] * (ref["k"] - 1200) + ["b"] * (ref["n"] - ref["k"])
    df = pd.DataFrame(
        {
            "rater_id": [f"r{i % 24}" for i in range(ref["n"])],
            "case_id": range(ref["n"]),
            "reader": "model",
            "comparator": "reference",
            "choice": choice,
        }
    )
    row = preference_summary(df, n_boot=0).iloc[0]
    assert round(row["statistic"], 3) == 0.690
    assert row["ci_low"] == pytest.approx(ref["wilson"][0], abs=1e-12)
    assert row["ci_high"] == pytest.approx(ref["wilson"][1], abs=1e-12)


def test_preference_without_left_column_has_nan_position_bias() -> None:
    out = preference_summary(PREF.drop(columns="left"), n_boot=0)
    assert out["left_chosen"].isna().all() and out["left_bias_p"].isna().all()
    assert out["note"].str.contains("no position-bias test").all()
    assert (out["left_n"] == 0).all()


def test_preference_all_ties_gives_nan_sign_test_and_says_so() -> None:
    df = PREF.head(10).assign(choice="tie")
    out = preference_summary(df, n_boot=0)
    assert np.isnan(out["sign_test_p"].iloc[0])
    assert "every comparison is a tie" in out["note"].iloc[0]
    assert out["statistic"].iloc[0] == 1.0 and out["ci_high"].iloc[0] == 1.0


def test_preference_rejects_an_unknown_choice() -> None:
    df = PREF.copy()
    df.loc[3, "choice"] = "left"
    with pytest.raises(ValueError, match="choice"):
        preference_summary(df, n_boot=0)


def test_preference_rejects_a_reader_compared_with_itself() -> None:
    df = PREF.copy()
    df.loc[0, "comparator"] = df.loc[0, "reader"]
    with pytest.raises(ValueError, match="comparator"):
        preference_summary(df, n_boot=0)


def test_preference_rejects_a_bad_left_value() -> None:
    df = PREF.copy()
    df.loc[0, "left"] = "right"
    with pytest.raises(ValueError, match="left"):
        preference_summary(df, n_boot=0)


def test_preference_rejects_a_missing_column_and_negative_n_boot() -> None:
    with pytest.raises(ValueError, match="choice"):
        preference_summary(PREF.drop(columns="choice"))
    with pytest.raises(ValueError, match="n_boot"):
        preference_summary(PREF, n_boot=-1)


def test_clustered_ci_is_seeded_and_inside_zero_one() -> None:
    one = preference_summary(PREF, n_boot=300, seed=5)
    two = preference_summary(PREF, n_boot=300, seed=5)
    pd.testing.assert_frame_equal(one, two)
    assert ((one["clustered_ci_low"] >= 0) & (one["clustered_ci_high"] <= 1)).all()
    assert (one["clustered_ci_low"] <= one["statistic"]).all()
    assert (one["statistic"] <= one["clustered_ci_high"]).all()


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_clustered_ci_agrees_with_an_independent_r_pigeonhole_bootstrap(confidence: float) -> None:
    # same scheme, different random numbers: 20,000 resamples each, agreement within
    # Monte Carlo error (the R bootstrap SD of the statistic is about 0.05)
    ref = REF["pigeonhole"]
    out = preference_summary(PREF, n_boot=ref["n_boot"], seed=1, confidence=confidence)
    row = out.set_index(["reader", "comparator"]).loc[(ref["reader"], ref["comparator"])]
    low, high = ref[f"q_{confidence:g}"]
    assert row["clustered_ci_low"] == pytest.approx(low, abs=0.01)
    assert row["clustered_ci_high"] == pytest.approx(high, abs=0.01)


def _clustered_sample(rng: np.random.Generator, n_raters: int, n_cases: int) -> pd.DataFrame:
    """Binary 'at least as good' outcomes with strong rater and case effects (true p = 0.5)."""
    r_eff = rng.normal(0, 1.5, n_raters)
    c_eff = rng.normal(0, 1.5, n_cases)
    eta = r_eff[:, None] + c_eff[None, :]
    ok = rng.random((n_raters, n_cases)) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame(
        {
            "rater_id": np.repeat(np.arange(n_raters), n_cases),
            "case_id": np.tile(np.arange(n_cases), n_raters),
            "reader": "m",
            "comparator": "ref",
            "choice": np.where(ok.ravel(), "a", "b"),
        }
    )


def test_clustered_ci_is_wider_than_wilson_under_strong_clustering() -> None:
    df = _clustered_sample(np.random.default_rng(3), 8, 40)
    row = preference_summary(df, n_boot=1000, seed=1).iloc[0]
    wilson = row["ci_high"] - row["ci_low"]
    clustered = row["clustered_ci_high"] - row["clustered_ci_low"]
    assert clustered > 1.5 * wilson


def test_clustered_ci_covers_the_truth_where_wilson_does_not() -> None:
    # the true marginal P(ok) is 0.5 by symmetry of the logistic random effects
    rng = np.random.default_rng(11)
    hits_clustered = hits_wilson = 0
    sims = 120
    for _ in range(sims):
        row = preference_summary(_clustered_sample(rng, 8, 30), n_boot=300, seed=None).iloc[0]
        hits_clustered += row["clustered_ci_low"] <= 0.5 <= row["clustered_ci_high"]
        hits_wilson += row["ci_low"] <= 0.5 <= row["ci_high"]
    assert hits_clustered / sims >= 0.85
    assert hits_wilson / sims <= 0.6


# ---------------------------------------------------------------- Bradley-Terry


@pytest.mark.parametrize("reference", ["reference", "m1"])
def test_bradley_terry_matches_r_glm_with_ties_split_half(reference: str) -> None:
    ref = REF["bradley_terry"][reference]
    out = bradley_terry(PREF, reference=reference).set_index("source")
    assert out.loc[reference, "statistic"] == 0.0 and np.isnan(out.loc[reference, "ci_low"])
    for i, source in enumerate(ref["source"]):
        row = out.loc[source]
        assert row["statistic"] == pytest.approx(ref["estimate"][i], abs=1e-8)
        assert row["se"] == pytest.approx(ref["se"][i], abs=1e-8)
        assert row["ci_low"] == pytest.approx(ref["ci_low"][i], abs=1e-8)
        assert row["ci_high"] == pytest.approx(ref["ci_high"][i], abs=1e-8)
        assert row["p_value"] == pytest.approx(ref["p_value"][i], rel=1e-6)


def test_bradley_terry_ranks_strongest_first() -> None:
    out = bradley_terry(PREF, reference="reference")
    assert list(out["source"]) == ["m1", "m2", "reference"]
    assert list(out["rank"]) == [1, 2, 3]


def test_bradley_terry_needs_three_sources() -> None:
    df = PREF[(PREF["reader"] == "m1") & (PREF["comparator"] == "reference")]
    with pytest.raises(ValueError, match="three sources"):
        bradley_terry(df)


def test_bradley_terry_rejects_a_disconnected_graph() -> None:
    df = pd.DataFrame(
        {
            "reader": ["x", "x", "y", "p", "p"],
            "comparator": ["y", "y", "x", "q", "q"],
            "choice": ["a", "b", "tie", "a", "b"],
        }
    )
    with pytest.raises(ValueError, match="connected"):
        bradley_terry(df)


def test_bradley_terry_rejects_a_source_that_always_wins() -> None:
    df = pd.DataFrame(
        {
            "reader": ["x"] * 4 + ["y"] * 4,
            "comparator": ["y"] * 4 + ["z"] * 4,
            "choice": ["a"] * 4 + ["a", "b", "tie", "a"],
        }
    )
    with pytest.raises(ValueError, match="do not exist"):
        bradley_terry(df)


def test_bradley_terry_rejects_an_unknown_reference() -> None:
    with pytest.raises(ValueError, match="reference"):
        bradley_terry(PREF, reference="nobody")


# ---------------------------------------------------------------- acceptability


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_acceptability_summary_matches_r_binom_test(confidence: float) -> None:
    out = acceptability_summary(ACC, confidence=confidence, n_boot=0).set_index("reader")
    for reader, ref in REF["acceptability"].items():
        row = out.loc[reader]
        assert (row["n"], row["acceptable"]) == (ref["n"], ref["acceptable"])
        assert row["statistic"] == pytest.approx(ref["rate"], abs=TOL)
        low, high = ref[f"exact_{confidence:g}"]
        assert row["ci_low"] == pytest.approx(low, abs=1e-9)
        assert row["ci_high"] == pytest.approx(high, abs=1e-9)


def test_acceptability_clustered_ci_lies_in_zero_one_and_around_the_rate() -> None:
    out = acceptability_summary(ACC, n_boot=500, seed=2)
    assert ((out["clustered_ci_low"] >= 0) & (out["clustered_ci_high"] <= 1)).all()
    assert (out["clustered_ci_low"] <= out["rate"]).all()
    assert (out["rate"] <= out["clustered_ci_high"]).all()


def test_a_single_rater_clustered_ci_is_a_case_bootstrap_and_says_so() -> None:
    out = acceptability_summary(ACC[ACC["rater_id"] == "r1"], n_boot=200)
    assert out["note"].str.contains("one rater").all()
    assert (out["clustered_ci_high"] > out["clustered_ci_low"]).all()
    assert "no clustered CI" in preference_summary(PREF, n_boot=0)["note"].iloc[0]


def test_acceptability_cutoff_moves_the_rate() -> None:
    strict = acceptability_summary(ACC, cutoff="acceptable without changes", n_boot=0)
    lenient = acceptability_summary(ACC, cutoff="major edits needed", n_boot=0)
    default = acceptability_summary(ACC, n_boot=0)
    assert (strict["rate"] < default["rate"]).all() and (default["rate"] < lenient["rate"]).all()


def test_acceptability_rejects_a_grade_off_the_scale_and_a_bad_cutoff() -> None:
    df = ACC.copy()
    df.loc[0, "grade"] = "fine"
    with pytest.raises(ValueError, match="grade"):
        acceptability_summary(df, n_boot=0)
    with pytest.raises(ValueError, match="cutoff"):
        acceptability_summary(ACC, cutoff="fine", n_boot=0)


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_acceptability_paired_matches_r_mcnemar_and_newcombe(confidence: float) -> None:
    ref = REF["paired"]
    row = acceptability_paired(ACC, reader="m1", confidence=confidence).iloc[0]
    assert (row["n"], row["n_no_majority"]) == (ref["n"], ref["n_no_majority"])
    counts = (row["both"], row["reader_only"], row["reference_only"], row["neither"])
    assert counts == (ref["a"], ref["b"], ref["c"], ref["d"])
    assert row["rate_reader"] == pytest.approx(ref["rate_m1"], abs=TOL)
    assert row["rate_reference"] == pytest.approx(ref["rate_reference"], abs=TOL)
    diff, low, high = ref[f"newcombe_{confidence:g}"]
    assert row["statistic"] == pytest.approx(diff, abs=TOL)
    assert row["ci_low"] == pytest.approx(low, abs=1e-9)
    assert row["ci_high"] == pytest.approx(high, abs=1e-9)
    assert row["p_value"] == pytest.approx(ref["exact_p"], rel=1e-9)
    assert row["mcnemar_statistic"] == pytest.approx(ref["mcnemar_statistic"], rel=1e-9)
    assert row["mcnemar_p"] == pytest.approx(ref["mcnemar_p"], rel=1e-9)


@pytest.mark.parametrize("case", REF["newcombe_grid"], ids=lambda c: str(c["table"]))
def test_newcombe_paired_ci_matches_the_r_implementation(case: dict) -> None:
    got = newcombe_paired_ci(*[int(v) for v in case["table"]])
    np.testing.assert_allclose(got, case["ci"], atol=1e-9)
    assert -1 <= got[1] <= got[0] <= got[2] <= 1


def test_newcombe_rejects_an_empty_table() -> None:
    with pytest.raises(ValueError, match="empty"):
        newcombe_paired_ci(0, 0, 0, 0)


def test_acceptability_paired_rejects_unknown_reader_and_no_shared_case() -> None:
    with pytest.raises(ValueError, match="reader"):
        acceptability_paired(ACC, reader="nobody")
    only = ACC[~((ACC["reader_id"] == "reference") & ACC["case_id"].isin(["c01", "c02"]))]
    only = only[only["case_id"].isin(["c01", "c02"]) | (only["reader_id"] == "reference")]
    only = only[~((only["reader_id"] == "m1") & ~only["case_id"].isin(["c01", "c02"]))]
    with pytest.raises(ValueError, match="no case is rated for both"):
        acceptability_paired(only, reader="m1")


# ---------------------------------------------------------------- errors


def test_error_summary_matches_r() -> None:
    out = error_summary(ERR).set_index("reader")
    for reader, ref in REF["errors"].items():
        row = out.loc[reader]
        assert row["n_reports"] == ref["n_reports"]
        assert row["reports_with_error"] == ref["reports_with_error"]
        assert row["ci_low"] == pytest.approx(ref["exact"][0], abs=1e-9)
        assert row["ci_high"] == pytest.approx(ref["exact"][1], abs=1e-9)
        assert row["errors_per_report"] == pytest.approx(ref["errors_per_report"], abs=TOL)
        assert row["significant_per_report"] == pytest.approx(
            ref["significant_per_report"], abs=TOL
        )
        assert row["by_category"] == ref["by_category"]


def test_error_summary_rejects_a_report_with_none_and_an_error() -> None:
    df = pd.concat([ERR, ERR[ERR["category"] != "none"].head(1)])
    first_none = ERR[ERR["category"] == "none"].iloc[0]
    extra = first_none.copy()
    extra["category"], extra["significant"] = "other", 1
    df = pd.concat([ERR, extra.to_frame().T], ignore_index=True)
    with pytest.raises(ValueError, match="both a 'none' row and an error row"):
        error_summary(df)


def test_error_summary_rejects_missing_significance_on_an_error_row() -> None:
    df = ERR.copy()
    df.loc[df.index[df["category"] != "none"][0], "significant"] = np.nan
    with pytest.raises(ValueError, match="significant"):
        error_summary(df)


def test_error_summary_counts_runs_as_separate_reports() -> None:
    twice = pd.concat([ERR.assign(run=1), ERR.assign(run=2)])
    out = error_summary(twice, run="run").set_index("reader")
    assert out.loc["m1", "n_reports"] == 2 * REF["errors"]["m1"]["n_reports"]
    assert out.loc["m1", "errors_per_report"] == pytest.approx(
        REF["errors"]["m1"]["errors_per_report"]
    )


# ---------------------------------------------------------------- agreement


@pytest.mark.parametrize("instrument", ["preference", "acceptability", "errors"])
def test_judgment_agreement_matches_r_kripp_alpha(instrument: str) -> None:
    df = {"preference": PREF, "acceptability": ACC, "errors": ERR}[instrument]
    reader = "reader" if instrument == "preference" else "reader_id"
    out = judgment_agreement(df, instrument=instrument, reader=reader)  # type: ignore[arg-type]
    assert out["instrument"].iloc[0] == instrument
    assert out["statistic"].iloc[0] == pytest.approx(REF["agreement"][instrument], abs=1e-9)


def test_judgment_agreement_is_krippendorff_alpha_of_the_reshaped_matrix() -> None:
    df = ACC.assign(score=ACC["grade"].map({g: i for i, g in enumerate(judgments.DEFAULT_SCALE)}))
    direct = krippendorff_alpha(df, unit=["case_id", "reader_id"], level="ordinal", n_boot=0)
    out = judgment_agreement(ACC, instrument="acceptability")
    assert out["statistic"].iloc[0] == pytest.approx(direct["statistic"].iloc[0], abs=1e-12)


def test_judgment_agreement_bootstrap_ci_inside_minus_one_one() -> None:
    out = judgment_agreement(ACC, instrument="acceptability", n_boot=200)
    assert -1 <= out["ci_low"].iloc[0] <= out["statistic"].iloc[0] <= out["ci_high"].iloc[0] <= 1


def test_judgment_agreement_rejects_one_rater_and_unknown_instrument() -> None:
    with pytest.raises(ValueError, match="two raters"):
        judgment_agreement(ACC[ACC["rater_id"] == "r1"], instrument="acceptability")
    with pytest.raises(ValueError, match="instrument"):
        judgment_agreement(ACC, instrument="likert")  # type: ignore[arg-type]


def test_irr_complete_matrix_quirk_is_why_the_reference_adds_an_empty_unit() -> None:
    # docs/statistics.md, known differences: irr's kripp.alpha divides by 1, not m_u - 1,
    # on a complete matrix; the reference values therefore come from irr's general path
    quirk = REF["agreement"]["irr_complete_matrix"]["preference"]
    assert abs(quirk - REF["agreement"]["preference"]) > 5e-4
