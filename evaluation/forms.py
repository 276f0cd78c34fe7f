"""Forms of the rating pages. Each validates its input and names the field in its messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from evaluation.models import REFERENCE_READER, Instrument, LikertDomain, RatingSession
from evaluation.services import RatingSessionOptions
from readerstudy.core.converters import INT32_MAX, INT64_MAX
from readerstudy.core.forms import form_field
from readerstudy.studies.models import Reader, Reading, Study, StudyMember


class ReaderChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Reader) -> str:
        kind = "model" if obj.kind == Reader.Kind.MODEL else "human"
        return f"{obj.code} ({kind}{', ' + obj.label if obj.label else ''})"


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_username()


class DomainChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: LikertDomain) -> str:
        return f"{obj.label} ({obj.group})" if obj.group else obj.label


class RatingSessionForm(forms.Form):
    """Create a rating session: which outputs, which raters, which domains, what context."""

    name = forms.CharField(max_length=200)
    instrument = forms.ChoiceField(
        required=False,
        choices=Instrument.choices,
        initial=Instrument.LIKERT,
        widget=forms.RadioSelect,
        help_text="Likert: each output scored on the domains. Pairwise: two outputs of a case "
        "side by side (A/B). Acceptability: each output graded on the study's scale. Error "
        "annotation: raters mark spans of each output with a category of the study's taxonomy "
        "and its clinical significance, or 'no errors'.",
    )
    include_reference = forms.BooleanField(
        required=False,
        label="Also the case's reference impression (acceptability, error annotation)",
        help_text="Mixed blind with the outputs: raters cannot tell it from them.",
    )
    pairs = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Pairs of sources (pairwise)",
        help_text=f"One pair a line, as reader codes: 'M1 vs M2', or 'M1 vs {REFERENCE_READER}' "
        "for the case's reference impression.",
    )
    readers = ReaderChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Whose outputs are rated: model readers, and human readers to mix their "
        "impressions in.",
    )
    runs = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, help_text="Which runs of the models."
    )
    case_sample = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        label="Limit to a random sample of cases",
        help_text="Leave empty to rate the outputs on every case.",
    )
    raters = UserChoiceField(
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of the study with the rater role.",
    )
    domains = DomainChoiceField(
        queryset=LikertDomain.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Likert sessions only.",
    )
    raters_per_item = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=32767,
        label="Raters per item",
        help_text="Leave empty for every rater to score every item; fewer spreads the items "
        "evenly (balanced assignment).",
    )
    order = forms.ChoiceField(
        choices=RatingSession.Order.choices,
        initial=RatingSession.Order.RANDOM,
        widget=forms.RadioSelect,
    )
    allow_amend = forms.BooleanField(
        required=False, label="Raters may amend submitted scores (history is kept)"
    )
    show_location = forms.BooleanField(required=False, initial=True, label="Show the location")
    show_clinical_history = forms.BooleanField(
        required=False, initial=True, label="Show the clinical history"
    )
    show_findings = forms.BooleanField(required=False, initial=True, label="Show the findings")
    show_images = forms.BooleanField(required=False, label="Show the images")
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=INT64_MAX,
        help_text="Leave empty for a new random seed; the seed is stored and exported.",
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.study = study
        form_field(self, "readers", forms.ModelChoiceField).queryset = Reader.objects.filter(
            study=study
        ).order_by("position", "code")
        runs = sorted(
            set(Reading.objects.filter(case__study=study).values_list("run", flat=True).distinct())
        ) or [1]
        form_field(self, "runs", forms.ChoiceField).choices = [(r, f"Run {r}") for r in runs]
        self.fields["runs"].initial = runs
        rater_users = StudyMember.objects.filter(
            study=study, role=StudyMember.Role.RATER
        ).values_list("user_id", flat=True)
        form_field(self, "raters", forms.ModelChoiceField).queryset = (
            get_user_model()
            .objects.filter(pk__in=rater_users, groups__name="rater")
            .order_by("username")
        )
        domains = form_field(self, "domains", forms.ModelChoiceField)
        domains.queryset = LikertDomain.objects.filter(study=study).order_by("position", "key")
        domains.initial = list(domains.queryset)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns (typed "| None" by the stubs)
        instrument = data.get("instrument") or Instrument.LIKERT
        data["instrument"] = instrument
        if instrument == Instrument.PAIRWISE:
            data["pair_list"] = self._pairs(data.get("pairs") or "")
        elif not data.get("readers"):
            self.add_error("readers", "Choose at least one reader.")
        if instrument == Instrument.LIKERT and not data.get("domains"):
            self.add_error("domains", "Choose at least one domain.")
        raters = data.get("raters")
        per_item = data.get("raters_per_item")
        if raters is not None and per_item is not None and per_item > len(raters):
            self.add_error(
                "raters_per_item",
                f"Must be at most the number of raters chosen ({len(raters)}).",
            )
        return data

    def _pairs(self, text: str) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.replace(" VS ", " vs ").split(" vs ")]
            if len(parts) != 2 or not all(parts):
                self.add_error("pairs", f"line {number}: write 'A vs B' ({line.strip()!r})")
                continue
            pairs.append((parts[0], parts[1]))
        if not pairs and "pairs" not in self.errors:
            self.add_error("pairs", "Give at least one pair of sources, e.g. 'M1 vs M2'.")
        return pairs

    def options(self) -> RatingSessionOptions:
        """The session the valid form describes (every rater rates an item by default)."""
        data = self.cleaned_data
        pairs: list[tuple[str, str]] = data.get("pair_list", [])
        readers = list(data["readers"] or [])
        if data["instrument"] == Instrument.PAIRWISE:
            codes = {c for pair in pairs for c in pair}
            readers = list(Reader.objects.filter(study=self.study, code__in=codes))
        return RatingSessionOptions(
            name=data["name"],
            instrument=data["instrument"],
            pairs=pairs,
            include_reference=data.get("include_reference", False),
            readers=readers,
            runs=data["runs"],
            domains=list(data["domains"] or []),
            raters_per_item=data["raters_per_item"] or len(data["raters"]),
            order=data["order"],
            allow_amend=data["allow_amend"],
            show_findings=data["show_findings"],
            show_clinical_history=data["show_clinical_history"],
            show_location=data["show_location"],
            show_images=data["show_images"],
            case_sample=data["case_sample"],
            seed=data["seed"],
        )


class RedactForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        label="Text shown to raters",
        help_text="Remove what identifies the source; it is normalised and checked again.",
    )


class StartSessionForm(forms.Form):
    confirm = forms.BooleanField(
        required=False,
        label="Start even though some flagged items are neither redacted nor dismissed",
    )


class UnblindForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that statisticians' exports will show real reader ids from now on"
    )


class VersionForm(forms.Form):
    """The version a no-script rating form was showing."""

    version = forms.IntegerField(min_value=0, max_value=INT32_MAX)


class DraftPayload(forms.Form):
    """The JSON body of a draft save: ``{"version": n, "scores": {domain: score}}``."""

    version = forms.IntegerField(min_value=0, max_value=INT32_MAX)
    scores = forms.JSONField(required=False)

    def clean_scores(self) -> Any:
        scores = self.cleaned_data.get("scores")
        return {} if scores is None else scores


class SubmitPayload(forms.Form):
    """A submission: client token (UUID), the reviewed version, optionally the scores."""

    token = forms.UUIDField()
    version = forms.IntegerField(min_value=0, max_value=INT32_MAX)
    scores = forms.JSONField(required=False)


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object, with JSON-encoded nested values as the forms expect."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise forms.ValidationError("body: not valid JSON") from exc
    if not isinstance(data, dict):
        raise forms.ValidationError("body: expected a JSON object")
    if "scores" in data and data["scores"] is not None:
        data["scores"] = json.dumps(data["scores"])
    return data


def first_error(form: forms.Form) -> tuple[str, str]:
    """``(field, message)`` of a form's first error, for JSON responses."""
    for field, errors in form.errors.items():
        return field, f"{field}: {errors[0]}"
    return "", "invalid input"


def new_token() -> uuid.UUID:
    return uuid.uuid4()


class AddRatersForm(forms.Form):
    """Rater members of the study not yet in a (Likert) session."""

    raters = UserChoiceField(
        queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Each gets every item of the session; nobody else's items or scores change.",
    )

    def __init__(self, *args: Any, session: RatingSession, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        in_session = session.assignments.values_list("rater__user_id", flat=True)
        members = StudyMember.objects.filter(
            study=session.study, role=StudyMember.Role.RATER
        ).values_list("user_id", flat=True)
        form_field(self, "raters", forms.ModelChoiceField).queryset = (
            get_user_model()
            .objects.filter(pk__in=members, groups__name="rater")
            .exclude(pk__in=[u for u in in_session if u is not None])
            .order_by("username")
        )
