"""Filters of the rating API's lists (query string parameters)."""

from __future__ import annotations

import django_filters

from evaluation.models import RatingSession, RatingTask
from evaluation.selectors import TASK_STATES


class RaterItemFilter(django_filters.FilterSet):
    """``?session=<id>`` and ``?state=new|draft|submitted``."""

    session = django_filters.NumberFilter(
        field_name="assignment__session_id", min_value=1, max_value=2**31 - 1
    )
    state = django_filters.ChoiceFilter(choices=[(s, s) for s in TASK_STATES])

    class Meta:
        model = RatingTask
        fields: list[str] = []


class RatingSessionFilter(django_filters.FilterSet):
    """``?status=draft|open|closed``."""

    status = django_filters.ChoiceFilter(choices=RatingSession.Status.choices)

    class Meta:
        model = RatingSession
        fields: list[str] = []
