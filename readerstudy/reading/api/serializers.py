"""Serializers of reading sessions (coordinators) and of a reader's own work (readers).

What a reader gets of a case is what the reading page shows: its position in the reader's
own order, the information the session allows (``reading_case_info``), image links, the
assisting model's suggestion in AI-assisted sessions and the reader's own answer. Never the
case id, patient id, truth, reference impression, attributes or anyone else's reading.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from readerstudy.core.api.forms import form_errors
from readerstudy.core.converters import INT32_MAX, INT64_MAX
from readerstudy.reading.forms import (
    ReadingDesignForm,
    ReadingSessionCloneForm,
    ReadingSessionForm,
    ReadingSessionReadersForm,
)
from readerstudy.reading.models import ReadingDesign, ReadingSession
from readerstudy.reading.selectors import reading_default_modality
from readerstudy.studies.api.serializers import ScaleCategorySerializer
from readerstudy.studies.models import Case, Reader, Study


class ReadingSessionSerializer(serializers.ModelSerializer):
    assist_reader = serializers.CharField(
        source="assist_reader.code", allow_null=True, read_only=True
    )
    n_cases = serializers.IntegerField(read_only=True)
    n_readers = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReadingSession
        fields = [
            "id",
            "name",
            "status",
            "split",
            "order",
            "seed",
            "run",
            "modality",
            "show_images",
            "show_location",
            "show_clinical_history",
            "show_findings",
            "require_impression",
            "allow_amend",
            "assist_reader",
            "n_cases",
            "n_readers",
            "created_at",
            "opened_at",
            "closed_at",
        ]
        read_only_fields = fields


class ReadingSessionCreateSerializer(serializers.Serializer):
    """A new reading session: the session form's fields, readers and cases by their codes.

    Validated by the session page's form (``ReadingSessionForm``: the same rules and messages);
    ``validated_data["options"]`` is what ``reading_session_create`` takes. The answer is the
    created draft session (``ReadingSessionSerializer``).
    """

    name = serializers.CharField(max_length=200)
    split = serializers.ChoiceField(choices=Case.Split.choices, default=Case.Split.TEST)
    readers = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        help_text="Codes of human readers of the study linked to a user account with the "
        "reader role in the study.",
    )
    cases = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Case ids in the fixed order; empty or absent: every case of the split.",
    )
    order = serializers.ChoiceField(
        choices=ReadingSession.Order.choices, default=ReadingSession.Order.RANDOM
    )
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT64_MAX
    )
    run = serializers.IntegerField(default=1, min_value=1, max_value=32767)
    modality = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=32767,
        help_text="Default: a modality no reading or session of the study uses yet.",
    )
    show_images = serializers.BooleanField(default=True)
    show_location = serializers.BooleanField(default=True)
    show_clinical_history = serializers.BooleanField(default=False)
    show_findings = serializers.BooleanField(default=False)
    require_impression = serializers.BooleanField(default=True)
    allow_amend = serializers.BooleanField(default=False)
    assist_reader = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Code of a model reader whose suggestion readers see (AI-assisted reading).",
    )
    split_plot_groups = serializers.IntegerField(
        default=1,
        min_value=1,
        max_value=100,
        help_text="1: every reader reads every case; 2 or more: split-plot, the readers in "
        "this many groups, each reading its own disjoint block of the cases (seeded, balanced "
        "by truth).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        study: Study = self.context["study"]
        by_code = {r.code: r for r in Reader.objects.filter(study=study)}
        errors: dict[str, list[str]] = {}
        unknown = [c for c in attrs["readers"] if c not in by_code]
        if unknown:
            errors["readers"] = [f"Not readers of this study: {', '.join(unknown[:20])}."]
        else:
            wrong = [
                c
                for c in attrs["readers"]
                if by_code[c].kind != Reader.Kind.HUMAN or by_code[c].user_id is None
            ]
            if wrong:
                errors["readers"] = [
                    f"Not human readers linked to a user account: {', '.join(wrong[:20])}."
                ]
        assist = attrs.get("assist_reader") or ""
        if assist and (assist not in by_code or by_code[assist].kind != Reader.Kind.MODEL):
            errors["assist_reader"] = [f"Not a model reader of this study: {assist}."]
        if errors:
            raise serializers.ValidationError(errors)
        modality = attrs.get("modality") or reading_default_modality(study=study)
        data = {
            **{k: v for k, v in attrs.items() if k not in ("readers", "cases", "assist_reader")},
            "readers": [by_code[c].pk for c in attrs["readers"]],
            "cases": "\n".join(attrs.get("cases") or []),
            "seed": "" if attrs.get("seed") is None else attrs["seed"],
            "modality": modality,
            "assist_reader": by_code[assist].pk if assist else "",
        }
        return self.validated_options(data, study=study)

    def validated_options(self, data: dict[str, Any], *, study: Study) -> dict[str, Any]:
        """Validate the form data through the page's form: ``{"options": ...}``."""
        form = ReadingSessionForm(data, study=study)
        if not form.is_valid():
            raise form_errors(form)
        return {"options": form.options()}

    def to_representation(self, instance: Any) -> Any:
        return ReadingSessionSerializer(instance, context=self.context).data


