"""Pages of the core app. Views stay thin: queries live in selectors, writes in services."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from rest_framework.authtoken.models import Token

from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_action_label, audit_record
from readerstudy.audit.tokens import token_create, token_revoke
from readerstudy.core import roles
from readerstudy.core.confirm import Confirmation, confirm_page
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.core.users import signed_in_user
from readerstudy.studies.access import may_create_studies, require_study_role, study_roles
from readerstudy.studies.models import Study
from readerstudy.studies.pseudonyms import Blinding
from readerstudy.studies.selectors import audit_events, studies_for_user, study_overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What each of the user's roles can do, with the studies the user belongs to."""
    user_roles = roles.user_roles(request.user)
    sections = [
        {
            "role": role,
            "description": roles.ROLE_DESCRIPTIONS[role],
            "studies": list(studies_for_user(request.user, role=role)),
        }
        for role in roles.ROLES
        if role in user_roles
    ]
    return render(
        request,
        "readerstudy/home.html",
        {
            "sections": sections,
            "is_staff": request.user.is_staff,
            "may_create": may_create_studies(request.user),
        },
    )


@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A study's hub: what the user may do in it, by role."""
    study = require_study_role(request.user, slug, *roles.ROLES)
    held = study_roles(request.user, study)
    blinding = Blinding.for_actor(actor=request.user, study=study, roles=held)
    return render(
        request,
        "readerstudy/study_detail.html",
        {
            "study": study,
            "roles": held,
            "blinding": blinding,
            "overview": study_overview(study=study, blinding=blinding),
        },
    )


AUDIT_COLUMNS = ["at", "actor_name", "action", "study", "target", "ip", "details"]


def _audit_response(
    request: HttpRequest,
    events: QuerySet,
    title: str,
    filename: str,
    study: Study | None = None,
) -> HttpResponseBase:
    if request.GET.get("format") == "csv":
        audit_record(
            action="export",
            origin=audit_origin(request),
            study=study,
            target=f"audit log {filename}",
        )

        def rows() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv_writer(buffer)
            writer.writerow(AUDIT_COLUMNS)
            for e in events.select_related("study").iterator(chunk_size=2000):
                writer.writerow(
                    [
                        e.at.isoformat(),
                        e.actor_name,
                        e.action,
                        e.study.slug if e.study else "",
                        e.target,
                        e.ip or "",
                        json.dumps(e.details, sort_keys=True),
                    ]
                )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    page = Paginator(events.select_related("study"), 100).get_page(request.GET.get("page"))
    rows = [(event, audit_action_label(event.action)) for event in page]
    return render(request, "readerstudy/audit.html", {"page": page, "rows": rows, "title": title})


@login_required
def study_audit(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The audit log of one study, for its coordinators (HTML, or CSV with ?format=csv)."""
    study = require_study_role(request.user, slug, roles.COORDINATOR)
    return _audit_response(
        request,
        audit_events(study=study),
        f"Audit log · {study.title}",
        f"audit-{study.slug}",
        study=study,
    )


@login_required
def audit_all(request: HttpRequest) -> HttpResponseBase:
    """Every audit event (sign-ins included), for superusers."""
    if not request.user.is_superuser:
        raise Http404
    return _audit_response(request, audit_events(), "Audit log", "audit")


#: ``?confirm=<key>`` of the token page: title, message, button and the POSTed action.
TOKEN_CONFIRMATIONS: dict[str, tuple[str, str, str, str]] = {
    "revoke": (
        "Revoke your API token?",
        "Scripts and notebooks using it get 401 at once. You can create a new token later.",
        "Revoke the token",
        "revoke",
    ),
    "replace": (
        "Replace your API token?",
        "A new key is shown once; scripts and notebooks using the current key get 401 at once.",
        "Replace the token",
        "create",
    ),
}


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """The caller's API token: create (or replace) and revoke. The key is shown once, on creation."""
    created_key = None
    user = signed_in_user(request)
    token = Token.objects.filter(user=user).first()
    confirming = request.GET.get("confirm")
    if request.method == "GET" and token is not None and confirming in TOKEN_CONFIRMATIONS:
        title, message, button, action = TOKEN_CONFIRMATIONS[confirming]
        return confirm_page(
            request,
            Confirmation(
                title=title,
                message=message,
                button=button,
                cancel_url=reverse("api-token-page"),
                fields={"action": action},
            ),
            action_url=reverse("api-token-page"),
        )
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            token_revoke(user=user, origin=audit_origin(request))
            messages.success(request, "Your API token was revoked.")
            return redirect("api-token-page")
        created_key = token_create(user=user, origin=audit_origin(request)).key
        token = Token.objects.filter(user=user).first()
    response = render(
        request,
        "readerstudy/api_token.html",
        {"token": token, "created_key": created_key},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, asked for by browsers on pages that link no icon (e.g. the admin)."""
    return redirect(static("readerstudy/favicon.ico"))
