"""URLs of Likert rating: rater pages under /rating/, coordinator pages under the study."""

from django.urls import URLPattern, URLResolver, path

from evaluation import views, views_edit

urlpatterns: list[URLPattern | URLResolver] = [
    # Raters: items are addressed only by their opaque public id.
    path("rating/", views.worklist, name="rating-worklist"),
    path("rating/sessions/<int64:session_id>/", views.session_items, name="rating-session"),
    path("rating/sessions/<int64:session_id>/resume/", views.resume, name="rating-resume"),
    path("rating/items/<slug:public_id>/", views.item, name="rating-item"),
    path("rating/items/<slug:public_id>/review/", views.review, name="rating-review"),
    path("rating/items/<slug:public_id>/submit/", views.submit, name="rating-submit"),
    path("rating/items/<slug:public_id>/draft.json", views.draft_json, name="rating-draft-json"),
    path("rating/items/<slug:public_id>/submit.json", views.submit_json, name="rating-submit-json"),
    path(
        "rating/items/<slug:public_id>/images/<int64:number>/",
        views.item_image,
        name="rating-item-image",
    ),
    # Coordinators.
    path("studies/<slug:slug>/rating/", views.manage, name="rating-manage"),
    path("studies/<slug:slug>/rating/leaks/", views.study_leaks, name="rating-leaks"),
    path("studies/<slug:slug>/rating/unblind/", views.unblind, name="rating-unblind"),
    path("studies/<slug:slug>/rating/sessions/new/", views.session_new, name="rating-session-new"),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/",
        views.session_detail,
        name="rating-session-detail",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/start/",
        views.session_start,
        name="rating-session-start",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/raters/",
        views_edit.session_raters,
        name="rating-session-raters",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/close/",
        views.session_close,
        name="rating-session-close",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/items/<slug:public_id>/",
        views.item_redact,
        name="rating-item-redact",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/key/",
        views.session_key,
        name="rating-session-key",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/key.csv",
        views.session_key_csv,
        name="rating-session-key-csv",
    ),
    path(
        "studies/<slug:slug>/rating/sessions/<int64:pk>/randomisation.csv",
        views.session_randomisation_csv,
        name="rating-session-randomisation-csv",
    ),
]
