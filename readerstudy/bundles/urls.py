from django.urls import path

from readerstudy.bundles import views

urlpatterns = [
    path("studies/new/upload/", views.upload_new, name="bundle-upload-new"),
    path("studies/<slug:slug>/upload/", views.upload_to_study, name="bundle-upload"),
    path("uploads/<int64:pk>/", views.upload_detail, name="bundle-upload-detail"),
    path("uploads/<int64:pk>/progress/", views.upload_progress, name="bundle-upload-progress"),
]
