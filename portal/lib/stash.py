"""Keep what someone typed when their session expired while they were writing.

The form view is open to signed-out visitors only to catch such a POST: the data is
kept in the (new, anonymous) session, the person signs in again, and the form comes
back filled in. Sign-in keeps the session's data, so nothing typed is lost.

The text goes back only to the account that was signed in on this browser when the
session ended (the signed cookie of portal.backends.KnownBrowserMiddleware names it):
if someone else signs in on that browser, it is dropped unseen. A POST from a browser
that names no account is not kept at all.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict

from portal.backends import account_tag, known_browser
from portal.http import AuthenticatedHttpRequest

_KEY = "stashed_form:"
_MAX_BYTES = 512 * 1024


def stash_post_and_sign_in(request: HttpRequest) -> HttpResponse:
    browser = known_browser(request)
    if request.method == "POST" and browser is not None:
        data = {key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"}
        if sum(len(value) for values in data.values() for value in values) <= _MAX_BYTES:
            request.session[_KEY + request.path] = {"account": browser[1], "data": data}
            messages.info(request, "Your session had ended. Sign in again and what you typed will be waiting.")
    return redirect_to_login(request.get_full_path())


def pop_stashed_post(request: AuthenticatedHttpRequest) -> QueryDict | None:
    """The POST kept for this page, if it was typed by the person now signed in (and only once)."""
    stashed = request.session.pop(_KEY + request.path, None)
    if not isinstance(stashed, dict) or stashed.get("account") != account_tag(request.user):
        return None
    query = QueryDict(mutable=True)
    for key, values in stashed["data"].items():
        query.setlist(key, values)
    return query
