"""URLs of the bundle part of the REST API (included by ``readerstudy/api_urls.py``)."""

from __future__ import annotations

from django.urls import path

from readerstudy.bundles.api import scores

urlpatterns = [
    path(
        "studies/<slug:slug>/scores/import/",
        scores.ScoresImport.as_view(),
        name="api-scores-import",
    ),
]
