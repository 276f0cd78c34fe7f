"""Blinding of outputs shown to raters: one display format, and a detector of self-identifying text.

:func:`normalise_output` rewrites any output (a model's answer or a radiologist's impression)
into one plain-text format, so that formatting habits (markdown emphasis, headers and tables,
code fences, HTML tags and entities, JSON, bullet characters, curly quotes, dash styles, the
spelling of "BI-RADS", hard line wraps, trailing signatures) cannot tell a rater where an output
came from. The words are not changed.

:func:`detect_leaks` finds what the coordinator should look at before a rating session starts:
phrases by which an AI identifies itself, in English, Chinese, Japanese, German, French,
Spanish, Portuguese and Italian (:data:`SELF_IDENTIFICATION`); a chatbot's phrasing ("I hope
this helps", "Certainly! Here is", :data:`ASSISTANT_PHRASES`); model and vendor names with any
version, size, date or fine-tune id (:data:`MODEL_FAMILIES`: ``gpt-4o-2024-08-06``,
``ft:gpt-4o-mini:org::id``, ``Llama-3-70B``, ``claude-3-5-sonnet-20240620`` ...); the study's
own reader codes and labels ("R3", "Model E", "GPT-4o zero-shot, text-only"); run numbers,
file names and signatures; and, in the original output, structure that the display format can
only approximate (markdown tables, code fences, HTML, JSON). Codes are matched as whole tokens,
case-sensitively, and one-letter codes only after a word such as "model" or "reader", so
"BI-RADS 4A" or "vitamin E" are not flagged.

:func:`structure_by_source` compares, over a set of outputs, how often each source (human or
model) uses each kind of structure (:data:`STRUCTURE_LABELS`): a kind that one source uses and
another does not is a study-level warning even where each single output looks harmless.
All functions are pure (no Django), so they are cheap to test.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

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


#: HTML element names that are removed (with their attributes) from outputs. Only these, and
#: only in tag syntax (attributes need a value), so "< 5 mm" or "<a few mm>" stay as written.
HTML_TAG_NAMES: tuple[str, ...] = (
    "a", "abbr", "article", "aside", "b", "big", "blockquote", "body", "br", "caption",
    "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "div", "dl", "dt",
    "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hr", "html", "i", "img", "ins", "kbd", "li", "main", "mark", "meta", "nav", "ol",
    "p", "pre", "q", "s", "samp", "section", "small", "span", "strike", "strong", "style", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "tt", "u",
    "ul", "var",
)  # fmt: skip
#: Elements whose tags become a paragraph break (the others but br, li, dt, dd, tr vanish).
_HTML_BLOCK: frozenset[str] = frozenset(
    ("article", "aside", "blockquote", "body", "caption", "dl", "div", "figure", "footer",
     "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "main", "nav", "ol",
     "p", "pre", "section", "table", "tbody", "tfoot", "thead", "title", "ul")
)  # fmt: skip
_HTML_ATTRIBUTES = r"""(?:\s+[\w:-]+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=]+))*"""
_HTML_TAG = re.compile(
    r"<(/?)("
    + "|".join(sorted(HTML_TAG_NAMES, key=len, reverse=True))
    + r")(?![\w-])"
    + _HTML_ATTRIBUTES
    + r"\s*/?>",
    re.I,
)
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", re.I)
_HTML_CELL_GAP = re.compile(r"</t[dh]\s*>\s*<t[dh]" + _HTML_ATTRIBUTES + r"\s*>", re.I)

#: A code fence line (```` ``` ```` or ``~~~``, with an optional info string such as ``json``).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[ \t]*$")
#: The delimiter row under a markdown table's header (``|---|:--:|``).
_TABLE_DELIMITER_TEXT = r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*"
_TABLE_DELIMITER = re.compile("^" + _TABLE_DELIMITER_TEXT + "$")
_TABLE_PIPE = re.compile(r"(?<!\\)\|")
#: How deep a JSON output may nest and still be rendered as text (deeper ones stay as written).
_JSON_MAX_DEPTH = 20


def _html_tag(match: re.Match[str]) -> str:
    closing, name = match.group(1), match.group(2).lower()
    if name == "br":
        return "\n"
    if name in {"li", "dt", "dd", "tr"}:
        return "" if closing else "\n- "
    if name in _HTML_BLOCK:
        return "\n\n"
    return ""


def _strip_html(text: str) -> str:
    """HTML tags become line breaks, list items and table rows ``- a; b``; entities are decoded.

    Repeated until nothing changes, so that ``&lt;b&gt;`` cannot survive as ``<b>``.
    """
    for _ in range(8):
        before = text
        text = _HTML_ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        text = _HTML_CELL_GAP.sub("; ", text)
        text = _clean_characters(_HTML_TAG.sub(_html_tag, text))
        if text == before:
            break
    return text


def _json_depth(value: Any, depth: int = 0) -> int:
    if isinstance(value, dict):
        return max((_json_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_json_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def _json_scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _json_lines(value: Any) -> list[str]:
    """A JSON value as plain lines: ``key: value`` paragraphs and ``- item`` lists."""
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key).replace("_", " ").strip()
            if item is None or item == "" or item == [] or item == {}:
                continue
            if isinstance(item, dict | list):
                lines += ["", f"{name}:", "", *_json_lines(item)]
            else:
                lines += ["", f"{name}: {_json_scalar(item)}"]
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                lines += ["", *_json_lines(item), ""]
            elif item is not None and item != "":
                lines.append(f"- {_json_scalar(item)}")
    else:
        lines.append(_json_scalar(value))
    return lines


def _json_text(text: str) -> str | None:
    """``text`` as plain lines if the whole of it is a JSON object or array, else ``None``."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict | list) or _json_depth(value) > _JSON_MAX_DEPTH:
        return None
    return "\n".join(_json_lines(value))


