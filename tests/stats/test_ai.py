"""analysis.stats.ai against RJafroc's StSignificanceTestingCadVsRad (1T-RRRC, 1T-RRFC).

References: tests/stats/r/ai_vs_readers_reference.R (RJafroc 2.1.2) on its bundled
dataset09 (CAD + 9 radiologists, 200 cases) and a small seeded data set of ours. RJafroc
reports reader average − CAD; we report AI − reader average, so signs and CI ends swap.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats.ai import ai_vs_readers
from tests.stats.conftest import R_DIR

TOL = 1e-9


def _reference() -> dict[str, Any]:
    with (R_DIR / "ai_vs_readers_reference.json").open(encoding="utf-8") as fh:
        ref: dict[str, Any] = json.load(fh)
    return ref


def _data(name: str) -> pd.DataFrame:
    df = pd.read_csv(R_DIR / ("ai_dataset09.csv" if name == "dataset09" else "ai_small.csv"))
    return df.assign(reader_id=df["reader_id"].astype(str))


CASES = [
    (name, fom, method)
    for name in ("dataset09", "small")
    for fom in ("auc", "sensitivity", "specificity")
    for method in ("1T-RRRC", "1T-RRFC")
]


@pytest.mark.parametrize(("name", "fom", "method"), CASES)
def test_ai_vs_readers_matches_rjafroc(name: str, fom: str, method: str) -> None:
    entry = _reference()[name]
    df = _data(name)
    if fom != "auc":
        df = df.assign(rating=(df["rating"] >= entry["cut"]).astype(float))
    ref = entry[fom]["rrrc" if method == "1T-RRRC" else "rrfc"]
    out = ai_vs_readers(df, ai=str(entry["ai"]), fom=fom, method=method).iloc[0]
    assert out["ai_fom"] == pytest.approx(ref["fom_cad"], abs=TOL)
    assert out["readers_mean"] == pytest.approx(ref["avg_rad"], abs=TOL)
    assert out["statistic"] == pytest.approx(-ref["avg_diff"], abs=TOL)
    assert out["ci_low"] == pytest.approx(-ref["ci_avg_diff"][1], abs=TOL)
    assert out["ci_high"] == pytest.approx(-ref["ci_avg_diff"][0], abs=TOL)
    assert out["readers_ci_low"] == pytest.approx(ref["ci_avg_rad"][0], abs=TOL)
    assert out["readers_ci_high"] == pytest.approx(ref["ci_avg_rad"][1], abs=TOL)
    assert out["t"] == pytest.approx(-ref["t"], abs=TOL)
    assert out["df"] == pytest.approx(ref["df"], abs=1e-6)
    assert out["p_value"] == pytest.approx(ref["p"], abs=TOL)
    assert out["var_r"] == pytest.approx(ref["var_r"], abs=TOL)
    if method == "1T-RRRC":
        assert out["var_error"] == pytest.approx(ref["var_error"], abs=TOL)
        assert out["cov2"] == pytest.approx(ref["cov2"], abs=TOL)


def test_noninferiority_decision_is_the_ci_bound_against_the_margin() -> None:
    df = _data("small")
    base = ai_vs_readers(df, ai="AI").iloc[0]
    # the CI's lower bound is below 0 here: not non-inferior at a margin just inside it,
    # non-inferior at one just outside
    small_margin = -base["ci_low"] - 0.01
    wide_margin = -base["ci_low"] + 0.01
    tight = ai_vs_readers(df, ai="AI", margin=small_margin).iloc[0]
    wide = ai_vs_readers(df, ai="AI", margin=wide_margin).iloc[0]
    assert not tight["noninferior"] and tight["p_noninferiority"] > 0.025
    assert wide["noninferior"] and wide["p_noninferiority"] < 0.025
    # the AI is better here, so at margin 0 the one-sided p is half the two-sided one
    assert base["statistic"] > 0 and base["ci_low"] < 0
    assert base["p_noninferiority"] == pytest.approx(base["p_value"] / 2, abs=1e-12)


def test_reader_ids_need_not_be_ordered_and_the_ai_can_be_any_reader() -> None:
    df = _data("small")
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = ai_vs_readers(df, ai="AI")
    b = ai_vs_readers(shuffled, ai="AI")
    pd.testing.assert_frame_equal(a, b)
    other = ai_vs_readers(df, ai="R3").iloc[0]
    assert other["n_readers"] == 5 and other["ai_fom"] != a.iloc[0]["ai_fom"]


def test_identical_ai_and_readers_give_a_note_and_no_test() -> None:
    df = _data("small")
    one = df[df["reader_id"] == "AI"]
    same = pd.concat([one.assign(reader_id=r) for r in ("AI", "A", "B", "C")])
    out = ai_vs_readers(same, ai="AI").iloc[0]
    assert out["statistic"] == 0.0 and out["se"] == 0.0
    assert np.isnan(out["p_value"]) and np.isnan(out["ci_low"]) and out["note"]


def test_cis_stay_inside_the_bounds_of_a_difference() -> None:
    df = _data("small")
    out = ai_vs_readers(df, ai="AI", confidence=0.999999).iloc[0]
    assert -1.0 <= out["ci_low"] <= out["statistic"] <= out["ci_high"] <= 1.0
    assert 0.0 <= out["readers_ci_low"] <= out["readers_ci_high"] <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ai": "nobody"}, "ai:"),
        ({"ai": "AI", "fom": "ppv"}, "fom:"),
        ({"ai": "AI", "method": "2T-RRRC"}, "method:"),
        ({"ai": "AI", "margin": -0.1}, "margin:"),
        ({"ai": "AI", "confidence": 1.5}, "confidence:"),
        ({"ai": "AI", "fom": "sensitivity"}, "rating:"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ai_vs_readers(_data("small"), **kwargs)


def test_incomplete_design_and_too_few_readers_are_refused() -> None:
    df = _data("small")
    with pytest.raises(ValueError, match="fully crossed"):
        ai_vs_readers(df.iloc[1:], ai="AI")
    with pytest.raises(ValueError, match="two readers"):
        ai_vs_readers(df[df["reader_id"].isin(["AI", "R1"])], ai="AI")
