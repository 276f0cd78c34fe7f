"""LLM judges: a rater of kind ``model`` answers a Likert rating session's items.

A judge sees exactly what a human rater's item page shows as text (:func:`judge_item_views`):
the item's blinded, normalised ``display_text``, the session's domains (key, label,
description), the instrument's anchors, and the context the session shows (location,
clinical history, findings). Never the reading, its reader (code, label, kind), its run or
the case code: those are not even loaded. Images are not sent (text judges only).

Each (item, run) is one fresh chat request (a system and a user message, no shared context)
through the shared OpenAI-compatible client of :mod:`readerstudy.core.llm` (guarded egress,
allowed key variables, retries with backoff, JSON answers checked against the schema derived
from the session's domains, :func:`judge_answer_schema`). At most ``config.concurrency``
requests are in flight; results are stored one by one in the calling thread, so a run that
is interrupted is resumed by running it again: answers with a final status (ok, refused,
unparseable) are skipped, errors are asked again. Every answer is kept
(:class:`evaluation.models.JudgeAnswer`); an ``ok`` answer of run 1 also becomes the judge
rater's ``LikertScore`` rows (source ``judged``), later runs measure self-consistency.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from evaluation.models import (
    JudgeAnswer,
    JudgeConfig,
    LikertDomain,
    LikertScore,
    RatingItem,
    RatingSession,
)
from evaluation.selectors import likert_anchors, session_domains
from readerstudy.core.llm.client import (
    CallResult,
    Connection,
    RetryPolicy,
    async_client_create,
    chat_completion_with_retries,
)
from readerstudy.core.llm.estimate import (
    MESSAGE_OVERHEAD_TOKENS,
    Estimate,
    estimate_text_tokens,
)
from readerstudy.core.llm.keys import redact
from readerstudy.core.llm.loop import EventLoopThread
from readerstudy.core.llm.parsing import OK, REFUSED, json_answer_from_completion
from readerstudy.studies.models import Reading

#: The placeholders of a judge's prompt template (``$output`` is required).
JUDGE_PLACEHOLDERS: tuple[str, ...] = ("output", "domains", "anchors", "context", "low", "high")
JUDGE_SYSTEM_MESSAGE = (
    "You are an expert rater in a blinded evaluation. Judge only the text you are given. "
    "Answer with a single JSON object."
)


class JudgeError(Exception):
    """A judge cannot run as configured (the message says why)."""


def judge_template_problems(template: str) -> list[str]:
    """What is wrong with a prompt template: unknown placeholders, a missing ``$output``."""
    tpl = string.Template(template)
    if not tpl.is_valid():
        return ["the template has a malformed $placeholder (write $$ for a dollar sign)"]
    found = tpl.get_identifiers()
    problems = [
        f"unknown placeholder ${name} (allowed: {', '.join('$' + p for p in JUDGE_PLACEHOLDERS)})"
        for name in found
        if name not in JUDGE_PLACEHOLDERS
    ]
    if "output" not in found:
        problems.append("the template must contain $output (the text to rate)")
    return problems


def judge_answer_schema(domains: Sequence[LikertDomain], low: int, high: int) -> dict[str, Any]:
    """The JSON schema of an answer: one integer on the scale per domain key, nothing else."""
    scale = list(range(low, high + 1))
    return {
        "type": "object",
        "properties": {d.key: {"type": "integer", "enum": scale} for d in domains},
        "required": [d.key for d in domains],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class JudgeItemView:
    """What a judge gets of one rating item: the blinded values a human rater's page shows."""

    item_id: int
    public_id: str
    reading_id: int  # for storing the scores only; never put in a prompt
    text: str
    location: str
    clinical_history: str
    findings: str


def judge_item_views(session: RatingSession) -> list[JudgeItemView]:
    """The items of ``session`` as its raters see them (in the session's order)."""
    items = list(
        RatingItem.objects.filter(session=session)
        .order_by("position")
        .values("id", "public_id", "reading_id", "display_text")
    )
    cases = {
        r["id"]: r
        for r in Reading.objects.filter(pk__in=[i["reading_id"] for i in items]).values(
            "id", "case__location", "case__clinical_history", "case__findings"
        )
    }
    views = []
    for item in items:
        case = cases[item["reading_id"]]
        views.append(
            JudgeItemView(
                item_id=item["id"],
                public_id=item["public_id"],
                reading_id=item["reading_id"],
                text=item["display_text"],
                location=case["case__location"] if session.show_location else "",
                clinical_history=(
                    case["case__clinical_history"] if session.show_clinical_history else ""
                ),
                findings=case["case__findings"] if session.show_findings else "",
            )
        )
    return views


