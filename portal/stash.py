"""Keep what someone typed when their session expired while they were writing.

The form view is open to signed-out visitors only to catch such a POST: the data is
kept in the (new, anonymous) session, the person signs in again, and the form comes
back filled in. Sign-in keeps the session's data, so nothing typed is lost.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, QueryDict

_KEY = "stashed_form:"
_MAX_BYTES = 512 * 1024


def stash_post_and_sign_in(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = {key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"}
        if sum(len(value) for values in data.values() for value in values) <= _MAX_BYTES:
            request.session[_KEY + request.path] = data
            messages.info(request, "Your session had ended. Sign in again and what you typed will be waiting.")
    return redirect_to_login(request.get_full_path())


def pop_stashed_post(request: HttpRequest) -> QueryDict | None:
    data = request.session.pop(_KEY + request.path, None)
    if data is None:
        return None
    query = QueryDict(mutable=True)
    for key, values in data.items():
        query.setlist(key, values)
    return query
