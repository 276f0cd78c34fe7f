"""Tests of analysis.stats.sample_size against R (tests/stats/r/sample_size_reference.R):
pROC (Obuchowski variance, power.roc.test), epiR::epi.ssdxsesp (Buderer), irr::N.cohen.kappa
(Cantor) and a base-R pbinom search; the OR-MRMC grid against RJafroc's SsPowerGivenJK."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from analysis.stats.mrmc import ORComponents
from analysis.stats.power import or_power
from analysis.stats.sample_size import (
    auc_precision_sample_size,
    kappa_sample_size,
    mrmc_power_grid,
    noninferiority_proportion_sample_size,
    sens_spec_sample_size,
    two_auc_sample_size,
)
from tests.stats._agree_fixtures import load_reference

REF = load_reference("sample_size_reference")


@pytest.mark.parametrize("s", REF["auc_precision"])
def test_auc_precision_matches_hanley_mcneil_search_and_proc_obuchowski_variance(s: dict) -> None:
    kw = dict(
        auc=s["auc"], half_width=s["half_width"], ratio=s["ratio"], confidence=s["confidence"]
    )
    hm = auc_precision_sample_size(**kw, method="hanley_mcneil").iloc[0]
    assert (hm["n_positive"], hm["n_negative"]) == (s["hm_n_positive"], s["hm_n_negative"])
    ob = auc_precision_sample_size(**kw, method="obuchowski").iloc[0]
    assert ob["n_positive"] == s["ob_n_positive"]
    assert ob["se"] ** 2 * ob["n_positive"] == pytest.approx(s["ob_var"], rel=1e-12)


def test_obuchowski_variance_matches_her_closed_form_approximation() -> None:
    # Obuchowski (1998): V(θ) = 0.0099 e^{-A²/2} (5A² + 8 + (A² + 8)/R) for b = 1, where
    # 0.0099 is 1/(32π) rounded; with the unrounded constant the two agree exactly.
    for auc, ratio in [(0.7, 1.0), (0.8, 2.0), (0.9, 1.0)]:
        a = norm.ppf(auc) * math.sqrt(2)
        approx = 1 / (32 * math.pi) * math.exp(-(a**2) / 2) * (5 * a**2 + 8 + (a**2 + 8) / ratio)
        row = auc_precision_sample_size(auc=auc, half_width=0.05, ratio=ratio, method="obuchowski")
        exact = row["se"].iloc[0] ** 2 * row["n_positive"].iloc[0]
        assert exact == pytest.approx(approx, rel=1e-12)


@pytest.mark.parametrize("s", REF["buderer"])
def test_buderer_matches_epir_epi_ssdxsesp(s: dict) -> None:
    got = sens_spec_sample_size(
        expected=s["expected"],
        half_width=s["half_width"],
        prevalence=s["prevalence"],
        measure=s["measure"],
    )
    assert got["n_total"].iloc[0] == s["n_total"]


@pytest.mark.parametrize("s", REF["two_auc"])
def test_two_correlated_aucs_match_proc_power_roc_test(s: dict) -> None:
    kw = dict(
        auc1=s["auc1"],
        auc2=s["auc2"],
        r_positive=s["rp"],
        r_negative=s["rn"],
        ratio=s["ratio"],
        b1=s["b1"],
        b2=s["b2"],
    )
    got = two_auc_sample_size(**kw).iloc[0]
    assert got["n_positive_exact"] == pytest.approx(s["n_positive_exact"], rel=1e-10)
    assert got["n_positive"] == math.ceil(s["n_positive_exact"])
    one = two_auc_sample_size(**kw, power=0.9, alternative="one-sided").iloc[0]
    assert one["n_positive_exact"] == pytest.approx(s["n_positive_exact_one_sided_90"], rel=1e-10)


@pytest.mark.parametrize("s", REF["kappa"])
def test_kappa_matches_irr_n_cohen_kappa(s: dict) -> None:
    kw = dict(rate1=s["rate1"], rate2=s["rate2"], kappa1=s["kappa1"], kappa0=s["kappa0"])
    assert kappa_sample_size(**kw)["n"].iloc[0] == s["n_one_sided"]
    two = kappa_sample_size(**kw, power=0.9, alternative="two-sided")
    assert two["n"].iloc[0] == s["n_two_sided_90"]


@pytest.mark.parametrize("s", REF["noninferiority"])
def test_noninferiority_matches_base_r_pbinom_search(s: dict) -> None:
    kw = dict(expected=s["expected"], reference=s["reference"], margin=s["margin"])
    ex = noninferiority_proportion_sample_size(**kw, method="exact").iloc[0]
    assert (ex["n"], ex["critical_count"]) == (s["exact_n"], s["exact_c"])
    assert ex["achieved_power"] == pytest.approx(s["exact_power"], rel=1e-10)
    no = noninferiority_proportion_sample_size(**kw, method="normal").iloc[0]
    assert no["n"] == s["normal_n"]


PILOT = ORComponents(
    var_r=0.001535,
    var_tr=0.00020040252358,
    var_error=0.00080228826557,
    cov1=0.00034661370944,
    cov2=0.00034407482886,
    cov3=0.00023902837089,
    n_cases=114,
)


def test_mrmc_grid_reproduces_rjafroc_and_is_long_and_monotone_in_readers() -> None:
    grid = mrmc_power_grid(
        PILOT, effect_size=-0.043800322, readers=[5, 10, 15], cases=[100, 165, 300]
    )
    assert list(grid.columns[:3]) == ["readers", "cases", "power"]
    assert len(grid) == 9
    cell = grid[(grid.readers == 10) & (grid.cases == 165)]["power"].iloc[0]
    assert cell == pytest.approx(0.80541995, abs=1e-6)  # RJafroc SsPowerGivenJK
    one = or_power(PILOT, effect_size=-0.043800322, n_readers=5, n_cases=300)["power"].iloc[0]
    assert grid[(grid.readers == 5) & (grid.cases == 300)]["power"].iloc[0] == one
    at300 = grid[grid.cases == 300].sort_values("readers")["power"].to_list()
    assert at300 == sorted(at300)


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (lambda: auc_precision_sample_size(auc=0.4, half_width=0.05), "auc"),
        (lambda: auc_precision_sample_size(auc=0.8, half_width=0), "half_width"),
        (lambda: auc_precision_sample_size(auc=0.8, half_width=0.05, method="x"), "method"),  # type: ignore[arg-type]
        (
            lambda: sens_spec_sample_size(expected=0.9, half_width=0.05, prevalence=1.2),
            "prevalence",
        ),
        (lambda: two_auc_sample_size(auc1=0.8, auc2=0.8, r_positive=0.5, r_negative=0.5), "auc2"),
        (
            lambda: two_auc_sample_size(auc1=0.8, auc2=0.9, r_positive=1.5, r_negative=0.5),
            "r_positive",
        ),
        (lambda: kappa_sample_size(rate1=0.5, rate2=0.5, kappa1=0.6, kappa0=0.6), "kappa1"),
        (
            lambda: noninferiority_proportion_sample_size(expected=0.7, reference=0.9, margin=0.1),
            "expected",
        ),
        (lambda: mrmc_power_grid(PILOT, effect_size=0.05, readers=[], cases=[100]), "readers"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, arg: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=rf"^{arg}:"):
        call()
