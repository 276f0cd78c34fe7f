"""Writes of reading sessions (keyword-only, ``<entity>_<action>``).

Creating a session materialises every reader's case order (``ReadingWork`` rows) from the
session's seed, so the order is fixed, exportable and re-derivable before anyone reads.
Submitting a reading is idempotent (the form's token) and optimistic (the form's version):
nothing a reader sends is lost or silently overwritten. What a reader types is autosaved as
their draft of the case (``reading_draft_save``) until a submit is accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from readerstudy.audit.services import audit_record
from readerstudy.core.edits import edit_distance
from readerstudy.core.randomisation import new_seed, permutation, rng_for
from readerstudy.core.sessions import SessionStateError, SessionStatus, session_transition
from readerstudy.reading.models import (
    ReadingAmendment,
    ReadingAssignment,
    ReadingDesign,
    ReadingDraft,
    ReadingSession,
    ReadingSessionCase,
    ReadingSubmission,
    ReadingWork,
)
from readerstudy.reading.selectors import (
    reading_assist,
    reading_order,
    reading_session_collisions,
)
from readerstudy.studies.models import Case, Reader, Reading, Study


class ReadingSessionError(ValueError):
    """A session cannot be created or changed as asked; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


#: What the session services raise when they refuse (a view catches these).
SESSION_REFUSALS = (ReadingSessionError, SessionStateError)


class ReadingDraftError(ValueError):
    """The draft was not stored: the case cannot take input now, or it changed meanwhile."""


class ReadingTokenError(ValueError):
    """The form's idempotency token belongs to another case: the form is not this case's."""


@dataclass(frozen=True)
class ReadingSessionOptions:
    """What a new reading session is: its name, readers and cases, their order, the run and
    modality its readings get and what readers see (built by ``ReadingSessionForm.options``).

    ``cases`` (default: every case of ``split`` in the study's order) are kept in the given
    order, which is the fixed order.
    """

    name: str
    readers: Sequence[Reader]
    split: str = "test"
    cases: Sequence[Case] | None = None
    order: str = ReadingSession.Order.RANDOM
    seed: int | None = None
    run: int = 1
    modality: int = 1
    show_images: bool = True
    show_location: bool = True
    show_clinical_history: bool = False
    show_findings: bool = False
    require_impression: bool = True
    allow_amend: bool = False
    assist_reader: Reader | None = None
    ai_draft: bool = False
    #: 1: every reader reads every case; g > 1: split-plot, readers in g groups, each
    #: group reading its own block of the cases (:func:`split_plot_blocks`)
    split_plot_groups: int = 1


def split_plot_blocks(
    *, seed: int, readers: Sequence[Reader], cases: Sequence[Case], groups: int
) -> list[tuple[list[Reader], list[Case]]]:
    """Readers in ``groups`` groups, each with its own disjoint block of ``cases``.

    Seeded and balanced: the readers (in a seeded random order) are dealt round-robin to
    the groups, so group sizes differ by at most one; the positive and then the negative
    cases are dealt round-robin (one round continuing the other) in a seeded random order,
    so every block gets its share of both classes (counts per class differ by at most one
    between blocks, and so do the block sizes). Each block keeps the cases
    in the order given.
    """
    if not 2 <= groups <= len(readers):
        raise ReadingSessionError(
            "split_plot_groups",
            f"must be between 2 and the number of readers ({len(readers)}), got {groups}",
        )
    ordered = sorted(readers, key=lambda r: (r.position, r.code))
    reader_order = permutation(seed, "split-plot-readers", len(ordered))
    reader_groups: list[list[Reader]] = [[] for _ in range(groups)]
    for k, i in enumerate(reader_order):
        reader_groups[k % groups].append(ordered[i])
    block_of: dict[int, int] = {}
    dealt = 0  # the negatives continue the round where the positives stopped
    for truth in (True, False):
        members = [c for c in cases if bool(c.truth) is truth]
        for i in permutation(seed, f"split-plot-cases-{int(truth)}", len(members)):
            block_of[members[i].pk] = dealt % groups
            dealt += 1
    blocks: list[list[Case]] = [[c for c in cases if block_of[c.pk] == g] for g in range(groups)]
    if any(not b for b in blocks):
        raise ReadingSessionError(
            "split_plot_groups", f"{len(cases)} cases cannot fill {groups} case blocks"
        )
    return [
        (sorted(g, key=lambda r: (r.position, r.code)), b)
        for g, b in zip(reader_groups, blocks, strict=True)
    ]


