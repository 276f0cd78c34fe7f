"""API tokens: one per user, created and revoked by its owner.

Every creation and removal is in the audit log: ``readerstudy.audit.services`` records them from the
model signals, so tokens made or removed anywhere else (admin, shell) are recorded too. The view
passes where the change comes from (``origin=audit_origin(request)``); without one the events
come from the request being handled, if any.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from readerstudy.audit.context import AuditOrigin, origin_context


@transaction.atomic
def token_create(*, user: Any, origin: AuditOrigin | None = None) -> Token:
    """A new token for ``user``; an existing one is revoked first (its key stops working)."""
    with origin_context(origin):
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


@transaction.atomic
def token_revoke(*, user: Any, origin: AuditOrigin | None = None) -> bool:
    """Revoke ``user``'s token; ``False`` when there was none."""
    with origin_context(origin):
        return Token.objects.filter(user=user).delete()[0] > 0
