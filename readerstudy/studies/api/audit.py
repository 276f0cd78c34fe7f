"""The audit log of a study through the API (its coordinators only), as ``/studies/<slug>/audit/``."""

from __future__ import annotations

from typing import ClassVar

import django_filters
from django.db.models import QuerySet
from django.urls import URLPattern, path
from rest_framework import generics, serializers

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.studies.api.access import StudyScopedMixin
from readerstudy.studies.selectors import audit_events


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "target", "details", "ip"]
        read_only_fields = fields


class AuditEventFilter(django_filters.FilterSet):
    """``?action=a,b`` (one or several actions), ``?actor=<username>``, and
    ``?since=`` / ``?until=`` (ISO 8601 date-times, inclusive)."""

    action = django_filters.BaseInFilter(field_name="action")
    actor = django_filters.CharFilter(field_name="actor_name")
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class StudyAuditList(StudyScopedMixin, generics.ListAPIView):
    """The study's audit events, newest first (coordinators of the study only)."""

    study_roles_read: ClassVar[set[str]] = {roles.COORDINATOR}
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return AuditEvent.objects.none()
        return audit_events(study=self.study)


urlpatterns: list[URLPattern] = [
    path("studies/<slug:slug>/audit/", StudyAuditList.as_view(), name="api-study-audit"),
]
