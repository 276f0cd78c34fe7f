"""Admin for the Likert evaluation models."""

from __future__ import annotations

from django.contrib import admin

from evaluation.models import LikertDomain, LikertScore, Rater


@admin.register(LikertDomain)
class LikertDomainAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "group", "study", "position"]
    list_filter = ["study"]


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin):
    list_display = ["code", "study", "user"]
    list_filter = ["study"]
    autocomplete_fields = ["user"]


@admin.register(LikertScore)
class LikertScoreAdmin(admin.ModelAdmin):
    list_display = ["rater", "reading", "domain", "score", "source"]
    list_filter = ["domain__study", "source"]
    raw_id_fields = ["rater", "reading", "domain"]
