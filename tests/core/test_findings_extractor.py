"""The rule-based finding extractor (readerstudy.core.findings) on labelled sentences."""

from __future__ import annotations

import pytest

from readerstudy.core.findings import (
    FindingTerm,
    extract_findings,
    finding_statuses,
    parse_vocabulary,
)

TERMS = [
    FindingTerm("mass", "mass", ("肿块",)),
    FindingTerm("nme", "non-mass enhancement", ("NME", "非肿块强化", "非肿块样强化")),
    FindingTerm("enhancement", "enhancement", ("强化",)),
    FindingTerm("washout", "washout", ("washout curve", "廓清", "流出型")),
    FindingTerm("calcification", "calcification", ("calcifications", "钙化")),
]

#: (text, {finding: status}) — the findings not listed are not mentioned.
LABELLED: list[tuple[str, dict[str, str]]] = [
    ("No enhancement.", {"enhancement": "absent"}),
    ("Irregular mass without washout.", {"mass": "present", "washout": "absent"}),
    ("Mass with enhancement but no washout.", {"mass": "present", "enhancement": "present",
                                                "washout": "absent"}),
    ("No mass, enhancement or calcification.", {"mass": "absent", "enhancement": "absent",
                                                 "calcification": "absent"}),
    ("Segmental non-mass enhancement; no mass.", {"nme": "present", "mass": "absent"}),
    ("NME is not seen.", {"nme": "absent"}),
    ("Washout cannot be excluded.", {"washout": "uncertain"}),
    ("Possible mass in the upper outer quadrant.", {"mass": "uncertain"}),
    ("No change in the known mass.", {"mass": "present"}),
    ("There is no mass. Washout curve is present.", {"mass": "absent", "washout": "present"}),
    ("Negative for calcifications.", {"calcification": "absent"}),
    ("No evidence of suspicious enhancement, however a mass is seen.",
     {"enhancement": "absent", "mass": "present"}),
    ("Mass seen; the calcifications have resolved.", {"mass": "present", "calcification": "absent"}),
    ("未见强化。", {"enhancement": "absent"}),
    ("左乳可见肿块，未见廓清。", {"mass": "present", "washout": "absent"}),
    ("左乳外上象限非肿块强化，伴钙化。", {"nme": "present", "calcification": "present"}),
    ("无肿块及钙化。", {"mass": "absent", "calcification": "absent"}),
    ("考虑肿块可能", {"mass": "uncertain"}),
    ("钙化不除外", {"calcification": "uncertain"}),
    ("肿块较前无明显变化", {"mass": "present"}),
    ("时间-信号曲线呈流出型，未见肿块。", {"washout": "present", "mass": "absent"}),
    ("No mass on the left. A mass on the right.", {"mass": "present"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), LABELLED, ids=[t for t, _ in LABELLED])
def test_the_extractor_labels_each_sentence(text: str, expected: dict[str, str]) -> None:
    got = finding_statuses(text, TERMS)
    want = {t.key: expected.get(t.key, "not_mentioned") for t in TERMS}
    assert got == want


def test_the_labelled_sample_is_recovered_as_zero_one_labels() -> None:
    """Accuracy over every (sentence, finding) cell of the sample: all of them right."""
    cells = right = 0
    for text, expected in LABELLED:
        got = extract_findings(text, TERMS)
        for term in TERMS:
            cells += 1
            truth = expected.get(term.key) in ("present", "uncertain")
            right += got[term.key] == truth
    assert cells == len(LABELLED) * len(TERMS) and right == cells


def test_uncertain_mentions_follow_the_policy() -> None:
    assert extract_findings("Possible mass.", TERMS)["mass"] is True
    assert extract_findings("Possible mass.", TERMS, uncertain="absent")["mass"] is False
    with pytest.raises(ValueError, match="uncertain"):
        extract_findings("mass", TERMS, uncertain="maybe")


def test_the_longest_term_wins_over_the_term_it_contains() -> None:
    got = finding_statuses("Clumped non-mass enhancement.", TERMS)
    assert got["nme"] == "present" and got["mass"] == "not_mentioned"
    assert got["enhancement"] == "not_mentioned"


def test_the_negation_window_is_five_words() -> None:
    near = finding_statuses("No clear sign at all of mass.", TERMS)  # 5 words between
    far = finding_statuses("No clear sign at all in this of mass.", TERMS)  # 7 words between
    assert near["mass"] == "absent" and far["mass"] == "present"


def test_parse_vocabulary_reports_every_problem() -> None:
    raw = [
        {"key": "mass", "label": "Mass", "synonyms": ["肿块"]},
        {"key": "mass"},
        {"key": "a b"},
        {"key": "nme", "synonyms": "NME"},
        {"key": "tic", "colour": "red"},
    ]
    terms, problems = parse_vocabulary(raw)
    assert [t.key for t in terms] == ["mass"]
    assert [(i, field) for i, field, _ in problems] == [
        (1, "key"), (2, "key"), (3, "synonyms"), (4, "colour")
    ]  # fmt: skip
    assert parse_vocabulary("mass")[1] == [
        (None, "findings", "must be an array of tables [[findings]]")
    ]
    assert parse_vocabulary(None) == ([], [])
