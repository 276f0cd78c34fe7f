"""Prompts: templates and their placeholders, the answer schema, request bodies, token estimates.

Templates are Python format strings with these placeholders only: ``{findings}``,
``{clinical_history}``, ``{location}``, ``{scale}`` (the scale's name, e.g. BI-RADS) and
``{categories}`` (the scale's categories with their labels). Literal braces are written
``{{`` and ``}}``. In images-only mode ``{findings}`` is refused: the report text must not
reach a model that is meant to see only the images.

Everything that shapes an answer (model, templates, inputs, temperature, seed, schema, token
limit) is taken from the run's snapshot of its configuration, so that editing a configuration
never changes a run that has started.
"""

from __future__ import annotations

import base64
import io
import math
import string
from collections import OrderedDict
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from readerstudy.core.llm.estimate import MESSAGE_OVERHEAD_TOKENS, estimate_text_tokens
from readerstudy.generation.models import GenerationConfig
from readerstudy.studies.display import DISPLAY_CONTENT_TYPE, display_name
from readerstudy.studies.models import Case, CaseImage, Study

PLACEHOLDERS: tuple[str, ...] = ("findings", "clinical_history", "location", "scale", "categories")

DEFAULT_SYSTEM_TEMPLATE = (
    "You are an experienced breast radiologist. From the information given, write the "
    "diagnostic impression of the breast MRI examination, assign one {scale} category from: "
    "{categories}, and give a management recommendation. Answer only with a JSON object with "
    'the keys "category" (an integer), "impression" (the diagnostic impression) and '
    '"management" (the management recommendation).'
)
DEFAULT_USER_TEMPLATES: dict[str, str] = {
    "text": (
        "Clinical history: {clinical_history}\n"
        "Lesion location: {location}\n"
        "MRI findings: {findings}\n\n"
        "Write the diagnostic impression with a {scale} category and a management recommendation."
    ),
    "images": (
        "Clinical history: {clinical_history}\n"
        "Lesion location: {location}\n"
        "The contrast-enhanced MRI images of the lesion follow.\n\n"
        "Write the diagnostic impression with a {scale} category and a management recommendation."
    ),
    "text+images": (
        "Clinical history: {clinical_history}\n"
        "Lesion location: {location}\n"
        "MRI findings: {findings}\n"
        "The contrast-enhanced MRI images of the lesion follow.\n\n"
        "Write the diagnostic impression with a {scale} category and a management recommendation."
    ),
}


def template_problems(template: str, *, inputs: str) -> list[str]:
    """What is wrong with a template (empty when it is usable)."""
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"{exc} (write literal braces as {{{{ and }}}})"]
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            problems.append(
                f"unknown placeholder {{{name}}}; use {allowed} (literal braces: {{{{ }}}})"
            )
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} takes no format or conversion")
        elif name == "findings" and inputs == GenerationConfig.Inputs.IMAGES:
            problems.append("{findings} is not available in images-only mode")
    return problems


def categories_text(study: Study) -> str:
    """``0 (Incomplete), 1 (Negative), ...`` for the ``{categories}`` placeholder."""
    parts = []
    for c in study.scale_categories.all():
        parts.append(f"{c.value} ({c.label})" if c.label else str(c.value))
    return ", ".join(parts)


def default_schema(categories: list[int]) -> dict[str, Any]:
    """The default answer schema: category (on the scale), impression, management."""
    return {
        "type": "object",
        "properties": {
            "category": {"type": "integer", "enum": list(categories)},
            "impression": {"type": "string"},
            "management": {"type": "string"},
        },
        "required": ["category", "impression", "management"],
        "additionalProperties": False,
    }


def schema_problems(schema: Any) -> list[str]:
    """What is wrong with an answer schema (empty when usable)."""
    if not isinstance(schema, dict):
        return ["must be a JSON object"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"not a valid JSON schema: {exc.message}"]
    if schema.get("type") != "object":
        return ['must describe an object ("type": "object")']
    props = schema.get("properties")
    if not isinstance(props, dict):
        return ['needs "properties"']
    return [f'needs the property "{key}"' for key in ("category", "impression") if key not in props]


# The fields of a configuration that shape the answers: copied into the run when it starts.
SNAPSHOT_FIELDS: tuple[str, ...] = (
    "model",
    "system_template",
    "user_template",
    "inputs",
    "image_detail",
    "max_images",
    "temperature",
    "seed",
    "response_format",
    "response_schema",
    "max_tokens",
    "token_param",
    "price_input_per_1k",
    "price_output_per_1k",
)


def config_snapshot(config: GenerationConfig) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(config, name)
        data[name] = str(value) if isinstance(value, Decimal) else value
    if not data["response_schema"]:
        data["response_schema"] = default_schema(config.reader.study.categories)
    data["reader"] = config.reader.code
    data["provider"] = config.provider
    data["base_url"] = config.base_url
    return data


