"""Blinded reading sessions: who reads which cases, in which order, seeing what.

A ``ReadingSession`` belongs to one study and targets one ``(run, modality)`` of the study's
readings: what its readers submit becomes ``Reading`` rows with ``source="entered"`` at that
run and modality, so imported readings (usually run 1, modality 1) are never overwritten.
Its cases are listed explicitly (``ReadingSessionCase``); each assigned reader
(``ReadingAssignment``) gets the cases in an order derived from the session's stored seed
(or the session's fixed order), materialised as one ``ReadingWork`` row per case with the
server-side timing. Every submit attempt is logged (``ReadingSubmission``, keyed by the
form's idempotency token), and every change of a submitted answer keeps its before/after
values (``ReadingAmendment``). What a reader has typed but not submitted is autosaved as a
``ReadingDraft`` of the work item, seen only by that reader and cleared by the submit.

Cross-table rules (a session's cases, readers and assistant belong to its study; a work
item's case is one of its session's cases; its reading is its reader's reading of its
case) are database triggers created by migration ``0005_reading_sessions``.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from readerstudy.core.db.triggers import Rule
from readerstudy.core.sessions import SessionBase, SessionStatus, session_constraints
from readerstudy.studies.models import Case


def assignment_token() -> str:
    """An opaque, unguessable id for an assignment's URLs."""
    return secrets.token_urlsafe(16)


class ReadingDesign(models.Model):
    """A crossover of two conditions over the same cases: unaided, then aided (or the reverse).

    It owns two reading sessions (``sessions``; each a modality of the study) with the same
    cases and readers. Each reader's assignment carries the ``period`` (1 or 2) in which they
    read that condition: counterbalanced (half the readers start aided, chosen from ``seed``)
    or fixed (everyone starts unaided). A reader's period-2 session opens for them only
    ``washout_days`` after their last reading in period 1.
    """

    class ConditionOrder(models.TextChoices):
        """How the order of the two conditions is set per reader (stored as ``counterbalance``)."""

        COUNTERBALANCED = "counterbalanced", "Counterbalanced: half the readers start aided"
        FIXED = "fixed", "Fixed: every reader starts unaided"

    study = models.ForeignKey(
        "readerstudy.Study", on_delete=models.CASCADE, related_name="reading_designs"
    )
    name = models.CharField(max_length=200)
    washout_days = models.PositiveSmallIntegerField(default=28)
    counterbalance = models.BooleanField(
        default=True, help_text="Half the readers start aided (seeded); else all start unaided."
    )
    seed = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "readerstudy"
        ordering = ["study", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="readingdesign_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def session_name(name: str, condition: str) -> str:
        """The name of the design's session of ``condition`` (``unaided`` or ``aided``)."""
        return f"{name} — {condition}"


class ReadingSession(SessionBase):
    """A set of cases read by a set of human readers under stated conditions.

    The shared fields, states (``Status`` = ``SessionStatus``), orders (``Order`` =
    ``SessionOrder``: random per reader, or the session's case order) and rules are
    ``readerstudy.core.sessions.SessionBase``'s. Reading sessions show images by default and
    can be re-opened after they are closed.
    """

    TRANSITIONS = {
        SessionStatus.OPEN: (SessionStatus.DRAFT, SessionStatus.CLOSED),
        SessionStatus.CLOSED: (SessionStatus.OPEN,),
    }

    study = models.ForeignKey(
        "readerstudy.Study", on_delete=models.CASCADE, related_name="reading_sessions"
    )
    split = models.CharField(max_length=10, default="test")
    run = models.PositiveSmallIntegerField(default=1)
    modality = models.PositiveSmallIntegerField(
        default=1, help_text="The test condition the session's readings are stored under."
    )
    show_images = models.BooleanField(default=True)
    require_impression = models.BooleanField(default=True)
    assist_reader = models.ForeignKey(
        "readerstudy.Reader",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="AI-assisted session: readers see this model's consensus category and impression.",
    )
    ai_draft = models.BooleanField(
        default=False,
        help_text="AI output as editable draft: the impression starts as the model's impression.",
    )
    design = models.ForeignKey(
        ReadingDesign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sessions",
        help_text="The crossover design this session is a condition of.",
    )

    class Meta:
        app_label = "readerstudy"
        ordering = ["study", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="readingsession_unique_name"),
            *session_constraints(
                status="readingsession_status_valid",
                order="readingsession_order_valid",
                seed="readingsession_seed_valid",
                opened="readingsession_opened_when_started",
                closed="readingsession_closed_at_when_closed",
            ),
            models.CheckConstraint(
                condition=Q(split__in=Case.Split.values), name="readingsession_split_valid"
            ),
            models.CheckConstraint(condition=Q(run__gte=1), name="readingsession_run_positive"),
            models.CheckConstraint(
                condition=Q(modality__gte=1), name="readingsession_modality_positive"
            ),
        ]


