"""Pages of reading sessions: the coordinator's set-up and progress, the reader's worklist,
case page and images. Views stay thin: queries in ``reading.selectors``, writes in
``reading.services``.

Access: coordinator pages need the coordinator role in the study (404 otherwise); reader
pages are reached through an assignment's opaque token and need the reader role in its
study *and* to be the account of the assigned reader (404 otherwise, also for
coordinators). No reader URL names a case: cases are addressed by their position in the
reader's own order, images by their index within the case.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.core.confirm import Confirmation, confirm_page
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.reading.forms import (
    ReadingDesignForm,
    ReadingDraftForm,
    ReadingForm,
    ReadingSessionForm,
)
from readerstudy.reading.models import ReadingDraft, ReadingSession, ReadingSubmission, ReadingWork
from readerstudy.reading.selectors import (
    RANDOMISATION_COLUMNS,
    ReadingWashoutError,
    reading_assignment_for_user,
    reading_assist,
    reading_case_info,
    reading_dicom_at,
    reading_dicom_series,
    reading_image_at,
    reading_image_grid,
    reading_next_position,
    reading_randomisation_rows,
    reading_session_progress,
    reading_work_at,
    reading_worklist,
)
from readerstudy.reading.services import (
    SESSION_REFUSALS,
    ReadingDraftError,
    ReadingSessionError,
    ReadingTokenError,
    SubmitResult,
    reading_design_create,
    reading_draft_save,
    reading_session_close,
    reading_session_create,
    reading_session_delete,
    reading_session_open,
    reading_submit,
    reading_work_open,
)
from readerstudy.studies.access import require_study_role
from readerstudy.studies.display import DISPLAY_CONTENT_TYPE, ImageDisplayError, display_name
from readerstudy.studies.models import CaseImage

DICOM_TYPE = "application/dicom"

# ---------------------------------------------------------------------------------------
# Coordinator pages


@login_required
@require_http_methods(["GET", "POST"])
def session_create(request: HttpRequest, slug: str) -> HttpResponse:
    study = require_study_role(request.user, slug, "coordinator")
    # The case list's selection arrives as ?split=&cases= (issue 15): it pre-fills the form.
    prefill = {k: request.GET[k] for k in ("split", "cases") if request.GET.get(k)}
    form = ReadingSessionForm(request.POST or None, study=study, initial=prefill)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                session = reading_session_create(
                    study=study,
                    options=form.options(),
                    actor=request.user,
                )
            except ReadingSessionError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    f"Reading session “{session.name}” created as a draft; open it to start.",
                )
                return redirect("reading-session", slug=study.slug, pk=session.pk)
        status = 400
    return render(
        request,
        "readerstudy/reading_session_form.html",
        {"study": study, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def design_create(request: HttpRequest, slug: str) -> HttpResponse:
    """A crossover design: its unaided and aided draft sessions in one step."""
    study = require_study_role(request.user, slug, "coordinator")
    form = ReadingDesignForm(request.POST or None, study=study)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                design = reading_design_create(
                    study=study, options=form.design_options(), actor=request.user
                )
            except ReadingSessionError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    f"Crossover design “{design.name}” created: its unaided and aided sessions "
                    "are drafts; open both to start.",
                )
                return redirect("study-detail", slug=study.slug)
        status = 400
    return render(
        request,
        "readerstudy/reading_design_form.html",
        {"study": study, "form": form},
        status=status,
    )


def _coordinator_session(request: HttpRequest, slug: str, pk: int) -> ReadingSession:
    study = require_study_role(request.user, slug, "coordinator")
    return get_object_or_404(
        ReadingSession.objects.select_related("study", "assist_reader", "created_by"),
        pk=pk,
        study=study,
    )


@login_required
@require_GET
def session_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    session = _coordinator_session(request, slug, pk)
    return render(
        request,
        "readerstudy/reading_session_detail.html",
        {
            "study": session.study,
            "session": session,
            "progress": reading_session_progress(session=session),
            "n_cases": session.cases.count(),
        },
    )


SESSION_ACTIONS = {
    "open": (reading_session_open, "Session opened: its readers see it in their worklists."),
    "close": (
        reading_session_close,
        "Session closed: nothing was deleted; readers can no longer submit.",
    ),
    "delete": (reading_session_delete, "Draft session deleted."),
}
#: The session actions that ask for confirmation first.
CONFIRMED_ACTIONS = ("close", "delete")


def session_confirmation(session: ReadingSession, action: str) -> Confirmation | None:
    """What the confirmation page of ``action`` says (``None``: it needs no confirmation, or
    does not apply to the session in its state)."""
    back = reverse("reading-session", kwargs={"slug": session.study.slug, "pk": session.pk})
    if action == "close" and session.status == ReadingSession.Status.OPEN:
        progress = reading_session_progress(session=session)
        done = sum(p.done for p in progress)
        total = sum(p.total for p in progress)
        return Confirmation(
            title=f"Close the session “{session.name}”?",
            message="Its readers can no longer submit or change answers. Nothing is deleted, "
            "and you can re-open the session later.",
            consequences=[f"{done} of {total} reader-cases are answered."],
            button="Close the session",
            cancel_url=back,
            irreversible=False,
        )
    if action == "delete" and session.status == ReadingSession.Status.DRAFT:
        return Confirmation(
            title=f"Delete the draft session “{session.name}”?",
            message="The session, its cases and every reader's case order are deleted. "
            "Nobody has read in it yet.",
            consequences=[f"Seed {session.seed} (to create the same orders again)."],
            button="Delete the draft",
            cancel_url=back,
        )
    return None


@login_required
@require_http_methods(["GET", "POST"])
def session_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    """POST: open, close or delete the session. GET: the confirmation page of close and
    delete (the session page links there)."""
    session = _coordinator_session(request, slug, pk)
    if action not in SESSION_ACTIONS:
        raise Http404("No such action.")
    if request.method == "GET":
        if action not in CONFIRMED_ACTIONS:
            return HttpResponseNotAllowed(["POST"])
        confirmation = session_confirmation(session, action)
        if confirmation is None:
            messages.error(request, f"This session is {session.get_status_display().lower()}.")
            return redirect("reading-session", slug=slug, pk=pk)
        return confirm_page(request, confirmation)
    service, done = SESSION_ACTIONS[action]
    try:
        service(session=session, actor=request.user)
    except SESSION_REFUSALS as exc:
        messages.error(request, exc.message)
        return redirect("reading-session", slug=slug, pk=pk)
    messages.success(request, done)
    if action == "delete":
        return redirect("study-detail", slug=slug)
    return redirect("reading-session", slug=slug, pk=pk)


@login_required
@require_GET
def session_export(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The randomisation (the unblinding key of the reading orders) as CSV."""
    session = _coordinator_session(request, slug, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{session.study.slug}-reading-{session.pk}-randomisation.csv"'
    )
    response["Cache-Control"] = "private, no-store"
    writer = csv_writer(response, lineterminator="\n")
    writer.writerow(RANDOMISATION_COLUMNS)
    writer.writerows(reading_randomisation_rows(session=session))
    audit_record(
        action="reading_randomisation_exported",
        origin=audit_origin(request),
        study=session.study,
        target=f"reading session {session.pk}",
    )
    return response


