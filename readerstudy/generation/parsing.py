"""From a chat completion (the JSON a server returned) to an outcome: done, refused or unparseable.

Nothing is guessed. An answer is **done** only when the message content is one JSON object
(optionally inside one Markdown code fence) that matches the configuration's schema, with a
``category`` on the study's scale and a non-empty ``impression``. It is **refused** when the
server says so (``message.refusal``, or ``finish_reason`` ``content_filter``). Anything else
(no JSON, malformed JSON, a cut-off answer, a category off the scale, free text such as
"BI-RADS 4" outside JSON) is **unparseable**; the text is kept and shown, and no reading is
made from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*)\n\s*```$", re.DOTALL)
_INT = re.compile(r"^[0-9]+$")


@dataclass
class Outcome:
    status: str  # done, refused or unparseable
    raw_text: str = ""
    parsed: dict[str, Any] | None = None
    category: int | None = None
    impression: str = ""
    refusal: str = ""
    finish_reason: str = ""
    error: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def reading_impression(impression: str, management: str) -> str:
    """The text stored on the reading: the impression, then the management recommendation."""
    impression, management = impression.strip(), management.strip()
    return f"{impression}\n\nRecommendation: {management}" if management else impression


def _usage(body: dict[str, Any]) -> tuple[int | None, int | None]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None, None

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and value >= 0 else None

    return count("prompt_tokens"), count("completion_tokens")


def _json_text(content: str) -> str:
    text = content.strip()
    fenced = _FENCE.match(text)
    return fenced.group(1).strip() if fenced else text


def outcome_from_completion(
    body: dict[str, Any], *, categories: set[int] | frozenset[int], schema: dict[str, Any] | None
) -> Outcome:
    """Classify one chat completion. ``schema`` is the answer schema (None: not checked)."""
    prompt_tokens, completion_tokens = _usage(body)
    out = Outcome(
        status="unparseable", prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        out.error = "the answer has no choices"
        return out
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    out.finish_reason = str(choice.get("finish_reason") or "")
    content = message.get("content")
    out.raw_text = content if isinstance(content, str) else ""
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        out.status, out.refusal = "refused", refusal
        return out
    if out.finish_reason == "content_filter":
        out.status, out.refusal = "refused", "the server's content filter withheld the answer"
        return out
    if not out.raw_text.strip():
        out.error = "empty answer"
        return out
    try:
        data = json.loads(_json_text(out.raw_text))
    except ValueError as exc:
        cut = out.finish_reason == "length"
        out.error = (
            "the answer was cut off at the token limit (finish_reason=length)"
            if cut
            else f"not JSON: {exc}"
        )
        return out
    if not isinstance(data, dict):
        out.error = "the answer is JSON but not an object"
        return out
    out.parsed = data
    if schema:
        errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: e.path)
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "answer"
            out.error = f"does not match the schema: {where}: {errors[0].message}"
            return out
    category = data.get("category")
    if isinstance(category, str) and _INT.match(category.strip()):
        category = int(category.strip())
    if isinstance(category, bool) or not isinstance(category, int):
        out.error = f"category: expected an integer, got {category!r}"
        return out
    if category not in categories:
        out.error = f"category: {category} is not on the scale {sorted(categories)}"
        return out
    impression = data.get("impression")
    if not isinstance(impression, str) or not impression.strip():
        out.error = "impression: missing or empty"
        return out
    management = data.get("management", "")
    if not isinstance(management, str):
        out.error = f"management: expected text, got {management!r}"
        return out
    out.status = "done"
    out.category = category
    out.impression = reading_impression(impression, management)
    return out
