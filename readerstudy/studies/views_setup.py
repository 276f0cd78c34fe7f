"""Pages to set a study up on the web: create and edit it, its members and invitations.

Views stay thin: the forms validate, the services in :mod:`readerstudy.studies.services`
write and audit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from readerstudy.audit.context import audit_origin
from readerstudy.core import roles
from readerstudy.core.users import signed_in_user
from readerstudy.studies.access import may_create_studies, require_study_role
from readerstudy.studies.forms import (
    AcceptInvitationForm,
    InviteForm,
    MemberAddForm,
    MembersCsvForm,
    StudyForm,
)
from readerstudy.studies.models import StudyInvitation, StudyMember
from readerstudy.studies.services import (
    LOCKED_FIELDS,
    StudyChangeError,
    study_create,
    study_has_data,
    study_invitation_accept,
    study_invitation_find,
    study_invitation_send,
    study_member_add,
    study_member_remove,
    study_members_bulk_add,
    study_update,
)


@login_required
def study_new(request: HttpRequest) -> HttpResponse:
    """Create a study; its creator becomes its coordinator."""
    user = signed_in_user(request)
    if not may_create_studies(user):
        raise PermissionDenied("You may not create studies.")
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = study_create(actor=user, spec=form.spec(), origin=audit_origin(request))
        except StudyChangeError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, f"Study {study.title} created; you are its coordinator.")
            return redirect("study-detail", slug=study.slug)
    return render(request, "readerstudy/study_form.html", {"form": form, "study": None})


@login_required
def study_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Edit a study's settings (the scale, threshold, consensus and Likert range lock once
    it holds cases)."""
    study = require_study_role(request.user, slug, roles.COORDINATOR)
    locked = LOCKED_FIELDS if study_has_data(study=study) else ()
    form = StudyForm(request.POST or None, study=study, locked=locked)
    if request.method == "POST" and form.is_valid():
        try:
            changed = study_update(
                actor=signed_in_user(request),
                study=study,
                spec=form.spec(),
                origin=audit_origin(request),
            )
        except StudyChangeError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                "Saved: " + ", ".join(changed) + "." if changed else "Nothing changed.",
            )
            return redirect("study-detail", slug=study.slug)
    return render(
        request, "readerstudy/study_form.html", {"form": form, "study": study, "locked": locked}
    )


@login_required
def study_members(request: HttpRequest, slug: str) -> HttpResponse:
    """A study's members: add, remove, invite by email, add from a CSV (coordinators)."""
    study = require_study_role(request.user, slug, roles.COORDINATOR)
    actor = signed_in_user(request)
    action = request.POST.get("action") if request.method == "POST" else None
    add_form = MemberAddForm(request.POST if action == "add" else None, study=study)
    invite_form = InviteForm(request.POST if action == "invite" else None, study=study)
    csv_form = MembersCsvForm(
        request.POST if action == "csv" else None, request.FILES if action == "csv" else None
    )
    problems: list[str] = []
    try:
        if action == "add" and add_form.is_valid():
            data = add_form.cleaned_data
            study_member_add(
                study=study,
                user=data["user"],
                role=data["role"],
                actor=actor,
                reader=data["reader"],
            )
            messages.success(request, f"{data['user'].get_username()} is now {data['role']}.")
            return redirect("study-members", slug=study.slug)
        if action == "invite" and invite_form.is_valid():
            data = invite_form.cleaned_data
            link = request.build_absolute_uri(reverse("invitation-accept", args=["TOKEN"]))
            study_invitation_send(
                actor=actor,
                study=study,
                email=data["email"],
                role=data["role"],
                reader=data["reader"],
                link=link.replace("TOKEN", "{token}"),
            )
            messages.success(request, f"Invitation sent to {data['email']}.")
            return redirect("study-members", slug=study.slug)
        if action == "csv" and csv_form.is_valid():
            upload = csv_form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                problems = [f"{upload.name}: not UTF-8 text"]
            else:
                added, problems = study_members_bulk_add(
                    actor=actor, study=study, text=text, filename=upload.name
                )
                if not problems:
                    messages.success(
                        request, f"{added} membership{'s' if added != 1 else ''} added."
                    )
                    return redirect("study-members", slug=study.slug)
        if action == "remove":
            member_id = request.POST.get("member", "")
            if not member_id.isdigit() or int(member_id) >= 2**63:
                raise Http404("No such member.")
            member = get_object_or_404(StudyMember, pk=int(member_id), study=study)
            study_member_remove(actor=actor, member=member)
            messages.success(request, f"{member.user.get_username()} is no longer {member.role}.")
            return redirect("study-members", slug=study.slug)
    except StudyChangeError as exc:
        messages.error(request, exc.message)
    members = (
        StudyMember.objects.filter(study=study)
        .select_related("user")
        .order_by("role", "user__username")
    )
    linked = {r.user_id: r.code for r in study.readers.filter(user__isnull=False)}
    rows = [
        (m, linked.get(m.user_id) if m.role == StudyMember.Role.READER else None) for m in members
    ]
    invitations = StudyInvitation.objects.filter(study=study).order_by("-created_at")[:50]
    return render(
        request,
        "readerstudy/study_members.html",
        {
            "study": study,
            "rows": rows,
            "invitations": invitations,
            "add_form": add_form,
            "invite_form": invite_form,
            "csv_form": csv_form,
            "problems": problems,
            "now": timezone.now(),
        },
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time sign-up link: choose a username and a password, get the role."""
    invitation = study_invitation_find(token=token)
    if invitation is None:
        raise Http404("This invitation link is used, expired or unknown.")
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = study_invitation_accept(
                actor=None,
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except StudyChangeError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome: you are {member.role} of {member.study.title}.")
            return redirect("study-detail", slug=member.study.slug)
    response = render(
        request, "readerstudy/invitation_accept.html", {"form": form, "invitation": invitation}
    )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = (
        "same-origin"  # the token never leaves the site; no-referrer would send Origin: null and fail CSRF
    )
    return response
