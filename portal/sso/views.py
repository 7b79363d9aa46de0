"""The sign-in pages, and the sign-in and return addresses of the identity providers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from requests import RequestException

from portal.forms import LoginForm
from portal.sso.adapters import UNREACHABLE, refusal_page

logger = logging.getLogger("portal.signin")

View = Callable[..., HttpResponse]

# ID tokens must be signed with the provider's private key: public-key algorithms only, never
# a shared secret or none.
_SIGNATURE_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class SignInButton:
    name: str
    url: str


def sign_in_buttons(request: HttpRequest) -> list[SignInButton]:
    """One button per configured provider, in the order of INSTALLED_APPS."""
    providers = get_adapter(request).list_providers(request)
    return [SignInButton(provider.name, provider.get_login_url(request)) for provider in providers]


class SignInView(LoginView):
    """The sign-in page: a button per identity provider, and the password form unless
    PASSWORD_SIGN_IN is off, in which case a password sent anyway is refused unchecked."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PASSWORD_SIGN_IN:
            return self.render_to_response(self.get_context_data(password_refused=True), status=403)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["providers"] = sign_in_buttons(self.request)
        context["password_sign_in"] = settings.PASSWORD_SIGN_IN
        return context


@login_not_required
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in: its own password form, or with PASSWORD_SIGN_IN off, the portal's
    sign-in page (the provider buttons), which comes back to the admin. Someone already signed in
    gets the admin's answer (staff: the admin; anyone else: that the account cannot open it)."""
    if settings.PASSWORD_SIGN_IN or request.user.is_authenticated:
        return admin.site.login(request)
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def provider_view(view: View) -> View:
    """A provider's sign-in or return address: 404 when that provider is not configured, and a
    page saying so (not a server error) when the provider cannot be reached."""

    @login_not_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except SocialApp.DoesNotExist:
            raise Http404("No such sign-in provider.") from None
        except (RequestException, OAuth2Error) as error:
            logger.warning("Identity provider unreachable at %s: %r", request.path, error)
            return refusal_page(request, UNREACHABLE)

    return wrapped


# --- OpenID Connect, checked strictly ---------------------------------------------------


def verified_id_token(id_token: str, *, jwks: dict[str, Any], issuer: str, client_id: str) -> dict[str, Any]:
    """The claims of an ID token whose signature verifies with one of the provider's published
    keys, issued by `issuer` for `client_id` and not expired; OAuth2Error otherwise."""
    try:
        header = jwt.get_unverified_header(id_token)
        key = jwt.PyJWKSet.from_dict(jwks)[str(header.get("kid"))]
        if key.algorithm_name not in _SIGNATURE_ALGORITHMS:
            raise OAuth2Error(f"ID token key uses {key.algorithm_name}, not a public-key signature")
        claims = jwt.decode(
            id_token,
            key,
            algorithms=[key.algorithm_name],
            audience=client_id,
            issuer=issuer,
            leeway=_CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except (jwt.PyJWTError, KeyError) as error:
        raise OAuth2Error(f"ID token refused: {error}") from error
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise OAuth2Error("ID token refused: issued to several clients, and not authorised for this one")
    return claims


class VerifiedOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect client, with the checks a district sign-in needs:

    - every ID token's signature is checked against the keys the provider publishes (allauth
      skips the check for tokens it fetched itself, trusting TLS to the provider, which a plain
      http address or a TLS-ending proxy on the way does not give);
    - the discovery document must name the configured issuer;
    - the userinfo answer must be about the ID token's subject, or it is not used.
    """

    @property
    def openid_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().openid_config
        expected = str(self.get_provider().app.settings["server_url"]).rstrip("/")
        if str(config.get("issuer", "")).rstrip("/") != expected:
            raise OAuth2Error(f"discovery document names issuer {config.get('issuer')!r}, not {expected!r}")
        return config

    def _get(self, url: str, **kwargs: Any) -> Any:
        with get_adapter().get_requests_session() as session:
            response = session.get(url, **kwargs)
            response.raise_for_status()
            return response.json()

    def complete_login(self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any) -> SocialLogin:
        id_token = kwargs["response"].get("id_token")
        if not isinstance(id_token, str):
            raise OAuth2Error("the provider sent no ID token")
        config = self.openid_config
        claims = verified_id_token(
            id_token, jwks=self._get(config["jwks_uri"]), issuer=config["issuer"], client_id=app.client_id
        )
        data: dict[str, Any] = {"id_token": claims}
        if app.settings.get("fetch_userinfo", True):
            userinfo = self._get(config["userinfo_endpoint"], headers={"Authorization": f"Bearer {token.token}"})
            if not isinstance(userinfo, dict) or userinfo.get("sub") != claims["sub"]:
                raise OAuth2Error("the userinfo answer is not about the ID token's subject")
            data["userinfo"] = userinfo
        sociallogin: SocialLogin = self.get_provider().sociallogin_from_response(request, data)
        return sociallogin


@provider_view
def oidc_login(request: HttpRequest, provider_id: str) -> HttpResponse:
    view: View = OAuth2LoginView.adapter_view(VerifiedOpenIDConnectAdapter(request, provider_id))
    return view(request)


@provider_view
def oidc_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    view: View = OAuth2CallbackView.adapter_view(VerifiedOpenIDConnectAdapter(request, provider_id))
    return view(request)
