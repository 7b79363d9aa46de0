"""What every page's navigation shows that comes from the feature apps."""

from __future__ import annotations

from django.http import HttpRequest

from portal.models import User
from showcases.inbox import AwaitingDecisions
from showcases.models import can_host


def hosting(request: HttpRequest) -> dict[str, AwaitingDecisions]:
    """The navigation's badge of requests awaiting a host, for those who can host. It is
    counted only when a page shows it; a page that lists the requests gives the count itself."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_active or not can_host(user):
        return {}
    return {"awaiting_decisions": AwaitingDecisions(user)}
