"""Editing and cloning reading sessions, never in a way that changes an answer.

- A **draft** (nobody has seen it) can be changed completely: the same checks as creating
  it, then its cases, assignments and case orders are written again (new reader links).
- An **open** session can get more readers: each new reader gets the session's cases in an
  order derived from the session's seed, as if they had been there from the start; nothing
  of the readers already assigned changes.
- A **closed** session is not edited (re-open it first to add readers).
- **Cloning** makes a new draft with the same readers, cases (in the same order) and
  settings, a new seed and a run of its own (by default the next run whose readings and
  sessions do not clash).

Every change is in the audit log with what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.db import transaction

from readerstudy.audit.services import audit_record
from readerstudy.reading.models import (
    ReadingAssignment,
    ReadingSession,
    ReadingSessionCase,
    ReadingWork,
)
from readerstudy.reading.selectors import reading_session_collisions
from readerstudy.reading.services import (
    ReadingSessionError,
    ReadingSessionOptions,
    _session_values,
    check_session_readers,
    reading_assignments_add,
    reading_session_blocks,
    reading_session_create,
    reading_session_fill,
    reading_session_plan,
)
from readerstudy.studies.models import Case, Reader, Reading

#: How many runs after the session's a clone tries before giving up.
CLONE_RUNS = 100


def reading_session_options(*, session: ReadingSession) -> ReadingSessionOptions:
    """The options that make ``session`` as it is (its readers, cases in order, settings)."""
    readers = list(
        Reader.objects.filter(reading_assignments__session=session).order_by("position", "code")
    )
    cases = _session_cases(session)
    return ReadingSessionOptions(
        name=session.name,
        readers=readers,
        split=session.split,
        cases=cases,
        order=session.order,
        seed=session.seed,
        run=session.run,
        modality=session.modality,
        show_images=session.show_images,
        show_location=session.show_location,
        show_clinical_history=session.show_clinical_history,
        show_findings=session.show_findings,
        require_impression=session.require_impression,
        allow_amend=session.allow_amend,
        assist_reader=session.assist_reader,
        ai_draft=session.ai_draft,
    )


def _session_cases(session: ReadingSession) -> list[Case]:
    """The session's cases in its (fixed) order."""
    return [sc.case for sc in session.cases.select_related("case").order_by("position")]


def _answered(session: ReadingSession) -> int:
    return ReadingWork.objects.filter(assignment__session=session, reading__isnull=False).count()


def _summary(options: ReadingSessionOptions) -> dict[str, Any]:
    values = _session_values(options)
    values["assist_reader"] = options.assist_reader.code if options.assist_reader else None
    values["seed"] = options.seed
    values["readers"] = sorted(r.code for r in options.readers)
    values["cases"] = [c.code for c in options.cases or ()]
    return values


def reading_session_update(
    *, session: ReadingSession, options: ReadingSessionOptions, actor: Any = None
) -> list[str]:
    """Change a draft completely (the checks of creating it); returns the changed fields.

    Raises ``ReadingSessionError`` (nothing written) when the session is not a draft or
    the options do not pass the checks."""
    session.refresh_from_db(fields=["status"])
    if session.status != ReadingSession.Status.DRAFT:
        raise ReadingSessionError(
            "status",
            f"the session is {session.status}: only a draft is edited completely; an open "
            "session can get more readers",
        )
    if _answered(session):  # a draft has no answers; never risk one
        raise ReadingSessionError("status", "the session holds answers")
    study = session.study
    before = _summary(reading_session_options(session=session))
    with transaction.atomic():
        ReadingAssignment.objects.filter(session=session).delete()
        ReadingSessionCase.objects.filter(session=session).delete()
        readers, cases, seed = reading_session_plan(study=study, options=options, editing=session)
        for name, value in _session_values(options).items():
            setattr(session, name, value)
        session.seed = seed
        session.save()
        plan = reading_session_blocks(
            seed=seed, readers=readers, cases=cases, groups=options.split_plot_groups
        )
        reading_session_fill(session=session, plan=plan, cases=cases)
        after = _summary(replace(options, readers=readers, cases=cases, seed=seed))
        changed = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        audit_record(
            action="reading_session_updated",
            actor=actor,
            study=study,
            target=f"reading session {session.pk}",
            details={"changed": changed},
        )
    return sorted(changed)


def reading_session_add_readers(
    *, session: ReadingSession, readers: Sequence[Reader], actor: Any = None
) -> list[Reader]:
    """Assign more readers to a draft or open session (the session's cases, each reader's
    order from its seed); the readers already assigned keep everything. Returns the added.

    Raises ``ReadingSessionError`` when the session is closed, a reader is already in it,
    is not a linked human reader, or has readings or other sessions on these cases at the
    session's run and modality."""
    session.refresh_from_db(fields=["status"])  # the stored status, not a stale copy's
    if session.status == ReadingSession.Status.CLOSED:
        raise ReadingSessionError("readers", "the session is closed: re-open it to add readers")
    if not readers:
        raise ReadingSessionError("readers", "choose at least one reader")
    study = session.study
    check_session_readers(study=study, readers=readers)
    present = set(session.assignments.values_list("reader_id", flat=True))
    already = [r.code for r in readers if r.pk in present]
    if already:
        raise ReadingSessionError("readers", f"already in the session: {', '.join(already)}")
    cases = _session_cases(session)
    problems = reading_session_collisions(
        study=study, readers=readers, cases=cases, run=session.run, modality=session.modality
    )
    if problems:
        raise ReadingSessionError("readers", "; ".join(problems))
    with transaction.atomic():
        reading_assignments_add(session=session, readers=readers, cases=cases)
        audit_record(
            action="reading_session_readers_added",
            actor=actor,
            study=study,
            target=f"reading session {session.pk}",
            details={"readers": sorted(r.code for r in readers), "status": session.status},
        )
    return list(readers)


def _free_run(options: ReadingSessionOptions, session: ReadingSession) -> int:
    """The first run after the session's at which its readers and cases clash with nothing."""
    used = set(
        Reading.objects.filter(
            reader__in=options.readers, case__in=options.cases or (), modality=options.modality
        ).values_list("run", flat=True)
    )
    for run in range(session.run + 1, session.run + 1 + CLONE_RUNS):
        if run in used:
            continue
        if not reading_session_collisions(
            study=session.study,
            readers=options.readers,
            cases=options.cases or (),
            run=run,
            modality=options.modality,
        ):
            return run
    raise ReadingSessionError("run", "no free run found: choose one")


def reading_session_clone(
    *, session: ReadingSession, name: str, run: int | None = None, actor: Any = None
) -> ReadingSession:
    """A new draft like ``session`` (readers, cases in order, settings) with a new seed, at
    ``run`` (default: the next run that clashes with nothing). Audited as created, with
    the source session named."""
    options = reading_session_options(session=session)
    options = replace(options, name=name.strip(), seed=None)
    options = replace(options, run=run if run is not None else _free_run(options, session))
    with transaction.atomic():
        clone = reading_session_create(study=session.study, options=options, actor=actor)
        audit_record(
            action="reading_session_cloned",
            actor=actor,
            study=session.study,
            target=f"reading session {clone.pk}",
            details={"from": session.pk, "from_name": session.name, "run": options.run},
        )
    return clone