def _unfence(lines: list[str]) -> list[str]:
    """Drop code fence lines; a fenced block that is JSON is rendered as text."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            out.append(lines[i])
            i += 1
            continue
        marker = opening.group(1)
        end = i + 1
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if closing and closing.group(2) == "" and closing.group(1)[0] == marker[0]:
                break
            end += 1
        body = "\n".join(lines[i + 1 : end])
        rendered = _json_text(body)
        out += ["", *(body if rendered is None else rendered).split("\n"), ""]
        i = end + 1
    return out


def _table_cells(row: str) -> list[str]:
    cells = [c.strip().replace("\\|", "|") for c in _TABLE_PIPE.split(row.strip())]
    if cells and not cells[0]:
        cells = cells[1:]
    if cells and not cells[-1]:
        cells = cells[:-1]
    return [c for c in cells if c]


def _untable(lines: list[str]) -> list[str]:
    """Markdown tables (header, delimiter row, rows) become list items ``- cell; cell``."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        is_table = (
            "|" in line
            and i + 1 < len(lines)
            and "|" in lines[i + 1]
            and _TABLE_DELIMITER.match(lines[i + 1]) is not None
        )
        if not is_table:
            out.append(line)
            i += 1
            continue
        rows = [line]
        i += 2
        while i < len(lines) and "|" in lines[i] and lines[i].strip():
            rows.append(lines[i])
            i += 1
        out.append("")
        out += ["- " + "; ".join(cells) for row in rows if (cells := _table_cells(row))]
        out.append("")
    return out


