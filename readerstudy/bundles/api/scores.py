"""Import of Likert scores through the API (``POST /api/studies/<slug>/scores/import/``):
the rows of a bundle's ratings.csv, validated by :mod:`readerstudy.bundles.scores`."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.bundles.problems import BundleError
from readerstudy.bundles.scores import likert_scores_import, rows_to_csv
from readerstudy.core import roles
from readerstudy.core.users import signed_in_user
from readerstudy.studies.api.access import StudyScopedMixin

IMPORT_ERRORS_SHOWN = 1000


class ScoresImportSerializer(serializers.Serializer):
    """JSON import: ``{"rows": [{"rater_id", "reader_id", "case_id", "run", "domain",
    "score", "modality"?}, ...]}``; or a multipart upload with the file in ``file``."""

    rows = serializers.ListField(child=serializers.DictField(), required=False)
    file = serializers.FileField(required=False)


class ScoresImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    raters_created = serializers.ListField(child=serializers.CharField())


class ScoresImportProblemSerializer(serializers.Serializer):
    file = serializers.CharField(help_text='"ratings.csv", or "rows" for JSON rows')
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ScoresImportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ScoresImportProblemSerializer(many=True)
    messages = serializers.ListField(child=serializers.CharField())
    n_errors = serializers.IntegerField()


def _problem_body(exc: BundleError) -> dict[str, Any]:
    shown = exc.problems[:IMPORT_ERRORS_SHOWN]
    return {
        "detail": f"{len(exc.problems)} problem(s) found; nothing was imported.",
        "errors": [
            {"file": p.file, "line": p.line, "field": p.column, "message": p.message} for p in shown
        ],
        "messages": [str(p) for p in shown],
        "n_errors": len(exc.problems),
    }


class ScoresImport(StudyScopedMixin, APIView):
    """Import Likert scores: JSON ``{"rows": [...]}`` or a ``ratings.csv`` uploaded as
    ``file`` (multipart). Validated like the bundle's ratings.csv and against stored scores;
    all or nothing; audited (``likert_scores_imported``). Bodies above
    ``API_IMPORT_MAX_BYTES`` are refused with 413."""

    study_roles_read: ClassVar[set[str]] = {roles.COORDINATOR}
    study_roles_write: ClassVar[set[str]] = {roles.COORDINATOR}
    parser_classes = [JSONParser, MultiPartParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before anything reads (or parses) the body.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError as exc:
            raise ParseError("Content-Length: not a number.") from exc
        self.too_large = length > settings.API_IMPORT_MAX_BYTES
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={
            "application/json": ScoresImportSerializer,
            "multipart/form-data": ScoresImportSerializer,
        },
        responses={
            201: ScoresImportResultSerializer,
            400: ScoresImportErrorSerializer,
            413: OpenApiResponse(description="The body is larger than API_IMPORT_MAX_BYTES."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        limit = settings.API_IMPORT_MAX_BYTES
        too_large = Response(
            {"detail": f"The upload is larger than {limit} bytes; nothing was imported."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
        if self.too_large:
            return too_large
        content_type = request.content_type.split(";")[0].strip()
        try:
            if content_type == "multipart/form-data":
                upload = request.FILES.get("file")
                if upload is None:
                    raise ParseError("file: upload ratings.csv in the field 'file'.")
                if upload.size > limit:
                    return too_large
                data, json_rows = upload.read(), False
            elif content_type == "application/json":
                body = request.data
                rows = body.get("rows") if isinstance(body, dict) else body
                if rows is None:
                    raise ParseError('rows: send {"rows": [...]} or a list of rows.')
                data, json_rows = rows_to_csv(rows), True
            else:
                raise UnsupportedMediaType(content_type)
            result = likert_scores_import(
                study=self.study,
                data=data,
                json_rows=json_rows,
                actor=signed_in_user(request),
            )
        except BundleError as exc:
            return Response(_problem_body(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"created": result.created, "raters_created": result.raters_created},
            status=status.HTTP_201_CREATED,
        )
