"""Pages and JSON endpoints of Likert rating.

Rater pages address items only by their opaque public id and render only the blinded
:class:`~evaluation.selectors.RaterItemView`; anything that is not the caller's own item of a
started session is a 404. Coordinator pages need the coordinator role in the study (404
otherwise). Views stay thin: reads in ``selectors``, writes in ``services``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Count
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from evaluation import selectors, services
from evaluation.blinding import RULE_LABELS
from evaluation.forms import (
    DraftPayload,
    RatingSessionForm,
    RedactForm,
    StartSessionForm,
    SubmitPayload,
    UnblindForm,
    VersionForm,
    first_error,
    new_token,
    parse_json_body,
)
from evaluation.models import RatingItem, RatingSession, RatingTask
from readerstudy.audit.context import audit_origin
from readerstudy.audit.services import audit_record
from readerstudy.core.confirm import Confirmation, confirm_page
from readerstudy.core.spreadsheet import csv_writer
from readerstudy.core.users import signed_in_user
from readerstudy.studies.access import require_study_role
from readerstudy.studies.display import DISPLAY_CONTENT_TYPE, ImageDisplayError, display_name

View = Callable[..., HttpResponseBase]


def _json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def json_login_required(view: View) -> View:
    """Like ``login_required``, but a JSON 403 instead of a redirect to the sign-in page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return _json_error("Sign in first.", 403)
        return view(request, *args, **kwargs)

    return wrapped


# --------------------------------------------------------------------------------------
# Rater pages


@login_required
@never_cache
@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """The caller's rating sessions with progress and a resume link."""
    return render(
        request, "evaluation/worklist.html", {"entries": selectors.rater_worklist(request.user)}
    )


@login_required
@never_cache
@require_GET
def session_items(request: HttpRequest, session_id: int) -> HttpResponse:
    """The caller's items in one session, in their own order, with their state."""
    assignment = selectors.rater_assignment_for(request.user, session_id)
    lines = selectors.rater_task_lines(assignment)
    submitted = sum(1 for line in lines if line.state == "submitted")
    return render(
        request,
        "evaluation/session_items.html",
        {
            "session_id": assignment.session_id,
            "session_name": assignment.session.name,
            "session_open": assignment.session.status == RatingSession.Status.OPEN,
            "lines": lines,
            "submitted": submitted,
            "total": len(lines),
        },
    )


@login_required
@never_cache
@require_GET
def resume(request: HttpRequest, session_id: int) -> HttpResponse:
    """Back to where the rater left: the last item they worked on, or the next one to do."""
    assignment = selectors.rater_assignment_for(request.user, session_id)
    task = selectors.resume_task(assignment)
    if task is None:
        raise Http404("No items.")
    return redirect("rating-item", public_id=task.item.public_id)


def _item_context(task: RatingTask) -> dict[str, Any]:
    view = selectors.rater_item_view(task)
    return {"item": view, "config": {"version": view.version, "id": view.public_id}}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def item(request: HttpRequest, public_id: str) -> HttpResponse:
    """The rating page of one item. POST (the no-script path) saves the draft and goes on."""
    task = selectors.rater_task_for(request.user, public_id)
    if task.assignment.session.instrument != RatingSession.Instrument.LIKERT:
        return _judgment_item(request, task)
    if request.method == "POST":
        scores = {
            key[len("score-") :]: value
            for key, value in request.POST.items()
            if key.startswith("score-")
        }
        version_form = VersionForm(request.POST)
        if not version_form.is_valid():
            messages.error(request, "version: missing or out of range; reload the page.")
            return redirect("rating-item", public_id=public_id)
        version = version_form.cleaned_data["version"]
        try:
            services.rating_draft_save(task=task, scores=scores, version=version)
        except services.RATING_REFUSALS as exc:
            messages.error(request, exc.message)
            return redirect("rating-item", public_id=public_id)
        if request.POST.get("action") == "review":
            return redirect("rating-review", public_id=public_id)
        messages.success(request, "Draft saved.")
        return redirect("rating-item", public_id=public_id)
    services.rating_task_open(task=task)
    return render(request, "evaluation/item.html", _item_context(task))


