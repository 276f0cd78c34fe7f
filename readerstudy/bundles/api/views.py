"""A study's data through the API: cases, readers, readings and the readings upload.

Coordinators and statisticians read; coordinators write. Readers and raters get 403, users
without a role in the study 404 (``StudyScopedMixin``). Truth is visible to coordinators and,
once the study is unblinded, to statisticians.

Identifiers follow the caller's :class:`readerstudy.studies.pseudonyms.Blinding`: until unblinding a
statistician gets pseudonyms (the same as in the exports), names objects by pseudonym in
URLs and filters (a real code is not found), cannot filter by hidden details, and gets lists
in an order that says nothing about the order of import.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import Http404, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.bundles.api.serializers import (
    CaseSerializer,
    CaseUpdateSerializer,
    ImportErrorSerializer,
    ImportResultSerializer,
    ReaderSerializer,
    ReadingRowSerializer,
    ReadingSerializer,
    ReadingsUploadSerializer,
)
from readerstudy.bundles.services_cases import case_create, case_update, readings_import
from readerstudy.bundles.upload import UploadError, UploadProblem, rows_to_csv
from readerstudy.core import roles
from readerstudy.studies.api.access import GenericViewMixinBase, StudyScopedMixin
from readerstudy.studies.api.filters import (
    CaseFilter,
    ReaderFilter,
    ReadingFilter,
    StudyFilterBackend,
)
from readerstudy.studies.models import Case, Reader, Reading
from readerstudy.studies.pseudonyms import Kind, rank_expression
from readerstudy.studies.selectors import reading_ids_in_order

STUDY_DATA_READ = {roles.COORDINATOR, roles.STATISTICIAN}
STUDY_DATA_WRITE = {roles.COORDINATOR}


def sees_truth(view: StudyScopedMixin) -> bool:
    """Coordinators always; statisticians once the study is unblinded."""
    held = view.roles
    return roles.COORDINATOR in held or (
        roles.STATISTICIAN in held and view.study.unblinded_at is not None
    )


class _BlindedMixin(StudyScopedMixin, GenericViewMixinBase):
    """Identifiers in the caller's id space (pseudonyms when blinded), in and out."""

    filter_backends = [StudyFilterBackend]
    #: Query parameters that name an object by its id, and the kind of id.
    id_filters: ClassVar[dict[str, Kind]] = {}
    #: Query parameters a blinded caller may not use (they filter by hidden details).
    hidden_filters: ClassVar[tuple[str, ...]] = ()
    #: The kind of id of the ``code`` URL kwarg of detail views.
    code_kind: ClassVar[Kind | None] = None
    _no_match = False

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())  # typed Mapping; a new dict anyway
        if hasattr(self, "study"):
            context["blinding"] = self.blinding
        return context

    def filter_data(self, data: QueryDict) -> QueryDict:
        """The query parameters with ids translated to real codes (``StudyFilterBackend``)."""
        blinding = self.blinding
        if not blinding.pseudonymous:
            return data
        hidden = [name for name in self.hidden_filters if name in data]
        if hidden:
            raise PermissionDenied(
                f"Filtering by {', '.join(hidden)} needs real identifiers (after unblinding)."
            )
        out = data.copy()
        for name, kind in self.id_filters.items():
            if name in data:
                real = [blinding.real(kind, value) for value in data.getlist(name)]
                self._no_match = self._no_match or any(r is None for r in real)
                out.setlist(name, [r or "" for r in real])
        return out

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        return queryset.none() if self._no_match else queryset

    def get_object(self) -> Any:
        """The object named by the ``code`` URL kwarg, a pseudonym for a blinded caller."""
        if self.code_kind is not None:
            real = self.blinding.real(self.code_kind, self.kwargs["code"])
            if real is None:
                raise Http404(f"No such {self.code_kind}.")
            self.kwargs = {**self.kwargs, "code": real}
        return super().get_object()


class _CaseMixin(_BlindedMixin):
    study_roles_read = STUDY_DATA_READ
    study_roles_write = STUDY_DATA_WRITE
    filterset_class = CaseFilter
    id_filters = {"patient_id": "patient"}
    code_kind = "case"
    queryset = Case.objects.none()  # the model, for the schema; get_queryset scopes to the study

    def get_queryset(self) -> QuerySet[Case]:
        cases = Case.objects.filter(study=self.study).annotate(n_images=Count("images"))
        if self.blinding.pseudonymous:
            return cases.order_by(self.blinding.case_order("code"))
        return cases.order_by("position", "code")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "study"):
            context["sees_truth"] = sees_truth(self)
        return context


class CaseList(_CaseMixin, generics.ListCreateAPIView):
    """The study's cases in the study's order (a keyed order for callers who get pseudonyms);
    coordinators add cases (validated as cases.csv)."""

    serializer_class = CaseSerializer

    def filter_queryset(self, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if "truth" in self.request.query_params and not sees_truth(self):
            raise PermissionDenied("Filtering by truth needs access to the truth.")
        return super().filter_queryset(queryset)

    def perform_create(self, serializer: CaseSerializer) -> None:
        data = dict(serializer.validated_data)
        code = data.pop("code")
        serializer.instance = case_create(
            study=self.study,
            code=code,
            values=data,
            actor=self.request.user,
        )


class CaseDetail(_CaseMixin, generics.RetrieveUpdateAPIView):
    """One case by its code (its pseudonym for callers who get pseudonyms); coordinators
    change it (not its code), audited."""

    serializer_class = CaseUpdateSerializer
    lookup_field = "code"
    lookup_url_kwarg = "code"
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer: CaseUpdateSerializer) -> None:
        serializer.instance = case_update(
            case=serializer.instance,
            values=dict(serializer.validated_data),
            actor=self.request.user,
        )


