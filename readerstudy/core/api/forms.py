"""Bridges from the pages' forms and services to the API's answers.

The API validates with the same Django forms as the pages (so both refuse the same input with
the same messages); :func:`form_errors` turns a form's errors into DRF's 400 by field, and
:func:`refusal` answers a service's refusal (an exception with ``message``, ``field`` and
the HTTP ``status``, e.g. ``SessionStateError``) as ``{"detail", "errors"}``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response


def form_errors(form: forms.Form) -> ValidationError:
    """The form's errors by field (``__all__`` becomes ``non_field_errors``), to raise."""
    return ValidationError(
        {
            ("non_field_errors" if name == "__all__" else name): list(errors)
            for name, errors in form.errors.items()
        }
    )


def refusal(exc: Any, *, status: int | None = None) -> Response:
    """A service's refusal as JSON: its message, under its field, with its HTTP status."""
    message = str(getattr(exc, "message", exc))
    field = getattr(exc, "field", None) or "non_field_errors"
    code = status or int(getattr(exc, "status", 409))
    return Response({"detail": message, "errors": {field: [message]}}, status=code)
