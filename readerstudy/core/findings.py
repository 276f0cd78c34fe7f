"""A study's finding vocabulary and the rule-based finding extractor (no Django).

The vocabulary is ``[[findings]]`` of ``study.toml``: each finding has a ``key`` (letters,
digits, ``-``, ``_``), a ``label`` and optional ``synonyms``, in English or Chinese. The
bundle parser checks it with :func:`parse_vocabulary`; the analysis and the extractor read
it back from ``Study.config`` the same way.

:func:`extract_findings` labels a report text against the vocabulary with NegEx-style
rules (Chapman et al. 2001): the text is cut into sentences and clauses (a clause ends at
``but``, ``however``, ``except``, ``，``, ``但`` ...); a mention of a finding is *negated*
when a negation trigger stands before it in its clause (English: at most
:data:`WINDOW` words before it, as NegEx) or a post-negation trigger after it ("is not
seen", "未见显示"), *uncertain* with an uncertainty trigger ("possible", "cannot be
excluded", "可能", "不除外"), else *present*. Longer triggers win over the shorter ones
they contain ("cannot be excluded" is uncertainty, not negation), pseudo-triggers ("no
change", "无明显变化") are masked, and the nearest trigger decides. A finding mentioned
several times is present if one mention is, else uncertain if one is, else negated; a
finding never mentioned is ``not_mentioned``.

References
----------
Chapman WW, Bridewell W, Hanbury P, Cooper GF, Buchanan BG (2001). A simple algorithm for
identifying negated findings and diseases in discharge summaries. J Biomed Inform 34,
301-310.

Irvin J, et al. (2019). CheXpert: a large chest radiograph dataset with uncertainty labels
and expert comparison. Proc. AAAI 33, 590-597 (the present / negated / uncertain labels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

KEY_RE = re.compile(r"[-a-zA-Z0-9_]+")
MAX_KEY_LENGTH = 100
MAX_LABEL_LENGTH = 200

#: The statuses of a finding in a text, in order of precedence between mentions.
STATUSES: tuple[str, ...] = ("present", "uncertain", "absent", "not_mentioned")
Status = Literal["present", "uncertain", "absent", "not_mentioned"]
#: How an uncertain mention is labelled (``present`` 1 or ``absent`` 0).
UNCERTAIN_POLICIES: tuple[str, ...] = ("present", "absent")

#: English words between a pre-trigger and the mention it negates (NegEx's window).
WINDOW = 5


@dataclass(frozen=True)
class FindingTerm:
    """One finding of a study's vocabulary."""

    key: str
    label: str
    synonyms: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """Label, synonyms and the key with spaces, each once, as they are matched."""
        seen: dict[str, None] = {}
        for phrase in (self.label, *self.synonyms, self.key.replace("_", " ")):
            text = " ".join(phrase.lower().split())
            if text:
                seen.setdefault(text, None)
        return tuple(seen)


def parse_vocabulary(raw: object) -> tuple[list[FindingTerm], list[tuple[int | None, str, str]]]:
    """Check ``[[findings]]`` of study.toml; return the terms and every problem.

    A problem is ``(index of the finding or None, field, message)``; with problems the
    terms that could be read are still returned.
    """
    problems: list[tuple[int | None, str, str]] = []
    terms: list[FindingTerm] = []
    if raw is None:
        return terms, problems
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        return terms, [(None, "findings", "must be an array of tables [[findings]]")]
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = item.get("key")
        if not isinstance(key, str) or not KEY_RE.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
            problems.append(
                (
                    i,
                    "key",
                    f"finding {i + 1}: key must be at most {MAX_KEY_LENGTH} letters, digits, "
                    f"'-' or '_', got {key!r}",
                )
            )
            continue
        if key in seen:
            problems.append((i, "key", f"finding key {key!r} appears twice"))
            continue
        seen.add(key)
        label = item.get("label", key.replace("_", " "))
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
            problems.append(
                (i, "label", f"finding {key!r}: label must be a non-empty string of at most "
                 f"{MAX_LABEL_LENGTH} characters")
            )  # fmt: skip
            continue
        synonyms = item.get("synonyms", [])
        if not isinstance(synonyms, list) or not all(
            isinstance(s, str) and s.strip() for s in synonyms
        ):
            problems.append((i, "synonyms", f"finding {key!r}: synonyms must be a list of strings"))
            continue
        unknown = sorted(set(item) - {"key", "label", "synonyms"})
        if unknown:
            problems.append(
                (i, unknown[0], f"finding {key!r}: unknown field(s) {', '.join(unknown)} "
                 "(expected key, label, synonyms)")
            )  # fmt: skip
            continue
        terms.append(FindingTerm(key, label.strip(), tuple(s.strip() for s in synonyms)))
    return terms, problems


