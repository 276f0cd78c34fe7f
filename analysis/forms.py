"""The dashboard's filters (query string), validated like any other form."""

from __future__ import annotations

from typing import Any

from django import forms

from analysis.charts import LikertRange
from analysis.results import AnalysisOptions
from analysis.selectors import Pseudonyms, study_readers
from readerstudy.models import Reading, Study
from readerstudy.pseudonyms import IDS_CHOICES as IDS_VALUES

SPLIT_CHOICES = [("test", "Test set"), ("train", "Training set"), ("all", "All cases")]
IDS_LABELS = {"real": "Real ids", "pseudonymous": "Pseudonyms"}
IDS_CHOICES = [(value, IDS_LABELS[value]) for value in IDS_VALUES]


class AnalysisFilterForm(forms.Form):
    """Filters of the analysis dashboard and of its downloads (all optional)."""

    split = forms.ChoiceField(choices=SPLIT_CHOICES, required=False, initial="test")
    readers = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all readers."
    )
    runs = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: all runs.",
    )
    likert_min = forms.FloatField(required=False, label="Likert radar from")
    likert_max = forms.FloatField(required=False, label="to")
    ids = forms.ChoiceField(choices=IDS_CHOICES, required=False, label="Identifiers")

    def __init__(self, *args: Any, study: Study, allow_real_ids: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.study = study
        self.allow_real_ids = allow_real_ids
        if not allow_real_ids:
            del self.fields["ids"]
        runs = (
            Reading.objects.filter(case__study=study)
            .order_by("run")
            .values_list("run", flat=True)
            .distinct()
        )
        self.fields["runs"].choices = [(r, f"Run {r}") for r in runs]

    def set_reader_choices(self, pseudonymous: bool) -> None:
        readers = study_readers(self.study, Pseudonyms(self.study.slug, pseudonymous))
        self.fields["readers"].choices = [(r, r) for r in readers["reader_id"]]

    def wants_pseudonyms(self) -> bool:
        """Pseudonymous ids unless real ones are allowed and asked for (default real)."""
        if not self.allow_real_ids:
            return True
        raw = self.data.get("ids") if self.is_bound else None
        return raw == "pseudonymous"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("likert_min"), data.get("likert_max")
        if (low is None) != (high is None):
            self.add_error("likert_max", "Give both ends of the Likert radial range, or neither.")
        elif low is not None and high is not None and not low < high:
            self.add_error("likert_max", "The end of the radial range must be above its start.")
        return data

    def options(self) -> AnalysisOptions:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        readers = tuple(data.get("readers") or ()) or None
        runs = tuple(data.get("runs") or ()) or None
        return AnalysisOptions(split=data.get("split") or "test", readers=readers, runs=runs)

    def likert_range(self) -> LikertRange:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("likert_min") is None:
            return None
        return (float(data["likert_min"]), float(data["likert_max"]))
