"""URLs of model generation (coordinator pages under /studies/<slug>/generation/)."""

from django.urls import URLPattern, URLResolver, path

from readerstudy.generation import views

P = "studies/<slug:slug>/generation/"

urlpatterns: list[URLPattern | URLResolver] = [
    path(P, views.generation_home, name="generation-home"),
    path(P + "configs/new/", views.config_create, name="generation-config-create"),
    path(P + "configs/<int64:config_id>/", views.config_edit, name="generation-config-edit"),
    path(P + "configs/<int64:config_id>/start/", views.run_start, name="generation-run-start"),
    path(P + "runs/<int64:run_id>/", views.run_detail, name="generation-run"),
    path(P + "runs/<int64:run_id>/progress/", views.run_progress, name="generation-run-progress"),
    path(P + "runs/<int64:run_id>/stop/", views.run_stop_view, name="generation-run-stop"),
    path(P + "runs/<int64:run_id>/resume/", views.run_resume_view, name="generation-run-resume"),
    path(P + "runs/<int64:run_id>/poll/", views.run_poll_view, name="generation-run-poll"),
    path(P + "items/<int64:item_id>/", views.item_detail, name="generation-item"),
    path(
        P + "finetune/<int64:job_id>/refresh/",
        views.finetune_refresh,
        name="generation-finetune-refresh",
    ),
]
