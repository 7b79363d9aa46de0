from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views
from portal.forms import LoginForm

admin.site.site_header = "District portal administration"
admin.site.site_title = "District portal admin"

handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include("insights.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("roster/import/", views.roster_import_view, name="roster_import"),
    path("practices/", include("practices.urls")),
    path("showcases/", include("showcases.urls")),
    path("surveys/", include("surveys.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
