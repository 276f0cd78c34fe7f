"""Likert evaluation of reader and model outputs: domains, raters and scores.

A score is always given by a rater to one reading (one output) on one domain. The rule that
the score lies inside the study's Likert range, and that the rater, reading and domain
belong to the same study, is enforced by database triggers (migration
``0002_integrity_triggers``) besides the forms and the import.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from evaluation.instruments import NO_ERRORS, DomainScale, domain_scale
from readerstudy.core.llm.keys import API_KEY_ENV_PATTERN
from readerstudy.core.sessions import SessionBase, SessionStatus, session_constraints
from readerstudy.studies.models import Case, Reading, Study


class LikertDomain(models.Model):
    """A quality domain rated on the study's Likert scale (e.g. "Specific diagnosis")."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="likert_domains")
    key = models.SlugField(max_length=80)
    label = models.CharField(max_length=200)
    group = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["study", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="likertdomain_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def scale(self) -> DomainScale:
        """This domain's range and anchors (``min``/``max``/``anchors`` of study.toml, kept
        in ``extra``); the study's range and no anchors when it has none."""
        return domain_scale(self.extra, low=self.study.likert_min, high=self.study.likert_max)


class RaterKind(models.TextChoices):
    """Who a rater is (``Rater.Kind``), the one list of them: a person or an LLM judge."""

    HUMAN = "human", "Human"
    MODEL = "model", "Model (LLM judge)"


class Rater(models.Model):
    """A member of the Likert panel, known by a study-local code (e.g. ``rater1``).

    A rater of kind ``model`` is an LLM judge: its :class:`JudgeConfig` says how it is asked.
    """

    Kind = RaterKind

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="raters")
    code = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HUMAN)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rater_profiles",
    )

    class Meta:
        ordering = ["study", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="rater_unique_code"),
            models.UniqueConstraint(
                fields=["study", "user"], condition=Q(user__isnull=False), name="rater_unique_user"
            ),
            models.CheckConstraint(condition=Q(kind__in=RaterKind.values), name="rater_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.code}"


class ScoreSource(models.TextChoices):
    """Where a Likert score came from (``LikertScore.Source``), the one list of them."""

    IMPORTED = "imported", "Imported"
    ENTERED = "entered", "Entered in the rating page"
    JUDGED = "judged", "Given by an LLM judge"


class LikertScore(models.Model):
    """One rater's score of one output (reading) on one domain."""

    Source = ScoreSource

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="scores")
    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="likert_scores")
    domain = models.ForeignKey(LikertDomain, on_delete=models.CASCADE, related_name="scores")
    score = models.SmallIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reading", "domain", "rater"]
        constraints = [
            models.UniqueConstraint(
                fields=["rater", "reading", "domain"], name="likertscore_unique_per_domain"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ScoreSource.values), name="likertscore_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["domain", "reading"], name="likertscore_domain_reading")]

    def __str__(self) -> str:
        return f"{self.rater.code} {self.domain.key}={self.score}"


PUBLIC_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LENGTH = 20


def new_public_id() -> str:
    """An opaque random id for a rating item: 20 characters of [0-9a-z], about 103 bits.

    Letters and digits only, so an id never looks like punctuation-delimited text such as
    "-E" or "_R3" and cannot be mistaken for (or hide) a code in a URL.
    """
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


class Instrument(models.TextChoices):
    """What raters do in a rating session (``RatingSession.instrument``), the one list."""

    LIKERT = "likert", "Likert domains"
    PAIRWISE = "pairwise", "Pairwise preference"
    ACCEPTABILITY = "acceptability", "Acceptability"
    ERRORS = "errors", "Error annotation"


class RatingSession(SessionBase):
    """A blinded Likert rating session: which outputs, which raters, which domains, what context.

    Outputs become :class:`RatingItem` rows with opaque public ids and a normalised display
    text; each rater gets a :class:`RatingAssignment` whose :class:`RatingTask` rows are the
    rater's items in a seeded random (or the session's fixed, also shuffled) order.

    The shared fields, states (``Status`` = ``SessionStatus``), orders (``Order`` =
    ``SessionOrder``) and rules are ``readerstudy.core.sessions.SessionBase``'s. Rating
    sessions show the text context (findings, clinical history) by default, cannot be
    re-opened, and a draft can be closed without being opened.
    """

    TRANSITIONS = {
        SessionStatus.OPEN: (SessionStatus.DRAFT,),
        SessionStatus.CLOSED: (SessionStatus.DRAFT, SessionStatus.OPEN),
    }

    #: Task counts the study hub sets for display (evaluation.templatetags.rating); no column.
    counts: dict[str, int]

    Instrument = Instrument

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="rating_sessions")
    instrument = models.CharField(
        max_length=20, choices=Instrument.choices, default=Instrument.LIKERT
    )
    raters_per_item = models.PositiveSmallIntegerField(default=1)
    show_findings = models.BooleanField(default=True)
    show_clinical_history = models.BooleanField(default=True)
    domains = models.ManyToManyField(LikertDomain, related_name="rating_sessions")
    selection = models.JSONField(
        default=dict, blank=True, help_text="How the outputs were chosen (readers, runs, cases)"
    )

    class Meta:
        ordering = ["study", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="ratingsession_unique_name"),
            *session_constraints(
                status="ratingsession_status",
                order="ratingsession_order",
                seed="ratingsession_seed_nonneg",
                opened="ratingsession_started_when_open",
                closed="ratingsession_closed_at_when_closed",
            ),
            models.CheckConstraint(
                condition=Q(raters_per_item__gte=1), name="ratingsession_raters_per_item"
            ),
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values), name="ratingsession_instrument"
            ),
        ]


