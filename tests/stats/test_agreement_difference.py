"""analysis.stats.agreement_difference against R: irr::kappam.fleiss and a base-R case bootstrap.

Reference: tests/stats/r/kappa_difference_reference.R. The kappas and their difference agree
to 1e-10; the percentile CI and the bootstrap p (different random numbers, B = 20000 in
both) agree up to Monte-Carlo error.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.agreement import fleiss_kappa
from analysis.stats.agreement_difference import fleiss_kappa_difference
from tests.stats.conftest import R_DIR


def _ref() -> dict[str, Any]:
    with (R_DIR / "kappa_difference_reference.json").open(encoding="utf-8") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


def _data() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "kappa_difference.csv")


def test_kappas_and_difference_match_r() -> None:
    ref = _ref()
    out = fleiss_kappa_difference(_data(), modality_a=1, modality_b=2, n_boot=20000, seed=3)
    row = out.iloc[0]
    assert row["kappa_a"] == pytest.approx(ref["kappa_a"], abs=1e-10)
    assert row["kappa_b"] == pytest.approx(ref["kappa_b"], abs=1e-10)
    assert row["statistic"] == pytest.approx(ref["diff"], abs=1e-10)
    assert (row["n_cases"], row["n_readers"]) == (ref["n_cases"], ref["n_readers"])


def test_bootstrap_ci_and_p_match_r_up_to_monte_carlo_error() -> None:
    ref = _ref()
    row = fleiss_kappa_difference(_data(), modality_a=1, modality_b=2, n_boot=20000, seed=3).iloc[0]
    assert row["ci_low"] == pytest.approx(ref["ci_low"], abs=0.006)
    assert row["ci_high"] == pytest.approx(ref["ci_high"], abs=0.006)
    assert row["p_value"] == pytest.approx(ref["p_value"], abs=0.005)
    assert row["n_boot"] == 20000


def test_kappas_equal_fleiss_kappa_of_each_modality() -> None:
    data = _data()
    out = fleiss_kappa_difference(data, modality_a=1, modality_b=2, threshold=4, n_boot=200)
    for mod, col in ((1, "kappa_a"), (2, "kappa_b")):
        k = fleiss_kappa(
            data[data["modality"] == mod], run="reader_id", reader=None, threshold=4, n_boot=0
        )
        assert out.iloc[0][col] == pytest.approx(k.iloc[0]["statistic"], abs=1e-12)
    assert out.iloc[0]["scale"] == "binary"


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    data = _data()
    a = fleiss_kappa_difference(data, modality_a=1, modality_b=2, n_boot=300, seed=5)
    b = fleiss_kappa_difference(data, modality_a=1, modality_b=2, n_boot=300, seed=5)
    c = fleiss_kappa_difference(data, modality_a=1, modality_b=2, n_boot=300, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert (a["ci_low"].iloc[0], a["ci_high"].iloc[0]) != (
        c["ci_low"].iloc[0],
        c["ci_high"].iloc[0],
    )


def test_identical_modalities_give_zero_difference_and_p_one() -> None:
    data = _data()
    same = pd.concat([data[data["modality"] == 1], data[data["modality"] == 1].assign(modality=2)])
    row = fleiss_kappa_difference(same, modality_a=1, modality_b=2, n_boot=200).iloc[0]
    assert row["statistic"] == 0
    assert (row["ci_low"], row["ci_high"], row["p_value"]) == (0, 0, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.iloc[1:], "not fully crossed"),
        (lambda d: d[d["modality"] == 1], "modality_b"),
        (lambda d: d.assign(category=np.where(d.index == 0, np.nan, d["category"])), "category"),
        (lambda d: d[~((d["modality"] == 2) & (d["reader_id"] == "R1"))], "same readers"),
    ],
)
def test_bad_input_names_the_argument(change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fleiss_kappa_difference(change(_data()), modality_a=1, modality_b=2, n_boot=10)
