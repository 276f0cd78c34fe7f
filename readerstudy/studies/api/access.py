"""Object-level access for API views: every endpoint below a study checks the caller's roles.

A study the caller may not see is a 404 (never a 403) so that slugs of other studies reveal
nothing; a study the caller sees but in a role that may not use the endpoint is a 403.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.views import APIView

from readerstudy.core import roles
from readerstudy.studies.access import study_roles
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import Blinding

READ = "read"
WRITE = "write"

if TYPE_CHECKING:
    # To the type checker the mixins are the views they are mixed into, so their attributes
    # and super() calls are checked against DRF's; at run time they are plain mixins.
    ApiViewMixinBase = APIView
    GenericViewMixinBase = GenericAPIView
else:
    ApiViewMixinBase = object
    GenericViewMixinBase = object


class StudyScopedMixin(ApiViewMixinBase):
    """Resolve ``self.study`` from the ``slug`` URL kwarg and check the caller's roles in it.

    Views declare which study roles may read (safe methods) and write (everything else)::

        study_roles_read = {"coordinator", "statistician"}
        study_roles_write = {"coordinator"}

    ``self.roles`` holds the caller's roles in the study, for views that shape their output by role
    (e.g. truth only for coordinators); ``self.blinding`` says which identifiers the caller sees
    (pseudonyms for statisticians until unblinding, or when ``?ids=pseudonymous`` asks for them).
    """

    study_roles_read: ClassVar[set[str]] = set()
    study_roles_write: ClassVar[set[str]] = set()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authenticates first
        if not self._handles(request.method or ""):
            # Any member then gets DRF's 405 (as on every other endpoint), not a 403 that
            # blames their role; non-members still get 404.
            allowed = set(roles.ROLES)
        elif request.method in SAFE_METHODS:
            allowed = self.study_roles_read
        else:
            allowed = self.study_roles_write
        self.study, self.roles = study_for_request(
            request, slug=self.kwargs["slug"], allowed=allowed
        )

    @cached_property
    def blinding(self) -> Blinding:
        try:
            return Blinding.for_actor(
                actor=self.request.user,
                study=self.study,
                roles=self.roles,
                requested=self.request.query_params.get("ids"),
            )
        except ValueError as exc:
            raise ValidationError({"ids": [str(exc)]}) from exc

    def _handles(self, method: str) -> bool:
        name = method.lower()
        return name in self.http_method_names and hasattr(self, name)


def study_for_request(request: Request, *, slug: str, allowed: set[str]) -> tuple[Study, set[str]]:
    """The study ``slug`` and the caller's roles in it; 404 without any role, 403 without ``allowed``."""
    study = get_object_or_404(Study, slug=slug)
    held = study_roles(request.user, study)
    if not held:
        raise NotFound("No such study.")
    if not held & allowed:
        raise PermissionDenied("Your role in this study does not allow this.")
    return study, held


class HasPlatformRole(BasePermission):
    """Authenticated callers with at least one platform role (coordinator, reader, rater, statistician)."""

    message = "You have no role on this platform."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(
            request.user and request.user.is_authenticated and roles.user_roles(request.user)
        )
