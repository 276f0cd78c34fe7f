"""Adding raters to a Likert rating session that is a draft or open, never changing what
someone already scored.

Each added rater gets every item of the session (the raters already in it keep their items,
orders, drafts and scores), in an order from the session's seed keyed by the rater's code
(``rater_orders`` with the rater alone: the same order a session of every item would give
them), or in the session's order when it is fixed. A rater who already scored one of the
session's outputs on its domains, or has it pending in another open session, is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from evaluation.models import Instrument, Rater, RatingAssignment, RatingSession, RatingTask
from evaluation.services import (
    RatingError,
    SessionConflictError,
    _conflicts,
    rater_for_user,
    rater_orders,
)
from readerstudy.audit.services import audit_record


def rating_session_add_raters(
    *, session: RatingSession, raters: Sequence[Rater], actor: Any = None
) -> list[Rater]:
    """Give ``raters`` every item of a draft or open Likert session; returns them.

    Raises ``RatingError`` naming the field (closed session, another instrument, a rater of
    another study, without an account or already in the session) and
    ``SessionConflictError`` when a rater scored an output of the session already."""
    session.refresh_from_db(fields=["status"])  # the stored status, not a stale copy's
    if session.status == RatingSession.Status.CLOSED:
        raise RatingError("raters: the session is closed", field="raters")
    if session.instrument != Instrument.LIKERT:
        raise RatingError(
            "raters: raters are only added to Likert sessions (the others balance sides "
            "over the raters chosen at creation)",
            field="raters",
        )
    if not raters:
        raise RatingError("raters: choose at least one rater", field="raters")
    if any(r.study_id != session.study_id for r in raters):
        raise RatingError("raters: choose raters of this study", field="raters")
    unlinked = [r.code for r in raters if r.user_id is None]
    if unlinked:
        raise RatingError(
            f"raters: no user account is linked to {', '.join(unlinked)}", field="raters"
        )
    present = set(session.assignments.values_list("rater_id", flat=True))
    already = [r.code for r in raters if r.pk in present]
    if already:
        raise RatingError(f"raters: already in the session: {', '.join(already)}", field="raters")
    items = list(session.items.order_by("position").values_list("pk", "reading_id"))
    domains = list(session.domains.all())
    pairs = {(r.pk, reading) for r in raters for _, reading in items}
    conflicts = _conflicts(session=session, pairs=pairs, domains=domains)
    if conflicts:
        detail = "; ".join(
            f"{r.code}: {conflicts[r.pk]} output(s)" for r in raters if r.pk in conflicts
        )
        raise SessionConflictError(
            "raters: some raters already scored (or have pending in an open session) outputs "
            f"of this session on its domains ({detail})",
            field="raters",
        )
    with transaction.atomic():
        tasks: list[RatingTask] = []
        for rater in raters:
            order = rater_orders(
                seed=session.seed,
                n_items=len(items),
                raters=[rater.code],
                raters_per_item=1,
                order=session.order,
            )[rater.code]
            assignment = RatingAssignment.objects.create(session=session, rater=rater)
            tasks.extend(
                RatingTask(assignment=assignment, item_id=items[p][0], position=i)
                for i, p in enumerate(order)
            )
        RatingTask.objects.bulk_create(tasks, batch_size=5000)
        audit_record(
            action="rating_session_raters_added",
            actor=actor,
            study=session.study,
            target=f"rating session {session.pk}",
            details={
                "raters": sorted(r.code for r in raters),
                "items_each": len(items),
                "status": session.status,
            },
        )
    return list(raters)


def rating_session_add_rater_users(
    *, session: RatingSession, users: Sequence[Any], actor: Any = None
) -> list[Rater]:
    """:func:`rating_session_add_raters` for rater accounts: their rater profiles are linked
    or created in the same transaction (a refusal leaves nothing behind)."""
    with transaction.atomic():
        raters = [rater_for_user(study=session.study, user=u) for u in users]
        return rating_session_add_raters(session=session, raters=raters, actor=actor)
