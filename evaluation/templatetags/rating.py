"""Template tags for the rating parts of the study hub."""

from __future__ import annotations

from typing import Any

from django import template

from evaluation import selectors
from readerstudy.core.users import Visitor
from readerstudy.studies.access import study_roles
from readerstudy.studies.models import Study

register = template.Library()


@register.simple_tag
def rating_hub(study: Study, user: Visitor) -> dict[str, Any]:
    """What the hub shows about rating: sessions (coordinators and statisticians, names and
    progress only) and, for a rater, their own sessions of this study."""
    roles = study_roles(user, study)
    out: dict[str, Any] = {"sessions": [], "mine": [], "coordinator": "coordinator" in roles}
    if roles & {"coordinator", "statistician"}:
        sessions = list(selectors.study_sessions(study))
        for s in sessions:
            s.counts = selectors.session_task_counts(s)
        out["sessions"] = sessions
    if "rater" in roles:
        out["mine"] = [e for e in selectors.rater_worklist(user) if e.study_id == study.pk]
    return out
