"""Non-inferiority of aided vs unaided reading from the OR/Hillis comparison, against R
MRMCaov (tests/stats/r/mrmc_noninferiority_reference.R / .json): the demo's R3–R5 in
modality 1 (unaided) and 2 (aided), empirical AUC, jackknife covariance."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from analysis.stats.mrmc import mrmc
from analysis.stats.noninferiority import NONINFERIORITY_COLUMNS, noninferiority_test

from .conftest import R_DIR

REFERENCE = json.loads((R_DIR / "mrmc_noninferiority_reference.json").read_text())
CLOSE = {"rel": 1e-9, "abs": 1e-12}


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "mrmc_demo.csv").rename(columns={"category": "rating"})


@pytest.mark.parametrize("analysis", ["RRRC", "FRRC", "RRFC"])
def test_aided_vs_unaided_noninferiority_matches_mrmcaov(demo: pd.DataFrame, analysis: str) -> None:
    assert REFERENCE["source"].startswith("MRMCaov 0.3.0")
    ref = REFERENCE[analysis]
    row = mrmc(demo, analysis=analysis).comparisons.iloc[0]  # type: ignore[arg-type]
    assert (row["modality_a"], row["modality_b"]) == (1, 2)
    difference = -float(row["statistic"])  # aided (2) - unaided (1)
    assert difference == pytest.approx(ref["difference"], **CLOSE)
    assert row["se"] == pytest.approx(ref["se"], **CLOSE)
    if ref["df"] == "Inf":
        assert math.isinf(row["df"])
    else:
        assert row["df"] == pytest.approx(ref["df"], **CLOSE)
    for sign, key in ((1, "tests"), (-1, "reverse")):
        for expected in ref[key]:
            got = noninferiority_test(
                difference=sign * difference,
                se=float(row["se"]),
                df=float(row["df"]),
                margin=expected["margin"],
            ).iloc[0]
            assert list(got.index) == NONINFERIORITY_COLUMNS
            assert got["t"] == pytest.approx(expected["t"], **CLOSE)
            assert got["p_value"] == pytest.approx(expected["p"], rel=1e-7, abs=1e-300)
            assert bool(got["noninferior"]) is expected["noninferior"]
            ci = ref["ci"] if sign == 1 else [-ref["ci"][1], -ref["ci"][0]]
            assert [got["ci_low"], got["ci_high"]] == pytest.approx(ci, **CLOSE)
    # both verdicts occur in the reference (unaided is not non-inferior to aided at 0.05)
    verdicts = {t["noninferior"] for t in ref["tests"] + ref["reverse"]}
    assert verdicts == {True, False}


def test_a_zero_standard_error_gets_a_note_and_no_verdict() -> None:
    got = noninferiority_test(difference=0.0, se=0.0, df=3.0, margin=0.05).iloc[0]
    assert "zero standard error" in got["note"]
    assert all(pd.isna(got[c]) for c in ("t", "p_value", "ci_low", "ci_high", "noninferior"))


def test_the_ci_is_clipped_to_the_scale_of_a_difference() -> None:
    got = noninferiority_test(difference=0.95, se=0.2, df=2.0, margin=0.05).iloc[0]
    assert got["ci_high"] == 1.0 and -1.0 <= got["ci_low"] < 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": 1.0}, "margin:"),
        ({"margin": -0.1}, "margin:"),
        ({"se": -0.01}, "se:"),
        ({"df": 0.0}, "df:"),
        ({"difference": 1.5}, "difference:"),
        ({"difference": math.nan}, "difference:"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"difference": 0.02, "se": 0.01, "df": 5.0, "margin": 0.05}
    with pytest.raises(ValueError, match=message):
        noninferiority_test(**{**args, **kwargs})
