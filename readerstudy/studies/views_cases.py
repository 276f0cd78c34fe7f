"""The case list of a study (coordinators): filter, paginate, select cases for a session."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from readerstudy.core import roles
from readerstudy.studies.access import require_study_role
from readerstudy.studies.cases import (
    CaseFilter,
    case_sessions,
    cases_filtered,
    cases_selected,
    split_ids,
)
from readerstudy.studies.forms import CaseFilterForm

PAGE_SIZE = 50


@login_required
def case_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Coordinators only: the case list shows truth, which no reader or rater may see."""
    study = require_study_role(request.user, slug, roles.COORDINATOR)
    form = CaseFilterForm(request.GET or None)
    attribute_field = form.fields["attribute"]
    attribute_field.widget.attrs["list"] = "case-attributes"
    spec = CaseFilter()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        attribute = data["attribute"] if data["attribute"] in study.case_attributes else ""
        if data["attribute"] and not attribute:
            form.add_error(
                "attribute", f"Not an attribute of this study's cases: {data['attribute']!r}."
            )
        spec = CaseFilter(
            split=data["split"],
            truth=int(data["truth"]) if data["truth"] != "" else None,
            attribute=attribute,
            value=data["value"],
            ids=split_ids(data["ids"]),
            per_class=data["per_class"],
            seed=data["seed"] if data["seed"] is not None else 1,
        )
    if spec.per_class:
        selection = cases_selected(study=study, spec=spec)
        page = Paginator(selection, PAGE_SIZE).get_page(request.GET.get("page"))
        n_selected = len(selection)
        codes = [c.code for c in selection]
    else:
        cases = cases_filtered(study=study, spec=spec)
        page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
        n_selected = page.paginator.count
        codes = list(cases.values_list("code", flat=True))
    sessions = case_sessions(study=study, case_ids=[c.pk for c in page])
    rows = [(case, sessions.get(case.pk, [])) for case in page]
    splits = {c.split for c in page}
    session_query = urlencode(
        {"cases": " ".join(codes), **({"split": spec.split} if spec.split else {})}
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "readerstudy/case_list.html",
        {
            "study": study,
            "form": form,
            "page": page,
            "rows": rows,
            "n_selected": n_selected,
            "mixed_splits": len(splits) > 1 and not spec.split,
            "reading_session_url": reverse("reading-session-create", args=[study.slug])
            + "?"
            + session_query,
            "query": query.urlencode(),
            "attributes": study.case_attributes,
        },
    )
