"""Forms of the study pages: the study's settings, members, invitations, CSV, case filter."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password

from readerstudy.core.choices import CONSENSUS_RULES, DEFAULT_LIKERT_DOMAINS
from readerstudy.studies.models import Case, Reader, Study, StudyMember
from readerstudy.studies.services import StudySpec

#: The worked example's scale (BI-RADS 0-6, 4 and above positive), the form's default.
DEFAULT_CATEGORIES = (
    "0 Incomplete\n1 Negative\n2 Benign\n3 Probably benign\n4 Suspicious\n"
    "5 Highly suggestive of malignancy\n6 Known biopsy-proven malignancy"
)


SMALLINT_MIN, SMALLINT_MAX = -32768, 32767


def parse_categories(text: str) -> dict[int, str]:
    """``value label`` per line (the label optional) -> {value: label}; ``ValidationError``
    naming the line on anything else."""
    categories: dict[int, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"(-?\d+)\s*(.*)", line)
        if match is None:
            problems.append(f"line {number}: expected a whole number then a label, got {line!r}")
            continue
        value = int(match.group(1))
        if not SMALLINT_MIN <= value <= SMALLINT_MAX:
            problems.append(f"line {number}: category {value} is out of range")
            continue
        if value in categories:
            problems.append(f"line {number}: category {value} given twice")
        categories[value] = match.group(2).strip()
    if problems:
        raise forms.ValidationError(problems)
    if not categories:
        raise forms.ValidationError("Give at least one category.")
    return categories


def parse_domains(text: str) -> tuple[tuple[str, str, str], ...]:
    """``key | label | group`` per line (group optional) -> (key, label, group) tuples;
    ``ValidationError`` naming each bad line."""
    domains: list[tuple[str, str, str]] = []
    problems = []
    keys: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        key, label = parts[0], (parts[1] if len(parts) > 1 else "")
        group = parts[2] if len(parts) > 2 else ""
        if not re.fullmatch(r"[-a-zA-Z0-9_]+", key) or not label or len(parts) > 3:
            problems.append(f"line {number}: expected key | label | group, got {line.strip()!r}")
        elif key in keys:
            problems.append(f"line {number}: domain {key} given twice")
        keys.add(key)
        domains.append((key, label, group))
    if problems:
        raise forms.ValidationError(problems)
    return tuple(domains)


DEFAULT_DOMAINS = "\n".join(" | ".join(d) for d in DEFAULT_LIKERT_DOMAINS)


class StudyForm(forms.Form):
    """A study's settings. Once it holds cases the locked fields are disabled."""

    title = forms.CharField(max_length=300)
    slug = forms.SlugField(max_length=80, help_text="Short name in addresses, e.g. nme-2026.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    scale_name = forms.CharField(max_length=80, initial="BI-RADS", label="Reading scale")
    categories = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 7}),
        initial=DEFAULT_CATEGORIES,
        help_text="One category per line: its value, then its label.",
    )
    positive_threshold = forms.IntegerField(
        min_value=SMALLINT_MIN,
        max_value=SMALLINT_MAX,
        initial=4,
        help_text="A category at or above this value is a positive call.",
    )
    consensus = forms.ChoiceField(
        choices=list(CONSENSUS_RULES.items()),
        label="Consensus of repeated runs",
    )
    likert_min = forms.IntegerField(
        initial=1, label="Likert minimum", min_value=SMALLINT_MIN, max_value=SMALLINT_MAX
    )
    likert_max = forms.IntegerField(
        initial=5, label="Likert maximum", min_value=SMALLINT_MIN, max_value=SMALLINT_MAX
    )
    domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 9}),
        initial=DEFAULT_DOMAINS,
        required=False,
        label="Likert domains",
        help_text="One per line: key | label | group (the worked example's nine by default). "
        "Set at creation; change them later in the administration site.",
    )
    reference_reader = forms.ModelChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        help_text="Inter-observer agreement is measured against this reader.",
    )

    def __init__(
        self, *args: Any, study: Study | None = None, locked: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        if study is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": study.title,
                "slug": study.slug,
                "description": study.description,
                "scale_name": study.scale_name,
                "categories": "\n".join(
                    f"{c.value} {c.label}".strip() for c in study.scale_categories.all()
                ),
                "positive_threshold": study.positive_threshold,
                "consensus": study.consensus,
                "likert_min": study.likert_min,
                "likert_max": study.likert_max,
                "reference_reader": study.reference_reader_id,
            }
        super().__init__(*args, **kwargs)
        field = self.fields["reference_reader"]
        assert isinstance(field, forms.ModelChoiceField)
        if study is None:
            del self.fields["reference_reader"]
        else:
            del self.fields["domains"]
            field.queryset = Reader.objects.filter(study=study, kind=Reader.Kind.HUMAN)
        for name in locked:
            if name in self.fields:
                self.fields[name].disabled = True
                self.fields[name].help_text = "Locked: the study holds cases."

    def clean_categories(self) -> dict[int, str]:
        return parse_categories(self.cleaned_data["categories"])

    def clean_domains(self) -> tuple[tuple[str, str, str], ...]:
        return parse_domains(self.cleaned_data.get("domains", ""))

    def spec(self) -> StudySpec:
        data = self.cleaned_data
        return StudySpec(
            domains=data.get("domains", ()),
            slug=data["slug"],
            title=data["title"],
            description=data["description"],
            scale_name=data["scale_name"],
            categories=data["categories"],
            positive_threshold=data["positive_threshold"],
            consensus=data["consensus"],
            likert_min=data["likert_min"],
            likert_max=data["likert_max"],
            reference_reader=data.get("reference_reader"),
        )


