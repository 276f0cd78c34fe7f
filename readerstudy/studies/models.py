"""Core domain of a reader study: studies, cases and their images, readers and readings.

The rules that must hold whatever writes to the database (the import, the reading pages,
the API, the admin, a migration) are database constraints: check constraints and unique
constraints here, and the cross-table rules (a reading's category is on its study's scale;
a reading's reader and case belong to the same study) as triggers created by migration
``0002_integrity_triggers``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.core import roles
from readerstudy.core.choices import CONSENSUS_RULES, DEFAULT_CONSENSUS


class Study(models.Model):
    """A reader study: one case set, its readers, its reading scale and its Likert domains."""

    #: The consensus rules (``readerstudy.core.choices.CONSENSUS_RULES``, the one list):
    #: ``Study.Consensus.MAJORITY_MEDIAN``, ``MEDIAN``, ``MODE_LOWEST``, ``FIRST_RUN``.
    #: (django-stubs types the functional API without (value, label) members, hence the ignore.)
    Consensus = models.TextChoices(  # type: ignore[call-overload]
        "Consensus",
        [
            (value.upper().replace("-", "_"), (value, label))
            for value, label in CONSENSUS_RULES.items()
        ],
    )

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    scale_name = models.CharField(max_length=80, default="BI-RADS")
    positive_threshold = models.IntegerField(
        help_text="A reading with category >= this value is a positive (malignant) call."
    )
    consensus = models.CharField(
        max_length=40, choices=Consensus.choices, default=DEFAULT_CONSENSUS
    )
    reference_reader = models.ForeignKey(
        "Reader",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Inter-observer agreement is measured against this reader.",
    )
    likert_min = models.SmallIntegerField(default=1)
    likert_max = models.SmallIntegerField(default=5)
    # Everything else from study.toml, kept verbatim so that export reproduces it.
    config = models.JSONField(default=dict, blank=True)
    # Extra columns of cases.csv, in file order (their values are in Case.attributes).
    case_attributes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    unblinded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(likert_min__lt=models.F("likert_max")),
                name="study_likert_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def categories(self) -> list[int]:
        return [c.value for c in self.scale_categories.all()]


class ScaleCategory(models.Model):
    """One category of the study's reading scale (e.g. BI-RADS 4, "Suspicious")."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="scale_categories")
    value = models.SmallIntegerField()
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["study", "value"]
        verbose_name_plural = "scale categories"
        constraints = [
            models.UniqueConstraint(fields=["study", "value"], name="scalecategory_unique_value"),
        ]

    def __str__(self) -> str:
        return f"{self.value} {self.label}".strip()


class CaseSplit(models.TextChoices):
    """The splits of a study's cases (``Case.Split``), the one list of them."""

    TRAIN = "train", "Training"
    TEST = "test", "Test"


