"""Answers become done, refused or unparseable; nothing is guessed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from readerstudy.generation.parsing import outcome_from_completion, reading_impression
from readerstudy.generation.prompts import default_schema

CATEGORIES = frozenset(range(7))
SCHEMA = default_schema(list(range(7)))


def completion(
    content: str | None = None,
    *,
    refusal: str | None = None,
    finish: str = "stop",
    usage: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "x",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    return body


def answer(**fields: Any) -> str:
    data = {"category": 4, "impression": "Segmental NME, suspicious.", "management": "Biopsy."}
    data.update(fields)
    return json.dumps(data)


def test_a_valid_answer_is_done_with_impression_and_recommendation() -> None:
    out = outcome_from_completion(completion(answer()), categories=CATEGORIES, schema=SCHEMA)
    assert out.status == "done"
    assert out.category == 4
    assert out.impression == "Segmental NME, suspicious.\n\nRecommendation: Biopsy."
    assert (out.prompt_tokens, out.completion_tokens) == (120, 30)
    assert out.parsed == json.loads(answer())


def test_json_inside_one_code_fence_is_accepted() -> None:
    fenced = "```json\n" + answer(category=3) + "\n```"
    out = outcome_from_completion(completion(fenced), categories=CATEGORIES, schema=SCHEMA)
    assert out.status == "done" and out.category == 3


def test_a_refusal_is_recorded_as_such() -> None:
    out = outcome_from_completion(
        completion(None, refusal="I can't help with medical images."),
        categories=CATEGORIES,
        schema=SCHEMA,
    )
    assert out.status == "refused"
    assert out.refusal == "I can't help with medical images."
    assert out.category is None


def test_the_content_filter_is_a_refusal() -> None:
    out = outcome_from_completion(
        completion(None, finish="content_filter"), categories=CATEGORIES, schema=SCHEMA
    )
    assert out.status == "refused"


@pytest.mark.parametrize(
    ("content", "finish", "problem"),
    [
        ('{"category": 4, "impression": "Segm', "stop", "not JSON"),
        ('{"category": 4, "impression": "Segm', "length", "cut off at the token limit"),
        ("The lesion is BI-RADS 4; biopsy is recommended.", "stop", "not JSON"),
        ("[4]", "stop", "not an object"),
        ("", "stop", "empty answer"),
        (answer(category=9), "stop", "does not match the schema"),
        (answer(category="4"), "stop", "does not match the schema"),
        (answer(impression=""), "stop", "impression"),
    ],
)
def test_anything_else_is_unparseable_and_keeps_the_text(
    content: str, finish: str, problem: str
) -> None:
    out = outcome_from_completion(
        completion(content, finish=finish), categories=CATEGORIES, schema=SCHEMA
    )
    assert out.status == "unparseable"
    assert problem in out.error
    assert out.raw_text == content
    assert out.category is None


def test_without_a_schema_the_scale_is_still_checked() -> None:
    out = outcome_from_completion(
        completion(answer(category=7)), categories=CATEGORIES, schema=None
    )
    assert out.status == "unparseable" and "not on the scale" in out.error
    out = outcome_from_completion(
        completion(answer(category="5")), categories=CATEGORIES, schema=None
    )
    assert out.status == "done" and out.category == 5


def test_an_answer_without_choices_is_unparseable() -> None:
    out = outcome_from_completion({"id": "x", "choices": []}, categories=CATEGORIES, schema=SCHEMA)
    assert out.status == "unparseable" and "no choices" in out.error
    assert out.prompt_tokens is None


def test_reading_impression_leaves_out_an_empty_recommendation() -> None:
    assert reading_impression(" Benign. ", "") == "Benign."
