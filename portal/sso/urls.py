"""Sign-in and return addresses of the identity providers, under /accounts/.

Each provider's return address (to register with the provider) is
/accounts/<google|microsoft|clever>/login/callback/, and for the OpenID Connect provider
/accounts/oidc/district/login/callback/. They answer 404 while their provider is not configured.
"""

from allauth.socialaccount.providers.clever import views as clever
from allauth.socialaccount.providers.google import views as google
from allauth.socialaccount.providers.microsoft import views as microsoft
from django.urls import path

from portal.sso import views
from portal.sso.views import provider_view

urlpatterns = [
    path("google/login/", provider_view(google.oauth2_login), name="google_login"),
    path("google/login/callback/", provider_view(google.oauth2_callback), name="google_callback"),
    path("microsoft/login/", provider_view(microsoft.oauth2_login), name="microsoft_login"),
    path("microsoft/login/callback/", provider_view(microsoft.oauth2_callback), name="microsoft_callback"),
    path("clever/login/", provider_view(clever.oauth2_login), name="clever_login"),
    path("clever/login/callback/", provider_view(clever.oauth2_callback), name="clever_callback"),
    path("oidc/<str:provider_id>/login/", views.oidc_login, name="openid_connect_login"),
    path("oidc/<str:provider_id>/login/callback/", views.oidc_callback, name="openid_connect_callback"),
]
