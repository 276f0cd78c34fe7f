"""Pages of the web's bundle upload: the form (a new or an existing study) and the job's
progress (a page and the JSON its script polls). Coordinators only; a new study's upload is
for those who may create studies. The forms validate, ``services_upload`` writes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from readerstudy.bundles.forms import BundleUploadForm
from readerstudy.bundles.models import BundleUpload
from readerstudy.bundles.services_upload import bundle_upload_create, bundle_upload_dispatch
from readerstudy.core import roles
from readerstudy.core.users import signed_in_user
from readerstudy.studies.access import may_create_studies, require_study_role, study_roles
from readerstudy.studies.models import Study
from readerstudy.studies.services import study_has_data


def _upload_page(request: HttpRequest, study: Study | None) -> HttpResponse:
    has_data = study is not None and study_has_data(study=study)
    form = BundleUploadForm(
        request.POST or None, request.FILES or None, study=study, has_data=has_data
    )
    if request.method == "POST" and form.is_valid():
        upload = bundle_upload_create(
            actor=signed_in_user(request),
            study=study,
            file=form.cleaned_data["bundle"],
            replace=bool(form.cleaned_data.get("replace")),
        )
        bundle_upload_dispatch(upload=upload)
        return redirect("bundle-upload-detail", pk=upload.pk)
    recent = (
        BundleUpload.objects.filter(study=study, created_by=signed_in_user(request))
        if study is None
        else BundleUpload.objects.filter(study=study)
    )
    return render(
        request,
        "readerstudy/bundle_upload_form.html",
        {"form": form, "study": study, "has_data": has_data, "recent": recent[:10]},
    )


@login_required
def upload_new(request: HttpRequest) -> HttpResponse:
    """Upload a bundle that creates a new study (its uploader becomes the coordinator)."""
    if not may_create_studies(signed_in_user(request)):
        raise PermissionDenied("You may not create studies.")
    return _upload_page(request, None)


@login_required
def upload_to_study(request: HttpRequest, slug: str) -> HttpResponse:
    """Upload a bundle into an existing study (replacing its data needs a confirmed choice)."""
    return _upload_page(request, require_study_role(request.user, slug, roles.COORDINATOR))


def _visible_upload(request: HttpRequest, pk: int) -> BundleUpload:
    """The upload if the user uploaded it or coordinates its study; 404 otherwise."""
    upload = BundleUpload.objects.select_related("study", "created_by").filter(pk=pk).first()
    if upload is None:
        raise Http404("No such upload.")
    user = signed_in_user(request)
    if upload.created_by_id == user.pk and user.pk is not None:
        return upload
    if upload.study is not None and roles.COORDINATOR in study_roles(user, upload.study):
        return upload
    raise Http404("No such upload.")


def _progress(upload: BundleUpload) -> dict[str, Any]:
    return {
        "status": upload.status,
        "status_label": upload.get_status_display(),
        "stage": upload.stage,
        "progress": upload.progress,
        "active": upload.active,
        "n_problems": upload.n_problems,
        "study_url": reverse("study-detail", args=[upload.study.slug])
        if upload.status == BundleUpload.Status.DONE and upload.study is not None
        else "",
    }


@login_required
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress bar, then what was imported or every problem of the bundle."""
    upload = _visible_upload(request, pk)
    return render(
        request,
        "readerstudy/bundle_upload_detail.html",
        {"upload": upload, "progress": _progress(upload)},
    )


@login_required
def upload_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The job's status and percentage, polled by the progress page."""
    return JsonResponse(_progress(_visible_upload(request, pk)))
