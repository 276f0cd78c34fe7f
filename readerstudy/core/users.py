"""The types of the people using the platform, for annotations, and the signed-in user of a
request (``request.user`` is typed ``User | AnonymousUser`` even behind a login)."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

#: Anyone making a request: a signed-in ``User`` or the ``AnonymousUser``.
Visitor: TypeAlias = User | AnonymousUser


def signed_in_user(request: HttpRequest | Request) -> User:
    """``request.user`` of a view only signed-in users reach (``login_required``,
    ``IsAuthenticated``); ``PermissionDenied`` (403) should an anonymous request get there."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
