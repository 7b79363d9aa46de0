"""Signing in: which account a typed name means, where a request comes from, and how
repeated failures are slowed down.

Failed attempts are counted per ACCOUNT, whatever it was called (username or e-mail, any
case, stray spaces) and wherever they came from. Past `LOGIN_FAILURE_LIMIT` failures each
next attempt waits, longer every time up to `LOGIN_LOCKOUT_MINUTES`; the right password
after the wait still works. A browser that has signed in to the account before keeps a
count of its own (OWASP "device cookies"), so someone guessing from elsewhere cannot keep
the account's owner out of their usual browser. A name that matches no account is counted
the same way, so the answers never tell whether an account exists.

django-axes does the wiring (the backend that stops a paused attempt, the signals, the
admin listing of attempts); `SignInThrottle` replaces its hard lock-out with the waits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_query_str
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Max, Q, Sum
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac

from portal.forms import LoginForm
from portal.models import User

logger = logging.getLogger("portal.signin")


def account_for(identifier: str) -> User | None:
    """The account a typed name means: its e-mail address in any case, or its username.

    One query whatever the outcome, so the time taken does not depend on whether the
    account exists. A name with an "@" is tried as an e-mail address first.
    """
    name = identifier.strip()
    if not name:
        return None
    candidates = list(
        User._default_manager.annotate(email_lower=Lower("email")).filter(
            Q(email_lower=name.lower()) | Q(username=name)
        )[:2]
    )
    by_email = [user for user in candidates if user.email.lower() == name.lower()]
    by_username = [user for user in candidates if user.username == name]
    ordered = (by_email + by_username) if "@" in name else (by_username + by_email)
    return ordered[0] if ordered else None


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with either the username or the e-mail address (any case)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        user = account_for(username)
        if user is None:
            # Run the hasher anyway so timing does not reveal which accounts exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


# --- Where a request comes from -------------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    """The address of the browser, seen through `TRUSTED_PROXY_COUNT` proxies of our own.

    Each trusted proxy appends the address it received the request from to
    X-Forwarded-For, so the client is the entry that many places from the end; entries
    further left were written by the client and prove nothing. With no trusted proxy,
    or when the header is shorter than it must be, the connection's own address is used.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("Ignoring X-Forwarded-For entry %r that is not an address", candidate[:60])
    return remote


# --- Browsers that have signed in to an account before ---------------------------------

KNOWN_BROWSER_COOKIE = "portal_browser"
_KNOWN_BROWSER_SALT = "portal.backends.known-browser"
KNOWN_BROWSER_MAX_AGE = 180 * 24 * 3600


def account_tag(user: User) -> str:
    """A stable token for an account that does not reveal which account it is."""
    return salted_hmac(_KNOWN_BROWSER_SALT, str(user.pk)).hexdigest()[:24]


def known_browser(request: HttpRequest) -> tuple[str, str] | None:
    """(browser id, account tag) of the last account signed in on this browser, if any."""
    value = request.get_signed_cookie(
        KNOWN_BROWSER_COOKIE, default=None, salt=_KNOWN_BROWSER_SALT, max_age=KNOWN_BROWSER_MAX_AGE
    )
    if not value or value.count(".") != 1:
        return None
    browser, tag = value.split(".")
    return browser, tag


