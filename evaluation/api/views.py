"""Views of the rating API. Thin: reads in ``evaluation.selectors``, writes in the services.

Raters reach only their own tasks of started sessions, by the items' opaque ids, through the
same selectors as the rating pages (anything else is a 404); drafts and submissions go through
``evaluation.services`` with the same versions and idempotency tokens as the page's JSON
endpoints. Coordinators' endpoints are scoped to the study by ``StudyScopedMixin``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluation import selectors, services
from evaluation.api.filters import RaterItemFilter, RatingSessionFilter
from evaluation.api.serializers import (
    DraftSavedSerializer,
    DraftSerializer,
    KeyRowSerializer,
    RaterItemLineSerializer,
    RaterItemSerializer,
    RaterJudgmentSerializer,
    RaterSessionSerializer,
    RatingRefusalSerializer,
    RatingSessionCreateSerializer,
    RatingSessionDetailSerializer,
    RatingSessionOpenSerializer,
    RatingSessionSerializer,
    SubmitResultSerializer,
    SubmitSerializer,
    item_api_url,
)
from evaluation.models import RatingSession, RatingTask
from evaluation.views import rater_image_response
from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.core import roles
from readerstudy.core.users import signed_in_user
from readerstudy.studies.api.access import HasPlatformRole, StudyScopedMixin

#: At most this many problems of a refused import are listed (``n_errors`` counts them all).

REFUSED = {
    400: OpenApiResponse(RatingRefusalSerializer, description="Invalid scores or body."),
    404: OpenApiResponse(description="Not one of your items of a started session."),
    409: OpenApiResponse(
        RatingRefusalSerializer,
        description="Stale version (the newer draft is returned), closed session, or "
        "already submitted without amendments.",
    ),
}


def _refused(exc: services.RatingError | services.SessionStateError) -> Response:
    """A refused draft or submission as JSON, naming the field (the domain for a score)."""
    body: dict[str, Any] = {
        "detail": exc.message,
        "errors": {exc.field or "non_field_errors": [exc.message]},
    }
    if isinstance(exc, services.StaleVersionError):
        body["version"] = exc.version
        body["scores"] = exc.draft
    return Response(body, status=exc.status)


# --------------------------------------------------------------------------------------
# Raters


class RaterSessionList(generics.ListAPIView):
    """The caller's started rating sessions (open ones first) with their own progress."""

    serializer_class = RaterSessionSerializer
    permission_classes = [HasPlatformRole]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RatingSession.objects.none()
        return selectors.rater_worklist(self.request.user)


class RaterItemList(generics.ListAPIView):
    """The caller's items in their open sessions, in the caller's own (randomised) order.

    Items are addressed by their opaque ids only; ``?session=`` and ``?state=`` filter.
    """

    serializer_class = RaterItemLineSerializer
    permission_classes = [HasPlatformRole]
    filterset_class = RaterItemFilter

    def get_queryset(self) -> QuerySet[RatingTask]:
        return (
            selectors.rater_open_tasks(self.request.user)
            .select_related("item", "assignment")
            .only("position", "item__public_id", "assignment__session_id")
        )


class RaterItemDetail(APIView):
    """One of the caller's items: the normalised output, the allowed context, the domains and
    the caller's draft (or submitted scores)."""

    permission_classes = [HasPlatformRole]

    @extend_schema(
        responses={
            200: PolymorphicProxySerializer(
                component_name="RaterItemAny",
                serializers=[RaterItemSerializer, RaterJudgmentSerializer],
                resource_type_field_name=None,
            ),
            404: REFUSED[404],
        }
    )
    def get(self, request: Request, public_id: str) -> Response:
        task = selectors.rater_task_for(request.user, public_id)
        if task.assignment.session.instrument != RatingSession.Instrument.LIKERT:
            return Response(RaterJudgmentSerializer(selectors.rater_judgment_view(task)).data)
        return Response(RaterItemSerializer(selectors.rater_item_view(task)).data)


