"""Filters of the core API lists (django-filter): ``?name=value`` query parameters."""

from __future__ import annotations

import django_filters

from readerstudy.models import Case, Reader, Reading
from readerstudy.models_generation import GenerationRun
from readerstudy.models_reading import ReadingSession


class CaseFilter(django_filters.FilterSet):
    split = django_filters.ChoiceFilter(choices=Case.Split.choices)
    patient_id = django_filters.CharFilter(help_text="Exact patient id.")
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
    group = django_filters.CharFilter(help_text="Exact group name.")

    class Meta:
        model = Reader
        fields = ["kind", "group"]


class ReadingFilter(django_filters.FilterSet):
    reader = django_filters.CharFilter(field_name="reader__code", help_text="Reader code.")
    case = django_filters.CharFilter(field_name="case__code", help_text="Case code.")
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


class ReadingSessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReadingSession.Status.choices)

    class Meta:
        model = ReadingSession
        fields = ["status"]


class GenerationRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GenerationRun.Status.choices)
    reader = django_filters.CharFilter(field_name="config__reader__code", help_text="Reader code.")

    class Meta:
        model = GenerationRun
        fields = ["status", "reader"]
