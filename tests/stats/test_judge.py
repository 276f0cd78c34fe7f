"""analysis.stats.judge against R (tests/stats/r/judge_reference.R) and the scripted judges.

The synthetic study (3 humans, 4 sources, 30 cases, 2 domains) has a faithful judge (scores
like a fourth human), a biased one (the faithful score + 1, capped at 5) and, for pairwise
judgments, a position-biased one (picks the first-shown option 75 % of the time). The tests
check the values against R and that the analysis recovers each scripted behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.agreement import cohen_kappa
from analysis.stats.judge import (
    judge_agreement,
    judge_conclusions,
    judge_position_bias,
    judge_self_consistency,
    judge_within_panel,
)

HERE = Path(__file__).parent
REF = json.loads((HERE / "r" / "judge_reference.json").read_text())
SCORES = pd.read_csv(HERE / "data" / "judge_scores.csv")
PAIRS = pd.read_csv(HERE / "data" / "judge_pairwise.csv")
RUNS = pd.read_csv(HERE / "data" / "judge_runs.csv")
TOL = 1e-9


def _row(out: pd.DataFrame, **where: Any) -> pd.Series:
    mask = np.ones(len(out), dtype=bool)
    for col, value in where.items():
        mask &= (out[col] == value).to_numpy()
    assert mask.sum() == 1, where
    return out[mask].iloc[0]


@pytest.fixture(scope="module")
def agreement() -> dict[str, pd.DataFrame]:
    return {j: judge_agreement(SCORES, judge=j, n_boot=0) for j in ("faithful", "biased")}


# ---------------------------------------------------------------- values against R


def test_weighted_kappa_matches_irr_kappa2_and_vcd_ase(agreement: dict[str, pd.DataFrame]) -> None:
    for ref in REF["agreement"]:
        out = agreement[ref["judge"]]
        row = _row(out, domain=ref["domain"], against=ref["against"], measure="weighted_kappa")
        assert row["n"] == ref["n"]
        assert row["statistic"] == pytest.approx(ref["kappa"], abs=TOL)
        assert row["statistic"] == pytest.approx(ref["kappa_vcd"], abs=TOL)
        assert row["se"] == pytest.approx(ref["kappa_ase"], abs=TOL)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["kappa_ci"], abs=TOL)


def test_alpha_and_icc2_match_irr_and_psych(agreement: dict[str, pd.DataFrame]) -> None:
    for ref in REF["agreement"]:
        out = agreement[ref["judge"]]
        key = {"domain": ref["domain"], "against": ref["against"]}
        alpha = _row(out, **key, measure="krippendorff_alpha")
        assert alpha["statistic"] == pytest.approx(ref["alpha"], abs=TOL)
        row = _row(out, **key, measure="icc")
        assert row["statistic"] == pytest.approx(ref["icc2"], abs=TOL)
        assert row["statistic"] == pytest.approx(ref["irr_icc"], abs=TOL)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["icc2_ci"], abs=1e-8)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["irr_icc_ci"], abs=1e-8)
        assert row["p_value"] == pytest.approx(ref["icc2_p"], rel=1e-6, abs=1e-300)


@pytest.mark.parametrize("cluster", [True, False])
def test_bland_altman_matches_the_r_formulas(cluster: bool) -> None:
    kind = "cluster" if cluster else "naive"
    for judge in ("faithful", "biased"):
        out = judge_agreement(SCORES, judge=judge, n_boot=0, cluster=cluster)
        for ref in REF["agreement"]:
            if ref["judge"] != judge or ref["against"] != "panel":
                continue
            ba = ref["bland_altman"]
            key = {"domain": ref["domain"], "against": "panel"}
            mean = _row(out, **key, measure="mean_difference")
            assert mean["statistic"] == pytest.approx(ba["mean"], abs=TOL)
            assert mean["se"] == pytest.approx(ba[kind]["se"], abs=TOL)
            assert [mean["ci_low"], mean["ci_high"]] == pytest.approx(ba[kind]["mean_ci"], abs=TOL)
            assert mean["p_value"] == pytest.approx(ba[kind]["p_value"], rel=1e-8, abs=1e-300)
            if not cluster:
                assert [mean["ci_low"], mean["ci_high"]] == pytest.approx(ba["t_test_ci"], abs=TOL)
            for side in ("loa_low", "loa_high"):
                limit = _row(out, **key, measure=side)
                assert limit["statistic"] == pytest.approx(ba[side], abs=TOL)
                ci = [limit["ci_low"], limit["ci_high"]]
                assert ci == pytest.approx(ba[kind][f"{side}_ci"], abs=TOL)


def test_leave_one_rater_out_kappas_match_vcd_on_the_half_point_grid() -> None:
    for judge in ("faithful", "biased"):
        out = judge_within_panel(SCORES, judge=judge, n_boot=50)
        for ref in REF["within"]:
            if ref["judge"] != judge:
                continue
            row = _row(out, domain=ref["domain"], human=ref["human"])
            assert row["judge_agreement"] == pytest.approx(ref["judge_agreement"], abs=TOL)
            assert row["human_agreement"] == pytest.approx(ref["human_agreement"], abs=TOL)
            assert row["statistic"] == pytest.approx(ref["difference"], abs=TOL)
        for _dom, sub in out.groupby("domain"):
            humans = sub[sub["human"] != "mean"]
            mean = sub[sub["human"] == "mean"].iloc[0]
            assert mean["statistic"] == pytest.approx(humans["statistic"].mean(), abs=TOL)


def test_position_bias_matches_binom_test_and_prop_test() -> None:
    out = judge_position_bias(PAIRS)
    for ref in REF["position"]:
        bias = _row(out, judge=ref["judge"], measure="position_bias")
        assert (bias["n"], bias["k"]) == (ref["n"], ref["k"])
        assert bias["statistic"] == pytest.approx(ref["rate"], abs=TOL)
        assert bias["p_value"] == pytest.approx(ref["p_value"], rel=1e-8)
        assert [bias["ci_low"], bias["ci_high"]] == pytest.approx(ref["ci"], abs=TOL)
        cons = _row(out, judge=ref["judge"], measure="consistency")
        assert (cons["n"], cons["k"]) == (ref["n_pairs"], ref["consistent"])
        assert cons["statistic"] == pytest.approx(ref["consistency"], abs=TOL)
        assert [cons["ci_low"], cons["ci_high"]] == pytest.approx(ref["consistency_ci"], abs=TOL)


def test_self_consistency_matches_irr_alpha_and_wilson() -> None:
    out = judge_self_consistency(RUNS, n_boot=0)
    for ref in REF["self_consistency"]:
        alpha = _row(out, domain=ref["domain"], measure="krippendorff_alpha")
        assert alpha["n"] == ref["n_units"]
        assert alpha["statistic"] == pytest.approx(ref["alpha"], abs=TOL)
        # irr's own answer on the complete 3-run matrix is off (docs/statistics.md)
        assert abs(alpha["statistic"] - ref["irr_alpha_complete"]) > 1e-5
        exact = _row(out, domain=ref["domain"], measure="exact_agreement")
        assert exact["statistic"] == pytest.approx(ref["exact"], abs=TOL)
        assert [exact["ci_low"], exact["ci_high"]] == pytest.approx(ref["exact_ci"], abs=TOL)


def test_conclusions_match_kendall_cor_test_and_dunn_test() -> None:
    for ref in REF["conclusions"]:
        out = judge_conclusions(SCORES, judge=ref["judge"], n_boot=50)
        out = out[out["domain"] == ref["domain"]]
        rank = _row(out, comparison="rank")
        assert rank["statistic"] == pytest.approx(ref["tau"], abs=TOL)
        assert rank["p_value"] == pytest.approx(ref["tau_p"], rel=1e-8)
        assert bool(rank["changed"]) == (ref["tau"] < 1)
        for name, p_panel, p_judge in zip(
            ref["comparisons"], ref["p_panel"], ref["p_judge"], strict=True
        ):
            a, b = sorted(name.split(" - "))
            row = _row(out, comparison="pair", reader_a=a, reader_b=b)
            assert row["mean_panel_a"] == pytest.approx(ref["mean_panel"][a], abs=TOL)
            assert row["mean_judge_b"] == pytest.approx(ref["mean_judge"][b], abs=TOL)
            assert row["p_panel"] == pytest.approx(p_panel, rel=1e-8, abs=1e-300)
            assert row["p_judge"] == pytest.approx(p_judge, rel=1e-8, abs=1e-300)
            assert bool(row["significant_panel"]) == (p_panel < 0.05)
            assert bool(row["significant_judge"]) == (p_judge < 0.05)
            assert bool(row["changed"]) == ((p_panel < 0.05) != (p_judge < 0.05))


# ---------------------------------------------------------------- the scripted behaviour


def test_biased_judge_is_recovered_as_plus_one_with_a_ci_excluding_zero(
    agreement: dict[str, pd.DataFrame],
) -> None:
    biased = agreement["biased"]
    bias = biased[(biased["against"] == "panel") & (biased["measure"] == "mean_difference")]
    assert len(bias) == 2
    # +1 scripted; capping at 5 pulls it a little below 1
    assert bias["statistic"].between(0.85, 1.0).all()
    assert (bias["ci_low"] > 0.7).all() and (bias["ci_high"] > 1.0).all()
    assert (bias["p_value"] < 1e-10).all()


def test_faithful_judge_has_no_bias(agreement: dict[str, pd.DataFrame]) -> None:
    faithful = agreement["faithful"]
    bias = faithful[(faithful["against"] == "panel") & (faithful["measure"] == "mean_difference")]
    assert ((bias["ci_low"] < 0) & (bias["ci_high"] > 0)).all()


def test_faithful_judge_is_within_the_panel_and_the_biased_one_is_not() -> None:
    faithful = judge_within_panel(SCORES, judge="faithful")
    biased = judge_within_panel(SCORES, judge="biased")
    f_mean = faithful[faithful["human"] == "mean"]
    b_mean = biased[biased["human"] == "mean"]
    assert f_mean["within"].all() and (f_mean["ci_low"] > -0.1).all()
    assert (f_mean["ci_low"] < 0).all() and (f_mean["ci_high"] > 0).all()
    assert not b_mean["within"].any() and (b_mean["ci_high"] < -0.1).all()
    # with a margin of 0.5 kappa, even the biased judge passes
    loose = judge_within_panel(SCORES, judge="biased", margin=0.5)
    assert loose.loc[loose["human"] == "mean", "within"].all()


def test_position_biased_judge_is_detected_and_the_faithful_one_is_not() -> None:
    out = judge_position_bias(PAIRS).set_index(["judge", "measure"])
    assert out.loc[("position", "position_bias"), "p_value"] < 1e-10
    assert out.loc[("position", "position_bias"), "ci_low"] > 0.75
    assert out.loc[("faithful", "position_bias"), "p_value"] > 0.05
    assert (
        out.loc[("position", "consistency"), "ci_high"]
        < out.loc[("faithful", "consistency"), "ci_low"]
    )


def test_a_uniform_bias_keeps_every_significance_verdict_but_one() -> None:
    out = judge_conclusions(SCORES, judge="biased")
    pairs = out[out["comparison"] == "pair"]
    # the judge's single score per output has less power than three humans: one of the
    # twelve comparisons loses significance; none changes direction
    assert pairs["changed"].sum() == 1
    assert (pairs["significant_panel"] | ~pairs["significant_judge"]).all()
    # a shift by +1 moves every difference by about nothing
    assert (pairs["statistic"].abs() < 0.2).all()


# ---------------------------------------------------------------- bootstrap and input


def test_bootstraps_are_seeded_and_resample_cases() -> None:
    a = judge_within_panel(SCORES, judge="faithful", n_boot=200, seed=3)
    b = judge_within_panel(SCORES, judge="faithful", n_boot=200, seed=3)
    c = judge_within_panel(SCORES, judge="faithful", n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])
    assert (a["ci_low"] <= a["statistic"]).all() and (a["statistic"] <= a["ci_high"]).all()
    assert (a["n_cases"] == 30).all() and (a["n"] == 120).all()


def test_judge_must_be_a_model_rater() -> None:
    with pytest.raises(ValueError, match="judge"):
        judge_agreement(SCORES, judge="h1")
    with pytest.raises(ValueError, match="judge"):
        judge_conclusions(SCORES, judge="nobody")


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="kind"):
        judge_agreement(SCORES.assign(kind="robot"), judge="faithful")
    with pytest.raises(ValueError, match="score"):
        judge_agreement(SCORES.drop(columns="score"), judge="faithful")
    with pytest.raises(ValueError, match="score"):
        judge_agreement(SCORES.assign(score=SCORES["score"] + 5), judge="faithful")
    with pytest.raises(ValueError, match="repeat"):
        judge_agreement(pd.concat([SCORES, SCORES.head(1)]), judge="faithful")
    with pytest.raises(ValueError, match="margin"):
        judge_within_panel(SCORES, judge="faithful", margin=-0.1)
    with pytest.raises(ValueError, match="n_boot"):
        judge_within_panel(SCORES, judge="faithful", n_boot=0)
    with pytest.raises(ValueError, match="confidence"):
        judge_agreement(SCORES, judge="faithful", confidence=95)
    with pytest.raises(ValueError, match="limits"):
        judge_agreement(SCORES, judge="faithful", limits=1.96)
    with pytest.raises(ValueError, match="significance"):
        judge_conclusions(SCORES, judge="faithful", significance=5)
    two = SCORES[SCORES["rater_id"] != "h3"]
    with pytest.raises(ValueError, match="at least 3 humans"):
        judge_within_panel(two, judge="faithful")


def test_position_bias_reports_every_problem_in_one_message() -> None:
    bad = PAIRS.copy()
    bad.loc[0, "order"] = "left"
    bad.loc[1, "choice"] = "both"
    with pytest.raises(ValueError, match=r"order.*choice"):
        judge_position_bias(bad)
    with pytest.raises(ValueError, match="repeat"):
        judge_position_bias(pd.concat([PAIRS, PAIRS.head(1)]))


def test_within_panel_works_on_an_incomplete_rating_design() -> None:
    """Balanced assignment: h3 scored only half the outputs. Each human's row uses the
    units it and at least one other human scored; the kappas equal Cohen's quadratic-
    weighted kappa (agreement.cohen_kappa) on the half-point grid."""
    acc = SCORES[SCORES["domain"] == "accuracy"]
    drop = (acc["rater_id"] == "h3") & (acc["case_id"] <= "c15")
    scores = acc[~drop]
    out = judge_within_panel(scores, judge="faithful", n_boot=100).set_index("human")
    wide = scores.pivot_table(index=["case_id", "reader_id"], columns="rater_id", values="score")
    assert out.loc["h1", "n"] == 120 and out.loc["h3", "n"] == 60
    for h in ("h1", "h2", "h3"):
        others = wide[[o for o in ("h1", "h2", "h3") if o != h]]
        keep = wide[h].notna() & others.notna().any(axis=1)
        rest = others[keep].median(axis=1)
        for who, key in (("faithful", "judge_agreement"), (h, "human_agreement")):
            long = pd.DataFrame(
                {
                    "reader_id": ["x"] * keep.sum() + ["rest"] * keep.sum(),
                    "case_id": list(range(keep.sum())) * 2,
                    "category": [*wide.loc[keep, who], *rest],
                }
            )
            kappa = cohen_kappa(
                long,
                reader_a="x",
                reader_b="rest",
                categories=np.arange(2, 11) / 2,
                weights="quadratic",
            )
            assert out.loc[h, key] == pytest.approx(kappa["statistic"].iloc[0], abs=TOL)
    assert out.loc["mean", "n"] == 120


def test_position_bias_counts_every_run_and_swaps_within_a_run() -> None:
    one = PAIRS[PAIRS["rater_id"] == "position"]
    two = pd.concat([one.assign(run=1), one.assign(run=2)])
    with pytest.raises(ValueError, match="repeat"):
        judge_position_bias(two)
    single = judge_position_bias(one).set_index("measure")
    double = judge_position_bias(two, run="run").set_index("measure")
    assert (double["n"] == 2 * single["n"]).all() and (double["k"] == 2 * single["k"]).all()
    np.testing.assert_allclose(double["statistic"], single["statistic"])
    assert double.loc["position_bias", "p_value"] < single.loc["position_bias", "p_value"]


def test_clustered_bias_se_ignores_duplicated_outputs_of_a_case_and_the_naive_one_shrinks() -> None:
    """Copying every output of every case (as a new reader) adds no information about the
    cases: the cluster-robust SE of the bias stays, the textbook SE falls by about sqrt(2)."""
    acc = SCORES[SCORES["domain"] == "accuracy"]
    copied = pd.concat([acc, acc.assign(reader_id=acc["reader_id"] + "_copy")])

    def se(df: pd.DataFrame, cluster: bool) -> float:
        out = judge_agreement(df, judge="biased", n_boot=0, cluster=cluster)
        return float(_row(out, against="panel", measure="mean_difference")["se"])

    assert se(copied, True) == pytest.approx(se(acc, True), rel=1e-12)
    assert se(copied, False) == pytest.approx(se(acc, False) / np.sqrt(2), rel=0.01)
    assert se(acc, True) > se(acc, False)
