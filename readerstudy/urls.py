"""Root URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from readerstudy.audit.forms import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm
from readerstudy.studies import views, views_cases, views_setup

admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.site_header = "readerstudy administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("studies/new/", views_setup.study_new, name="study-new"),
    path("studies/<slug:slug>/", views.study_detail, name="study-detail"),
    path("studies/<slug:slug>/settings/", views_setup.study_edit, name="study-edit"),
    path("studies/<slug:slug>/members/", views_setup.study_members, name="study-members"),
    path("studies/<slug:slug>/cases/", views_cases.case_list, name="study-cases"),
    path("invitations/<str:token>/", views_setup.invitation_accept, name="invitation-accept"),
    path("studies/<slug:slug>/audit/", views.study_audit, name="study-audit"),
    path("audit/", views.audit_all, name="audit-all"),
    path("", include("readerstudy.bundles.urls")),
    path("", include("readerstudy.reading.urls")),
    path("", include("readerstudy.generation.urls")),
    path("", include("evaluation.urls")),
    path("", include("analysis.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("accounts/token/", views.api_token, name="api-token-page"),
    path("api/", include("readerstudy.api_urls")),
]