def reading_session_create(
    *, study: Study, options: ReadingSessionOptions, actor: Any = None
) -> ReadingSession:
    """Create a draft session with its cases, assignments and every reader's case order.

    Raises ``ReadingSessionError`` (nothing written) when a
    reader is not a linked human reader of the study, a case is not in the study's split,
    the name is taken, or a reader already has readings of these cases at this run and
    modality.
    """
    readers, cases, seed = reading_session_plan(study=study, options=options)
    plan = reading_session_blocks(
        seed=seed, readers=readers, cases=cases, groups=options.split_plot_groups
    )
    with transaction.atomic():
        session = ReadingSession.objects.create(
            study=study,
            seed=seed,
            created_by=actor if getattr(actor, "pk", None) else None,
            **_session_values(options),
        )
        reading_session_fill(session=session, plan=plan, cases=cases)
        audit_record(
            action="reading_session_created",
            actor=actor,
            study=study,
            target=f"reading session {session.pk}",
            details={
                "name": options.name,
                "cases": len(cases),
                "readers": [r.code for r in readers],
                **(
                    {
                        "split_plot_groups": [
                            {"readers": [r.code for r in g], "cases": len(b)} for g, b in plan
                        ]
                    }
                    if len(plan) > 1
                    else {}
                ),
            },
        )
    return session


def _session_values(options: ReadingSessionOptions) -> dict[str, Any]:
    """The session's own fields of ``options`` (all but readers, cases and seed)."""
    return {
        "name": options.name,
        "split": options.split,
        "order": options.order,
        "run": options.run,
        "modality": options.modality,
        "show_images": options.show_images,
        "show_location": options.show_location,
        "show_clinical_history": options.show_clinical_history,
        "show_findings": options.show_findings,
        "require_impression": options.require_impression,
        "allow_amend": options.allow_amend,
        "assist_reader": options.assist_reader,
        "ai_draft": options.ai_draft,
    }


def reading_session_plan(
    *, study: Study, options: ReadingSessionOptions, editing: ReadingSession | None = None
) -> tuple[list[Reader], list[Case], int]:
    """Check ``options`` for a session of ``study``: its readers, cases (in order) and seed.

    ``editing`` is the draft being re-planned (its name is its own; its cases and
    assignments must be deleted first, or they clash with themselves). Raises
    ``ReadingSessionError`` naming the field."""
    name, readers, split, cases = options.name, options.readers, options.split, options.cases
    run, modality, seed = options.run, options.modality, options.seed
    assist_reader = options.assist_reader
    if options.ai_draft and assist_reader is None:
        raise ReadingSessionError("ai_draft", "an AI draft needs an assisting model")
    if not name.strip():
        raise ReadingSessionError("name", "required")
    others = ReadingSession.objects.filter(study=study, name=name)
    if editing is not None:
        others = others.exclude(pk=editing.pk)
    if others.exists():
        raise ReadingSessionError("name", f"the study already has a session named {name!r}")
    if not readers:
        raise ReadingSessionError("readers", "choose at least one reader")
    check_session_readers(study=study, readers=readers)
    if cases is None:
        cases = list(Case.objects.filter(study=study, split=split).order_by("position", "code"))
    else:
        cases = list(cases)
        wrong = [c.code for c in cases if c.study_id != study.pk or c.split != split]
        if wrong:
            raise ReadingSessionError(
                "cases", f"not {split} cases of this study: {', '.join(wrong[:10])}"
            )
        if len({c.pk for c in cases}) != len(cases):
            raise ReadingSessionError("cases", "a case is listed twice")
    if not cases:
        raise ReadingSessionError("cases", f"the study has no {split} cases")
    if assist_reader is not None and (
        assist_reader.study_id != study.pk or assist_reader.kind != Reader.Kind.MODEL
    ):
        raise ReadingSessionError("assist_reader", "must be a model reader of the study")
    problems = reading_session_collisions(
        study=study, readers=readers, cases=cases, run=run, modality=modality
    )
    if problems:
        raise ReadingSessionError(
            "modality", "; ".join(problems) + ". Choose another modality or run."
        )
    seed = new_seed() if seed is None else seed
    if not 0 <= seed < 2**63:
        raise ReadingSessionError("seed", "must be between 0 and 2^63 - 1")
    return list(readers), cases, seed


