"""analysis.stats.reading_time against R: quantile(type 7), lme4::lmer, wilcox.test.

Reference: tests/stats/r/reading_time_reference.R. The variance components come from
statsmodels' REML optimiser (agree with lme4 to about 1e-6); β, SE, ratio, CI and p to 1e-6.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from analysis.stats.reading_time import (
    reading_time_model,
    reading_time_summary,
    reading_time_wilcoxon,
)
from tests.stats.conftest import R_DIR


def _ref() -> dict[str, Any]:
    with (R_DIR / "reading_time_reference.json").open(encoding="utf-8") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


def _data() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "reading_time.csv")


def test_summary_matches_r_quantiles() -> None:
    out = reading_time_summary(_data())
    ref = pd.DataFrame(_ref()["summary"])
    both = out.merge(ref, on=["reader", "modality"], suffixes=("", "_r"))
    assert len(both) == len(ref) == 11
    for col in ("n", "median", "q1", "q3"):
        assert (both[col] - both[f"{col}_r"]).abs().max() < 1e-9


def test_mixed_model_matches_lme4() -> None:
    out = reading_time_model(_data(), reference=1, treatment=2).iloc[0]
    ref = _ref()["model"]
    assert out["beta"] == pytest.approx(ref["beta"], abs=1e-6)
    assert out["se"] == pytest.approx(ref["se"], abs=1e-6)
    assert out["statistic"] == pytest.approx(ref["ratio"], abs=1e-6)
    assert out["ci_low"] == pytest.approx(ref["ci"][0], abs=1e-6)
    assert out["ci_high"] == pytest.approx(ref["ci"][1], abs=1e-6)
    assert out["p_value"] == pytest.approx(ref["p"], abs=1e-9)
    for key in ("var_reader", "var_case", "var_residual"):
        assert out[key] == pytest.approx(ref[key], abs=1e-5)
    assert out["n"] == ref["n"] and out["note"] == ""


def test_wilcoxon_matches_r_exact_and_with_ties() -> None:
    out = reading_time_wilcoxon(_data(), reference=1, treatment=2)
    ref = pd.DataFrame(_ref()["wilcoxon"])
    both = out.merge(ref, on="reader")
    assert len(both) == 5  # R6 read one modality only: no pairs
    assert (both["statistic"] - both["V"]).abs().max() == 0
    assert (both["p_value"] - both["p"]).abs().max() < 1e-12
    ties = _ref()["ties"]
    df = pd.DataFrame(
        {
            "reader_id": "A",
            "case_id": list(range(8)) * 2,
            "modality": [1] * 8 + [2] * 8,
            "seconds": ties["unaided"] + ties["aided"],
        }
    )
    row = reading_time_wilcoxon(df, reference=1, treatment=2).iloc[0]
    assert row["statistic"] == ties["V"]
    assert row["p_value"] == pytest.approx(ties["p"], abs=1e-12)


def test_bad_arguments_are_named() -> None:
    df = _data()
    with pytest.raises(ValueError, match="treatment:"):
        reading_time_model(df, reference=1, treatment=3)
    with pytest.raises(ValueError, match="seconds:"):
        reading_time_summary(df.assign(seconds=-1.0))
    with pytest.raises(ValueError, match="confidence:"):
        reading_time_model(df, reference=1, treatment=2, confidence=2)
