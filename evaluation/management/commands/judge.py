"""``manage.py judge``: let an LLM judge (a rater of kind ``model``) rate a session.

    judge SLUG --create CODE --base-url URL --model NAME [--api-key-env VAR] [--runs N]
               [--temperature T] [--concurrency N] [--template FILE]
               [--pairwise-template FILE] [--acceptability-template FILE]
    judge SLUG CODE SESSION [--run N] [--estimate-only]    # resumable: answered items skipped
    judge SLUG CODE --problems                              # refused and unparseable answers

See docs/rating.md, "LLM judges".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluation.judges import JudgeError, judge_estimate
from evaluation.models import JudgeConfig, RatingSession
from evaluation.selectors import judge_problem_answers
from evaluation.services import JudgeOptions, judge_config_create, judge_dispatch
from readerstudy.core.llm.keys import ConnectionSettingsError
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Let an LLM judge rate a rating session's blinded items (docs/rating.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="study slug")
        parser.add_argument("code", nargs="?", help="the judge's rater code")
        parser.add_argument("session", nargs="?", type=int, help="rating session id")
        parser.add_argument("--create", metavar="CODE", help="configure a new judge")
        parser.add_argument("--base-url", default="")
        parser.add_argument("--model", default="")
        parser.add_argument("--api-key-env", default="")
        parser.add_argument("--runs", type=int, default=1)
        parser.add_argument("--temperature", type=float, default=0.0)
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--template", type=Path, help="a Likert prompt template file")
        parser.add_argument("--pairwise-template", type=Path, help="a pairwise template file")
        parser.add_argument(
            "--acceptability-template", type=Path, help="an acceptability template file"
        )
        parser.add_argument("--run", type=int, help="only this run (default: all runs)")
        parser.add_argument("--estimate-only", action="store_true", help="send nothing")
        parser.add_argument("--problems", action="store_true", help="list refused/unparseable")

    def handle(self, *args: Any, **o: Any) -> None:
        study = Study.objects.filter(slug=o["slug"]).first()
        if study is None:
            raise CommandError(f"no study {o['slug']}")
        if o["create"]:
            return self._create(study, o)
        if not o["code"]:
            raise CommandError("give the judge's code (or --create CODE)")
        config = (
            JudgeConfig.objects.select_related("rater")
            .filter(study=study, rater__code=o["code"])
            .first()
        )
        if config is None:
            raise CommandError(f"study {study.slug} has no judge {o['code']}")
        if o["problems"]:
            for a in judge_problem_answers(config=config, run=o["run"]):
                text = (a.error or a.raw_text).replace("\n", " ")[:200]
                self.stdout.write(f"run {a.run} {a.item.public_id} {a.status}: {text}")
            return None
        session = RatingSession.objects.filter(study=study, pk=o["session"]).first()
        if session is None:
            raise CommandError(f"study {study.slug} has no rating session {o['session']}")
        try:
            estimate = judge_estimate(config=config, session=session, run=o["run"])
            self.stdout.write(
                f"{estimate.n_requests} requests for {estimate.n_cases} items, about "
                f"{estimate.input_tokens} input tokens, at most {estimate.output_tokens_max} "
                f"output tokens, cost at most {estimate.as_dict()['cost_max']}"
            )
            if o["estimate_only"]:
                return None
            mode = judge_dispatch(config=config, session=session, run=o["run"])
        except (JudgeError, ConnectionSettingsError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if mode == "celery":
            self.stdout.write("sent to the Celery worker")
            return None
        counts: dict[str, int] = {}
        for status in config.answers.filter(run=o["run"] or 1).values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        self.stdout.write(
            f"judge {config.rater.code}: "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            + (f" (run {o['run'] or 1})")
        )
        return None

    def _create(self, study: Study, o: dict[str, Any]) -> None:
        templates: dict[str, str] = {}
        for name in ("template", "pairwise_template", "acceptability_template"):
            if o[name]:
                try:
                    templates[name] = o[name].read_text(encoding="utf-8")
                except OSError as exc:
                    raise CommandError(f"{o[name]}: {exc}") from exc
        try:
            config = judge_config_create(
                study=study,
                options=JudgeOptions(
                    code=o["create"],
                    base_url=o["base_url"],
                    model_name=o["model"],
                    api_key_env=o["api_key_env"],
                    prompt_template=templates.get("template", ""),
                    pairwise_template=templates.get("pairwise_template", ""),
                    acceptability_template=templates.get("acceptability_template", ""),
                    temperature=o["temperature"],
                    runs=o["runs"],
                    concurrency=o["concurrency"],
                ),
                actor=None,
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        self.stdout.write(f"judge {config.rater.code} created (rater of kind model)")
