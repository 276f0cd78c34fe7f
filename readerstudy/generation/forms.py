"""Forms of the generation pages. No form has a field for an API key."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from readerstudy.generation.keys import api_key_name_valid
from readerstudy.generation.prompts import (
    PLACEHOLDERS,
    default_schema,
    schema_problems,
    template_problems,
)
from readerstudy.models import Reader, Study
from readerstudy.models_generation import GenerationConfig, GenerationRun

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
            "api_key_env": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        help_texts = {
            "user_template": "Placeholders: "
            + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            + ". Literal braces: {{ }}.",
        }

    def __init__(self, *args: Any, study: Study, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.study = study
        if self.instance.pk:
            for name in ("reader", "reader_code", "reader_label"):
                del self.fields[name]
        else:
            self.fields["reader"].queryset = Reader.objects.filter(
                study=study, kind=Reader.Kind.MODEL, generation_config__isnull=True
            ).order_by("position", "code")

    def clean_api_key_env(self) -> str:
        value = (self.cleaned_data.get("api_key_env") or "").strip()
        if not api_key_name_valid(value):
            # Never send what was typed back to the page: it may be a key pasted by mistake.
            self.data = self.data.copy()
            self.data[self.add_prefix("api_key_env")] = ""
            raise ValidationError(
                "enter the NAME of the environment variable that holds the key (capital letters, "
                "digits and underscores, e.g. OPENAI_API_KEY), never the key itself"
            )
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
        data = super().clean()
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


class RunStartForm(forms.Form):
    mode = forms.ChoiceField(choices=GenerationRun.Mode.choices, initial="direct")
    n_runs = forms.IntegerField(label="Runs per case", min_value=1, max_value=20)
    split = forms.ChoiceField(choices=GenerationRun.Split.choices, initial="test")
    limit = forms.IntegerField(
        label="Only the first N cases",
        required=False,
        min_value=1,
        help_text="Empty: all cases of the split. A small number makes a cheap trial run.",
    )
    overwrite = forms.BooleanField(
        label="Replace this reader's existing readings on these cases",
        required=False,
        help_text="They are deleted when the run is created (readings with Likert scores never are).",
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
