"""Reusable read queries of the core domain."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from readerstudy.models import Study


def studies_for_user(
    user: AbstractBaseUser | AnonymousUser, *, role: str | None = None
) -> QuerySet[Study]:
    """Studies ``user`` is a member of (in ``role`` if given); superusers see every study."""
    if not user.is_authenticated:
        return Study.objects.none()
    qs = Study.objects.all()
    if not user.is_superuser:
        members = Q(members__user=user)
        if role is not None:
            members &= Q(members__role=role)
        qs = qs.filter(members).distinct()
    return qs.annotate(
        n_cases=Count("cases", distinct=True), n_readers=Count("readers", distinct=True)
    ).order_by("slug")
