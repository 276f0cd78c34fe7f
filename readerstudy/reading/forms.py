"""Forms of reading sessions: the coordinator's session form and the reader's answer form."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from readerstudy.core.converters import INT32_MAX, INT64_MAX
from readerstudy.core.forms import form_field
from readerstudy.reading.models import ReadingDesign, ReadingSession
from readerstudy.reading.selectors import reading_default_modality, reading_session_collisions
from readerstudy.reading.services import (
    ReadingAnswer,
    ReadingDesignOptions,
    ReadingSessionOptions,
)
from readerstudy.studies.access import has_study_role
from readerstudy.studies.models import Case, Reader, Study

MAX_IMPRESSION = 20_000
MAX_ACTIVE_SECONDS = 7 * 24 * 3600


class ReadingSessionForm(forms.Form):
    """Create a reading session of one study."""

    name = forms.CharField(max_length=200)
    split = forms.ChoiceField(choices=Case.Split.choices, initial=Case.Split.TEST)
    readers = forms.ModelMultipleChoiceField(
        queryset=Reader.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Human readers linked to a user account.",
    )
    cases = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Case subset",
        help_text=(
            "Case ids separated by spaces, commas or new lines, in the fixed order. "
            "Leave empty for every case of the split (in the study's order)."
        ),
    )
    order = forms.ChoiceField(
        choices=ReadingSession.Order.choices,
        initial=ReadingSession.Order.RANDOM,
        widget=forms.RadioSelect,
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=INT64_MAX,
        help_text="Leave empty for a new random seed (stored with the session and exported).",
    )
    split_plot_groups = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        initial=1,
        label="Reader groups (split-plot)",
        help_text=(
            "1: every reader reads every case. 2 or more: the readers are split into this many "
            "groups and the cases into as many disjoint blocks (seeded, balanced by truth); "
            "each reader reads only their group's block."
        ),
    )
    show_images = forms.BooleanField(required=False, initial=True, label="Images")
    show_location = forms.BooleanField(required=False, initial=True, label="Lesion location")
    show_clinical_history = forms.BooleanField(required=False, label="Clinical history")
    show_findings = forms.BooleanField(required=False, label="Findings text")
    require_impression = forms.BooleanField(
        required=False, initial=True, label="An impression is required"
    )
    allow_amend = forms.BooleanField(
        required=False, label="Readers may amend submitted answers (history is kept)"
    )
    run = forms.IntegerField(min_value=1, max_value=32767, initial=1)
    modality = forms.IntegerField(
        min_value=1,
        max_value=32767,
        help_text="The test condition the readings are stored under (e.g. 2 for a re-read "
        "or an AI-assisted read); it must not hold readings of these readers and cases yet.",
    )
    assist_reader = forms.ModelChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        label="AI assistance",
        empty_label="None (unaided reading)",
        help_text="Readers see this model's consensus category and impression for each case.",
    )

    def __init__(
        self, *args: Any, study: Study, editing: ReadingSession | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.study = study
        #: The draft being edited: its own name is free, and its own cases do not clash
        #: (the service checks the clashes again once the draft's are gone).
        self.editing = editing
        form_field(self, "readers", forms.ModelChoiceField).queryset = Reader.objects.filter(
            study=study, kind=Reader.Kind.HUMAN, user__isnull=False
        ).order_by("position", "code")
        form_field(self, "readers", forms.ModelChoiceField).label_from_instance = lambda r: (
            f"{r.code} ({r.user.get_username()}){' – ' + r.label if r.label else ''}"
        )
        form_field(self, "assist_reader", forms.ModelChoiceField).queryset = Reader.objects.filter(
            study=study, kind=Reader.Kind.MODEL
        ).order_by("position", "code")
        form_field(self, "assist_reader", forms.ModelChoiceField).label_from_instance = lambda r: (
            f"{r.code}{' – ' + r.label if r.label else ''}"
        )
        self.fields["modality"].initial = reading_default_modality(study=study)
        self.case_list: list[Case] | None = None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = ReadingSession.objects.filter(study=self.study, name=name)
        if self.editing is not None:
            others = others.exclude(pk=self.editing.pk)
        if others.exists():
            raise forms.ValidationError("This study already has a session with this name.")
        return name

    def clean_readers(self) -> list[Reader]:
        readers = list(self.cleaned_data["readers"])
        missing = [r.code for r in readers if not has_study_role(r.user, self.study, "reader")]
        if missing:
            raise forms.ValidationError(
                f"Not a reader member of this study (give the account the reader role first): "
                f"{', '.join(missing)}."
            )
        return readers

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns (typed "| None" by the stubs)
        split = data.get("split")
        if split and "cases" in data:
            codes = [c for c in re.split(r"[\s,;]+", data["cases"]) if c]
            if codes:
                duplicates = sorted({c for c in codes if codes.count(c) > 1})
                if duplicates:
                    self.add_error("cases", f"Listed more than once: {', '.join(duplicates)}.")
                by_code = {c.code: c for c in Case.objects.filter(study=self.study, code__in=codes)}
                unknown = [c for c in codes if c not in by_code]
                if unknown:
                    self.add_error(
                        "cases", f"Not case ids of this study: {', '.join(unknown[:20])}."
                    )
                wrong = [c for c in codes if c in by_code and by_code[c].split != split]
                if wrong:
                    self.add_error("cases", f"Not in the {split} split: {', '.join(wrong[:20])}.")
                if not self.has_error("cases"):
                    self.case_list = [by_code[c] for c in codes]
            else:
                self.case_list = list(
                    Case.objects.filter(study=self.study, split=split).order_by("position", "code")
                )
                if not self.case_list:
                    self.add_error("split", f"The study has no {split} cases.")
        readers = data.get("readers")
        groups = data.get("split_plot_groups") or 1
        if readers and groups > len(readers):
            self.add_error(
                "split_plot_groups",
                f"More groups ({groups}) than chosen readers ({len(readers)}).",
            )
        if self.case_list and groups > len(self.case_list):
            self.add_error(
                "split_plot_groups",
                f"More groups ({groups}) than cases ({len(self.case_list)}).",
            )
        checkable = self.editing is None and self.case_list
        if readers and checkable and data.get("run") and data.get("modality"):
            problems = reading_session_collisions(
                study=self.study,
                readers=readers,
                cases=self.case_list,
                run=data["run"],
                modality=data["modality"],
            )
            if problems:
                self.add_error(
                    "modality", "; ".join(problems) + ". Choose another modality or run."
                )
        return data

    def options(self) -> ReadingSessionOptions:
        """The session the valid form describes (its cases in the order given)."""
        data = self.cleaned_data
        return ReadingSessionOptions(
            name=data["name"],
            readers=data["readers"],
            split=data["split"],
            cases=self.case_list,
            order=data["order"],
            seed=data["seed"],
            run=data["run"],
            modality=data["modality"],
            show_images=data["show_images"],
            show_location=data["show_location"],
            show_clinical_history=data["show_clinical_history"],
            show_findings=data["show_findings"],
            require_impression=data["require_impression"],
            allow_amend=data["allow_amend"],
            assist_reader=data["assist_reader"],
            split_plot_groups=data.get("split_plot_groups") or 1,
        )


class ReadingDesignForm(ReadingSessionForm):
    """Create a crossover design: an unaided and an aided session over the same cases and
    readers (the session form's fields, plus the conditions, their order and the washout).

    ``modality`` is the unaided condition's, ``assist_reader`` (required) the aided one's AI.
    """

    aided_modality = forms.IntegerField(
        min_value=1,
        max_value=32767,
        help_text="The modality the aided readings are stored under (not the unaided one).",
    )
    condition_order = forms.ChoiceField(
        choices=ReadingDesign.ConditionOrder.choices,
        initial=ReadingDesign.ConditionOrder.COUNTERBALANCED,
        widget=forms.RadioSelect,
        label="Order of the conditions",
    )
    washout_days = forms.IntegerField(
        min_value=0,
        max_value=32767,
        initial=28,
        label="Washout (days)",
        help_text="A reader's second session opens for them only this many days after their "
        "last reading of the first.",
    )
    ai_draft = forms.BooleanField(
        required=False,
        label="Editable AI draft: the aided impression starts as the model's impression",
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, study=study, **kwargs)
        self.fields["modality"].label = "Unaided modality"
        self.fields["modality"].help_text = "The modality the unaided readings are stored under."
        self.fields["order"].label = "Case order (per reader and condition)"
        assist = form_field(self, "assist_reader", forms.ModelChoiceField)
        assist.required = True
        assist.empty_label = None
        assist.label = "AI of the aided condition"
        self.fields["aided_modality"].initial = reading_default_modality(study=study) + 1

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ReadingDesign.objects.filter(study=self.study, name=name).exists():
            raise forms.ValidationError("This study already has a design with this name.")
        names = [ReadingDesign.session_name(name, c) for c in ("unaided", "aided")]
        taken = ReadingSession.objects.filter(study=self.study, name__in=names)
        for session_name in taken.values_list("name", flat=True)[:1]:
            raise forms.ValidationError(f"This study already has a session named “{session_name}”.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        aided = data.get("aided_modality")
        if aided is not None and aided == data.get("modality"):
            self.add_error("aided_modality", "Must differ from the unaided modality.")
        elif aided is not None and data.get("readers") and self.case_list and data.get("run"):
            problems = reading_session_collisions(
                study=self.study,
                readers=data["readers"],
                cases=self.case_list,
                run=data["run"],
                modality=aided,
            )
            if problems:
                self.add_error(
                    "aided_modality", "; ".join(problems) + ". Choose another modality or run."
                )
        return data

    def design_options(self) -> ReadingDesignOptions:
        """The design the valid form describes."""
        data = self.cleaned_data
        return ReadingDesignOptions(
            base=self.options(),
            aided_modality=data["aided_modality"],
            assist_reader=data["assist_reader"],
            washout_days=data["washout_days"],
            counterbalance=data["condition_order"] == ReadingDesign.ConditionOrder.COUNTERBALANCED,
            ai_draft=data["ai_draft"],
        )


class ReadingSessionReadersForm(forms.Form):
    """More readers for a draft or open session: reader members not in it yet."""

    readers = forms.ModelMultipleChoiceField(
        queryset=Reader.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Each gets the session's cases in an order from its seed; nobody else's "
        "work changes.",
    )

    def __init__(self, *args: Any, session: ReadingSession, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        field = form_field(self, "readers", forms.ModelChoiceField)
        field.queryset = (
            Reader.objects.filter(study=session.study, kind=Reader.Kind.HUMAN, user__isnull=False)
            .exclude(reading_assignments__session=session)
            .order_by("position", "code")
        )
        field.label_from_instance = lambda r: f"{r.code} ({r.user.get_username()})"

    def clean_readers(self) -> list[Reader]:
        readers = list(self.cleaned_data["readers"])
        study = self.session.study
        missing = [r.code for r in readers if not has_study_role(r.user, study, "reader")]
        if missing:
            raise forms.ValidationError(
                f"Not a reader member of this study (give the account the reader role first): "
                f"{', '.join(missing)}."
            )
        return readers


class ReadingSessionCloneForm(forms.Form):
    """The name (and optionally the run) of a session's clone."""

    name = forms.CharField(max_length=200)
    run = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=32767,
        help_text="Leave empty for the next run that holds no readings of these readers and "
        "cases (a re-read).",
    )

    def __init__(self, *args: Any, session: ReadingSession, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.fields["name"].initial = f"{session.name} (copy)"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if ReadingSession.objects.filter(study=self.session.study, name=name).exists():
            raise forms.ValidationError("This study already has a session with this name.")
        return name


class ReadingForm(forms.Form):
    """A reader's answer on one case, with the form's idempotency token and base version."""

    category = forms.TypedChoiceField(coerce=int, widget=forms.RadioSelect, label="Category")
    probability = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Probability of malignancy (%)",
        help_text="Optional, 0–100.",
        widget=forms.NumberInput(attrs={"step": 1, "inputmode": "numeric"}),
    )
    impression = forms.CharField(
        max_length=MAX_IMPRESSION,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Impression",
    )
    token = forms.UUIDField(widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, max_value=INT32_MAX, widget=forms.HiddenInput)
    active_seconds = forms.FloatField(
        required=False, min_value=0, max_value=MAX_ACTIVE_SECONDS, widget=forms.HiddenInput
    )

    def __init__(
        self, *args: Any, scale: list[tuple[int, str]], require_impression: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "category", forms.ChoiceField).choices = [
            (value, f"{value}{' – ' + label if label else ''}") for value, label in scale
        ]
        self.fields["impression"].required = require_impression
        if not require_impression:
            self.fields["impression"].help_text = "Optional."

    def clean_impression(self) -> str:
        return self.cleaned_data["impression"].strip().replace("\r\n", "\n")

    def answer(self) -> ReadingAnswer:
        """The answer the valid form gives."""
        data = self.cleaned_data
        return ReadingAnswer(
            category=data["category"],
            probability=data["probability"],
            impression=data["impression"],
            active_seconds=data["active_seconds"],
        )


class ReadingDraftForm(forms.Form):
    """The autosaved, unsubmitted input of the reading form (every answer field optional).

    ``version`` is the work's version the page showed; the impression is kept as typed.
    """

    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    probability = forms.IntegerField(required=False, min_value=0, max_value=100)
    impression = forms.CharField(required=False, strip=False, max_length=MAX_IMPRESSION)
    version = forms.IntegerField(min_value=0, max_value=INT32_MAX)
    active_seconds = forms.FloatField(required=False, min_value=0, max_value=MAX_ACTIVE_SECONDS)

    def __init__(self, *args: Any, scale: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "category", forms.ChoiceField).choices = [
            ("", ""),
            *[(value, value) for value, _ in scale],
        ]
