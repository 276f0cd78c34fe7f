"""Study-level configuration of the judgment instruments: acceptability scale, error taxonomy.

Both live in ``Study.config`` (the tables ``[acceptability]`` and ``[errors]`` of
``study.toml``, kept verbatim like the study's other instrument settings, and written back on
export); a study without them uses the defaults below. ``parse_acceptability`` and
``parse_errors`` check a raw table and return the configuration with every problem found,
as ``(key, message)`` pairs (the bundle parser adds the file and line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from readerstudy.studies.models import Study

#: The category of an error annotation that records "no errors" (never in a taxonomy).
NO_ERRORS = "none"

#: Default acceptability scale: value → label; a higher value is a better report.
DEFAULT_ACCEPTABILITY_LABELS: dict[int, str] = {
    4: "acceptable without changes",
    3: "acceptable with minor edits",
    2: "major edits needed",
    1: "unacceptable",
}
#: Default cut-off: grades at or above it count as acceptable ("minor edits").
DEFAULT_ACCEPTABILITY_CUTOFF = 3

#: Default error taxonomy: category key → label, in display order.
DEFAULT_ERROR_CATEGORIES: dict[str, str] = {
    "false_finding": "false finding",
    "missed_finding": "missed finding",
    "wrong_location": "wrong location",
    "wrong_severity": "wrong severity or category",
    "wrong_comparison": "wrong comparison",
    "other": "other",
}

CATEGORY_KEY_RE = re.compile(r"[a-z0-9_]+")
MAX_CATEGORY_KEY = 40
MAX_LABEL = 200
MAX_GRADES = 20
GRADE_RANGE = (-100, 100)

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class AcceptabilityScale:
    """An ordinal scale of acceptability; grades ``>= cutoff`` are acceptable."""

    labels: dict[int, str]
    cutoff: int

    @property
    def values(self) -> list[int]:
        """The grades, best (highest) first."""
        return sorted(self.labels, reverse=True)

    def acceptable(self, grade: int) -> bool:
        return grade >= self.cutoff


@dataclass(frozen=True)
class ErrorTaxonomy:
    """The categories of error annotation (key → label); ``none`` records "no errors"."""

    categories: dict[str, str]

    @property
    def keys(self) -> list[str]:
        """Every category an annotation may have, ``none`` last."""
        return [*self.categories, NO_ERRORS]


DEFAULT_ACCEPTABILITY = AcceptabilityScale(
    dict(DEFAULT_ACCEPTABILITY_LABELS), DEFAULT_ACCEPTABILITY_CUTOFF
)
DEFAULT_TAXONOMY = ErrorTaxonomy(dict(DEFAULT_ERROR_CATEGORIES))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_acceptability(raw: object) -> tuple[AcceptabilityScale, Problems]:
    """``[acceptability]``: ``values`` (integers), ``labels`` (value → label), ``cutoff``.

    Missing keys take the defaults: ``values`` those of the labels (or the default scale),
    ``labels`` the default labels of the default values (else none), ``cutoff`` the default
    when it is on the scale. Problems come back with the default scale.
    """
    if raw is None:
        return DEFAULT_ACCEPTABILITY, []
    problems: Problems = []
    if not isinstance(raw, dict):
        return DEFAULT_ACCEPTABILITY, [("acceptability", "must be a table")]
    unknown = sorted(set(raw) - {"values", "labels", "cutoff"})
    for key in unknown:
        problems.append((f"acceptability.{key}", "unknown key (expected values, labels, cutoff)"))
    raw_labels = raw.get("labels", {})
    labels: dict[int, str] = {}
    if not isinstance(raw_labels, dict):
        problems.append(("acceptability.labels", "must be a table mapping a grade to its label"))
        raw_labels = {}
    for key, label in raw_labels.items():
        try:
            number = int(key)
        except ValueError:
            problems.append(("acceptability.labels", f"label key {key!r} is not an integer grade"))
            continue
        if not isinstance(label, str) or not label.strip():
            problems.append(("acceptability.labels", f"label of {number} must be a string"))
        elif len(label) > MAX_LABEL:
            problems.append(
                ("acceptability.labels", f"label of {number} is longer than {MAX_LABEL} characters")
            )
        else:
            labels[number] = label
    values = raw.get("values")
    if values is None:
        values = sorted(labels, reverse=True) if raw_labels else DEFAULT_ACCEPTABILITY.values
    lo, hi = GRADE_RANGE
    if (
        not isinstance(values, list)
        or len(values) < 2
        or len(values) > MAX_GRADES
        or not all(_is_int(v) for v in values)
    ):
        problems.append(
            (
                "acceptability.values",
                f"must be a list of 2 to {MAX_GRADES} integers such as [4, 3, 2, 1]",
            )
        )
        return DEFAULT_ACCEPTABILITY, problems
    if len(set(values)) != len(values):
        problems.append(("acceptability.values", "grades must be unique"))
        return DEFAULT_ACCEPTABILITY, problems
    if any(not lo <= v <= hi for v in values):
        problems.append(("acceptability.values", f"grades must be between {lo} and {hi}"))
        return DEFAULT_ACCEPTABILITY, problems
    for number in labels:
        if number not in values:
            problems.append(("acceptability.labels", f"label for {number}, which is not a grade"))
    if not raw_labels and sorted(values) == sorted(DEFAULT_ACCEPTABILITY_LABELS):
        labels = dict(DEFAULT_ACCEPTABILITY_LABELS)
    cutoff = raw.get("cutoff")
    if cutoff is None and DEFAULT_ACCEPTABILITY_CUTOFF in values:
        cutoff = DEFAULT_ACCEPTABILITY_CUTOFF
    if not _is_int(cutoff) or cutoff not in values:
        problems.append(
            (
                "acceptability.cutoff",
                f"required: one of the grades {sorted(values)} (grades >= it are acceptable), "
                f"got {cutoff!r}",
            )
        )
        return DEFAULT_ACCEPTABILITY, problems
    if problems:
        return DEFAULT_ACCEPTABILITY, problems
    return AcceptabilityScale({v: labels.get(v, "") for v in values}, int(cutoff)), []


def parse_errors(raw: object) -> tuple[ErrorTaxonomy, Problems]:
    """``[errors]``: ``categories``, a table of category key → label, or an array of tables
    ``{key, label}`` (in display order)."""
    if raw is None:
        return DEFAULT_TAXONOMY, []
    if not isinstance(raw, dict):
        return DEFAULT_TAXONOMY, [("errors", "must be a table")]
    problems: Problems = []
    for key in sorted(set(raw) - {"categories"}):
        problems.append((f"errors.{key}", "unknown key (expected categories)"))
    raw_categories = raw.get("categories")
    if raw_categories is None:
        return (DEFAULT_TAXONOMY, problems) if problems else (DEFAULT_TAXONOMY, [])
    pairs: list[tuple[str, object]] = []
    if isinstance(raw_categories, dict):
        pairs = [(str(k), v) for k, v in raw_categories.items()]
    elif isinstance(raw_categories, list) and all(isinstance(c, dict) for c in raw_categories):
        # [[errors.categories]] key = ..., label = ...: the form that keeps its order in
        # every database (PostgreSQL's jsonb does not keep the order of a table's keys).
        for entry in raw_categories:
            key, label = entry.get("key"), entry.get("label")
            if not isinstance(key, str) or set(entry) - {"key", "label"}:
                problems.append(
                    ("errors.categories", "each [[errors.categories]] has a key and a label only")
                )
                continue
            pairs.append((key, label))
    if not pairs and not problems:
        problems.append(
            (
                "errors.categories",
                'must be a table of category key = label, e.g. false_finding = "false finding"',
            )
        )
        return DEFAULT_TAXONOMY, problems
    categories: dict[str, str] = {}
    for key, label in pairs:
        if key in categories:
            problems.append(("errors.categories", f"category {key!r} appears twice"))
        elif key == NO_ERRORS:
            problems.append(
                ("errors.categories", f"{NO_ERRORS!r} is reserved (it records 'no errors')")
            )
        elif not CATEGORY_KEY_RE.fullmatch(key) or len(key) > MAX_CATEGORY_KEY:
            problems.append(
                (
                    "errors.categories",
                    f"category key {key!r} must be at most {MAX_CATEGORY_KEY} lower-case "
                    "letters, digits or '_'",
                )
            )
        elif not isinstance(label, str) or not label.strip():
            problems.append(("errors.categories", f"label of {key!r} must be a non-empty string"))
        elif len(label) > MAX_LABEL:
            problems.append(
                ("errors.categories", f"label of {key!r} is longer than {MAX_LABEL} characters")
            )
        else:
            categories[key] = label
    if problems:
        return DEFAULT_TAXONOMY, problems
    return ErrorTaxonomy(categories), []


def _config(study: Study) -> dict[str, Any]:
    return study.config if isinstance(study.config, dict) else {}


def acceptability_scale(study: Study) -> AcceptabilityScale:
    """The study's acceptability scale (the default when ``study.toml`` had none)."""
    scale, problems = parse_acceptability(_config(study).get("acceptability"))
    return DEFAULT_ACCEPTABILITY if problems else scale


