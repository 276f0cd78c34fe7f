"""Tests of analysis.stats.multiplicity against R p.adjust (tests/stats/r/multiplicity_reference.R)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats.multiplicity import P_ADJUST_METHODS, adjust_p, check_p_adjust
from tests.stats._agree_fixtures import assert_close, load_reference

REF = load_reference("multiplicity_reference")


@pytest.mark.parametrize("dataset", REF["sets"], ids=lambda d: d["name"][0])
@pytest.mark.parametrize("method", P_ADJUST_METHODS)
def test_adjust_p_matches_r_p_adjust(dataset: dict, method: str) -> None:
    got = adjust_p(np.array(dataset["p"], dtype=float), method)
    assert_close(got, dataset[method], tol=1e-12)


def test_missing_p_values_stay_missing_and_do_not_count() -> None:
    got = adjust_p([0.01, np.nan, 0.02], "bonferroni")
    assert np.isnan(got[1])
    assert_close(got[[0, 2]], [0.02, 0.04], tol=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjustments_are_ordered_between_raw_and_bonferroni(p: list[float]) -> None:
    raw = np.array(p)
    bonferroni = adjust_p(raw, "bonferroni")
    for method in ("holm", "fdr"):
        adj = adjust_p(raw, method)
        assert (adj >= raw - 1e-15).all() and (adj <= bonferroni + 1e-15).all()
        # the order of the p values is kept
        order = np.argsort(raw, kind="stable")
        assert (np.diff(adj[order]) >= -1e-15).all()


def test_an_unknown_method_is_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="method: expected one of none, holm, bonferroni, fdr"):
        adjust_p([0.1], "sidak")
    with pytest.raises(ValueError, match="--p-adjust"):
        check_p_adjust("BH", arg="--p-adjust")
