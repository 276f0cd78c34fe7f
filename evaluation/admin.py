"""Admin for the Likert evaluation models."""

from __future__ import annotations

from django.contrib import admin

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.studies.admin_scoping import StudyScopedAdmin, scoped_filter


@admin.register(LikertDomain)
class LikertDomainAdmin(StudyScopedAdmin):
    list_display = ["key", "label", "group", "study", "position"]
    list_filter = [scoped_filter("study")]


@admin.register(Rater)
class RaterAdmin(StudyScopedAdmin):
    list_display = ["code", "kind", "study", "user"]
    list_filter = [scoped_filter("study"), "kind"]
    autocomplete_fields = ["user"]


@admin.register(LikertScore)
class LikertScoreAdmin(StudyScopedAdmin):
    list_display = ["rater", "reading", "domain", "score", "source"]
    list_filter = [scoped_filter("domain__study"), "source"]
    raw_id_fields = ["rater", "reading", "domain"]
