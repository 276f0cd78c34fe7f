"""Confirmation pages of destructive or irreversible actions (close, delete, stop, revoke...).

The page that offers such an action links to it (GET); the action's URL answers GET with this
page, which says what will happen and posts to the same URL. It needs no JavaScript, works
with the keyboard, and a GET never changes anything (crawlers and prefetching are safe).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page says and posts."""

    title: str  # the question, e.g. "Close the session “Round 1”?"
    message: str  # what happens, in a sentence or two
    button: str  # the label of the (danger) submit button
    cancel_url: str  # where "Cancel" goes back to
    consequences: Sequence[str] = ()
    fields: Mapping[str, str] = field(default_factory=dict)  # hidden fields of the POST
    irreversible: bool = True


def confirm_page(
    request: HttpRequest, confirmation: Confirmation, *, action_url: str | None = None
) -> HttpResponse:
    """The confirmation page of ``confirmation``, posting to ``action_url`` (default: here)."""
    return render(
        request,
        "readerstudy/confirm.html",
        {"confirm": confirmation, "action_url": action_url or request.path},
    )