class DesignSessionSerializer(ReadingSessionSerializer):
    """A session of a design with the period of each reader (1 or 2) in that condition."""

    periods = serializers.SerializerMethodField()

    class Meta(ReadingSessionSerializer.Meta):
        fields = [*ReadingSessionSerializer.Meta.fields, "ai_draft", "periods"]
        read_only_fields = fields

    def get_periods(self, session: ReadingSession) -> dict[str, int | None]:
        return {a.reader.code: a.period for a in session.assignments.all()}


class ReadingDesignSerializer(serializers.ModelSerializer):
    condition_order = serializers.SerializerMethodField()
    sessions = DesignSessionSerializer(many=True, read_only=True)

    class Meta:
        model = ReadingDesign
        fields = ["id", "name", "washout_days", "condition_order", "seed", "created_at", "sessions"]
        read_only_fields = fields

    def get_condition_order(self, design: ReadingDesign) -> str:
        order = ReadingDesign.ConditionOrder
        return str(order.COUNTERBALANCED if design.counterbalance else order.FIXED)


class ReadingDesignCreateSerializer(ReadingSessionCreateSerializer):
    """A new crossover design: the session fields (``modality`` is the unaided one) plus the
    aided condition, the order of the conditions and the washout.

    Validated by the design page's form (``ReadingDesignForm``); ``validated_data["options"]``
    is what ``reading_design_create`` takes. The answer is the design with its two draft
    sessions and each reader's period (``ReadingDesignSerializer``).
    """

    assist_reader = serializers.CharField(
        help_text="Code of the model reader whose output the aided condition shows."
    )
    aided_modality = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=32767,
        help_text="Default: the unaided modality + 1.",
    )
    condition_order = serializers.ChoiceField(
        choices=ReadingDesign.ConditionOrder.choices,
        default=ReadingDesign.ConditionOrder.COUNTERBALANCED,
    )
    washout_days = serializers.IntegerField(default=28, min_value=0, max_value=32767)
    ai_draft = serializers.BooleanField(default=False)

    def validated_options(self, data: dict[str, Any], *, study: Study) -> dict[str, Any]:
        if data.get("aided_modality") is None:
            data = {**data, "aided_modality": data["modality"] + 1}
        form = ReadingDesignForm(data, study=study)
        if not form.is_valid():
            raise form_errors(form)
        return {"options": form.design_options()}

    def to_representation(self, instance: Any) -> Any:
        return ReadingDesignSerializer(instance, context=self.context).data


class ReaderProgressSerializer(serializers.Serializer):
    reader = serializers.CharField(source="assignment.reader.code")
    username = serializers.SerializerMethodField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    median_active_seconds = serializers.FloatField(allow_null=True)
    conflicts = serializers.IntegerField(help_text="Submits rejected as conflicts or refused.")
    amendments = serializers.IntegerField()
    last_submitted_at = serializers.DateTimeField(allow_null=True)

    def get_username(self, progress: object) -> str | None:
        user = progress.assignment.reader.user  # type: ignore[attr-defined]
        return None if user is None else user.get_username()


class ReadingSessionDetailSerializer(ReadingSessionSerializer):
    progress = ReaderProgressSerializer(many=True, read_only=True)

    class Meta(ReadingSessionSerializer.Meta):
        fields = [*ReadingSessionSerializer.Meta.fields, "progress"]
        read_only_fields = fields


