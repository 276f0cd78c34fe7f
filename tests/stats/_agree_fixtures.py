"""Shared helpers for the agreement / diagnostic / consensus / Likert tests.

Kept out of ``conftest.py`` on purpose (another branch owns it): test modules import
these helpers directly.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

R_DIR = Path(__file__).parent / "r"
TOL = 1e-6


@cache
def load_reference(name: str) -> dict[str, Any]:
    """Load ``tests/stats/r/<name>.json`` written by the R script of the same name."""
    with (R_DIR / f"{name}.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def as_float(value: Any) -> float:
    """JSON ``null`` (R ``NA``) becomes NaN."""
    return float("nan") if value is None else float(value)


def assert_close(actual: Any, expected: Any, *, tol: float = TOL) -> None:
    """Compare numbers (or sequences) to ``tol`` absolute; NaN equals NaN/None."""
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = np.atleast_1d(np.asarray([as_float(v) for v in np.atleast_1d(expected)], dtype=float))
    np.testing.assert_allclose(a, e, rtol=0, atol=tol, equal_nan=True)
