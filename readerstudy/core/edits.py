"""Edit distances between an AI draft and the text a reader kept (pure, no Django).

The Levenshtein distance is the least number of single-item insertions, deletions and
substitutions turning one sequence into the other (Levenshtein 1966), computed by the
Wagner–Fischer dynamic programme (Wagner & Fischer 1974):
``d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1, d[i-1][j-1] + [a_i != b_j])``.
Characters are compared as they are; words are the whitespace-separated tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def levenshtein(a: Sequence[object], b: Sequence[object]) -> int:
    """The Levenshtein distance between two sequences (strings, lists of words)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (item != other))
            )
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class EditDistance:
    """How far the final text is from the draft, in characters and in words."""

    chars: int
    words: int


def edit_distance(*, draft: str, final: str) -> EditDistance:
    """Character and word Levenshtein distances from ``draft`` to ``final``."""
    return EditDistance(
        chars=levenshtein(draft, final), words=levenshtein(draft.split(), final.split())
    )
