"""Serializers of the rating API.

Rater-facing serializers only ever read the blinded values of
:class:`evaluation.selectors.RaterItemView` (or the opaque id, session, position and state of a
task): no reading, reader, run, case, file name or timestamp is reachable from them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evaluation.forms import RatingSessionForm
from evaluation.models import RatingSession, RatingTask
from evaluation.selectors import TASK_STATES, RaterItemView, RaterJudgmentView
from readerstudy.core.api.forms import form_errors
from readerstudy.core.converters import INT32_MAX, INT64_MAX
from readerstudy.studies.models import Study


def item_api_url(public_id: str) -> str:
    return f"/api/rating/items/{public_id}/"


# --------------------------------------------------------------------------------------
# Raters


class RaterSessionSerializer(serializers.Serializer):
    """One of the caller's started sessions with their own progress."""

    id = serializers.IntegerField(source="session_id")
    name = serializers.CharField(source="session_name")
    study = serializers.CharField(source="study_title")
    status = serializers.CharField()
    total = serializers.IntegerField()
    submitted = serializers.IntegerField()
    percent = serializers.IntegerField()
    items = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_items(self, entry: Any) -> str:
        return f"/api/rating/items/?session={entry.session_id}"


class RaterItemLineSerializer(serializers.ModelSerializer):
    """One line of the caller's list of items: opaque id, session, place and state."""

    id = serializers.CharField(source="item.public_id")
    session = serializers.IntegerField(source="assignment.session_id")
    number = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=TASK_STATES)
    url = serializers.SerializerMethodField()

    class Meta:
        model = RatingTask
        fields = ["id", "session", "number", "state", "url"]
        read_only_fields = fields

    def get_number(self, task: RatingTask) -> int:
        return task.position + 1

    def get_url(self, task: RatingTask) -> str:
        return item_api_url(task.item.public_id)


class AnchorSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField(allow_blank=True)


class ItemDomainSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    group = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    value = serializers.IntegerField(allow_null=True)
    anchors = AnchorSerializer(
        many=True, help_text="The points of this domain's scale (its own, else the study's)."
    )


class RaterItemSerializer(serializers.Serializer):
    """The blinded item: its text, the context the session allows, the domains and the draft."""

    id = serializers.CharField(source="public_id")
    session = serializers.IntegerField(source="session_id")
    session_name = serializers.CharField()
    session_open = serializers.BooleanField()
    number = serializers.IntegerField()
    total = serializers.IntegerField()
    submitted_count = serializers.IntegerField()
    text = serializers.CharField()
    location = serializers.CharField(allow_blank=True)
    clinical_history = serializers.CharField(allow_blank=True)
    findings = serializers.CharField(allow_blank=True)
    images = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()
    anchors = serializers.SerializerMethodField()
    version = serializers.IntegerField()
    submitted = serializers.BooleanField()
    allow_amend = serializers.BooleanField()
    editable = serializers.BooleanField()
    complete = serializers.BooleanField()
    stored = serializers.DictField(child=serializers.IntegerField())
    previous = serializers.SerializerMethodField()
    next = serializers.SerializerMethodField()
    draft_url = serializers.SerializerMethodField()
    submit_url = serializers.SerializerMethodField()

    def get_draft_url(self, view: RaterItemView) -> str:
        return f"{item_api_url(view.public_id)}draft/"

    def get_submit_url(self, view: RaterItemView) -> str:
        return f"{item_api_url(view.public_id)}submit/"

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_images(self, view: RaterItemView) -> list[str]:
        return [
            f"{item_api_url(view.public_id)}images/{k}/" for k in range(1, len(view.image_urls) + 1)
        ]

    @extend_schema_field(ItemDomainSerializer(many=True))
    def get_domains(self, view: RaterItemView) -> list[dict[str, Any]]:
        return [
            {
                "key": row.key,
                "label": row.label,
                "group": group.name,
                "description": row.description,
                "value": row.value,
                "anchors": [{"value": v, "label": label} for v, label in row.points],
            }
            for group in view.groups
            for row in group.rows
        ]

    @extend_schema_field(AnchorSerializer(many=True))
    def get_anchors(self, view: RaterItemView) -> list[dict[str, Any]]:
        return [{"value": value, "label": label} for value, label in view.anchors]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previous(self, view: RaterItemView) -> str | None:
        return item_api_url(view.previous_id) if view.previous_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_next(self, view: RaterItemView) -> str | None:
        return item_api_url(view.next_id) if view.next_id else None


class JudgmentOptionSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    key = serializers.CharField()