class Case(models.Model):
    """One lesion (the unit of analysis) with its truth and the information readers may see."""

    Split = CaseSplit

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cases")
    code = models.CharField("case id", max_length=100)
    patient_id = models.CharField(max_length=100, blank=True)
    split = models.CharField(max_length=10, choices=Split.choices, default=Split.TEST)
    truth = models.SmallIntegerField(help_text="1 positive (malignant), 0 negative")
    location = models.CharField(max_length=300, blank=True)
    clinical_history = models.TextField(blank=True)
    findings = models.TextField(blank=True)
    reference_impression = models.TextField(blank=True)
    truth_detail = models.CharField(max_length=300, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Row order in cases.csv")

    class Meta:
        ordering = ["study", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="case_unique_code"),
            models.CheckConstraint(condition=Q(truth__in=[0, 1]), name="case_truth_binary"),
            models.CheckConstraint(
                condition=Q(split__in=CaseSplit.values), name="case_split_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.code}"


def case_image_path(instance: CaseImage, filename: str) -> str:
    """Storage name that reveals nothing about the case, its study or the original file."""
    suffix = ""
    if "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if ext in {"png", "jpg", "jpeg", "dcm"}:
            suffix = "." + ("jpg" if ext == "jpeg" else ext)
    token = secrets.token_hex(16)
    return f"img/{token[:2]}/{token}{suffix}"


#: The selection of every case, whatever its split.
ALL_CASES = "all"


class SplitSelection(models.TextChoices):
    """The case selections of an analysis or a generation run: a split (``CaseSplit``,
    repeated here only because a ``TextChoices`` cannot extend another), or every case.
    ``tests/studies`` checks that the splits are exactly ``CaseSplit``'s."""

    TEST = CaseSplit.TEST.value, "Test cases"
    TRAIN = CaseSplit.TRAIN.value, "Training cases"
    ALL = ALL_CASES, "All cases"


#: The values of ``SplitSelection`` (test first: the default of the commands).
SPLIT_SELECTIONS: tuple[str, ...] = tuple(SplitSelection.values)


class CaseImage(models.Model):
    """An image of a case, stored under an opaque random name (``file``: the bundle's file
    without its metadata, for export; ``display``: see ``readerstudy.studies.display``)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=case_image_path, max_length=200)
    display = models.FileField(
        upload_to=case_image_path,
        max_length=200,
        blank=True,
        help_text="PNG re-encoded from the pixels: the only version readers and raters receive",
    )
    original_name = models.CharField(
        max_length=300, help_text="Path inside images/<case_id>/ of the bundle (coordinators only)"
    )
    series = models.CharField(max_length=100, blank=True)
    phase = models.CharField(max_length=50, blank=True)
    slice = models.CharField(max_length=50, blank=True)
    order = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    dicom_series = models.CharField(
        max_length=64, blank=True, help_text="DICOM: the de-identified Series Instance UID"
    )
    dicom_series_index = models.PositiveIntegerField(
        null=True, blank=True, help_text="DICOM: 0-based position of the series in the case"
    )
    dicom_slice = models.PositiveIntegerField(
        null=True, blank=True, help_text="DICOM: 0-based slice position in its series"
    )

    class Meta:
        ordering = ["case", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "original_name"], name="caseimage_unique_name"),
        ]

    def __str__(self) -> str:
        return f"image {self.pk} of {self.case}"


class ReaderKind(models.TextChoices):
    """The kinds of reader (``Reader.Kind``), the one list of them."""

    HUMAN = "human", "Human"
    MODEL = "model", "Model"


class Reader(models.Model):
    """Someone or something that reads cases: a human radiologist or a model configuration."""

    Kind = ReaderKind

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="readers")
    code = models.CharField("reader id", max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    label = models.CharField(max_length=300, blank=True)
    group = models.CharField(max_length=200, blank=True)
    years_experience = models.FloatField(null=True, blank=True)
    interpretations = models.PositiveIntegerField(null=True, blank=True)
    description = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reader_profiles",
        help_text="The account a human reader signs in with.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Row order in readers.csv")

    class Meta:
        ordering = ["study", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="reader_unique_code"),
            models.UniqueConstraint(
                fields=["study", "user"], condition=Q(user__isnull=False), name="reader_unique_user"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReaderKind.values), name="reader_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(years_experience__isnull=True) | Q(years_experience__gte=0),
                name="reader_experience_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.code}"


class ReadingSource(models.TextChoices):
    """Where a reading came from (``Reading.Source``), the one list of them."""

    IMPORTED = "imported", "Imported"
    ENTERED = "entered", "Entered in the reading page"
    GENERATED = "generated", "Generated by a model"


class Reading(models.Model):
    """One reader's answer on one case, for one run and one modality (test condition)."""

    Source = ReadingSource

    # Both foreign keys are covered by composite indexes below (the unique constraint leads
    # with reader; reading_case_reader with case), so they get no single-column index.
    reader = models.ForeignKey(
        Reader, on_delete=models.CASCADE, related_name="readings", db_index=False
    )
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="readings", db_index=False
    )
    run = models.PositiveSmallIntegerField(default=1)
    modality = models.PositiveSmallIntegerField(default=1)
    category = models.SmallIntegerField()
    score = models.FloatField(
        null=True, blank=True, help_text="Continuous rating (e.g. a probability) used for ROC"
    )
    impression = models.TextField(blank=True)
    seconds = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reader", "case", "run", "modality"]
        constraints = [
            models.UniqueConstraint(
                fields=["reader", "case", "run", "modality"], name="reading_unique_per_run"
            ),
            models.CheckConstraint(condition=Q(run__gte=1), name="reading_run_positive"),
            models.CheckConstraint(condition=Q(modality__gte=1), name="reading_modality_positive"),
            models.CheckConstraint(
                condition=Q(seconds__isnull=True) | Q(seconds__gte=0),
                name="reading_seconds_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(source__in=ReadingSource.values),
                name="reading_source_valid",
            ),
        ]
        indexes = [models.Index(fields=["case", "reader"], name="reading_case_reader")]

    def __str__(self) -> str:
        return f"{self.reader.code} on {self.case.code} run {self.run}"


class LesionMark(models.Model):
    """A reader's mark of a lesion on a case, with the reading it belongs to: a point
    (``x``, ``y`` in pixels of the image, from its top left corner) on a slice of a series,
    an optional radius and the reader's confidence that a lesion is there (higher = surer).
    ``series`` and ``slice`` are empty for a case of one image."""

    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="marks")
    series = models.CharField(max_length=100, blank=True)
    slice = models.PositiveIntegerField(null=True, blank=True, help_text="0-based, in its series")
    x = models.FloatField()
    y = models.FloatField()
    radius = models.FloatField(null=True, blank=True)
    confidence = models.FloatField()
    position = models.PositiveIntegerField(default=0, help_text="Order of the reading's marks")

    class Meta:
        ordering = ["reading", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(x__gte=0) & Q(y__gte=0), name="lesionmark_point_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(radius__isnull=True) | Q(radius__gt=0),
                name="lesionmark_radius_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"mark {self.position} of {self.reading}"


class TruthMark(models.Model):
    """Where a lesion of a positive case is, from the truth (``lesion``: its number within
    the case, 1, 2, ...); the points as in ``LesionMark``. Truth: never shown to readers."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="truth_marks")
    lesion = models.PositiveSmallIntegerField()
    series = models.CharField(max_length=100, blank=True)
    slice = models.PositiveIntegerField(null=True, blank=True, help_text="0-based, in its series")
    x = models.FloatField()
    y = models.FloatField()
    radius = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["case", "lesion"]
        constraints = [
            models.UniqueConstraint(fields=["case", "lesion"], name="truthmark_unique_lesion"),
            models.CheckConstraint(condition=Q(lesion__gte=1), name="truthmark_lesion_positive"),
            models.CheckConstraint(
                condition=Q(x__gte=0) & Q(y__gte=0), name="truthmark_point_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(radius__isnull=True) | Q(radius__gt=0),
                name="truthmark_radius_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"lesion {self.lesion} of {self.case}"


class StudyMember(models.Model):
    """A user's role in one study. Access to a study's pages follows from these rows."""

    class Role(models.TextChoices):
        COORDINATOR = roles.COORDINATOR, "Coordinator"
        READER = roles.READER, "Reader"
        RATER = roles.RATER, "Rater"
        STATISTICIAN = roles.STATISTICIAN, "Statistician"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["study", "user", "role"], name="studymember_unique"),
            models.CheckConstraint(
                condition=Q(role__in=list(roles.ROLES)),
                name="studymember_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.study}"


class StudyInvitation(models.Model):
    """A one-time sign-up link sent by email: who is invited to which study in which role.

    Only the SHA-256 of the link's token is stored (``token_hash``); the token itself is in
    the email alone. The link works once (``accepted_at``) and until ``expires_at``."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=StudyMember.Role.choices)
    reader = models.ForeignKey(
        Reader,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For the reader role: the Reader the new account signs in as.",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["study", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=list(roles.ROLES)), name="studyinvitation_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} invited as {self.role} of {self.study}"


class FindingMethod(models.TextChoices):
    """How a reader's finding label was obtained (``ReadingFinding.Method``), the one list."""

    IMPORTED = "imported", "Imported (reading_findings.csv)"
    FORM = "form", "Entered in the reading form"
    GENERATED = "generated", "Generated with an answer schema"
    EXTRACTED_RULES = "extracted_rules", "Extracted from the impression (rules)"
    REVIEWED = "reviewed", "Reviewed and corrected by a coordinator"


class CaseFinding(models.Model):
    """The truth of one finding of the study's vocabulary (``[[findings]]``) on one case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="finding_truths")
    finding = models.CharField(max_length=100, help_text="A key of the study's [[findings]]")
    present = models.BooleanField()
    location = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Row order in findings.csv")

    class Meta:
        ordering = ["case", "position", "finding"]
        constraints = [
            models.UniqueConstraint(fields=["case", "finding"], name="casefinding_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.finding}={int(self.present)}"


class ReadingFinding(models.Model):
    """One reader's label of one finding on one case and run, with how it was obtained."""

    Method = FindingMethod

    reader = models.ForeignKey(
        Reader, on_delete=models.CASCADE, related_name="finding_labels", db_index=False
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="finding_labels")
    run = models.PositiveSmallIntegerField(default=1)
    finding = models.CharField(max_length=100, help_text="A key of the study's [[findings]]")
    present = models.BooleanField()
    method = models.CharField(max_length=20, choices=Method.choices, default=FindingMethod.IMPORTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reader", "case", "run", "finding"]
        constraints = [
            models.UniqueConstraint(
                fields=["reader", "case", "run", "finding"], name="readingfinding_unique"
            ),
            models.CheckConstraint(condition=Q(run__gte=1), name="readingfinding_run_positive"),
            models.CheckConstraint(
                condition=Q(method__in=FindingMethod.values), name="readingfinding_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader.code} on {self.case.code} run {self.run}: {self.finding}"