ROLE_CHOICES = StudyMember.Role.choices


class MemberAddForm(forms.Form):
    """Add an existing account (by username or email) with a role."""

    user = forms.CharField(label="Username or email")
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    reader = forms.ModelChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        help_text="For a reader: the reader of the study this account reads as.",
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reader"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Reader.objects.filter(study=study, kind=Reader.Kind.HUMAN)

    def clean_user(self) -> Any:
        who = self.cleaned_data["user"].strip()
        users = get_user_model().objects
        matches = list(
            users.filter(email__iexact=who) if "@" in who else users.filter(username=who)
        )
        if len(matches) != 1:
            raise forms.ValidationError(
                f"No account with {who!r}."
                if not matches
                else f"More than one account with {who!r}."
            )
        return matches[0]


class InviteForm(forms.Form):
    """Invite someone without an account by email."""

    email = forms.EmailField()
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    reader = forms.ModelChoiceField(
        queryset=Reader.objects.none(),
        required=False,
        help_text="For a reader: the reader of the study the new account reads as.",
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reader"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Reader.objects.filter(study=study, kind=Reader.Kind.HUMAN)


class MembersCsvForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns user (a username or an email) and role; optional reader (reader id).",
    )


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(max_length=150)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif data.get("password1"):
            try:
                validate_password(data["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class CaseFilterForm(forms.Form):
    """The case list's filter (``truth`` only for coordinators) and its selection."""

    split = forms.ChoiceField(choices=[("", "Any split"), *Case.Split.choices], required=False)
    truth = forms.ChoiceField(
        choices=[("", "Any truth"), ("1", "Positive"), ("0", "Negative")], required=False
    )
    attribute = forms.CharField(required=False, help_text="An attribute column")
    value = forms.CharField(required=False, help_text="Its value (exact)")
    ids = forms.CharField(
        required=False,
        label="Case ids",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only these cases (separated by spaces, commas or new lines).",
    )
    per_class = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        label="Random n per class",
        help_text="n positives and n negatives",
    )
    seed = forms.IntegerField(required=False, initial=1, min_value=0, max_value=2**63 - 1)
