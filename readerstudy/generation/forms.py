"""Forms of the generation pages. No form has a field for an API key.

The key variable is a choice among the names the server's settings allow
(:func:`readerstudy.core.llm.keys.api_key_names_allowed`; names only, never values), and the
base URL must be allowed by ``GENERATION_ALLOWED_BASE_URLS`` or be a public endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from readerstudy.core.converters import INT32_MAX
from readerstudy.core.forms import form_field
from readerstudy.core.llm.egress import base_url_problem
from readerstudy.core.llm.keys import (
    KEYS_SETTING,
    PREFIX_SETTING,
    api_key_is_set,
    api_key_name_allowed,
    api_key_names_allowed,
    api_key_not_allowed_message,
    api_key_prefix,
)
from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.generation.prompts import (
    DEFAULT_SYSTEM_TEMPLATE,
    DEFAULT_USER_TEMPLATES,
    PLACEHOLDERS,
    default_schema,
    schema_problems,
    template_problems,
)
from readerstudy.generation.services import RunOptions
from readerstudy.studies.models import Reader, Study

CONFIG_FIELDS = [
    "provider",
    "base_url",
    "api_version",
    "model",
    "api_key_env",
    "inputs",
    "system_template",
    "user_template",
    "image_detail",
    "max_images",
    "temperature",
    "seed",
    "n_runs",
    "response_format",
    "response_schema",
    "max_tokens",
    "token_param",
    "price_input_per_1k",
    "price_output_per_1k",
    "concurrency",
    "timeout_seconds",
    "max_attempts",
]


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class GenerationConfigForm(forms.ModelForm):
    """Create or edit a configuration. Creating one also picks or creates its model reader."""

    reader = forms.ModelChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        empty_label="— a new model reader —",
        help_text="A model reader of the study that has no configuration yet.",
    )
    reader_code = forms.SlugField(
        label="New reader id",
        required=False,
        max_length=100,
        help_text="For a new model reader: a short id, e.g. the model and variant (gpt4o-zero-shot).",
    )
    reader_label = forms.CharField(label="New reader label", required=False, max_length=300)
    api_key_env = forms.ChoiceField(
        label="API key variable",
        required=False,
        choices=(),
        # The default message repeats the value: it may be a key pasted by mistake.
        error_messages={
            "invalid_choice": "choose one of the key variables this server allows: the NAME "
            "of the variable that holds the key, never the key itself"
        },
        help_text=f"Among the variables this server allows ({KEYS_SETTING}, {PREFIX_SETTING}).",
    )
    response_schema = PrettyJSONField(
        label="Answer JSON schema",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text="Empty: category (on the scale), impression and management.",
    )

    class Meta:
        model = GenerationConfig
        fields = CONFIG_FIELDS
        widgets = {
            "system_template": forms.Textarea(attrs={"rows": 5}),
            "user_template": forms.Textarea(attrs={"rows": 6}),
            "base_url": forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false"}),
        }
        help_texts = {
            "user_template": "Placeholders: "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + ". Literal braces: {{ }}.",
        }

    def __init__(self, *args: Any, study: Study, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.study = study
        key = form_field(self, "api_key_env", forms.ChoiceField)
        key.choices = api_key_choices(self.instance.api_key_env)
        prefix = api_key_prefix()
        key.help_text = (
            "The variable holding the key, among those this server allows (listed in "
            f"{KEYS_SETTING}" + (f", or starting with {prefix}" if prefix else "") + "); "
            "the key itself is never shown or stored."
        )
        if self.instance.pk:
            for name in ("reader", "reader_code", "reader_label"):
                del self.fields[name]
        else:
            form_field(self, "reader", forms.ModelChoiceField).queryset = Reader.objects.filter(
                study=study, kind=Reader.Kind.MODEL, generation_config__isnull=True
            ).order_by("position", "code")

    def clean_api_key_env(self) -> str:
        value = self.cleaned_data.get("api_key_env") or ""
        if not api_key_name_allowed(value):
            raise ValidationError(api_key_not_allowed_message(value))
        return value

    def clean_base_url(self) -> str:
        value = (self.cleaned_data.get("base_url") or "").strip()
        problem = base_url_problem(value) if value else None
        if problem:
            raise ValidationError(problem)
        return value

    def clean_response_schema(self) -> Any:
        schema = self.cleaned_data.get("response_schema")
        if schema in (None, "", {}):
            return default_schema(self.study.categories)
        problems = schema_problems(schema)
        if problems:
            raise ValidationError("; ".join(problems))
        return schema

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns (typed "| None" by the stubs)
        inputs = data.get("inputs") or GenerationConfig.Inputs.TEXT
        for name in ("system_template", "user_template"):
            problems = template_problems(data.get(name) or "", inputs=inputs)
            if problems:
                self.add_error(name, "; ".join(problems))
        if data.get("provider") == GenerationConfig.Provider.AZURE and not data.get("api_version"):
            self.add_error("api_version", "Azure OpenAI needs an API version, e.g. 2024-10-21")
        if "reader" in self.fields:
            reader, code = data.get("reader"), (data.get("reader_code") or "").strip()
            if reader is None and not code:
                self.add_error("reader_code", "choose a model reader or give an id for a new one")
            elif reader is None and Reader.objects.filter(study=self.study, code=code).exists():
                self.add_error("reader_code", f"the study already has a reader {code}")
        return data

    def config_values(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in CONFIG_FIELDS if name in self.cleaned_data
        }


def config_initial(study: Study, *, inputs: str = "text") -> dict[str, Any]:
    """What a new configuration starts with (the page's form shows it; the API fills in what
    a request leaves out): every field's model default, the default prompts for ``inputs``,
    the public OpenAI endpoint and model, the first allowed key variable that is set and the
    answer schema of the study's scale."""
    values: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        field = GenerationConfig._meta.get_field(name)
        default = field.get_default() if isinstance(field, models.Field) else None
        values[name] = "" if default is None else default
    values.update(
        {
            "inputs": inputs,
            "system_template": DEFAULT_SYSTEM_TEMPLATE,
            "user_template": DEFAULT_USER_TEMPLATES.get(inputs, DEFAULT_USER_TEMPLATES["text"]),
            "base_url": "https://api.openai.com/v1",
            "model": "gpt-4o-2024-08-06",
            "api_key_env": api_key_initial(),
            "response_schema": default_schema(study.categories),
        }
    )
    return values


