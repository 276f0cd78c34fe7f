"""LLM judges: a rater of kind ``model`` answers a rating session's items.

Three instruments are judged: Likert domains, pairwise preference and acceptability (error
annotation is not). A pairwise item is asked in **both orders** (``JudgeAnswer.order``
``ab``: output A shown first, ``ba``: B first), so that the analysis can measure the judge's
position bias; the answer (``first``, ``second`` or ``tie``) is turned into the canonical
``a``/``b``/``tie`` through the order. An acceptability item is graded on the study's scale.

A judge sees exactly what a human rater's item page shows as text (:func:`judge_item_views`):
the item's blinded, normalised ``display_text``, the session's domains (key, label,
description), the instrument's anchors, and the context the session shows (location,
clinical history, findings). Never the reading, its reader (code, label, kind), its run or
the case code: those are not even loaded. Images are not sent (text judges only).

Each (item, run, order) is one fresh chat request (a system and a user message, no shared context)
through the shared OpenAI-compatible client of :mod:`readerstudy.core.llm` (guarded egress,
allowed key variables, retries with backoff, JSON answers checked against the schema derived
from the session's domains, :func:`judge_answer_schema`). At most ``config.concurrency``
requests are in flight; results are stored one by one in the calling thread, so a run that
is interrupted is resumed by running it again: answers with a final status (ok, refused,
unparseable) are skipped, errors are asked again. Every answer is kept
(:class:`evaluation.models.JudgeAnswer`); an ``ok`` answer of run 1 also becomes the judge
rater's ``LikertScore`` rows (source ``judged``), ``PairwisePreference`` (the answer in the
order the human raters see the item, its ``left``) or ``AcceptabilityGrade``; later runs
measure self-consistency, the other order position bias.
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

from evaluation.instruments import (
    JUDGE_PAIRWISE_ANSWERS,
    AcceptabilityScale,
    acceptability_scale,
    judge_choice,
)
from evaluation.models import (
    AcceptabilityGrade,
    Instrument,
    JudgeAnswer,
    JudgeConfig,
    JudgeOrder,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    RatingItem,
    RatingSession,
    ScoreSource,
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

#: The placeholders of a judge's Likert prompt template (``$output`` is required).
JUDGE_PLACEHOLDERS: tuple[str, ...] = ("output", "domains", "anchors", "context", "low", "high")
#: The placeholders of each instrument's template, and the ones it must contain.
TEMPLATE_PLACEHOLDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Instrument.LIKERT: (JUDGE_PLACEHOLDERS, ("output",)),
    Instrument.PAIRWISE: (("first", "second", "context"), ("first", "second")),
    Instrument.ACCEPTABILITY: (("output", "grades", "context"), ("output",)),
}
#: The instruments a judge answers (error annotation is not judged yet).
JUDGED_INSTRUMENTS: tuple[str, ...] = tuple(TEMPLATE_PLACEHOLDERS)

JUDGE_SYSTEM_MESSAGE = (
    "You are an expert rater in a blinded evaluation. Judge only the text you are given. "
    "Answer with a single JSON object."
)


class JudgeError(Exception):
    """A judge cannot run as configured (the message says why)."""


def judge_template_problems(template: str, *, instrument: str = Instrument.LIKERT) -> list[str]:
    """What is wrong with a prompt template of ``instrument``: unknown placeholders, a
    missing required one (``$output``; pairwise ``$first`` and ``$second``)."""
    allowed, required = TEMPLATE_PLACEHOLDERS[instrument]
    tpl = string.Template(template)
    if not tpl.is_valid():
        return ["the template has a malformed $placeholder (write $$ for a dollar sign)"]
    found = tpl.get_identifiers()
    problems = [
        f"unknown placeholder ${name} (allowed: {', '.join('$' + p for p in allowed)})"
        for name in found
        if name not in allowed
    ]
    problems += [
        f"the template must contain ${name} (the text to rate)"
        for name in required
        if name not in found
    ]
    return problems


def judge_instrument_schema(
    instrument: str,
    *,
    domains: Sequence[LikertDomain],
    low: int,
    high: int,
    scale: AcceptabilityScale,
) -> dict[str, Any]:
    """The JSON schema of an answer of ``instrument`` (Likert: :func:`judge_answer_schema`)."""
    if instrument == Instrument.PAIRWISE:
        prop: dict[str, Any] = {"type": "string", "enum": list(JUDGE_PAIRWISE_ANSWERS)}
        key = "choice"
    elif instrument == Instrument.ACCEPTABILITY:
        prop, key = {"type": "integer", "enum": scale.values}, "grade"
    else:
        return judge_answer_schema(domains, low, high)
    return {
        "type": "object",
        "properties": {key: prop},
        "required": [key],
        "additionalProperties": False,
    }


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
    # pairwise: output B's text, which side the raters see on the left, B's reading (None:
    # the reference impression) and the case, for storing only
    text_b: str = ""
    left: str = ""
    reading_b_id: int | None = None
    case_id: int = 0


def judge_item_views(session: RatingSession) -> list[JudgeItemView]:
    """The items of ``session`` as its raters see them (in the session's order)."""
    items = list(
        RatingItem.objects.filter(session=session)
        .order_by("position")
        .values(
            "id",
            "public_id",
            "reading_id",
            "display_text",
            "display_text_b",
            "left",
            "reading_b_id",
        )
    )
    cases = {
        r["id"]: r
        for r in Reading.objects.filter(pk__in=[i["reading_id"] for i in items]).values(
            "id", "case_id", "case__location", "case__clinical_history", "case__findings"
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
                text_b=item["display_text_b"],
                left=item["left"],
                reading_b_id=item["reading_b_id"],
                case_id=case["case_id"],
            )
        )
    return views


def _context(view: JudgeItemView) -> str:
    context = [
        f"{name}: {value}"
        for name, value in (
            ("Location", view.location),
            ("Clinical history", view.clinical_history),
            ("Findings", view.findings),
        )
        if value
    ]
    return ("\nContext:\n" + "\n".join(context) + "\n") if context else ""


def judge_prompt(
    *, template: str, view: JudgeItemView, domains: Sequence[LikertDomain], low: int, high: int
) -> str:
    """The user message for one Likert item: the template filled from the blinded view only."""
    anchors = "\n".join(
        f"{value} = {label}" if label else f"{value}" for value, label in likert_anchors(low, high)
    )
    domain_lines = "\n".join(
        f"- {d.key}: {d.label}" + (f" ({d.description})" if d.description else "") for d in domains
    )
    return string.Template(template).substitute(
        output=view.text,
        domains=domain_lines,
        anchors=anchors,
        context=_context(view),
        low=low,
        high=high,
    )


def judge_pairwise_prompt(*, template: str, view: JudgeItemView, order: str) -> str:
    """The user message for one pairwise item in ``order`` (``ab``: A is output 1)."""
    first, second = (view.text, view.text_b) if order == JudgeOrder.AB else (view.text_b, view.text)
    return string.Template(template).substitute(first=first, second=second, context=_context(view))


def judge_acceptability_prompt(
    *, template: str, view: JudgeItemView, scale: AcceptabilityScale
) -> str:
    """The user message for one acceptability item: the study's grades, best first."""
    grades = "\n".join(f"{g} = {scale.labels[g]}" for g in scale.values)
    return string.Template(template).substitute(
        output=view.text, grades=grades, context=_context(view)
    )


def judge_request_body(
    *, config: JudgeConfig, prompt: str, schema: dict[str, Any], name: str = "likert_scores"
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
            "json_schema": {"name": name, "schema": schema, "strict": True},
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
    scores_written: int  # Likert scores, preferences or grades stored (run 1)


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
    if session.instrument not in JUDGED_INSTRUMENTS:
        raise JudgeError(
            f"session {session.pk} is a {session.instrument} session: judges answer "
            f"{', '.join(JUDGED_INSTRUMENTS)} sessions only"
        )
    name = _TEMPLATE_FIELD[session.instrument]
    problems = judge_template_problems(getattr(config, name), instrument=session.instrument)
    if problems:
        raise JudgeError(f"{name}: {'; '.join(problems)}")


#: The JudgeConfig field holding each instrument's template.
_TEMPLATE_FIELD: dict[str, str] = {
    Instrument.LIKERT: "prompt_template",
    Instrument.PAIRWISE: "pairwise_template",
    Instrument.ACCEPTABILITY: "acceptability_template",
}


def _orders(session: RatingSession) -> tuple[str, ...]:
    """The orders each item is asked in: both for pairwise, else the one (empty) order."""
    if session.instrument == Instrument.PAIRWISE:
        return (JudgeOrder.AB.value, JudgeOrder.BA.value)
    return (JudgeOrder.NONE.value,)


@dataclass(frozen=True)
class _Plan:
    """How one session is put to a judge: its schema and each item's prompt."""

    config: JudgeConfig
    session: RatingSession
    domains: tuple[LikertDomain, ...]
    low: int
    high: int
    scale: AcceptabilityScale
    schema: dict[str, Any]

    @classmethod
    def of(cls, config: JudgeConfig, session: RatingSession) -> _Plan:
        study = session.study
        domains = tuple(session_domains(session)) if session.instrument == "likert" else ()
        scale = acceptability_scale(study)
        return cls(
            config=config,
            session=session,
            domains=domains,
            low=study.likert_min,
            high=study.likert_max,
            scale=scale,
            schema=judge_instrument_schema(
                session.instrument,
                domains=domains,
                low=study.likert_min,
                high=study.likert_max,
                scale=scale,
            ),
        )

    def prompt(self, view: JudgeItemView, order: str) -> str:
        instrument = self.session.instrument
        if instrument == Instrument.PAIRWISE:
            return judge_pairwise_prompt(
                template=self.config.pairwise_template, view=view, order=order
            )
        if instrument == Instrument.ACCEPTABILITY:
            return judge_acceptability_prompt(
                template=self.config.acceptability_template, view=view, scale=self.scale
            )
        return judge_prompt(
            template=self.config.prompt_template,
            view=view,
            domains=self.domains,
            low=self.low,
            high=self.high,
        )

    def body(self, view: JudgeItemView, order: str) -> dict[str, Any]:
        name = {"pairwise": "preference", "acceptability": "acceptability"}.get(
            self.session.instrument, "likert_scores"
        )
        return judge_request_body(
            config=self.config, prompt=self.prompt(view, order), schema=self.schema, name=name
        )

    def jobs(self, runs: Sequence[int]) -> tuple[list[_Job], int]:
        """What is still to ask in ``runs`` (final answers skipped) and how many were."""
        done = set(
            JudgeAnswer.objects.filter(
                config=self.config, run__in=runs, status__in=JudgeAnswer.FINAL
            ).values_list("run", "item_id", "order")
        )
        views = judge_item_views(self.session)
        orders = _orders(self.session)
        jobs = [
            _Job(r, v, o)
            for r in runs
            for v in views
            for o in orders
            if (r, v.item_id, o) not in done
        ]
        return jobs, len(runs) * len(views) * len(orders) - len(jobs)

    def rows(self, job: _Job, parsed: dict[str, Any]) -> int:
        """Store run 1's answer as the judge's scores, preference or grade; how many rows."""
        view, rater_id = job.view, self.config.rater_id
        instrument = self.session.instrument
        if instrument == Instrument.PAIRWISE:
            shown = JudgeOrder.AB if (view.left or "a") == "a" else JudgeOrder.BA
            if job.order != shown:
                return 0  # the other order measures position bias only
            created: list[Any] = PairwisePreference.objects.bulk_create(
                [
                    PairwisePreference(
                        rater_id=rater_id,
                        case_id=view.case_id,
                        reading_a_id=view.reading_id,
                        reading_b_id=view.reading_b_id,
                        choice=judge_choice(job.order, parsed["choice"]),
                        left=view.left or "a",
                        source=ScoreSource.JUDGED,
                    )
                ],
                ignore_conflicts=True,
            )
        elif instrument == Instrument.ACCEPTABILITY:
            created = AcceptabilityGrade.objects.bulk_create(
                [
                    AcceptabilityGrade(
                        rater_id=rater_id,
                        case_id=view.case_id,
                        reading_id=view.reading_id,
                        grade=parsed["grade"],
                        source=ScoreSource.JUDGED,
                    )
                ],
                ignore_conflicts=True,
            )
        else:
            created = LikertScore.objects.bulk_create(
                [
                    LikertScore(
                        rater_id=rater_id,
                        reading_id=view.reading_id,
                        domain=d,
                        score=parsed[d.key],
                        source=LikertScore.Source.JUDGED,
                    )
                    for d in self.domains
                ],
                ignore_conflicts=True,
            )
        return len(created)


def judge_estimate(
    *, config: JudgeConfig, session: RatingSession, run: int | None = None
) -> Estimate:
    """Requests, tokens and cost of what a run would still send (answered items excluded)."""
    _check(config, session)
    plan = _Plan.of(config, session)
    jobs, _ = plan.jobs(_runs(config, run))
    overhead = estimate_text_tokens(JUDGE_SYSTEM_MESSAGE) + 2 * MESSAGE_OVERHEAD_TOKENS
    tokens: dict[tuple[int, str], int] = {}
    for job in jobs:
        key = (job.view.item_id, job.order)
        if key not in tokens:
            tokens[key] = estimate_text_tokens(plan.prompt(job.view, job.order)) + overhead
    input_tokens = sum(tokens[(j.view.item_id, j.order)] for j in jobs)
    output_max = len(jobs) * config.max_tokens
    return Estimate(
        n_cases=len({j.view.item_id for j in jobs}),
        n_requests=len(jobs),
        input_tokens=input_tokens,
        output_tokens_max=output_max,
        cost_input=Decimal(config.price_input_per_1k) * input_tokens / 1000,
        cost_output_max=Decimal(config.price_output_per_1k) * output_max / 1000,
    )


@dataclass(frozen=True)
class _Job:
    run: int
    view: JudgeItemView
    order: str = ""


def _store(
    *, plan: _Plan, job: _Job, result: CallResult, secrets: tuple[str, ...]
) -> tuple[str, int]:
    """Keep one answer (and, for an ok answer of run 1, the judge's scores)."""
    values: dict[str, Any] = {"attempts": result.attempts, "error": result.error}
    parsed: dict[str, Any] | None = None
    if not result.ok or result.body is None:
        values.update(status=JudgeAnswer.Status.ERROR, raw_response=None, raw_text="", parsed=None)
    else:
        body = json.loads(redact(json.dumps(result.body), secrets))
        answer = json_answer_from_completion(body, schema=plan.schema)
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
            config=plan.config,
            run=job.run,
            item_id=job.view.item_id,
            order=job.order,
            defaults=values,
        )
        if parsed is not None and job.run == 1:
            written = plan.rows(job, parsed)
    return str(values["status"]), written


def judge_execute(
    *, config: JudgeConfig, session: RatingSession, run: int | None = None
) -> JudgeSummary:
    """Ask the judge every item of ``session`` not yet answered in ``run`` (None: all runs;
    pairwise: in both orders).

    Raises :class:`JudgeError` for a judge that does not fit the session and
    ``readerstudy.core.llm.keys.ConnectionSettingsError`` when its server or key is not allowed.
    """
    _check(config, session)
    runs = _runs(config, run)
    conn = Connection.of(config)
    conn.route()
    secrets = (conn.api_key(),)
    plan = _Plan.of(config, session)
    if session.instrument == Instrument.LIKERT and not plan.domains:
        raise JudgeError(f"session {session.pk} has no domains to rate")
    jobs, skipped = plan.jobs(runs)
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
                    body = plan.body(job.view, job.order)
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
                    status, n = _store(plan=plan, job=job, result=result, secrets=secrets)
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