def judge_prompt(
    *, template: str, view: JudgeItemView, domains: Sequence[LikertDomain], low: int, high: int
) -> str:
    """The user message for one item: the template filled from the blinded view only."""
    anchors = "\n".join(
        f"{value} = {label}" if label else f"{value}" for value, label in likert_anchors(low, high)
    )
    domain_lines = "\n".join(
        f"- {d.key}: {d.label}" + (f" ({d.description})" if d.description else "") for d in domains
    )
    context = [
        f"{name}: {value}"
        for name, value in (
            ("Location", view.location),
            ("Clinical history", view.clinical_history),
            ("Findings", view.findings),
        )
        if value
    ]
    return string.Template(template).substitute(
        output=view.text,
        domains=domain_lines,
        anchors=anchors,
        context=("\nContext:\n" + "\n".join(context) + "\n") if context else "",
        low=low,
        high=high,
    )


def judge_request_body(
    *, config: JudgeConfig, prompt: str, schema: dict[str, Any]
) -> dict[str, Any]:
    """One fresh chat request: a system and a user message, the schema as structured output."""
    return {
        "model": config.model_name,
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM_MESSAGE},
            {"role": "user", "content": prompt},
        ],
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "likert_scores", "schema": schema, "strict": True},
        },
    }


@dataclass(frozen=True)
class JudgeSummary:
    config_id: int
    session_id: int
    runs: tuple[int, ...]
    counts: dict[str, int]  # this call's answers by status
    skipped: int  # answered before (resumed)
    requests: int  # HTTP attempts
    scores_written: int


def _runs(config: JudgeConfig, run: int | None) -> tuple[int, ...]:
    if run is None:
        return tuple(range(1, config.runs + 1))
    if run < 1:
        raise ValueError(f"run: must be 1 or more, got {run}")
    return (run,)


def _check(config: JudgeConfig, session: RatingSession) -> None:
    if session.study_id != config.study_id or config.rater.study_id != config.study_id:
        raise JudgeError(
            f"the judge {config.rater.code} belongs to another study than session {session.pk}"
        )
    if session.status == RatingSession.Status.DRAFT:
        raise JudgeError(
            f"session {session.pk} is a draft: start it first (its items may still be redacted, "
            "and a judge rates what the raters are shown)"
        )
    if config.rater.kind != config.rater.Kind.MODEL:
        raise JudgeError(f"the rater {config.rater.code} is not of kind model")
    problems = judge_template_problems(config.prompt_template)
    if problems:
        raise JudgeError(f"prompt_template: {'; '.join(problems)}")


def judge_estimate(
    *, config: JudgeConfig, session: RatingSession, run: int | None = None
) -> Estimate:
    """Requests, tokens and cost of what a run would still send (answered items excluded)."""
    _check(config, session)
    runs = _runs(config, run)
    study = session.study
    domains = session_domains(session)
    done = set(
        JudgeAnswer.objects.filter(
            config=config, run__in=runs, status__in=JudgeAnswer.FINAL
        ).values_list("run", "item_id")
    )
    input_tokens = n_requests = 0
    items: set[int] = set()
    overhead = estimate_text_tokens(JUDGE_SYSTEM_MESSAGE) + 2 * MESSAGE_OVERHEAD_TOKENS
    for view in judge_item_views(session):
        prompt = judge_prompt(
            template=config.prompt_template,
            view=view,
            domains=domains,
            low=study.likert_min,
            high=study.likert_max,
        )
        for r in runs:
            if (r, view.item_id) in done:
                continue
            items.add(view.item_id)
            n_requests += 1
            input_tokens += estimate_text_tokens(prompt) + overhead
    output_max = n_requests * config.max_tokens
    return Estimate(
        n_cases=len(items),
        n_requests=n_requests,
        input_tokens=input_tokens,
        output_tokens_max=output_max,
        cost_input=Decimal(config.price_input_per_1k) * input_tokens / 1000,
        cost_output_max=Decimal(config.price_output_per_1k) * output_max / 1000,
    )


@dataclass(frozen=True)
class _Job:
    run: int
    view: JudgeItemView


