"""Reading sessions through the API: coordinators set them up and watch them, readers read.

Coordinators list a study's sessions with each reader's progress, create sessions (validated
by the session page's form, written by ``reading_session_create``), and open and close them
(``reading_session_open`` / ``reading_session_close``, the page's services: the same state
rules, ``session_transition``, and the same audit events). Readers get their own
assignments (what ``/reading/`` shows), each case as the reading page shows it, its images,
and submit answers through ``reading_submit`` with the same rules as the page: a form token
per answer (a retry is not duplicated), the version the case showed (a stale answer is a 409
conflict, nothing overwritten), amendments only where the session allows them (with history).
An assignment that is not the caller's own is a 404, for coordinators too.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from readerstudy.core import roles
from readerstudy.core.api.forms import refusal
from readerstudy.core.users import signed_in_user
from readerstudy.reading.api.filters import ReadingSessionFilter
from readerstudy.reading.api.serializers import (
    AssignmentSerializer,
    ReadingCaseSerializer,
    ReadingDesignCreateSerializer,
    ReadingDesignSerializer,
    ReadingSessionCloneSerializer,
    ReadingSessionCreateSerializer,
    ReadingSessionDetailSerializer,
    ReadingSessionReadersSerializer,
    ReadingSessionSerializer,
    ReadingSubmitResultSerializer,
    ReadingSubmitSerializer,
)
from readerstudy.reading.forms import ReadingForm
from readerstudy.reading.models import (
    ReadingAssignment,
    ReadingDesign,
    ReadingSession,
    ReadingWork,
)
from readerstudy.reading.selectors import (
    WorklistEntry,
    reading_assignment_for_user,
    reading_assist,
    reading_case_info,
    reading_image_at,
    reading_image_grid,
    reading_next_position,
    reading_session_progress,
    reading_sessions_for_study,
    reading_work_at,
    reading_worklist,
)
from readerstudy.reading.services import (
    SESSION_REFUSALS,
    ReadingSessionError,
    ReadingTokenError,
    reading_design_create,
    reading_session_close,
    reading_session_create,
    reading_session_open,
    reading_work_open,
)
from readerstudy.reading.services_edit import reading_session_add_readers, reading_session_clone
from readerstudy.reading.views import (
    answer_initial,
    case_image_response,
    submit_form,
    submit_problem_text,
)
from readerstudy.studies.api.access import GenericViewMixinBase, StudyScopedMixin

# ---------------------------------------------------------------------------------------
# Coordinators


class _SessionMixin(StudyScopedMixin, GenericViewMixinBase):
    study_roles_read = {roles.COORDINATOR}
    study_roles_write = {roles.COORDINATOR}
    queryset = ReadingSession.objects.none()

    def get_queryset(self) -> QuerySet[ReadingSession]:
        return reading_sessions_for_study(study=self.study).select_related("assist_reader")


class ReadingSessionList(_SessionMixin, generics.ListCreateAPIView):
    """The study's reading sessions, newest first, with case and reader counts (GET); create
    a draft session (POST), with the same rules as the session page."""

    serializer_class = ReadingSessionSerializer
    filterset_class = ReadingSessionFilter

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.request is not None and self.request.method == "POST":
            return ReadingSessionCreateSerializer
        return ReadingSessionSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if not getattr(self, "swagger_fake_view", False):
            context["study"] = self.study
        return context

    @extend_schema(
        request=ReadingSessionCreateSerializer, responses={201: ReadingSessionSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        try:
            session = reading_session_create(
                study=self.study,
                options=serializer.validated_data["options"],
                actor=signed_in_user(self.request),
            )
        except ReadingSessionError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        serializer.instance = self.get_queryset().get(pk=session.pk)


class _DesignMixin(StudyScopedMixin, GenericViewMixinBase):
    study_roles_read = {roles.COORDINATOR}
    study_roles_write = {roles.COORDINATOR}
    queryset = ReadingDesign.objects.none()


class ReadingDesignList(_DesignMixin, generics.ListCreateAPIView):
    """The study's crossover designs with their sessions and each reader's periods (GET);
    create a design and its unaided and aided draft sessions (POST), with the same rules as
    the design page."""

    serializer_class = ReadingDesignSerializer

    def get_queryset(self) -> QuerySet[ReadingDesign]:
        return (
            ReadingDesign.objects.filter(study=self.study)
            .prefetch_related(
                Prefetch(
                    "sessions",
                    queryset=reading_sessions_for_study(study=self.study)
                    .select_related("assist_reader")
                    .prefetch_related("assignments__reader")
                    .order_by("modality"),
                )
            )
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.request is not None and self.request.method == "POST":
            return ReadingDesignCreateSerializer
        return ReadingDesignSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if not getattr(self, "swagger_fake_view", False):
            context["study"] = self.study
        return context

    @extend_schema(request=ReadingDesignCreateSerializer, responses={201: ReadingDesignSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        try:
            design = reading_design_create(
                study=self.study,
                options=serializer.validated_data["options"],
                actor=signed_in_user(self.request),
            )
        except ReadingSessionError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        serializer.instance = self.get_queryset().get(pk=design.pk)


class _SessionTransition(_SessionMixin, generics.GenericAPIView):
    """POST moves the session to another state through the page's service."""

    serializer_class = ReadingSessionSerializer
    service = staticmethod(reading_session_open)

    @extend_schema(
        request=None,
        responses={
            200: ReadingSessionSerializer,
            409: OpenApiResponse(description="The session is not in a state that allows it."),
        },
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        session = self.get_object()
        try:
            self.perform_transition(session)
        except SESSION_REFUSALS as exc:
            return refusal(exc)
        return Response(ReadingSessionSerializer(self.get_queryset().get(pk=session.pk)).data)

    def perform_transition(self, session: ReadingSession) -> None:
        type(self).service(session=session, actor=signed_in_user(self.request))


class ReadingSessionOpen(_SessionTransition):
    """Open a draft session, or re-open a closed one: its readers see it in their worklists."""

    service = staticmethod(reading_session_open)


class ReadingSessionClose(_SessionTransition):
    """Close an open session: readers can no longer submit; nothing is deleted."""

    service = staticmethod(reading_session_close)


class ReadingSessionReaders(_SessionMixin, generics.GenericAPIView):
    """Add readers to a draft or open session (``reading_session_add_readers``, as the
    session's edit page): each gets the session's cases in an order from its seed; nothing
    of the readers already in it changes."""

    serializer_class = ReadingSessionReadersSerializer

    @extend_schema(
        request=ReadingSessionReadersSerializer, responses={200: ReadingSessionSerializer}
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        session = self.get_object()
        serializer = ReadingSessionReadersSerializer(
            data=request.data, context={"session": session}
        )
        serializer.is_valid(raise_exception=True)
        try:
            reading_session_add_readers(
                session=session,
                readers=serializer.validated_data["readers"],
                actor=signed_in_user(request),
            )
        except ReadingSessionError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(ReadingSessionSerializer(self.get_queryset().get(pk=session.pk)).data)


class ReadingSessionClone(_SessionMixin, generics.GenericAPIView):
    """A new draft like the session (``reading_session_clone``, as the clone page): same
    readers, cases and settings, a new seed, the run given or the next free one."""

    serializer_class = ReadingSessionCloneSerializer

    @extend_schema(request=ReadingSessionCloneSerializer, responses={201: ReadingSessionSerializer})
    def post(self, request: Request, slug: str, pk: int) -> Response:
        session = self.get_object()
        serializer = ReadingSessionCloneSerializer(data=request.data, context={"session": session})
        serializer.is_valid(raise_exception=True)
        try:
            clone = reading_session_clone(
                session=session,
                name=serializer.validated_data["name"],
                run=serializer.validated_data.get("run"),
                actor=signed_in_user(request),
            )
        except ReadingSessionError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(
            ReadingSessionSerializer(self.get_queryset().get(pk=clone.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ReadingSessionDetail(_SessionMixin, generics.RetrieveAPIView):
    """One reading session with each assigned reader's progress."""

    serializer_class = ReadingSessionDetailSerializer

    def get_object(self) -> ReadingSession:
        session = super().get_object()
        session.progress = reading_session_progress(session=session)  # type: ignore[attr-defined]
        return session


# ---------------------------------------------------------------------------------------
# Readers


def _entry(assignment: ReadingAssignment) -> WorklistEntry:
    work = ReadingWork.objects.filter(assignment=assignment)
    return WorklistEntry(
        assignment=assignment,
        done=work.filter(submitted_at__isnull=False).count(),
        total=work.count(),
        next_position=reading_next_position(assignment=assignment)
        if assignment.session.is_open
        else None,
    )


class AssignmentList(generics.GenericAPIView):
    """Your reading assignments across studies (open and closed sessions; drafts are hidden)."""

    serializer_class = AssignmentSerializer
    queryset = ReadingAssignment.objects.none()
    filter_backends: list[Any] = []  # filtered by hand below (the worklist is a list)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["open", "closed"]),
            OpenApiParameter("study", str, description="Study slug."),
        ],
        responses=AssignmentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        wanted = request.query_params.get("status", "")
        if wanted not in ("", "open", "closed"):
            raise ValidationError({"status": ["must be open or closed"]})
        study = request.query_params.get("study", "")
        entries = [
            e
            for e in reading_worklist(user=request.user)
            if (not wanted or e.assignment.session.status == wanted)
            and (not study or e.assignment.session.study.slug == study)
        ]
        page = self.paginate_queryset(entries)
        assert page is not None
        return self.get_paginated_response(AssignmentSerializer(page, many=True).data)


class AssignmentDetail(APIView):
    """One of your assignments (404 when it is not yours)."""

    @extend_schema(responses=AssignmentSerializer)
    def get(self, request: Request, token: str) -> Response:
        assignment = reading_assignment_for_user(user=request.user, token=token)
        return Response(AssignmentSerializer(_entry(assignment)).data)


def _scale(assignment: ReadingAssignment) -> list[tuple[int, str]]:
    study = assignment.session.study
    return list(study.scale_categories.order_by("value").values_list("value", "label"))


def _answer(work: ReadingWork) -> dict[str, Any] | None:
    return answer_initial(work) or None


def _case_payload(work: ReadingWork) -> dict[str, Any]:
    """The case at ``work`` as the reading page shows it to its reader."""
    assignment = work.assignment
    session = assignment.session
    items = ReadingWork.objects.filter(assignment=assignment)
    total = items.count()
    images = []
    if session.show_images:
        images = [
            {
                "index": cell.index,
                "label": cell.label,
                "url": reverse(
                    "api-reading-image",
                    kwargs={
                        "token": assignment.token,
                        "position": work.position,
                        "index": cell.index,
                    },
                ),
            }
            for cell in reading_image_grid(case=work.case).cells
        ]
    assist = reading_assist(session=session, case=work.case)
    return {
        "position": work.position,
        "total": total,
        "done": items.filter(submitted_at__isnull=False).count(),
        "version": work.version,
        "submitted": work.done,
        "editable": session.is_open and (not work.done or session.allow_amend),
        "info": [
            {"label": label, "text": text}
            for label, text in reading_case_info(session=session, case=work.case)
        ],
        "images": images,
        "assist": None if assist is None else vars(assist),
        "answer": _answer(work),
        "scale": [{"value": v, "label": label} for v, label in _scale(assignment)],
        "require_impression": session.require_impression,
        "allow_amend": session.allow_amend,
        "previous_position": work.position - 1 if work.position > 1 else None,
        "next_position": work.position + 1 if work.position < total else None,
    }


class ReadingNext(APIView):
    """Your next unfinished case (recorded as opened, as when the reading page shows it).

    404 when every case is done, 409 when the session is closed.
    """

    @extend_schema(
        responses={
            200: ReadingCaseSerializer,
            404: OpenApiResponse(description="All cases are done."),
            409: OpenApiResponse(description="The session is closed."),
        }
    )
    def get(self, request: Request, token: str) -> Response:
        assignment = reading_assignment_for_user(user=request.user, token=token)
        if not assignment.session.is_open:
            return Response({"detail": "This session is closed."}, status=status.HTTP_409_CONFLICT)
        position = reading_next_position(assignment=assignment)
        if position is None:
            raise Http404("All cases of this assignment are done.")
        work = reading_work_open(work=reading_work_at(assignment=assignment, position=position))
        return Response(_case_payload(work))


class ReadingCase(APIView):
    """The case at a position of your order (GET), and your answer on it (POST)."""

    @extend_schema(responses=ReadingCaseSerializer)
    def get(self, request: Request, token: str, position: int) -> Response:
        assignment = reading_assignment_for_user(user=request.user, token=token)
        work = reading_work_open(work=reading_work_at(assignment=assignment, position=position))
        return Response(_case_payload(work))

    @extend_schema(
        request=ReadingSubmitSerializer,
        responses={
            201: ReadingSubmitResultSerializer,
            200: ReadingSubmitResultSerializer,
            409: ReadingSubmitResultSerializer,
        },
    )
    def post(self, request: Request, token: str, position: int) -> Response:
        assignment = reading_assignment_for_user(user=request.user, token=token)
        work = reading_work_at(assignment=assignment, position=position)
        session = assignment.session
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["expected a JSON object"]})
        form = ReadingForm(
            request.data, scale=_scale(assignment), require_impression=session.require_impression
        )
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        try:
            result = submit_form(work=work, form=form, actor=request.user)
        except ReadingTokenError:
            raise ValidationError(
                {"token": ["This token was used for another case; send a new one."]}
            ) from None
        work = reading_work_at(assignment=assignment, position=position)
        if result.accepted:
            detail = f"Case {position} {result.outcome}."
            code = status.HTTP_201_CREATED if result.outcome == "saved" else status.HTTP_200_OK
        else:
            detail, code = submit_problem_text(result), status.HTTP_409_CONFLICT
        body = {
            "outcome": result.outcome,
            "accepted": result.accepted,
            "replayed": result.replayed,
            "version": work.version,
            "detail": detail,
            "answer": _answer(work),
            "next_position": reading_next_position(assignment=assignment, after=position),
        }
        return Response(body, status=code)


class _AnyAccept(BaseContentNegotiation):
    """Images are answered whatever the client accepts (``Accept: image/*`` included)."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class ReadingImage(APIView):
    """One image of the case at a position (PNG or JPEG; DICOM is served as PNG)."""

    content_negotiation_class = _AnyAccept

    @extend_schema(
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
        }
    )
    def get(self, request: Request, token: str, position: int, index: int) -> HttpResponseBase:
        assignment = reading_assignment_for_user(user=request.user, token=token)
        if not assignment.session.show_images:
            raise Http404("This session shows no images.")
        work = reading_work_at(assignment=assignment, position=position)
        return case_image_response(reading_image_at(case=work.case, index=index))
