"""Reusable read queries of the core domain."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from readerstudy.models import Reader, Study, StudyMember


def _study_counts() -> dict[str, Count]:
    """The sizes shown with a study wherever it is listed (home page, ``manage.py demo``)."""
    return {"n_cases": Count("cases", distinct=True), "n_readers": Count("readers", distinct=True)}


def study_counts(*, study: Study) -> dict[str, int]:
    """``n_cases`` and ``n_readers`` of ``study``, counted as the home page counts them."""
    return Study.objects.filter(pk=study.pk).aggregate(**_study_counts())


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
    return qs.annotate(**_study_counts()).order_by("slug")


def study_overview(*, study: Study) -> dict[str, object]:
    """Counts and people of a study, for its hub page."""
    from evaluation.models import LikertScore

    readers = list(
        Reader.objects.filter(study=study)
        .annotate(n_readings=Count("readings"))
        .order_by("position", "code")
    )
    return {
        "n_cases": study.cases.count(),
        "n_test": study.cases.filter(split="test").count(),
        "n_train": study.cases.filter(split="train").count(),
        "n_positive": study.cases.filter(split="test", truth=1).count(),
        "readers": readers,
        "n_scores": LikertScore.objects.filter(domain__study=study).count(),
        "domains": list(study.likert_domains.order_by("position")),
        "members": list(
            StudyMember.objects.filter(study=study)
            .select_related("user")
            .order_by("role", "user__username")
        ),
    }


def audit_events(*, study: Study | None = None) -> QuerySet:
    """Audit events of ``study`` (all events when ``None``), newest first."""
    from readerstudy.models import AuditEvent

    qs = AuditEvent.objects.all() if study is None else AuditEvent.objects.filter(study=study)
    return qs.order_by("-at", "-id")
