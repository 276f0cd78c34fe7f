"""Pages of the core app. Views stay thin: queries live in selectors, writes in services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from readerstudy import roles
from readerstudy.access import require_study_role, study_roles
from readerstudy.selectors import studies_for_user, study_overview


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
        {"sections": sections, "is_staff": request.user.is_staff},
    )


@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A study's hub: what the user may do in it, by role."""
    study = require_study_role(request.user, slug, *roles.ROLES)
    return render(
        request,
        "readerstudy/study_detail.html",
        {
            "study": study,
            "roles": study_roles(request.user, study),
            "overview": study_overview(study=study),
        },
    )
