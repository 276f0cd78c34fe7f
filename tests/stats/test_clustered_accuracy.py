"""Tests of analysis.stats.clustered_accuracy against R
(tests/stats/r/clustered_accuracy_reference.R): Obuchowski's (1998) ratio-estimator SE of
sensitivity and specificity with several lesions per patient, and an independent R
patient-level cluster bootstrap."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.stats.clustered_accuracy import CLUSTERED_ACCURACY_COLUMNS, clustered_accuracy
from analysis.stats.diagnostic import diagnostic_performance
from tests.stats._agree_fixtures import R_DIR, load_reference

REF = load_reference("clustered_accuracy_reference")
DATA = pd.read_csv(R_DIR / "clustered_accuracy.csv")
# R's and numpy's bootstrap streams differ: with 20000 resamples the largest difference of
# a percentile limit seen is 0.012.
BOOT_TOL = 0.03


@pytest.fixture(scope="module")
def result() -> pd.DataFrame:
    return clustered_accuracy(DATA, n_boot=20000, seed=1)


@pytest.mark.parametrize("reader", ["R1", "R2", "R3"])
@pytest.mark.parametrize("metric", ["sensitivity", "specificity"])
def test_ratio_estimator_and_cluster_bootstrap_match_r(
    result: pd.DataFrame, reader: str, metric: str
) -> None:
    ref = REF["readers"][reader][metric]
    row = result.set_index(["reader", "metric"]).loc[(reader, metric)]
    assert (row["n"], row["n_clusters"], row["correct"]) == (
        ref["n"], ref["n_clusters"], ref["correct"],
    )  # fmt: skip
    assert row["statistic"] == pytest.approx(ref["statistic"], rel=1e-12)
    assert row["se"] == pytest.approx(ref["se"], rel=1e-10)
    assert row["se"] == pytest.approx(ref["se_sandwich"], rel=1e-10)
    assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["ci"], rel=1e-10)
    assert row["design_effect"] == pytest.approx(ref["design_effect"], rel=1e-10)
    assert [row["boot_ci_low"], row["boot_ci_high"]] == pytest.approx(ref["boot_ci"], abs=BOOT_TOL)


def test_the_proportion_is_the_unclustered_one(result: pd.DataFrame) -> None:
    perf = diagnostic_performance(DATA, threshold=4).set_index("reader")
    got = result.set_index(["reader", "metric"])["statistic"]
    for reader in ("R1", "R2", "R3"):
        assert got[(reader, "sensitivity")] == pytest.approx(perf.loc[reader, "sensitivity"])
        assert got[(reader, "specificity")] == pytest.approx(perf.loc[reader, "specificity"])


def test_one_case_per_patient_gives_the_binomial_variance_with_n_over_n_minus_1() -> None:
    single = DATA.assign(patient_id=DATA["case_id"])
    res = clustered_accuracy(single, n_boot=200)
    p, n = res["statistic"].to_numpy(), res["n"].to_numpy()
    np.testing.assert_allclose(res["se"] ** 2, n / (n - 1) * p * (1 - p) / n, rtol=1e-12)
    np.testing.assert_allclose(res["design_effect"], n / (n - 1), rtol=1e-12)
    assert list(res.columns) == list(CLUSTERED_ACCURACY_COLUMNS)


def test_degenerate_rows_have_notes() -> None:
    perfect = DATA.assign(category=np.where(DATA["truth"] == 1, 5, 1))
    res = clustered_accuracy(perfect, n_boot=200)
    assert (res["statistic"] == 1).all() and (res["se"] == 0).all()
    assert res["note"].str.contains("the SE is 0").all()
    positives = clustered_accuracy(DATA[DATA["truth"] == 1], n_boot=200)
    spec = positives[positives["metric"] == "specificity"]
    assert spec["statistic"].isna().all() and spec["note"].str.startswith("no negative").all()
    one = DATA[DATA["patient_id"] == "P01"]
    assert (
        clustered_accuracy(one, n_boot=200)["note"]
        .dropna()
        .str.contains("one patient|no positive|no negative")
        .all()
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_boot": 5}, "n_boot"),
        ({"confidence": 0}, "confidence"),
        ({"patient": "subject"}, "patient='subject'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        clustered_accuracy(DATA, **kwargs)


def test_truth_must_be_binary() -> None:
    with pytest.raises(ValueError, match="truth='truth'"):
        clustered_accuracy(DATA.assign(truth=2))
