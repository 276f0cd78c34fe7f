"""Template tags of model generation (the summary on the study hub)."""

from __future__ import annotations

from typing import Any

from django import template

from readerstudy.generation.models import GenerationConfig, GenerationRun
from readerstudy.studies.models import Study

register = template.Library()


@register.simple_tag
def generation_summary(study: Study) -> dict[str, Any]:
    """Counts for the hub: configured model readers, runs, active runs."""
    runs = GenerationRun.objects.filter(config__reader__study=study)
    return {
        "n_configs": GenerationConfig.objects.filter(reader__study=study).count(),
        "n_runs": runs.count(),
        "n_active": runs.filter(status__in=GenerationRun.ACTIVE).count(),
    }
