import re
import time
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.template import loader
from django.urls import reverse

from portal.forms import EARLIEST_DATE, LATEST_DATE

TOUCH_KEY = "_last_touch"
# How stale the session's expiry may get before a request pushes it on. Saving on
# every request would cost a database write per page; this costs one every few minutes.
TOUCH_INTERVAL_SECONDS = 300


class SlidingSessionMiddleware:
    """End sessions after SESSION_COOKIE_AGE seconds without a request (to within a few minutes)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated and not session.is_empty():
            now = int(time.time())
            interval = min(TOUCH_INTERVAL_SECONDS, settings.SESSION_COOKIE_AGE // 4)
            if now - session.get(TOUCH_KEY, 0) >= interval:
                session[TOUCH_KEY] = now
        return response


class SecurityHeadersMiddleware:
    """Turn off browser features the portal never uses, and keep other sites from embedding
    its answers. Listed first in MIDDLEWARE with the other header middleware, so static files
    (WhiteNoise answers before the middleware below it runs) and error pages raised by any
    middleware carry the same headers as the pages."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


NUL = "\x00"


def _has_nul(data: QueryDict) -> bool:
    """Whether a QueryDict has a NUL character in any of its names or values."""
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class RejectNullCharactersMiddleware:
    """Answer 400 to a request with a NUL character in its address, its parameters or its
    form fields, before any of it reaches a query: PostgreSQL cannot store or compare such
    text (the driver raises ValueError, a 500). Nobody types a NUL. A session cookie holding
    one is treated as no session (signed out), so the next sign-in replaces it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.COOKIES.get(settings.SESSION_COOKIE_NAME, "") and hasattr(request, "session"):
            request.session = import_module(settings.SESSION_ENGINE).SessionStore()
        if NUL in request.path_info:
            return self.reject("The address contains a NUL character.")
        if _has_nul(request.GET):
            return self.reject("A parameter in the address contains a NUL character.")
        if request.method == "POST" and _has_nul(request.POST):
            return self.reject("A form field contains a NUL character. Remove it and send the form again.")
        return self.get_response(request)

    @staticmethod
    def reject(reason: str) -> HttpResponse:
        return HttpResponseBadRequest(loader.render_to_string("400.html", {"reason": reason}))


ADMIN_SEARCH_MAX_CHARS = 200
_DATE_LOOKUP = re.compile(r"__(gt|gte|lt|lte|exact)$")
_DATE_PART_LOOKUP = re.compile(r"__(year|month|day)$")
_DATE_START = re.compile(r"(\d+)-\d")


def admin_query_problem(query: QueryDict) -> str | None:
    """What in the query of an admin page the admin would fail on, or grind through: a
    search of thousands of words, a date part of twenty digits, a date beyond what Python
    holds once made aware, an empty `_to_field`."""
    for key, values in query.lists():
        value = values[-1] if values else ""
        if key == "q" and len(value) > ADMIN_SEARCH_MAX_CHARS:
            return f"Search for at most {ADMIN_SEARCH_MAX_CHARS} characters."
        if key == "_to_field" and not value:
            return "The _to_field parameter is empty."
        if _DATE_PART_LOOKUP.search(key) and not (value.isascii() and value.isdigit() and len(value) <= 4):
            return f"{key} must be a number of at most four digits."
        start = _DATE_START.match(value) if _DATE_LOOKUP.search(key) else None
        if start and not EARLIEST_DATE.year <= int(start.group(1)[:5]) <= LATEST_DATE.year:
            return f"{key} must be a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}."
    return None


class AdminParametersMiddleware:
    """Answer 400, naming the parameter, to an admin page asked for what it cannot answer
    (see `admin_query_problem`), instead of the admin's 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Resolved once, on the first request (the URLconf is not loaded when middleware is built).
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path_info.startswith(self.admin_prefix):
            problem = admin_query_problem(request.GET)
            if problem:
                return RejectNullCharactersMiddleware.reject(problem)
        return self.get_response(request)
