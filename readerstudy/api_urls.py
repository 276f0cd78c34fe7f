"""URLs of the REST API, mounted at ``/api/``. Route names start with ``api-``."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from readerstudy.bundles.api import views as views_data
from readerstudy.core.api.exceptions import not_found
from readerstudy.generation.api import views as views_generation
from readerstudy.reading.api import views as views_reading
from readerstudy.studies.api import views

S = "studies/<slug:slug>/"

urlpatterns = [
    path("", views.ApiIndex.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", views.ApiDocs.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("studies/", views.StudyList.as_view(), name="api-study-list"),
    path("studies/<slug:slug>/", views.StudyDetail.as_view(), name="api-study-detail"),
    path(S + "cases/", views_data.CaseList.as_view(), name="api-case-list"),
    path(S + "cases/<path:code>/", views_data.CaseDetail.as_view(), name="api-case-detail"),
    path(S + "readers/", views_data.ReaderList.as_view(), name="api-reader-list"),
    path(S + "readers/<path:code>/", views_data.ReaderDetail.as_view(), name="api-reader-detail"),
    path(S + "readings/", views_data.ReadingList.as_view(), name="api-reading-list"),
    path(S + "readings/import/", views_data.ReadingImport.as_view(), name="api-reading-import"),
    path(
        S + "reading-sessions/",
        views_reading.ReadingSessionList.as_view(),
        name="api-reading-session-list",
    ),
    path(
        S + "reading-sessions/<int64:pk>/",
        views_reading.ReadingSessionDetail.as_view(),
        name="api-reading-session-detail",
    ),
    path(
        S + "reading-sessions/<int64:pk>/open/",
        views_reading.ReadingSessionOpen.as_view(),
        name="api-reading-session-open",
    ),
    path(
        S + "reading-sessions/<int64:pk>/readers/",
        views_reading.ReadingSessionReaders.as_view(),
        name="api-reading-session-readers",
    ),
    path(
        S + "reading-sessions/<int64:pk>/clone/",
        views_reading.ReadingSessionClone.as_view(),
        name="api-reading-session-clone",
    ),
    path(
        S + "reading-sessions/<int64:pk>/close/",
        views_reading.ReadingSessionClose.as_view(),
        name="api-reading-session-close",
    ),
    path(
        S + "reading-designs/",
        views_reading.ReadingDesignList.as_view(),
        name="api-reading-design-list",
    ),
    path(
        S + "generation/configs/",
        views_generation.GenerationConfigList.as_view(),
        name="api-generation-config-list",
    ),
    path(
        S + "generation/runs/",
        views_generation.GenerationRunList.as_view(),
        name="api-generation-run-list",
    ),
    path(
        S + "generation/runs/<int64:run_id>/",
        views_generation.GenerationRunDetail.as_view(),
        name="api-generation-run-detail",
    ),
    path(
        S + "generation/runs/<int64:run_id>/stop/",
        views_generation.GenerationRunStop.as_view(),
        name="api-generation-run-stop",
    ),
    path(
        S + "generation/runs/<int64:run_id>/resume/",
        views_generation.GenerationRunResume.as_view(),
        name="api-generation-run-resume",
    ),
    path(
        "reading/assignments/",
        views_reading.AssignmentList.as_view(),
        name="api-assignment-list",
    ),
    path(
        "reading/assignments/<str:token>/",
        views_reading.AssignmentDetail.as_view(),
        name="api-assignment-detail",
    ),
    path(
        "reading/assignments/<str:token>/next/",
        views_reading.ReadingNext.as_view(),
        name="api-reading-next",
    ),
    path(
        "reading/assignments/<str:token>/cases/<int64:position>/",
        views_reading.ReadingCase.as_view(),
        name="api-reading-case",
    ),
    path(
        "reading/assignments/<str:token>/cases/<int64:position>/images/<int64:index>/",
        views_reading.ReadingImage.as_view(),
        name="api-reading-image",
    ),
    # Rating, analysis and the audit log (evaluation/api/, analysis/api.py, api/audit.py).
    path("", include("evaluation.api.urls")),
    path("", include("readerstudy.bundles.api.urls")),
    path("", include("analysis.api_urls")),
    path("", include("readerstudy.studies.api.audit")),
    # Any other path under /api/ answers JSON, never the HTML 404 page (keep this last).
    re_path(r"^.*$", not_found, name="api-not-found"),
]
