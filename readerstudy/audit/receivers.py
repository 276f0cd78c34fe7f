"""Receivers of the sign-in signals: Django sends them with the request, which the view layer
turns into the event's origin here (services never take the request)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit_record(action="login", actor=user, origin=audit_origin(request))


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action="logout", actor=user, origin=audit_origin(request))


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    audit_record(
        action="login_failed",
        origin=audit_origin(request) if request is not None else None,
        target=str(credentials.get("username", ""))[:150],
    )
