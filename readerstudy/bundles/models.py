"""A bundle (.zip) uploaded on the web, validated and imported by a background job.

The row records who uploaded what, to which study (none: the bundle creates a new one),
whether the coordinator chose to replace the study's data, how far the job is
(``status``, ``stage``, ``progress``) and, when the bundle is refused, every problem as
``file:line: column: message``. The uploaded file lives in storage only while the job runs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q


class BundleUploadStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Checking and importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Refused: nothing was written"


#: Statuses of a job that is still working (the page keeps polling).
ACTIVE_STATUSES = (BundleUploadStatus.QUEUED, BundleUploadStatus.RUNNING)


class BundleUpload(models.Model):
    """One uploaded bundle and its background import."""

    Status = BundleUploadStatus

    study = models.ForeignKey(
        "readerstudy.Study",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bundle_uploads",
        help_text="The study uploaded to; empty for a new study until the import creates it.",
    )
    new_study = models.BooleanField(
        default=False, help_text="The bundle creates a new study (its slug must be free)."
    )
    replace = models.BooleanField(
        default=False, help_text="The coordinator confirmed replacing the study's data."
    )
    file = models.CharField(max_length=300, blank=True, help_text="Storage name while it runs.")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=BundleUploadStatus.choices, default=BundleUploadStatus.QUEUED
    )
    stage = models.CharField(max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    problems = models.JSONField(
        default=list, blank=True, help_text="Every problem: file:line: column: message."
    )
    n_problems = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Counts of what was imported.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=list(BundleUploadStatus.values)),
                name="bundleupload_status_valid",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="bundleupload_progress"),
        ]

    def __str__(self) -> str:
        return f"upload {self.pk} of {self.original_name} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES
