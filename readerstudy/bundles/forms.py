"""The form of the web's bundle upload."""

from __future__ import annotations

import zipfile
from typing import Any

from django import forms
from django.conf import settings

from readerstudy.bundles.limits import SETTING, size_text
from readerstudy.studies.models import Study


class BundleUploadForm(forms.Form):
    """A .zip of a bundle; replacing a study's data must be chosen and confirmed."""

    bundle = forms.FileField(
        label="Bundle (.zip)",
        help_text="A .zip of the bundle folder: study.toml, cases.csv, readers.csv, "
        "readings.csv, optional tables and images/ (docs/bundle.md).",
    )
    replace = forms.BooleanField(
        required=False,
        label="Replace the study's cases, readers, readings, scores and sessions",
        help_text="Members, invitations and the audit log stay; accounts stay linked to "
        "readers and raters of the same id.",
    )
    confirm_slug = forms.CharField(
        required=False,
        max_length=100,
        label="To confirm the replacement, type the study's slug",
    )

    def __init__(
        self, *args: Any, study: Study | None = None, has_data: bool = False, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.study = study
        self.has_data = has_data
        if not has_data:
            del self.fields["replace"]
            del self.fields["confirm_slug"]

    def clean_bundle(self) -> Any:
        upload = self.cleaned_data["bundle"]
        limit = settings.BUNDLE_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name}: larger than {size_text(limit)} ({SETTING['max_bytes']})"
            )
        if not zipfile.is_zipfile(upload):
            raise forms.ValidationError(f"{upload.name}: not a .zip file")
        upload.seek(0)
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_data and self.study is not None:
            if not data.get("replace"):
                self.add_error(
                    "replace",
                    f"This study holds {self.study.cases.count():,} cases: importing a bundle "
                    "replaces its data, so choose to replace it (or create a new study).",
                )
            elif (data.get("confirm_slug") or "").strip() != self.study.slug:
                self.add_error("confirm_slug", f"Type {self.study.slug} to confirm.")
        return data