def error_taxonomy(study: Study) -> ErrorTaxonomy:
    """The study's error taxonomy (the default when ``study.toml`` had none)."""
    taxonomy, problems = parse_errors(_config(study).get("errors"))
    return DEFAULT_TAXONOMY if problems else taxonomy


@dataclass(frozen=True)
class DomainScale:
    """The Likert range of one domain (``low``..``high``) and its anchor labels."""

    low: int
    high: int
    anchors: dict[int, str]


def parse_domain_scale(raw: dict[str, Any], *, low: int, high: int) -> tuple[DomainScale, Problems]:
    """A ``[[likert.domains]]`` table's optional ``min``, ``max`` (inside the study's range
    ``low``..``high``, which the database enforces for every score) and ``anchors`` (a table of
    point → label, e.g. ``1 = "poor"``, or a list: one label per point from ``min``, or the
    labels of the two ends). Missing ``min``/``max`` take the study's."""
    problems: Problems = []
    lo, hi = raw.get("min", low), raw.get("max", high)
    if not _is_int(lo) or not _is_int(hi) or lo >= hi:
        problems.append(
            ("min", f"domain min and max must be integers with min < max, got {lo!r} and {hi!r}")
        )
        return DomainScale(low, high, {}), problems
    if lo < low or hi > high:
        problems.append(
            (
                "min",
                f"the domain's range {lo}-{hi} must lie inside the study's Likert range {low}-{high}",
            )
        )
        return DomainScale(low, high, {}), problems
    raw_anchors = raw.get("anchors", {})
    anchors: dict[int, str] = {}
    points = hi - lo + 1
    if isinstance(raw_anchors, list):
        # A list: one label per point from min, or the labels of the two ends.
        if len(raw_anchors) == points:
            raw_anchors = {str(lo + i): label for i, label in enumerate(raw_anchors)}
        elif len(raw_anchors) == 2:
            raw_anchors = {str(lo): raw_anchors[0], str(hi): raw_anchors[1]}
        else:
            problems.append(
                (
                    "anchors",
                    f"a list of anchors has one label per point ({points}) or the labels of "
                    f"the two ends, got {len(raw_anchors)}",
                )
            )
            raw_anchors = {}
    if not isinstance(raw_anchors, dict):
        problems.append(("anchors", 'must be a table mapping a point to its label: 1 = "poor"'))
        raw_anchors = {}
    for key, label in raw_anchors.items():
        try:
            point = int(key)
        except ValueError:
            problems.append(("anchors", f"anchor key {key!r} is not a point of the scale"))
            continue
        if not lo <= point <= hi:
            problems.append(("anchors", f"anchor {point} is outside the domain's range {lo}-{hi}"))
        elif not isinstance(label, str) or not label.strip():
            problems.append(("anchors", f"anchor {point} must be a non-empty string"))
        elif len(label) > MAX_LABEL:
            problems.append(("anchors", f"anchor {point} is longer than {MAX_LABEL} characters"))
        else:
            anchors[point] = label
    return DomainScale(int(lo), int(hi), anchors), problems