def study_vocabulary(config: dict[str, Any]) -> list[FindingTerm]:
    """The finding vocabulary of a study's stored ``config`` (checked on import)."""
    terms, _ = parse_vocabulary(config.get("findings"))
    return terms


# --------------------------------------------------------------------------------------
# triggers
# --------------------------------------------------------------------------------------

NEGATION_PRE_EN = (
    "no", "not", "without", "absence of", "absent", "negative for", "free of",
    "no evidence of", "no sign of", "no signs of", "no definite", "no suspicious", "nor",
    "denies", "ruled out", "rules out", "never",
)  # fmt: skip
NEGATION_POST_EN = (
    "is absent", "are absent", "was absent", "not seen", "is not seen", "are not seen",
    "not identified", "not present", "is not present", "was not seen", "not detected",
    "not demonstrated", "not visualized", "has resolved", "have resolved", "resolved",
    "ruled out", "excluded",
    "was excluded", "is excluded", "negative",
)  # fmt: skip
UNCERTAIN_PRE_EN = (
    "possible", "possibly", "probable", "probably", "may represent", "may be", "might",
    "could be", "suspicious for", "suspected", "suspect", "questionable", "equivocal",
    "likely", "concern for", "concerning for", "suggestive of", "cannot exclude",
    "can not exclude", "cannot rule out", "cannot be ruled out", "rule out",
    "differential includes", "indeterminate",
)  # fmt: skip
UNCERTAIN_POST_EN = (
    "cannot be excluded", "can not be excluded", "cannot be ruled out", "is not excluded",
    "not excluded", "is possible", "is suspected", "is likely", "is questionable",
    "is not entirely excluded",
)  # fmt: skip
PSEUDO_EN = (
    "no change", "no significant change", "no interval change", "not only", "no increase",
    "without change", "not changed", "no further", "not necessarily",
)  # fmt: skip
TERMINATORS_EN = (
    "but", "however", "although", "though", "except", "apart from", "aside from", "which",
    "yet", "whereas", "while",
)  # fmt: skip

NEGATION_PRE_ZH = (
    "未见",
    "未发现",
    "未显示",
    "未探及",
    "没有",
    "无",
    "不伴",
    "不伴有",
    "未",
    "否认",
)
NEGATION_POST_ZH = ("未见显示", "消失", "阴性", "已排除", "不明显")
UNCERTAIN_PRE_ZH = ("可能", "疑似", "疑为", "考虑", "可疑", "倾向", "不除外", "不排除", "待排")
UNCERTAIN_POST_ZH = ("不能除外", "不能排除", "可能性大")
PSEUDO_ZH = ("无明显变化", "无变化", "未见变化", "无明显改变")
TERMINATORS_ZH = ("但是", "但", "然而", "而", "，", "；")

#: Sentence ends (English and Chinese).
SENTENCE_RE = re.compile(r"[.!?;。！？；\n]+(?:\s+|$)|[。！？；\n]")

_Kind = Literal["neg_pre", "neg_post", "unc_pre", "unc_post", "pseudo", "term"]


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _pattern(phrase: str) -> str:
    """A phrase as a regex: CJK as a substring, other text between word boundaries."""
    if _is_cjk(phrase):
        return re.escape(phrase)
    words = [re.escape(w) for w in phrase.split()]
    return r"(?<![\w-])" + r"\s+".join(words) + r"(?![\w-])"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: _Kind
    key: str = ""


def _triggers() -> list[tuple[str, _Kind]]:
    out: list[tuple[str, _Kind]] = []
    groups: tuple[tuple[tuple[str, ...], _Kind], ...] = (
        (PSEUDO_EN + PSEUDO_ZH, "pseudo"),
        (UNCERTAIN_PRE_EN + UNCERTAIN_PRE_ZH, "unc_pre"),
        (UNCERTAIN_POST_EN + UNCERTAIN_POST_ZH, "unc_post"),
        (NEGATION_PRE_EN + NEGATION_PRE_ZH, "neg_pre"),
        (NEGATION_POST_EN + NEGATION_POST_ZH, "neg_post"),
    )
    for phrases, kind in groups:
        out.extend((p, kind) for p in phrases)
    return out