class _ReaderMixin(_BlindedMixin):
    study_roles_read = STUDY_DATA_READ
    serializer_class = ReaderSerializer
    filterset_class = ReaderFilter
    hidden_filters = ("group",)
    code_kind = "reader"
    queryset = Reader.objects.none()

    def get_queryset(self) -> QuerySet[Reader]:
        readers = Reader.objects.filter(study=self.study)
        if self.blinding.pseudonymous:
            return readers.order_by(rank_expression("pk", self.blinding.reader_ranks()))
        return readers.order_by("position", "code")


class ReaderList(_ReaderMixin, generics.ListAPIView):
    """The study's readers (humans and models) in the study's order (pseudonym order, with
    the kind only, for callers who get pseudonyms)."""


class ReaderDetail(_ReaderMixin, generics.RetrieveAPIView):
    """One reader by its code (its pseudonym for callers who get pseudonyms)."""

    lookup_field = "code"
    lookup_url_kwarg = "code"


class ReadingList(_BlindedMixin, generics.ListAPIView):
    """The study's readings, in the order they were stored (``id``), one query per page; for
    callers who get pseudonyms by reader (pseudonym order), case (keyed order), run and
    modality."""

    study_roles_read = STUDY_DATA_READ
    serializer_class = ReadingSerializer
    filterset_class = ReadingFilter
    id_filters = {"reader": "reader", "case": "case"}
    queryset = Reading.objects.none()

    def get_queryset(self) -> QuerySet[Reading]:
        readings = (
            Reading.objects.filter(case__study=self.study)
            .select_related("reader", "case")
            .only(
                *(
                    f.name
                    for f in Reading._meta.concrete_fields
                    if f.name not in {"reader", "case"}
                ),
                "reader__code",
                "reader__kind",
                "case__code",
                "case__split",
            )
        )
        return readings.order_by("id")

    def paginate_queryset(self, queryset: QuerySet[Reading]) -> list[Reading] | None:
        """A blinded caller's page in pseudonym and keyed order, sorted in numpy (the
        database would hash every case code of every reading for each page)."""
        blinding = self.blinding
        if not blinding.pseudonymous:
            return super().paginate_queryset(queryset)
        ids = reading_ids_in_order(
            queryset, reader_ranks=blinding.reader_ranks(), case_ranks=blinding.case_ranks()
        )
        page = super().paginate_queryset(ids)
        if page is None:
            page = ids
        rows = {r.pk: r for r in queryset.filter(pk__in=page)}
        return [rows[pk] for pk in page]


def import_max_bytes() -> int:
    return int(settings.API_IMPORT_MAX_BYTES)


def _problems_response(problems: list[UploadProblem], http_status: int = 400) -> Response:
    shown = problems[:1000]
    return Response(
        {
            "detail": f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; "
            "nothing was imported.",
            "messages": [str(p) for p in shown],
            "errors": [p.as_dict() for p in shown],
        },
        status=http_status,
    )


def _too_large(limit: int) -> Response:
    return Response(
        {"detail": f"The upload is larger than {limit} bytes; nothing was imported."},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


class ReadingImport(StudyScopedMixin, APIView):
    """Add readings to the study: a JSON array of rows, or a ``readings.csv`` upload (``file``).

    Validated exactly as ``import_study`` validates ``readings.csv`` (known readers and cases,
    categories on the scale, run and modality, duplicates within the upload and against the
    readings the study holds); all or nothing; audited. Problems name the line (the CSV
    line, or the row of the JSON array) and the column.
    """

    study_roles_write = STUDY_DATA_WRITE
    # The JSON body is read and parsed here (size limit, precise errors); multipart by DRF.
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        request={
            "application/json": ReadingRowSerializer(many=True),
            "multipart/form-data": ReadingsUploadSerializer,
        },
        responses={
            201: ImportResultSerializer,
            400: ImportErrorSerializer,
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="The upload is too large."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        limit = import_max_bytes()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        content_type = request.META.get("CONTENT_TYPE", "")
        multipart = content_type.startswith("multipart/form-data")
        # A multipart body carries its boundaries and headers besides the file.
        if declared > limit + (64 * 1024 if multipart else 0):
            return _too_large(limit)
        try:
            if multipart:
                upload = request.FILES.get("file")
                if upload is None:
                    return _problems_response(
                        [UploadProblem("body", 0, "file", "upload readings.csv as 'file'")]
                    )
                if upload.size > limit:
                    return _too_large(limit)
                csv_bytes, line_to_row, origin = upload.read(), None, "csv"
            else:
                body = request._request.read(limit + 1)
                if len(body) > limit:
                    return _too_large(limit)
                csv_bytes, line_to_row = rows_to_csv(_json_body(body))
                origin = "json"
            n = readings_import(
                study=self.study,
                csv_bytes=csv_bytes,
                line_to_row=line_to_row,
                actor=request.user,
                origin=origin,
            )
        except UploadError as exc:
            return _problems_response(exc.problems)
        return Response({"imported": n}, status=status.HTTP_201_CREATED)


def _json_body(body: bytes) -> Any:
    """The parsed JSON body, or ``UploadError`` naming the line and column of the problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise UploadError(
            [UploadProblem(f"body:{line}", line, "-", "the body is not valid UTF-8")]
        ) from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        line = getattr(exc, "lineno", 1)
        message = f"not valid JSON: {getattr(exc, 'msg', str(exc))}"
        if isinstance(exc, json.JSONDecodeError):
            message += f" (column {exc.colno})"
        raise UploadError([UploadProblem(f"body:{line}", line, "-", message)]) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