class RaterItemDraft(APIView):
    """The caller's draft of an item: read it, or save it (``PUT`` or ``POST``) with the
    version you hold. A save based on an older version is a 409 carrying the stored draft."""

    permission_classes = [HasPlatformRole]

    @extend_schema(responses={200: DraftSerializer, 404: REFUSED[404]})
    def get(self, request: Request, public_id: str) -> Response:
        task = selectors.rater_task_for(request.user, public_id)
        return Response(
            {
                "version": task.version,
                "scores": task.draft,
                "submitted": task.submitted_at is not None,
            }
        )

    @extend_schema(request=DraftSerializer, responses={200: DraftSavedSerializer, **REFUSED})
    def put(self, request: Request, public_id: str) -> Response:
        task = selectors.rater_task_for(request.user, public_id)
        form = DraftSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        scores = form.validated_data.get("scores")
        try:
            version = services.rating_draft_save(
                task=task,
                scores={} if scores is None else scores,
                version=form.validated_data["version"],
            )
        except services.RATING_REFUSALS as exc:
            return _refused(exc)
        return Response({"version": version})

    @extend_schema(request=DraftSerializer, responses={200: DraftSavedSerializer, **REFUSED})
    def post(self, request: Request, public_id: str) -> Response:
        return self.put(request, public_id)


class RaterItemSubmit(APIView):
    """Submit (or amend) an item's scores. Retrying with the same ``token`` returns the stored
    result and writes nothing again; a ``version`` other than the stored one is a 409."""

    permission_classes = [HasPlatformRole]

    @extend_schema(request=SubmitSerializer, responses={200: SubmitResultSerializer, **REFUSED})
    def post(self, request: Request, public_id: str) -> Response:
        task = selectors.rater_task_for(request.user, public_id)
        form = SubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = services.rating_submit(
                task=task,
                token=form.validated_data["token"],
                version=form.validated_data["version"],
                scores=form.validated_data.get("scores"),
                actor=signed_in_user(request),
            )
        except services.RATING_REFUSALS as exc:
            return _refused(exc)
        following = selectors.next_pending_public_id(task)
        return Response(
            {
                "status": result.status,
                "version": result.version,
                "replayed": result.replayed,
                "next": item_api_url(following) if following else None,
            }
        )


class RaterItemImage(APIView):
    """Image ``number`` (from 1) of the item's case, with its metadata stripped (PNG or JPEG)."""

    permission_classes = [HasPlatformRole]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is an image whatever the client accepts; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            404: REFUSED[404],
        }
    )
    def get(self, request: Request, public_id: str, number: int) -> HttpResponse:
        return rater_image_response(selectors.rater_task_for(request.user, public_id), number)


# --------------------------------------------------------------------------------------
# Coordinators


