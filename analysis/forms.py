"""The dashboard's filters (query string), validated like any other form."""

from __future__ import annotations

from typing import Any

from django import forms

from analysis.charts import LikertRange
from analysis.results import AnalysisOptions
from analysis.selectors import (
    SPLITS,
    Pseudonyms,
    study_modalities,
    study_modality_labels,
    study_readers,
)
from analysis.stats.choices import (
    KAPPA_CI_METHODS,
    MRMC_COVARIANCES,
    P_ADJUST_METHODS,
    P_ADJUST_NAMES,
    PROPORTION_CI_METHODS,
)
from readerstudy.core.forms import form_field
from readerstudy.studies.models import CaseSplit, Reading, Study
from readerstudy.studies.pseudonyms import IDS_CHOICES as IDS_VALUES

#: The case selections (``SPLITS``, the one list): a split of ``CaseSplit``, or every case.
SPLIT_CHOICES = [
    (value, f"{CaseSplit(value).label} set" if value in CaseSplit.values else "All cases")
    for value in SPLITS
]
IDS_LABELS = {"real": "Real ids", "pseudonymous": "Pseudonyms"}
IDS_CHOICES = [(value, IDS_LABELS[value]) for value in IDS_VALUES]

#: Labels of the statistical options (the values themselves come from analysis.stats.choices).
KAPPA_CI_LABELS: dict[str, str] = {
    "gwet": "Gwet's variance (valid at any κ)",
    "spss": "SPSS (Fleiss–Nee–Landis, as the worked example)",
}
PROPORTION_CI_LABELS: dict[str, str] = {"exact": "Clopper–Pearson exact", "wilson": "Wilson"}
MRMC_COVARIANCE_LABELS: dict[str, str] = {
    "jackknife": "Jackknife (Iowa)",
    "delong": "DeLong",
    "unbiased": "Unbiased (Gallas)",
}


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
    modality = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Modality",
        widget=forms.Select(attrs={"aria-describedby": "modality-help"}),
        help_text="Of the per-reader tables and figures (MRMC always compares all).",
    )
    likert_min = forms.FloatField(required=False, label="Likert radar from")
    likert_max = forms.FloatField(required=False, label="to")
    ids = forms.ChoiceField(choices=IDS_CHOICES, required=False, label="Identifiers")
    kappa_ci = forms.ChoiceField(
        choices=[(k, KAPPA_CI_LABELS[k]) for k in KAPPA_CI_METHODS],
        required=False,
        label="Fleiss κ CI",
    )
    proportion_ci = forms.ChoiceField(
        choices=[(k, PROPORTION_CI_LABELS[k]) for k in PROPORTION_CI_METHODS],
        required=False,
        label="Sensitivity, specificity … CI",
    )
    p_adjust = forms.ChoiceField(
        choices=[("", "Default (Dunn: Bonferroni; DeLong, McNemar: none)")]
        + [(k, "None" if k == "none" else P_ADJUST_NAMES[k]) for k in P_ADJUST_METHODS],
        required=False,
        label="P-value adjustment",
        help_text="Within each family: DeLong pairs, McNemar tests of a metric, Dunn pairs of a run.",
    )
    mrmc_covariance = forms.ChoiceField(
        choices=[(k, MRMC_COVARIANCE_LABELS[k]) for k in MRMC_COVARIANCES],
        required=False,
        label="MRMC covariance",
    )

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
        form_field(self, "runs", forms.ChoiceField).choices = [(r, f"Run {r}") for r in runs]
        labels = study_modality_labels(study)
        self.modalities = study_modalities(study)
        form_field(self, "modality", forms.ChoiceField).choices = [
            (m, f"{m} ({labels[m]})" if m in labels else str(m)) for m in self.modalities
        ]
        if self.modalities:
            self.fields["modality"].initial = self.modalities[0]

    #: The statistical options shown together on the dashboard.
    STATISTICS_FIELDS: tuple[str, ...] = (
        "kappa_ci",
        "proportion_ci",
        "p_adjust",
        "mrmc_covariance",
    )

    def statistics_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.STATISTICS_FIELDS]

    def set_reader_choices(self, pseudonymous: bool) -> None:
        readers = study_readers(self.study, Pseudonyms(self.study.slug, pseudonymous))
        form_field(self, "readers", forms.ChoiceField).choices = [
            (r, r) for r in readers["reader_id"]
        ]

    def wants_pseudonyms(self) -> bool:
        """Pseudonymous ids unless real ones are allowed and asked for (default real)."""
        if not self.allow_real_ids:
            return True
        raw = self.data.get("ids") if self.is_bound else None
        return raw == "pseudonymous"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns (typed "| None" by the stubs)
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
        return AnalysisOptions(
            split=data.get("split") or "test",
            readers=readers,
            runs=runs,
            modality=data.get("modality"),
            kappa_ci=data.get("kappa_ci") or "gwet",
            proportion_ci=data.get("proportion_ci") or "exact",
            p_adjust=data.get("p_adjust") or {},
            mrmc_covariance=data.get("mrmc_covariance") or "jackknife",
        )

    def likert_range(self) -> LikertRange:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("likert_min") is None:
            return None
        return (float(data["likert_min"]), float(data["likert_max"]))


