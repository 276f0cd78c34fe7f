"""Filters of the generation-run API lists."""

from __future__ import annotations

import django_filters

from readerstudy.generation.models import GenerationRun


class GenerationRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GenerationRun.Status.choices)
    reader = django_filters.CharFilter(field_name="config__reader__code", help_text="Reader code.")

    class Meta:
        model = GenerationRun
        fields = ["status", "reader"]
