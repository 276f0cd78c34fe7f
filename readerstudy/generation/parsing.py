"""From a chat completion (the JSON a server returned) to an outcome: done, refused or unparseable.

Nothing is guessed. An answer is **done** only when the message content is one JSON object
(optionally inside one Markdown code fence) that matches the configuration's schema, with a
``category`` on the study's scale and a non-empty ``impression``. It is **refused** when the
server says so (``message.refusal``, or ``finish_reason`` ``content_filter``). Anything else
(no JSON, malformed JSON, a cut-off answer, a category off the scale, free text such as
"BI-RADS 4" outside JSON) is **unparseable**; the text is kept and shown, and no reading is
made from it. The JSON part is :func:`readerstudy.core.llm.parsing.json_answer_from_completion`
(shared with the LLM judges); the checks of the fields are here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from readerstudy.core.llm.parsing import OK, REFUSED, json_answer_from_completion

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


def outcome_from_completion(
    body: dict[str, Any], *, categories: set[int] | frozenset[int], schema: dict[str, Any] | None
) -> Outcome:
    """Classify one chat completion. ``schema`` is the answer schema (None: not checked)."""
    answer = json_answer_from_completion(body, schema=schema)
    out = Outcome(
        status="unparseable",
        raw_text=answer.raw_text,
        parsed=answer.parsed,
        refusal=answer.refusal,
        finish_reason=answer.finish_reason,
        error=answer.error,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
    )
    if answer.status == REFUSED:
        out.status = "refused"
        return out
    if answer.status != OK or answer.parsed is None:
        return out
    data = answer.parsed
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
