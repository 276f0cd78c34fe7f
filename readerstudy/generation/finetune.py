"""Fine-tuning datasets from the training split, and fine-tuning jobs.

One chat-format JSONL line per training case: the system and user messages exactly as a
generation run would send them (the same templates, so that what the model learns is what it
is later asked), and the reference answer as the assistant message. Modes follow the worked
example: ``text`` (findings text only; model C), ``images`` (images only; model B) and
``joint`` (text and images together; models D and E; for the sequential model D fine-tune the
text set first, then the joint set starting from the first job's fine-tuned model).

The assistant message is, by default, the answer JSON the runs ask for:
``{"category": …, "impression": <reference impression>, "management": ""}`` (the reference
impression usually contains its recommendation already). The category is, in order: the
reference reader's reading of the case, the case attribute ``reference_category``, or the one
``<scale> <n>`` mention (e.g. "BI-RADS 4") in the reference impression; a case where none
gives exactly one category on the scale is reported, and nothing is written. With
``assistant="text"`` the assistant message is the reference impression verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openai
from django.db import transaction

from readerstudy.audit.services import audit_record
from readerstudy.core.llm.client import Connection, error_text, sync_client_create
from readerstudy.core.llm.keys import ConnectionSettingsError, redact
from readerstudy.generation.models import FineTuneJob, GenerationConfig
from readerstudy.generation.prompts import (
    DEFAULT_SYSTEM_TEMPLATE,
    DEFAULT_USER_TEMPLATES,
    Prompting,
    RequestBuilder,
    config_snapshot,
)
from readerstudy.studies.models import Case, CaseImage, Reader, Reading, Study

MODES: dict[str, str] = {"text": "text", "images": "images", "joint": "text+images"}
#: The worked example's settings: five epochs, batch size 5, learning-rate multiplier 2.
DEFAULT_HYPERPARAMETERS: dict[str, Any] = {
    "n_epochs": 5,
    "batch_size": 5,
    "learning_rate_multiplier": 2,
}


class FinetuneExportError(Exception):
    """Some training cases cannot be exported; ``problems`` lists them (nothing was written)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    n_examples: int
    mode: str
    n_images: int


def _prompting(study: Study, mode: str, config: GenerationConfig | None) -> Prompting:
    if mode not in MODES:
        raise ValueError(f"mode: expected text, images or joint, got {mode!r}")
    inputs = MODES[mode]
    if config is not None:
        base = Prompting.from_snapshot(config_snapshot(config))
        if config.inputs != inputs:
            raise FinetuneExportError(
                [
                    f"reader {config.reader.code} is configured for {config.inputs} inputs, "
                    f"not {inputs}; export with its mode or without --reader"
                ]
            )
        return base
    return Prompting(
        model="",
        system_template=DEFAULT_SYSTEM_TEMPLATE,
        user_template=DEFAULT_USER_TEMPLATES[inputs],
        inputs=inputs,
        image_detail="auto",
        max_images=None,
        temperature=None,
        seed=None,
        response_format="json_schema",
        response_schema={},
        max_tokens=800,
        token_param="max_tokens",
        price_input_per_1k="0",
        price_output_per_1k="0",
    )


def reference_category(study: Study, case: Case, reference: dict[int, int]) -> int | str:
    """The reference category of a training case, or a problem (see the module docstring)."""
    categories = set(study.categories)
    if case.pk in reference:
        return reference[case.pk]
    attr = (case.attributes or {}).get("reference_category")
    if attr not in (None, ""):
        try:
            value = int(str(attr).strip())
        except ValueError:
            return f"reference_category {attr!r} is not an integer"
        return value if value in categories else f"reference_category {value} is not on the scale"
    pattern = re.compile(rf"\b{re.escape(study.scale_name)}\s*:?\s*([0-9]+)\b", re.IGNORECASE)
    found = {int(m) for m in pattern.findall(case.reference_impression)}
    found &= categories
    if len(found) == 1:
        return found.pop()
    if not found:
        return f"no {study.scale_name} category in its reference impression"
    return f"several {study.scale_name} categories in its reference impression: {sorted(found)}"


def finetune_examples(
    *,
    study: Study,
    mode: str,
    config: GenerationConfig | None = None,
    assistant: str = "json",
    split: str = "train",
) -> Iterator[dict[str, Any]]:
    """The training examples (raises ``FinetuneExportError`` before yielding on problems)."""
    prompting = _prompting(study, mode, config)
    cases = list(Case.objects.filter(study=study, split=split).order_by("position", "code"))
    if not cases:
        raise FinetuneExportError([f"{study.slug} has no {split} cases"])
    reference: dict[int, int] = {}
    if study.reference_reader_id:
        reference = dict(
            Reading.objects.filter(
                reader_id=study.reference_reader_id, case__in=cases, run=1, modality=1
            ).values_list("case_id", "category")
        )
    with_images = set(
        CaseImage.objects.filter(case__in=cases).values_list("case_id", flat=True).distinct()
    )
    problems: list[str] = []
    answers: dict[int, str] = {}
    for case in cases:
        if prompting.uses_images and case.pk not in with_images:
            problems.append(f"case {case.code}: no images for the {mode} mode")
        if not case.reference_impression.strip():
            problems.append(f"case {case.code}: no reference impression")
            continue
        if assistant == "text":
            answers[case.pk] = case.reference_impression
            continue
        category = reference_category(study, case, reference)
        if isinstance(category, str):
            problems.append(f"case {case.code}: {category}")
            continue
        answers[case.pk] = json.dumps(
            {"category": category, "impression": case.reference_impression, "management": ""},
            ensure_ascii=False,
        )
    if problems:
        raise FinetuneExportError(problems)
    builder = RequestBuilder(study, replace(prompting, model=""), image_cache_size=1)
    for case in cases:
        messages, _ = builder.messages(case)
        yield {"messages": [*messages, {"role": "assistant", "content": answers[case.pk]}]}


