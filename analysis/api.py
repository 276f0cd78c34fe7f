"""The analysis API: results.json of a study and its dataset exports.

The same rules as the dashboard (``analysis.views``): the study's coordinators and
statisticians only; statisticians get pseudonyms until the study is unblinded, coordinators
(and everyone after unblinding) real ids unless they ask ``?ids=pseudonymous``; the analysis is
computed by :func:`analysis.services.analysis_compute` (cached by the SHA-256 of the data it
read, so it always reflects the stored data). Every request is audited as an ``export``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.exports import EXPORT_KINDS
from analysis.results import results_json
from analysis.selectors import SPLITS
from analysis.stats.choices import (
    KAPPA_CI_METHODS,
    MRMC_COVARIANCES,
    P_ADJUST_METHODS,
    PROPORTION_CI_METHODS,
)
from analysis.views import (
    ANALYSIS_ROLES,
    BadFilters,
    analysis_for_request,
    audit_export,
    export_stream,
)
from readerstudy.studies.api.access import StudyScopedMixin
from readerstudy.studies.pseudonyms import IDS_CHOICES

IDS = OpenApiParameter(
    "ids",
    str,
    enum=list(IDS_CHOICES),
    description="Identifiers (statisticians get pseudonyms before unblinding whatever they ask).",
)
FILTERS = [
    OpenApiParameter("split", str, enum=list(SPLITS), description="Default: test."),
    OpenApiParameter("readers", str, many=True, description="Reader ids (default: all)."),
    OpenApiParameter("runs", int, many=True, description="Runs (default: all)."),
    OpenApiParameter(
        "modality",
        int,
        description="Modality of the per-reader results (default: the first); MRMC compares all.",
    ),
    OpenApiParameter(
        "kappa_ci",
        str,
        enum=list(KAPPA_CI_METHODS),
        description="Fleiss κ CI: gwet (default, Gwet's variance) or spss (SPSS's null SE).",
    ),
    OpenApiParameter(
        "proportion_ci",
        str,
        enum=list(PROPORTION_CI_METHODS),
        description="CIs of sensitivity, specificity, accuracy, PPV, NPV (default: exact).",
    ),
    OpenApiParameter(
        "p_adjust",
        str,
        enum=list(P_ADJUST_METHODS),
        description="P-value adjustment of every family (default: Dunn Bonferroni, DeLong and "
        "McNemar none).",
    ),
    OpenApiParameter(
        "mrmc_covariance",
        str,
        enum=list(MRMC_COVARIANCES),
        description="MRMC covariance (default: jackknife).",
    ),
    IDS,
]


class AnalysisResults(StudyScopedMixin, APIView):
    """The study's ``results.json`` (the analysis of its current data, with the dashboard's
    filters ``split``, ``readers``, ``runs``, ``modality`` and ``ids``). Audited as an export."""

    study_roles_read: ClassVar[set[str]] = set(ANALYSIS_ROLES)

    @extend_schema(
        parameters=FILTERS,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="Bad filters.")},
    )
    def get(self, request: Request, slug: str) -> Response:
        try:
            analysis, pseudonymous, form = analysis_for_request(request._request, self.study)
        except BadFilters as exc:
            return Response(
                {"detail": str(exc), "errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST
            )
        body = results_json(analysis)
        audit_export(
            request._request,
            self.study,
            "results.json",
            pseudonymous,
            filters=form.options().as_dict(),
            via="api",
        )
        return Response(body)


class ExportDownload(StudyScopedMixin, APIView):
    """A tidy dataset export (``readings.csv``, ``likert.csv``, ``wide.csv``, the Parquet, SPSS
    and Excel forms and the dictionary), streamed. Audited as an export."""

    study_roles_read: ClassVar[set[str]] = set(ANALYSIS_ROLES)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is a file whatever the client accepts; errors are still JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "name", str, OpenApiParameter.PATH, enum=sorted(EXPORT_KINDS), description="Export."
            ),
            IDS,
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="Bad ids parameter."),
            404: OpenApiResponse(description="No such export."),
        },
    )
    def get(self, request: Request, slug: str, name: str) -> HttpResponseBase:
        try:
            return export_stream(request._request, self.study, name)
        except ValueError as exc:
            return Response(
                {"detail": str(exc), "errors": {"ids": [str(exc)]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
