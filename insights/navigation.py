"""The navigation's links, as flags from each app's own rules (templates never test roles)."""

from dataclasses import dataclass

from django.http import HttpRequest

from insights.district import DISTRICT_DASHBOARD_ROLES
from portal.models import ROSTER_ROLES, User
from surveys.models import SurveyAccess


@dataclass(frozen=True)
class Navigation:
    surveys: bool
    district_dashboard: bool
    roster: bool

    @classmethod
    def of(cls, user: User) -> "Navigation":
        return cls(
            surveys=SurveyAccess.of(user).can_see_dashboard,
            district_dashboard=user.role in DISTRICT_DASHBOARD_ROLES,
            roster=user.role in ROSTER_ROLES,
        )


def navigation(request: HttpRequest) -> dict[str, Navigation]:
    """Template context processor: `nav` for signed-in people."""
    user = getattr(request, "user", None)
    return {"nav": Navigation.of(user)} if isinstance(user, User) and user.is_active else {}
