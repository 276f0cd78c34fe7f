"""Coordinator pages of model generation: configurations, runs, progress, items, fine-tuning.

Every view requires the coordinator role in the study (``require_study_role``: 404 for
anyone else) and looks objects up inside that study, so ids of other studies give 404.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from readerstudy.core.confirm import Confirmation, confirm_page
from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.keys import ConnectionSettingsError
from readerstudy.generation import selectors
from readerstudy.generation.finetune import finetune_job_refresh
from readerstudy.generation.forms import (
    GenerationConfigForm,
    RunStartForm,
    config_fieldsets,
    config_initial,
)
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.services import (
    GenerationConflictError,
    dispatch_mode,
    generation_config_create,
    generation_config_update,
    run_create,
    run_dispatch,
    run_estimate,
    run_remaining_estimate,
    run_resume,
    run_stop,
)
from readerstudy.studies.access import require_study_role

COORDINATOR = "coordinator"


def _config(study_id: int, config_id: int) -> GenerationConfig:
    config = (
        GenerationConfig.objects.filter(pk=config_id, reader__study_id=study_id)
        .select_related("reader__study")
        .first()
    )
    if config is None:
        raise Http404("No such configuration.")
    return config


def _run(study_id: int, run_id: int) -> GenerationRun:
    run = (
        GenerationRun.objects.filter(pk=run_id, config__reader__study_id=study_id)
        .select_related("config__reader__study", "created_by")
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    return run


@login_required
@require_GET
def generation_home(request: HttpRequest, slug: str) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    runs = list(selectors.runs_for_study(study)[:50])
    configs = list(selectors.configs_for_study(study))
    return render(
        request,
        "readerstudy/generation_home.html",
        {
            "study": study,
            "configs": [(c, Connection.of(c).problems()) for c in configs],
            # the fine-tuning hint names one of this study's model readers (their configuration
            # gives the server and key of the job), or a placeholder
            "finetune_reader": configs[0].reader.code if configs else "READER",
            "runs": [(run, selectors.run_progress(run)) for run in runs],
            "jobs": selectors.finetune_jobs_for_study(study),
            "dispatch": dispatch_mode(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def config_create(request: HttpRequest, slug: str) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    form = GenerationConfigForm(request.POST or None, study=study, initial=config_initial(study))
    if request.method == "POST" and form.is_valid():
        try:
            config = generation_config_create(
                study=study,
                reader=form.cleaned_data.get("reader"),
                reader_code=form.cleaned_data.get("reader_code") or "",
                reader_label=form.cleaned_data.get("reader_label") or "",
                values=form.config_values(),
                actor=request.user,
            )
        except GenerationConflictError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Configuration of {config.reader.code} saved.")
            return redirect("generation-home", slug=study.slug)
    return render(
        request,
        "readerstudy/generation_config_form.html",
        {"study": study, "form": form, "config": None, "fieldsets": config_fieldsets(form)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def config_edit(request: HttpRequest, slug: str, config_id: int) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    config = _config(study.pk, config_id)
    form = GenerationConfigForm(request.POST or None, instance=config, study=study)
    if request.method == "POST" and form.is_valid():
        generation_config_update(
            config=form.save(commit=False),
            changed=form.changed_data,
            actor=request.user,
        )
        messages.success(request, f"Configuration of {config.reader.code} saved.")
        return redirect("generation-home", slug=study.slug)
    return render(
        request,
        "readerstudy/generation_config_form.html",
        {
            "study": study,
            "form": form,
            "config": config,
            "fieldsets": config_fieldsets(form),
            "problems": Connection.of(config).problems(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def run_start(request: HttpRequest, slug: str, config_id: int) -> HttpResponse:
    """Choose the run's cases and mode, see the estimate, then confirm (two steps)."""
    study = require_study_role(request.user, slug, COORDINATOR)
    config = _config(study.pk, config_id)
    form = RunStartForm(
        request.POST or None, initial={"n_runs": config.n_runs, "mode": "direct", "split": "test"}
    )
    estimate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "start":
            try:
                run = run_create(
                    config=config,
                    actor=request.user,
                    options=form.options(),
                )
            except (GenerationConflictError, ConnectionSettingsError) as exc:
                form.add_error(None, str(exc))
            else:
                run_dispatch(run=run)
                messages.success(request, f"Run {run.pk} of {config.reader.code} started.")
                return redirect("generation-run", slug=study.slug, run_id=run.pk)
        estimate = run_estimate(
            config=config, split=data["split"], limit=data["limit"], n_runs=data["n_runs"]
        )
    return render(
        request,
        "readerstudy/generation_run_start.html",
        {
            "study": study,
            "config": config,
            "form": form,
            "estimate": estimate,
            "problems": Connection.of(config).problems(),
        },
    )


