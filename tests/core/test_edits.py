"""Edit distances against textbook values."""

from __future__ import annotations

import pytest

from readerstudy.core.edits import edit_distance, levenshtein


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("kitten", "sitting", 3),  # Levenshtein's classic example
        ("flaw", "lawn", 2),
        ("saturday", "sunday", 3),
        ("", "abc", 3),
        ("abc", "", 3),
        ("same", "same", 0),
        ("gumbo", "gambol", 2),
    ],
)
def test_levenshtein_matches_known_character_distances(a: str, b: str, expected: int) -> None:
    assert levenshtein(a, b) == expected
    assert levenshtein(b, a) == expected


def test_word_distance_counts_whole_words() -> None:
    d = edit_distance(
        draft="No suspicious enhancement. BI-RADS 1.",
        final="No suspicious mass enhancement. BI-RADS 2.",
    )
    # words: insert "mass", substitute "1." -> "2."
    assert d.words == 2
    # characters: insert "mass " (5) and substitute 1 -> 2 (1)
    assert d.chars == 6


def test_unchanged_draft_has_zero_distance() -> None:
    d = edit_distance(draft="Benign.", final="Benign.")
    assert (d.chars, d.words) == (0, 0)
