"""The case list of a study: its filter and its selections (by filter, by a list of ids, or
at random, n per class with a seed), and which sessions include each case."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from readerstudy.studies.models import Case, Study


@dataclass(frozen=True)
class CaseFilter:
    """What the case list shows. ``truth`` is honoured for coordinators only (the view
    never passes it otherwise)."""

    split: str = ""
    truth: int | None = None
    attribute: str = ""
    value: str = ""
    ids: tuple[str, ...] = ()
    per_class: int | None = None
    seed: int = 1


def split_ids(text: str) -> tuple[str, ...]:
    """Case ids separated by spaces, commas, semicolons or new lines, in order, once each."""
    return tuple(dict.fromkeys(c for c in re.split(r"[\s,;]+", text) if c))


def cases_filtered(*, study: Study, spec: CaseFilter) -> QuerySet[Case]:
    """The study's cases matching ``spec`` (without the random selection), in study order."""
    cases = Case.objects.filter(study=study).order_by("position", "code")
    if spec.split:
        cases = cases.filter(split=spec.split)
    if spec.truth is not None:
        cases = cases.filter(truth=spec.truth)
    if spec.attribute:
        cases = cases.filter(**{f"attributes__{spec.attribute}": spec.value})
    if spec.ids:
        cases = cases.filter(code__in=spec.ids)
    return cases


def cases_selected(*, study: Study, spec: CaseFilter) -> list[Case]:
    """The selection: the filtered cases, or ``per_class`` of each truth class drawn with
    ``seed`` (every case of a class smaller than n), in study order. The same seed draws the
    same cases."""
    cases = list(cases_filtered(study=study, spec=spec))
    if not spec.per_class:
        return cases
    rng = random.Random(spec.seed)
    chosen: set[int] = set()
    for truth in (0, 1):
        pool = [c.pk for c in cases if c.truth == truth]
        chosen.update(rng.sample(pool, min(spec.per_class, len(pool))))
    return [c for c in cases if c.pk in chosen]


def case_sessions(*, study: Study, case_ids: list[int]) -> dict[int, list[str]]:
    """The names of the reading sessions (and "rating: " sessions) that include each case.

    Through the reverse relations the session models declare on ``Study`` (the reading and
    rating parts sit above this one, so they are not imported)."""
    names: dict[int, list[str]] = defaultdict(list)
    reading = study.reading_sessions.filter(cases__case_id__in=case_ids)  # type: ignore[attr-defined]
    for name, case_id in reading.values_list("name", "cases__case_id").distinct():
        names[case_id].append(name)
    rating = study.rating_sessions.filter(items__reading__case_id__in=case_ids)  # type: ignore[attr-defined]
    for name, case_id in rating.values_list("name", "items__reading__case_id").distinct():
        names[case_id].append(f"rating: {name}")
    return names
