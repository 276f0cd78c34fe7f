"""Tests for analysis.stats.power against RJafroc's sample-size regression values.

vandyke_reference.md section 10 and franken_reference.md section 7 ([RJafroc-test]
``tests/testthat/test-SsSampleSizeRoc.R`` and ``goodValues361/SsPower/*.rds``).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.mrmc import MRMCResult, ORComponents, mrmc
from analysis.stats.power import or_power, or_sample_size

# Full-precision jackknife OR components of Van Dyke (vandyke_reference.md section 10)
VANDYKE = ORComponents(
    var_r=0.00153500,
    var_tr=0.00020040252358,
    var_error=0.00080228826557,
    cov1=0.00034661370944,
    cov2=0.00034407482886,
    cov3=0.00023902837089,
    n_cases=114,
)
EFFECT = -0.043800322


@pytest.fixture(scope="module")
def vandyke_pilot(vandyke: pd.DataFrame) -> MRMCResult:
    return mrmc(vandyke, reader="reader")


@pytest.fixture(scope="module")
def franken_pilot(franken: pd.DataFrame) -> MRMCResult:
    return mrmc(franken, reader="reader")


def test_rrrc_power_matches_rjafroc(vandyke_pilot: MRMCResult) -> None:
    for comps in (VANDYKE, vandyke_pilot):
        row = or_power(comps, effect_size=EFFECT, n_readers=10, n_cases=165).iloc[0]
        assert row["power"] == pytest.approx(0.80541995, abs=5e-9)
        assert row["ncp"] == pytest.approx(8.209597033, abs=5e-9)
        assert row["df2"] == pytest.approx(62.70727971, abs=5e-8)
        assert row["critical_value"] == pytest.approx(3.994094656, abs=5e-9)
        assert (row["analysis"], row["n_readers"], row["n_cases"], row["df1"]) == (
            "RRRC",
            10,
            165,
            1,
        )


def test_frrc_power_matches_rjafroc(vandyke_pilot: MRMCResult) -> None:
    for comps in (VANDYKE, vandyke_pilot):
        row = or_power(comps, effect_size=EFFECT, n_readers=10, n_cases=131, analysis="FRRC")
        assert row["power"].iloc[0] == pytest.approx(0.80091813, abs=5e-9)
        assert math.isinf(row["df2"].iloc[0])


def test_rrfc_power_matches_rjafroc(vandyke_pilot: MRMCResult) -> None:
    for comps in (VANDYKE, vandyke_pilot):
        row = or_power(comps, effect_size=EFFECT, n_readers=10, n_cases=53, analysis="RRFC")
        assert row["power"].iloc[0] == pytest.approx(0.80496663, abs=5e-9)
        assert row["df2"].iloc[0] == 9


def test_franken_sample_size_matches_rjafroc_with_var_tr_clamped(
    franken_pilot: MRMCResult,
) -> None:
    assert franken_pilot.components.var_tr < 0  # Iowa definition, negative
    row = or_sample_size(franken_pilot, effect_size=0.05, n_readers=6).iloc[0]
    assert row["n_cases"] == 121
    assert row["power"] == pytest.approx(0.800446896, abs=5e-10)
    below = or_power(franken_pilot, effect_size=0.05, n_readers=6, n_cases=120)
    assert below["power"].iloc[0] == pytest.approx(0.797314593, abs=5e-10)
    # the clamp: any negative Var(T*R) gives the same power as Var(T*R) = 0
    c = franken_pilot.components
    zero = ORComponents(**{**c.__dict__, "var_tr": 0.0})
    pd.testing.assert_frame_equal(
        or_power(zero, effect_size=0.05, n_readers=6, n_cases=121),
        or_power(c, effect_size=0.05, n_readers=6, n_cases=121),
    )


def test_sample_size_is_the_smallest_k_reaching_the_target(vandyke_pilot: MRMCResult) -> None:
    for analysis in ("RRRC", "FRRC", "RRFC"):
        row = or_sample_size(
            vandyke_pilot, effect_size=EFFECT, n_readers=10, power=0.8, analysis=analysis
        ).iloc[0]
        k = int(row["n_cases"])
        assert row["power"] >= 0.8
        prev = or_power(
            vandyke_pilot, effect_size=EFFECT, n_readers=10, n_cases=k - 1, analysis=analysis
        )
        assert prev["power"].iloc[0] < 0.8
    # the anchors above sit just above 0.8, so they are the minimal K
    assert (
        or_sample_size(VANDYKE, effect_size=EFFECT, n_readers=10, analysis="RRFC")["n_cases"].iloc[
            0
        ]
        == 53
    )


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=2, max_value=30),
    st.integers(min_value=10, max_value=2000),
    st.sampled_from(["RRRC", "FRRC", "RRFC"]),
)
def test_power_grows_with_cases_and_readers(j: int, k: int, analysis: str) -> None:
    p = or_power(VANDYKE, effect_size=EFFECT, n_readers=j, n_cases=k, analysis=analysis)
    more_k = or_power(VANDYKE, effect_size=EFFECT, n_readers=j, n_cases=k + 10, analysis=analysis)
    more_j = or_power(VANDYKE, effect_size=EFFECT, n_readers=j + 1, n_cases=k, analysis=analysis)
    assert 0.05 <= p["power"].iloc[0] <= 1
    assert more_k["ncp"].iloc[0] > p["ncp"].iloc[0]
    assert more_j["ncp"].iloc[0] > p["ncp"].iloc[0]
    # With fixed df (FRRC; RRFC for fixed J) power is monotone in the noncentrality. In
    # RRRC the Hillis ddf falls towards J - 1 as K grows, so with few readers power is
    # not monotone in K (J = 2: 0.2021 at K = 1000, 0.1988 at K = 2000); only the
    # noncentrality is checked there.
    if analysis == "FRRC":
        assert more_k["power"].iloc[0] >= p["power"].iloc[0]
        assert more_j["power"].iloc[0] >= p["power"].iloc[0]
    elif analysis == "RRFC":
        assert more_k["power"].iloc[0] >= p["power"].iloc[0]
    # the sign of the effect does not matter
    flipped = or_power(VANDYKE, effect_size=-EFFECT, n_readers=j, n_cases=k, analysis=analysis)
    assert flipped["power"].iloc[0] == pytest.approx(p["power"].iloc[0], rel=1e-12)


def test_it_accepts_a_mapping_of_components() -> None:
    mapping = {k: v for k, v in VANDYKE.__dict__.items() if k != "var_r"}
    pd.testing.assert_frame_equal(
        or_power(mapping, effect_size=EFFECT, n_readers=10, n_cases=165),
        or_power(VANDYKE, effect_size=EFFECT, n_readers=10, n_cases=165),
    )


def test_it_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="components: missing key"):
        or_power({"var_tr": 0.0}, effect_size=0.05, n_readers=5, n_cases=100)
    with pytest.raises(ValueError, match="components"):
        or_power(3.0, effect_size=0.05, n_readers=5, n_cases=100)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="effect_size"):
        or_power(VANDYKE, effect_size=0.0, n_readers=5, n_cases=100)
    with pytest.raises(ValueError, match="n_readers"):
        or_power(VANDYKE, effect_size=0.05, n_readers=1, n_cases=100)
    with pytest.raises(ValueError, match="n_cases"):
        or_power(VANDYKE, effect_size=0.05, n_readers=5, n_cases=1)
    with pytest.raises(ValueError, match="alpha"):
        or_power(VANDYKE, effect_size=0.05, n_readers=5, n_cases=100, alpha=1.0)
    with pytest.raises(ValueError, match="analysis"):
        or_power(VANDYKE, effect_size=0.05, n_readers=5, n_cases=100, analysis="X")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="power"):
        or_sample_size(VANDYKE, effect_size=0.05, n_readers=5, power=1.5)
    bad = ORComponents(**{**VANDYKE.__dict__, "cov1": 0.01})
    with pytest.raises(ValueError, match="components: the implied variance"):
        or_power(bad, effect_size=0.05, n_readers=5, n_cases=100, analysis="FRRC")


def test_sample_size_raises_when_the_target_is_unreachable() -> None:
    # RRFC power is capped by Var(T*R) when cases grow: a large Var(T*R), 2 readers
    big_tr = ORComponents(**{**VANDYKE.__dict__, "var_tr": 0.05})
    with pytest.raises(ValueError, match=r"power: 0\.9 is not reached"):
        or_sample_size(
            big_tr, effect_size=0.01, n_readers=2, power=0.9, analysis="RRFC", max_cases=5000
        )
