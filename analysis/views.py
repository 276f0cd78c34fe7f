"""The analysis dashboard, its downloads and the dataset exports.

Only the study's coordinators and statisticians get anything (others: 404). Identifiers
are pseudonymous for statisticians until the study is unblinded; coordinators, and
everyone after unblinding, see real ids unless they ask for pseudonyms
(:class:`readerstudy.studies.pseudonyms.Blinding`). Every download is recorded in the audit log.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analysis.charts import (
    FIGURE_FORMATS,
    FIGURE_TITLES,
    build_figures,
    figure_html,
    figure_image,
)
from analysis.exports import (
    EXPORT_KINDS,
    csv_stream,
    discard_temp_path,
    export_filename,
    export_temp_path,
    file_chunks,
    write_export,
)
from analysis.forms import AnalysisFilterForm, PlanningForm
from analysis.planning import plan_calculate
from analysis.render import StaticExportUnavailable, browser_path
from analysis.results import results_json
from analysis.services import analysis_compute, dashboard_payload, tables_workbook
from analysis.tables import build_tables, table_csv, table_docx, table_footnotes
from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.core import roles
from readerstudy.studies.access import require_study_role, study_roles
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import Blinding, real_ids_allowed

ANALYSIS_ROLES = (roles.COORDINATOR, roles.STATISTICIAN)
IMAGE_TYPES = {
    "png": "image/png",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
    "eps": "application/postscript",
}


def _filters(request: HttpRequest, study: Study) -> AnalysisFilterForm:
    allowed = real_ids_allowed(roles=study_roles(request.user, study), study=study)
    form = AnalysisFilterForm(request.GET or None, study=study, allow_real_ids=allowed)
    form.set_reader_choices(form.wants_pseudonyms())
    return form


def _form_errors(form: AnalysisFilterForm) -> str:
    return "; ".join(
        f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
    )


ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)


def _attachment(response: ResponseT, filename: str) -> ResponseT:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def audit_export(
    request: HttpRequest, study: Study, kind: str, pseudonymous: bool, **extra: Any
) -> None:
    audit_record(
        action="export",
        origin=audit_origin(request),
        study=study,
        target=kind,
        details={"kind": kind, "pseudonymous": pseudonymous, **extra},
    )


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@login_required
@require_GET
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Tables and interactive figures of the study's live data, with filters and downloads."""
    study = require_study_role(request.user, slug, *ANALYSIS_ROLES)
    form = _filters(request, study)
    pseudonymous = form.wants_pseudonyms()
    context: dict[str, Any] = {
        "study": study,
        "form": form,
        "pseudonymous": pseudonymous,
        "query": request.GET.urlencode(),
        "exports": list(EXPORT_KINDS.values()),
        "static_images": browser_path() is not None,
    }
    if form.is_bound and not form.is_valid():
        context["error"] = _form_errors(form)
        return render(request, "analysis/dashboard.html", context, status=400)
    try:
        payload = dashboard_payload(
            study=study,
            options=form.options(),
            pseudonymous=pseudonymous,
            likert_range=form.likert_range(),
        )
    except ValueError as exc:
        context["error"] = str(exc)
        return render(request, "analysis/dashboard.html", context, status=400)
    context["payload"] = payload
    return render(request, "analysis/dashboard.html", context)