class RaterJudgmentSerializer(serializers.Serializer):
    """A pairwise or acceptability item: blinded values only. Pairwise: ``a_text`` and
    ``b_text`` as the page shows them (A on the left); the draft's ``choice`` is ``left``
    (A better), ``tie`` or ``right`` (B better). Acceptability: ``text`` and the draft's
    ``grade``, one of ``options``."""

    id = serializers.CharField(source="public_id")
    instrument = serializers.CharField()
    session = serializers.IntegerField(source="session_id")
    session_name = serializers.CharField()
    session_open = serializers.BooleanField()
    number = serializers.IntegerField()
    total = serializers.IntegerField()
    submitted_count = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)
    a_text = serializers.CharField(source="left_text", allow_blank=True)
    b_text = serializers.CharField(source="right_text", allow_blank=True)
    location = serializers.CharField(allow_blank=True)
    clinical_history = serializers.CharField(allow_blank=True)
    findings = serializers.CharField(allow_blank=True)
    options = JudgmentOptionSerializer(many=True)
    draft = serializers.DictField()
    version = serializers.IntegerField()
    submitted = serializers.BooleanField()
    allow_amend = serializers.BooleanField()
    editable = serializers.BooleanField()
    previous = serializers.SerializerMethodField()
    next = serializers.SerializerMethodField()
    draft_url = serializers.SerializerMethodField()
    submit_url = serializers.SerializerMethodField()

    def get_draft_url(self, view: RaterJudgmentView) -> str:
        return f"{item_api_url(view.public_id)}draft/"

    def get_submit_url(self, view: RaterJudgmentView) -> str:
        return f"{item_api_url(view.public_id)}submit/"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_previous(self, view: RaterJudgmentView) -> str | None:
        return item_api_url(view.previous_id) if view.previous_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_next(self, view: RaterJudgmentView) -> str | None:
        return item_api_url(view.next_id) if view.next_id else None


class DraftSerializer(serializers.Serializer):
    """``GET``: the stored draft. ``PUT``: ``{"version", "scores"}`` (the version you hold)."""

    version = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    scores = serializers.JSONField(required=False, allow_null=True)
    submitted = serializers.BooleanField(read_only=True)


class DraftSavedSerializer(serializers.Serializer):
    version = serializers.IntegerField()


class SubmitSerializer(serializers.Serializer):
    """A submission: a client token (UUID, the same on retries), the reviewed version, and
    optionally the scores (else the stored draft is submitted)."""

    token = serializers.UUIDField()
    version = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    scores = serializers.JSONField(required=False, allow_null=True)


class SubmitResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="submitted, amended or unchanged")
    version = serializers.IntegerField()
    replayed = serializers.BooleanField()
    next = serializers.CharField(allow_null=True)


class RatingRefusalSerializer(serializers.Serializer):
    """Why a draft or submission was refused; a 409 for a stale version carries the stored
    (newer) ``version`` and ``scores``."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    version = serializers.IntegerField(required=False)
    scores = serializers.DictField(required=False)


# --------------------------------------------------------------------------------------
# Coordinators


class RatingSessionSerializer(serializers.ModelSerializer):
    """A rating session as its study's coordinators see it, with overall progress."""

    domains = serializers.SerializerMethodField()
    n_items = serializers.IntegerField()
    n_raters = serializers.IntegerField()
    tasks_total = serializers.SerializerMethodField()
    tasks_submitted = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(
        source="opened_at",
        read_only=True,
        allow_null=True,
        help_text="Deprecated: the same as ``opened_at``; removed in the next release.",
    )

    class Meta:
        model = RatingSession
        fields = [
            "id",
            "name",
            "status",
            "order",
            "seed",
            "raters_per_item",
            "allow_amend",
            "show_location",
            "show_clinical_history",
            "show_findings",
            "show_images",
            "selection",
            "domains",
            "n_items",
            "n_raters",
            "tasks_total",
            "tasks_submitted",
            "created_at",
            "opened_at",
            "started_at",
            "closed_at",
        ]
        read_only_fields = fields

    def _counts(self, session: RatingSession) -> dict[str, int]:
        counts: dict[int, dict[str, int]] = self.context.get("task_counts", {})
        return counts.get(session.pk, {"total": 0, "submitted": 0})

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_domains(self, session: RatingSession) -> list[str]:
        return [d.key for d in sorted(session.domains.all(), key=lambda d: (d.position, d.key))]

    def get_tasks_total(self, session: RatingSession) -> int:
        return self._counts(session)["total"]

    def get_tasks_submitted(self, session: RatingSession) -> int:
        return self._counts(session)["submitted"]


def _codes(values: list[Any], known: dict[str, int], what: str) -> tuple[list[int], str]:
    """The ids of ``values`` in ``known``, and a message naming those not there."""
    unknown = [str(v) for v in values if str(v) not in known]
    message = f"Not {what}: {', '.join(unknown[:20])}." if unknown else ""
    return [known[str(v)] for v in values if str(v) in known], message