class RatingItem(models.Model):
    """One output (reading) in a rating session, as raters see it.

    ``public_id`` is the only handle raters ever get; ``display_text`` is the normalised (and
    possibly redacted) text computed when the item is created, so nothing about the source is
    looked at while a rater works. The reading itself is never changed.

    A pairwise item compares ``reading`` (output A) with ``reading_b`` (output B), or, when
    ``reading_b`` is NULL, with the case's reference impression; ``display_text_b`` is B's
    normalised text and ``left`` records which of A and B the rater sees on the left (drawn
    from the session's seed).

    An acceptability or error-annotation item with ``reference`` set shows the case's
    reference impression, mixed blind with the outputs: its ``reading`` is then only the link
    to the case (an output of the same case in the session) and never the source.
    """

    # Foreign keys covered by a composite unique constraint that leads with them get no index.
    session = models.ForeignKey(
        RatingSession, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    position = models.PositiveIntegerField(help_text="Place in the session's shuffled order")
    display_text = models.TextField()
    reading_b = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    display_text_b = models.TextField(blank=True)
    left = models.CharField(max_length=1, blank=True, help_text="a or b: shown on the left")
    reference = models.BooleanField(
        default=False, help_text="Shows the case's reference impression (reading: the case)"
    )
    leak_flags = models.JSONField(default=list, blank=True)
    leak_dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    leak_dismissed_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "reading"],
                condition=Q(reading_b__isnull=True, reference=False),
                name="ratingitem_unique_reading",
            ),
            models.UniqueConstraint(
                fields=["session", "reading"],
                condition=Q(reference=True),
                name="ratingitem_unique_reference",
            ),
            models.CheckConstraint(
                condition=Q(reference=False) | Q(reading_b__isnull=True, left=""),
                name="ratingitem_reference_single",
            ),
            models.UniqueConstraint(
                fields=["session", "reading", "reading_b"],
                condition=Q(reading_b__isnull=False),
                name="ratingitem_unique_pair",
            ),
            models.CheckConstraint(
                condition=Q(left="") | Q(left__in=["a", "b"]), name="ratingitem_left_valid"
            ),
            models.UniqueConstraint(
                fields=["session", "position"], name="ratingitem_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def leak_unresolved(self) -> bool:
        return bool(self.leak_flags) and self.leak_dismissed_at is None


class RatingAssignment(models.Model):
    """A rater's place in a session: their ordered items and where they left off."""

    session = models.ForeignKey(
        RatingSession, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="assignments")
    last_task = models.ForeignKey(
        "RatingTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "rater"]
        constraints = [
            models.UniqueConstraint(fields=["session", "rater"], name="ratingassignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.rater.code} in {self.session}"


class RatingTask(models.Model):
    """One item in one rater's list: its place, the autosaved draft and the submission state.

    ``version`` increases with every accepted change (draft save, submission, amendment); a
    write that names an older version is refused, so concurrent edits are detected.
    ``last_token`` is the client's idempotency token of the last submission or amendment: a
    retry with the same token returns the stored result instead of writing again.
    """

    assignment = models.ForeignKey(
        RatingAssignment, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    item = models.ForeignKey(RatingItem, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveIntegerField(help_text="Place in the rater's order, from 0")
    draft = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=0)
    last_token = models.UUIDField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["assignment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "item"], name="ratingtask_unique_item"),
            models.UniqueConstraint(
                fields=["assignment", "position"], name="ratingtask_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment.rater.code} #{self.position + 1} ({self.item.public_id})"


class ScoreAmendment(models.Model):
    """One change of a submitted score: who, when, before and after. Rows are only added."""

    score = models.ForeignKey(LikertScore, on_delete=models.CASCADE, related_name="amendments")
    task = models.ForeignKey(
        RatingTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="amendments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, help_text="Username at the time")
    at = models.DateTimeField(auto_now_add=True)
    before = models.SmallIntegerField()
    after = models.SmallIntegerField()
    token = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["score", "at", "id"]

    def __str__(self) -> str:
        return f"{self.score} {self.before}->{self.after} by {self.username}"


DEFAULT_JUDGE_TEMPLATE = """You are one of several expert raters in a blinded study. Rate the \
output below on each domain, on the scale from $low to $high:
$anchors

Domains:
$domains
$context
Output to rate:
\"\"\"
$output
\"\"\"

Answer with one JSON object only, whose keys are the domain keys and whose values are \
integers from $low to $high."""

DEFAULT_PAIRWISE_TEMPLATE = """You are one of several expert raters in a blinded study. Compare \
the two outputs below, written for the same case, and say which one is better overall.
$context
Output 1:
\"\"\"
$first
\"\"\"

Output 2:
\"\"\"
$second
\"\"\"

Answer with one JSON object only: {"choice": "first"} if output 1 is better, \
{"choice": "second"} if output 2 is better, {"choice": "tie"} if they are equivalent."""

DEFAULT_ACCEPTABILITY_TEMPLATE = """You are one of several expert raters in a blinded study. \
Grade the output below on this acceptability scale:
$grades
$context
Output to grade:
\"\"\"
$output
\"\"\"

Answer with one JSON object only: {"grade": N} with N one of the grades above."""


class JudgeConfig(models.Model):
    """How an LLM judge (a rater of kind ``model``) is asked: server, model, prompt, runs.

    The prompt template (``string.Template``) may use ``$output`` (required: the item's
    blinded, normalised text), ``$domains`` (key, label and description of each domain of the
    session), ``$anchors`` (the instrument's scale anchors), ``$context`` (the context the
    session shows human raters: location, clinical history, findings), ``$low`` and ``$high``.
    The answer's JSON schema is derived from the session's domains
    (:func:`evaluation.judges.judge_answer_schema`). A pairwise session uses
    ``pairwise_template`` (``$first``, ``$second``: the two outputs in the order asked, both
    orders are asked; ``$context``), an acceptability session ``acceptability_template``
    (``$output``, ``$grades``: the study's acceptability scale; ``$context``). Keys are never stored: ``api_key_env``
    names an allowed variable (readerstudy.core.llm.keys), the base URL must be allowed
    (readerstudy.core.llm.egress).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="judge_configs")
    rater = models.OneToOneField(Rater, on_delete=models.CASCADE, related_name="judge_config")
    base_url = models.CharField("API base URL", max_length=500)
    api_key_env = models.CharField("API key variable", max_length=100, blank=True)
    model_name = models.CharField(max_length=200)
    prompt_template = models.TextField(default=DEFAULT_JUDGE_TEMPLATE)
    pairwise_template = models.TextField(default=DEFAULT_PAIRWISE_TEMPLATE)
    acceptability_template = models.TextField(default=DEFAULT_ACCEPTABILITY_TEMPLATE)
    temperature = models.FloatField(default=0.0)
    runs = models.PositiveSmallIntegerField(default=1, help_text="Answers per item (run 1 scores)")
    concurrency = models.PositiveSmallIntegerField(default=4)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    max_tokens = models.PositiveIntegerField(default=400)
    timeout_seconds = models.FloatField(default=120.0)
    price_input_per_1k = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    price_output_per_1k = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    #: Judges speak the OpenAI chat API (OpenAI, vLLM, Ollama, ...); see readerstudy.core.llm.
    provider = "openai"
    api_version = ""

    class Meta:
        ordering = ["study", "rater"]
        constraints = [
            models.CheckConstraint(
                condition=Q(api_key_env="") | Q(api_key_env__regex=API_KEY_ENV_PATTERN),
                name="judgeconfig_api_key_env_is_a_name",
            ),
            models.CheckConstraint(
                condition=Q(runs__gte=1) & Q(concurrency__gte=1) & Q(max_attempts__gte=1),
                name="judgeconfig_counts_positive",
            ),
            models.CheckConstraint(
                condition=Q(temperature__gte=0) & Q(temperature__lte=2),
                name="judgeconfig_temperature_range",
            ),
            models.CheckConstraint(
                condition=Q(price_input_per_1k__gte=0) & Q(price_output_per_1k__gte=0),
                name="judgeconfig_prices_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"judge {self.rater.code} ({self.model_name})"


class JudgeAnswerStatus(models.TextChoices):
    """What came back for one item and run (``JudgeAnswer.Status``)."""

    OK = "ok", "Scored"
    REFUSED = "refused", "Refused"
    UNPARSEABLE = "unparseable", "Unparseable"
    ERROR = "error", "Error (no answer after retries; sent again on resume)"


class JudgeOrder(models.TextChoices):
    """In which order a pairwise item's outputs were put to a judge (``JudgeAnswer.order``);
    empty for the other instruments. Every pairwise item is asked both ways."""

    NONE = "", "Not pairwise"
    AB = "ab", "A first"
    BA = "ba", "B first"


class JudgeAnswer(models.Model):
    """One judge's answer to one rating item in one run (and, pairwise, one order), kept
    whatever it was."""

    Status = JudgeAnswerStatus
    Order = JudgeOrder
    #: Outcomes a resumed run does not ask again.
    FINAL = (Status.OK, Status.REFUSED, Status.UNPARSEABLE)

    config = models.ForeignKey(JudgeConfig, on_delete=models.CASCADE, related_name="answers")
    run = models.PositiveSmallIntegerField(default=1)
    item = models.ForeignKey(RatingItem, on_delete=models.CASCADE, related_name="judge_answers")
    order = models.CharField(max_length=2, choices=Order.choices, default="", blank=True)
    raw_response = models.JSONField(null=True, blank=True)
    raw_text = models.TextField(blank=True)
    parsed = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["config", "run", "item__position", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "run", "item", "order"], name="judgeanswer_unique_per_run"
            ),
            models.CheckConstraint(
                condition=Q(order__in=JudgeOrder.values), name="judgeanswer_order_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=JudgeAnswerStatus.values), name="judgeanswer_status_valid"
            ),
            models.CheckConstraint(condition=Q(run__gte=1), name="judgeanswer_run_positive"),
        ]

    def __str__(self) -> str:
        order = f" {self.order}" if self.order else ""
        return (
            f"{self.config.rater.code} run {self.run} {self.item.public_id}{order}: {self.status}"
        )


# ----------------------------------------------------------------------------- judgments
#
# A judgment concerns an output (a Reading) or the case's reference impression: the reading
# is then NULL and the case says which reference. Bundles write the reference as the reader
# id ``reference`` (REFERENCE_READER).

#: The reader id of a bundle's judgment files that means the case's ``reference_impression``.
REFERENCE_READER = "reference"


class PreferenceChoice(models.TextChoices):
    """The outcome of a pairwise comparison, the one list of them."""

    A = "a", "A better"
    TIE = "tie", "Equivalent"
    B = "b", "B better"


class PreferenceSide(models.TextChoices):
    """Which output of a pair was shown on the left."""

    A = "a", "A on the left"
    B = "b", "B on the left"


#: Range of the optional strength of a preference.
STRENGTH_MIN, STRENGTH_MAX = 1, 5


class PairwisePreference(models.Model):
    """One rater's blinded comparison of two outputs of one case (A vs B).

    ``reading_a`` / ``reading_b`` NULL means that side is the case's reference impression
    (at most one side). ``left`` records which side the rater saw on the left.
    """

    Choice = PreferenceChoice
    Side = PreferenceSide
    Source = ScoreSource

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="preferences")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    reading_a = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reading_b = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    choice = models.CharField(max_length=3, choices=Choice.choices)
    left = models.CharField(max_length=1, choices=Side.choices, blank=True)
    strength = models.PositiveSmallIntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "rater", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(choice__in=PreferenceChoice.values), name="preference_choice_valid"
            ),
            models.CheckConstraint(
                condition=Q(left="") | Q(left__in=PreferenceSide.values),
                name="preference_left_valid",
            ),
            models.CheckConstraint(
                condition=Q(strength__isnull=True)
                | Q(strength__gte=STRENGTH_MIN, strength__lte=STRENGTH_MAX),
                name="preference_strength_range",
            ),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="preference_seconds_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(source__in=ScoreSource.values), name="preference_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(reading_a__isnull=False) | Q(reading_b__isnull=False),
                name="preference_one_output",
            ),
            models.CheckConstraint(
                condition=Q(reading_a__isnull=True)
                | Q(reading_b__isnull=True)
                | ~Q(reading_a=models.F("reading_b")),
                name="preference_two_outputs",
            ),
            models.UniqueConstraint(
                fields=["rater", "reading_a", "reading_b"],
                condition=Q(reading_a__isnull=False, reading_b__isnull=False),
                name="preference_unique_pair",
            ),
            models.UniqueConstraint(
                fields=["rater", "case", "reading_a"],
                condition=Q(reading_b__isnull=True),
                name="preference_unique_vs_reference",
            ),
            models.UniqueConstraint(
                fields=["rater", "case", "reading_b"],
                condition=Q(reading_a__isnull=True),
                name="preference_unique_reference_vs",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rater.code} {self.case.code}: {self.choice}"


class AcceptabilityGrade(models.Model):
    """One rater's grade of one output (or of the case's reference impression, reading NULL)
    on the study's acceptability scale (``evaluation.instruments.acceptability_scale``)."""

    Source = ScoreSource

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="acceptability")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    reading = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    grade = models.SmallIntegerField()
    seconds = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "rater", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="acceptability_seconds_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(source__in=ScoreSource.values), name="acceptability_source_valid"
            ),
            models.UniqueConstraint(
                fields=["rater", "reading"],
                condition=Q(reading__isnull=False),
                name="acceptability_unique_output",
            ),
            models.UniqueConstraint(
                fields=["rater", "case"],
                condition=Q(reading__isnull=True),
                name="acceptability_unique_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rater.code} {self.case.code}: {self.grade}"


class ErrorAnnotation(models.Model):
    """One error a rater marked in one output (or in the reference impression, reading NULL).

    ``category`` is a key of the study's taxonomy (``evaluation.instruments.error_taxonomy``)
    or ``none`` ("no errors", then not significant and without a span). ``start``/``end``
    are optional character offsets into the normalised text, ``start < end``.
    """

    Source = ScoreSource

    rater = models.ForeignKey(Rater, on_delete=models.CASCADE, related_name="error_annotations")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    reading = models.ForeignKey(
        Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(max_length=40)
    significant = models.BooleanField(default=False)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "rater", "start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True, end__isnull=True)
                | Q(start__isnull=False, end__isnull=False, start__lt=models.F("end")),
                name="errorannotation_span_valid",
            ),
            models.CheckConstraint(
                condition=~Q(category=NO_ERRORS)
                | Q(significant=False, start__isnull=True, end__isnull=True),
                name="errorannotation_none_plain",
            ),
            models.CheckConstraint(
                condition=Q(source__in=ScoreSource.values), name="errorannotation_source_valid"
            ),
            models.UniqueConstraint(
                fields=["rater", "reading"],
                condition=Q(category=NO_ERRORS, reading__isnull=False),
                name="errorannotation_one_none_output",
            ),
            models.UniqueConstraint(
                fields=["rater", "case"],
                condition=Q(category=NO_ERRORS, reading__isnull=True),
                name="errorannotation_one_none_reference",
            ),
        ]
        indexes = [models.Index(fields=["rater", "reading"], name="errorannotation_item")]

    def __str__(self) -> str:
        return f"{self.rater.code} {self.case.code}: {self.category}"


class JudgmentAmendment(models.Model):
    """One change of a submitted pairwise preference, acceptability grade or error annotation
    made in a rating session: who, when, the answer before and after. Rows are only added."""

    task = models.ForeignKey(
        RatingTask, on_delete=models.CASCADE, related_name="judgment_amendments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, help_text="Username at the time")
    at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField()
    after = models.JSONField()
    token = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["task", "at", "id"]

    def __str__(self) -> str:
        return f"{self.task} {self.before}->{self.after} by {self.username}"
