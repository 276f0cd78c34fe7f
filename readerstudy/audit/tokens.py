"""API tokens: one per user, created and revoked by its owner.

Every creation and removal is in the audit log: ``readerstudy.audit.services`` records them from the
model signals, so tokens made or removed anywhere else (admin, shell) are recorded too.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from rest_framework.authtoken.models import Token

from readerstudy.audit.services import request_context


@transaction.atomic
def token_create(*, user: Any, request: HttpRequest | None = None) -> Token:
    """A new token for ``user``; an existing one is revoked first (its key stops working)."""
    with request_context(request):
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


@transaction.atomic
def token_revoke(*, user: Any, request: HttpRequest | None = None) -> bool:
    """Revoke ``user``'s token; ``False`` when there was none."""
    with request_context(request):
        return Token.objects.filter(user=user).delete()[0] > 0