def _unstructure(text: str) -> str:
    """HTML, code fences, JSON and markdown tables rewritten as plain lines and lists."""
    text = _strip_html(text)
    lines = _unfence(text.split("\n"))
    rendered = _json_text("\n".join(lines))
    if rendered is not None:
        lines = rendered.split("\n")
    return "\n".join(_untable(lines))


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
    and quotes are removed; HTML tags are removed (line breaks, list items and table rows
    kept as lines) and entities decoded; code fences are removed; an output (or fenced block)
    that is JSON becomes ``key: value`` paragraphs and ``- item`` lists; markdown table rows
    become ``- cell; cell`` items; quotes, dashes and spaces are reduced to ASCII forms; "BI-RADS"
    is written one way with an upper-case sub-category letter; a trailing signature is
    dropped. Idempotent: ``normalise_output(normalise_output(t)) == normalise_output(t)``.
    """
    lines = _drop_signature(_unstructure(_clean_characters(text)).split("\n"))
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


#: Kinds of structure an output can have, with the words the coordinator sees. The first four
#: are flagged on each output that has them (:data:`ITEM_STRUCTURE_KINDS`); all of them are
#: compared between sources by :func:`structure_by_source`.
STRUCTURE_LABELS: dict[str, str] = {
    "markdown_table": "Markdown table",
    "code_fence": "Code block (``` fence)",
    "html": "HTML tags or entities",
    "json": "JSON",
    "bullet_list": "Bulleted list",
    "numbered_list": "Numbered list",
    "markdown_heading": "Markdown heading (#)",
    "markdown_emphasis": "Markdown bold or italics",
}
ITEM_STRUCTURE_KINDS: tuple[str, ...] = ("markdown_table", "code_fence", "html", "json")

RULE_LABELS: dict[str, str] = {
    "self_identification": "The output says it is an AI",
    "assistant_phrasing": "Uses a chatbot's phrasing",
    "model_name": "Names a model or vendor",
    "reader_code": "Contains a reader code of the study",
    "reader_label": "Contains a reader label of the study",
    "run_number": "Mentions a run number",
    "file_name": "Contains a file name",
    "signature": "Is signed",
    **{kind: f"The original output has: {STRUCTURE_LABELS[kind]}" for kind in ITEM_STRUCTURE_KINDS},
}

# Self-identification and a chatbot's phrasing, one entry per language: (language, pattern),
# matched case-insensitively on the display text (where apostrophes are already ASCII).
# "KI" (German for AI) is matched in capitals and never before a number: "Ki-67" is a marker.
_KI = r"(?-i:KI)(?![\s-]?\d)"

SELF_IDENTIFICATION: tuple[tuple[str, str], ...] = (
    (
        "en",
        r"\b(?:as\s+an?\s+(?:ai|artificial\s+intelligence|language\s+model|llm|chatbot|"
        r"virtual\s+assistant|ai\s+(?:assistant|language\s+model|model))\b"
        r"|(?:large\s+)?language\s+models?\b"
        r"|i(?:'m|\s+am)\s+(?:just\s+|only\s+|merely\s+)?(?:an?\s+)?(?:ai|artificial\s+intelligence|"
        r"llm|chatbot|ai\s+(?:assistant|model)|virtual\s+assistant|language\s+model)\b"
        r"|i\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|am\s+not\s+able\s+to)\s+"
        r"(?:provide|give|offer)\s+(?:a\s+|any\s+)?(?:medical\s+advice|(?:a\s+)?diagnosis)"
        r"|not\s+a\s+substitute\s+for\s+(?:professional\s+)?medical\s+advice"
        r"|i(?:'m|\s+am)\s+not\s+a\s+(?:doctor|physician|radiologist|medical\s+professional)\b"
        r"|(?:my|the)\s+training\s+data\b|knowledge\s+cut-?off\b"
        r"|as\s+of\s+my\s+last\s+(?:knowledge\s+)?update\b"
        r"|i\s+(?:don't|do\s+not|cannot|can't)\s+(?:have\s+access\s+to|see|view)\s+"
        r"(?:the\s+)?(?:actual\s+)?(?:images?|scans?)\b"
        r"|ai[\s-]generated\b|generated\s+by\s+(?:an?\s+)?(?:ai|model|llm)\b)",
    ),
    (
        "zh",
        r"作[为為](?:一[个個名种種])?\s*(?:(?:AI|人工智能)\s*(?:[语語]言模型|助手)?|"
        r"(?:大型?)?[语語]言模型|智能助手)"
        r"|我(?:只)?是(?:一[个個名种種])?\s*(?:(?:AI|人工智能)\s*(?:[语語]言模型|助手)?|"
        r"(?:大型?)?[语語]言模型|"
        r"智能助手|聊天机器人|聊天機器人)"
        r"|我(?:无法|無法|不能)(?:提供|给出|給出|给予|給予)(?:任何)?(?:医疗|醫療|医学|醫學)"
        r"(?:建议|建議|诊断|診斷)"
        r"|(?:大型?)?[语語]言模型",
    ),
    ("ja", r"(?:AI|人工知能)(?:言語モデル|アシスタント)?として|私は(?:AI|人工知能)|言語モデル"),
    (
        "de",
        r"\bals\s+(?:eine?\s+)?(?:" + _KI + r"(?:[\s-]?(?:sprachmodell|assistent(?:in)?|modell))?"
        r"|künstliche\s+intelligenz|sprachmodell)"
        r"|\bich\s+bin\s+(?:nur\s+)?(?:eine?\s+)?(?:" + _KI + r"|künstliche\s+intelligenz|"
        r"sprachmodell|ki-assistent)"
        r"|\b(?:ich\s+)?kann\s+(?:ich\s+)?keine[n]?\s+(?:medizinische[n]?|ärztliche[n]?)\s+"
        r"(?:rat|ratschläge|beratung|diagnose)"
        r"|\bkein(?:en)?\s+ersatz\s+für\s+(?:eine\s+)?(?:professionelle\s+)?(?:ärztliche|medizinische)"
        r"|\b(?:ki-)?sprachmodell\w*",
    ),
    (
        "fr",
        r"\ben\s+tant\s+qu(?:e\s+|')\s*(?:une?\s+)?(?:IA\b|intelligence\s+artificielle|"
        r"modèle\s+de\s+langage|assistante?\s+(?:virtuel(?:le)?|IA))"
        r"|\bje\s+suis\s+(?:seulement\s+|juste\s+)?(?:une?\s+)?(?:IA\b|intelligence\s+artificielle|"
        r"modèle\s+de\s+langage|assistante?\s+(?:virtuel(?:le)?|IA))"
        r"|\bje\s+ne\s+peux\s+pas\s+(?:fournir|donner|offrir)\s+(?:de|des)\s+(?:conseils?|avis)\s+"
        r"médica(?:l|ux)"
        r"|\bmodèles?\s+de\s+langage",
    ),
    (
        "es/pt",
        r"\bcomo\s+(?:un\s+|una\s+|um\s+|uma\s+)?(?:modelo\s+de\s+(?:lenguaje|linguagem)|IA\b|"
        r"intelig[eê]ncia\s+artificial|asistente\s+virtual|assistente\s+virtual)"
        r"|\b(?:soy|sou)\s+(?:un|una|um|uma)\s+(?:modelo\s+de\s+(?:lenguaje|linguagem)|IA\b|"
        r"intelig[eê]ncia\s+artificial|asistente\s+virtual|assistente\s+virtual)"
        r"|\bno\s+puedo\s+(?:proporcionar|dar|ofrecer|brindar)\s+(?:consejos?|asesoramiento|"
        r"asesoría)\s+médic[oa]s?"
        r"|\bmodelos?\s+de\s+(?:lenguaje|linguagem)",
    ),
    (
        "it",
        r"\bcome\s+(?:un\s+|una\s+|un')?(?:modello\s+(?:di\s+linguaggio|linguistico)|IA\b|"
        r"intelligenza\s+artificiale|assistente\s+virtuale)"
        r"|\bsono\s+(?:un|una|un')\s*(?:IA\b|intelligenza\s+artificiale|"
        r"modello\s+(?:di\s+linguaggio|linguistico))"
        r"|\bmodell[oi]\s+(?:di\s+linguaggio|linguistic[oi])",
    ),
)

ASSISTANT_PHRASES: tuple[tuple[str, str], ...] = (
    (
        "en",
        r"\b(?:i\s+hope\s+(?:this|that|it)\s+(?:information\s+)?(?:helps|is\s+helpful)"
        r"|(?:certainly|sure|of\s+course|absolutely|great\s+question)\s*!"
        r"|(?:certainly|sure|of\s+course)[,.]\s+here(?:'s|\s+is|\s+are)\b"
        r"|here(?:'s|\s+is|\s+are)\s+(?:the|a|an|my|your)\s+(?:\w+\s+){0,3}?"
        r"(?:report|impression|summary|assessment|analysis|interpretation|answer|response|"
        r"breakdown)\b"
        r"|let\s+me\s+know\s+if\b|feel\s+free\s+to\s+(?:ask|reach)\b"
        r"|(?:i'd|i\s+would)\s+be\s+(?:happy|glad)\s+to\b|happy\s+to\s+help\b"
        r"|(?:please\s+)?consult\s+(?:with\s+)?(?:a|your)\s+(?:qualified\s+)?"
        r"(?:healthcare|health\s+care|medical)\s+(?:professional|provider)"
        r"|based\s+on\s+the\s+(?:information|description|details|findings)\s+"
        r"you(?:'ve|\s+have)?\s+provided)",
    ),
    (
        "zh",
        r"希望(?:这|這|以上|此)[^。！!\n]{0,8}(?:有所)?(?:帮助|幫助)"
        r"|如果您?(?:还有|還有|有)(?:任何|其他)(?:问题|問題|疑问|疑問)",
    ),
    ("ja", r"お役に立て(?:れば|ると)"),
    (
        "de",
        r"\bich\s+hoffe,?\s+(?:das|dies)\s+hilft"
        r"|\b(?:lass|lassen\s+sie)\s+mich\s+wissen,?\s+(?:ob|wenn)",
    ),
    (
        "fr",
        r"\bj'espère\s+que\s+(?:cela|ceci|ça)\s+(?:vous\s+|t')?(?:aide|aidera|sera\s+utile)"
        r"|\bn'hésitez\s+pas\s+à\b",
    ),
    (
        "es",
        r"\bespero\s+que\s+(?:esto|esta\s+información)\s+(?:te\s+|le\s+)?"
        r"(?:ayude|sirva|sea\s+útil)"
        r"|\bno\s+dudes?\s+en\s+(?:preguntar|consultar|contactar)",
    ),
)


@dataclass(frozen=True)
class ModelFamily:
    """A model family or vendor, matched case-insensitively with any version that follows.

    ``name`` is a regex of the name itself. After it, ``_MODEL_TAIL`` takes any id that
    follows without a space (``-4o-2024-08-06``, ``-3-5-sonnet-20240620``, ``-70B-Instruct``,
    ``:org::id``) and version words after a space ("3.5 Sonnet", "1.5 Pro", "3 70B").
    ``needs_version``: the bare name is an ordinary word ("phi", "falcon"), so it is flagged
    only when a digit follows (after at most one space, ``-``, ``_`` or ``.``).
    """

    vendor: str
    name: str
    needs_version: bool = False


#: The maintained list of model families and vendors. Add new ones here, with a test in
#: tests/evaluation/test_blinding.py (one per family checks each is flagged).
MODEL_FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("OpenAI", r"chat[\s_.-]?gpt"),
    ModelFamily("OpenAI", r"gpt"),
    ModelFamily("OpenAI", r"(?-i:o[134])"),
    ModelFamily("OpenAI", r"(?:azure[\s_-]?)?open[\s_-]?ai"),
    ModelFamily("OpenAI", r"(?:text-)?davinci", needs_version=True),
    ModelFamily("Anthropic", r"claude"),
    ModelFamily("Anthropic", r"anthropic"),
    ModelFamily("Google", r"(?:med[\s_-]?)?gemini"),
    ModelFamily("Google", r"gemma"),
    ModelFamily("Google", r"bard"),
    ModelFamily("Google", r"med[\s_-]?palm|(?-i:PaLM)"),
    ModelFamily("Google", r"deep[\s_-]?mind"),
    ModelFamily("Meta", r"(?:code[\s_-]?)?llama"),
    ModelFamily("Meta", r"meta[\s_-]ai"),
    ModelFamily("LLaVA", r"llava"),
    ModelFamily("Mistral", r"(?:bio)?mistral|mixtral|codestral|ministral|pixtral"),
    ModelFamily("Alibaba", r"qwen|qwq"),
    ModelFamily("DeepSeek", r"deep[\s_-]?seek"),
    ModelFamily("Microsoft", r"phi", needs_version=True),
    ModelFamily("Microsoft", r"maira", needs_version=True),
    ModelFamily("Microsoft", r"copilot"),
    ModelFamily("xAI", r"grok"),
    ModelFamily("Cohere", r"cohere|command[\s-]r\+?"),
    ModelFamily("Baidu", r"ernie[\s_-]?bot"),
    ModelFamily("Zhipu", r"chat[\s_-]?glm|glm(?=[\s_-]?\d)"),
    ModelFamily("Baichuan", r"baichuan"),
    ModelFamily("Shanghai AI Lab", r"intern[\s_-]?lm"),
    ModelFamily("01.AI", r"yi(?=[\s_-]?\d+(?:\.\d+)?b)"),
    ModelFamily("TII", r"falcon", needs_version=True),
    ModelFamily("LMSYS", r"vicuna"),
    ModelFamily("Hugging Face", r"hugging[\s_-]?face"),
    ModelFamily("Medical", r"bio[\s_-]?gpt|meditron|radfm|chexagent"),
)

#: How a model was used, named in its output ("fine-tuned", "zero-shot", "system prompt").
METHOD_WORDS: tuple[str, ...] = (
    r"fine[\s_-]?tun(?:ed|ing)",
    r"zero[\s_-]?shot",
    r"few[\s_-]?shot",
    r"one[\s_-]shot",
    r"chain[\s_-]of[\s_-]thought",
    r"in[\s_-]context\s+learning",
    r"(?:system|user)\s+prompt",
)

_VERSION_TOKEN = r"(?:\d+(?:\.\d+)*[a-z]*|\d+x\d+b)"
_VARIANT_WORD = (
    r"(?:turbo|mini|nano|pro|flash|ultra|sonnet|opus|haiku|instant|instruct|chat|vision|"
    r"preview|latest|omni|plus|max|coder|large|medium|small|lite|vl|med)"
)
#: What may follow a family name as part of the model's id (see :class:`ModelFamily`).
_MODEL_TAIL = (
    r"(?:[\s_.]?" + _VERSION_TOKEN + r")?"
    r"(?:[._:/+-]+[a-z0-9]+)*"
    r"(?:\s+(?:" + _VERSION_TOKEN + "|" + _VARIANT_WORD + r")(?![\w-]))*"
)


def _family_pattern(family: ModelFamily) -> str:
    head = r"(?:ft:)?(?:" + family.name + r")"
    if family.needs_version:
        return head + r"(?=[\s_.-]?\d)" + _MODEL_TAIL
    return head + r"(?![a-z])" + _MODEL_TAIL


_MODEL_NAME = re.compile(
    r"(?<!\w)(?:"
    + "|".join(_family_pattern(f) for f in MODEL_FAMILIES)
    + "|(?:"
    + "|".join(METHOD_WORDS)
    + r")(?![\w-]))",
    re.I,
)
_SELF_IDENTIFICATION = re.compile("|".join(p for _lang, p in SELF_IDENTIFICATION), re.I)
_ASSISTANT_PHRASING = re.compile("|".join(p for _lang, p in ASSISTANT_PHRASES), re.I)

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

    def detect(self, text: str, *, original: str | None = None) -> list[LeakFlag]:
        """Every suspicious passage of the display ``text``, in order of position (overlaps
        merged per rule); with ``original`` (the output before :func:`normalise_output`), also
        the structure of :data:`ITEM_STRUCTURE_KINDS` it has (positions in ``original``).
        """
        found: list[LeakFlag] = []

        def add(rule: str, pattern: re.Pattern[str]) -> None:
            for m in pattern.finditer(text):
                matched = m.group(0).strip()
                if matched:
                    start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
                    found.append(LeakFlag(rule, matched, start, start + len(matched)))

        add("self_identification", _SELF_IDENTIFICATION)
        add("assistant_phrasing", _ASSISTANT_PHRASING)
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
        if original is not None:
            unique += structure_flags(original)
        return unique


def detect_leaks(
    text: str, readers: Iterable[tuple[str, str]] = (), *, original: str | None = None
) -> list[LeakFlag]:
    """Self-identifying passages of ``text`` (see :class:`LeakDetector`)."""
    return LeakDetector.for_readers(readers).detect(text, original=original)


# --------------------------------------------------------------------------------------
# Structure: what an output looks like, per output and compared between sources

_STRUCTURE_PATTERNS: dict[str, re.Pattern[str]] = {
    "markdown_table": re.compile(
        r"^[^\n]*\|[^\n]*\n(?=[^\n]*\|)" + _TABLE_DELIMITER_TEXT + "$", re.M
    ),
    "code_fence": re.compile(r"^ {0,3}(?:`{3,}|~{3,})[^\n]*$", re.M),
    "html": re.compile(_HTML_TAG.pattern + "|" + _HTML_ENTITY.pattern, re.I),
    "json": re.compile(r"[{\[,]\s*\"[^\"\n]{1,100}\"\s*:"),
    "bullet_list": re.compile(r"^[ \t]*[-*+•·▪◦‣●○■□][ \t]+\S.*$", re.M),
    "numbered_list": re.compile(r"^[ \t]*\(?\d{1,3}[.)][ \t]+\S.*$", re.M),
    "markdown_heading": re.compile(r"^ {0,3}#{1,6}[ \t]+\S.*$", re.M),
    "markdown_emphasis": re.compile(
        "|".join(p.pattern for p in (_BOLD, _ITALIC_STAR, _ITALIC_UNDERSCORE))
    ),
}
#: How many lines a numbered list needs (one "1. ..." line is a sentence, not a list).
_NUMBERED_LIST_MIN = 2
#: Longest excerpt of the original output kept in a structure flag.
_EXCERPT = 60


def _structure_matches(text: str) -> dict[str, tuple[int, int, str]]:
    """The first occurrence of each kind of structure in ``text``: ``(start, end, excerpt)``."""
    found: dict[str, tuple[int, int, str]] = {}
    for kind, pattern in _STRUCTURE_PATTERNS.items():
        matches = list(pattern.finditer(text)) if kind == "numbered_list" else []
        if kind == "numbered_list":
            # "1) a. 2) b." written as one paragraph is not a list (as in normalise_output).
            matches = [m for m in matches if not _INLINE_NUMBER.search(m.group(0))]
            if len(matches) < _NUMBERED_LIST_MIN:
                continue
        else:
            first = pattern.search(text)
            if first is None and kind == "json" and _json_text(text) is not None:
                stripped = text.strip()
                start = text.index(stripped[0])
                found[kind] = (start, start + len(stripped), stripped[:_EXCERPT])
                continue
            if first is None:
                continue
            matches = [first]
        m = matches[0]
        found[kind] = (m.start(), m.end(), m.group(0).strip()[:_EXCERPT])
    return found


def output_structure(text: str) -> frozenset[str]:
    """The kinds of structure (keys of :data:`STRUCTURE_LABELS`) the output ``text`` has."""
    return frozenset(_structure_matches(text.replace("\r\n", "\n")))


def structure_flags(original: str) -> list[LeakFlag]:
    """One flag per kind of :data:`ITEM_STRUCTURE_KINDS` in ``original``, with an excerpt."""
    return [
        LeakFlag(kind, excerpt, start, end)
        for kind, (start, end, excerpt) in _structure_matches(original).items()
        if kind in ITEM_STRUCTURE_KINDS
    ]


#: Two sources differ in a kind of structure when one never uses it and another does, or when
#: the shares of their outputs that use it differ by at least this much.
STRUCTURE_SHARE_GAP = 0.1


@dataclass(frozen=True)
class StructureWarning:
    """A kind of structure used differently by sources; ``counts`` per source:
    ``(outputs that have it, outputs)``, sources in sorted order."""

    kind: str
    counts: dict[str, tuple[int, int]]

    @property
    def label(self) -> str:
        return STRUCTURE_LABELS[self.kind]

    @property
    def message(self) -> str:
        parts = ", ".join(f"{src} {n} of {total}" for src, (n, total) in self.counts.items())
        return f"{self.label}: {parts}"


def structure_by_source(outputs: Iterable[tuple[str, str]]) -> list[StructureWarning]:
    """Kinds of structure used differently by the sources of ``(source, original text)`` pairs.

    A rater cannot tell two sources apart by a structure only if both use it alike: a kind is
    reported when one source never uses it and another does, or when their shares of outputs
    differ by :data:`STRUCTURE_SHARE_GAP` or more. A single source is never reported.
    """
    totals: dict[str, int] = {}
    having: dict[str, dict[str, int]] = {kind: {} for kind in STRUCTURE_LABELS}
    for source, text in outputs:
        totals[source] = totals.get(source, 0) + 1
        for kind in output_structure(text):
            having[kind][source] = having[kind].get(source, 0) + 1
    if len(totals) < 2:
        return []
    warnings: list[StructureWarning] = []
    for kind, by_source in having.items():
        if not by_source:
            continue
        counts = {src: (by_source.get(src, 0), totals[src]) for src in sorted(totals)}
        shares = [n / total for n, total in counts.values()]
        never = min(n for n, _ in counts.values()) == 0
        if never or max(shares) - min(shares) >= STRUCTURE_SHARE_GAP:
            warnings.append(StructureWarning(kind, counts))
    return warnings