JUDGMENT_FIELDS = ("choice", "strength", "comment", "grade", "no_errors")


def _posted_answer(request: HttpRequest) -> dict[str, Any]:
    """The answer a judgment page posts; an error page's marked errors come as the JSON of
    its ``errors`` field (kept up to date by the page's script)."""
    answer: dict[str, Any] = {
        k: request.POST[k] for k in JUDGMENT_FIELDS if request.POST.get(k, "") != ""
    }
    raw = request.POST.get("errors", "")
    if raw.strip():
        try:
            answer["errors"] = json.loads(raw)
        except ValueError:
            answer["errors"] = raw  # refused by the validation, naming the field
    return answer


def _judgment_item(request: HttpRequest, task: RatingTask) -> HttpResponse:
    """A pairwise or acceptability page. POST (also the no-script path) submits the answer,
    or with ``action=save`` keeps it as the draft; then on to the next item to do."""
    public_id = task.item.public_id
    if request.method == "POST":
        answer = _posted_answer(request)
        form = SubmitPayload(request.POST)
        version_form = VersionForm(request.POST)
        try:
            if request.POST.get("action") == "save" or not form.is_valid():
                if not version_form.is_valid():
                    messages.error(request, "version: missing or out of range; reload the page.")
                    return redirect("rating-item", public_id=public_id)
                services.rating_draft_save(
                    task=task, scores=answer, version=version_form.cleaned_data["version"]
                )
                messages.success(request, "Draft saved.")
                return redirect("rating-item", public_id=public_id)
            result = services.rating_submit(
                task=task,
                token=form.cleaned_data["token"],
                version=form.cleaned_data["version"],
                scores=answer,
                actor=signed_in_user(request),
            )
        except services.RATING_REFUSALS as exc:
            messages.error(request, exc.message)
            return redirect("rating-item", public_id=public_id)
        messages.success(
            request,
            {"submitted": "Submitted.", "amended": "Amendment saved.", "unchanged": "No change."}[
                result.status
            ],
        )
        following = selectors.next_pending_public_id(task)
        if following is None:
            messages.info(request, "Every item of this session is submitted. Thank you!")
            return redirect("rating-session", session_id=task.assignment.session_id)
        return redirect("rating-item", public_id=following)
    services.rating_task_open(task=task)
    view = selectors.rater_judgment_view(task)
    return render(
        request,
        "evaluation/judgment_item.html",
        {
            "item": view,
            "token": new_token(),
            "strengths": range(1, 6),
            "errors_json": json.dumps(view.draft.get("errors", [])),
        },
    )


@login_required
@never_cache
@require_GET
def review(request: HttpRequest, public_id: str) -> HttpResponse:
    """Every score of the item on one page, before the final submission."""
    task = selectors.rater_task_for(request.user, public_id)
    if task.assignment.session.instrument != RatingSession.Instrument.LIKERT:
        return redirect("rating-item", public_id=public_id)  # answered on the item page
    view = selectors.rater_item_view(task)
    rows = [
        {
            "label": row.label,
            "group": group.name,
            "value": row.value,
            "anchor": dict(row.points).get(row.value, "") if row.value is not None else "",
            "stored": view.stored.get(row.key),
        }
        for group in view.groups
        for row in group.rows
    ]
    changed = view.submitted and any(r["stored"] != r["value"] for r in rows)
    return render(
        request,
        "evaluation/review.html",
        {
            "item": view,
            "rows": rows,
            "changed": changed,
            "token": new_token(),
        },
    )