def api_key_choices(current: str = "") -> list[tuple[str, str]]:
    """No key, then the allowed names (marked when not set); a stored name the settings no
    longer allow is kept as a choice that says so (saving it is refused)."""
    choices = [("", "none (a server without keys)")]
    for name in api_key_names_allowed():
        choices.append((name, name if api_key_is_set(name) else f"{name} (not set)"))
    if current and not api_key_name_allowed(current):
        choices.append((current, f"{current}: not allowed on this server"))
    return choices


def api_key_initial() -> str:
    """The key variable offered for a new configuration: the first allowed one that is set."""
    names = api_key_names_allowed()
    return next((n for n in names if api_key_is_set(n)), names[0] if names else "")


class RunStartForm(forms.Form):
    mode = forms.ChoiceField(choices=GenerationRun.Mode.choices, initial="direct")
    n_runs = forms.IntegerField(label="Runs per case", min_value=1, max_value=20)
    split = forms.ChoiceField(choices=GenerationRun.Split.choices, initial="test")
    limit = forms.IntegerField(
        label="Only the first N cases",
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        help_text="Empty: all cases of the split. A small number makes a cheap trial run.",
    )
    overwrite = forms.BooleanField(
        label="Replace this reader's existing readings on these cases",
        required=False,
        help_text="They are deleted when the run is created (readings with Likert scores never are).",
    )

    def options(self) -> RunOptions:
        """The run the valid form asks for."""
        data = self.cleaned_data
        return RunOptions(
            mode=data["mode"],
            n_runs=data["n_runs"],
            split=data["split"],
            limit=data["limit"],
            overwrite=data["overwrite"],
        )


CONFIG_FIELDSETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Model reader", ("reader", "reader_code", "reader_label")),
    ("Server", ("provider", "base_url", "api_version", "model", "api_key_env")),
    (
        "Prompt and inputs",
        ("inputs", "system_template", "user_template", "image_detail", "max_images"),
    ),
    (
        "Sampling and answer",
        (
            "temperature",
            "seed",
            "n_runs",
            "response_format",
            "response_schema",
            "max_tokens",
            "token_param",
        ),
    ),
    (
        "Limits and cost",
        (
            "concurrency",
            "timeout_seconds",
            "max_attempts",
            "price_input_per_1k",
            "price_output_per_1k",
        ),
    ),
)


def config_fieldsets(form: GenerationConfigForm) -> list[tuple[str, list[Any]]]:
    """The form's bound fields grouped for the page (groups without fields are left out)."""
    groups = []
    for legend, names in CONFIG_FIELDSETS:
        bound = [form[name] for name in names if name in form.fields]
        if bound:
            groups.append((legend, bound))
    return groups
