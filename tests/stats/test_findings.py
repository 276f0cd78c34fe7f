"""Tests of analysis.stats.findings against R (tests/stats/r/findings_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.findings import compare_finding_f1, finding_f1_summary, finding_performance
from tests.stats._agree_fixtures import load_reference

REF = load_reference("findings_reference")
LABELS = pd.read_csv(Path(__file__).parent / "r" / "findings_labels.csv")


@pytest.fixture(scope="module")
def performance() -> pd.DataFrame:
    return finding_performance(LABELS, n_boot=20000, seed=16)


def test_counts_and_clopper_pearson_intervals_match_binom_test_and_epir(
    performance: pd.DataFrame,
) -> None:
    got = performance.set_index(["reader", "finding", "measure"])
    assert len(REF["per_finding"]) == 6
    for ref in REF["per_finding"]:
        key = (ref["reader"], ref["finding"])
        row = got.loc[(*key, "sensitivity")]
        assert [row["tp"], row["fp"], row["fn"], row["tn"]] == [
            ref["tp"], ref["fp"], ref["fn"], ref["tn"]
        ]  # fmt: skip
        for measure, epir in (("sensitivity", "epir_se"), ("specificity", "epir_sp")):
            row = got.loc[(*key, measure)]
            assert row["statistic"] == pytest.approx(ref[measure], abs=1e-10)
            assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref[f"{measure}_ci"], abs=1e-9)
            assert [row["statistic"], row["ci_low"], row["ci_high"]] == pytest.approx(
                ref[epir], abs=1e-9
            )
        row = got.loc[(*key, "ppv")]
        assert [row["statistic"], row["ci_low"], row["ci_high"]] == pytest.approx(
            ref["epir_pv_pos"], abs=1e-9
        )


def test_f1_and_its_case_bootstrap_interval_match_r_boot(performance: pd.DataFrame) -> None:
    got = performance[performance["measure"] == "f1"].set_index(["reader", "finding"])
    for ref in REF["per_finding"]:
        row = got.loc[(ref["reader"], ref["finding"])]
        assert row["statistic"] == pytest.approx(ref["f1"], abs=1e-10)
        # two RNGs, 20,000 replicates each: the percentiles agree within Monte Carlo error
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["f1_ci"], abs=0.02)
        assert row["ci_low"] <= row["statistic"] <= row["ci_high"]


def test_macro_and_micro_f1_match_r() -> None:
    got = finding_f1_summary(LABELS, n_boot=4000, seed=3).set_index(["reader", "measure"])
    for ref in REF["summary"]:
        for measure in ("macro_f1", "micro_f1"):
            row = got.loc[(ref["reader"], measure)]
            assert row["statistic"] == pytest.approx(ref[measure], abs=1e-10)
            assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref[f"{measure}_ci"], abs=0.025)
            assert row["n"] == 60 and row["note"] == ""


def test_paired_bootstrap_difference_matches_r() -> None:
    got = compare_finding_f1(LABELS, n_boot=4000, seed=5).set_index("measure")
    ref = REF["compare"]
    for measure in ("macro_f1", "micro_f1"):
        row = got.loc[measure]
        assert (row["reader_a"], row["reader_b"]) == (ref["reader_a"], ref["reader_b"])
        assert row["statistic"] == pytest.approx(ref[measure], abs=1e-10)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref[f"{measure}_ci"], abs=0.025)
    # micro F1: the interval excludes 0, so the p value is small; macro F1: it does not
    assert got.loc["micro_f1", "p_value"] < 0.05 < got.loc["macro_f1", "p_value"] <= 1


def test_the_bootstrap_is_seeded() -> None:
    a = finding_f1_summary(LABELS, n_boot=300, seed=9)
    b = finding_f1_summary(LABELS, n_boot=300, seed=9)
    c = finding_f1_summary(LABELS, n_boot=300, seed=10)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"], c["ci_low"])


def test_degenerate_findings_get_a_note_and_no_number() -> None:
    df = pd.DataFrame(
        {
            "reader_id": "A",
            "case_id": [1, 2, 3, 4],
            "finding": "cyst",
            "truth": [0, 0, 0, 0],
            "present": [0, 0, 0, 0],
        }
    )
    res = finding_performance(df, n_boot=50, seed=1).set_index("measure")
    for measure in ("sensitivity", "ppv", "f1"):
        assert np.isnan(res.loc[measure, "statistic"]) and res.loc[measure, "note"]
        assert np.isnan(res.loc[measure, "ci_low"]) and np.isnan(res.loc[measure, "ci_high"])
    assert res.loc["specificity", "statistic"] == 1.0 and res.loc["specificity", "note"] == ""
    summary = finding_f1_summary(df, n_boot=50, seed=1)
    assert summary["statistic"].isna().all() and (summary["note"] != "").all()


def test_readers_without_a_common_cell_are_not_compared() -> None:
    df = pd.DataFrame(
        {
            "reader_id": ["A", "A", "B", "B"],
            "case_id": [1, 2, 3, 4],
            "finding": "mass",
            "truth": [1, 0, 1, 0],
            "present": [1, 0, 0, 0],
        }
    )
    res = compare_finding_f1(df, n_boot=50, seed=1)
    assert res["statistic"].isna().all() and (res["n"] == 0).all()
    assert res["note"].str.contains("both readers").all()


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        (lambda d: d.assign(present=2), "present"),
        (lambda d: d.assign(truth="x"), "truth"),
        (lambda d: d.drop(columns="finding"), "finding"),
        (lambda d: pd.concat([d, d.head(1)]), "reader"),
    ],
)
def test_bad_input_names_the_argument(change: object, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        finding_performance(change(LABELS.head(20)), n_boot=10)  # type: ignore[operator]


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="n_boot"):
        finding_f1_summary(LABELS, n_boot=0)
    with pytest.raises(ValueError, match="confidence"):
        compare_finding_f1(LABELS, confidence=1.5)
