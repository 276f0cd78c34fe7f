"""Input checks shared by the statistics modules (no Django)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

NanPolicy = Literal["raise", "omit"]


def require_frame(df: object, *, arg: str = "df") -> pd.DataFrame:
    """Return ``df`` if it is a non-empty DataFrame, else raise ``ValueError``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{arg}: expected a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError(f"{arg}: the DataFrame is empty")
    return df


def require_columns(df: pd.DataFrame, columns: dict[str, str], *, arg: str = "df") -> None:
    """Check that every column named in ``columns`` exists.

    ``columns`` maps the keyword argument name (e.g. ``"truth"``) to the column name
    the caller passed, so the message names both.
    """
    missing = [f"{kw}={col!r}" for kw, col in columns.items() if col not in df.columns]
    if missing:
        raise ValueError(f"{arg}: missing column(s) {', '.join(missing)}")


def apply_nan_policy(
    df: pd.DataFrame, columns: Iterable[str], *, nan_policy: NanPolicy, arg: str = "df"
) -> pd.DataFrame:
    """Raise on NaN in ``columns`` (``"raise"``) or drop those rows (``"omit"``)."""
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy: expected 'raise' or 'omit', got {nan_policy!r}")
    cols = list(columns)
    mask = df[cols].isna().any(axis=1)
    if not mask.any():
        return df
    if nan_policy == "raise":
        bad = ", ".join(c for c in cols if df[c].isna().any())
        raise ValueError(
            f"{arg}: {int(mask.sum())} row(s) have NaN in {bad}; pass nan_policy='omit' to drop them"
        )
    return df.loc[~mask]


def binary_truth(values: pd.Series, *, arg: str = "truth") -> np.ndarray:
    """Return ``values`` as a boolean array, requiring only 0/1 (or bool) values."""
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if np.isnan(arr).any() or not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError(f"{arg}: values must be 0 or 1")
    truth: np.ndarray = arr.astype(bool)
    return truth


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` if strictly between 0 and 1."""
    if not (0.0 < float(confidence) < 1.0):
        raise ValueError(f"confidence: must be between 0 and 1, got {confidence!r}")
    return float(confidence)


def require_numeric(df: pd.DataFrame, column: str, *, arg: str) -> np.ndarray:
    """Return ``df[column]`` as a float array, raising if a non-NaN value is not numeric."""
    values: np.ndarray = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & df[column].notna().to_numpy()
    if bad.any():
        raise ValueError(f"{arg}: column {column!r} must be numeric")
    return values


def check_range(values: np.ndarray, *, low: float, high: float, arg: str) -> None:
    """Raise if a finite value of ``values`` lies outside ``[low, high]``."""
    if low > high:
        raise ValueError(f"low/high: low={low!r} is greater than high={high!r}")
    finite = values[~np.isnan(values)]
    if ((finite < low) | (finite > high)).any():
        raise ValueError(f"{arg}: values must lie between {low!r} and {high!r}")


def require_unique(df: pd.DataFrame, columns: dict[str, str], *, arg: str = "df") -> None:
    """Raise if two rows share the same values in ``columns`` (kw name -> column name)."""
    cols = list(columns.values())
    dup = df.duplicated(subset=cols, keep=False)
    if dup.any():
        names = ", ".join(f"{kw}={col!r}" for kw, col in columns.items())
        raise ValueError(f"{arg}: {int(dup.sum())} rows repeat the same {names}")
