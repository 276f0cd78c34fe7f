"""Filters of the core API lists (django-filter): ``?name=value`` query parameters."""

from __future__ import annotations

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from readerstudy.studies.models import Case, Reader, Reading


class StudyFilterBackend(DjangoFilterBackend):
    """django-filter, with the query parameters in the caller's id space: a view may
    translate them first (``view.filter_data(params)``), e.g. pseudonyms back to the real
    codes stored in the database."""

    def get_filterset_kwargs(self, request: Any, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        translate = getattr(view, "filter_data", None)
        if translate is not None:
            kwargs["data"] = translate(kwargs["data"])
        return kwargs


class CaseFilter(django_filters.FilterSet):
    split = django_filters.ChoiceFilter(choices=Case.Split.choices)
    patient_id = django_filters.CharFilter(
        help_text="Exact patient id (a pseudonym for callers who get pseudonyms)."
    )
    truth = django_filters.TypedChoiceFilter(
        choices=[("0", "0"), ("1", "1")],
        coerce=int,
        help_text="Only for callers who see the truth (coordinators; statisticians once the "
        "study is unblinded): others get 403.",
    )

    class Meta:
        model = Case
        fields = ["split", "patient_id", "truth"]


class ReaderFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Reader.Kind.choices)
    group = django_filters.CharFilter(
        help_text="Exact group name (403 for callers who get pseudonyms: groups are hidden)."
    )

    class Meta:
        model = Reader
        fields = ["kind", "group"]


class ReadingFilter(django_filters.FilterSet):
    reader = django_filters.CharFilter(
        field_name="reader__code", help_text="Reader code (or pseudonym, as the caller sees it)."
    )
    case = django_filters.CharFilter(
        field_name="case__code", help_text="Case code (or pseudonym, as the caller sees it)."
    )
    run = django_filters.NumberFilter()
    modality = django_filters.NumberFilter()
    source = django_filters.ChoiceFilter(choices=Reading.Source.choices)
    split = django_filters.ChoiceFilter(field_name="case__split", choices=Case.Split.choices)
    reader_kind = django_filters.ChoiceFilter(
        field_name="reader__kind", choices=Reader.Kind.choices
    )

    class Meta:
        model = Reading
        fields = ["reader", "case", "run", "modality", "source", "split", "reader_kind"]
