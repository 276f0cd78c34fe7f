"""``manage.py finetune_export``: the training split as chat-format JSONL, optionally a job.

    finetune_export SLUG --mode text|images|joint --out FILE.jsonl
                    [--reader CODE] [--assistant json|text]
                    [--create-job --base-model MODEL [--suffix S] [--epochs 5]
                     [--batch-size 5] [--lr-multiplier 2]
                     [--base-url URL --api-key-env NAME [--provider openai|azure --api-version V]]]
    finetune_export --status [JOB] [--study SLUG]     # refresh and print fine-tuning jobs

With ``--reader`` the prompts are that model reader's (so training matches generation) and,
for ``--create-job``, its server and key variable are used unless ``--base-url`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.egress import validate_base_url
from readerstudy.core.llm.keys import ConnectionSettingsError, api_key_name_valid
from readerstudy.generation.finetune import (
    DEFAULT_HYPERPARAMETERS,
    FinetuneExportError,
    FineTuneOptions,
    finetune_export,
    finetune_job_create,
    finetune_job_refresh,
    model_reader_for,
)
from readerstudy.generation.models import FineTuneJob
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Export the training split for fine-tuning (text, images or joint) and optionally start a job."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="study slug")
        parser.add_argument("--mode", choices=["text", "images", "joint"])
        parser.add_argument("--out", type=Path, help="the JSONL file to write")
        parser.add_argument("--reader", help="take the prompts (and server) of this model reader")
        parser.add_argument("--assistant", choices=["json", "text"], default="json")
        parser.add_argument("--create-job", action="store_true")
        parser.add_argument(
            "--base-model", help="model to fine-tune (or a fine-tuned id, for model D)"
        )
        parser.add_argument("--suffix", default="")
        parser.add_argument("--epochs", type=int, default=DEFAULT_HYPERPARAMETERS["n_epochs"])
        parser.add_argument("--batch-size", type=int, default=DEFAULT_HYPERPARAMETERS["batch_size"])
        parser.add_argument(
            "--lr-multiplier",
            type=float,
            default=DEFAULT_HYPERPARAMETERS["learning_rate_multiplier"],
        )
        parser.add_argument("--base-url")
        parser.add_argument("--api-key-env", default="")
        parser.add_argument("--provider", choices=["openai", "azure"], default="openai")
        parser.add_argument("--api-version", default="")
        parser.add_argument(
            "--status",
            nargs="?",
            const="all",
            metavar="JOB",
            help="refresh and print fine-tuning jobs (all, or one job id)",
        )
        parser.add_argument("--study", help="with --status: only this study's jobs")

    def handle(self, *args: Any, **o: Any) -> None:
        if o["status"]:
            return self._status(o["status"], o["study"])
        if not o["slug"] or not o["mode"] or not o["out"]:
            raise CommandError("give the study slug, --mode and --out")
        study = Study.objects.filter(slug=o["slug"]).first()
        if study is None:
            raise CommandError(f"no study {o['slug']!r}")
        config = None
        if o["reader"]:
            config = model_reader_for(study, o["reader"])
            if config is None:
                raise CommandError(f"{study.slug} has no configured model reader {o['reader']!r}")
        try:
            summary = finetune_export(
                study=study, mode=o["mode"], out=o["out"], config=config, assistant=o["assistant"]
            )
        except FinetuneExportError as exc:
            raise CommandError(
                "nothing written:\n" + "\n".join(f"  {p}" for p in exc.problems)
            ) from exc
        self.stdout.write(
            f"Wrote {summary.n_examples} training examples ({summary.mode}, "
            f"{summary.n_images} images) to {summary.path}"
        )
        if not o["create_job"]:
            return
        if not o["base_model"]:
            raise CommandError("--create-job needs --base-model")
        connection = self._connection(o, config)
        try:
            job = finetune_job_create(
                study=study,
                options=FineTuneOptions(
                    base_model=o["base_model"],
                    hyperparameters={
                        "n_epochs": o["epochs"],
                        "batch_size": o["batch_size"],
                        "learning_rate_multiplier": o["lr_multiplier"],
                    },
                    suffix=o["suffix"],
                ),
                summary=summary,
                connection=connection,
            )
        except (FinetuneExportError, ConnectionSettingsError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Fine-tuning job {job.job_id} created: {job.status}")

    def _connection(self, o: dict[str, Any], config: Any) -> Connection:
        if o["base_url"]:
            try:
                validate_base_url(o["base_url"])
            except Exception as exc:
                raise CommandError(f"--base-url: {exc}") from exc
            if not api_key_name_valid(o["api_key_env"]):
                raise CommandError("--api-key-env: give the NAME of a variable, not the key")
            return Connection(
                provider=o["provider"],
                base_url=o["base_url"],
                api_key_env=o["api_key_env"],
                api_version=o["api_version"],
                timeout=120.0,
            )
        if config is None:
            raise CommandError("--create-job needs --base-url (or --reader with a configuration)")
        return Connection.of(config)

    def _status(self, which: str, slug: str | None) -> None:
        jobs = FineTuneJob.objects.all()
        if slug:
            jobs = jobs.filter(study__slug=slug)
        if which != "all":
            jobs = jobs.filter(job_id=which)
            if not jobs.exists():
                raise CommandError(f"no fine-tuning job {which!r}")
        for job in jobs.order_by("created_at"):
            job = finetune_job_refresh(job=job)
            line = f"{job.job_id} ({job.study.slug}, {job.mode}, {job.base_model}): {job.status}"
            if job.fine_tuned_model:
                line += f" -> {job.fine_tuned_model}"
            if job.error:
                line += f" [{job.error}]"
            self.stdout.write(line)
