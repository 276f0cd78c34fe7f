"""The one base of the session kinds (reading sessions, rating sessions).

A session of either kind has a name, a seed, an order (``SessionOrder``), a status
(``SessionStatus``: draft → open → closed), what its people see (``show_*``), whether a
submitted answer may be changed (``allow_amend``), who created it and the times it was
created, changed, opened and closed. ``SessionBase`` holds those fields once; each kind adds
its study foreign key (with its own ``related_name``) and what only it has.

The status changes go through :func:`session_transition`, which enforces the kind's allowed
transitions (``SessionBase.TRANSITIONS``, overridden per kind), sets ``opened_at`` /
``closed_at`` and raises :class:`SessionStateError` when the change is not allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SessionStatus(models.TextChoices):
    """The states of a session of any kind, the one list of them."""

    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SessionOrder(models.TextChoices):
    """The order in which a session's people get its items, the one list of them.

    ``random``: a different order for each person, derived from the session's seed.
    ``fixed``: the same order for everyone (a reading session's case order; a rating
    session's one shuffled order).
    """

    RANDOM = "random", "A different seeded random order for each person"
    FIXED = "fixed", "The same order for everyone"


class SessionStateError(ValueError):
    """The session is not in a state that allows the operation (e.g. it is closed).

    ``message`` is safe to show to the user; ``field`` names the culprit (``status`` unless
    told); ``status`` is the HTTP status of the refusal in the API.
    """

    status = 409

    def __init__(self, message: str, *, field: str = "status") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


#: The verb of a transition to each state, for the messages.
_VERBS = {SessionStatus.OPEN: "opened", SessionStatus.CLOSED: "closed"}


class SessionBase(models.Model):
    """The fields, states and rules every session kind shares (abstract).

    ``show_*`` defaults: the base shows the location only; a kind overrides the field to
    change its default (reading sessions show images, rating sessions the text context).

    ``TRANSITIONS`` maps a target state to the states it may be reached from; a kind
    overrides it (reading sessions can be re-opened, rating sessions can be closed as
    drafts).
    """

    Status = SessionStatus
    Order = SessionOrder

    TRANSITIONS: ClassVar[Mapping[str, tuple[str, ...]]] = {
        SessionStatus.OPEN: (SessionStatus.DRAFT,),
        SessionStatus.CLOSED: (SessionStatus.OPEN,),
    }

    name = models.CharField(max_length=200)
    seed = models.BigIntegerField(help_text="Seed of the session's random choices (exported).")
    order = models.CharField(
        max_length=10, choices=SessionOrder.choices, default=SessionOrder.RANDOM
    )
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.DRAFT
    )
    allow_amend = models.BooleanField(
        default=False, help_text="Submitted answers may be changed (every change is kept)."
    )
    show_location = models.BooleanField(default=True)
    show_clinical_history = models.BooleanField(default=False)
    show_findings = models.BooleanField(default=False)
    show_images = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        study = getattr(self, "study", None)
        return f"{study.slug}: {self.name}" if study is not None else self.name

    @property
    def is_open(self) -> bool:
        return self.status == SessionStatus.OPEN


def session_constraints(
    *, status: str, order: str, seed: str, opened: str, closed: str
) -> list[models.BaseConstraint]:
    """The check constraints every session kind has, under the given (existing) names.

    ``status`` / ``order``: the value is one of the lists; ``seed``: not negative;
    ``opened``: a session that is not a draft has ``opened_at``; ``closed``: a closed
    session has ``closed_at``.
    """
    return [
        models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name=status),
        models.CheckConstraint(condition=Q(order__in=SessionOrder.values), name=order),
        models.CheckConstraint(condition=Q(seed__gte=0), name=seed),
        models.CheckConstraint(
            condition=Q(status="draft") | Q(opened_at__isnull=False), name=opened
        ),
        models.CheckConstraint(
            condition=~Q(status="closed") | Q(closed_at__isnull=False), name=closed
        ),
    ]


def session_transition_check(*, session: SessionBase, to: str) -> None:
    """Raise :class:`SessionStateError` unless ``type(session).TRANSITIONS`` allows moving
    ``session`` to the state ``to`` (for a service that checks more before it changes)."""
    target = SessionStatus(to)
    current = session.status
    allowed = type(session).TRANSITIONS.get(target, ())
    if current == target:
        raise SessionStateError(f"the session is already {target.value}")
    if current not in allowed:
        verb = _VERBS.get(target, f"set to {target.value}")
        sources = " or ".join(f"a{'n' if s == 'open' else ''} {s}" for s in allowed) or "no"
        raise SessionStateError(f"only {sources} session can be {verb}; this one is {current}")


def session_transition(*, session: SessionBase, to: str) -> SessionBase:
    """Move ``session`` to the state ``to`` and save it (the callers audit the change).

    Allowed: what ``type(session).TRANSITIONS`` lists. Opening keeps the first
    ``opened_at`` (a re-opened session) and clears ``closed_at``; closing sets ``closed_at``
    (and ``opened_at`` when a draft is closed, so every non-draft session has it). Raises
    :class:`SessionStateError` (nothing saved) when the change is not allowed.
    """
    session_transition_check(session=session, to=to)
    target = SessionStatus(to)
    now = timezone.now()
    session.status = target
    session.opened_at = session.opened_at or now
    if target == SessionStatus.OPEN:
        session.closed_at = None
    else:
        session.closed_at = now
    session.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])
    return session
