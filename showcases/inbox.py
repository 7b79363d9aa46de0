"""What awaits a host: requests to decide, sessions coming up, visitors to check in, debriefs to write.

Read by "Sessions I host" and by the host's home page in two queries whatever the number of
showcases, sessions and requests (one when no request is pending), and by the navigation's
badge in one (none on a page that has already read the inbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django_stubs_ext import WithAnnotations

from portal.models import User
from showcases.models import Attendance, RequestStatus, Showcase, VisitRequest, VisitSlot, can_host

T = TypeVar("T")

if TYPE_CHECKING:

    class _RequestCounts(TypedDict):
        pending_count: int
        waiting_count: int
        approved_count: int
        attended_count: int
        no_show_count: int
        reflected_count: int

    # A session with the counts `with_request_counts` annotates.
    CountedSlot = WithAnnotations[VisitSlot, _RequestCounts]

# How many rows of each list the host's home page shows (the rest are on "Sessions I host").
HOME_INBOX_ROWS = 5
# A session without debrief notes is listed as a debrief to write for this long after it took place.
DEBRIEF_DUE_WITHIN = timedelta(days=60)


class AwaitingDecisions:
    """How many visit requests wait for `user`'s decision (the navigation's badge): counted in
    one query the first time a page reads it, or given by a page that has listed them."""

    def __init__(self, user: User, *, count: int | None = None) -> None:
        self._user = user
        if count is not None:
            self.__dict__["count"] = count

    @cached_property
    def count(self) -> int:
        return VisitRequest.objects.awaiting_decision_by(self._user).count()


@dataclass
class HostInbox:
    pending: list[VisitRequest] = field(default_factory=list)
    upcoming: list[VisitSlot] = field(default_factory=list)
    to_debrief: list[VisitSlot] = field(default_factory=list)
    # Every request awaiting a decision, even when `pending` was cut to a limit.
    pending_count: int = 0
    # Whether a list was cut at the limit asked for (the home page shows the first few).
    more_pending: bool = False
    more_upcoming: bool = False
    more_to_debrief: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.pending or self.upcoming or self.to_debrief)


def hosted_sessions(user: User) -> QuerySet[VisitSlot]:
    """Sessions of the showcases `user` hosts or runs, with what their lists show."""
    return VisitSlot.objects.filter(showcase__in=Showcase.objects.run_by(user)).select_related(
        "showcase", "showcase__host_school"
    )


def with_request_counts(slots: QuerySet[VisitSlot]) -> QuerySet[VisitSlot]:
    """Annotate how many requests wait for a decision (`pending_count`), how many wait for a seat
    (`waiting_count`), how many visitors are approved (`approved_count`), and of those how
    many were checked in as attended (`attended_count`) or no-show (`no_show_count`) and
    how many have reflected (`reflected_count`)."""
    approved = Q(requests__status=RequestStatus.APPROVED)
    return slots.annotate(
        pending_count=Count("requests", filter=Q(requests__status=RequestStatus.PENDING)),
        waiting_count=Count("requests", filter=Q(requests__status=RequestStatus.WAITLISTED)),
        approved_count=Count("requests", filter=approved),
        attended_count=Count("requests", filter=approved & Q(requests__attendance=Attendance.ATTENDED)),
        no_show_count=Count("requests", filter=approved & Q(requests__attendance=Attendance.NO_SHOW)),
        reflected_count=Count("requests__reflection", filter=approved),
    )


def with_approved_visits(slots: QuerySet[VisitSlot]) -> QuerySet[VisitSlot]:
    """Prefetch each session's approved visits as its `requests`, as check-in lists them."""
    return slots.prefetch_related(
        Prefetch(
            "requests",
            queryset=VisitRequest.objects.filter(status=RequestStatus.APPROVED)
            .select_related("requester", "requester__school")
            .order_by("requester__last_name", "requester__first_name", "pk"),
        )
    )


def _cut(rows: list[T], limit: int | None) -> tuple[list[T], bool]:
    if limit is None or len(rows) <= limit:
        return rows, False
    return rows[:limit], True


def host_inbox(user: User, *, limit: int | None = None, now: datetime | None = None) -> HostInbox:
    """What awaits `user` as a host (empty for someone who cannot host), in two queries (one
    when no session has a request pending): the sessions not over yet (with their counts)
    together with those over without debrief notes, and the requests to decide. With `limit`,
    each list holds at most that many rows and says whether there are more. The lists are a
    host's own live sessions, so they stay short."""
    if not can_host(user):
        return HostInbox()
    now = now or timezone.now()
    sessions = cast(
        "list[CountedSlot]",
        list(
            with_request_counts(
                hosted_sessions(user).filter(
                    Q(ends_at__gt=now) | Q(ends_at__gt=now - DEBRIEF_DUE_WITHIN, debriefed_at__isnull=True),
                    cancelled_at__isnull=True,
                )
            ).order_by("starts_at", "pk")
        ),
    )
    # A request awaiting a decision is a pending request for one of the sessions above (still to
    # come, not cancelled): when none of them has a pending request, none needs asking for.
    pending: list[VisitRequest] = []
    if any(slot.pending_count for slot in sessions):
        pending = list(
            VisitRequest.objects.awaiting_decision_by(user)
            .select_related("requester", "requester__school", "slot", "slot__showcase", "slot__showcase__host_school")
            .order_by("slot__starts_at", "created_at", "pk")
        )
    inbox = HostInbox(pending_count=len(pending))
    inbox.pending, inbox.more_pending = _cut(pending, limit)
    inbox.upcoming, inbox.more_upcoming = _cut([slot for slot in sessions if slot.ends_at > now], limit)
    inbox.to_debrief, inbox.more_to_debrief = _cut([slot for slot in reversed(sessions) if slot.ends_at <= now], limit)
    return inbox