class ReadingSessionCase(models.Model):
    """A case read in a session; ``position`` is the session's (fixed) case order."""

    session = models.ForeignKey(ReadingSession, on_delete=models.CASCADE, related_name="cases")
    case = models.ForeignKey("readerstudy.Case", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        app_label = "readerstudy"
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(fields=["session", "case"], name="readingsessioncase_unique"),
            models.UniqueConstraint(
                fields=["session", "position"], name="readingsessioncase_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} #{self.position}"


class ReadingAssignment(models.Model):
    """A human reader's part in a session; its URLs use the opaque ``token``."""

    session = models.ForeignKey(
        ReadingSession, on_delete=models.CASCADE, related_name="assignments"
    )
    reader = models.ForeignKey(
        "readerstudy.Reader", on_delete=models.CASCADE, related_name="reading_assignments"
    )
    token = models.CharField(max_length=32, unique=True, default=assignment_token)
    created_at = models.DateTimeField(auto_now_add=True)
    period = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="In a crossover design: 1 or 2, when this reader reads it."
    )

    class Meta:
        app_label = "readerstudy"
        ordering = ["session", "reader__position", "reader__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "reader"], name="readingassignment_unique_reader"
            ),
            models.CheckConstraint(
                condition=Q(period__isnull=True) | Q(period__in=[1, 2]),
                name="readingassignment_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader.code} in {self.session}"


class ReadingWork(models.Model):
    """One case in one reader's order, with its server timing and the submitted reading.

    ``version`` counts the saved changes (0 = nothing submitted yet); the reading form
    carries it, so a submit based on an older version is detected as a conflict.
    """

    assignment = models.ForeignKey(ReadingAssignment, on_delete=models.CASCADE, related_name="work")
    case = models.ForeignKey("readerstudy.Case", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(help_text="1-based position in the reader's order")
    opened_at = models.DateTimeField(
        null=True, blank=True, help_text="First time the case page was shown to the reader."
    )
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="First submission.")
    seconds = models.FloatField(
        null=True, blank=True, help_text="Server time from opened to first submitted."
    )
    active_seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="Time the page was visible, focused and in use (reported by the browser).",
    )
    version = models.PositiveIntegerField(default=0)
    draft_shown = models.TextField(
        blank=True, help_text="AI draft session: the model's impression pre-filled in the form."
    )
    edit_chars = models.PositiveIntegerField(
        null=True, blank=True, help_text="Character Levenshtein distance, draft to final text."
    )
    edit_words = models.PositiveIntegerField(
        null=True, blank=True, help_text="Word Levenshtein distance, draft to final text."
    )
    reading = models.OneToOneField(
        "readerstudy.Reading",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="reading_work",
    )

    class Meta:
        app_label = "readerstudy"
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "case"], name="readingwork_unique_case"),
            models.UniqueConstraint(
                fields=["assignment", "position"], name="readingwork_unique_position"
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="readingwork_position_valid"),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True, reading__isnull=True, version=0)
                | Q(submitted_at__isnull=False, reading__isnull=False, version__gte=1),
                name="readingwork_submitted_has_reading",
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True)
                | Q(opened_at__isnull=False, submitted_at__gte=F("opened_at")),
                name="readingwork_submitted_after_opened",
            ),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="readingwork_seconds_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(active_seconds__isnull=True) | Q(active_seconds__gte=0),
                name="readingwork_active_seconds_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment} #{self.position}"

    @property
    def done(self) -> bool:
        return self.submitted_at is not None


