"""Writes of Likert rating (keyword-only, ``<entity>_<action>``).

A rating session is created in one transaction: its items (opaque ids, normalised and
leak-checked display texts, a seeded shuffled order), one assignment per rater and one task per
(rater, item) in the rater's seeded order. Raters then save drafts (optimistic concurrency with
version numbers) and submit (idempotent by a client token); submitted scores are
:class:`~evaluation.models.LikertScore` rows with source "entered", and amendments keep their
history. Closing a session only changes its status: nothing is ever deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from evaluation.blinding import normalise_output, structure_by_source
from evaluation.instruments import NO_ERRORS, acceptability_scale, domain_scale, error_taxonomy
from evaluation.judges import JudgeSummary, judge_execute, judge_template_problems
from evaluation.models import (
    REFERENCE_READER,
    AcceptabilityGrade,
    ErrorAnnotation,
    Instrument,
    JudgeConfig,
    JudgmentAmendment,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    PreferenceChoice,
    Rater,
    RatingAssignment,
    RatingItem,
    RatingSession,
    RatingTask,
    ScoreAmendment,
    ScoreSource,
)
from evaluation.selectors import session_domains, session_domains_cached, study_leak_detector
from readerstudy.audit.services import audit_record
from readerstudy.core.db.rows import db_value, quoted_table
from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.egress import validate_base_url
from readerstudy.core.randomisation import balanced_assignment, new_seed, permutation, rng_for
from readerstudy.core.sessions import (
    SessionStateError,
    SessionStatus,
    session_transition,
    session_transition_check,
)
from readerstudy.studies.models import Reader, Reading, Study


class RatingError(Exception):
    """A rating operation was refused; ``message`` says why (safe to show to the user)."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SessionConflictError(RatingError):
    """The session would give a rater an output they already scored or have in another session."""


#: What the rating services raise when they refuse: a :class:`RatingError`, or the
#: ``SessionStateError`` of every session kind (``readerstudy.core.sessions``) when the
#: session is not in a state that allows the operation (e.g. closed). Both carry
#: ``message``, ``field`` and the HTTP ``status``.
RATING_REFUSALS = (RatingError, SessionStateError)


class LeakConfirmationRequired(RatingError):
    """Starting needs the coordinator's confirmation: some flagged items are unresolved."""

    status = 409


