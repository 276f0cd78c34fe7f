"""URLs of the REST API, mounted at ``/api/``. Route names start with ``api-``."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from readerstudy.api import views
from readerstudy.api.exceptions import not_found

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("studies/", views.StudyList.as_view(), name="api-study-list"),
    path("studies/<slug:slug>/", views.StudyDetail.as_view(), name="api-study-detail"),
    # Rating, analysis and the audit log (evaluation/api/, analysis/api.py, api/audit.py).
    path("", include("evaluation.api.urls")),
    path("", include("analysis.api_urls")),
    path("", include("readerstudy.api.audit")),
    # Any other path under /api/ answers JSON, never the HTML 404 page (keep this last).
    re_path(r"^.*$", not_found, name="api-not-found"),
]