class ReadingDraft(models.Model):
    """What the reader has entered on a case but not submitted yet (autosaved by the page).

    Restored into the form when the reader comes back; deleted when a submit is accepted. It
    is the reader's own: no other page, API, export or admin shows it, and it never changes a
    ``Reading`` (only a submit does). ``base_version`` is the work's version the form showed:
    a draft whose base is older than the work's version (the case was saved since, e.g. in
    another tab) is stale and is not restored into the form.
    """

    work = models.OneToOneField(ReadingWork, on_delete=models.CASCADE, related_name="draft")
    base_version = models.PositiveIntegerField()
    category = models.SmallIntegerField(null=True, blank=True)
    probability = models.PositiveSmallIntegerField(null=True, blank=True)
    impression = models.TextField(blank=True)
    active_seconds = models.FloatField(
        null=True, blank=True, help_text="Active reading time the page had counted so far."
    )
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "readerstudy"
        constraints = [
            models.CheckConstraint(
                condition=Q(probability__isnull=True) | Q(probability__lte=100),
                name="readingdraft_probability_valid",
            ),
            models.CheckConstraint(
                condition=Q(active_seconds__isnull=True) | Q(active_seconds__gte=0),
                name="readingdraft_active_seconds_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"draft of {self.work}"


class ReadingSubmission(models.Model):
    """Every submit attempt of a reading form, keyed by its idempotency token.

    A retried submit (same token) finds its row and gets the same outcome again; a
    submit rejected as a conflict is kept here with what the reader entered.
    """

    class Outcome(models.TextChoices):
        SAVED = "saved", "Saved (first answer)"
        AMENDED = "amended", "Amended"
        UNCHANGED = "unchanged", "No change"
        CONFLICT = "conflict", "Rejected: based on an older version"
        REFUSED = "refused", "Rejected: not allowed (session closed or no amendments)"

    token = models.UUIDField(unique=True)
    work = models.ForeignKey(ReadingWork, on_delete=models.CASCADE, related_name="submissions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    base_version = models.PositiveIntegerField()
    version = models.PositiveIntegerField(help_text="The work's version after this attempt.")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    payload = models.JSONField(default=dict, help_text="What the form sent (answer and timing).")

    class Meta:
        app_label = "readerstudy"
        ordering = ["work", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["saved", "amended", "unchanged", "conflict", "refused"]),
                name="readingsubmission_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.token}"


class ReadingAmendment(models.Model):
    """A change to a submitted reading: who, when, the values before and after."""

    work = models.ForeignKey(ReadingWork, on_delete=models.CASCADE, related_name="amendments")
    reading = models.ForeignKey(
        "readerstudy.Reading", on_delete=models.CASCADE, related_name="amendments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, help_text="Username at the time")
    at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(help_text="The work's version after the change.")
    before = models.JSONField()
    after = models.JSONField()
    token = models.UUIDField(default=uuid.uuid4, unique=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["work", "version"]
        constraints = [
            models.UniqueConstraint(fields=["work", "version"], name="readingamendment_unique"),
            models.CheckConstraint(condition=Q(version__gte=2), name="readingamendment_version"),
        ]

    def __str__(self) -> str:
        return f"amendment v{self.version} of {self.work}"


READING_SESSION_RULES = [
    Rule(
        name="readingsession_assist_valid",
        table="readerstudy_readingsession",
        columns=("study_id", "assist_reader_id"),
        violation=(
            "n.assist_reader_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM readerstudy_reader "
            "AS r WHERE r.id = n.assist_reader_id AND r.study_id = n.study_id "
            "AND r.kind = 'model')"
        ),
        message="the assisting reader of a session must be a model of its study",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n JOIN readerstudy_reader AS r "
            "ON r.id = n.assist_reader_id WHERE r.study_id <> n.study_id OR r.kind <> 'model'"
        ),
    ),
    Rule(
        name="readingsessioncase_same_study",
        table="readerstudy_readingsessioncase",
        columns=("session_id", "case_id"),
        violation=(
            "(SELECT study_id FROM readerstudy_case WHERE id = n.case_id) <> "
            "(SELECT study_id FROM readerstudy_readingsession WHERE id = n.session_id)"
        ),
        message="the cases of a reading session must belong to its study",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_case AS c ON c.id = n.case_id "
            "JOIN readerstudy_readingsession AS s ON s.id = n.session_id "
            "WHERE c.study_id <> s.study_id"
        ),
    ),
    Rule(
        name="readingassignment_human_of_study",
        table="readerstudy_readingassignment",
        columns=("session_id", "reader_id"),
        violation=(
            "NOT EXISTS (SELECT 1 FROM readerstudy_reader AS r "
            "JOIN readerstudy_readingsession AS s ON s.study_id = r.study_id "
            "WHERE r.id = n.reader_id AND s.id = n.session_id AND r.kind = 'human')"
        ),
        message="the readers of a reading session must be human readers of its study",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_reader AS r ON r.id = n.reader_id "
            "JOIN readerstudy_readingsession AS s ON s.id = n.session_id "
            "WHERE r.study_id <> s.study_id OR r.kind <> 'human'"
        ),
    ),
    Rule(
        name="readingwork_case_in_session",
        table="readerstudy_readingwork",
        columns=("assignment_id", "case_id"),
        violation=(
            "NOT EXISTS (SELECT 1 FROM readerstudy_readingsessioncase AS sc "
            "JOIN readerstudy_readingassignment AS a ON a.session_id = sc.session_id "
            "WHERE a.id = n.assignment_id AND sc.case_id = n.case_id)"
        ),
        message="a work item must be a case of its reading session",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_readingassignment AS a ON a.id = n.assignment_id "
            "LEFT JOIN readerstudy_readingsessioncase AS sc "
            "ON sc.session_id = a.session_id AND sc.case_id = n.case_id "
            "WHERE sc.id IS NULL"
        ),
    ),
    Rule(
        name="readingwork_reading_matches",
        table="readerstudy_readingwork",
        columns=("assignment_id", "case_id", "reading_id"),
        violation=(
            "n.reading_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM readerstudy_reading AS g "
            "JOIN readerstudy_readingassignment AS a ON a.reader_id = g.reader_id "
            "JOIN readerstudy_readingsession AS s ON s.id = a.session_id "
            "WHERE g.id = n.reading_id AND a.id = n.assignment_id AND g.case_id = n.case_id "
            "AND g.run = s.run AND g.modality = s.modality)"
        ),
        message="the reading of a work item must be by its reader, of its case, in the run and modality of its session",
        pg_violations=(
            "SELECT 1 FROM new_rows AS n "
            "JOIN readerstudy_reading AS g ON g.id = n.reading_id "
            "JOIN readerstudy_readingassignment AS a ON a.id = n.assignment_id "
            "JOIN readerstudy_readingsession AS s ON s.id = a.session_id "
            "WHERE g.reader_id <> a.reader_id OR g.case_id <> n.case_id "
            "OR g.run <> s.run OR g.modality <> s.modality"
        ),
    ),
]