def check_session_readers(*, study: Study, readers: Sequence[Reader]) -> None:
    """Every reader is a human reader of ``study`` with an account; else ``ReadingSessionError``."""
    for reader in readers:
        if reader.study_id != study.pk or reader.kind != Reader.Kind.HUMAN:
            raise ReadingSessionError(
                "readers", f"{reader.code} is not a human reader of the study"
            )
        if reader.user_id is None:
            raise ReadingSessionError("readers", f"{reader.code} has no user account linked")


def reading_session_blocks(
    *, seed: int, readers: Sequence[Reader], cases: Sequence[Case], groups: int
) -> list[tuple[list[Reader], list[Case]]]:
    """Who reads which cases: every reader every case (``groups`` 1), or the split-plot
    groups and their case blocks (:func:`split_plot_blocks`)."""
    if groups == 1:
        return [(sorted(readers, key=lambda r: (r.position, r.code)), list(cases))]
    return split_plot_blocks(seed=seed, readers=readers, cases=cases, groups=groups)


def reading_session_fill(
    *,
    session: ReadingSession,
    plan: Sequence[tuple[Sequence[Reader], Sequence[Case]]],
    cases: Sequence[Case],
) -> None:
    """Write the session's cases (in order), and each reader's assignment and case order
    (``plan``: :func:`reading_session_blocks`)."""
    ReadingSessionCase.objects.bulk_create(
        ReadingSessionCase(session=session, case=c, position=i)
        for i, c in enumerate(cases, start=1)
    )
    for group_readers, block in plan:
        reading_assignments_add(session=session, readers=group_readers, cases=block)


def reading_assignments_add(
    *, session: ReadingSession, readers: Sequence[Reader], cases: Sequence[Case]
) -> None:
    """Assign ``readers`` to the session's ``cases``, each in its order from the seed."""
    work: list[ReadingWork] = []
    for reader in sorted(readers, key=lambda r: (r.position, r.code)):
        assignment = ReadingAssignment.objects.create(session=session, reader=reader)
        indexes = reading_order(
            seed=session.seed, order=session.order, reader_code=reader.code, n=len(cases)
        )
        work.extend(
            ReadingWork(assignment=assignment, case=cases[i], position=p)
            for p, i in enumerate(indexes, start=1)
        )
    ReadingWork.objects.bulk_create(work, batch_size=2000)


@dataclass(frozen=True)
class ReadingDesignOptions:
    """A crossover design: one session per condition (unaided, aided) over the same cases.

    ``base`` gives the name, readers, cases, order, seed, run and display of both sessions
    (its ``modality`` is the unaided one; ``assist_reader`` and ``ai_draft`` apply to the
    aided one). ``counterbalance``: half the readers (chosen from the seed) start aided; else
    all start unaided. ``washout_days``: minimum days between a reader's two periods.
    """

    base: ReadingSessionOptions
    aided_modality: int
    assist_reader: Reader
    washout_days: int = 28
    counterbalance: bool = True
    ai_draft: bool = False


