"""Shared fixtures for the statistics tests: reference datasets and R reference values.

The Van Dyke and Franken CSVs are copies of /work/shared/data/*.csv committed under
tests/stats/data/ (sha256 checked in test_mrmc.py against the values printed in
vandyke_reference.md and franken_reference.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

STATS_DIR = Path(__file__).resolve().parent
DATA_DIR = STATS_DIR / "data"
R_DIR = STATS_DIR / "r"

SHA256 = {
    "vandyke.csv": "4df995a76040c4a295fa84bec3fe73ed068ce6cc484e35edb1c9548168185e9d",
    "franken.csv": "c490cb179c37c5343a2a0ecd9f1036d693b9869839a4960223ffb0d5613051b0",
}


def r_number(value: Any) -> Any:
    """Turn the strings our R scripts write ("0.5", "Inf", "NaN", ...) into floats."""
    if isinstance(value, str):
        special = {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}
        if value in special:
            return special[value]
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [r_number(v) for v in value]
    if isinstance(value, dict):
        return {k: r_number(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="session")
def vandyke() -> pd.DataFrame:
    """Van Dyke (1993): 5 readers x 2 modalities x 114 cases (45 positive)."""
    return pd.read_csv(DATA_DIR / "vandyke.csv")


@pytest.fixture(scope="session")
def franken() -> pd.DataFrame:
    """Franken (1992): 4 readers x 2 modalities x 100 cases (67 positive)."""
    return pd.read_csv(DATA_DIR / "franken.csv")


@pytest.fixture(scope="session")
def roc_reference() -> dict[str, Any]:
    """pROC 1.18.0 results written by tests/stats/r/roc_reference.R."""
    with (R_DIR / "roc_reference.json").open(encoding="utf-8") as fh:
        raw = json.load(fh)
    out = r_number(raw)
    # reader ids are strings in R; keep them as written
    for ds in out["datasets"].values():
        for row in ds["readers"]:
            row["reader"] = str(row["reader"])
    return out


@pytest.fixture(scope="session")
def roc_datasets() -> dict[str, pd.DataFrame]:
    """The synthetic datasets written by roc_reference.R (reader_id, case_id, truth, rating)."""
    return {
        name: pd.read_csv(R_DIR / f"roc_{name}.csv", dtype={"reader_id": str})
        for name in ("discrete", "continuous", "edge")
    }
