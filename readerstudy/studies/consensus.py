"""The final category of one reader's repeated runs on one case, by the study's consensus rule
(``Study.consensus``), for the parts below the analysis (the reading page's assisting model).

The rules are implemented once, by the statistics (``analysis.stats.consensus`` and
``analysis.results``), which sit above this part: the analysis registers its implementation
when it is ready (:func:`register_consensus`), so the reading pages and the results can never
disagree about a final category.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.core.exceptions import ImproperlyConfigured

#: ``combine(categories in run order, rule) -> final category``.
Combiner = Callable[[Sequence[int], str], int]

COMBINERS: list[Combiner] = []


def register_consensus(combiner: Combiner) -> None:
    """Make ``combiner`` the implementation of :func:`final_category` (the analysis does)."""
    COMBINERS[:] = [combiner]


def final_category(categories: Sequence[int], *, rule: str) -> int:
    """The final category of ``categories`` (one reader, one case, in run order) by ``rule``.

    ``ValueError`` when ``categories`` is empty.
    """
    if not categories:
        raise ValueError("categories: at least one run is needed")
    if not COMBINERS:
        raise ImproperlyConfigured(
            "no consensus implementation registered (is analysis installed?)"
        )
    return COMBINERS[0](categories, rule)
