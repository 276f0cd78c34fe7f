"""Reproducible randomisation of reading and rating orders.

Every permutation is derived from a session's stored seed and a stable key (e.g. the
reader's or rater's id), through numpy's ``SeedSequence``, so the same session always gives
each person the same order, orders of different people are independent, and the whole
randomisation can be exported and re-derived by anyone with the seed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import numpy as np


def new_seed() -> int:
    """A fresh 63-bit seed to store with a session."""
    return secrets.randbits(63)


def _key_entropy(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def rng_for(seed: int, key: str) -> np.random.Generator:
    """A generator determined by ``seed`` and ``key`` only."""
    if seed < 0:
        raise ValueError(f"seed: must be non-negative, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([seed, _key_entropy(key)]))


def permutation(seed: int, key: str, n: int) -> list[int]:
    """A permutation of ``range(n)`` determined by ``seed`` and ``key``."""
    if n < 0:
        raise ValueError(f"n: must be non-negative, got {n}")
    return rng_for(seed, key).permutation(n).tolist()


def balanced_assignment(
    seed: int, items: Sequence[str], people: Sequence[str], per_item: int
) -> dict[str, list[str]]:
    """Give each item to ``per_item`` distinct people so that workloads differ by at most one.

    Items are taken in a seeded random order and each goes to the ``per_item`` people with
    the smallest load so far (ties broken by a seeded random order of the people). Returns
    ``{person: [item, ...]}`` with each person's items in the order they were assigned.
    """
    if per_item < 1 or per_item > len(people):
        raise ValueError(f"per_item: must be between 1 and {len(people)}, got {per_item}")
    if len(set(people)) != len(people):
        raise ValueError("people: must be unique")
    rng = rng_for(seed, "balanced-assignment")
    order = rng.permutation(len(items))
    tiebreak = {p: i for i, p in enumerate(rng.permutation(len(people)).tolist())}
    load = {p: 0 for p in people}
    out: dict[str, list[str]] = {p: [] for p in people}
    names = list(people)
    for idx in order.tolist():
        chosen = sorted(names, key=lambda p: (load[p], tiebreak[names.index(p)]))[:per_item]
        for p in chosen:
            load[p] += 1
            out[p].append(items[idx])
    return out