# ---------------------------------------------------------------------------------------
# Reader pages


@login_required
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    entries = reading_worklist(user=request.user)
    return render(
        request,
        "readerstudy/reading_worklist.html",
        {
            "open_entries": [e for e in entries if e.assignment.session.is_open],
            "closed_entries": [e for e in entries if not e.assignment.session.is_open],
        },
    )


def washout_redirect(view: Any) -> Any:
    """Send a reader whose second crossover condition is not open yet back to the worklist,
    with the date it opens (the API answers 403 with the same message)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)  # type: ignore[no-any-return]
        except ReadingWashoutError as exc:
            messages.warning(request, exc.message)
            return redirect("reading-worklist")

    return wrapped


@login_required
@washout_redirect
@require_GET
def assignment_resume(request: HttpRequest, token: str) -> HttpResponse:
    """Go to the first unfinished case in the reader's order (or back to the worklist)."""
    assignment = reading_assignment_for_user(user=request.user, token=token)
    position = reading_next_position(assignment=assignment)
    if position is None or not assignment.session.is_open:
        if position is None:
            messages.info(request, f"All cases of “{assignment.session.name}” are done.")
        else:
            messages.info(request, f"“{assignment.session.name}” is closed.")
        return redirect("reading-worklist")
    return redirect("reading-case", token=token, position=position)


def _scale(work: ReadingWork) -> list[tuple[int, str]]:
    study = work.assignment.session.study
    return list(study.scale_categories.order_by("value").values_list("value", "label"))


def work_draft(work: ReadingWork) -> ReadingDraft | None:
    """The reader's autosaved draft of the case, if any."""
    try:
        return work.draft
    except ReadingDraft.DoesNotExist:
        return None


