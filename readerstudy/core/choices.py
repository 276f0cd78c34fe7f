"""Vocabulary shared by every layer: lists of allowed values, defined once (issue 13, rule 2).

Pure Python at the bottom of the layers: this module imports nothing (beyond ``typing``), so
the Django models (``Study.Consensus``), the bundle parser, the reading pages and the pure
statistics (``analysis.stats.consensus``) all take their values from here without loading
Django. Labels are the ones shown to people (forms, admin, the API schema).
"""

from __future__ import annotations

from typing import Final

#: The consensus rules of a study (``Study.consensus``, ``[repeats] consensus`` of
#: ``study.toml``): value -> label. How a reader's repeated runs of one case become its final
#: category; implemented by :func:`analysis.stats.consensus.consensus`. The first is the default.
CONSENSUS_RULES: Final[dict[str, str]] = {
    "majority-median": "Majority of runs; median when no majority",
    "median": "Median of runs (lower middle when even)",
    "mode-lowest": "Most frequent category; lowest when tied",
    "first-run": "First run only",
}

#: The default consensus rule (the worked example's: majority, else median).
DEFAULT_CONSENSUS: Final[str] = "majority-median"
