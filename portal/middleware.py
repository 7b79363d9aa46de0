import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
