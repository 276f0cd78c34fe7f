"""Tests of analysis.stats.chance_agreement against R irrCAC 1.0 and irr 0.84.1
(tests/stats/r/chance_agreement_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats.chance_agreement import agreement_coefficients, category_kappa
from tests.stats._agree_fixtures import R_DIR, load_reference

REF = load_reference("chance_agreement_reference")
WEIGHTS = {"unweighted": "none", "linear": "linear", "quadratic": "quadratic"}


def _ratings(name: str) -> pd.DataFrame:
    frame = pd.read_csv(R_DIR / "chance_agreement_ratings.csv")
    column = "category_missing" if "missing" in name else "category"
    if name.startswith("two raters"):
        frame = frame[frame["rater_id"].isin(["r1", "r2"])]
    return frame.assign(category=frame[column]).drop(columns="category_missing")


@pytest.mark.parametrize(
    "case",
    REF["coefficients"],
    ids=lambda c: f"{c['name']}-{c['weights']}-{c['coefficient']}",
)
def test_coefficients_match_irrcac(case: dict) -> None:
    threshold = case["threshold"]
    binary = isinstance(threshold, int | float) and not np.isnan(threshold)
    kw = {"threshold": threshold} if binary else {"categories": range(7)}
    got = agreement_coefficients(
        _ratings(case["name"]),
        weights=WEIGHTS[case["weights"]],  # type: ignore[arg-type]
        coefficients=[case["coefficient"]],
        **kw,  # type: ignore[arg-type]
    ).iloc[0]
    assert got["observed_agreement"] == pytest.approx(case["pa"], abs=1e-9)
    assert got["expected_agreement"] == pytest.approx(case["pe"], abs=1e-9)
    assert got["statistic"] == pytest.approx(case["coef"], abs=1e-9)
    assert got["se"] == pytest.approx(case["se"], abs=1e-9)
    # irrCAC prints the CI with 15 significant digits and caps only the upper limit
    assert got["ci_low"] == pytest.approx(max(-1.0, case["ci"][0]), abs=1e-9)
    assert got["ci_high"] == pytest.approx(case["ci"][1], abs=1e-9)
    # irrCAC's 2 * (1 - pt()) loses digits below 1e-15
    assert got["p_value"] == pytest.approx(case["p"], abs=1e-12)


def test_pabak_is_twice_the_agreement_minus_one_for_two_readers() -> None:
    got = agreement_coefficients(
        _ratings("two raters binary"), threshold=3, coefficients=["brennan-prediger"]
    ).iloc[0]
    assert got["method"] == "pabak"
    assert got["statistic"] == pytest.approx(2 * got["observed_agreement"] - 1, abs=1e-12)


def test_ac1_stays_high_when_kappa_collapses_under_skewed_prevalence() -> None:
    calls = [0] * 18 + [1, 1] + [0] * 17 + [1, 0, 1]
    df = pd.DataFrame(
        {"rater_id": ["a"] * 20 + ["b"] * 20, "case_id": list(range(20)) * 2, "category": calls}
    )
    got = agreement_coefficients(df, threshold=1).set_index("method")["statistic"]
    assert got["gwet-ac1"] > 0.85 > got["pabak"] - 0.05 > got["fleiss"]


def test_weighted_methods_are_named_ac2_and_brennan_prediger() -> None:
    got = agreement_coefficients(_ratings("three raters"), weights="quadratic")
    assert got["method"].tolist() == ["gwet-ac2", "brennan-prediger", "fleiss"]


def test_perfect_agreement_has_a_point_interval() -> None:
    df = pd.DataFrame(
        {
            "rater_id": ["a"] * 4 + ["b"] * 4,
            "case_id": list(range(4)) * 2,
            "category": [1, 2, 3, 1] * 2,
        }
    )
    got = agreement_coefficients(df)
    assert (got["statistic"] == 1).all() and (got["se"] == 0).all()
    assert (got["ci_low"] == 1).all() and (got["ci_high"] == 1).all()


def test_category_kappa_matches_irr_and_irrcac() -> None:
    frame = _ratings("three raters")
    got = category_kappa(frame).set_index("category")
    for ref in REF["category"]:
        row = got.loc[float(ref["category"])]
        assert row["statistic"] == pytest.approx(ref["kappa"], abs=1e-9)
        assert row["z"] == pytest.approx(ref["z"], abs=1e-9)
        assert row["p_value"] == pytest.approx(ref["p"], abs=1e-12)
        assert row["se"] == pytest.approx(ref["se"], abs=1e-9)
        assert row["ci_low"] == pytest.approx(max(-1.0, ref["ci"][0]), abs=1e-9)
        assert row["ci_high"] == pytest.approx(ref["ci"][1], abs=1e-9)


def test_a_category_nobody_used_has_an_undefined_kappa() -> None:
    got = category_kappa(_ratings("three raters"), categories=range(8))
    assert np.isnan(got.set_index("category").loc[7.0, "statistic"])


def test_category_kappa_needs_equal_numbers_of_ratings() -> None:
    frame = _ratings("three raters").iloc[1:]
    with pytest.raises(ValueError, match="rater_id"):
        category_kappa(frame)
    assert len(category_kappa(frame, nan_policy="omit")) >= 2


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"coefficients": ["cohen"]}, "coefficients"),
        ({"coefficients": []}, "coefficients"),
        ({"weights": "cubic"}, "weights"),
        ({"confidence": 1.5}, "confidence"),
    ],
)
def test_bad_arguments_are_named(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        agreement_coefficients(_ratings("three raters"), **kw)


def test_a_single_rating_per_case_is_refused() -> None:
    df = pd.DataFrame({"rater_id": ["a", "b"], "case_id": [1, 2], "category": [1, 2]})
    with pytest.raises(ValueError, match="rater_id"):
        agreement_coefficients(df)
