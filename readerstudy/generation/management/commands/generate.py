"""``manage.py generate``: run a model reader's generation from the terminal.

    generate SLUG READER [--mode direct|batch] [--runs N] [--split test|train|all]
             [--limit N] [--overwrite] [--estimate-only] [--yes] [--no-progress]
    generate --resume RUN [--yes]        # a stopped or failed run; finished items are skipped
    generate --stop RUN                  # ask a running run to stop (also from another terminal)
    generate --poll RUN [--wait]         # advance a batch run (collect results, submit the rest)
    generate --list SLUG                 # the study's configurations and runs

The run executes in this process with a progress bar; Ctrl-C stops it cleanly (the requests
in flight are abandoned and sent again on resume).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.keys import ConnectionSettingsError
from readerstudy.generation.batch import run_batch_advance, run_batch_wait
from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.generation.runner import RunNotClaimableError, RunSummary, run_execute
from readerstudy.generation.selectors import configs_for_study, run_progress, runs_for_study
from readerstudy.generation.services import (
    Estimate,
    GenerationConflictError,
    RunOptions,
    run_create,
    run_estimate,
    run_remaining_estimate,
    run_resume,
    run_stop,
)
from readerstudy.studies.models import SPLIT_SELECTIONS, Study


class Command(BaseCommand):
    help = "Generate a model reader's outputs through an OpenAI-compatible API (see docs/generation.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", help="study slug")
        parser.add_argument("reader", nargs="?", help="model reader id (it needs a configuration)")
        parser.add_argument("--mode", choices=["direct", "batch"], default="direct")
        parser.add_argument("--runs", type=int, help="runs per case (default: the configuration's)")
        parser.add_argument("--split", choices=SPLIT_SELECTIONS, default="test")
        parser.add_argument("--limit", type=int, help="only the first N cases (a trial run)")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="delete the reader's existing readings on these cases first",
        )
        parser.add_argument(
            "--estimate-only", action="store_true", help="print the estimate, send nothing"
        )
        parser.add_argument("--yes", "-y", action="store_true", help="start without asking")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--resume", type=int, metavar="RUN", help="resume a stopped or failed run"
        )
        parser.add_argument("--stop", type=int, metavar="RUN", help="ask a run to stop")
        parser.add_argument("--poll", type=int, metavar="RUN", help="advance a batch run")
        parser.add_argument(
            "--wait", action="store_true", help="with --poll or --mode batch: until done"
        )
        parser.add_argument(
            "--interval", type=float, default=30.0, help="seconds between batch polls"
        )
        parser.add_argument("--list", action="store_true", help="list configurations and runs")

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            if o["stop"]:
                return self._stop(o["stop"])
            if o["poll"]:
                return self._poll(o["poll"], wait=o["wait"], interval=o["interval"])
            if o["resume"]:
                return self._resume(o)
            if o["list"]:
                return self._list(o["slug"])
            return self._new(o)
        except (GenerationConflictError, ConnectionSettingsError, RunNotClaimableError) as exc:
            raise CommandError(str(exc)) from exc

    # ------------------------------------------------------------------ sub-commands
    def _study(self, slug: str | None) -> Study:
        if not slug:
            raise CommandError("give the study slug")
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"no study {slug!r}")
        return study

    def _run(self, run_id: int) -> GenerationRun:
        run = (
            GenerationRun.objects.select_related("config__reader__study").filter(pk=run_id).first()
        )
        if run is None:
            raise CommandError(f"no generation run {run_id}")
        return run

    def _list(self, slug: str | None) -> None:
        study = self._study(slug)
        for c in configs_for_study(study):
            self.stdout.write(
                f"{c.reader.code}: {c.model} at {c.base_url} ({c.inputs}, {c.n_runs} runs, "
                f"key variable {c.api_key_env or 'none'})"
            )
            for problem in Connection.of(c).problems():
                self.stdout.write(f"  cannot run: {problem}")
        for run in runs_for_study(study):
            p = run_progress(run)
            self.stdout.write(
                f"run {run.pk} {run.config.reader.code} {run.mode} {run.status}: "
                f"{p['finished']}/{p['total']} (done {p['counts']['done']}, refused "
                f"{p['counts']['refused']}, unparseable {p['counts']['unparseable']}, errors "
                f"{p['counts']['error']})"
            )

    def _stop(self, run_id: int) -> None:
        status = run_stop(run=self._run(run_id))
        self.stdout.write(f"run {run_id}: {status}")

    def _poll(self, run_id: int, *, wait: bool, interval: float) -> None:
        run = self._run(run_id)
        if run.mode != GenerationRun.Mode.BATCH:
            raise CommandError(f"run {run_id} is a direct run; use --resume")
        if wait:
            summary = run_batch_wait(run_id=run_id, interval=interval, on_advance=self._batch_line)
        else:
            summary = run_batch_advance(run_id=run_id)
            self._batch_line(summary)
        self._report(summary)

    def _resume(self, o: dict[str, Any]) -> None:
        run = self._run(o["resume"])
        estimate = run_remaining_estimate(run=run)
        self._print_estimate(run.config, estimate)
        if o["estimate_only"]:
            return
        self._confirm(o)
        run = run_resume(run=run)
        self._execute(run, o)

    def _new(self, o: dict[str, Any]) -> None:
        study = self._study(o["slug"])
        if not o["reader"]:
            raise CommandError("give the model reader id")
        config = (
            GenerationConfig.objects.select_related("reader__study")
            .filter(reader__study=study, reader__code=o["reader"])
            .first()
        )
        if config is None:
            raise CommandError(
                f"{study.slug} has no generation configuration for reader {o['reader']!r} "
                "(configure it on the study's model generation page)"
            )
        if o["limit"] is not None and o["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        n_runs = o["runs"] or config.n_runs
        if not 1 <= n_runs <= 20:
            raise CommandError("--runs must be between 1 and 20")
        estimate = run_estimate(config=config, split=o["split"], limit=o["limit"], n_runs=n_runs)
        self._print_estimate(config, estimate)
        if o["estimate_only"]:
            return
        self._confirm(o)
        run = run_create(
            config=config,
            options=RunOptions(
                mode=o["mode"],
                n_runs=n_runs,
                split=o["split"],
                limit=o["limit"],
                overwrite=o["overwrite"],
            ),
        )
        self.stdout.write(f"Run {run.pk} created ({run.items.count()} items).")
        self._execute(run, o)

    # ---------------------------------------------------------------------- helpers
    def _print_estimate(self, config: GenerationConfig, e: Estimate) -> None:
        self.stdout.write(
            f"{config.reader.code}: {config.model} at {config.base_url}\n"
            f"  requests:      {e.n_requests} ({e.n_cases} cases)\n"
            f"  input tokens:  ≈{e.input_tokens} (characters ÷ 4, plus image tiles)\n"
            f"  output tokens: at most {e.output_tokens_max}\n"
            f"  cost:          at most {e.cost_max:.4f} (input {e.cost_input:.4f} + output "
            f"{e.cost_output_max:.4f})"
        )

    def _confirm(self, o: dict[str, Any]) -> None:
        if o["yes"]:
            return
        if not sys.stdin.isatty():
            raise CommandError("not started: pass --yes to start without confirmation")
        answer = input("Start? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise CommandError("not started")

    def _execute(self, run: GenerationRun, o: dict[str, Any]) -> None:
        try:
            if run.mode == GenerationRun.Mode.DIRECT:
                summary = run_execute(run_id=run.pk, show_progress=not o["no_progress"])
            elif o["wait"]:
                summary = run_batch_wait(
                    run_id=run.pk, interval=o["interval"], on_advance=self._batch_line
                )
            else:
                summary = run_batch_advance(run_id=run.pk)
                self._batch_line(summary)
        except KeyboardInterrupt as exc:
            raise CommandError(
                f"interrupted: run {run.pk} stopped; continue with manage.py generate --resume {run.pk}",
                returncode=130,
            ) from exc
        self._report(summary)

    def _batch_line(self, summary: RunSummary) -> None:
        run = GenerationRun.objects.get(pk=summary.run_id)
        batches = ", ".join(f"{b.get('id') or '?'} {b.get('status')}" for b in run.batches)
        self.stdout.write(f"run {run.pk}: {run.status}; batches: {batches or 'none'}")

    def _report(self, summary: RunSummary) -> None:
        c = summary.counts
        rate = summary.requests / summary.seconds if summary.seconds > 0 else 0.0
        self.stdout.write(
            f"run {summary.run_id}: {summary.status}. done {c['done']}, refused {c['refused']}, "
            f"unparseable {c['unparseable']}, errors {c['error']}, pending {c['pending']}; "
            f"{summary.requests} requests in {summary.seconds:.1f} s ({rate:.1f}/s)"
        )
        run = GenerationRun.objects.get(pk=summary.run_id)
        if run.message:
            self.stdout.write(run.message)
        if summary.status == GenerationRun.Status.FAILED:
            raise CommandError(
                f"run {summary.run_id} failed: {run.message} (manage.py generate --resume {summary.run_id})"
            )
        if summary.status == GenerationRun.Status.STOPPED:
            self.stdout.write(f"Resume with: manage.py generate --resume {summary.run_id}")
