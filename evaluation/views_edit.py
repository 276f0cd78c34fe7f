"""The page that adds raters to a draft or open Likert rating session (coordinators). The form
validates, ``services_edit`` writes and audits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from evaluation.forms import AddRatersForm
from evaluation.models import RatingSession
from evaluation.services import RatingError
from evaluation.services_edit import rating_session_add_rater_users
from readerstudy.core.users import signed_in_user
from readerstudy.studies.access import require_study_role


@login_required
@require_http_methods(["GET", "POST"])
def session_raters(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Add rater members to the session: each gets every item."""
    study = require_study_role(request.user, slug, "coordinator")
    session = get_object_or_404(RatingSession.objects.select_related("study"), pk=pk, study=study)
    form = AddRatersForm(request.POST or None, session=session)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                added = rating_session_add_rater_users(
                    session=session,
                    users=list(form.cleaned_data["raters"]),
                    actor=signed_in_user(request),
                )
            except RatingError as exc:
                form.add_error("raters", exc.message)
            else:
                messages.success(request, "Added: " + ", ".join(r.code for r in added) + ".")
                return redirect("rating-session-detail", slug=slug, pk=pk)
        status = 400
    return render(
        request,
        "evaluation/session_raters.html",
        {"study": study, "session": session, "form": form},
        status=status,
    )
