"""Tests of analysis.stats.heterogeneity against R (tests/stats/r/heterogeneity_reference.R)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.stats.heterogeneity import HETEROGENEITY_COLUMNS, cochran_q
from analysis.stats.roc import reader_aucs
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("heterogeneity_reference")
FIELDS = [c for c in HETEROGENEITY_COLUMNS if c not in ("n_groups", "df")]


@pytest.mark.parametrize("case", ["small", "equal"])
def test_cochran_q_matches_base_r(case: str) -> None:
    ref = REF[case]
    got = cochran_q(ref["y"], ref["se"]).iloc[0]
    for field in FIELDS:
        assert_close(got[field], ref[field])
    assert got["df"] == ref["df"] and got["n_groups"] == ref["n_groups"]


def test_confidence_changes_only_the_pooled_interval() -> None:
    ref = REF["small"]["level90"]
    got = cochran_q(REF["small"]["y"], REF["small"]["se"], confidence=0.9).iloc[0]
    assert_close(got["pooled_ci_low"], ref["pooled_ci_low"])
    assert_close(got["pooled_ci_high"], ref["pooled_ci_high"])
    assert_close(got["statistic"], ref["statistic"])


def test_q_of_the_delong_aucs_of_three_subgroups_matches_proc() -> None:
    ref = REF["subgroups"]
    data = pd.DataFrame(ref["data"]).assign(reader_id="A")
    aucs = pd.concat([reader_aucs(part).assign(subgroup=g) for g, part in data.groupby("subgroup")])
    assert_close(aucs["statistic"], ref["auc"])
    assert_close(aucs["se"], ref["se"])
    got = cochran_q(aucs["statistic"], aucs["se"]).iloc[0]
    for field in FIELDS:
        assert_close(got[field], ref["test"][field])


def test_equal_estimates_give_q_zero_and_p_one() -> None:
    got = cochran_q([0.7, 0.7, 0.7], [0.1, 0.05, 0.2]).iloc[0]
    assert got["statistic"] == pytest.approx(0, abs=1e-12)
    assert got["p_value"] == pytest.approx(1) and got["i_squared"] == 0


@pytest.mark.parametrize(
    ("estimates", "se", "arg"),
    [
        ([0.7], [0.1], "estimates"),
        ([0.7, 0.8], [0.1], "se"),
        ([0.7, float("nan")], [0.1, 0.1], "estimates"),
        ([0.7, 0.8], [0.1, 0.0], "se"),
    ],
)
def test_bad_input_names_the_argument(estimates: list[float], se: list[float], arg: str) -> None:
    with pytest.raises(ValueError, match=f"^{arg}:"):
        cochran_q(estimates, se)
