"""Tests of analysis.stats.roc_summaries against pROC (tests/stats/r/roc_summaries_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.roc import reader_aucs
from analysis.stats.roc_summaries import partial_auc, youden_threshold
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("roc_summaries_reference")
R_DIR = Path(__file__).parent / "r"
SETS = {
    "continuous": pd.read_csv(R_DIR / "roc_continuous.csv"),
    "discrete": pd.read_csv(R_DIR / "roc_discrete.csv"),
    "asah": pd.DataFrame(REF["asah"]["data"]),
}


def _cases() -> list[tuple[str, str]]:
    return [(name, r) for name in SETS for r in REF[name]["readers"]]


@pytest.mark.parametrize(("dataset", "reader"), _cases())
def test_partial_auc_matches_proc(dataset: str, reader: str) -> None:
    df = SETS[dataset]
    one = df[df["reader_id"] == reader]
    for band in REF[dataset]["readers"][reader]["partial"]:
        got = partial_auc(
            one, low=band["low"], high=band["high"], focus=band["focus"], n_boot=20
        ).iloc[0]
        assert_close(got["partial_auc"], band["partial_auc"])
        assert_close(got["statistic"], band["statistic"])


@pytest.mark.parametrize(("dataset", "reader"), _cases())
def test_youden_threshold_is_one_of_procs_best(dataset: str, reader: str) -> None:
    df = SETS[dataset]
    one = df[df["reader_id"] == reader]
    best = REF[dataset]["readers"][reader]["best"]
    thresholds = np.atleast_1d(np.asarray(best["threshold"], dtype=float))
    got = youden_threshold(one, n_boot=20).iloc[0]
    k = int(np.argmin(np.abs(thresholds - got["statistic"])))
    assert_close(got["statistic"], thresholds[k])
    assert got["statistic"] == pytest.approx(thresholds.min())
    assert_close(got["sensitivity"], np.atleast_1d(best["sensitivity"])[k])
    assert_close(got["specificity"], np.atleast_1d(best["specificity"])[k])
    assert_close(got["youden_j"], np.atleast_1d(best["youden_j"])[k])


def test_the_full_band_is_the_auc() -> None:
    df = SETS["continuous"]
    got = partial_auc(df, low=0.0, high=1.0, n_boot=10)
    auc = reader_aucs(df)
    np.testing.assert_allclose(got["partial_auc"], auc["statistic"], atol=1e-12)
    np.testing.assert_allclose(got["statistic"], auc["statistic"], atol=1e-12)


def test_bootstrap_intervals_are_reproducible_and_bounded() -> None:
    df = SETS["asah"]
    a = partial_auc(df, n_boot=300, seed=3)
    b = partial_auc(df, n_boot=300, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["ci_low"] >= 0.5 - 1e-12).all() and (a["ci_high"] <= 1.0).all()
    assert (a["ci_low"] <= a["statistic"]).all() and (a["statistic"] <= a["ci_high"]).all()
    y = youden_threshold(df, n_boot=300, seed=3)
    assert (y["ci_low"] <= y["statistic"]).all() and (y["statistic"] <= y["ci_high"]).all()
    narrow = youden_threshold(df, n_boot=300, seed=3, confidence=0.5)
    assert ((narrow["ci_high"] - narrow["ci_low"]) <= (y["ci_high"] - y["ci_low"])).all()


def test_a_curve_below_the_diagonal_has_no_standardised_partial_auc() -> None:
    df = SETS["asah"]
    flipped = df.assign(rating=-df["rating"])
    got = partial_auc(flipped[flipped["reader_id"] == "s100b"], n_boot=20).iloc[0]
    assert np.isnan(got["statistic"]) and got["partial_auc"] >= 0


def test_partial_auc_rejects_a_bad_band_and_focus() -> None:
    df = SETS["asah"]
    with pytest.raises(ValueError, match="low"):
        partial_auc(df, low=0.9, high=0.8)
    with pytest.raises(ValueError, match="low"):
        partial_auc(df, low=-0.1)
    with pytest.raises(ValueError, match="focus"):
        partial_auc(df, focus="ppv")  # type: ignore[arg-type]


def test_they_reject_one_class_and_a_bad_n_boot() -> None:
    df = SETS["asah"]
    with pytest.raises(ValueError, match="truth"):
        youden_threshold(df.assign(truth=1))
    with pytest.raises(ValueError, match="n_boot"):
        youden_threshold(df, n_boot=0)
    with pytest.raises(ValueError, match="rating"):
        partial_auc(df.drop(columns="rating"))
