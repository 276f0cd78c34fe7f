"""Templates, request bodies (text, images as data URLs, seeds, schema) and token estimates."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from readerstudy.generation.models import GenerationConfig
from readerstudy.generation.prompts import (
    DEFAULT_USER_TEMPLATES,
    Prompting,
    RequestBuilder,
    config_snapshot,
    default_schema,
    image_tokens,
    schema_problems,
    template_problems,
)
from readerstudy.studies.models import Case, CaseImage, Study
from tests.conftest import png_bytes
from tests.generation.conftest import cases_of, config_create


def add_images(case: Case, n: int = 2) -> None:
    for i in range(n):
        image = CaseImage(
            case=case, original_name=f"p{i}.png", order=i, sha256="x", content_type="image/png"
        )
        image.file.save(f"p{i}.png", ContentFile(png_bytes(50 + i)), save=False)
        image.save()


def test_known_placeholders_and_escaped_braces_are_fine() -> None:
    template = "{findings} {clinical_history} {location} {scale} {categories} {{json}}"
    assert template_problems(template, inputs="text") == []


@pytest.mark.parametrize(
    ("template", "inputs", "problem"),
    [
        ("{report}", "text", "unknown placeholder {report}"),
        ("{findings.upper}", "text", "unknown placeholder"),
        ("{findings!r}", "text", "takes no format"),
        ("{findings:>10}", "text", "takes no format"),
        ('Answer as {"category": 4}', "text", "unknown placeholder"),
        ("{findings}", "images", "not available in images-only mode"),
        ("{unclosed", "text", "literal braces"),
    ],
)
def test_bad_templates_are_explained(template: str, inputs: str, problem: str) -> None:
    assert problem in " ".join(template_problems(template, inputs=inputs))


def test_schema_checks() -> None:
    assert schema_problems(default_schema([1, 2])) == []
    assert schema_problems([]) == ["must be a JSON object"]
    assert "category" in schema_problems({"type": "object", "properties": {"impression": {}}})[0]
    assert "not a valid JSON schema" in schema_problems({"type": 5})[0]


@pytest.mark.django_db
def test_a_text_request_has_one_system_and_one_user_message(study: Study) -> None:
    config = config_create(study, "http://127.0.0.1:9/v1", seed=100, temperature=0.2)
    builder = RequestBuilder(study, Prompting.from_snapshot(config_snapshot(config)))
    case = cases_of(study)[0]
    body, summary = builder.body(case, 3)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert case.findings in user and case.location in user and case.clinical_history in user
    assert "BI-RADS" in body["messages"][0]["content"]
    assert "4 (Suspicious)" in body["messages"][0]["content"]
    assert body["seed"] == 102  # seed + run - 1
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 800
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["category"]["enum"] == list(range(7))
    assert summary == {
        "system": body["messages"][0]["content"],
        "user": user,
        "images": 0,
        "seed": 102,
    }


@pytest.mark.django_db
def test_an_images_only_request_sends_data_urls_and_no_findings(study: Study) -> None:
    config = config_create(
        study,
        "http://127.0.0.1:9/v1",
        inputs="images",
        user_template=DEFAULT_USER_TEMPLATES["images"],
        max_images=2,
        image_detail="low",
        seed=None,
        token_param="max_completion_tokens",
    )
    case = cases_of(study)[0]
    add_images(case, 3)
    builder = RequestBuilder(study, Prompting.from_snapshot(config_snapshot(config)))
    body, summary = builder.body(case, 1)
    content = body["messages"][1]["content"]
    assert content[0]["type"] == "text" and case.findings not in content[0]["text"]
    images = [p for p in content if p["type"] == "image_url"]
    assert len(images) == 2 and summary["images"] == 2
    url = images[0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")
    assert images[0]["image_url"]["detail"] == "low"
    assert "seed" not in body and "max_completion_tokens" in body
    # images are estimated as tiles, text as characters / 4
    assert builder.input_tokens(case) > 2 * 85


@pytest.mark.django_db
def test_findings_never_reach_an_images_only_model_even_through_the_system_prompt(
    study: Study,
) -> None:
    config = config_create(
        study,
        "http://127.0.0.1:9/v1",
        inputs="images",
        user_template="Images of the lesion at {location}.",
    )
    prompting = Prompting.from_snapshot(config_snapshot(config))
    object.__setattr__(prompting, "system_template", "{findings}")  # as if validation were bypassed
    builder = RequestBuilder(study, prompting)
    case = cases_of(study)[0]
    assert builder.values(case)["findings"] == ""


@pytest.mark.django_db
def test_a_snapshot_keeps_what_shapes_the_answers(study: Study) -> None:
    config = config_create(study, "http://127.0.0.1:9/v1")
    snap = config_snapshot(config)
    GenerationConfig.objects.filter(pk=config.pk).update(model="other-model")
    assert snap["model"] == "gpt-4o-2024-08-06"
    assert snap["reader"] == "M1" and "api_key_env" not in snap


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        ((512, 512), "high", 85 + 170),
        ((1024, 1024), "high", 85 + 170 * 4),
        ((4096, 2048), "high", 85 + 170 * 6),
        ((100, 100), "low", 85),
    ],
)
def test_image_tokens_follow_the_tile_rule(size: tuple[int, int], detail: str, tokens: int) -> None:
    assert image_tokens(*size, detail) == tokens


@pytest.mark.django_db
def test_a_dicom_image_is_sent_as_a_png(study: Study) -> None:
    from pydicom.data import get_testdata_file

    from readerstudy.generation.prompts import image_prepare

    case = cases_of(study)[0]
    image = CaseImage(
        case=case, original_name="ct.dcm", order=0, sha256="x", content_type="application/dicom"
    )
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    image.file.save("ct.dcm", ContentFile(data), save=False)
    image.save()
    prepared = image_prepare(image)
    assert prepared.data_url.startswith("data:image/png;base64,")
    assert (prepared.width, prepared.height) == (128, 128)