def answer_initial(work: ReadingWork) -> dict[str, Any]:
    reading = work.reading
    if reading is None:
        return {}
    return {
        "category": reading.category,
        "probability": None if reading.score is None else round(reading.score * 100),
        "impression": reading.impression,
    }


def _case_page(
    request: HttpRequest,
    work: ReadingWork,
    form: ReadingForm | None,
    *,
    status: int = 200,
    problem: str = "",
    attempt: dict[str, Any] | None = None,
) -> HttpResponse:
    assignment = work.assignment
    session = assignment.session
    total = assignment.work.count()
    done = assignment.work.filter(submitted_at__isnull=False).count()
    editable = session.is_open and (not work.done or session.allow_amend)
    draft = work_draft(work) if editable else None
    stale = draft is not None and draft.base_version != work.version
    restored = form is None and draft is not None and not stale
    if form is None and editable:
        values = answer_initial(work)
        if not values and session.ai_draft:  # the AI's impression as an editable draft
            values = {"impression": work.draft_shown}
        if restored and draft is not None:
            values = {
                "category": draft.category,
                "probability": draft.probability,
                "impression": draft.impression,
            }
        form = ReadingForm(
            initial={**values, "token": uuid.uuid4(), "version": work.version},
            scale=_scale(work),
            require_impression=session.require_impression,
        )
    scale_labels = dict(_scale(work))
    stored = answer_initial(work)
    if stored:
        stored["label"] = scale_labels.get(stored["category"], "")
    return render(
        request,
        "readerstudy/reading_case.html",
        {
            "session": session,
            "assignment": assignment,
            "work": work,
            "total": total,
            "done": done,
            "percent": round(100 * done / total) if total else 0,
            "info": reading_case_info(session=session, case=work.case),
            "grid": reading_image_grid(case=work.case) if session.show_images else None,
            # The series list rides in the page (json_script): the viewer needs no request
            # before its first DICOM file.
            "dicom": dicom_index(work) if session.show_images else [],
            "assist": reading_assist(session=session, case=work.case),
            "form": form if editable else None,
            "stored": stored,
            "draft": draft,
            "draft_restored": restored,
            "draft_stale": stale,
            "problem": problem,
            "attempt": attempt,
            "previous": work.position - 1 if work.position > 1 else None,
            "next": work.position + 1 if work.position < total else None,
        },
        status=status,
    )


def submit_problem_text(result: SubmitResult) -> str:
    work, session = result.work, result.work.assignment.session
    if result.outcome == ReadingSubmission.Outcome.CONFLICT:
        if work.version == 0:
            return (
                "Not saved: the study already holds an answer of yours for this case in this "
                "session's run and modality. Your answer below was recorded for the "
                "coordinator; nothing was overwritten."
            )
        when = work.reading.updated_at if work.reading else None
        text = (
            "Not saved: this case was saved from another window or tab"
            f"{f' at {when:%H:%M:%S}' if when else ''} after you opened this form. Nothing "
            "was overwritten: the saved answer and yours are both shown below."
        )
        if session.allow_amend and session.is_open:
            text += " Submit again to replace the saved answer with yours (an amendment)."
        return text
    if not session.is_open:
        return (
            "Not saved: this session is closed. Your answer below was recorded for the coordinator."
        )
    return (
        "Not saved: this session does not allow changing a submitted answer. Your answer "
        "below was recorded for the coordinator."
    )


def submit_form(*, work: ReadingWork, form: ReadingForm, actor: Any) -> SubmitResult:
    """Submit a valid reading form's answer (the page and the API both submit this way)."""
    data = form.cleaned_data
    return reading_submit(
        work=work,
        actor=actor,
        token=data["token"],
        base_version=data["version"],
        answer=form.answer(),
    )