class StaleVersionError(RatingError):
    """The client's version is older than the stored one; the stored (newer) draft is kept."""

    status = 409

    def __init__(self, message: str, *, version: int, draft: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.version = version
        self.draft = dict(draft)


class AlreadySubmittedError(RatingError):
    status = 409


class ScoresInvalidError(RatingError):
    """A score is missing, unknown or out of range; ``field`` names the domain."""


# --------------------------------------------------------------------------------------
# Creating and running sessions


def _sample_cases(seed: int, case_ids: Sequence[int], n: int | None) -> set[int]:
    ordered = sorted(set(case_ids))
    if n is None or n >= len(ordered):
        return set(ordered)
    chosen = rng_for(seed, "case-sample").choice(len(ordered), size=n, replace=False)
    return {ordered[i] for i in chosen.tolist()}


def rater_orders(
    *,
    seed: int,
    n_items: int,
    raters: Sequence[str],
    raters_per_item: int,
    order: str,
) -> dict[str, list[int]]:
    """Each rater's items (as session positions) in the order they will see them.

    Pure and reproducible from the stored seed: items go to raters by
    :func:`~readerstudy.core.randomisation.balanced_assignment` (everyone gets every item when
    ``raters_per_item`` equals the number of raters); each rater's items are then put in a
    random order keyed by the rater's code, or, for a fixed order, in the session's order.
    """
    positions = [str(p) for p in range(n_items)]
    if raters_per_item == len(raters):
        assigned = {r: list(range(n_items)) for r in raters}
    else:
        given = balanced_assignment(seed, positions, list(raters), raters_per_item)
        assigned = {r: sorted(int(p) for p in items) for r, items in given.items()}
    out: dict[str, list[int]] = {}
    for rater in raters:
        mine = assigned[rater]
        if order == RatingSession.Order.RANDOM:
            perm = permutation(seed, f"rater:{rater}", len(mine))
            mine = [mine[i] for i in perm]
        out[rater] = mine
    return out


def _conflicts(
    *, session: RatingSession | None, pairs: set[tuple[int, int]], domains: Sequence[LikertDomain]
) -> dict[int, int]:
    """Per rater id, how many of its (rater, reading) pairs are already scored on one of
    ``domains`` or pending (not submitted) in another open session."""
    rater_ids = {r for r, _ in pairs}
    reading_ids = {x for _, x in pairs}
    found: set[tuple[int, int]] = set()
    scored = (
        LikertScore.objects.filter(
            rater_id__in=rater_ids, reading_id__in=reading_ids, domain__in=domains
        )
        .values_list("rater_id", "reading_id")
        .distinct()
    )
    found.update(p for p in scored if p in pairs)
    pending = (
        RatingTask.objects.filter(
            assignment__rater_id__in=rater_ids,
            item__reading_id__in=reading_ids,
            submitted_at__isnull=True,
        )
        .filter(
            assignment__session__status=RatingSession.Status.OPEN,
            assignment__session__instrument=Instrument.LIKERT,
        )
        .values_list("assignment__rater_id", "item__reading_id")
    )
    if session is not None:
        pending = pending.exclude(assignment__session=session)
    found.update(p for p in pending if p in pairs)
    counts: dict[int, int] = {}
    for rater_id, _ in found:
        counts[rater_id] = counts.get(rater_id, 0) + 1
    return counts


@dataclass(frozen=True)
class RatingSessionOptions:
    """What a new rating session is: the outputs it rates (of ``readers`` in ``runs``, of
    every modality or of ``modalities``, optionally a sample of ``case_sample`` cases), on
    which domains, by how many raters per item, in which order and what raters see (built
    by the session form and the API serializer, ``options()``)."""

    name: str
    readers: Sequence[Reader]
    runs: Sequence[int]
    domains: Sequence[LikertDomain]
    raters_per_item: int
    order: str = RatingSession.Order.RANDOM
    allow_amend: bool = False
    show_findings: bool = True
    show_clinical_history: bool = True
    show_location: bool = True
    show_images: bool = False
    case_sample: int | None = None
    seed: int | None = None
    modalities: Sequence[int] | None = None
    #: What raters do (``Instrument``); only Likert sessions have domains.
    instrument: str = Instrument.LIKERT
    #: Pairwise sessions: the pairs of sources compared, as (reader code A, reader code B
    #: or ``reference`` for the case's reference impression).
    pairs: Sequence[tuple[str, str]] = ()
    #: Acceptability and error sessions: also the case's reference impression (of each case
    #: with a chosen output and a reference impression), mixed blind with the outputs.
    include_reference: bool = False


def rating_session_create(
    *,
    study: Study,
    raters: Sequence[Rater],
    options: RatingSessionOptions,
    actor: User | None = None,
) -> RatingSession:
    """Create a draft session over the outputs of ``readers`` in ``runs`` (non-empty texts),
    of every modality or of ``modalities``.

    Raises :class:`RatingError` (nothing written) naming the field when an argument is not
    valid, and :class:`SessionConflictError` when a rater would get an output they already
    scored on one of the domains or have pending in another open session (checked again when
    the session starts).
    """
    readers, runs, domains, modalities = (
        options.readers,
        options.runs,
        options.domains,
        options.modalities,
    )
    raters_per_item, order, case_sample, seed = (
        options.raters_per_item,
        options.order,
        options.case_sample,
        options.seed,
    )
    name = options.name.strip()
    if not name:
        raise RatingError("name: give the session a name", field="name")
    if RatingSession.objects.filter(study=study, name=name).exists():
        raise RatingError(f"name: a session named {name!r} exists in this study", field="name")
    if not readers or any(r.study_id != study.pk for r in readers):
        raise RatingError("readers: choose at least one reader of this study", field="readers")
    if not runs or any(run < 1 for run in runs):
        raise RatingError("runs: choose at least one run (1 or more)", field="runs")
    if options.instrument not in Instrument.values:
        raise RatingError(f"instrument: must be one of {Instrument.values}", field="instrument")
    if options.include_reference and options.instrument not in SINGLE_OUTPUT_INSTRUMENTS:
        raise RatingError(
            "include_reference: only acceptability and error-annotation sessions grade the "
            "reference impression itself (pairwise: write 'M1 vs reference')",
            field="include_reference",
        )
    likert = options.instrument == Instrument.LIKERT
    if likert and (not domains or any(d.study_id != study.pk for d in domains)):
        raise RatingError("domains: choose at least one domain of this study", field="domains")
    if not raters or any(r.study_id != study.pk for r in raters):
        raise RatingError("raters: choose at least one rater of this study", field="raters")
    if len({r.pk for r in raters}) != len(raters):
        raise RatingError("raters: a rater is listed twice", field="raters")
    if any(r.user_id is None for r in raters):
        names = ", ".join(r.code for r in raters if r.user_id is None)
        raise RatingError(f"raters: no user account is linked to {names}", field="raters")
    if not 1 <= raters_per_item <= len(raters):
        raise RatingError(
            f"raters_per_item: must be between 1 and {len(raters)} (the number of raters)",
            field="raters_per_item",
        )
    if order not in RatingSession.Order.values:
        raise RatingError(f"order: must be one of {RatingSession.Order.values}", field="order")
    if case_sample is not None and case_sample < 1:
        raise RatingError("case_sample: must be a positive number of cases", field="case_sample")
    if seed is None:
        seed = new_seed()
    elif not 0 <= seed < 2**63:
        raise RatingError("seed: must be between 0 and 2^63 - 1", field="seed")
    if not likert:
        return _judgment_session_create(
            study=study, raters=raters, options=options, seed=seed, actor=actor
        )

    outputs = Reading.objects.filter(
        case__study=study, reader__in=list(readers), run__in=list(runs)
    )
    if modalities is not None:
        outputs = outputs.filter(modality__in=list(modalities))
    candidates = list(
        outputs.exclude(impression="").values_list(
            "pk", "case_id", "case__code", "reader__code", "run", "modality", "impression"
        )
    )
    cases = _sample_cases(seed, [c[1] for c in candidates], case_sample)
    chosen = sorted(
        (c for c in candidates if c[1] in cases), key=lambda c: (c[2], c[3], c[4], c[5])
    )
    if not chosen:
        raise RatingError(
            "readers: the chosen readers and runs have no outputs with text", field="readers"
        )
    # The session's own order is a seeded shuffle, never the order of the source.
    shuffled = [chosen[i] for i in permutation(seed, "items", len(chosen))]
    rater_codes = [r.code for r in raters]
    orders = rater_orders(
        seed=seed,
        n_items=len(shuffled),
        raters=rater_codes,
        raters_per_item=raters_per_item,
        order=order,
    )
    by_code = {r.code: r for r in raters}
    pairs = {(by_code[code].pk, shuffled[p][0]) for code, ps in orders.items() for p in ps}
    conflicts = _conflicts(session=None, pairs=pairs, domains=domains)
    if conflicts:
        detail = "; ".join(
            f"{r.code}: {conflicts[r.pk]} output(s)" for r in raters if r.pk in conflicts
        )
        raise SessionConflictError(
            "raters: some raters already scored (or have pending in an open session) "
            f"outputs of this selection on the chosen domains ({detail}). Choose other "
            "outputs, raters or domains.",
            field="raters",
        )

    detector = study_leak_detector(study)
    kinds = {r.code: r.kind for r in readers}
    structure = structure_by_source((kinds[c[3]], c[-1]) for c in shuffled)
    with transaction.atomic():
        session = RatingSession.objects.create(
            study=study,
            name=name,
            seed=seed,
            order=order,
            raters_per_item=raters_per_item,
            allow_amend=options.allow_amend,
            show_findings=options.show_findings,
            show_clinical_history=options.show_clinical_history,
            show_location=options.show_location,
            show_images=options.show_images,
            selection={
                "readers": sorted(r.code for r in readers),
                "runs": sorted(set(runs)),
                "case_sample": case_sample,
                "n_cases": len(cases),
            },
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        session.domains.set(domains)
        items: list[RatingItem] = []
        for position, (reading_id, *_rest, impression) in enumerate(shuffled):
            text = normalise_output(impression)
            items.append(
                RatingItem(
                    session=session,
                    reading_id=reading_id,
                    position=position,
                    display_text=text,
                    leak_flags=[f.as_dict() for f in detector.detect(text, original=impression)],
                )
            )
        items = RatingItem.objects.bulk_create(items, batch_size=2000)
        assignments = RatingAssignment.objects.bulk_create(
            RatingAssignment(session=session, rater=by_code[code]) for code in rater_codes
        )
        tasks = [
            RatingTask(assignment=a, item=items[p], position=i)
            for a in assignments
            for i, p in enumerate(orders[a.rater.code])
        ]
        RatingTask.objects.bulk_create(tasks, batch_size=5000)
        audit_record(
            action="rating_session_created",
            actor=actor,
            study=study,
            target=f"rating session {session.pk}",
            details={
                "name": name,
                "items": len(items),
                "raters": rater_codes,
                "raters_per_item": raters_per_item,
                "order": order,
                "seed": seed,
                "flagged": sum(1 for i in items if i.leak_flags),
                "structure_by_source": [w.message for w in structure],
            },
        )
    return session


@dataclass(frozen=True)
class _JudgmentCandidate:
    """One item of a judgment session before it is stored."""

    case_code: str
    pairing: str  # "A|B" of the reader codes; the stratum of the balancing
    reading_id: int
    text: str
    reading_b_id: int | None = None
    text_b: str = ""
    #: The case's reference impression (``reading_id`` is then an output of the case).
    reference: bool = False


def _pairwise_candidates(
    *, study: Study, readers: Sequence[Reader], options: RatingSessionOptions
) -> list[_JudgmentCandidate]:
    codes = {r.code for r in readers}
    pairs = [(a.strip(), b.strip()) for a, b in options.pairs]
    if not pairs:
        raise RatingError("pairs: choose at least one pair of sources", field="pairs")
    for a, b in pairs:
        if a not in codes or (b != REFERENCE_READER and b not in codes):
            raise RatingError(
                f"pairs: {a} vs {b}: each side must be a reader of this study "
                f"(or {REFERENCE_READER!r} for B)",
                field="pairs",
            )
        if a == b:
            raise RatingError(
                f"pairs: {a} vs {b}: a source cannot be compared with itself", field="pairs"
            )
    if len(set(pairs)) != len(pairs):
        raise RatingError("pairs: a pair is listed twice", field="pairs")
    outputs = Reading.objects.filter(
        case__study=study, reader__code__in=sorted(codes), run__in=list(options.runs)
    ).exclude(impression="")
    if options.modalities is not None:
        outputs = outputs.filter(modality__in=list(options.modalities))
    # (reader code, case id, run) -> the first output (lowest modality id) with text
    found: dict[tuple[str, int, int], tuple[int, str]] = {}
    case_codes: dict[int, tuple[str, str]] = {}
    for pk, case_id, case_code, reference, reader, run, impression in outputs.order_by(
        "modality", "pk"
    ).values_list(
        "pk",
        "case_id",
        "case__code",
        "case__reference_impression",
        "reader__code",
        "run",
        "impression",
    ):
        found.setdefault((reader, case_id, run), (pk, impression))
        case_codes[case_id] = (case_code, reference)
    out: list[_JudgmentCandidate] = []
    for a, b in pairs:
        for (reader, case_id, run), (pk, text) in found.items():
            if reader != a:
                continue
            case_code, reference = case_codes[case_id]
            if b == REFERENCE_READER:
                if not reference.strip():
                    continue
                out.append(_JudgmentCandidate(case_code, f"{a}|{b}", pk, text, None, reference))
            elif (b, case_id, run) in found:
                pk_b, text_b = found[(b, case_id, run)]
                out.append(_JudgmentCandidate(case_code, f"{a}|{b}", pk, text, pk_b, text_b))
    return out


#: The instruments whose items show one text (an output or the reference impression).
SINGLE_OUTPUT_INSTRUMENTS = (Instrument.ACCEPTABILITY, Instrument.ERRORS)


def _single_output_candidates(
    *, study: Study, readers: Sequence[Reader], options: RatingSessionOptions
) -> list[_JudgmentCandidate]:
    """The outputs of an acceptability or error session, and with ``include_reference`` the
    reference impression of each of their cases that has one (linked to the case through the
    case's output with the lowest id, which is never shown or stored as its source)."""
    outputs = Reading.objects.filter(
        case__study=study, reader__in=list(readers), run__in=list(options.runs)
    ).exclude(impression="")
    if options.modalities is not None:
        outputs = outputs.filter(modality__in=list(options.modalities))
    out: list[_JudgmentCandidate] = []
    anchors: dict[str, tuple[int, str]] = {}
    for pk, case_code, reader, text, reference in outputs.order_by("pk").values_list(
        "pk", "case__code", "reader__code", "impression", "case__reference_impression"
    ):
        out.append(_JudgmentCandidate(case_code, reader, pk, text))
        anchors.setdefault(case_code, (pk, reference))
    if options.include_reference:
        out.extend(
            _JudgmentCandidate(case_code, REFERENCE_READER, pk, reference, reference=True)
            for case_code, (pk, reference) in anchors.items()
            if reference.strip()
        )
    return out


def balanced_by_stratum(
    *, seed: int, strata: Sequence[str], raters: Sequence[str], per_item: int
) -> dict[str, list[int]]:
    """Give each item (a position in ``strata``) to ``per_item`` distinct raters so that,
    within every stratum (e.g. a pairing of sources), the raters' loads differ by at most
    one, and over all strata too as far as possible.

    Strata are taken in sorted order, their items in a seeded random order; each item goes
    to the raters with the smallest load in the stratum, then overall, then in a seeded
    random order. Pure and reproducible from ``seed``. Returns ``{rater: [position, ...]}``.
    """
    if not 1 <= per_item <= len(raters):
        raise ValueError(f"per_item: must be between 1 and {len(raters)}, got {per_item}")
    rng = rng_for(seed, "balanced-strata")
    total = dict.fromkeys(raters, 0)
    out: dict[str, list[int]] = {r: [] for r in raters}
    for label in sorted(set(strata)):
        positions = [p for p, s in enumerate(strata) if s == label]
        local = dict.fromkeys(raters, 0)
        tiebreak = dict(zip(raters, rng.permutation(len(raters)).tolist(), strict=True))
        for idx in rng.permutation(len(positions)).tolist():
            chosen = sorted(raters, key=lambda r: (local[r], total[r], tiebreak[r]))[:per_item]
            for r in chosen:
                local[r] += 1
                total[r] += 1
                out[r].append(positions[idx])
    return {r: sorted(ps) for r, ps in out.items()}


def balanced_sides(*, seed: int, strata: Sequence[str]) -> list[str]:
    """Which output of each pairwise item goes on the left (``a`` or ``b``): within every
    stratum half the items (one more when odd, at random) put A on the left, in a seeded
    random arrangement, so each side is shown equally often."""
    sides = [""] * len(strata)
    for label in sorted(set(strata)):
        positions = [p for p, s in enumerate(strata) if s == label]
        n = len(positions)
        first = "a" if rng_for(seed, f"odd-side:{label}").random() < 0.5 else "b"
        other = "b" if first == "a" else "a"
        pattern = [first if i % 2 == 0 else other for i in range(n)]
        for i, k in enumerate(permutation(seed, f"sides:{label}", n)):
            sides[positions[k]] = pattern[i]
    return sides


def _judgment_session_create(
    *,
    study: Study,
    raters: Sequence[Rater],
    options: RatingSessionOptions,
    seed: int,
    actor: User | None,
) -> RatingSession:
    """A pairwise, acceptability or error-annotation session (see
    :func:`rating_session_create`)."""
    pairwise = options.instrument == Instrument.PAIRWISE
    if pairwise:
        candidates = _pairwise_candidates(study=study, readers=options.readers, options=options)
    else:
        candidates = _single_output_candidates(
            study=study, readers=options.readers, options=options
        )
    case_list = sorted({c.case_code for c in candidates})
    if options.case_sample is not None and options.case_sample < len(case_list):
        picked = rng_for(seed, "case-sample").choice(
            len(case_list), size=options.case_sample, replace=False
        )
        keep = {case_list[i] for i in picked.tolist()}
    else:
        keep = set(case_list)
    chosen = sorted(
        (c for c in candidates if c.case_code in keep),
        key=lambda c: (c.case_code, c.pairing, c.reading_id, c.reference),
    )
    if not chosen:
        raise RatingError(
            "readers: the chosen sources and runs have no outputs with text to compare"
            if pairwise
            else "readers: the chosen readers and runs have no outputs with text",
            field="pairs" if pairwise else "readers",
        )
    shuffled = [chosen[i] for i in permutation(seed, "items", len(chosen))]
    strata = [c.pairing if pairwise else "" for c in shuffled]
    rater_codes = [r.code for r in raters]
    assigned = balanced_by_stratum(
        seed=seed, strata=strata, raters=rater_codes, per_item=options.raters_per_item
    )
    orders: dict[str, list[int]] = {}
    for code in rater_codes:
        mine = assigned[code]
        if options.order == RatingSession.Order.RANDOM:
            mine = [mine[i] for i in permutation(seed, f"rater:{code}", len(mine))]
        orders[code] = mine
    sides = balanced_sides(seed=seed, strata=strata) if pairwise else [""] * len(shuffled)
    detector = study_leak_detector(study)
    by_code = {r.code: r for r in raters}
    with transaction.atomic():
        session = RatingSession.objects.create(
            study=study,
            name=options.name.strip(),
            instrument=options.instrument,
            seed=seed,
            order=options.order,
            raters_per_item=options.raters_per_item,
            allow_amend=options.allow_amend,
            show_findings=options.show_findings,
            show_clinical_history=options.show_clinical_history,
            show_location=options.show_location,
            show_images=options.show_images,
            selection={
                "readers": sorted(r.code for r in options.readers),
                "runs": sorted(set(options.runs)),
                "pairs": [list(p) for p in options.pairs] if pairwise else [],
                "reference": options.include_reference,
                "case_sample": options.case_sample,
                "n_cases": len(keep),
            },
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        items: list[RatingItem] = []
        for position, c in enumerate(shuffled):
            text = normalise_output(c.text)
            text_b = normalise_output(c.text_b) if pairwise else ""
            flags = [f.as_dict() for f in detector.detect(text, original=c.text)]
            if pairwise:
                flags += [f.as_dict() for f in detector.detect(text_b, original=c.text_b)]
            items.append(
                RatingItem(
                    session=session,
                    reading_id=c.reading_id,
                    reading_b_id=c.reading_b_id,
                    position=position,
                    display_text=text,
                    display_text_b=text_b,
                    left=sides[position],
                    reference=c.reference,
                    leak_flags=flags,
                )
            )
        items = RatingItem.objects.bulk_create(items, batch_size=2000)
        assignments = RatingAssignment.objects.bulk_create(
            RatingAssignment(session=session, rater=by_code[code]) for code in rater_codes
        )
        RatingTask.objects.bulk_create(
            (
                RatingTask(assignment=a, item=items[p], position=i)
                for a in assignments
                for i, p in enumerate(orders[a.rater.code])
            ),
            batch_size=5000,
        )
        audit_record(
            action="rating_session_created",
            actor=actor,
            study=study,
            target=f"rating session {session.pk}",
            details={
                "name": session.name,
                "instrument": options.instrument,
                "items": len(items),
                "raters": rater_codes,
                "raters_per_item": options.raters_per_item,
                "order": options.order,
                "seed": seed,
                "flagged": sum(1 for i in items if i.leak_flags),
            },
        )
    return session


def rater_for_user(*, study: Study, user: User) -> Rater:
    """The study's rater profile of ``user``, linked or created (code = the username)."""
    rater = Rater.objects.filter(study=study, user=user).first()
    if rater is not None:
        return rater
    username = user.get_username()
    unlinked = Rater.objects.filter(
        study=study, code=username, user__isnull=True, kind=Rater.Kind.HUMAN
    ).first()
    if unlinked is not None:
        unlinked.user = user
        unlinked.save(update_fields=["user"])
        return unlinked
    code = username
    if Rater.objects.filter(study=study, code=code).exists():
        code = f"{username}-{user.pk}"
    return Rater.objects.create(study=study, code=code, user=user)


def rating_session_create_for_users(
    *,
    study: Study,
    users: Sequence[User],
    options: RatingSessionOptions,
    actor: User | None = None,
) -> RatingSession:
    """:func:`rating_session_create` for rater accounts: their rater profiles are linked or
    created in the same transaction (so a refused session leaves nothing behind)."""
    with transaction.atomic():
        raters = [rater_for_user(study=study, user=u) for u in users]
        return rating_session_create(study=study, raters=raters, options=options, actor=actor)


def _session_conflicts(session: RatingSession) -> dict[str, int]:
    if session.instrument != Instrument.LIKERT:
        return {}  # a judgment already stored is refused when it is submitted
    pairs = set(
        RatingTask.objects.filter(assignment__session=session).values_list(
            "assignment__rater_id", "item__reading_id"
        )
    )
    counts = _conflicts(session=session, pairs=pairs, domains=session_domains(session))
    codes = dict(Rater.objects.filter(pk__in=counts).values_list("pk", "code"))
    return {codes[pk]: n for pk, n in sorted(counts.items(), key=lambda kv: codes[kv[0]])}


def rating_session_open(
    *,
    session: RatingSession,
    actor: User | None,
    confirm_unresolved_leaks: bool = False,
) -> RatingSession:
    """Open a draft session to its raters. Unresolved leak flags need explicit confirmation;
    a rater who meanwhile scored an output of the session, or has it pending in another open
    session, is a conflict."""
    with transaction.atomic():
        locked = RatingSession.objects.select_for_update().get(pk=session.pk)
        session_transition_check(session=locked, to=SessionStatus.OPEN)
        conflicts = _session_conflicts(locked)
        if conflicts:
            detail = "; ".join(f"{code}: {n} output(s)" for code, n in conflicts.items())
            raise SessionConflictError(
                "raters: some raters scored outputs of this session since it was created, or "
                f"have them pending in another open session ({detail}). Close that session or "
                "create this one again.",
                field="raters",
            )
        unresolved = RatingItem.objects.filter(
            session=locked, leak_dismissed_at__isnull=True
        ).exclude(leak_flags=[])
        n_unresolved = unresolved.count()
        if n_unresolved and not confirm_unresolved_leaks:
            raise LeakConfirmationRequired(
                f"confirm: {n_unresolved} flagged item(s) are neither redacted nor dismissed; "
                "review them, or confirm that the session starts with them as they are",
                field="confirm",
            )
        session_transition(session=locked, to=SessionStatus.OPEN)
        audit_record(
            action="rating_session_started",
            actor=actor,
            study=locked.study,
            target=f"rating session {locked.pk}",
            details={"unresolved_flags": n_unresolved},
        )
    return locked


def rating_session_close(*, session: RatingSession, actor: User | None) -> RatingSession:
    """Close a session: raters can no longer change anything; nothing is deleted."""
    with transaction.atomic():
        locked = RatingSession.objects.select_for_update().get(pk=session.pk)
        session_transition(session=locked, to=SessionStatus.CLOSED)
        audit_record(
            action="rating_session_closed",
            actor=actor,
            study=locked.study,
            target=f"rating session {locked.pk}",
        )
    return locked


def rating_item_redact(
    *,
    item: RatingItem,
    text: str,
    actor: User,
) -> RatingItem:
    """Replace an item's display text (normalised again and re-checked); the reading is kept."""
    if item.session.status != RatingSession.Status.DRAFT:
        raise SessionStateError("text: items can only be redacted before the session starts")
    new_text = normalise_output(text)
    if not new_text:
        raise RatingError("text: the redacted text must not be empty", field="text")
    before = item.display_text
    item.display_text = new_text
    item.leak_flags = [
        f.as_dict() for f in study_leak_detector(item.session.study).detect(new_text, original=text)
    ]
    item.redacted_by = actor
    item.redacted_at = timezone.now()
    if not item.leak_flags:
        item.leak_dismissed_by = None
        item.leak_dismissed_at = None
    with transaction.atomic():
        item.save(
            update_fields=[
                "display_text",
                "leak_flags",
                "redacted_by",
                "redacted_at",
                "leak_dismissed_by",
                "leak_dismissed_at",
            ]
        )
        audit_record(
            action="rating_item_redacted",
            actor=actor,
            study=item.session.study,
            target=f"rating item {item.public_id}",
            details={"before": before, "after": new_text, "flags_left": len(item.leak_flags)},
        )
    return item


def rating_item_dismiss_flags(*, item: RatingItem, actor: User) -> RatingItem:
    """Record the coordinator's judgement that an item's flags are not a leak."""
    if item.session.status != RatingSession.Status.DRAFT:
        raise SessionStateError("flags: flags can only be dismissed before the session starts")
    item.leak_dismissed_by = actor
    item.leak_dismissed_at = timezone.now()
    with transaction.atomic():
        item.save(update_fields=["leak_dismissed_by", "leak_dismissed_at"])
        audit_record(
            action="rating_item_flags_dismissed",
            actor=actor,
            study=item.session.study,
            target=f"rating item {item.public_id}",
            details={"flags": item.leak_flags},
        )
    return item


def study_unblind(*, study: Study, actor: User) -> Study:
    """Mark the study unblinded (once; later calls keep the first time). Audited."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.unblinded_at is None:
            locked.unblinded_at = timezone.now()
            locked.save(update_fields=["unblinded_at", "updated_at"])
            audit_record(
                action="study_unblinded",
                actor=actor,
                study=locked,
                target=locked.slug,
            )
    return locked


# --------------------------------------------------------------------------------------
# Raters' drafts and submissions


def _validate_scores(
    raw: Any, domains: Sequence[LikertDomain], study: Study, *, complete: bool
) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        raise ScoresInvalidError("scores: expected an object of domain: score", field="scores")
    keys = {d.key for d in domains}
    unknown = sorted(str(k) for k in raw if k not in keys)
    if unknown:
        raise ScoresInvalidError(
            f"scores.{unknown[0]}: not a domain of this session", field=unknown[0]
        )
    out: dict[str, int] = {}
    for d in domains:
        value = raw.get(d.key)
        if value is None or value == "":
            if complete:
                raise ScoresInvalidError(f"{d.label}: choose a score", field=d.key)
            continue
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScoresInvalidError(f"{d.label}: the score must be a whole number", field=d.key)
        scale = domain_scale(d.extra, low=study.likert_min, high=study.likert_max)
        if not scale.low <= value <= scale.high:
            raise ScoresInvalidError(
                f"{d.label}: the score must be from {scale.low} to {scale.high}",
                field=d.key,
            )
        out[d.key] = value
    return out


def _check_open(session: RatingSession) -> None:
    if session.status != RatingSession.Status.OPEN:
        raise SessionStateError("This session is closed: nothing can be changed any more.")


# Autosave and first submission run for every rater on every item, so their statements are
# written in SQL: compiling them with the ORM cost more than PostgreSQL spends executing them
# (see readerstudy/core/db/rows.py). Each is one statement on an indexed key; the rules stay the
# same as with the ORM (versions, tokens, unique constraints, triggers).


def _assignment_touch(task: RatingTask, now: Any) -> tuple[str, list[Any]]:
    """The UPDATE recording that the rater is on ``task``, now (where "resume" takes them
    back), and its parameters."""
    return (
        f"UPDATE {quoted_table(RatingAssignment)} SET last_task_id = %s, last_activity_at = %s "
        "WHERE id = %s",
        [task.pk, db_value(RatingAssignment, "last_activity_at", now), task.assignment_id],
    )


def rating_task_open(*, task: RatingTask) -> None:
    """Remember that the rater is on ``task`` (where "resume" takes them back)."""
    if task.assignment.last_task_id != task.pk:
        with connection.cursor() as cursor:
            cursor.execute(*_assignment_touch(task, timezone.now()))
        task.assignment.last_task_id = task.pk


def rating_draft_save(*, task: RatingTask, scores: Any, version: int) -> int:
    """Store the rater's draft if ``version`` is the stored one; return the new version.

    Raises :class:`StaleVersionError` carrying the stored (newer) draft when another window
    saved in between, unless the stored draft is already exactly ``scores`` (a retried save).
    """
    session = task.assignment.session
    _check_open(session)
    if session.instrument == Instrument.LIKERT:
        domains = session_domains_cached(session)
        clean: dict[str, Any] = _validate_scores(scores, domains, session.study, complete=False)
    else:
        clean = _validate_judgment(scores, session=session, complete=False, item=task.item)
    sql = (
        f"UPDATE {quoted_table(RatingTask)} SET draft = %s, version = version + 1, "
        "updated_at = %s WHERE id = %s AND version = %s"
    )
    if not session.allow_amend:  # after submission, drafts are only for amendments
        sql += " AND submitted_at IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                db_value(RatingTask, "draft", clean),
                db_value(RatingTask, "updated_at", timezone.now()),
                task.pk,
                version,
            ],
        )
        updated = cursor.rowcount
    if not updated:
        current = RatingTask.objects.get(pk=task.pk)
        if current.submitted_at is not None and not session.allow_amend:
            raise AlreadySubmittedError(
                "This item is submitted and this session does not allow amendments."
            )
        if current.draft == clean:
            return current.version
        raise StaleVersionError(
            "This item was changed in another window or tab. The newer version has been kept "
            "and is shown now.",
            version=current.version,
            draft=current.draft,
        )
    # Where the rater is is normally recorded when the item page opens; a save through the
    # API alone records it here. Either way an autosave on the current item is one statement.
    rating_task_open(task=task)
    return version + 1


@dataclass(frozen=True)
class SubmitResult:
    status: str  # "submitted", "amended" or "unchanged"
    version: int
    replayed: bool
    scores: dict[str, Any]


def rating_submit(
    *,
    task: RatingTask,
    token: uuid.UUID,
    version: int,
    actor: User,
    scores: Any = None,
) -> SubmitResult:
    """Submit (or amend) the scores of ``task``: the given ``scores``, else the stored draft.

    Idempotent: a retry with the same ``token`` returns the stored result without writing.
    ``version`` must be the stored version (what the rater reviewed); otherwise
    :class:`StaleVersionError`. All scores of the item are written in one transaction, so an
    item is either completely stored or not at all.
    """
    session = task.assignment.session
    if session.instrument != Instrument.LIKERT:
        return _judgment_submit(task=task, token=token, version=version, actor=actor, answer=scores)
    domains = session_domains_cached(session)
    try:
        if (
            session.status == RatingSession.Status.OPEN
            and task.submitted_at is None
            and task.version == version
            and task.last_token != token
        ):
            result = _submit_first(task, token, version, scores, domains, session.study)
            if result is not None:
                return result
        with transaction.atomic():
            locked = RatingTask.objects.select_for_update().get(pk=task.pk)
            if locked.last_token == token:
                return SubmitResult(
                    status="submitted" if locked.submitted_at else "unchanged",
                    version=locked.version,
                    replayed=True,
                    scores=dict(locked.draft),
                )
            _check_open(session)
            if locked.version != version:
                raise StaleVersionError(
                    "This item was changed in another window or tab since you reviewed it. "
                    "The newer version has been kept; review it again before submitting.",
                    version=locked.version,
                    draft=locked.draft,
                )
            final = _validate_scores(
                locked.draft if scores is None else scores, domains, session.study, complete=True
            )
            rater_id = task.assignment.rater_id
            reading_id = task.item.reading_id
            now = timezone.now()
            if locked.submitted_at is None:
                LikertScore.objects.bulk_create(
                    LikertScore(
                        rater_id=rater_id,
                        reading_id=reading_id,
                        domain=d,
                        score=final[d.key],
                        source=LikertScore.Source.ENTERED,
                    )
                    for d in domains
                )
                locked.submitted_at = now
                status = "submitted"
            else:
                if not session.allow_amend:
                    raise AlreadySubmittedError(
                        "This item is already submitted and this session does not allow amendments."
                    )
                status = _amend(locked, rater_id, reading_id, domains, final, actor, token)
                if status == "amended":
                    audit_record(
                        action="likert_scores_amended",
                        actor=actor,
                        study=session.study,
                        target=f"rating item {task.item.public_id}",
                        details={"rater": task.assignment.rater.code, "session": session.pk},
                    )
            locked.draft = final
            locked.version = locked.version + 1
            locked.last_token = token
            locked.save(
                update_fields=["draft", "version", "last_token", "submitted_at", "updated_at"]
            )
            RatingAssignment.objects.filter(pk=task.assignment_id).update(
                last_task_id=task.pk, last_activity_at=now
            )
    except IntegrityError as exc:
        raise AlreadySubmittedError(
            "Scores for this output are already stored for you (for example imported ones); "
            "nothing was changed. Please tell the study coordinator."
        ) from exc
    return SubmitResult(status=status, version=locked.version, replayed=False, scores=final)


def _submit_first(
    task: RatingTask,
    token: uuid.UUID,
    version: int,
    scores: Any,
    domains: Sequence[LikertDomain],
    study: Study,
) -> SubmitResult | None:
    """The common case, a first submission of the version the rater reviewed: one conditional
    UPDATE that claims the task (no row lock taken beforehand), the INSERT of the scores and
    the assignment's UPDATE, in one transaction (on PostgreSQL one statement). ``None`` when
    the task changed meanwhile (then the caller takes the locked path, which answers replays,
    stale versions and amendments). The UPDATE holds the row lock until commit, so two
    concurrent submissions of the same task cannot both pass."""
    final = _validate_scores(
        task.draft if scores is None else scores, domains, study, complete=True
    )
    now = timezone.now()
    at = db_value(RatingTask, "submitted_at", now)
    claim = (
        f"UPDATE {quoted_table(RatingTask)} SET draft = %s, version = %s, last_token = %s, "
        "submitted_at = %s, updated_at = %s WHERE id = %s AND version = %s AND submitted_at IS NULL"
    )
    claim_params = [
        db_value(RatingTask, "draft", final),
        version + 1,
        db_value(RatingTask, "last_token", token),
        at,
        at,
        task.pk,
        version,
    ]
    # All scores of the item in one INSERT; the unique (rater, reading, domain) constraint
    # refuses a second copy, whatever path tried to write it.
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(domains))
    score_params = [
        v
        for d in domains
        for v in (
            task.assignment.rater_id,
            task.item.reading_id,
            d.pk,
            final[d.key],
            LikertScore.Source.ENTERED.value,
            at,
            at,
        )
    ]
    insert = (
        f"INSERT INTO {quoted_table(LikertScore)} "
        "(rater_id, reading_id, domain_id, score, source, created_at, updated_at) "
    )
    touch, touch_params = _assignment_touch(task, now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement, so one round trip and one commit instead of five: the claim, the
            # scores and the assignment succeed or fail together, and the scores and the
            # assignment are only written if the claim took the task. Inside a caller's
            # transaction a savepoint keeps a refused INSERT from aborting it.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                cursor.execute(
                    f"WITH claimed AS ({claim} RETURNING id), "
                    f"scores AS ({insert} SELECT * FROM (VALUES {values}) AS v "
                    "WHERE EXISTS (SELECT 1 FROM claimed)), "
                    f"touched AS ({touch} AND EXISTS (SELECT 1 FROM claimed)) "
                    "SELECT count(*) FROM claimed",
                    [*claim_params, *score_params, *touch_params],
                )
                claimed = cursor.fetchone()[0]
            if claimed != 1:
                return None
        else:
            with transaction.atomic():
                cursor.execute(claim, claim_params)
                if cursor.rowcount != 1:
                    return None
                cursor.execute(f"{insert} VALUES {values}", score_params)
                cursor.execute(touch, touch_params)
    return SubmitResult(status="submitted", version=version + 1, replayed=False, scores=final)


def _amend(
    task: RatingTask,
    rater_id: int,
    reading_id: int,
    domains: Sequence[LikertDomain],
    final: Mapping[str, int],
    actor: User,
    token: uuid.UUID,
) -> str:
    stored = {
        s.domain_id: s
        for s in LikertScore.objects.select_for_update().filter(
            rater_id=rater_id, reading_id=reading_id, domain__in=domains
        )
    }
    changes: list[ScoreAmendment] = []
    for d in domains:
        score = stored.get(d.pk)
        new = final[d.key]
        if score is None:
            raise AlreadySubmittedError(
                f"{d.label}: the submitted score is missing; please tell the study coordinator."
            )
        if score.score != new:
            changes.append(
                ScoreAmendment(
                    score=score,
                    task=task,
                    user=actor,
                    username=actor.get_username(),
                    before=score.score,
                    after=new,
                    token=token,
                )
            )
            score.score = new
            score.save(update_fields=["score", "updated_at"])
    ScoreAmendment.objects.bulk_create(changes)
    return "amended" if changes else "unchanged"


# --------------------------------------------------------------------------------------
# Pairwise preference and acceptability in rating sessions
#
# The draft of a pairwise task holds the choice as the rater saw it, by position: ``left``,
# ``tie`` or ``right`` (the page labels them "A" and "B"), with the optional ``strength``
# (1-5) and ``comment``. Only the stored PairwisePreference translates it into the canonical
# outputs A/B through the item's recorded ``left``. An acceptability draft holds ``grade``.

PAIRWISE_POSITIONS = ("left", "tie", "right")
MAX_COMMENT = 2000


#: Most errors one rater may mark in one text.
MAX_ERRORS = 50
ERROR_FIELDS = ("category", "significant", "start", "end", "comment")
#: How JSON and a form's checkbox say yes and no.
YES: tuple[Any, ...] = (True, "1", "true", "on")
NO: tuple[Any, ...] = (None, "", False, "0", "false")


def _as_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _comment(raw: Any, field: str) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_COMMENT:
        raise ScoresInvalidError(
            f"{field}: must be text of at most {MAX_COMMENT} characters", field=field
        )
    return raw.strip()


def _validate_errors(
    raw: Mapping[str, Any], *, session: RatingSession, item: RatingItem | None, complete: bool
) -> dict[str, Any]:
    """An error-annotation answer: ``no_errors`` (true) or ``errors``, a list of
    ``{category, significant, start, end, comment}`` (``start``/``end`` optional character
    offsets into the shown text, ``start < end``; a missed finding has no span)."""
    categories = error_taxonomy(session.study).categories
    flag = raw.get("no_errors")
    if flag not in YES and flag not in NO:
        raise ScoresInvalidError("no_errors: must be true or false", field="no_errors")
    no_errors = flag in YES
    errors = raw.get("errors") or []
    if not isinstance(errors, list) or len(errors) > MAX_ERRORS:
        raise ScoresInvalidError(
            f"errors: must be a list of at most {MAX_ERRORS} errors", field="errors"
        )
    length = len(item.display_text) if item is not None else None
    clean: list[dict[str, Any]] = []
    for n, error in enumerate(errors, start=1):
        where = f"errors[{n}]"
        if not isinstance(error, Mapping):
            raise ScoresInvalidError(f"{where}: expected an object", field="errors")
        unknown = sorted(str(k) for k in error if k not in ERROR_FIELDS)
        if unknown:
            raise ScoresInvalidError(
                f"{where}.{unknown[0]}: not a field of an error", field="errors"
            )
        category = error.get("category")
        if category not in categories:
            raise ScoresInvalidError(
                f"{where}.category: must be one of {list(categories)}", field="errors"
            )
        significant = error.get("significant", False)
        if significant not in (True, False, 0, 1):
            raise ScoresInvalidError(f"{where}.significant: must be true or false", field="errors")
        row: dict[str, Any] = {"category": category, "significant": bool(significant)}
        start, end = _as_int(error.get("start")), _as_int(error.get("end"))
        if start is not None or end is not None:
            if (
                isinstance(start, bool)
                or isinstance(end, bool)
                or not isinstance(start, int)
                or not isinstance(end, int)
                or not 0 <= start < end
                or (length is not None and end > length)
            ):
                raise ScoresInvalidError(
                    f"{where}: start and end must be offsets into the text with start < end"
                    + (f" <= {length}" if length is not None else ""),
                    field="errors",
                )
            row["start"], row["end"] = start, end
        if error.get("comment") not in (None, ""):
            row["comment"] = _comment(error["comment"], f"{where}.comment")
        clean.append(row)
    if no_errors and clean:
        raise ScoresInvalidError(
            "no_errors: marked errors and 'no errors' together; remove one", field="no_errors"
        )
    if complete and not no_errors and not clean:
        raise ScoresInvalidError(
            "errors: mark at least one error, or choose 'no errors'", field="errors"
        )
    out: dict[str, Any] = {}
    if no_errors:
        out["no_errors"] = True
    if clean:
        out["errors"] = clean
    return out


def _validate_judgment(
    raw: Any, *, session: RatingSession, complete: bool, item: RatingItem | None = None
) -> dict[str, Any]:
    """The clean answer of a pairwise, acceptability or error task; :class:`ScoresInvalidError`
    naming the field when it is not valid (``complete``: every required answer given;
    ``item``: the task's item, whose text bounds the error spans)."""
    if not isinstance(raw, Mapping):
        raise ScoresInvalidError("scores: expected an object", field="scores")
    allowed = {
        Instrument.PAIRWISE: {"choice", "strength", "comment"},
        Instrument.ERRORS: {"no_errors", "errors"},
    }.get(Instrument(session.instrument), {"grade"})
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise ScoresInvalidError(
            f"scores.{unknown[0]}: not an answer of this session", field=unknown[0]
        )
    if session.instrument == Instrument.ERRORS:
        return _validate_errors(raw, session=session, item=item, complete=complete)
    out: dict[str, Any] = {}
    if session.instrument == Instrument.PAIRWISE:
        choice = raw.get("choice")
        if choice in (None, ""):
            if complete:
                raise ScoresInvalidError(
                    "choice: choose A better, equivalent or B better", field="choice"
                )
        elif choice not in PAIRWISE_POSITIONS:
            raise ScoresInvalidError(
                f"choice: must be one of {list(PAIRWISE_POSITIONS)}", field="choice"
            )
        else:
            out["choice"] = choice
        strength = _as_int(raw.get("strength"))
        if strength not in (None, ""):
            if (
                isinstance(strength, bool)
                or not isinstance(strength, int)
                or not 1 <= strength <= 5
            ):
                raise ScoresInvalidError(
                    "strength: must be a whole number from 1 to 5", field="strength"
                )
            out["strength"] = strength
        if raw.get("comment") not in (None, ""):
            out["comment"] = _comment(raw["comment"], "comment")
        return out
    grade = raw.get("grade")
    scale = acceptability_scale(session.study)
    if grade in (None, ""):
        if complete:
            raise ScoresInvalidError("grade: choose a grade", field="grade")
        return out
    grade = _as_int(grade)
    if isinstance(grade, bool) or grade not in scale.labels:
        raise ScoresInvalidError(f"grade: must be one of {scale.values}", field="grade")
    out["grade"] = grade
    return out


def _canonical_choice(item: RatingItem, position: str) -> str:
    """The stored choice (``a``/``tie``/``b``) of a positional one, by the item's ``left``."""
    if position == "tie":
        return PreferenceChoice.TIE
    on_left = item.left or "a"
    if position == "left":
        return on_left
    return "b" if on_left == "a" else "a"


def _single_target(task: RatingTask) -> dict[str, Any]:
    """Which stored judgments an acceptability or error task writes: the rater's of the
    item's output, or of the case's reference impression (reading NULL)."""
    item = task.item
    if item.reference:
        return {
            "rater_id": task.assignment.rater_id,
            "case_id": item.reading.case_id,
            "reading_id": None,
        }
    return {"rater_id": task.assignment.rater_id, "reading_id": item.reading_id}


def _judgment_row(
    task: RatingTask, *, lock: bool
) -> PairwisePreference | AcceptabilityGrade | None:
    session = task.assignment.session
    item = task.item
    rater_id = task.assignment.rater_id
    found: Any
    if session.instrument == Instrument.PAIRWISE:
        # reading_b_id None filters on IS NULL: the comparison with the reference impression.
        found = PairwisePreference.objects.filter(
            rater_id=rater_id, reading_a_id=item.reading_id, reading_b_id=item.reading_b_id
        )
    else:
        found = AcceptabilityGrade.objects.filter(**_single_target(task))
    if lock:
        found = found.select_for_update()
    return found.first()


def _errors_write(task: RatingTask, answer: Mapping[str, Any], *, replace: bool) -> None:
    """Store an error answer as ErrorAnnotation rows (source "entered"): one ``none`` row for
    "no errors", else one row per error. An amendment (``replace``) deletes the rows of the
    first answer first (the JudgmentAmendment keeps both answers); a first answer refuses
    when the rater already has annotations of this text (e.g. imported)."""
    target = _single_target(task)
    stored = ErrorAnnotation.objects.filter(**target)
    if replace:
        stored.delete()
    elif stored.exists():
        raise AlreadySubmittedError(
            "Error annotations of this text are already stored for you (for example imported "
            "ones); nothing was changed. Please tell the study coordinator."
        )
    rows = answer.get("errors") or [{"category": NO_ERRORS, "significant": False}]
    ErrorAnnotation.objects.bulk_create(
        ErrorAnnotation(
            rater_id=target["rater_id"],
            case_id=task.item.reading.case_id,
            reading_id=target["reading_id"],
            category=row["category"],
            significant=row["significant"],
            start=row.get("start"),
            end=row.get("end"),
            comment=row.get("comment", ""),
            source=ScoreSource.ENTERED,
        )
        for row in rows
    )


def _stored_answer(
    task: RatingTask, row: PairwisePreference | AcceptabilityGrade | None
) -> dict[str, Any]:
    """The submitted answer of ``task`` as its draft would hold it, read back from the stored
    judgment ``row`` (pairwise, acceptability) or the rater's error annotations."""
    session = task.assignment.session
    if session.instrument == Instrument.ERRORS:
        rows = list(
            ErrorAnnotation.objects.select_for_update()
            .filter(**_single_target(task))
            .order_by("id")
            .values(*ERROR_FIELDS)
        )
        if any(r["category"] == NO_ERRORS for r in rows):
            return {"no_errors": True}
        return {
            "errors": [
                {
                    "category": r["category"],
                    "significant": r["significant"],
                    **({"start": r["start"], "end": r["end"]} if r["start"] is not None else {}),
                    **({"comment": r["comment"]} if r["comment"] else {}),
                }
                for r in rows
            ]
        }
    if isinstance(row, AcceptabilityGrade):
        return {"grade": row.grade}
    if row is None:
        return {}
    on_left = task.item.left or "a"
    position = "tie" if row.choice == "tie" else ("left" if row.choice == on_left else "right")
    out: dict[str, Any] = {"choice": position}
    if row.strength is not None:
        out["strength"] = row.strength
    if row.comment:
        out["comment"] = row.comment
    return out


def _judgment_write(
    task: RatingTask, answer: Mapping[str, Any], row: PairwisePreference | AcceptabilityGrade | None
) -> None:
    session = task.assignment.session
    item = task.item
    if session.instrument == Instrument.PAIRWISE:
        fields = {
            "choice": _canonical_choice(item, answer["choice"]),
            "strength": answer.get("strength"),
            "comment": answer.get("comment", ""),
            "left": item.left,
        }
        if row is None:
            PairwisePreference.objects.create(
                rater_id=task.assignment.rater_id,
                case_id=item.reading.case_id,
                reading_a_id=item.reading_id,
                reading_b_id=item.reading_b_id,
                source=ScoreSource.ENTERED,
                **fields,
            )
            return
    else:
        fields = {"grade": answer["grade"]}
        if row is None:
            AcceptabilityGrade.objects.create(
                **{**_single_target(task), "case_id": item.reading.case_id},
                source=ScoreSource.ENTERED,
                **fields,
            )
            return
    for key, value in fields.items():
        setattr(row, key, value)
    row.save(update_fields=[*fields, "updated_at"])


def _judgment_submit(
    *, task: RatingTask, token: uuid.UUID, version: int, actor: User, answer: Any
) -> SubmitResult:
    """:func:`rating_submit` of a pairwise or acceptability task: the first submission writes
    a PairwisePreference or AcceptabilityGrade (source "entered"); an amendment (when the
    session allows it) changes that row and adds a :class:`JudgmentAmendment` with the answer
    before and after. Idempotent by ``token``; ``version`` must be the stored one."""
    session = task.assignment.session
    try:
        with transaction.atomic():
            locked = RatingTask.objects.select_for_update().get(pk=task.pk)
            if locked.last_token == token:
                return SubmitResult(
                    status="submitted" if locked.submitted_at else "unchanged",
                    version=locked.version,
                    replayed=True,
                    scores=dict(locked.draft),
                )
            _check_open(session)
            if locked.version != version:
                raise StaleVersionError(
                    "This item was changed in another window or tab since you reviewed it. "
                    "The newer version has been kept; review it again before submitting.",
                    version=locked.version,
                    draft=locked.draft,
                )
            final = _validate_judgment(
                locked.draft if answer is None else answer,
                session=session,
                complete=True,
                item=task.item,
            )
            errors = session.instrument == Instrument.ERRORS
            now = timezone.now()
            if locked.submitted_at is None:
                if errors:
                    _errors_write(task, final, replace=False)
                else:
                    _judgment_write(task, final, None)
                locked.submitted_at = now
                status = "submitted"
            else:
                if not session.allow_amend:
                    raise AlreadySubmittedError(
                        "This item is already submitted and this session does not allow amendments."
                    )
                row = None if errors else _judgment_row(task, lock=True)
                if row is None and not errors:
                    raise AlreadySubmittedError(
                        "The submitted answer is missing; please tell the study coordinator."
                    )
                # What is stored, not the draft: autosave has already put the new answer there.
                before = _stored_answer(task, row)
                if before == final:
                    status = "unchanged"
                else:
                    if errors:
                        _errors_write(task, final, replace=True)
                    else:
                        _judgment_write(task, final, row)
                    JudgmentAmendment.objects.create(
                        task=locked,
                        user=actor,
                        username=actor.get_username(),
                        before=before,
                        after=final,
                        token=token,
                    )
                    audit_record(
                        action=f"{session.instrument}_judgment_amended",
                        actor=actor,
                        study=session.study,
                        target=f"rating item {task.item.public_id}",
                        details={"rater": task.assignment.rater.code, "session": session.pk},
                    )
                    status = "amended"
            locked.draft = final
            locked.version = locked.version + 1
            locked.last_token = token
            locked.save(
                update_fields=["draft", "version", "last_token", "submitted_at", "updated_at"]
            )
            RatingAssignment.objects.filter(pk=task.assignment_id).update(
                last_task_id=task.pk, last_activity_at=now
            )
    except IntegrityError as exc:
        raise AlreadySubmittedError(
            "A judgment of these outputs is already stored for you (for example an imported "
            "one); nothing was changed. Please tell the study coordinator."
        ) from exc
    return SubmitResult(status=status, version=locked.version, replayed=False, scores=final)


# ----------------------------------------------------------------------------- LLM judges


@dataclass(frozen=True)
class JudgeOptions:
    """How a new LLM judge is asked (``judge_config_create``); see ``JudgeConfig``."""

    code: str
    base_url: str
    model_name: str
    api_key_env: str = ""
    prompt_template: str = ""  # empty: the default template (Likert)
    pairwise_template: str = ""  # empty: the default pairwise template
    acceptability_template: str = ""  # empty: the default acceptability template
    temperature: float = 0.0
    runs: int = 1
    concurrency: int = 4
    max_attempts: int = 5
    max_tokens: int = 400
    price_input_per_1k: str = "0"
    price_output_per_1k: str = "0"


def judge_config_create(*, study: Study, options: JudgeOptions, actor: User | None) -> JudgeConfig:
    """A rater of kind ``model`` and its judge configuration, checked all at once.

    Raises ``ValidationError`` naming every bad field (the code already used, a base URL or
    key variable the settings do not allow, a template with unknown placeholders).
    """
    config = JudgeConfig(
        study=study,
        base_url=options.base_url,
        api_key_env=options.api_key_env,
        model_name=options.model_name,
        temperature=options.temperature,
        runs=options.runs,
        concurrency=options.concurrency,
        max_attempts=options.max_attempts,
        max_tokens=options.max_tokens,
        price_input_per_1k=Decimal(options.price_input_per_1k),
        price_output_per_1k=Decimal(options.price_output_per_1k),
    )
    templates = {
        "prompt_template": (options.prompt_template, Instrument.LIKERT),
        "pairwise_template": (options.pairwise_template, Instrument.PAIRWISE),
        "acceptability_template": (options.acceptability_template, Instrument.ACCEPTABILITY),
    }
    for name, (template, _) in templates.items():
        if template:
            setattr(config, name, template)
    errors: dict[str, list[str]] = {}
    if not options.code.strip():
        errors["code"] = ["a judge needs a rater code"]
    elif Rater.objects.filter(study=study, code=options.code).exists():
        errors["code"] = [f"the study already has a rater {options.code}"]
    for name, problem in Connection.of(config).problems_by_field().items():
        errors.setdefault(name, []).append(problem)
    try:
        validate_base_url(options.base_url)
    except ValidationError as exc:
        errors.setdefault("base_url", []).extend(exc.messages)
    for name, (_, instrument) in templates.items():
        template_problems = judge_template_problems(getattr(config, name), instrument=instrument)
        if template_problems:
            errors[name] = template_problems
    try:
        config.full_clean(exclude=["rater", "study"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        config.rater = Rater.objects.create(study=study, code=options.code, kind=Rater.Kind.MODEL)
        config.save()
        audit_record(
            action="judge_config_create",
            actor=actor,
            study=study,
            target=f"judge {options.code}",
            details={"model": options.model_name, "runs": options.runs},
        )
    return config


def judge_run(
    *, config: JudgeConfig, session: RatingSession, actor: User | None, run: int | None = None
) -> JudgeSummary:
    """Let the judge answer every item of ``session`` not yet answered (``run``: one run, None:
    all of ``config.runs``); resumable, see :mod:`evaluation.judges`. Raises ``JudgeError``
    or ``ConnectionSettingsError``; nothing is sent then."""
    summary = judge_execute(config=config, session=session, run=run)
    audit_record(
        action="judge_run",
        actor=actor,
        study=session.study,
        target=f"judge {config.rater.code} on session {session.pk}",
        details={"runs": list(summary.runs), "counts": summary.counts, "skipped": summary.skipped},
    )
    return summary


def judge_dispatch(*, config: JudgeConfig, session: RatingSession, run: int | None = None) -> str:
    """Start a judge run: to the Celery worker when ``GENERATION_DISPATCH`` is ``celery``,
    else in this process (as generation does without a broker). Returns the mode."""
    from evaluation.tasks import judge_run_task  # the task module imports this one

    if getattr(settings, "GENERATION_DISPATCH", "inline") == "celery":
        judge_run_task.delay(config.pk, session.pk, run)
        return "celery"
    judge_run_task.apply(args=(config.pk, session.pk, run))
    return "inline"
