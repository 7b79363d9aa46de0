"""What practices tell the portal's notifications: who may see a practice a notice is about."""

from __future__ import annotations

from django.db.models import QuerySet

from portal.models import User
from portal.notifications.models import register_visibility
from practices.models import Practice


def _visible_practices(user: User) -> QuerySet[Practice]:
    return Practice.objects.visible_to(user)


def register() -> None:
    register_visibility(Practice, _visible_practices)
