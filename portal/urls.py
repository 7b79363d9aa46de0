from django.contrib import admin
from django.urls import include, path

from portal import views
from portal.sso import views as sso_views

admin.site.site_header = "District portal administration"
admin.site.site_title = "District portal admin"

handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include("insights.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("roster/import/", views.roster_import_view, name="roster_import"),
    path("roster/import/oneroster/", views.oneroster_import_view, name="roster_import_oneroster"),
    path("roster/import/oneroster/<int:pk>/", views.oneroster_run_view, name="roster_import_oneroster_run"),
    path(
        "roster/import/oneroster/<int:pk>/confirm/",
        views.oneroster_confirm_view,
        name="roster_import_oneroster_confirm",
    ),
    path("practices/", include("practices.urls")),
    path("showcases/", include("showcases.urls")),
    path("surveys/", include("surveys.urls")),
    path("notifications/", include("portal.notifications.urls")),
    path("collections/", include("practices.collection_urls")),
    path(
        "accounts/login/",
        sso_views.SignInView.as_view(),
        name="login",
    ),
    # Single sign-on: the providers' sign-in and return addresses (portal/sso/urls.py).
    path("accounts/", include("portal.sso.urls")),
    path(
        "accounts/password_reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    # With PASSWORD_SIGN_IN off, the admin's sign-in sends people to the portal's (single sign-on).
    path("admin/login/", sso_views.admin_sign_in, name="admin_sign_in"),
    path("admin/", admin.site.urls),
]
