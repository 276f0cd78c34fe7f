"""URLs of reading sessions: coordinator set-up under the study, reader pages under /reading/.

Reader URLs carry the assignment's opaque token and positions in the reader's own order,
never a case id.
"""

from django.urls import URLPattern, URLResolver, path

from readerstudy.reading import views, views_edit

urlpatterns: list[URLPattern | URLResolver] = [
    path("studies/<slug:slug>/reading/new/", views.session_create, name="reading-session-create"),
    path(
        "studies/<slug:slug>/reading/designs/new/",
        views.design_create,
        name="reading-design-create",
    ),
    path("studies/<slug:slug>/reading/<int64:pk>/", views.session_detail, name="reading-session"),
    path(
        "studies/<slug:slug>/reading/<int64:pk>/randomisation.csv",
        views.session_export,
        name="reading-session-export",
    ),
    path(
        "studies/<slug:slug>/reading/<int64:pk>/edit/",
        views_edit.session_edit,
        name="reading-session-edit",
    ),
    path(
        "studies/<slug:slug>/reading/<int64:pk>/clone/",
        views_edit.session_clone,
        name="reading-session-clone",
    ),
    path(
        "studies/<slug:slug>/reading/<int64:pk>/<str:action>/",
        views.session_action,
        name="reading-session-action",
    ),
    path("reading/", views.worklist, name="reading-worklist"),
    path("reading/<str:token>/", views.assignment_resume, name="reading-resume"),
    path("reading/<str:token>/<int64:position>/", views.case_page, name="reading-case"),
    path(
        "reading/<str:token>/<int64:position>/draft.json",
        views.case_draft,
        name="reading-draft",
    ),
    path(
        "reading/<str:token>/<int64:position>/images/<int64:index>",
        views.case_image,
        name="reading-image",
    ),
    path(
        "reading/<str:token>/<int64:position>/dicom/",
        views.case_dicom_index,
        name="reading-dicom-index",
    ),
    path(
        "reading/<str:token>/<int64:position>/dicom/<int64:series>/<int64:number>",
        views.case_dicom,
        name="reading-dicom",
    ),
]