def finetune_export(
    *,
    study: Study,
    mode: str,
    out: Path,
    config: GenerationConfig | None = None,
    assistant: str = "json",
) -> ExportSummary:
    """Write the training set to ``out`` (all or nothing)."""
    tmp = out.with_name(out.name + ".partial")
    n = n_images = 0
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for example in finetune_examples(
                study=study, mode=mode, config=config, assistant=assistant
            ):
                fh.write(json.dumps(example, ensure_ascii=False) + "\n")
                n += 1
                user = example["messages"][-2]["content"]
                if isinstance(user, list):
                    n_images += sum(1 for p in user if p["type"] == "image_url")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportSummary(path=out, n_examples=n, mode=mode, n_images=n_images)


@dataclass(frozen=True)
class FineTuneOptions:
    """The job asked for: the model to fine-tune, hyperparameters over
    ``DEFAULT_HYPERPARAMETERS`` and the suffix of the fine-tuned model's name."""

    base_model: str
    hyperparameters: dict[str, Any] | None = None
    suffix: str = ""


def finetune_job_create(
    *,
    study: Study,
    summary: ExportSummary,
    connection: Connection,
    options: FineTuneOptions,
    actor: Any = None,
) -> FineTuneJob:
    """Upload the exported file (purpose fine-tune) and create a supervised fine-tuning job."""
    base_model, suffix = options.base_model, options.suffix
    hyper = {**DEFAULT_HYPERPARAMETERS, **(options.hyperparameters or {})}
    secrets = (connection.api_key(),)
    client = sync_client_create(connection)
    try:
        with client, summary.path.open("rb") as fh:
            uploaded = client.files.create(
                file=(summary.path.name, fh, "application/jsonl"), purpose="fine-tune"
            )
            job = client.fine_tuning.jobs.create(
                model=base_model,
                training_file=uploaded.id,
                method={"type": "supervised", "supervised": {"hyperparameters": hyper}},
                suffix=suffix or None,
            )
    except (openai.APIError, ConnectionSettingsError) as exc:
        raise FinetuneExportError(
            [f"the server refused the job: {error_text(exc, secrets)}"]
        ) from exc
    with transaction.atomic():
        record = FineTuneJob.objects.create(
            study=study,
            mode=summary.mode,
            n_examples=summary.n_examples,
            provider=connection.provider,
            base_url=connection.base_url,
            api_version=connection.api_version,
            api_key_env=connection.api_key_env,
            base_model=base_model,
            hyperparameters=hyper,
            training_file_id=uploaded.id,
            job_id=job.id,
            status=job.status,
            fine_tuned_model=job.fine_tuned_model or "",
            raw=json.loads(redact(job.model_dump_json(), secrets)),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            action="finetune_job_create",
            actor=actor,
            study=study,
            target=job.id,
            details={"mode": summary.mode, "examples": summary.n_examples, "model": base_model},
        )
    return record


def finetune_job_refresh(*, job: FineTuneJob) -> FineTuneJob:
    """Ask the server for the job's status and store it (errors are stored, not raised)."""
    connection = Connection.of(job, timeout=60.0)
    try:
        connection.check()
        secrets = (connection.api_key(),)
    except (ConnectionSettingsError, ValueError) as exc:
        job.error = str(exc)
        job.save(update_fields=["error", "updated_at"])
        return job
    try:
        with sync_client_create(connection) as client:
            remote = client.fine_tuning.jobs.retrieve(job.job_id)
    except (openai.APIError, ConnectionSettingsError) as exc:
        job.error = error_text(exc, secrets)
        job.save(update_fields=["error", "updated_at"])
        return job
    job.status = remote.status
    job.fine_tuned_model = remote.fine_tuned_model or ""
    job.error = redact(remote.error.message, secrets) if remote.error else ""
    job.raw = json.loads(redact(remote.model_dump_json(), secrets))
    job.save(update_fields=["status", "fine_tuned_model", "error", "raw", "updated_at"])
    return job


def model_reader_for(study: Study, code: str) -> GenerationConfig | None:
    reader = Reader.objects.filter(study=study, code=code, kind=Reader.Kind.MODEL).first()
    return getattr(reader, "generation_config", None) if reader else None