def reading_design_periods(*, seed: int, reader_codes: Sequence[str]) -> dict[str, int]:
    """Counterbalanced period of the *aided* condition per reader: half 1, half 2 (seeded).

    The readers (sorted by code) are permuted from ``seed``; the first ``n // 2`` start aided.
    """
    codes = sorted(reader_codes)
    order = permutation(seed, "crossover", len(codes))
    aided_first = {codes[i] for i in order[: len(codes) // 2]}
    return {c: 1 if c in aided_first else 2 for c in codes}


def reading_design_create(
    *, study: Study, options: ReadingDesignOptions, actor: Any = None
) -> ReadingDesign:
    """Create a crossover design and its two draft sessions (unaided, aided) in one step.

    Each session is a modality; every reader is assigned both, with the case order
    randomised per reader and condition (the session seeds derive from the design's seed)
    and the period of each condition counterbalanced or fixed. Raises
    ``ReadingSessionError`` (nothing written) as ``reading_session_create`` does, or when
    the two modalities are equal or the washout is negative.
    """
    base = options.base
    if options.aided_modality == base.modality:
        raise ReadingSessionError("aided_modality", "must differ from the unaided modality")
    if options.washout_days < 0:
        raise ReadingSessionError("washout_days", "must be 0 or more")
    if ReadingDesign.objects.filter(study=study, name=base.name).exists():
        raise ReadingSessionError("name", f"the study already has a design named {base.name!r}")
    seed = new_seed() if base.seed is None else base.seed
    seeds = [int(rng_for(seed, key).integers(0, 2**63 - 1)) for key in ("unaided", "aided")]
    with transaction.atomic():
        design = ReadingDesign.objects.create(
            study=study,
            name=base.name,
            washout_days=options.washout_days,
            counterbalance=options.counterbalance,
            seed=seed,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        unaided = reading_session_create(
            study=study,
            options=replace(
                base,
                name=ReadingDesign.session_name(base.name, "unaided"),
                seed=seeds[0],
                assist_reader=None,
                ai_draft=False,
            ),
            actor=actor,
        )
        aided = reading_session_create(
            study=study,
            options=replace(
                base,
                name=ReadingDesign.session_name(base.name, "aided"),
                seed=seeds[1],
                modality=options.aided_modality,
                assist_reader=options.assist_reader,
                ai_draft=options.ai_draft,
            ),
            actor=actor,
        )
        ReadingSession.objects.filter(pk__in=[unaided.pk, aided.pk]).update(design=design)
        codes = [r.code for r in base.readers]
        aided_period = (
            reading_design_periods(seed=seed, reader_codes=codes)
            if options.counterbalance
            else dict.fromkeys(codes, 2)
        )
        for assignment in ReadingAssignment.objects.filter(
            session__in=[unaided, aided]
        ).select_related("reader"):
            period = aided_period[assignment.reader.code]
            assignment.period = period if assignment.session_id == aided.pk else 3 - period
            assignment.save(update_fields=["period"])
        audit_record(
            action="reading_design_created",
            actor=actor,
            study=study,
            target=f"reading design {design.pk}",
            details={
                "name": design.name,
                "washout_days": design.washout_days,
                "aided_first": sorted(c for c, p in aided_period.items() if p == 1),
            },
        )
    return design


def reading_session_open(*, session: ReadingSession, actor: Any = None) -> ReadingSession:
    """Start (or re-open) a session: its readers see it in their worklists.

    Raises :class:`SessionStateError` when the session is already open."""
    session_transition(session=session, to=SessionStatus.OPEN)
    audit_record(
        action="reading_session_opened",
        actor=actor,
        study=session.study,
        target=f"reading session {session.pk}",
    )
    return session


def reading_session_close(*, session: ReadingSession, actor: Any = None) -> ReadingSession:
    """Close a session: readers can no longer submit; nothing is deleted.

    Raises :class:`SessionStateError` when the session is not open."""
    session_transition(session=session, to=SessionStatus.CLOSED)
    audit_record(
        action="reading_session_closed",
        actor=actor,
        study=session.study,
        target=f"reading session {session.pk}",
    )
    return session


def reading_session_delete(*, session: ReadingSession, actor: Any = None) -> None:
    """Delete a draft session (nobody has seen it yet); started sessions are only closed."""
    if session.status != ReadingSession.Status.DRAFT:
        raise SessionStateError("only a draft session can be deleted; close it instead")
    study, pk, name = session.study, session.pk, session.name
    session.delete()
    audit_record(
        action="reading_session_deleted",
        actor=actor,
        study=study,
        target=f"reading session {pk}",
        details={"name": name},
    )


def reading_work_open(*, work: ReadingWork) -> ReadingWork:
    """Record when the reader first saw the case (server time); later views change nothing."""
    session = work.assignment.session
    if work.opened_at is None and session.is_open:
        now = timezone.now()
        draft_shown = ""
        if session.ai_draft:  # the impression the form is pre-filled with, kept as shown
            assist = reading_assist(session=session, case=work.case)
            draft_shown = assist.impression if assist is not None else ""
        ReadingWork.objects.filter(pk=work.pk, opened_at__isnull=True).update(
            opened_at=now, draft_shown=draft_shown
        )
        work.refresh_from_db(fields=["opened_at", "draft_shown"])
    return work


@dataclass(frozen=True)
class SubmitResult:
    outcome: str
    work: ReadingWork
    submission: ReadingSubmission
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.outcome in {
            ReadingSubmission.Outcome.SAVED,
            ReadingSubmission.Outcome.AMENDED,
            ReadingSubmission.Outcome.UNCHANGED,
        }


def _answer(reading: Reading) -> dict[str, Any]:
    return {"category": reading.category, "score": reading.score, "impression": reading.impression}


@dataclass(frozen=True)
class ReadingAnswer:
    """What a reader answers on a case (built by ``ReadingForm.answer``); ``active_seconds``
    is the browser's count of seconds the page was in use."""

    category: int
    probability: int | None = None
    impression: str = ""
    active_seconds: float | None = None


def reading_submit(
    *,
    work: ReadingWork,
    actor: Any,
    token: uuid.UUID,
    base_version: int,
    answer: ReadingAnswer,
) -> SubmitResult:
    """Save a reader's answer on one case, exactly once, never over a newer one.

    - A token seen before returns that attempt's outcome again (a retried submit).
    - ``base_version`` must be the work's current version (the one the form showed);
      otherwise the attempt is a *conflict*: kept in ``ReadingSubmission``, nothing changed.
    - The first answer creates the ``Reading`` (source "entered", run and modality of the
      session, ``score`` = probability / 100, ``seconds`` = first submit − first opened on
      the server); the browser's active seconds (at most the server time) are kept on the
      work item.
    - A later answer is an amendment when the session allows them (before/after kept in
      ``ReadingAmendment`` and the audit log), else *refused*; a closed session refuses all.
    """
    category, probability, impression = answer.category, answer.probability, answer.impression
    active_seconds = answer.active_seconds
    payload = {
        "category": category,
        "probability": probability,
        "impression": impression,
        "active_seconds": active_seconds,
    }
    score = None if probability is None else probability / 100
    with transaction.atomic():
        work = (
            ReadingWork.objects.select_for_update(of=("self",))
            .select_related("assignment__session__study", "assignment__reader", "case", "reading")
            .get(pk=work.pk)
        )
        session = work.assignment.session
        previous = ReadingSubmission.objects.filter(token=token).first()
        if previous is not None:
            if previous.work_id != work.pk:
                raise ReadingTokenError("the form's token was used for another case")
            return SubmitResult(previous.outcome, work, previous, replayed=True)

        now = timezone.now()
        outcome: str
        if not session.is_open:
            outcome = ReadingSubmission.Outcome.REFUSED
        elif base_version != work.version:
            outcome = ReadingSubmission.Outcome.CONFLICT
        elif work.version == 0:
            outcome = _first_answer(work, category, score, impression, active_seconds, now)
        elif not session.allow_amend:
            outcome = ReadingSubmission.Outcome.REFUSED
        else:
            outcome = _amend(work, actor, category, score, impression)
        try:
            with transaction.atomic():
                submission = ReadingSubmission.objects.create(
                    token=token,
                    work=work,
                    user=actor if getattr(actor, "pk", None) else None,
                    base_version=base_version,
                    version=work.version,
                    outcome=outcome,
                    payload=payload,
                )
        except IntegrityError as exc:  # the same token raced in for another case
            raise ReadingTokenError("the form's token was used for another case") from exc
        result = SubmitResult(outcome, work, submission)
        if result.accepted:  # the answer is stored: what was typed is no longer a draft
            ReadingDraft.objects.filter(work=work).delete()
    return result


def reading_draft_save(
    *,
    work: ReadingWork,
    base_version: int,
    category: int | None,
    probability: int | None,
    impression: str,
    active_seconds: float | None,
) -> ReadingDraft:
    """Store what the reader has entered on ``work`` but not submitted (one draft per case).

    Raises ``ReadingDraftError`` (nothing stored) when the session is not open, the case is
    answered and the session allows no amendments, or ``base_version`` is not the work's
    current version (the case was saved since the form was opened, e.g. in another tab).
    Never touches the reading or the work's timing.
    """
    with transaction.atomic():
        locked = (
            ReadingWork.objects.select_for_update(of=("self",))
            .select_related("assignment__session")
            .get(pk=work.pk)
        )
        session = locked.assignment.session
        if not session.is_open:
            raise ReadingDraftError("This session is closed: nothing can be entered any more.")
        if locked.done and not session.allow_amend:
            raise ReadingDraftError(
                "This case is answered and the session does not allow changing answers."
            )
        if base_version != locked.version:
            raise ReadingDraftError(
                "This case was saved from another window or tab after this page was opened. "
                "Reload the page to see the saved answer; your input stays on this page."
            )
        draft, _ = ReadingDraft.objects.update_or_create(
            work=locked,
            defaults={
                "base_version": base_version,
                "category": category,
                "probability": probability,
                "impression": impression,
                "active_seconds": active_seconds,
            },
        )
    return draft


def _first_answer(
    work: ReadingWork,
    category: int,
    score: float | None,
    impression: str,
    active_seconds: float | None,
    now: Any,
) -> str:
    session = work.assignment.session
    exists = Reading.objects.filter(
        reader=work.assignment.reader, case=work.case, run=session.run, modality=session.modality
    ).exists()
    if exists:  # e.g. imported after the session was created: never overwrite it
        return ReadingSubmission.Outcome.CONFLICT
    opened = work.opened_at or now
    seconds = max((now - opened).total_seconds(), 0.0)
    reading = Reading.objects.create(
        reader=work.assignment.reader,
        case=work.case,
        run=session.run,
        modality=session.modality,
        category=category,
        score=score,
        impression=impression,
        seconds=seconds,
        source=Reading.Source.ENTERED,
    )
    work.opened_at = opened
    work.submitted_at = now
    work.seconds = seconds
    work.active_seconds = None if active_seconds is None else min(max(active_seconds, 0), seconds)
    work.reading = reading
    work.version = 1
    if session.ai_draft:
        distance = edit_distance(draft=work.draft_shown, final=impression)
        work.edit_chars, work.edit_words = distance.chars, distance.words
    work.save(
        update_fields=[
            "edit_chars",
            "edit_words",
            "opened_at",
            "submitted_at",
            "seconds",
            "active_seconds",
            "reading",
            "version",
        ]
    )
    return ReadingSubmission.Outcome.SAVED


def _amend(
    work: ReadingWork,
    actor: Any,
    category: int,
    score: float | None,
    impression: str,
) -> str:
    reading = work.reading
    assert reading is not None
    before = _answer(reading)
    after = {"category": category, "score": score, "impression": impression}
    if before == after:
        return ReadingSubmission.Outcome.UNCHANGED
    reading.category, reading.score, reading.impression = category, score, impression
    reading.save(update_fields=["category", "score", "impression", "updated_at"])
    work.version += 1
    work.save(update_fields=["version"])
    ReadingAmendment.objects.create(
        work=work,
        reading=reading,
        user=actor if getattr(actor, "pk", None) else None,
        username=getattr(actor, "username", "") or "",
        version=work.version,
        before=before,
        after=after,
    )
    session = work.assignment.session
    audit_record(
        action="reading_amended",
        actor=actor,
        study=session.study,
        target=f"reading {reading.pk}",
        details={"session": session.pk, "work": work.pk, "version": work.version},
    )
    return ReadingSubmission.Outcome.AMENDED
