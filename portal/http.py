"""The request type of views that need a signed-in person.

Every view needs one unless marked `login_not_required` (LoginRequiredMiddleware refuses
the rest), so such views take `request: AuthenticatedHttpRequest` and read `request.user`
as a `User`, with no cast.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from portal.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def acting_user(request: HttpRequest) -> User:
    """The signed-in person behind `request`, for code whose signature must take any request
    (admin hooks, middleware, class-based views' overrides); anyone else is refused."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