@login_required
@never_cache
@require_POST
def submit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Submit the reviewed draft (form post); a retried post is answered from what is stored."""
    task = selectors.rater_task_for(request.user, public_id)
    form = SubmitPayload(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form)[1])
        return redirect("rating-review", public_id=public_id)
    try:
        result = services.rating_submit(
            task=task,
            token=form.cleaned_data["token"],
            version=form.cleaned_data["version"],
            actor=signed_in_user(request),
        )
    except services.StaleVersionError as exc:
        messages.error(request, exc.message)
        return redirect("rating-review", public_id=public_id)
    except services.RATING_REFUSALS as exc:
        messages.error(request, exc.message)
        return redirect("rating-item", public_id=public_id)
    messages.success(
        request,
        {"submitted": "Submitted.", "amended": "Amendment saved.", "unchanged": "No change."}[
            result.status
        ],
    )
    following = selectors.next_pending_public_id(task)
    if following is None:
        messages.info(request, "Every item of this session is submitted. Thank you!")
        return redirect("rating-session", session_id=task.assignment.session_id)
    return redirect("rating-item", public_id=following)


@json_login_required
@never_cache
@require_http_methods(["GET", "POST"])
def draft_json(request: HttpRequest, public_id: str) -> JsonResponse:
    """GET: the stored draft and version. POST ``{"version", "scores"}``: autosave."""
    task = selectors.rater_task_for(request.user, public_id)
    if request.method == "GET":
        return JsonResponse(
            {
                "version": task.version,
                "scores": task.draft,
                "submitted": task.submitted_at is not None,
            }
        )
    try:
        form = DraftPayload(parse_json_body(request.body))
    except ValidationError as exc:
        return _json_error(" ".join(exc.messages), 400)
    if not form.is_valid():
        field, message = first_error(form)
        return _json_error(message, 400, field=field)
    try:
        version = services.rating_draft_save(
            task=task, scores=form.cleaned_data["scores"], version=form.cleaned_data["version"]
        )
    except services.StaleVersionError as exc:
        return _json_error(exc.message, 409, version=exc.version, scores=exc.draft)
    except services.RATING_REFUSALS as exc:
        return _json_error(exc.message, exc.status, field=exc.field)
    return JsonResponse({"version": version})


@json_login_required
@never_cache
@require_POST
def submit_json(request: HttpRequest, public_id: str) -> JsonResponse:
    """POST ``{"token", "version", "scores"?}``: submit; the same token again is a no-op."""
    task = selectors.rater_task_for(request.user, public_id)
    try:
        form = SubmitPayload(parse_json_body(request.body))
    except ValidationError as exc:
        return _json_error(" ".join(exc.messages), 400)
    if not form.is_valid():
        field, message = first_error(form)
        return _json_error(message, 400, field=field)
    try:
        result = services.rating_submit(
            task=task,
            token=form.cleaned_data["token"],
            version=form.cleaned_data["version"],
            scores=form.cleaned_data.get("scores"),
            actor=signed_in_user(request),
        )
    except services.StaleVersionError as exc:
        return _json_error(exc.message, 409, version=exc.version, scores=exc.draft)
    except services.RATING_REFUSALS as exc:
        return _json_error(exc.message, exc.status, field=exc.field)
    following = selectors.next_pending_public_id(task)
    return JsonResponse(
        {
            "status": result.status,
            "version": result.version,
            "replayed": result.replayed,
            "next": reverse("rating-item", args=[following]) if following else None,
        }
    )


@login_required
@require_GET
def item_image(request: HttpRequest, public_id: str, number: int) -> HttpResponse:
    """Image ``number`` of the item's case, metadata stripped, under the item's opaque URL."""
    return rater_image_response(selectors.rater_task_for(request.user, public_id), number)


def rater_image_response(task: RatingTask, number: int) -> HttpResponse:
    """Image ``number`` of ``task``'s case as its display PNG, re-encoded from the pixels so
    that nothing else reaches the rater (also used by the API)."""
    image = selectors.rater_item_image(task, number)
    try:
        name = display_name(image)
    except ImageDisplayError as exc:
        raise Http404("No such image.") from exc
    with default_storage.open(name, "rb") as handle:
        response = HttpResponse(handle.read(), content_type=DISPLAY_CONTENT_TYPE)
    response["Cache-Control"] = "private, max-age=600"
    return response


# --------------------------------------------------------------------------------------
# Coordinator pages


def _coordinator_session(request: HttpRequest, slug: str, pk: int) -> RatingSession:
    study = require_study_role(request.user, slug, "coordinator")
    return get_object_or_404(RatingSession.objects.select_related("study"), pk=pk, study=study)


@login_required
@require_GET
def manage(request: HttpRequest, slug: str) -> HttpResponse:
    """The study's rating sessions, with links to create one, the leak report and unblinding."""
    study = require_study_role(request.user, slug, "coordinator")
    return render(
        request,
        "evaluation/manage.html",
        {"study": study, "sessions": selectors.study_sessions(study)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_new(request: HttpRequest, slug: str) -> HttpResponse:
    study = require_study_role(request.user, slug, "coordinator")
    form = RatingSessionForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.rating_session_create_for_users(
                study=study,
                users=list(form.cleaned_data["raters"]),
                options=form.options(),
                actor=signed_in_user(request),
            )
        except services.RATING_REFUSALS as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(
                request,
                "Session created as a draft. Review the leak flags, then start it.",
            )
            return redirect("rating-session-detail", slug=study.slug, pk=session.pk)
    return render(request, "evaluation/session_form.html", {"study": study, "form": form})


@login_required
@require_GET
def session_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    session = _coordinator_session(request, slug, pk)
    flagged = selectors.session_flagged_items(session)
    return render(
        request,
        "evaluation/session_detail.html",
        {
            "study": session.study,
            "session": session,
            "domains": selectors.session_domains(session),
            "progress": selectors.session_progress(session),
            "counts": selectors.session_task_counts(session),
            "n_items": session.items.count(),
            "flagged": flagged,
            "structure": selectors.session_structure_warnings(session),
            "unresolved": sum(1 for f in flagged if not f.dismissed),
            "start_form": StartSessionForm(),
        },
    )


@login_required
@require_POST
def session_start(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    session = _coordinator_session(request, slug, pk)
    form = StartSessionForm(request.POST)
    form.is_valid()
    try:
        services.rating_session_open(
            session=session,
            actor=signed_in_user(request),
            confirm_unresolved_leaks=bool(form.cleaned_data.get("confirm")),
        )
    except services.RATING_REFUSALS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The session is open: its raters can start.")
    return redirect("rating-session-detail", slug=slug, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def session_close(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """POST: close the session. GET: the confirmation page (the session page links there)."""
    session = _coordinator_session(request, slug, pk)
    if request.method == "GET":
        back = reverse("rating-session-detail", kwargs={"slug": slug, "pk": pk})
        if session.status == RatingSession.Status.CLOSED:
            messages.error(request, "The session is already closed.")
            return redirect(back)
        counts = selectors.session_task_counts(session)
        return confirm_page(
            request,
            Confirmation(
                title=f"Close the rating session “{session.name}”?",
                message="Its raters can no longer score or change anything, and a closed "
                "session cannot be re-opened. Nothing is deleted: submitted scores and drafts "
                "are kept.",
                consequences=[
                    f"{counts['submitted']} of {counts['total']} rater-items are submitted."
                ],
                button="Close the session",
                cancel_url=back,
            ),
        )
    try:
        services.rating_session_close(session=session, actor=signed_in_user(request))
    except services.RATING_REFUSALS as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The session is closed. Nothing was deleted.")
    return redirect("rating-session-detail", slug=slug, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def item_redact(request: HttpRequest, slug: str, pk: int, public_id: str) -> HttpResponse:
    """Edit the text raters will see of a flagged item, or dismiss its flags."""
    session = _coordinator_session(request, slug, pk)
    item_obj = get_object_or_404(
        RatingItem.objects.select_related("reading__reader", "reading__case", "session__study"),
        session=session,
        public_id=public_id,
    )
    form = RedactForm(request.POST or None, initial={"text": item_obj.display_text})
    if request.method == "POST":
        try:
            if request.POST.get("action") == "dismiss":
                services.rating_item_dismiss_flags(item=item_obj, actor=signed_in_user(request))
                messages.success(request, "Flags dismissed: the text stays as it is.")
                return redirect("rating-session-detail", slug=slug, pk=pk)
            if form.is_valid():
                services.rating_item_redact(
                    item=item_obj,
                    text=form.cleaned_data["text"],
                    actor=signed_in_user(request),
                )
                if item_obj.leak_flags:
                    messages.warning(request, "Saved, but the new text is still flagged.")
                    return redirect(
                        "rating-item-redact", slug=slug, pk=pk, public_id=item_obj.public_id
                    )
                messages.success(request, "Redacted: the item is no longer flagged.")
                return redirect("rating-session-detail", slug=slug, pk=pk)
        except services.RATING_REFUSALS as exc:
            form.add_error("text" if exc.field == "text" else None, exc.message)
    flags = [{**f, "label": RULE_LABELS.get(f["rule"], f["rule"])} for f in item_obj.leak_flags]
    return render(
        request,
        "evaluation/item_redact.html",
        {
            "study": session.study,
            "session": session,
            "item": item_obj,
            "flags": flags,
            "form": form,
            "original": (
                item_obj.reading.case.reference_impression
                if item_obj.reference
                else item_obj.reading.impression
            ),
        },
    )


@login_required
@never_cache
@require_GET
def session_key(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The unblinding key: which reader, run and case each item is. Coordinators only; audited."""
    session = _coordinator_session(request, slug, pk)
    audit_record(
        action="unblinding_key_viewed",
        origin=audit_origin(request),
        study=session.study,
        target=f"rating session {session.pk}",
    )
    return render(
        request,
        "evaluation/key.html",
        {"study": session.study, "session": session, "rows": selectors.unblinding_key(session)},
    )


def _csv_response(filename: str, header: tuple[str, ...], rows: Any) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    writer = csv_writer(response, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
@require_GET
def session_key_csv(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    session = _coordinator_session(request, slug, pk)
    audit_record(
        action="unblinding_key_exported",
        origin=audit_origin(request),
        study=session.study,
        target=f"rating session {session.pk}",
    )
    pairwise = session.instrument == RatingSession.Instrument.PAIRWISE
    rows = [
        (
            r.public_id,
            r.position,
            r.reader,
            r.reader_kind,
            r.reader_label,
            r.run,
            r.modality,
            r.case,
            int(r.redacted),
            *((r.reader_b, r.left) if pairwise else ()),
        )
        for r in selectors.unblinding_key(session)
    ]
    header = selectors.KEY_COLUMNS + (selectors.PAIRWISE_KEY_COLUMNS if pairwise else ())
    return _csv_response(f"rating-session-{session.pk}-key.csv", header, rows)


@login_required
@require_GET
def session_randomisation_csv(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Each rater's order of items, with the seed and settings that reproduce it."""
    session = _coordinator_session(request, slug, pk)
    audit_record(
        action="rating_randomisation_exported",
        origin=audit_origin(request),
        study=session.study,
        target=f"rating session {session.pk}",
    )
    header = ("session", "seed", "order", "raters_per_item", *selectors.RANDOMISATION_COLUMNS)
    rows = [
        (session.pk, session.seed, session.order, session.raters_per_item, *row)
        for row in selectors.randomisation_rows(session)
    ]
    return _csv_response(f"rating-session-{session.pk}-randomisation.csv", header, rows)


@login_required
@require_GET
def study_leaks(request: HttpRequest, slug: str) -> HttpResponse:
    """Every output of the study that identifies itself, before it goes into a session."""
    study = require_study_role(request.user, slug, "coordinator")
    return render(
        request,
        "evaluation/leaks.html",
        {
            "study": study,
            "leaks": selectors.study_leak_report(study),
            "structure": selectors.study_structure_warnings(study),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def unblind(request: HttpRequest, slug: str) -> HttpResponse:
    study = require_study_role(request.user, slug, "coordinator")
    form = UnblindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.study_unblind(study=study, actor=signed_in_user(request))
        messages.success(request, "The study is unblinded.")
        return redirect("rating-manage", slug=slug)
    open_sessions = RatingSession.objects.filter(
        study=study, status=RatingSession.Status.OPEN
    ).aggregate(n=Count("id"))["n"]
    return render(
        request,
        "evaluation/unblind.html",
        {"study": study, "form": form, "open_sessions": open_sessions},
    )
