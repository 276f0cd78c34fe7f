"""Serializers of a study's data: cases, readers, readings and the readings upload.

Truth is shaped by role: ``CaseSerializer`` drops ``truth``, ``truth_detail`` and
``reference_impression`` unless the view's context says the caller sees the truth
(coordinators; statisticians once the study is unblinded).

Identifiers are shaped by the context's ``blinding`` (:class:`readerstudy.studies.pseudonyms.Blinding`):
a blinded caller gets the pseudonyms of every reader, case and patient (the same as in the
exports and ``results.json``) and none of the details that would tell who is who.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from readerstudy.studies.models import Case, Reader, Reading
from readerstudy.studies.pseudonyms import (
    BLINDED_READER_FIELDS,
    HIDDEN_CASE_FIELDS,
    HIDDEN_READING_FIELDS,
    Blinding,
)

#: Fields of a case that reveal (or may reveal) its truth.
TRUTH_FIELDS = ("truth", "truth_detail", "reference_impression")


def _blinding(serializer: serializers.BaseSerializer) -> Blinding | None:
    """The caller's blinding when it hides identifiers, else ``None``."""
    blinding = serializer.context.get("blinding")
    return blinding if blinding is not None and blinding.pseudonymous else None


def _hide(data: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        data.pop(name, None)


class CaseSerializer(serializers.ModelSerializer):
    """A case; the truth fields only for callers who see the truth."""

    code = serializers.CharField(max_length=100, help_text="The case id of cases.csv.")
    truth = serializers.IntegerField(
        min_value=0, max_value=1, help_text="1 positive, 0 negative (hidden without the truth)."
    )
    split = serializers.CharField(
        required=False, max_length=10, help_text="train or test (default test; any case)."
    )
    attributes = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    n_images = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "code",
            "patient_id",
            "split",
            "truth",
            "truth_detail",
            "location",
            "clinical_history",
            "findings",
            "reference_impression",
            "attributes",
            "position",
            "n_images",
        ]
        read_only_fields = ["position", "n_images"]
        extra_kwargs = {
            "truth_detail": {"required": False},
            "reference_impression": {"required": False},
        }
        # Uniqueness of (study, code) is checked by the service, which knows the study.
        validators: list[Any] = []

    def get_n_images(self, case: Case) -> int:
        annotated = getattr(case, "n_images", None)
        return annotated if annotated is not None else case.images.count()

    def to_representation(self, instance: Case) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("sees_truth"):
            _hide(data, TRUTH_FIELDS)
        blinding = _blinding(self)
        if blinding is not None:
            data["code"] = blinding.case(instance.code)
            data["patient_id"] = blinding.patient(instance.patient_id)
            _hide(data, HIDDEN_CASE_FIELDS)
        return data


class CaseUpdateSerializer(CaseSerializer):
    """A partial change of a case; its code cannot change."""

    class Meta(CaseSerializer.Meta):
        read_only_fields = ["code", "position", "n_images"]


class ReaderSerializer(serializers.ModelSerializer):
    """A reader; a blinded caller gets its pseudonym and kind only."""

    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Reader
        fields = [
            "code",
            "kind",
            "label",
            "group",
            "years_experience",
            "interpretations",
            "description",
            "position",
            "has_account",
        ]
        read_only_fields = fields

    def get_has_account(self, reader: Reader) -> bool:
        return reader.user_id is not None

    def to_representation(self, instance: Reader) -> dict[str, Any]:
        data = super().to_representation(instance)
        blinding = _blinding(self)
        if blinding is not None:
            data = {k: v for k, v in data.items() if k in BLINDED_READER_FIELDS}
            data["code"] = blinding.reader(instance.code)
        return data


class ReadingSerializer(serializers.ModelSerializer):
    """A reading with its reader and case codes (one row of ``readings.csv`` and more); a
    blinded caller gets pseudonyms and no storage id or timestamps."""

    reader = serializers.CharField(source="reader.code", read_only=True)
    reader_kind = serializers.CharField(source="reader.kind", read_only=True)
    case = serializers.CharField(source="case.code", read_only=True)
    split = serializers.CharField(source="case.split", read_only=True)

    class Meta:
        model = Reading
        fields = [
            "id",
            "reader",
            "reader_kind",
            "case",
            "split",
            "run",
            "modality",
            "category",
            "score",
            "impression",
            "seconds",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Reading) -> dict[str, Any]:
        data = super().to_representation(instance)
        blinding = _blinding(self)
        if blinding is not None:
            data["reader"] = blinding.reader(instance.reader.code)
            data["case"] = blinding.case(instance.case.code)
            _hide(data, HIDDEN_READING_FIELDS)
        return data


class ReadingRowSerializer(serializers.Serializer):
    """One row of a JSON readings upload (the columns of ``readings.csv``)."""

    reader_id = serializers.CharField()
    case_id = serializers.CharField()
    category = serializers.IntegerField()
    run = serializers.IntegerField(required=False, default=1)
    modality = serializers.IntegerField(required=False, default=1)
    score = serializers.FloatField(required=False, allow_null=True)
    impression = serializers.CharField(required=False, allow_blank=True)
    seconds = serializers.FloatField(required=False, allow_null=True)


class ReadingsUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A readings.csv (UTF-8, header row).")


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="CSV line, or 1-based row of a JSON array.")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()


class ImportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    messages = serializers.ListField(child=serializers.CharField())
    errors = ImportProblemSerializer(many=True)
