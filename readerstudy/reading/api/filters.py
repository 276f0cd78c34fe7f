"""Filters of the reading-session API lists."""

from __future__ import annotations

import django_filters

from readerstudy.reading.models import ReadingSession


class ReadingSessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReadingSession.Status.choices)

    class Meta:
        model = ReadingSession
        fields = ["status"]
