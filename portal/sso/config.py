"""Single sign-on providers from the environment, read once when settings load.

A provider is on when its client ID and secret are both set; half a configuration (an ID
without its secret, a Microsoft app without its tenant, an OpenID Connect provider without
its issuer) stops start-up with ImproperlyConfigured naming the missing variable, instead of
showing a button that cannot work. Nothing here touches the database: apps come from
settings (`SOCIALACCOUNT_PROVIDERS`), never from rows an administrator could add.

This module is imported by settings, so it imports no models and no allauth code.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from portal.lib.env import env_bool, env_str

# The generic OpenID Connect provider's id in its addresses; its return address (to register
# with the provider) is /accounts/oidc/district/login/callback/.
OIDC_PROVIDER_ID = "district"

GOOGLE_ORIGIN = "https://accounts.google.com"
MICROSOFT_ORIGIN = "https://login.microsoftonline.com"
CLEVER_ORIGIN = "https://clever.com"

USERNAME_OR_EMAIL_BACKEND = "portal.backends.UsernameOrEmailBackend"
SINGLE_SIGN_ON_BACKEND = "portal.sso.adapters.SingleSignOnBackend"

# Tenants that let in accounts of any organisation (or personal Microsoft accounts).
_MULTI_TENANT = {"common", "organizations", "consumers"}
_TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE)
_NAME_MAX = 60
_URL_MAX = 2000

# Clever: the person's own record (teachers and school or district administrators).
_CLEVER_SCOPE = ["read:user_id", "read:teachers", "read:school_admins", "read:district_admins"]
_OPENID_SCOPE = ["openid", "profile", "email"]


@dataclass(frozen=True)
class SingleSignOn:
    providers: dict[str, dict[str, Any]]
    """allauth's SOCIALACCOUNT_PROVIDERS: the configured providers, each with its one app."""
    form_action_origins: list[str]
    """Where the sign-in buttons lead (after the portal's redirect): the page's
    Content-Security-Policy must allow forms to go there."""
    password_sign_in: bool


def _credentials(prefix: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    client_id = env_str(f"{prefix}_CLIENT_ID", environ=environ)
    secret = env_str(f"{prefix}_CLIENT_SECRET", environ=environ)
    if client_id is None and secret is None:
        return None
    if secret is None:
        raise ImproperlyConfigured(f"{prefix}_CLIENT_SECRET is required when {prefix}_CLIENT_ID is set.")
    if client_id is None:
        raise ImproperlyConfigured(f"{prefix}_CLIENT_ID is required when {prefix}_CLIENT_SECRET is set.")
    return client_id, secret


def _microsoft_tenant(value: str | None, configured: bool) -> str | None:
    if value is None:
        if configured:
            raise ImproperlyConfigured(
                "SSO_MICROSOFT_TENANT is required when SSO_MICROSOFT_CLIENT_ID is set: the district's "
                "Entra ID tenant (its directory ID, or a domain such as district.org), so that only its "
                "accounts can sign in."
            )
        return None
    if not configured:
        raise ImproperlyConfigured("SSO_MICROSOFT_CLIENT_ID is required when SSO_MICROSOFT_TENANT is set.")
    if value.lower() in _MULTI_TENANT:
        raise ImproperlyConfigured(
            f"SSO_MICROSOFT_TENANT must name the district's own tenant, not {value!r}, which lets in "
            "accounts of any organisation."
        )
    if not (_TENANT_ID.fullmatch(value) or _DOMAIN.fullmatch(value)):
        raise ImproperlyConfigured(
            f"SSO_MICROSOFT_TENANT must be a directory (tenant) ID or a domain name; got {value[:80]!r}."
        )
    return value


def _issuer(value: str) -> str:
    """The issuer's address: https, or http on this machine only (a provider for tests)."""
    if len(value) > _URL_MAX:
        raise ImproperlyConfigured(f"SSO_OIDC_ISSUER must be at most {_URL_MAX} characters.")
    parts = urlsplit(value)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)) or not host:
        raise ImproperlyConfigured(
            f"SSO_OIDC_ISSUER must be an https:// address (http:// only on this machine); got {value[:80]!r}."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"SSO_OIDC_ISSUER must have no query or fragment; got {value[:80]!r}.")
    return value.rstrip("/")


