"""URLs of the analysis API, included under ``/api/``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from analysis import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "studies/<slug:slug>/analysis/results/",
        api.AnalysisResults.as_view(),
        name="api-analysis-results",
    ),
    path(
        "studies/<slug:slug>/exports/<str:name>/",
        api.ExportDownload.as_view(),
        name="api-export",
    ),
]
