"""Blinding of outputs shown to raters: one display format, and a detector of self-identifying text.

:func:`normalise_output` rewrites any output (a model's answer or a radiologist's impression)
into one plain-text format, so that formatting habits (markdown emphasis and headers, bullet
characters, curly quotes, dash styles, the spelling of "BI-RADS", hard line wraps, trailing
signatures) cannot tell a rater where an output came from. The words are not changed.

:func:`detect_leaks` finds what the coordinator should look at before a rating session starts:
phrases by which an AI identifies itself ("As an AI language model", "I cannot provide medical
advice"), model and vendor names (GPT-4o, ChatGPT, OpenAI, Claude, Gemini, Llama, Qwen ...),
the study's own reader codes and labels ("R3", "Model E", "GPT-4o zero-shot, text-only"),
run numbers, file names and signatures. Codes are matched as whole tokens, case-sensitively,
and one-letter codes only after a word such as "model" or "reader", so "BI-RADS 4A" or
"vitamin E" are not flagged. Both functions are pure (no Django), so they are cheap to test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

# --------------------------------------------------------------------------------------
# Normalisation

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")
_QUOTES = {
    **dict.fromkeys(map(ord, "“”„‟«»〝〞"), '"'),
    **dict.fromkeys(map(ord, "‘’‚‛‹›´"), "'"),
}
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000\t"), " ")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_SETEXT_RULE = re.compile(r"^\s*(?:=+|-{3,}|\*{3,}|_{3,})\s*$")
_BLOCKQUOTE = re.compile(r"^\s*>\s?")
_BULLET = re.compile(r"^\s*[-*+•·▪◦‣●○■□]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\(?(\d{1,3})[.)]\s+(.*)$")
_INLINE_NUMBER = re.compile(r"\s\d{1,2}\)\s")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^)\s]+)\)")
_BIRADS = re.compile(r"\bBI[\s-]?RADS\b(?:\s*(?:category|cat\.?)?\s*[:-]?\s*(\d)([a-c])?\b)?", re.I)
_SPACE_RUN = re.compile(r" {2,}")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])")

#: Lines that open a signature block at the end of an output (it is removed from the display
#: text and flagged by the detector).
_SIGNATURE_OPENER = re.compile(
    r"^(?:-{2,}\s*|_{2,}\s*"
    r"|(?:(?:electronically\s+)?signed|dictated|reported|generated|created|written|produced|"
    r"prepared|reviewed)\s+by\b.*"
    r"|(?:best\s+|kind\s+|warm\s+)?regards\b.*|sincerely\b.*|yours\s+(?:truly|faithfully)\b.*"
    r"|thanks?(?:\s+you)?[,.!]?|cheers[,.!]?|signature\s*:.*"
    r"|dr\.?\s+(?-i:[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,3})[,.]?)$",
    re.I,
)
#: How many closing lines are searched for a signature.
_SIGNATURE_WINDOW = 4


def _clean_characters(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_INVISIBLE).translate(_SPACES).translate(_DASHES).translate(_QUOTES)
    return text.replace("…", "...")


def _strip_inline_markup(line: str) -> str:
    line = _LINK.sub(r"\1", line)
    line = _INLINE_CODE.sub(r"\1", line)
    for _ in range(2):  # nested emphasis such as ***x***
        line = _BOLD.sub(r"\2", line)
        line = _ITALIC_STAR.sub(r"\1", line)
        line = _ITALIC_UNDERSCORE.sub(r"\1", line)
    return line


def _birads(match: re.Match[str]) -> str:
    number, letter = match.group(1), match.group(2)
    if number is None:
        return "BI-RADS"
    # Keep the word "category" when the author wrote it: it is wording, not formatting.
    category = " category" if re.search(r"cat", match.group(0), re.I) else ""
    return f"BI-RADS{category} {number}{(letter or '').upper()}"


def _tidy(line: str) -> str:
    line = _BIRADS.sub(_birads, line.replace("`", "'"))
    line = _SPACE_RUN.sub(" ", line.strip())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", line)


def _drop_signature(lines: list[str]) -> list[str]:
    """Remove a signature block (from its opening line to the end) and trailing blank lines."""
    while lines and not lines[-1].strip():
        lines.pop()
    filled = [i for i, line in enumerate(lines) if line.strip()][-_SIGNATURE_WINDOW:]
    for i in filled:
        # Never drop the whole output (a one-line text that looks like a sign-off stays), and
        # only a short block: at most two short lines (a name, a title) after the opener.
        after = [line for line in lines[i + 1 :] if line.strip()]
        short = len(after) <= 2 and all(len(line.split()) <= 8 for line in after)
        if i > 0 and short and _SIGNATURE_OPENER.match(lines[i].strip()):
            del lines[i:]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def normalise_output(text: str) -> str:
    """The display form of an output: the same plain-text format whatever wrote it.

    Paragraphs are separated by one blank line; lines inside a paragraph are joined; list
    items become ``- item`` or ``1. item`` lines; markdown emphasis, headers, links, code
    and quotes are removed; quotes, dashes and spaces are reduced to ASCII forms; "BI-RADS"
    is written one way with an upper-case sub-category letter; a trailing signature is
    dropped. Idempotent: ``normalise_output(normalise_output(t)) == normalise_output(t)``.
    """
    lines = _drop_signature(_clean_characters(text).split("\n"))
    blocks: list[list[str]] = []  # each block: one paragraph, or a run of list items
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append([" ".join(paragraph)])
            paragraph.clear()
        if items:
            blocks.append(items.copy())
            items.clear()

    for raw in lines:
        line = _BLOCKQUOTE.sub("", raw)
        if not line.strip() or _SETEXT_RULE.match(line):
            flush()
            continue
        header = _HEADER.match(line)
        if header:
            flush()
            text_line = _tidy(_strip_inline_markup(header.group(1)))
            if text_line:
                blocks.append([text_line])
            continue
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if numbered and _INLINE_NUMBER.search(numbered.group(2)):
            numbered = None  # "1) ... 2) ... 3) ..." written as one paragraph stays one
        if bullet or numbered:
            if paragraph:
                flush()
            if bullet:
                item = "- " + _tidy(_strip_inline_markup(bullet.group(1)))
            else:
                assert numbered is not None
                item = f"{int(numbered.group(1))}. " + _tidy(
                    _strip_inline_markup(numbered.group(2))
                )
            items.append(item)
            continue
        content = _tidy(_strip_inline_markup(line))
        if items and raw[:1].isspace():
            items[-1] = f"{items[-1]} {content}"  # continuation of a list item
            continue
        if items:
            flush()
        paragraph.append(content)
    flush()
    return "\n\n".join("\n".join(block) for block in blocks if any(block)).strip()


# --------------------------------------------------------------------------------------
# Leak detection


@dataclass(frozen=True)
class LeakFlag:
    """One suspicious passage of an output: which rule found it and where."""

    rule: str
    match: str
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


RULE_LABELS: dict[str, str] = {
    "self_identification": "The output says it is an AI",
    "model_name": "Names a model or vendor",
    "reader_code": "Contains a reader code of the study",
    "reader_label": "Contains a reader label of the study",
    "run_number": "Mentions a run number",
    "file_name": "Contains a file name",
    "signature": "Is signed",
}

_SELF_IDENTIFICATION = re.compile(
    r"\b(?:as\s+an?\s+(?:ai|artificial\s+intelligence|language\s+model|llm|chatbot|"
    r"virtual\s+assistant|ai\s+assistant)\b"
    r"|(?:large\s+)?language\s+models?\b"
    r"|i(?:'m|\s+am)\s+(?:just\s+|only\s+)?(?:an?\s+)?(?:ai|artificial\s+intelligence|llm|"
    r"chatbot|ai\s+assistant|virtual\s+assistant|language\s+model)\b"
    r"|i\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|am\s+not\s+able\s+to)\s+"
    r"(?:provide|give|offer)\s+(?:a\s+)?(?:medical\s+advice|(?:a\s+)?diagnosis)"
    r"|not\s+a\s+substitute\s+for\s+(?:professional\s+)?medical\s+advice"
    r"|i\s+am\s+not\s+a\s+(?:doctor|physician|radiologist|medical\s+professional)\b"
    r"|(?:my|the)\s+training\s+data\b|knowledge\s+cut-?off\b"
    r"|ai[\s-]generated\b|generated\s+by\s+(?:an?\s+)?(?:ai|model|llm)\b)",
    re.I,
)

#: Model and vendor names, matched case-insensitively as whole tokens.
MODEL_NAMES: tuple[str, ...] = (
    r"chat\s?gpt",
    r"gpt(?:-?\d(?:\.\d)?[a-z]*(?:-[a-z]+)*)?",
    r"openai",
    r"o[134]-(?:mini|preview|pro)",
    r"claude(?:[\s-]\d(?:\.\d)?)?",
    r"anthropic",
    r"gemini",
    r"bard",
    r"gemma",
    r"palm\s?2",
    r"med-?palm(?:\s?2)?",
    r"llama(?:[\s-]?\d(?:\.\d)?)?",
    r"meta\s+ai",
    r"mistral",
    r"mixtral",
    r"qwen\d*(?:\.\d)?(?:-vl)?",
    r"deepseek(?:-[a-z0-9]+)?",
    r"copilot",
    r"grok",
    r"ernie\s?bot",
    r"yi-\d+b",
    r"phi-\d",
    r"falcon-\d+b",
    r"vicuna",
    r"hugging\s?face",
    r"fine-?tuned",
    r"zero-?shot",
    r"few-?shot",
)
_MODEL_NAME = re.compile(r"(?<![\w-])(?:" + "|".join(MODEL_NAMES) + r")(?![\w-])", re.I)

_RUN = re.compile(
    r"(?<![\w-])(?:run|attempt|iteration)\s*(?:no\.?|number|#)?\s*\d+\b"
    r"|\b(?:first|second|third|fourth|fifth)\s+(?:run|attempt)\b",
    re.I,
)
_FILE_NAME = re.compile(
    r"(?<![\w-])[\w-]+\.(?:txt|json|jsonl|csv|tsv|md|png|jpe?g|dcm|dicom|nii|gz|zip|pdf|docx?|"
    r"xlsx?|py|log)(?![\w-])",
    re.I,
)
_SIGNATURE_ANYWHERE = re.compile(
    r"(?:^|\n)\s*(?:(?:electronically\s+)?signed|dictated|reported|generated|written|"
    r"prepared)\s+by\b[^\n]*|(?:^|\n)\s*(?:best\s+|kind\s+)?regards\b[^\n]*",
    re.I,
)
#: Words after which a one-letter (or otherwise ambiguous) reader code is a reference to a reader.
_CODE_CONTEXT = r"(?:model|reader|radiologist|config(?:uration)?|system|output|arm|group|variant|version|approach)s?\s*[:#-]?\s*"


def _codes_pattern(codes: list[str]) -> re.Pattern[str] | None:
    """One pattern for all reader codes of a study.

    Short alphabetic codes ("B", "E", "AI") are ordinary words or letters; they are only
    flagged where the text refers to a model or reader ("Model E"). Codes with a digit
    ("R3", "A2") or of three or more characters are distinctive enough on their own.
    """
    ambiguous = sorted({c for c in codes if len(c) <= 2 and not any(ch.isdigit() for ch in c)})
    distinctive = sorted({c for c in codes if c not in ambiguous}, key=lambda c: (-len(c), c))
    parts = []
    if distinctive:
        parts.append("(?:" + "|".join(map(re.escape, distinctive)) + ")")
    if ambiguous:
        parts.append(r"(?i:" + _CODE_CONTEXT + r")(?:" + "|".join(map(re.escape, ambiguous)) + ")")
    if not parts:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")


def _labels_pattern(labels: list[str]) -> re.Pattern[str] | None:
    """One pattern for all multi-word reader labels (whitespace-insensitive, any case)."""
    alternatives = sorted(
        {r"\s+".join(re.escape(w) for w in label.split()) for label in labels},
        key=lambda a: (-len(a), a),
    )
    if not alternatives:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.I)


@dataclass(frozen=True)
class LeakDetector:
    """Leak rules for one study: the generic ones plus its reader codes and labels."""

    code_pattern: re.Pattern[str] | None = None
    label_pattern: re.Pattern[str] | None = None

    @classmethod
    def for_readers(cls, readers: Iterable[tuple[str, str]]) -> LeakDetector:
        """A detector for a study whose readers have these ``(code, label)`` pairs."""
        codes: list[str] = []
        labels: list[str] = []
        for code, label in readers:
            if code and code.strip():
                codes.append(code.strip())
            # One-word labels ("Senior") are too common to flag on their own.
            if label and len(label.split()) >= 2:
                labels.append(label.strip())
        return cls(_codes_pattern(codes), _labels_pattern(labels))

    def detect(self, text: str) -> list[LeakFlag]:
        """Every suspicious passage of ``text``, in order of position (overlaps merged per rule)."""
        found: list[LeakFlag] = []

        def add(rule: str, pattern: re.Pattern[str]) -> None:
            for m in pattern.finditer(text):
                matched = m.group(0).strip()
                if matched:
                    start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
                    found.append(LeakFlag(rule, matched, start, start + len(matched)))

        add("self_identification", _SELF_IDENTIFICATION)
        add("model_name", _MODEL_NAME)
        if self.label_pattern is not None:
            add("reader_label", self.label_pattern)
        if self.code_pattern is not None:
            add("reader_code", self.code_pattern)
        add("run_number", _RUN)
        add("file_name", _FILE_NAME)
        add("signature", _SIGNATURE_ANYWHERE)
        found.sort(key=lambda f: (f.start, -f.end, f.rule))
        unique: list[LeakFlag] = []
        for flag in found:
            if not any(
                u.rule == flag.rule and u.start <= flag.start and flag.end <= u.end for u in unique
            ):
                unique.append(flag)
        return unique


def detect_leaks(text: str, readers: Iterable[tuple[str, str]] = ()) -> list[LeakFlag]:
    """Self-identifying passages of ``text`` (see :class:`LeakDetector`)."""
    return LeakDetector.for_readers(readers).detect(text)
