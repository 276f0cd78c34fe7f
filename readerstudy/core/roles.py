"""The four roles of the platform, as Django groups, and what each may do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from readerstudy.core.users import Visitor

COORDINATOR = "coordinator"
READER = "reader"
RATER = "rater"
STATISTICIAN = "statistician"
ROLES: tuple[str, ...] = (COORDINATOR, READER, RATER, STATISTICIAN)

ROLE_DESCRIPTIONS: dict[str, str] = {
    COORDINATOR: (
        "Create studies, import cases, readers and model outputs, configure reading and rating "
        "sessions, assign people, watch progress and unblind at the end."
    ),
    READER: "Read your assigned cases and record a category, an optional probability and an impression.",
    RATER: "Score the outputs assigned to you on the study's Likert domains, blinded to their source.",
    STATISTICIAN: "Run analyses and download tables, figures and tidy datasets.",
}


def user_roles(user: Visitor) -> set[str]:
    """The platform roles of ``user`` (its Django groups that are roles; all for superusers)."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ROLES)
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