_TRIGGERS = _triggers()
_TERMINATOR_RE = re.compile(
    "|".join([_pattern(t) for t in TERMINATORS_EN] + [re.escape(t) for t in TERMINATORS_ZH]),
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[\w-]+")


def _spans(clause: str, terms: list[FindingTerm]) -> list[_Span]:
    """Non-overlapping terms and triggers of a clause, longest first (terms before triggers
    of the same length)."""
    candidates: list[tuple[int, int, int, _Span]] = []
    lowered = clause.lower()
    for term in terms:
        for phrase in term.phrases:
            for m in re.finditer(_pattern(phrase), lowered):
                candidates.append((-(m.end() - m.start()), 0, m.start(), _Span(
                    m.start(), m.end(), "term", term.key)))  # fmt: skip
    for phrase, kind in _TRIGGERS:
        for m in re.finditer(_pattern(phrase), lowered):
            candidates.append(
                (-(m.end() - m.start()), 1, m.start(), _Span(m.start(), m.end(), kind))
            )
    taken = [False] * len(clause)
    spans: list[_Span] = []
    for _, _, _, span in sorted(candidates, key=lambda c: c[:3]):
        if any(taken[span.start : span.end]):
            continue
        for i in range(span.start, span.end):
            taken[i] = True
        spans.append(span)
    return sorted(spans, key=lambda s: s.start)


def _words_between(clause: str, start: int, end: int) -> int:
    return len(_WORD_RE.findall(clause[start:end]))


def _mention_status(clause: str, spans: list[_Span], index: int) -> Status:
    """Status of the term at ``spans[index]``: the nearest trigger that reaches it decides."""
    term = spans[index]
    best: tuple[int, Status] | None = None
    for other in spans:
        if other.kind in ("term", "pseudo"):
            continue
        if other.kind in ("neg_pre", "unc_pre") and other.end <= term.start:
            gap = term.start - other.end
            cjk = _is_cjk(clause[other.start : other.end])
            if not cjk and _words_between(clause, other.end, term.start) > WINDOW:
                continue
        elif other.start >= term.end and (
            other.kind in ("neg_post", "unc_post")
            or (other.kind == "unc_pre" and _is_cjk(clause[other.start : other.end]))
        ):
            gap = other.start - term.end
            if _words_between(clause, term.end, other.start) > WINDOW:
                continue
        else:
            continue
        status: Status = "absent" if other.kind.startswith("neg") else "uncertain"
        if best is None or gap < best[0]:
            best = (gap, status)
    return "present" if best is None else best[1]


def _clauses(text: str) -> list[str]:
    out: list[str] = []
    for sentence in SENTENCE_RE.split(text):
        out.extend(part for part in _TERMINATOR_RE.split(sentence) if part.strip())
    return out


def finding_statuses(text: str, terms: list[FindingTerm]) -> dict[str, Status]:
    """The status of each finding of ``terms`` in ``text`` (see the module docstring).

    >>> from readerstudy.core.findings import FindingTerm, finding_statuses
    >>> terms = [FindingTerm("mass", "mass"), FindingTerm("washout", "washout", ("廓清",))]
    >>> finding_statuses("Irregular mass; no washout.", terms)
    {'mass': 'present', 'washout': 'absent'}
    >>> finding_statuses("未见廓清", terms)
    {'mass': 'not_mentioned', 'washout': 'absent'}
    """
    found: dict[str, set[Status]] = {t.key: set() for t in terms}
    for clause in _clauses(text):
        spans = _spans(clause, terms)
        for i, span in enumerate(spans):
            if span.kind == "term":
                found[span.key].add(_mention_status(clause, spans, i))
    out: dict[str, Status] = {}
    for term in terms:
        statuses = found[term.key]
        out[term.key] = next((s for s in STATUSES if s in statuses), "not_mentioned")  # type: ignore[assignment]
    return out


def extract_findings(
    text: str, terms: list[FindingTerm], *, uncertain: str = "present"
) -> dict[str, bool]:
    """0/1 labels of every finding of ``terms`` in ``text``: present (and uncertain, unless
    ``uncertain="absent"``) is True; negated and never mentioned are False.

    >>> from readerstudy.core.findings import FindingTerm, extract_findings
    >>> terms = [FindingTerm("mass", "mass"), FindingTerm("nme", "non-mass enhancement")]
    >>> extract_findings("Possible non-mass enhancement, no mass.", terms)
    {'mass': False, 'nme': True}
    >>> extract_findings("Possible non-mass enhancement.", terms, uncertain="absent")
    {'mass': False, 'nme': False}
    """
    if uncertain not in UNCERTAIN_POLICIES:
        raise ValueError(f"uncertain: expected one of {UNCERTAIN_POLICIES}, got {uncertain!r}")
    positive = {"present", "uncertain"} if uncertain == "present" else {"present"}
    return {k: s in positive for k, s in finding_statuses(text, terms).items()}
