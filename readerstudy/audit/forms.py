"""Forms of the core app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.core.throttle import login_attempt_reserve, login_attempt_succeeded, wait_text


class ThrottleMixin:
    """Count the attempt before the password is checked (readerstudy.core.throttle); refuse it
    without a check while the username or the client address must wait."""

    request: Any
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # type: ignore[misc]  # no password is checked
        origin = audit_origin(self.request)
        ip = origin.ip
        wait = login_attempt_reserve(username=username, ip=ip)
        if wait:
            audit_record(
                action="login_throttled",
                origin=origin,
                target=username[:150],
                details={"wait_seconds": wait},
            )
            raise forms.ValidationError(
                f"Too many failed sign-ins. Try again in {wait_text(wait)}.", code="throttled"
            )
        cleaned = super().clean()  # type: ignore[misc]  # raises unless the password is right
        if self.get_user() is not None:  # type: ignore[attr-defined]
            login_attempt_succeeded(username=username, ip=ip)
        return cleaned


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    """The sign-in form of /accounts/login/."""


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    """The sign-in form of /admin/login/."""
