"""Serializers of the core API (studies and tokens)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from readerstudy.core import roles
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import IDS_CHOICES, Blinding

# Roles that see who is who in a study (reader codes, the reference reader).
SEES_READERS = {roles.COORDINATOR, roles.STATISTICIAN}


class ScaleCategorySerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class DomainSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField()


class StudySerializer(serializers.ModelSerializer):
    """A study as its members see it; the reference reader only for coordinators and
    statisticians (its pseudonym for callers who get pseudonyms, as in ``results.json``)."""

    your_roles = serializers.SerializerMethodField()
    reference_reader = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "slug",
            "title",
            "description",
            "scale_name",
            "positive_threshold",
            "categories",
            "consensus",
            "reference_reader",
            "likert_min",
            "likert_max",
            "domains",
            "created_at",
            "unblinded_at",
            "your_roles",
        ]
        read_only_fields = fields

    def _roles(self, study: Study) -> set[str]:
        held: dict[int, set[str]] = self.context.get("roles_by_study", {})
        return held.get(study.pk, set())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_your_roles(self, study: Study) -> list[str]:
        return sorted(self._roles(study))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reference_reader(self, study: Study) -> str | None:
        held = self._roles(study)
        if not held & SEES_READERS or study.reference_reader_id is None:
            return None
        request = self.context["request"]
        requested = request.query_params.get("ids")
        blinding = Blinding.for_actor(
            actor=request.user,
            study=study,
            roles=held,
            requested=requested if requested in IDS_CHOICES else None,
        )
        return blinding.reader(study.reference_reader.code)  # type: ignore[union-attr]

    @extend_schema_field(ScaleCategorySerializer(many=True))
    def get_categories(self, study: Study) -> list[dict[str, Any]]:
        return [
            {"value": c.value, "label": c.label}
            for c in sorted(study.scale_categories.all(), key=lambda c: c.value)
        ]

    @extend_schema_field(DomainSerializer(many=True))
    def get_domains(self, study: Study) -> list[dict[str, Any]]:
        return [
            {"key": d.key, "label": d.label, "group": d.group}
            for d in sorted(study.likert_domains.all(), key=lambda d: (d.position, d.key))
        ]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    created = serializers.DateTimeField()
