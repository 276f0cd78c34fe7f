"""Forms of the core app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from readerstudy.audit import audit_record, client_ip
from readerstudy.throttle import login_retry_after


class ThrottleMixin:
    """Refuse to check passwords after too many recent failures (readerstudy.throttle)."""

    request: Any
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        wait = login_retry_after(username=username, ip=client_ip(self.request))
        if wait:
            audit_record(action="login_throttled", request=self.request, target=username[:150])
            minutes = (wait + 59) // 60
            raise forms.ValidationError(
                f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                code="throttled",
            )
        return super().clean()  # type: ignore[misc]


class ThrottledAuthenticationForm(ThrottleMixin, AuthenticationForm):
    """The sign-in form of /accounts/login/."""


class ThrottledAdminAuthenticationForm(ThrottleMixin, AdminAuthenticationForm):
    """The sign-in form of /admin/login/."""
