"""Services of studies and their members (keyword-only)."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from readerstudy.studies.models import Study, StudyMember


def study_member_add(*, study: Study, user: User, role: str) -> StudyMember:
    """Give ``user`` ``role`` in ``study``: the role's group and the membership (both audited
    by the model signals, as when they are added in the admin)."""
    if role not in StudyMember.Role.values:
        raise ValueError(
            f"role: expected one of {', '.join(StudyMember.Role.values)}, got {role!r}"
        )
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    member, _ = StudyMember.objects.get_or_create(study=study, user=user, role=role)
    return member