class KnownBrowserMiddleware:
    """Mark the browser of a signed-in person with a signed cookie naming (opaquely) their account.

    Set on any signed-in response rather than at the sign-in itself, so it covers every
    way of signing in. Read by the sign-in throttle and by the stash of text typed while
    signed out (portal.lib.stash).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            tag = account_tag(user)
            current = known_browser(request)
            if current is None or current[1] != tag:
                response.set_signed_cookie(
                    KNOWN_BROWSER_COOKIE,
                    f"{secrets.token_hex(8)}.{tag}",
                    salt=_KNOWN_BROWSER_SALT,
                    max_age=KNOWN_BROWSER_MAX_AGE,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response


# --- The sign-in throttle ---------------------------------------------------------------


def sign_in_key(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """What failed attempts are counted against (django-axes' AXES_USERNAME_CALLABLE).

    The account's username, lower-cased, however the account was named; the typed name,
    trimmed and lower-cased, when it matches no account. From a browser that has signed
    in to the account before, a count of that browser's own.
    """
    typed = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if typed is None:
        typed = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    if not isinstance(typed, str) or not typed.strip():
        return None
    memo: dict[str, str] = request.__dict__.setdefault("_sign_in_keys", {})
    if typed not in memo:
        user = account_for(typed)
        if user is None:
            key = typed.strip().lower()
        else:
            key = user.username.lower()
            browser = known_browser(request)
            if browser is not None and browser[1] == account_tag(user):
                key = f"{key} [browser {browser[0]}]"
        memo[typed] = key[:255]
    return memo[typed]


def pause_after(failures: int) -> timedelta:
    """How long the next attempt must wait after `failures` failures in a row."""
    over = failures - settings.AXES_FAILURE_LIMIT
    if over < 0:
        return timedelta(0)
    longest = settings.LOGIN_LONGEST_PAUSE
    # Doubling from two seconds; the exponent is capped so huge counts cannot overflow.
    return min(timedelta(seconds=2 ** min(over + 1, 40)), longest)


def _hold_account_lock(key: str) -> None:
    """Until the transaction ends, make other attempts on `key` wait, so that a burst of
    simultaneous attempts cannot all pass the check before any of them is counted."""
    if connection.vendor == "postgresql":
        number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])
    # SQLite: transactions begin IMMEDIATE (settings), so writers already take turns.


class _AxesRequest(HttpRequest):
    """A sign-in request as django-axes hands it to its handler: `AxesProxyHandler`
    (`update_request`) sets these before calling any handler method."""

    axes_attempt_time: datetime
    axes_ip_address: str
    axes_user_agent: str
    axes_http_accept: str
    axes_path_info: str
    axes_locked_out: bool
    axes_credentials: dict | None
    sign_in_wait_seconds: int
    sign_in_counted: bool


def _axes(request: HttpRequest) -> _AxesRequest:
    return cast(_AxesRequest, request)


class SignInThrottle(AxesDatabaseHandler):
    """django-axes handler (AXES_HANDLER): growing waits per account instead of a lock-out.

    An attempt is counted as a failure BEFORE the password is checked, in the same
    locked transaction as the check, and the count is cleared when the password is right.
    Attempts refused because they came too early are not counted, so they do not make
    the wait longer. Counts are forgotten after a day without failures
    (AXES_COOLOFF_TIME).
    """

    def seconds_to_wait(self, key: str, at: datetime) -> int:
        recent = AccessAttempt.objects.filter(username=key, attempt_time__gte=at - settings.AXES_COOLOFF_TIME)
        totals = recent.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        pause = pause_after(totals["failures"] or 0)
        if not pause:
            # Below the limit nothing waits, even when another attempt was counted a moment
            # after this one began (simultaneous sign-ins to one account).
            return 0
        remaining = (totals["last"] + pause - at).total_seconds()
        return max(0, math.ceil(remaining))

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        key = get_client_username(request, credentials)
        return key is not None and self.seconds_to_wait(key, _axes(request).axes_attempt_time) > 0

    def is_allowed(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        if self.is_blacklisted(request, credentials):
            return False
        if self.is_whitelisted(request, credentials):
            return True
        key = get_client_username(request, credentials)
        if key is None:
            return True
        attempt = _axes(request)
        with transaction.atomic():
            _hold_account_lock(key)
            wait = self.seconds_to_wait(key, attempt.axes_attempt_time)
            if wait:
                attempt.sign_in_wait_seconds = wait
                return False
            self._count_failure(attempt, key)
        attempt.sign_in_counted = True
        return True

    def _count_failure(self, request: _AxesRequest, key: str) -> None:
        self.clean_expired_user_attempts(request)
        attempt, created = AccessAttempt.objects.get_or_create(
            username=key,
            ip_address=request.axes_ip_address,
            user_agent=request.axes_user_agent,
            defaults={
                "get_data": get_query_str(request.GET).replace("\0", ""),
                "post_data": get_query_str(request.POST).replace("\0", ""),
                "http_accept": request.axes_http_accept,
                "path_info": request.axes_path_info,
                "failures_since_start": 1,
            },
        )
        if not created:
            AccessAttempt.objects.filter(pk=attempt.pk).update(
                failures_since_start=F("failures_since_start") + 1,
                attempt_time=request.axes_attempt_time,
                path_info=request.axes_path_info,
            )

    def user_login_failed(
        self, sender: object, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return
        request = _axes(request)
        key = get_client_username(request, credentials)
        address = request.axes_ip_address
        request.axes_credentials = credentials
        if request.axes_locked_out:
            logger.warning("Sign-in to %s from %s refused: tried again too soon", key, address)
            return
        if key is not None and not getattr(request, "sign_in_counted", False):
            with transaction.atomic():
                _hold_account_lock(key)
                self._count_failure(request, key)
        logger.warning("Failed sign-in to %s from %s", key, address)


def sign_in_paused(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The answer to an attempt made before its wait was over (AXES_LOCKOUT_CALLABLE)."""
    seconds = getattr(request, "sign_in_wait_seconds", 1)
    typed = (credentials or {}).get("username") or request.POST.get("username", "")
    form = LoginForm(request, initial={"username": typed})
    context = {"form": form, "wait": describe_wait(seconds), "next": request.POST.get("next", "")}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def describe_wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


# --- Requests that send e-mail (password reset) -----------------------------------------


def within_hourly_limit(scope: str, value: str, limit: int) -> bool:
    """Count one more request for `value` in `scope`; False once more than `limit` came this hour.

    Kept in the cache (Redis in production, so every app server shares the count).
    """
    key = f"rate:{scope}:{hashlib.sha256(value.encode()).hexdigest()}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count <= limit
