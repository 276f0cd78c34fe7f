"""``manage.py plan``: each subcommand prints the published/R-checked answer and its reference."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def _plan(*args: str) -> str:
    out = StringIO()
    call_command("plan", *args, stdout=out)
    return out.getvalue()


def test_plan_sens_spec_prints_buderer_total_and_reference() -> None:
    text = _plan("sens-spec", "--expected", "0.9", "--half-width", "0.05", "--prevalence", "0.2")
    assert "692 cases in total (139 positive)" in text  # epiR::epi.ssdxsesp gives 692
    assert "Buderer NM (1996)" in text


def test_plan_auc_prints_hanley_mcneil_cases() -> None:
    text = _plan("auc", "--auc", "0.8", "--half-width", "0.05")
    assert "151 positive + 151 negative cases (total 302)" in text
    assert "Hanley JA, McNeil BJ (1982)" in text


def test_plan_auc_obuchowski_uses_her_variance() -> None:
    text = _plan("auc", "--auc", "0.8", "--half-width", "0.05", "--method", "obuchowski")
    assert "185 positive + 185 negative" in text and "Obuchowski NA (1998)" in text


def test_plan_two_auc_kappa_and_noninferiority_match_r() -> None:
    two = _plan(
        "two-auc", "--auc1", "0.8", "--auc2", "0.9", "--r-positive", "0.5", "--r-negative", "0.5"
    )
    assert "132 positive + 132 negative" in two  # pROC power.roc.test: 131.86
    kap = _plan("kappa", "--rate1", "0.5", "--rate2", "0.5", "--kappa1", "0.8", "--kappa0", "0.6")
    assert "83 subjects" in kap  # irr::N.cohen.kappa
    ni = _plan("noninferiority", "--expected", "0.9", "--reference", "0.9", "--margin", "0.1")
    assert "107 cases" in ni and "at least 94 succeed" in ni  # base-R pbinom search


def test_plan_mrmc_prints_power_grid_with_rjafroc_value() -> None:
    text = _plan(
        "mrmc",
        "--var-tr",
        "0.00020040252358",
        "--var-error",
        "0.00080228826557",
        "--cov1",
        "0.00034661370944",
        "--cov2",
        "0.00034407482886",
        "--cov3",
        "0.00023902837089",
        "--pilot-cases",
        "114",
        "--effect-size",
        "-0.043800322",
        "--readers",
        "5,10",
        "--cases",
        "100,165",
    )
    assert "0.805" in text  # RJafroc SsPowerGivenJK, J = 10, K = 165: 0.80541995
    assert "RJafroc SsPowerGivenJK" in text


def test_plan_bad_argument_is_a_command_error_naming_it() -> None:
    with pytest.raises(CommandError, match="kappa1"):
        _plan("kappa", "--rate1", "0.6", "--rate2", "0.55", "--kappa1", "0.9", "--kappa0", "0.7")
    with pytest.raises(CommandError, match="prevalence"):
        _plan("sens-spec", "--expected", "0.9", "--half-width", "0.05", "--prevalence", "0")