@login_required
@require_GET
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    run = _run(study.pk, run_id)
    status = request.GET.get("status", "")
    if status not in {s for s, _ in GenerationItem.Status.choices}:
        status = ""
    page = Paginator(selectors.items_for_run(run, status=status), 50).get_page(
        request.GET.get("page")
    )
    progress = selectors.run_progress(run)
    return render(
        request,
        "readerstudy/generation_run_detail.html",
        {
            "study": study,
            "run": run,
            "progress": progress,
            "page": page,
            "status": status,
            "status_filters": [
                (value, label, progress["counts"][value])
                for value, label in GenerationItem.Status.choices
            ],
            "remaining": run_remaining_estimate(run=run) if progress["can_resume"] else None,
        },
    )


@login_required
@require_GET
def run_progress(request: HttpRequest, slug: str, run_id: int) -> JsonResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    return JsonResponse(selectors.run_progress(_run(study.pk, run_id)))


@login_required
@require_http_methods(["GET", "POST"])
def run_stop_view(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """POST: stop the run. GET: the confirmation page (the run page links there)."""
    study = require_study_role(request.user, slug, COORDINATOR)
    run = _run(study.pk, run_id)
    if request.method == "GET":
        back = reverse("generation-run", kwargs={"slug": study.slug, "run_id": run.pk})
        if not selectors.run_progress(run)["can_stop"]:
            messages.error(request, f"Run {run.pk} is {run.get_status_display().lower()}.")
            return redirect(back)
        return confirm_page(
            request,
            Confirmation(
                title=f"Stop run {run.pk} of {run.config.reader.code}?",
                message="No new requests are sent; the requests in flight are finished first. "
                "Finished items and their readings are kept, and you can resume the run later "
                "(a batch run's batch is cancelled).",
                button="Stop the run",
                cancel_url=back,
                irreversible=False,
            ),
        )
    try:
        status = run_stop(run=run, actor=request.user)
    except GenerationConflictError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            "Stopping: the requests in flight are finished first."
            if status == "stopping"
            else f"Run {run.pk} is {status}.",
        )
    return redirect("generation-run", slug=study.slug, run_id=run.pk)


@login_required
@require_POST
def run_resume_view(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    run = _run(study.pk, run_id)
    try:
        run = run_resume(run=run, actor=request.user)
    except (GenerationConflictError, ConnectionSettingsError) as exc:
        messages.error(request, str(exc))
    else:
        run_dispatch(run=run)
        messages.success(request, f"Run {run.pk} resumed; finished items are kept.")
    return redirect("generation-run", slug=study.slug, run_id=run.pk)


@login_required
@require_POST
def run_poll_view(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """Check a waiting batch run now (otherwise it is checked every few minutes)."""
    study = require_study_role(request.user, slug, COORDINATOR)
    run = _run(study.pk, run_id)
    if run.mode != GenerationRun.Mode.BATCH or run.status != GenerationRun.Status.WAITING:
        messages.error(request, f"Run {run.pk} is not waiting for a batch.")
    else:
        run_dispatch(run=run)
        messages.success(request, "The batch is being checked.")
    return redirect("generation-run", slug=study.slug, run_id=run.pk)


@login_required
@require_GET
def item_detail(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    item = selectors.item_for_study(study, item_id)
    if item is None:
        raise Http404("No such item.")
    return render(
        request,
        "readerstudy/generation_item_detail.html",
        {
            "study": study,
            "item": item,
            "raw_json": _pretty(item.raw_response),
            "parsed_json": _pretty(item.parsed),
        },
    )


def _pretty(value: object) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


@login_required
@require_POST
def finetune_refresh(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    study = require_study_role(request.user, slug, COORDINATOR)
    job = selectors.finetune_jobs_for_study(study).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    job = finetune_job_refresh(job=job)
    if job.error:
        messages.error(request, f"Job {job.job_id}: {job.error}")
    else:
        messages.success(request, f"Job {job.job_id} is {job.status}.")
    return redirect("generation-home", slug=study.slug)