@login_required
@washout_redirect
@require_http_methods(["GET", "POST"])
def case_page(request: HttpRequest, token: str, position: int) -> HttpResponse:
    assignment = reading_assignment_for_user(user=request.user, token=token)
    work = reading_work_at(assignment=assignment, position=position)
    session = assignment.session
    if request.method == "GET":
        reading_work_open(work=work)
        return _case_page(request, work, None)

    form = ReadingForm(
        request.POST, scale=_scale(work), require_impression=session.require_impression
    )
    if not form.is_valid():
        return _case_page(
            request,
            work,
            form,
            status=400,
            problem="Not saved: please correct the fields marked below.",
        )
    try:
        result = submit_form(work=work, form=form, actor=request.user)
    except ReadingTokenError:
        return _case_page(
            request,
            work,
            None,
            status=400,
            problem="Not saved: this form belongs to another case. Reload the page and try again.",
        )
    work = reading_work_at(assignment=assignment, position=position)
    if result.accepted:
        labels: dict[str, str] = {
            ReadingSubmission.Outcome.SAVED: "saved",
            ReadingSubmission.Outcome.AMENDED: "amended",
            ReadingSubmission.Outcome.UNCHANGED: "unchanged",
        }
        label = labels[result.outcome]
        messages.success(request, f"Case {position} {label}.")
        nxt = reading_next_position(assignment=assignment, after=position)
        if nxt is None:
            messages.success(request, f"All cases of “{session.name}” are done. Thank you!")
            return redirect("reading-worklist")
        return redirect("reading-case", token=token, position=nxt)

    attempt = result.submission.payload
    retry = ReadingForm(
        initial={
            "category": attempt.get("category"),
            "probability": attempt.get("probability"),
            "impression": attempt.get("impression", ""),
            "token": uuid.uuid4(),
            "version": work.version,
        },
        scale=_scale(work),
        require_impression=session.require_impression,
    )
    return _case_page(
        request, work, retry, status=409, problem=submit_problem_text(result), attempt=attempt
    )


@require_POST
def case_draft(request: HttpRequest, token: str, position: int) -> JsonResponse:
    """Autosave of the reading form (JSON ``{version, category, probability, impression,
    active_seconds}``): the reader's draft of the case, restored when they come back."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Sign in first."}, status=403)
    assignment = reading_assignment_for_user(user=request.user, token=token)
    work = reading_work_at(assignment=assignment, position=position)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "body: not valid JSON"}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": "body: expected a JSON object"}, status=400)
    form = ReadingDraftForm(body, scale=_scale(work))
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return JsonResponse({"error": f"{field}: {' '.join(errors)}", "field": field}, status=400)
    data = form.cleaned_data
    try:
        draft = reading_draft_save(
            work=work,
            base_version=data["version"],
            category=data["category"],
            probability=data["probability"],
            impression=data["impression"],
            active_seconds=data["active_seconds"],
        )
    except ReadingDraftError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"saved_at": draft.saved_at.isoformat(), "version": draft.base_version})


@login_required
@require_GET
def case_image(request: HttpRequest, token: str, position: int, index: int) -> HttpResponseBase:
    """One image of the case at ``position``, if the session shows images to this reader."""
    assignment = reading_assignment_for_user(user=request.user, token=token)
    if not assignment.session.show_images:
        raise Http404("This session shows no images.")
    work = reading_work_at(assignment=assignment, position=position)
    return case_image_response(reading_image_at(case=work.case, index=index))


def case_image_response(image: CaseImage) -> HttpResponseBase:
    """The image as the reader sees it: its display PNG (re-encoded from the pixels, DICOM
    windowed to 8 bits), never the stored file and never under its stored name."""
    try:
        name = display_name(image)
    except ImageDisplayError:
        raise Http404("This image cannot be displayed.") from None
    response = FileResponse(default_storage.open(name, "rb"), content_type=DISPLAY_CONTENT_TYPE)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def dicom_index(work: ReadingWork) -> list[dict[str, Any]]:
    """The work's DICOM series in order, each with its instance URLs in slice order."""
    token, position = work.assignment.token, work.position
    return [
        {
            "series": s.number,
            "instances": [
                reverse("reading-dicom", args=[token, position, s.number, n])
                for n in range(1, s.slices + 1)
            ],
        }
        for s in reading_dicom_series(case=work.case)
    ]


@login_required
@require_GET
def case_dicom_index(request: HttpRequest, token: str, position: int) -> HttpResponseBase:
    """The case's DICOM series and instances for the viewer, in order, as JSON: only
    opaque URLs in the reader's own positions (no UID, file name or case id)."""
    assignment = reading_assignment_for_user(user=request.user, token=token)
    if not assignment.session.show_images:
        raise Http404("This session shows no images.")
    work = reading_work_at(assignment=assignment, position=position)
    response = JsonResponse({"series": dicom_index(work)})
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def case_dicom(
    request: HttpRequest, token: str, position: int, series: int, number: int
) -> HttpResponseBase:
    """One de-identified DICOM instance of the case (same access rule as ``case_image``)."""
    assignment = reading_assignment_for_user(user=request.user, token=token)
    if not assignment.session.show_images:
        raise Http404("This session shows no images.")
    work = reading_work_at(assignment=assignment, position=position)
    image = reading_dicom_at(case=work.case, series=series, slice_number=number)
    response = FileResponse(default_storage.open(image.file.name, "rb"), content_type=DICOM_TYPE)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response
