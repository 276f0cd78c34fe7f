"""URLs of the analysis dashboard, its downloads and the dataset exports."""

from django.urls import URLPattern, URLResolver, path, re_path

from analysis import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("studies/<slug:slug>/analysis/", views.dashboard, name="analysis-dashboard"),
    path("analysis/planning/", views.planning, name="analysis-planning"),
    path(
        "studies/<slug:slug>/analysis/results.json",
        views.results_download,
        name="analysis-results",
    ),
    re_path(
        r"^studies/(?P<slug>[-a-zA-Z0-9_]+)/analysis/tables/(?P<name>[a-z_]+)\.(?P<fmt>csv|xlsx|docx)$",
        views.table_download,
        name="analysis-table",
    ),
    re_path(
        r"^studies/(?P<slug>[-a-zA-Z0-9_]+)/analysis/figures/(?P<name>[a-z_]+)\.(?P<fmt>html|png|tiff|pdf|svg|eps)$",
        views.figure_download,
        name="analysis-figure",
    ),
    path("studies/<slug:slug>/exports/<str:kind>", views.export_download, name="analysis-export"),
]
