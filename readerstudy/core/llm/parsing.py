"""From a chat completion (the JSON a server returned) to a JSON answer: ok, refused or unparseable.

Nothing is guessed. An answer is **ok** only when the message content is one JSON object
(optionally inside one Markdown code fence) that matches the given JSON schema. It is
**refused** when the server says so (``message.refusal``, or ``finish_reason``
``content_filter``). Anything else (no choices, an empty answer, no JSON, malformed JSON, a
cut-off answer, JSON that is not an object or does not match the schema) is
**unparseable**, with the reason in ``error``; the text is kept. What the fields of the object
mean is for the caller to check (generation: a category on the scale and an impression;
judges: a score per domain).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n(.*)\n\s*```$", re.DOTALL)

OK = "ok"
REFUSED = "refused"
UNPARSEABLE = "unparseable"


@dataclass
class JsonAnswer:
    status: str  # ok, refused or unparseable
    raw_text: str = ""
    parsed: dict[str, Any] | None = None  # set as soon as the content is a JSON object
    refusal: str = ""
    finish_reason: str = ""
    error: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def completion_usage(body: dict[str, Any]) -> tuple[int | None, int | None]:
    """The prompt and completion tokens a server reports (None when it does not)."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None, None

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and value >= 0 else None

    return count("prompt_tokens"), count("completion_tokens")


def json_text(content: str) -> str:
    """``content`` without one surrounding Markdown code fence."""
    text = content.strip()
    fenced = _FENCE.match(text)
    return fenced.group(1).strip() if fenced else text


def json_answer_from_completion(
    body: dict[str, Any], *, schema: dict[str, Any] | None
) -> JsonAnswer:
    """Classify one chat completion. ``schema`` is the answer's JSON schema (None: not checked)."""
    prompt_tokens, completion_tokens = completion_usage(body)
    out = JsonAnswer(
        status=UNPARSEABLE, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
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
        out.status, out.refusal = REFUSED, refusal
        return out
    if out.finish_reason == "content_filter":
        out.status, out.refusal = REFUSED, "the server's content filter withheld the answer"
        return out
    if not out.raw_text.strip():
        out.error = "empty answer"
        return out
    try:
        data = json.loads(json_text(out.raw_text))
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
    out.status = OK
    return out
