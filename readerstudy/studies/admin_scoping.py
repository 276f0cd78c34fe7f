"""The admin, scoped to studies: a staff coordinator sees and edits only the objects of the
studies they coordinate (superusers see everything).

Every study-owned model admin inherits :class:`StudyScopedAdmin` and names the lookup from
its model to the study (``study_path``). Lists, change, delete and history pages, foreign-key
choices (so a POST cannot attach an object to another study) and the sidebar filters all go
through the scoped queryset; an object of another study is "not found" (the admin redirects
to its index), exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from readerstudy.studies.access import coordinated_studies

#: How each study-owned model reaches its study; foreign keys to these models are scoped.
STUDY_PATHS: dict[str, str] = {
    "readerstudy.study": "pk",
    "readerstudy.case": "study",
    "readerstudy.reader": "study",
    "readerstudy.reading": "reader__study",
    "readerstudy.auditevent": "study",
    "readerstudy.readingsession": "study",
    "readerstudy.readingsubmission": "work__assignment__session__study",
    "readerstudy.readingamendment": "work__assignment__session__study",
    "evaluation.likertdomain": "study",
    "evaluation.rater": "study",
    "evaluation.likertscore": "domain__study",
}


def scope_to_studies(queryset: QuerySet, request: HttpRequest) -> QuerySet:
    """``queryset`` limited to the studies the request's user coordinates."""
    if request.user.is_superuser:
        return queryset
    path = STUDY_PATHS.get(queryset.model._meta.label_lower)
    if path is None:
        return queryset
    return queryset.filter(**{f"{path}__in": coordinated_studies(request.user)})


class StudyScopedAdmin(admin.ModelAdmin):
    """A model admin that shows staff coordinators their own studies' objects only."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_studies(super().get_queryset(request), request)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        related = db_field.related_model
        if related is not None and related._meta.label_lower in STUDY_PATHS:
            queryset = kwargs.get("queryset")
            if queryset is None:
                queryset = related._default_manager.all()
            kwargs["queryset"] = scope_to_studies(queryset, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scoped_filter(field_path: str) -> tuple[str, type[admin.RelatedOnlyFieldListFilter]]:
    """A sidebar filter listing only the related objects in the (scoped) list."""
    return (field_path, admin.RelatedOnlyFieldListFilter)