def domain_scale(extra: object, *, low: int, high: int) -> DomainScale:
    """The scale a domain's ``extra`` defines inside the study's ``low``..``high`` (the
    study's own range, without anchors, when it defines none or an invalid one)."""
    scale, problems = parse_domain_scale(
        extra if isinstance(extra, dict) else {}, low=low, high=high
    )
    return DomainScale(low, high, {}) if problems else scale


def stored_errors(raw: dict[str, Any], taxonomy: ErrorTaxonomy) -> dict[str, Any]:
    """``[errors]`` as the study's config keeps it: the categories as an array of
    ``{key, label}`` tables, whose order every database keeps."""
    return {
        **raw,
        "categories": [{"key": k, "label": v} for k, v in taxonomy.categories.items()],
    }


#: A pairwise judge's answers (``first``, ``second``, ``tie``) in each order (``ab``: output
#: A was shown first) as the canonical choice ``a`` / ``b`` / ``tie`` of a preference.
JUDGE_PAIRWISE_ANSWERS: tuple[str, ...] = ("first", "second", "tie")
_JUDGE_CANONICAL: dict[tuple[str, str], str] = {
    ("ab", "first"): "a",
    ("ab", "second"): "b",
    ("ba", "first"): "b",
    ("ba", "second"): "a",
}


def judge_choice(order: str, answer: str) -> str:
    """The canonical choice (``a``, ``b``, ``tie``) of a pairwise judge's ``answer``
    (``first``, ``second``, ``tie``) given in ``order`` (``ab``: A was shown first)."""
    if answer == "tie":
        return "tie"
    try:
        return _JUDGE_CANONICAL[(order, answer)]
    except KeyError:
        raise ValueError(f"order/answer: not a pairwise answer: {order!r}, {answer!r}") from None
