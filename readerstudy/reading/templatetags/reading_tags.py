"""Template tags of reading sessions (used by the study hub's reading partial)."""

from __future__ import annotations

from django import template
from django.db.models import QuerySet

from readerstudy.reading.models import ReadingSession
from readerstudy.reading.selectors import reading_sessions_for_study
from readerstudy.studies.models import Study

register = template.Library()


@register.simple_tag
def reading_sessions_of(study: Study) -> QuerySet[ReadingSession]:
    """``{% reading_sessions_of study as sessions %}``: the study's reading sessions."""
    return reading_sessions_for_study(study=study)


@register.filter
def seconds_display(value: float | None) -> str:
    """``75.2`` → ``1 min 15 s``; empty for None."""
    if value is None:
        return "–"
    total = round(value)
    minutes, seconds = divmod(total, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