class AssignmentSerializer(serializers.Serializer):
    """One entry of a reader's worklist (``/reading/``)."""

    token = serializers.CharField(source="assignment.token", help_text="The assignment's id.")
    study = serializers.CharField(source="assignment.session.study.slug")
    study_title = serializers.CharField(source="assignment.session.study.title")
    session = serializers.CharField(source="assignment.session.name")
    status = serializers.CharField(source="assignment.session.status")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    next_position = serializers.IntegerField(
        allow_null=True, help_text="First unfinished case (open sessions only)."
    )
    show_images = serializers.BooleanField(source="assignment.session.show_images")
    require_impression = serializers.BooleanField(source="assignment.session.require_impression")
    allow_amend = serializers.BooleanField(source="assignment.session.allow_amend")


class InfoSerializer(serializers.Serializer):
    label = serializers.CharField()
    text = serializers.CharField()


class ImageLinkSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    label = serializers.CharField()
    url = serializers.CharField()


class AssistSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    label = serializers.CharField()
    impression = serializers.CharField()
    n_runs = serializers.IntegerField()


class AnswerSerializer(serializers.Serializer):
    category = serializers.IntegerField()
    probability = serializers.IntegerField(allow_null=True)
    impression = serializers.CharField(allow_blank=True)


class ReadingCaseSerializer(serializers.Serializer):
    """A case as the reader sees it: no case id, no truth, nobody else's answer."""

    position = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    version = serializers.IntegerField(help_text="Send it back as ``version`` when submitting.")
    submitted = serializers.BooleanField()
    editable = serializers.BooleanField(
        help_text="Whether a submit can be accepted (session open; amendments if allowed)."
    )
    info = InfoSerializer(many=True)
    images = ImageLinkSerializer(many=True)
    assist = AssistSerializer(allow_null=True)
    answer = AnswerSerializer(allow_null=True, help_text="Your stored answer.")
    scale = ScaleCategorySerializer(many=True)
    require_impression = serializers.BooleanField()
    allow_amend = serializers.BooleanField()
    previous_position = serializers.IntegerField(allow_null=True)
    next_position = serializers.IntegerField(allow_null=True)


class ReadingSubmitSerializer(serializers.Serializer):
    """A reader's answer; the same fields as the reading page's form."""

    category = serializers.IntegerField(help_text="A category of the study's scale.")
    probability = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    impression = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when the session requires it."
    )
    token = serializers.UUIDField(
        help_text="A new random UUID per answer; a retry with the same token is not duplicated."
    )
    version = serializers.IntegerField(
        min_value=0, max_value=INT32_MAX, help_text="The version the case showed."
    )
    active_seconds = serializers.FloatField(required=False, allow_null=True, min_value=0)


class ReadingSubmitResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["saved", "amended", "unchanged", "conflict", "refused"]
    )
    accepted = serializers.BooleanField()
    replayed = serializers.BooleanField(help_text="A retry of an earlier submit (same token).")
    version = serializers.IntegerField()
    detail = serializers.CharField()
    answer = AnswerSerializer(allow_null=True, help_text="The stored answer after the submit.")
    next_position = serializers.IntegerField(allow_null=True)


class ReadingSessionReadersSerializer(serializers.Serializer):
    """Readers to add to a draft or open session, by their codes."""

    readers = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        help_text="Codes of human readers of the study linked to a user account with the "
        "reader role in the study, not yet in the session.",
    )

    def validate_readers(self, codes: list[str]) -> list[Reader]:
        session: ReadingSession = self.context["session"]
        by_code = {r.code: r for r in Reader.objects.filter(study=session.study, code__in=codes)}
        unknown = [c for c in codes if c not in by_code]
        if unknown:
            raise serializers.ValidationError(
                f"Not readers of this study: {', '.join(unknown[:20])}."
            )
        form = ReadingSessionReadersForm(
            {"readers": [by_code[c].pk for c in codes]}, session=session
        )
        if not form.is_valid():
            raise serializers.ValidationError(
                [str(e) for e in form.errors.get("readers", ["Not valid."])]
            )
        return list(form.cleaned_data["readers"])


class ReadingSessionCloneSerializer(serializers.Serializer):
    """The clone's name and, optionally, its run (default: the next free run)."""

    name = serializers.CharField(max_length=200)
    run = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=32767)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = ReadingSessionCloneForm(
            {"name": attrs["name"], "run": attrs.get("run") or ""}, session=self.context["session"]
        )
        if not form.is_valid():
            raise form_errors(form)
        return dict(form.cleaned_data)