@dataclass(frozen=True)
class Prompting:
    """The answer-shaping part of a configuration (a run's snapshot)."""

    model: str
    system_template: str
    user_template: str
    inputs: str
    image_detail: str
    max_images: int | None
    temperature: float | None
    seed: int | None
    response_format: str
    response_schema: dict[str, Any]
    max_tokens: int
    token_param: str
    price_input_per_1k: str
    price_output_per_1k: str

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> Prompting:
        return cls(**{f.name: snapshot[f.name] for f in fields(cls)})

    @property
    def uses_text(self) -> bool:
        return self.inputs in ("text", "text+images")

    @property
    def uses_images(self) -> bool:
        return self.inputs in ("images", "text+images")


def image_tokens(width: int, height: int, detail: str) -> int:
    """Tokens of one image for GPT-4o-class models (OpenAI's published tile rule)."""
    if detail == "low":
        return 85
    if width <= 0 or height <= 0:
        return 765
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return 85 + 170 * tiles


@dataclass(frozen=True)
class PreparedImage:
    data_url: str
    width: int
    height: int


def image_prepare(image: CaseImage) -> PreparedImage:
    """A case image as a ``data:`` URL: PNG and JPEG as stored, DICOM as its display PNG
    (the rendering readers see, decoded once at import within the image limits)."""
    from django.core.files.storage import default_storage
    from PIL import Image

    content_type = image.content_type
    if content_type in ("image/png", "image/jpeg"):
        with image.file.open("rb") as fh:
            data = fh.read()
    else:
        with default_storage.open(display_name(image), "rb") as fh:
            data = fh.read()
        content_type = DISPLAY_CONTENT_TYPE
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
    encoded = base64.b64encode(data).decode("ascii")
    return PreparedImage(f"data:{content_type};base64,{encoded}", width, height)


class RequestBuilder:
    """Builds the chat request of each (case, run) from a run's snapshot.

    Every request is self-contained: one system message (when the system template is not
    empty) and one user message, nothing from any other request. Images of recently used
    cases are kept in a small cache because the runs of a case are sent close together.
    """

    def __init__(self, study: Study, prompting: Prompting, *, image_cache_size: int = 64):
        self.study = study
        self.prompting = prompting
        self.scale = study.scale_name
        self.categories = categories_text(study)
        self._images: OrderedDict[int, list[PreparedImage]] = OrderedDict()
        self._cache_size = image_cache_size

    def values(self, case: Case) -> dict[str, str]:
        return {
            "findings": case.findings if self.prompting.uses_text else "",
            "clinical_history": case.clinical_history,
            "location": case.location,
            "scale": self.scale,
            "categories": self.categories,
        }

    def images(self, case: Case) -> list[PreparedImage]:
        if not self.prompting.uses_images:
            return []
        cached = self._images.get(case.pk)
        if cached is not None:
            self._images.move_to_end(case.pk)
            return cached
        qs = CaseImage.objects.filter(case=case).order_by("order", "id")
        if self.prompting.max_images:
            qs = qs[: self.prompting.max_images]
        prepared = [image_prepare(image) for image in qs]
        self._images[case.pk] = prepared
        while len(self._images) > self._cache_size:
            self._images.popitem(last=False)
        return prepared

    def messages(self, case: Case) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The messages for ``case`` and a summary to store (the text, images only counted)."""
        values = self.values(case)
        system = self.prompting.system_template.format_map(values)
        user = self.prompting.user_template.format_map(values)
        images = self.images(case)
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        if images:
            content: list[dict[str, Any]] = []
            if user:
                content.append({"type": "text", "text": user})
            content.extend(
                {
                    "type": "image_url",
                    "image_url": {"url": im.data_url, "detail": self.prompting.image_detail},
                }
                for im in images
            )
            messages.append({"role": "user", "content": content})
        else:
            messages.append({"role": "user", "content": user})
        summary = {"system": system, "user": user, "images": len(images)}
        return messages, summary

    def body(self, case: Case, run_number: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """The request body of (``case``, ``run_number``) and its summary."""
        p = self.prompting
        messages, summary = self.messages(case)
        body: dict[str, Any] = {"model": p.model, "messages": messages, p.token_param: p.max_tokens}
        if p.temperature is not None:
            body["temperature"] = p.temperature
        if p.seed is not None:
            body["seed"] = p.seed + run_number - 1
            summary["seed"] = body["seed"]
        if p.response_format == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "reading",
                    "schema": p.response_schema,
                    "strict": p.response_schema.get("additionalProperties") is False,
                },
            }
        elif p.response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body, summary

    def input_tokens(self, case: Case) -> int:
        """Estimated input tokens of one request for ``case`` (text ÷ 4 + image tiles)."""
        values = self.values(case)
        total = 0
        for template in (self.prompting.system_template, self.prompting.user_template):
            text = template.format_map(values)
            if text:
                total += estimate_text_tokens(text) + MESSAGE_OVERHEAD_TOKENS
        for im in self.images(case):
            total += image_tokens(im.width, im.height, self.prompting.image_detail)
        return total