class RatingSessionCreateSerializer(serializers.Serializer):
    """A new rating session: the session page's fields, with readers, raters and domains named
    by their codes, usernames and keys.

    Validated by the page's form (``RatingSessionForm``: the same rules and messages);
    ``validated_data`` holds the ``options`` and the ``raters`` (user accounts) that
    ``rating_session_create_for_users`` takes.
    """

    name = serializers.CharField(max_length=200)
    readers = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        help_text="Codes of the readers whose outputs are rated (model readers, and human "
        "readers to mix their impressions in).",
    )
    runs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=INT32_MAX),
        required=False,
        allow_empty=False,
        help_text="Which runs; default: every run of the study's readings.",
    )
    case_sample = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=INT32_MAX,
        help_text="Rate the outputs on a seeded random sample of this many cases.",
    )
    raters = serializers.ListField(
        child=serializers.CharField(max_length=150),
        allow_empty=False,
        help_text="Usernames of members of the study with the rater role.",
    )
    domains = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_empty=False,
        help_text="Keys of the study's Likert domains; default: all of them.",
    )
    raters_per_item = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=32767,
        help_text="Default: every rater scores every item; fewer spreads the items evenly.",
    )
    order = serializers.ChoiceField(
        choices=RatingSession.Order.choices, default=RatingSession.Order.RANDOM
    )
    allow_amend = serializers.BooleanField(default=False)
    show_location = serializers.BooleanField(default=True)
    show_clinical_history = serializers.BooleanField(default=True)
    show_findings = serializers.BooleanField(default=True)
    show_images = serializers.BooleanField(default=False)
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT64_MAX
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        study: Study = self.context["study"]
        blank = RatingSessionForm(study=study)  # its choices: the study's readers, raters, domains
        fields: Any = blank.fields
        readers = {r.code: r.pk for r in fields["readers"].queryset}
        raters = {u.get_username(): u.pk for u in fields["raters"].queryset}
        domains = {d.key: d.pk for d in fields["domains"].queryset}
        errors: dict[str, list[str]] = {}
        data: dict[str, Any] = {
            k: v
            for k, v in attrs.items()
            if k not in ("readers", "raters", "domains", "runs") and v is not None
        }
        for name, known, what in (
            ("readers", readers, "readers of this study"),
            ("raters", raters, "rater members of this study"),
            ("domains", domains, "Likert domains of this study"),
        ):
            values = attrs.get(name, list(known) if name == "domains" else [])
            data[name], message = _codes(values, known, what)
            if message:
                errors[name] = [message]
        if errors:
            raise serializers.ValidationError(errors)
        data["runs"] = attrs.get("runs", fields["runs"].initial)
        form = RatingSessionForm(data, study=study)
        if not form.is_valid():
            raise form_errors(form)
        return {"options": form.options(), "raters": list(form.cleaned_data["raters"])}


class RatingSessionOpenSerializer(serializers.Serializer):
    confirm_unresolved_leaks = serializers.BooleanField(
        default=False,
        help_text="Open even though some flagged items are neither redacted nor dismissed "
        "(otherwise such a session is a 409 naming ``confirm``).",
    )


class RaterProgressSerializer(serializers.Serializer):
    rater = serializers.CharField()
    username = serializers.CharField(allow_blank=True)
    total = serializers.IntegerField()
    submitted = serializers.IntegerField()
    drafts = serializers.IntegerField()
    percent = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


class RatingSessionDetailSerializer(RatingSessionSerializer):
    """A session with its progress per rater and its leak flags still unresolved."""

    progress = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()
    unresolved_flags = serializers.SerializerMethodField()

    class Meta(RatingSessionSerializer.Meta):
        fields = [*RatingSessionSerializer.Meta.fields, "progress", "flagged", "unresolved_flags"]
        read_only_fields = fields

    @extend_schema_field(RaterProgressSerializer(many=True))
    def get_progress(self, session: RatingSession) -> list[dict[str, Any]]:
        # many=True makes a ListSerializer, whose data is a list; the stubs type the child's dict.
        return RaterProgressSerializer(self.context["progress"], many=True).data  # type: ignore[return-value]

    def get_flagged(self, session: RatingSession) -> int:
        return len(self.context["flagged"])

    def get_unresolved_flags(self, session: RatingSession) -> int:
        return sum(1 for f in self.context["flagged"] if not f.dismissed)


class KeyRowSerializer(serializers.Serializer):
    """One row of the unblinding key: which output an item is."""

    item = serializers.CharField(source="public_id")
    session_position = serializers.IntegerField(source="position")
    reader_id = serializers.CharField(source="reader")
    kind = serializers.CharField(source="reader_kind")
    label = serializers.CharField(source="reader_label", allow_blank=True)
    run = serializers.IntegerField()
    modality = serializers.IntegerField()
    case_id = serializers.CharField(source="case")
    redacted = serializers.BooleanField()
