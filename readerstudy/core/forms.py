"""Typed access to a form's bound fields (the stubs type ``form.fields[name]`` as ``Field``)."""

from __future__ import annotations

from typing import TypeVar

from django import forms

FieldT = TypeVar("FieldT", bound=forms.Field)


def form_field(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """``form.fields[name]``, checked to be a ``kind`` (to set its ``queryset``, ``choices``...)."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(f"Field {name!r} is a {type(field).__name__}, not a {kind.__name__}.")
    return field
