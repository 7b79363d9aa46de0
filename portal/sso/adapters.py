"""Who may sign in through an identity provider, and what those who may not see.

Only people already on the portal's roster, and active, sign in: the provider's account is
matched to an existing person by OneRoster `sourcedId` where the provider gives one, otherwise
by an e-mail address the provider has verified (any case). The
first sign-in links the provider's account to the person, so later ones follow the link even
if the address changes. Nobody is ever created here, and a deactivated person is refused.

django-allauth calls these adapters (ACCOUNT_ADAPTER, SOCIALACCOUNT_ADAPTER). The sign-in
itself goes through Django's `login()`, so the portal's own sign-in machinery applies as for
a password: the session key changes, the known-browser cookie is set
(portal.backends.KnownBrowserMiddleware), django-axes logs the access and clears the account's
failed password attempts, and the idle timeout runs (portal.middleware).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthError
from django.contrib.auth import login as django_login
from django.contrib.auth.backends import ModelBackend
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.models import User
from portal.sso.config import SINGLE_SIGN_ON_BACKEND

logger = logging.getLogger("portal.signin")

# Why a sign-in through a provider was refused; the refusal page explains each.
NOT_ROSTERED = "not_rostered"
UNVERIFIED = "unverified"
NO_EMAIL = "no_email"
DEACTIVATED = "deactivated"
CANCELLED = "cancelled"
FAILED = "failed"
UNREACHABLE = "unreachable"

_STATUS = {CANCELLED: 200, UNREACHABLE: 502}


@dataclass(frozen=True)
class ProviderIdentity:
    """What a provider says about the person who signed in there."""

    email: str | None
    email_verified: bool
    sourced_id: str | None


class SignInRefused(Exception):
    def __init__(self, reason: str, person: User | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.person = person


def _says_true(value: object) -> bool:
    """A claim that is true: JSON true, or the text "true" some providers send. Anything else
    (absent, false, "false", 1) is not."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def identity_of(sociallogin: SocialLogin) -> ProviderIdentity:
    data: dict[str, Any] = sociallogin.account.extra_data or {}
    provider = sociallogin.provider.id
    if provider == "microsoft":
        # Microsoft Graph's record of an account in the district's own tenant (sign-in is restricted
        # to it): its address is set by the district's IT in the directory, not by the person.
        return ProviderIdentity(_text(data.get("mail")) or _text(data.get("userPrincipalName")), True, None)
    if provider == "clever":
        # Clever's record comes from the district's student information system.
        person = data.get("data") or {}
        return ProviderIdentity(_text(person.get("email")), True, None)
    # OpenID Connect claims: Google's ID token; for other providers their userinfo answer (checked to
    # be about the ID token's subject), else the ID token. `sourcedId` is the OneRoster key some
    # providers (ClassLink) add.
    claims: dict[str, Any] = data.get("userinfo") or data.get("id_token") or data
    sourced_id = _text(claims.get("sourcedId")) or _text(claims.get("SourcedId"))
    return ProviderIdentity(_text(claims.get("email")), _says_true(claims.get("email_verified")), sourced_id)


def rostered_person(identity: ProviderIdentity) -> User:
    """The active person on the roster the provider's account belongs to; SignInRefused otherwise.

    The OneRoster key (set by the OneRoster import) comes first: the district's provider vouches
    for it as it does for the address. Someone it does not name is matched by verified e-mail.
    """
    person: User | None = None
    if identity.sourced_id:
        person = User._default_manager.filter(sourced_id=identity.sourced_id).first()
    if person is None:
        if identity.email is None:
            raise SignInRefused(NO_EMAIL)
        if not identity.email_verified:
            raise SignInRefused(UNVERIFIED)
        person = (
            User._default_manager.annotate(email_lower=Lower("email"))
            .filter(email_lower=identity.email.lower())
            .first()
        )
    if person is None:
        raise SignInRefused(NOT_ROSTERED)
    if not person.is_active:
        raise SignInRefused(DEACTIVATED, person)
    return person


def refusal_page(
    request: HttpRequest, reason: str, *, provider_name: str | None = None, email: str | None = None
) -> HttpResponse:
    context = {"reason": reason, "provider_name": provider_name or "your district account", "email": email}
    return render(request, "socialaccount/authentication_error.html", context, status=_STATUS.get(reason, 403))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """SOCIALACCOUNT_ADAPTER: sign-in for rostered, active people only; no sign-up."""

    def list_apps(self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None) -> Any:
        # Providers come from the environment only (settings): an app added in the admin is
        # ignored, so no one with admin rights can plug in an identity provider of their own.
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        return [app for app in apps if isinstance(app, SocialApp) and app.pk is None]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def authenticate_by_email(self, sociallogin: SocialLogin) -> None:
        # The match by e-mail is pre_social_login's, with the portal's rules.
        return None

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        provider_name = sociallogin.provider.name
        identity = identity_of(sociallogin)
        try:
            if sociallogin.is_existing:
                person = sociallogin.user
                if not (isinstance(person, User) and person.is_active):
                    raise SignInRefused(DEACTIVATED, person if isinstance(person, User) else None)
                return
            person = rostered_person(identity)
        except SignInRefused as refusal:
            logger.warning(
                "Sign-in through %s refused (%s) for %s (subject %s)",
                provider_name,
                refusal.reason,
                refusal.person.username if refusal.person else identity.email,
                sociallogin.account.uid,
            )
            page = refusal_page(request, refusal.reason, provider_name=provider_name, email=identity.email)
            raise ImmediateHttpResponse(page) from None
        account, _created = SocialAccount.objects.get_or_create(
            provider=sociallogin.account.provider,
            uid=sociallogin.account.uid,
            defaults={"user": person, "extra_data": sociallogin.account.extra_data},
        )
        sociallogin.account = account
        sociallogin.user = account.user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        name = getattr(provider, "name", None)
        if error == AuthError.CANCELLED:
            raise ImmediateHttpResponse(refusal_page(request, CANCELLED, provider_name=name))
        logger.warning("Sign-in through %s failed: %s %r", name, error, exception)
        raise ImmediateHttpResponse(refusal_page(request, FAILED, provider_name=name))


class AccountAdapter(DefaultAccountAdapter):
    """ACCOUNT_ADAPTER: allauth signs people in; accounts come only from the roster."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_stages(self) -> list[str]:
        # The provider has verified the person; the portal adds no steps (e-mail codes, ...).
        return []

    def login(self, request: HttpRequest, user: Any) -> None:
        django_login(request, user, backend=SINGLE_SIGN_ON_BACKEND)

    def respond_user_inactive(self, request: HttpRequest, user: Any) -> HttpResponse:
        return refusal_page(request, DEACTIVATED, email=getattr(user, "email", None))

    def add_message(self, *args: Any, **kwargs: Any) -> None:
        # The portal says nothing about signing in, however it happened.
        return None


class SingleSignOnBackend(ModelBackend):
    """Keeps the sessions of people who signed in through a provider (and answers for their
    permissions). It checks no password: the provider did the checking."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        return None