class RatingSessionList(StudyScopedMixin, generics.ListAPIView):
    """The study's rating sessions, newest first, with item, rater and task counts (GET);
    create a draft session (POST), with the same rules as the session page."""

    study_roles_read: ClassVar[set[str]] = {roles.COORDINATOR}
    study_roles_write: ClassVar[set[str]] = {roles.COORDINATOR}
    serializer_class = RatingSessionSerializer
    filterset_class = RatingSessionFilter

    def get_queryset(self) -> QuerySet[RatingSession]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return RatingSession.objects.none()
        return selectors.study_sessions(self.study).prefetch_related("domains")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        sessions = list(page if page is not None else queryset)
        context = {
            **self.get_serializer_context(),
            "task_counts": selectors.session_task_counts_by_session([s.pk for s in sessions]),
        }
        data = RatingSessionSerializer(sessions, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        request=RatingSessionCreateSerializer,
        responses={201: RatingSessionSerializer, 400: RatingRefusalSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        form = RatingSessionCreateSerializer(data=request.data, context={"study": self.study})
        form.is_valid(raise_exception=True)
        session = self.perform_create(form)
        return Response(_session_data(session), status=status.HTTP_201_CREATED)

    def perform_create(self, serializer: RatingSessionCreateSerializer) -> RatingSession:
        try:
            return services.rating_session_create_for_users(
                study=self.study,
                users=serializer.validated_data["raters"],
                options=serializer.validated_data["options"],
                actor=signed_in_user(self.request),
            )
        except services.RATING_REFUSALS as exc:
            raise ValidationError({exc.field or "non_field_errors": [exc.message]}) from None


def _session_data(session: RatingSession) -> Any:
    session = selectors.study_sessions(session.study).prefetch_related("domains").get(pk=session.pk)
    context = {"task_counts": {session.pk: selectors.session_task_counts(session)}}
    return RatingSessionSerializer(session, context=context).data


class RatingSessionOpen(StudyScopedMixin, APIView):
    """Open a draft session to its raters (the page's *Start*): unresolved leak flags need
    ``confirm_unresolved_leaks``; a rater who meanwhile scored one of its outputs, or has it
    pending in another open session, is a conflict."""

    study_roles_write: ClassVar[set[str]] = {roles.COORDINATOR}

    @extend_schema(
        request=RatingSessionOpenSerializer,
        responses={
            200: RatingSessionSerializer,
            400: RatingRefusalSerializer,
            409: RatingRefusalSerializer,
        },
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        session = get_object_or_404(RatingSession, pk=pk, study=self.study)
        form = RatingSessionOpenSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            services.rating_session_open(
                session=session,
                actor=signed_in_user(request),
                confirm_unresolved_leaks=form.validated_data["confirm_unresolved_leaks"],
            )
        except services.RATING_REFUSALS as exc:
            return _refused(exc)
        return Response(_session_data(session))


class RatingSessionClose(StudyScopedMixin, APIView):
    """Close a session (draft or open): raters can no longer change anything; nothing is
    deleted, and a closed session cannot be re-opened."""

    study_roles_write: ClassVar[set[str]] = {roles.COORDINATOR}

    @extend_schema(
        request=None, responses={200: RatingSessionSerializer, 409: RatingRefusalSerializer}
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        session = get_object_or_404(RatingSession, pk=pk, study=self.study)
        try:
            services.rating_session_close(session=session, actor=signed_in_user(request))
        except services.RATING_REFUSALS as exc:
            return _refused(exc)
        return Response(_session_data(session))


class RatingSessionDetail(StudyScopedMixin, APIView):
    """One rating session with the progress of each rater and its leak flags."""

    study_roles_read: ClassVar[set[str]] = {roles.COORDINATOR}

    @extend_schema(responses=RatingSessionDetailSerializer)
    def get(self, request: Request, slug: str, pk: int) -> Response:
        session = get_object_or_404(
            selectors.study_sessions(self.study).prefetch_related("domains"), pk=pk
        )
        context = {
            "task_counts": {session.pk: selectors.session_task_counts(session)},
            "progress": selectors.session_progress(session),
            "flagged": selectors.session_flagged_items(session),
        }
        return Response(RatingSessionDetailSerializer(session, context=context).data)


class RatingSessionKey(StudyScopedMixin, generics.GenericAPIView):
    """The unblinding key of a session (item -> reader, kind, label, run, modality, case), in
    the session's order. The study's coordinators only; every request is in the audit log
    (``unblinding_key_viewed``), as for the key page."""

    study_roles_read: ClassVar[set[str]] = {roles.COORDINATOR}
    serializer_class = KeyRowSerializer

    def get(self, request: Request, slug: str, pk: int) -> Response:
        session = get_object_or_404(RatingSession, pk=pk, study=self.study)
        audit_record(
            action="unblinding_key_viewed",
            origin=audit_origin(request._request),
            study=self.study,
            target=f"rating session {session.pk}",
            details={"via": "api"},
        )
        rows = selectors.unblinding_key(session)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(KeyRowSerializer(page, many=True).data)
