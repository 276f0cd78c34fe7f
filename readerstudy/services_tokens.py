"""API tokens: one per user, created and revoked by its owner, every event in the audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from readerstudy.audit import audit_record


@transaction.atomic
def token_create(*, user: Any, request: HttpRequest | None = None) -> Token:
    """A new token for ``user``; an existing one is revoked first (its key stops working)."""
    revoked = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit_record(
        action="api_token_created",
        actor=user,
        request=request,
        target=user.get_username(),
        details={"replaced": revoked},
    )
    return token


@transaction.atomic
def token_revoke(*, user: Any, request: HttpRequest | None = None) -> bool:
    """Revoke ``user``'s token; ``False`` when there was none."""
    deleted = Token.objects.filter(user=user).delete()[0] > 0
    if deleted:
        audit_record(
            action="api_token_revoked", actor=user, request=request, target=user.get_username()
        )
    return deleted
