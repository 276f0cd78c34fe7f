"""Core API views: who am I, tokens, studies. Thin: queries in selectors, writes in services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import generics, serializers, status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.audit.tokens import token_create, token_revoke
from readerstudy.core import roles
from readerstudy.core.throttle import login_attempt_reserve, login_attempt_succeeded
from readerstudy.studies.api.access import HasPlatformRole, study_for_request
from readerstudy.studies.api.serializers import (
    StudySerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from readerstudy.studies.models import Study, StudyMember
from readerstudy.studies.selectors import studies_for_user


class MeView(APIView):
    """The caller: username and platform roles."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "roles": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "username": request.user.get_username(),
                "roles": sorted(roles.user_roles(request.user)),
            }
        )


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <key>``).

    Creating a token replaces the caller's previous one. Failed attempts count towards the same
    sign-in throttle as the login page and are in the audit log.
    """

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["username"]
        origin = audit_origin(request._request)
        ip = origin.ip
        wait = login_attempt_reserve(username=username, ip=ip)
        if wait:
            audit_record(
                action="login_throttled",
                origin=origin,
                target=username[:150],
                details={"wait_seconds": wait},
            )
            raise Throttled(wait=wait, detail="Too many failed sign-ins.")
        user = authenticate(
            request._request, username=username, password=form.validated_data["password"]
        )
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        login_attempt_succeeded(username=username, ip=ip)
        token = token_create(user=user, origin=origin)
        return Response(
            TokenSerializer({"token": token.key, "created": token.created}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        token_revoke(user=request.user, origin=audit_origin(request._request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _roles_by_study(user: Any, studies: list[Study]) -> dict[int, set[str]]:
    """The caller's roles in each study, in two queries rather than two per study."""
    if user.is_superuser:
        every = {role for role, _ in StudyMember.Role.choices}
        return {s.pk: every for s in studies}
    groups = roles.user_roles(user)
    held: dict[int, set[str]] = {s.pk: set() for s in studies}
    for study_id, role in StudyMember.objects.filter(
        user=user, study__in=[s.pk for s in studies]
    ).values_list("study_id", "role"):
        if role in groups:
            held[study_id].add(role)
    return held


class StudyList(generics.ListAPIView):
    """The studies the caller belongs to, with the caller's roles in each."""

    serializer_class = StudySerializer
    permission_classes = [HasPlatformRole]

    def get_queryset(self) -> QuerySet[Study]:
        return (
            studies_for_user(self.request.user)
            .prefetch_related("scale_categories", "likert_domains")
            .select_related("reference_reader")
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        studies = list(page if page is not None else self.get_queryset())
        context = {
            **self.get_serializer_context(),
            "roles_by_study": _roles_by_study(request.user, studies),
        }
        data = StudySerializer(studies, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)


class StudyDetail(APIView):
    """One study (404 unless the caller holds a role in it)."""

    @extend_schema(responses=StudySerializer)
    def get(self, request: Request, slug: str) -> Response:
        study, held = study_for_request(request, slug=slug, allowed=set(roles.ROLES))
        context = {"request": request, "roles_by_study": {study.pk: held}}
        return Response(StudySerializer(study, context=context).data)


#: The entry points listed by ``GET /api/``: key → (route name, what it is).
API_INDEX: tuple[tuple[str, str, str], ...] = (
    ("auth_token", "api-token", "POST a username and password for a token; DELETE revokes it"),
    ("me", "api-me", "the caller: username and platform roles"),
    ("studies", "api-study-list", "the caller's studies; each study's endpoints are under it"),
    ("reading_assignments", "api-assignment-list", "a reader's reading assignments"),
    ("rating_sessions", "api-rating-sessions", "a rater's rating sessions"),
    ("rating_items", "api-rating-items", "a rater's items to score"),
    ("schema", "api-schema", "the OpenAPI 3 schema (YAML; ?format=json for JSON)"),
    ("docs", "api-docs", "the Swagger UI of the schema"),
)


class ApiIndex(APIView):
    """The API's entry points, as absolute links (public: it lists URLs, never data)."""

    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        responses=inline_serializer(
            "ApiIndex",
            {
                "name": serializers.CharField(),
                "version": serializers.CharField(),
                "links": serializers.DictField(child=serializers.URLField()),
                "descriptions": serializers.DictField(child=serializers.CharField()),
                "authentication": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "name": settings.SPECTACULAR_SETTINGS["TITLE"],
                "version": settings.SPECTACULAR_SETTINGS["VERSION"],
                "links": {key: reverse(name, request=request) for key, name, _ in API_INDEX},
                "descriptions": {key: text for key, _, text in API_INDEX},
                "authentication": "Authorization: Token <key> (from /accounts/token/ or "
                "POST auth_token); the pages' session cookie also works.",
            }
        )


class ApiDocs(SpectacularSwaggerView):
    """The Swagger UI under the app's strict Content-Security-Policy: the Swagger assets come
    from drf-spectacular-sidecar (served by the app) and the initialiser is a static script
    (``static/readerstudy/api_docs.js``) reading its settings from data attributes, so the
    page has no inline script (drf-spectacular's own template has one)."""

    template_name = "readerstudy/api_docs.html"
