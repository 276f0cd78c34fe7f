"""Fine-tuning datasets (text, images, joint) from the training split, and jobs."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from readerstudy.core.llm.client import Connection
from readerstudy.generation.finetune import (
    FinetuneExportError,
    FineTuneOptions,
    finetune_export,
    finetune_job_create,
    finetune_job_refresh,
)
from readerstudy.generation.models import FineTuneJob, GenerationConfig
from readerstudy.studies.models import Case, Reader, Reading, Study
from tests.generation.test_prompts import add_images
from tests.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.django_db


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_text_set_has_the_prompt_and_the_reference_answer(study: Study, tmp_path: Path) -> None:
    out = tmp_path / "text.jsonl"
    summary = finetune_export(study=study, mode="text", out=out)
    assert summary.n_examples == 2 and summary.n_images == 0
    examples = lines(out)
    first = examples[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert "[L1]" in first[1]["content"]  # the findings of the training case
    assert json.loads(first[2]["content"]) == {
        "category": 2,  # from "Assessment: BI-RADS 2" in the reference impression
        "impression": "Training impression 1. Assessment: BI-RADS 2.",
        "management": "",
    }
    assert all("[T" not in json.dumps(e) for e in examples)  # test cases never leak in


def test_images_and_joint_sets_send_images_as_data_urls(study: Study, tmp_path: Path) -> None:
    for case in Case.objects.filter(study=study, split="train"):
        add_images(case, 2)
    images = finetune_export(study=study, mode="images", out=tmp_path / "i.jsonl")
    joint = finetune_export(study=study, mode="joint", out=tmp_path / "j.jsonl")
    assert images.n_images == joint.n_images == 4
    user_images = lines(tmp_path / "i.jsonl")[0]["messages"][1]["content"]
    user_joint = lines(tmp_path / "j.jsonl")[0]["messages"][1]["content"]
    assert user_images[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "[L1]" not in user_images[0]["text"]  # no findings in images-only mode
    assert "[L1]" in user_joint[0]["text"]


def test_the_reference_readers_category_wins_and_text_answers_are_verbatim(
    study: Study, tmp_path: Path
) -> None:
    ref = Reader.objects.create(study=study, code="R3", kind="human")
    study.reference_reader = ref
    study.save()
    case = Case.objects.get(study=study, code="L1")
    Reading.objects.create(reader=ref, case=case, category=3)
    finetune_export(study=study, mode="text", out=tmp_path / "a.jsonl")
    assert json.loads(lines(tmp_path / "a.jsonl")[0]["messages"][2]["content"])["category"] == 3
    finetune_export(study=study, mode="text", out=tmp_path / "b.jsonl", assistant="text")
    assert lines(tmp_path / "b.jsonl")[0]["messages"][2]["content"] == case.reference_impression


def test_problems_are_all_reported_and_nothing_is_written(study: Study, tmp_path: Path) -> None:
    Case.objects.filter(study=study, code="L1").update(reference_impression="")
    Case.objects.filter(study=study, code="L2").update(
        reference_impression="BI-RADS 3 or BI-RADS 4?"
    )
    out = tmp_path / "x.jsonl"
    with pytest.raises(FinetuneExportError) as info:
        finetune_export(study=study, mode="text", out=out)
    assert info.value.problems == [
        "case L1: no reference impression",
        "case L2: several BI-RADS categories in its reference impression: [3, 4]",
    ]
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(FinetuneExportError, match="no images for the images mode"):
        finetune_export(study=study, mode="images", out=out)


def test_a_readers_prompts_are_used_and_must_match_the_mode(
    config: GenerationConfig, study: Study, tmp_path: Path
) -> None:
    config.user_template = "Report: {findings}"
    config.save()
    finetune_export(study=study, mode="text", out=tmp_path / "r.jsonl", config=config)
    assert lines(tmp_path / "r.jsonl")[0]["messages"][1]["content"].startswith("Report: [L1]")
    with pytest.raises(FinetuneExportError, match="configured for text inputs"):
        finetune_export(study=study, mode="joint", out=tmp_path / "j.jsonl", config=config)


def test_a_job_is_created_and_followed_on_the_server(
    study: Study, llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    summary = finetune_export(study=study, mode="text", out=tmp_path / "t.jsonl")
    job = finetune_job_create(
        study=study,
        options=FineTuneOptions(base_model="gpt-4o-2024-08-06", suffix="nme-text"),
        summary=summary,
        connection=Connection("openai", llm.url),
    )
    uploaded = llm.files[job.training_file_id]
    assert uploaded["purpose"] == "fine-tune"
    assert uploaded["content"] == (tmp_path / "t.jsonl").read_bytes()
    assert job.status == "validating_files" and job.hyperparameters == {
        "n_epochs": 5,
        "batch_size": 5,
        "learning_rate_multiplier": 2,
    }
    assert llm.jobs[job.job_id]["hyperparameters"]["n_epochs"] == 5
    job = finetune_job_refresh(job=job)
    assert job.status == "running"
    job = finetune_job_refresh(job=job)
    assert job.status == "succeeded"
    assert job.fine_tuned_model.startswith("ft:gpt-4o-2024-08-06:readerstudy:nme-text")


def test_the_command_exports_creates_a_job_and_shows_its_status(
    config: GenerationConfig, study: Study, llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    out = StringIO()
    call_command(
        "finetune_export",
        study.slug,
        "--mode",
        "text",
        "--out",
        str(tmp_path / "c.jsonl"),
        "--reader",
        "M1",
        "--create-job",
        "--base-model",
        "gpt-4o-2024-08-06",
        stdout=out,
    )
    assert "Wrote 2 training examples (text, 0 images)" in out.getvalue()
    job = FineTuneJob.objects.get()
    assert job.base_url == llm.url and job.n_examples == 2
    out = StringIO()
    call_command("finetune_export", "--status", "--study", study.slug, stdout=out)
    call_command("finetune_export", "--status", job.job_id, stdout=out)
    assert "succeeded -> ft:gpt-4o-2024-08-06" in out.getvalue()
    with pytest.raises(CommandError, match="nothing written"):
        call_command(
            "finetune_export", study.slug, "--mode", "images", "--out", str(tmp_path / "n.jsonl")
        )
    with pytest.raises(CommandError, match="NAME of a variable"):
        call_command(
            "finetune_export",
            study.slug,
            "--mode",
            "text",
            "--out",
            str(tmp_path / "k.jsonl"),
            "--create-job",
            "--base-model",
            "m",
            "--base-url",
            llm.url,
            "--api-key-env",
            "sk-abc",
        )