def _store(
    *,
    config: JudgeConfig,
    domains: Sequence[LikertDomain],
    schema: dict[str, Any],
    job: _Job,
    result: CallResult,
    secrets: tuple[str, ...],
) -> tuple[str, int]:
    """Keep one answer (and, for an ok answer of run 1, the judge's scores)."""
    values: dict[str, Any] = {"attempts": result.attempts, "error": result.error}
    parsed: dict[str, Any] | None = None
    if not result.ok or result.body is None:
        values.update(status=JudgeAnswer.Status.ERROR, raw_response=None, raw_text="", parsed=None)
    else:
        body = json.loads(redact(json.dumps(result.body), secrets))
        answer = json_answer_from_completion(body, schema=schema)
        status = {OK: JudgeAnswer.Status.OK, REFUSED: JudgeAnswer.Status.REFUSED}.get(
            answer.status, JudgeAnswer.Status.UNPARSEABLE
        )
        parsed = answer.parsed if status == JudgeAnswer.Status.OK else None
        values.update(
            status=status,
            raw_response=body,
            raw_text=answer.raw_text,
            parsed=answer.parsed,
            error=answer.refusal or answer.error,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )
    written = 0
    with transaction.atomic():
        JudgeAnswer.objects.update_or_create(
            config=config, run=job.run, item_id=job.view.item_id, defaults=values
        )
        if parsed is not None and job.run == 1:
            created = LikertScore.objects.bulk_create(
                [
                    LikertScore(
                        rater_id=config.rater_id,
                        reading_id=job.view.reading_id,
                        domain=d,
                        score=parsed[d.key],
                        source=LikertScore.Source.JUDGED,
                    )
                    for d in domains
                ],
                ignore_conflicts=True,
            )
            written = len(created)
    return str(values["status"]), written


def judge_execute(
    *, config: JudgeConfig, session: RatingSession, run: int | None = None
) -> JudgeSummary:
    """Ask the judge every item of ``session`` not yet answered in ``run`` (None: all runs).

    Raises :class:`JudgeError` for a judge that does not fit the session and
    ``readerstudy.core.llm.keys.ConnectionSettingsError`` when its server or key is not allowed.
    """
    _check(config, session)
    runs = _runs(config, run)
    conn = Connection.of(config)
    conn.route()
    secrets = (conn.api_key(),)
    study = session.study
    domains = session_domains(session)
    if not domains:
        raise JudgeError(f"session {session.pk} has no domains to rate")
    schema = judge_answer_schema(domains, study.likert_min, study.likert_max)
    done = set(
        JudgeAnswer.objects.filter(
            config=config, run__in=runs, status__in=JudgeAnswer.FINAL
        ).values_list("run", "item_id")
    )
    views = judge_item_views(session)
    jobs = [_Job(r, v) for r in runs for v in views if (r, v.item_id) not in done]
    skipped = len(runs) * len(views) - len(jobs)
    policy = RetryPolicy.for_config(config.max_attempts)
    concurrency = max(1, config.concurrency)
    counts: Counter[str] = Counter()
    requests = written = 0
    rng = random.Random()
    with EventLoopThread(name="judge-loop") as loop:

        async def make_client() -> Any:
            return async_client_create(conn)

        client = loop.submit(make_client()).result()
        inflight: dict[concurrent.futures.Future[CallResult], _Job] = {}
        queue = iter(jobs)
        try:
            while True:
                while len(inflight) < concurrency:
                    job = next(queue, None)
                    if job is None:
                        break
                    prompt = judge_prompt(
                        template=config.prompt_template,
                        view=job.view,
                        domains=domains,
                        low=study.likert_min,
                        high=study.likert_max,
                    )
                    body = judge_request_body(config=config, prompt=prompt, schema=schema)
                    future = loop.submit(
                        chat_completion_with_retries(client, body, policy, secrets=secrets, rng=rng)
                    )
                    inflight[future] = job
                if not inflight:
                    break
                finished, _ = concurrent.futures.wait(
                    inflight, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished:
                    job = inflight.pop(future)
                    result = future.result()
                    requests += result.attempts
                    status, n = _store(
                        config=config,
                        domains=domains,
                        schema=schema,
                        job=job,
                        result=result,
                        secrets=secrets,
                    )
                    counts[status] += 1
                    written += n
        finally:
            for future in inflight:
                future.cancel()
            loop.submit(client.close()).result(timeout=10)
    return JudgeSummary(
        config_id=config.pk,
        session_id=session.pk,
        runs=runs,
        counts=dict(counts),
        skipped=skipped,
        requests=requests,
        scores_written=written,
    )
