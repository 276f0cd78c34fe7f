"""Pages to edit a reading session (a draft completely, an open one by adding readers) and
to clone one. Coordinators only; the forms validate, ``services_edit`` writes and audits."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from readerstudy.reading.forms import (
    ReadingSessionCloneForm,
    ReadingSessionForm,
    ReadingSessionReadersForm,
)
from readerstudy.reading.models import ReadingSession
from readerstudy.reading.services import ReadingSessionError
from readerstudy.reading.services_edit import (
    reading_session_add_readers,
    reading_session_clone,
    reading_session_options,
    reading_session_update,
)
from readerstudy.studies.access import require_study_role


def _session(request: HttpRequest, slug: str, pk: int) -> ReadingSession:
    study = require_study_role(request.user, slug, "coordinator")
    return get_object_or_404(
        ReadingSession.objects.select_related("study", "assist_reader"), pk=pk, study=study
    )


def _initial(session: ReadingSession) -> dict[str, Any]:
    options = reading_session_options(session=session)
    return {
        "name": options.name,
        "split": options.split,
        "readers": [r.pk for r in options.readers],
        "cases": " ".join(c.code for c in options.cases or ()),
        "order": options.order,
        "seed": options.seed,
        "show_images": options.show_images,
        "show_location": options.show_location,
        "show_clinical_history": options.show_clinical_history,
        "show_findings": options.show_findings,
        "require_impression": options.require_impression,
        "allow_amend": options.allow_amend,
        "run": options.run,
        "modality": options.modality,
        "assist_reader": options.assist_reader.pk if options.assist_reader else None,
    }


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A draft: the whole session form. Open: add readers. Closed: nothing to edit."""
    session = _session(request, slug, pk)
    context: dict[str, Any] = {"study": session.study, "session": session}
    status = 200
    if session.status == ReadingSession.Status.DRAFT:
        draft_form = ReadingSessionForm(
            request.POST or None, study=session.study, editing=session, initial=_initial(session)
        )
        form: ReadingSessionForm | ReadingSessionReadersForm = draft_form
        if request.method == "POST":
            if draft_form.is_valid():
                try:
                    changed = reading_session_update(
                        session=session, options=draft_form.options(), actor=request.user
                    )
                except ReadingSessionError as exc:
                    field = exc.field if exc.field in draft_form.fields else None
                    draft_form.add_error(field, exc.message)
                else:
                    messages.success(
                        request, "Saved: " + ", ".join(changed) if changed else "Nothing changed."
                    )
                    return redirect("reading-session", slug=slug, pk=pk)
            status = 400
    else:
        form = ReadingSessionReadersForm(request.POST or None, session=session)
        if request.method == "POST" and session.status != ReadingSession.Status.CLOSED:
            if form.is_valid():
                try:
                    added = reading_session_add_readers(
                        session=session, readers=form.cleaned_data["readers"], actor=request.user
                    )
                except ReadingSessionError as exc:
                    form.add_error("readers", exc.message)
                else:
                    messages.success(request, "Added: " + ", ".join(r.code for r in added) + ".")
                    return redirect("reading-session", slug=slug, pk=pk)
            status = 400
    context["form"] = form
    return render(request, "readerstudy/reading_session_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def session_clone(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A new draft with the session's readers, cases and settings (a new seed and run)."""
    session = _session(request, slug, pk)
    form = ReadingSessionCloneForm(request.POST or None, session=session)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                clone = reading_session_clone(
                    session=session,
                    name=form.cleaned_data["name"],
                    run=form.cleaned_data["run"],
                    actor=request.user,
                )
            except ReadingSessionError as exc:
                form.add_error("run" if exc.field in ("run", "modality") else None, exc.message)
            else:
                messages.success(request, f"Draft “{clone.name}” created (run {clone.run}).")
                return redirect("reading-session", slug=slug, pk=clone.pk)
        status = 400
    return render(
        request,
        "readerstudy/reading_session_clone.html",
        {"study": session.study, "session": session, "form": form},
        status=status,
    )
