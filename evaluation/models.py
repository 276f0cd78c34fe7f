"""Likert evaluation of reader and model outputs: domains, raters and scores.

A score is always given by a rater to one reading (one output) on one domain. The rule that
the score lies inside the study's Likert range, and that the rater, reading and domain
belong to the same study, is enforced by database triggers (migration
``0002_integrity_triggers``) besides the forms and the import.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.models import Reading, Study


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


class Rater(models.Model):
    """A member of the Likert panel, known by a study-local code (e.g. ``rater1``)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="raters")
    code = models.CharField(max_length=100)
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
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.code}"


class LikertScore(models.Model):
    """One rater's score of one output (reading) on one domain."""

    class Source(models.TextChoices):
        IMPORTED = "imported", "Imported"
        ENTERED = "entered", "Entered in the rating page"

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
                condition=Q(source__in=["imported", "entered"]), name="likertscore_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["domain", "reading"], name="likertscore_domain_reading")]

    def __str__(self) -> str:
        return f"{self.rater.code} {self.domain.key}={self.score}"
