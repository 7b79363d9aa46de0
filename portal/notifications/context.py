"""The navigation's unread count."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import cached_property

from portal.models import User
from portal.notifications.models import unread_count


class UnreadNotifications:
    """Counted the first time a page shows it (usually from the cache: no query)."""

    def __init__(self, user: User) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        return unread_count(self._user)


def unread_notifications(request: HttpRequest) -> dict[str, UnreadNotifications]:
    """Template context processor: `unread_notifications` for signed-in people."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_active:
        return {}
    return {"unread_notifications": UnreadNotifications(user)}
