"""The request type of views that need a signed-in person.

Every view needs one unless marked `login_not_required` (LoginRequiredMiddleware refuses
the rest), so such views take `request: AuthenticatedHttpRequest` and read `request.user`
as a `User`, with no cast.
"""

from django.http import HttpRequest

from portal.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