class PlanningForm(forms.Form):
    """Inputs of the sample-size planning page (one calculation at a time)."""

    KINDS = (
        ("auc", "Single AUC: CI half-width"),
        ("sens-spec", "Sensitivity / specificity: CI half-width (Buderer)"),
        ("two-auc", "Two correlated AUCs"),
        ("kappa", "Cohen's κ (two raters, binary)"),
        ("noninferiority", "Proportion at least reference − margin"),
        ("mrmc", "OR-MRMC power: readers × cases"),
    )
    kind = forms.ChoiceField(choices=KINDS, initial="auc")
    auc = forms.FloatField(required=False, initial=0.8, help_text="expected AUC (auc)")
    half_width = forms.FloatField(required=False, initial=0.05)
    ratio = forms.FloatField(required=False, initial=1.0, help_text="negatives per positive")
    confidence = forms.FloatField(required=False, initial=0.95)
    auc_method = forms.ChoiceField(
        choices=(("hanley_mcneil", "Hanley–McNeil"), ("obuchowski", "Obuchowski")),
        initial="hanley_mcneil",
        required=False,
    )
    expected = forms.FloatField(required=False, initial=0.9, help_text="sens-spec, noninferiority")
    prevalence = forms.FloatField(required=False, initial=0.2)
    measure = forms.ChoiceField(
        choices=(("sensitivity", "sensitivity"), ("specificity", "specificity")),
        initial="sensitivity",
        required=False,
    )
    auc1 = forms.FloatField(required=False, initial=0.8)
    auc2 = forms.FloatField(required=False, initial=0.9)
    r_positive = forms.FloatField(required=False, initial=0.5)
    r_negative = forms.FloatField(required=False, initial=0.5)
    rate1 = forms.FloatField(required=False, initial=0.5)
    rate2 = forms.FloatField(required=False, initial=0.5)
    kappa1 = forms.FloatField(required=False, initial=0.8)
    kappa0 = forms.FloatField(required=False, initial=0.6)
    reference = forms.FloatField(required=False, initial=0.9)
    margin = forms.FloatField(required=False, initial=0.1)
    alpha = forms.FloatField(required=False, initial=0.05)
    power = forms.FloatField(required=False, initial=0.8)
    var_tr = forms.FloatField(required=False, initial=0.00020040252358)
    var_error = forms.FloatField(required=False, initial=0.00080228826557)
    cov1 = forms.FloatField(required=False, initial=0.00034661370944)
    cov2 = forms.FloatField(required=False, initial=0.00034407482886)
    cov3 = forms.FloatField(required=False, initial=0.00023902837089)
    pilot_cases = forms.IntegerField(required=False, initial=114)
    effect_size = forms.FloatField(required=False, initial=0.0438)
    readers = forms.CharField(required=False, initial="4,6,10,15")
    cases = forms.CharField(required=False, initial="50,100,150,200,300")

    def value(self, name: str) -> Any:
        """The cleaned value, or the field's initial value when left empty."""
        got = self.cleaned_data.get(name)
        return self.fields[name].initial if got in (None, "") else got

    def int_list(self, name: str) -> list[int]:
        text = str(self.value(name))
        try:
            return [int(x) for x in text.split(",") if x.strip()]
        except ValueError as exc:
            raise ValueError(f"{name}: expected comma-separated integers, got {text!r}") from exc
