"""Object-level access: who may do what in which study.

A user's platform roles are Django groups (coordinator, reader, rater, statistician); access
to a study additionally needs a ``StudyMember`` row for that study and role. Superusers have
every role everywhere. Views call ``require_study_role`` and get a 404 (not a 403) for a
study the user may not see, so that ids of other studies reveal nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from readerstudy.core.users import Visitor
from readerstudy.studies.models import Study, StudyMember

User = Visitor


def study_roles(user: User, study: Study) -> set[str]:
    """The roles ``user`` holds in ``study`` (membership and matching group both required)."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return {role for role, _ in StudyMember.Role.choices}
    groups = set(user.groups.values_list("name", flat=True))
    members = StudyMember.objects.filter(study=study, user=user).values_list("role", flat=True)
    return {role for role in members if role in groups}


def has_study_role(user: User, study: Study, *roles: str) -> bool:
    return bool(study_roles(user, study) & set(roles))


def require_study_role(user: User, slug: str, *roles: str) -> Study:
    """The study with ``slug`` if ``user`` holds one of ``roles`` in it; else ``Http404``."""
    study = get_object_or_404(Study, slug=slug)
    if not has_study_role(user, study, *roles):
        raise Http404("No such study.")
    return study


def coordinated_studies(user: User) -> QuerySet[Study]:
    """The studies ``user`` coordinates (membership and group both required; every study for
    superusers). The admin shows staff coordinators the objects of these studies only."""
    if not user.is_authenticated:
        return Study.objects.none()
    if user.is_superuser:
        return Study.objects.all()
    if not user.groups.filter(name=StudyMember.Role.COORDINATOR).exists():
        return Study.objects.none()
    return Study.objects.filter(
        members__user=user, members__role=StudyMember.Role.COORDINATOR
    ).distinct()


#: The Django permission that lets a signed-in user create studies on the web (staff may too;
#: superusers hold every permission). Grant it in the admin (user or group permissions).
CREATE_PERMISSION = "readerstudy.add_study"


def may_create_studies(user: User) -> bool:
    """Whether ``user`` may create a study (and so become its coordinator)."""
    return bool(user.is_authenticated and (user.is_staff or user.has_perm(CREATE_PERMISSION)))