class BadFilters(ValueError):
    """The filters of a request are not valid; ``errors`` names each field."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


def analysis_for_request(request: HttpRequest, study: Study) -> tuple[Any, bool, Any]:
    """The analysis of ``study`` with the request's filters, whether its ids are pseudonyms,
    and the filter form (shared by the downloads and the API); ``BadFilters`` if invalid."""
    form = _filters(request, study)
    if form.is_bound and not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        raise BadFilters(_form_errors(form), errors)
    pseudonymous = form.wants_pseudonyms()
    try:
        analysis, _ = analysis_compute(
            study=study, options=form.options(), pseudonymous=pseudonymous
        )
    except ValueError as exc:
        raise BadFilters(str(exc), {"non_field_errors": [str(exc)]}) from exc
    return analysis, pseudonymous, form


def _analysis_for_download(request: HttpRequest, slug: str) -> tuple[Study, Any, bool, Any]:
    study = require_study_role(request.user, slug, *ANALYSIS_ROLES)
    return study, *analysis_for_request(request, study)


@login_required
@require_GET
def results_download(request: HttpRequest, slug: str) -> HttpResponse:
    """``results.json`` of the filtered analysis."""
    try:
        study, analysis, pseudonymous, form = _analysis_for_download(request, slug)
    except BadFilters as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    body = json.dumps(results_json(analysis), indent=2, ensure_ascii=False, allow_nan=False)
    audit_export(request, study, "results.json", pseudonymous, filters=form.options().as_dict())
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    return _attachment(response, f"{study.slug}-results.json")


@login_required
@require_GET
def table_download(request: HttpRequest, slug: str, name: str, fmt: str) -> HttpResponse:
    """One table as CSV (``name``) or every table as one workbook (``name`` = "tables")."""
    try:
        study, analysis, pseudonymous, form = _analysis_for_download(request, slug)
    except BadFilters as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    tables = build_tables(analysis)
    if fmt == "xlsx" and name == "tables":
        body = tables_workbook(analysis=analysis, pseudonymous=pseudonymous)
        content_type = EXPORT_KINDS["data.xlsx"].content_type
        filename = f"{study.slug}-tables.xlsx"
    elif fmt == "docx" and name in tables:
        body = table_docx(name, tables[name], footnotes=table_footnotes(analysis).get(name, []))
        content_type = DOCX_TYPE
        filename = f"{study.slug}-{name}.docx"
    elif fmt == "csv" and name in tables:
        body = table_csv(tables[name])
        content_type = "text/csv; charset=utf-8"
        filename = f"{study.slug}-{name}.csv"
    else:
        raise Http404("No such table.")
    audit_export(request, study, f"{name}.{fmt}", pseudonymous, filters=form.options().as_dict())
    return _attachment(HttpResponse(body, content_type=content_type), filename)


@login_required
@require_GET
def figure_download(request: HttpRequest, slug: str, name: str, fmt: str) -> HttpResponse:
    """One figure as a self-contained HTML page, or PNG / TIFF (300 dpi), PDF, SVG, EPS."""
    try:
        study, analysis, pseudonymous, form = _analysis_for_download(request, slug)
    except BadFilters as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    figures = build_figures(analysis, likert_range=form.likert_range())
    if name not in figures or fmt not in FIGURE_FORMATS:
        raise Http404("No such figure.")
    fig = figures[name]
    if fmt == "html":
        body: bytes = figure_html(
            fig, title=FIGURE_TITLES.get(name, name), plotlyjs="inline"
        ).encode()
        content_type = "text/html; charset=utf-8"
    else:
        # the print layout: the figure's own column width, 300 dpi (raster)
        try:
            body = figure_image(fig, fmt=fmt, name=name, dpi=300)
        except StaticExportUnavailable as exc:
            return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
        content_type = IMAGE_TYPES[fmt]
    audit_export(request, study, f"{name}.{fmt}", pseudonymous, filters=form.options().as_dict())
    return _attachment(HttpResponse(body, content_type=content_type), f"{study.slug}-{name}.{fmt}")


def export_stream(request: HttpRequest, study: Study, kind: str) -> StreamingHttpResponse:
    """The dataset export ``kind`` streamed as an attachment, audited (shared with the API).

    ``Http404`` for an unknown kind; ``ValueError`` for an ``?ids=`` other than real or
    pseudonymous. Pseudonyms follow :meth:`readerstudy.studies.pseudonyms.Blinding.for_actor`.
    """
    spec = EXPORT_KINDS.get(kind)
    if spec is None:
        raise Http404("No such export.")
    blinding = Blinding.for_actor(actor=request.user, study=study, requested=request.GET.get("ids"))
    ids, pseudonymous = blinding.ids, blinding.pseudonymous
    filename = export_filename(study, kind, pseudonymous=pseudonymous)
    audit_export(request, study, kind, pseudonymous)
    if spec.fmt == "csv" and spec.dataset is not None:
        response = StreamingHttpResponse(
            csv_stream(study, spec.dataset, ids), content_type=spec.content_type
        )
    else:
        path = export_temp_path(kind)
        try:
            write_export(study, kind, ids, path)
        except BaseException:
            discard_temp_path(path)
            raise
        response = StreamingHttpResponse(file_chunks(path), content_type=spec.content_type)
        response["Content-Length"] = str(path.stat().st_size)
    return _attachment(response, filename)


@login_required
@require_GET
def export_download(request: HttpRequest, slug: str, kind: str) -> HttpResponseBase:
    """A dataset export (``kind`` from :data:`analysis.exports.EXPORT_KINDS`), streamed."""
    study = require_study_role(request.user, slug, *ANALYSIS_ROLES)
    try:
        return export_stream(request, study, kind)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def planning(request: HttpRequest) -> HttpResponse:
    """Sample-size planning: one calculation of analysis.stats.sample_size, MRMC grid plot."""
    form = PlanningForm(request.GET or None)
    context: dict[str, Any] = {"form": form}
    if form.is_bound:
        if not form.is_valid():
            context["error"] = "; ".join(
                f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()
            )
            return render(request, "analysis/planning.html", context, status=400)
        try:
            result = plan_calculate(form=form)
        except ValueError as exc:
            context["error"] = str(exc)
            return render(request, "analysis/planning.html", context, status=400)
        context["result"] = result
        if result.figure is not None:
            context["figure_json"] = result.figure.to_json()
    return render(request, "analysis/planning.html", context)
