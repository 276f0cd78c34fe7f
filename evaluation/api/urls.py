"""URLs of the rating API, included under ``/api/`` (route names start with ``api-``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from evaluation.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    # Raters: their own sessions and items (items only by their opaque public id).
    path("rating/sessions/", views.RaterSessionList.as_view(), name="api-rating-sessions"),
    path("rating/items/", views.RaterItemList.as_view(), name="api-rating-items"),
    path(
        "rating/items/<slug:public_id>/",
        views.RaterItemDetail.as_view(),
        name="api-rating-item",
    ),
    path(
        "rating/items/<slug:public_id>/draft/",
        views.RaterItemDraft.as_view(),
        name="api-rating-item-draft",
    ),
    path(
        "rating/items/<slug:public_id>/submit/",
        views.RaterItemSubmit.as_view(),
        name="api-rating-item-submit",
    ),
    path(
        "rating/items/<slug:public_id>/images/<int64:number>/",
        views.RaterItemImage.as_view(),
        name="api-rating-item-image",
    ),
    # Coordinators of the study.
    path(
        "studies/<slug:slug>/rating-sessions/",
        views.RatingSessionList.as_view(),
        name="api-rating-session-list",
    ),
    path(
        "studies/<slug:slug>/rating-sessions/<int64:pk>/",
        views.RatingSessionDetail.as_view(),
        name="api-rating-session-detail",
    ),
    path(
        "studies/<slug:slug>/rating-sessions/<int64:pk>/open/",
        views.RatingSessionOpen.as_view(),
        name="api-rating-session-open",
    ),
    path(
        "studies/<slug:slug>/rating-sessions/<int64:pk>/close/",
        views.RatingSessionClose.as_view(),
        name="api-rating-session-close",
    ),
    path(
        "studies/<slug:slug>/rating-sessions/<int64:pk>/key/",
        views.RatingSessionKey.as_view(),
        name="api-rating-session-key",
    ),
]
