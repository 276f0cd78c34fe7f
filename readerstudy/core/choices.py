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

#: The Likert domains of the worked example, (key, label, group), in its order: the default
#: of a study created on the web, and the demo's (``fixtures.demo_ratings.LIKERT_DOMAINS``).
DEFAULT_LIKERT_DOMAINS: Final[tuple[tuple[str, str, str], ...]] = (
    ("specific_diagnosis", "Specific diagnosis", "Professional judgment"),
    ("differential_diagnosis", "Differential diagnosis", "Professional judgment"),
    ("scientific_terminology", "Scientific terminology", "Knowledge accuracy"),
    ("correctness", "Correctness", "Knowledge accuracy"),
    ("coherence", "Coherence", "Report structure"),
    ("comprehensiveness", "Comprehensiveness", "Report structure"),
    ("management_recommendations", "Management recommendations", "Report structure"),
    ("harmlessness", "Harmlessness", "Safety and ethics"),
    ("lack_of_bias", "Lack of bias", "Safety and ethics"),
)