def _oidc(environ: Mapping[str, str]) -> tuple[str, str, str, str] | None:
    names = ["SSO_OIDC_NAME", "SSO_OIDC_ISSUER", "SSO_OIDC_CLIENT_ID", "SSO_OIDC_CLIENT_SECRET"]
    values = {name: env_str(name, environ=environ) for name in names}
    given = [name for name in names if values[name] is not None]
    if not given:
        return None
    missing = [name for name in names if values[name] is None]
    if missing:
        raise ImproperlyConfigured(
            f"{missing[0]} is required when {given[0]} is set: an OpenID Connect provider needs "
            f"{', '.join(names[:-1])} and {names[-1]}."
        )
    name, issuer, client_id, secret = (str(values[name]) for name in names)
    if len(name) > _NAME_MAX:
        raise ImproperlyConfigured(f"SSO_OIDC_NAME must be at most {_NAME_MAX} characters (it labels a button).")
    return name, _issuer(issuer), client_id, secret


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def from_environment(environ: Mapping[str, str] = os.environ) -> SingleSignOn:
    providers: dict[str, dict[str, Any]] = {}
    origins: list[str] = []

    google = _credentials("SSO_GOOGLE", environ)
    if google is not None:
        providers["google"] = {
            "APPS": [{"client_id": google[0], "secret": google[1], "settings": {"scope": _OPENID_SCOPE}}],
            "OAUTH_PKCE_ENABLED": True,
        }
        origins.append(GOOGLE_ORIGIN)

    microsoft = _credentials("SSO_MICROSOFT", environ)
    tenant = _microsoft_tenant(env_str("SSO_MICROSOFT_TENANT", environ=environ), microsoft is not None)
    if microsoft is not None:
        providers["microsoft"] = {
            "APPS": [{"client_id": microsoft[0], "secret": microsoft[1], "settings": {"tenant": tenant}}],
            "OAUTH_PKCE_ENABLED": True,
        }
        origins.append(MICROSOFT_ORIGIN)

    clever = _credentials("SSO_CLEVER", environ)
    if clever is not None:
        providers["clever"] = {
            "APPS": [{"client_id": clever[0], "secret": clever[1], "settings": {"scope": _CLEVER_SCOPE}}],
        }
        origins.append(CLEVER_ORIGIN)

    oidc = _oidc(environ)
    if oidc is not None:
        name, issuer, client_id, secret = oidc
        providers["openid_connect"] = {"APPS": [openid_connect_app(OIDC_PROVIDER_ID, name, issuer, client_id, secret)]}
        origins.append(_origin(issuer))

    password_sign_in = env_bool("PASSWORD_SIGN_IN", default=True, environ=environ)
    if not password_sign_in and not providers:
        raise ImproperlyConfigured(
            "PASSWORD_SIGN_IN=false needs a single sign-on provider (SSO_GOOGLE_*, SSO_MICROSOFT_*, "
            "SSO_CLEVER_* or SSO_OIDC_*): otherwise nobody could sign in."
        )
    return SingleSignOn(providers=providers, form_action_origins=origins, password_sign_in=password_sign_in)


def openid_connect_app(provider_id: str, name: str, issuer: str, client_id: str, secret: str) -> dict[str, Any]:
    """One OpenID Connect provider as an allauth app. Its discovery document is read from
    `issuer`, and must name that same issuer (portal.sso.views checks it)."""
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": client_id,
        "secret": secret,
        "settings": {"server_url": issuer, "oauth_pkce_enabled": True, "scope": _OPENID_SCOPE},
    }


def authentication_backends(configured: list[str], *, password_sign_in: bool) -> list[str]:
    """The backends: without password sign-in the password backend goes, so no form anywhere (the
    sign-in page, the admin's) can check a password; the single sign-on backend keeps sessions."""
    kept = [backend for backend in configured if password_sign_in or backend != USERNAME_OR_EMAIL_BACKEND]
    return [*kept, SINGLE_SIGN_ON_BACKEND]
