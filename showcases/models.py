from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from portal.models import Role, User, UserQuerySet


class ShowcaseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


# Who may host a showcase: principals at their own school, district leaders at any school
# (a principals' meeting, say). A principal always has a school (a constraint on User says so).
HOST_ROLES = [Role.PRINCIPAL, Role.DISTRICT_LEADER]
# Who manages every showcase in the district (they run the admin), besides those who run one.
RUN_ALL_ROLES = [Role.DISTRICT_STAFF]
# Who runs their own school's showcases, whoever hosts them.
RUN_SCHOOL_ROLES = [Role.PRINCIPAL]
# Who holds a session as a principals' meeting, and who is invited to one.
CONVENE_ROLES = [Role.DISTRICT_LEADER]
MEETING_INVITEE_ROLES = [Role.PRINCIPAL]


def can_host(user: User) -> bool:
    """Whether `user` may host a showcase (open the page for a new one)."""
    return user.is_authenticated and user.role in HOST_ROLES


def _runs_every_showcase(user: User) -> bool:
    """Whether `user` manages every showcase, whoever hosts it."""
    return user.is_authenticated and user.role in RUN_ALL_ROLES


def _school_run_by(user: User) -> int | None:
    """The school whose showcases `user` runs whoever hosts them: a principal's own."""
    return user.school_id if user.role in RUN_SCHOOL_ROLES else None


def _run_by(user: User) -> Q:
    """Showcase.is_run_by as a condition: the host, and the host school's principal."""
    condition = Q(host=user)
    school_id = _school_run_by(user)
    if school_id is not None:
        condition |= Q(host_school_id=school_id)
    return condition


class ShowcaseQuerySet(models.QuerySet["Showcase"]):
    def visible_to(self, user: User) -> ShowcaseQuerySet:
        """The one access rule for showcases: published ones are open to everyone signed
        in (that is their purpose); drafts and cancelled ones to those who manage them. A
        cancelled one stays open to those who asked to visit it: their e-mails, notices and
        My visits link to it, and a session held before it was cancelled has its reflections
        and debrief."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if _runs_every_showcase(user):
            return self.all()
        # The showcases they asked to visit, looked up once (not once per showcase), so a list
        # costs the same however many showcases the district has.
        asked = VisitRequest.objects.filter(requester=user).values("slot__showcase_id")
        return self.filter(
            Q(status=ShowcaseStatus.PUBLISHED) | _run_by(user) | Q(pk__in=asked, status=ShowcaseStatus.CANCELLED)
        )

    def run_by(self, user: User) -> ShowcaseQuerySet:
        """The showcases `user` hosts or runs as the host school's principal (Showcase.is_run_by)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(_run_by(user))

    def manageable_by(self, user: User) -> ShowcaseQuerySet:
        """The showcases `user` may manage (Showcase.can_manage for many)."""
        if _runs_every_showcase(user):
            return self.all()
        return self.run_by(user)

    def published(self) -> ShowcaseQuerySet:
        return self.filter(status=ShowcaseStatus.PUBLISHED)


class Showcase(models.Model):
    """A school opening its doors to colleagues: the one-page questionnaire and its sessions."""

    host_school = models.ForeignKey("portal.School", on_delete=models.PROTECT, related_name="showcases")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_showcases")
    title = models.CharField(max_length=200)
    description = models.TextField(
        "the practice", help_text="What visitors will learn about, as you would describe it to a colleague."
    )
    impact = models.TextField("impact on student learning", help_text="What has changed for students.")
    evidence = models.TextField(
        "evidence of impact", help_text="Student work, data or observations that show the impact."
    )
    focus_question = models.CharField(
        max_length=300,
        help_text="The one question visitors look for evidence on, e.g. “How do students explain their thinking?”",
    )
    what_visitors_see = models.TextField(
        "what visitors will see", blank=True, help_text="Classrooms, meetings, student work on display."
    )
    practices = models.ManyToManyField("practices.Practice", blank=True, related_name="showcases")
    status = models.CharField(max_length=10, choices=ShowcaseStatus.choices, default=ShowcaseStatus.DRAFT)
    auto_approve = models.BooleanField(
        "approve requests automatically", default=False, help_text="Requests are approved while seats remain."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShowcaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ShowcaseStatus.values), name="showcase_status_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("showcases:detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == ShowcaseStatus.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == ShowcaseStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == ShowcaseStatus.CANCELLED

    def is_run_by(self, user: User) -> bool:
        """Its host and the host school's principal run it (ShowcaseQuerySet.run_by)."""
        school_id = _school_run_by(user)
        return user.pk == self.host_id or (school_id is not None and school_id == self.host_school_id)

    def can_manage(self, user: User) -> bool:
        """Those who run it, and district staff, manage it: decide requests, cancel sessions,
        write debriefs (ShowcaseQuerySet.manageable_by)."""
        return _runs_every_showcase(user) or (user.is_authenticated and self.is_run_by(user))

    def can_edit(self, user: User) -> bool:
        """Those who manage it edit it until it is cancelled."""
        return self.can_manage(user) and not self.is_cancelled


class VisitSlot(models.Model):
    showcase = models.ForeignKey(Showcase, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField("seats", help_text="How many visitors you can host.")
    location = models.CharField(
        max_length=200, help_text="Where visitors should go, e.g. “Main office, then room 114”."
    )
    notes = models.TextField(blank=True, help_text="Parking, sign-in, what to bring.")
    # Seats held by approved requests, kept under the slot's row lock; the database
    # refuses a value above capacity, so no mix of requests can overbook.
    seats_taken = models.PositiveSmallIntegerField(default=0, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # iCalendar SEQUENCE for the host's calendar entry: raised on every change.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    debrief_notes = models.TextField(blank=True)
    debriefed_at = models.DateTimeField(null=True, blank=True, editable=False)
    debrief_invites_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Check-in: when the host first recorded who came, and the seats of the parties who did,
    # kept under the session's lock by the check-in (services.slot_attendance_record).
    attendance_taken_at = models.DateTimeField(null=True, blank=True, editable=False)
    seats_attended = models.PositiveSmallIntegerField(default=0, editable=False)
    # A principals' meeting: the district leader who holds it, seating a cohort of principals
    # (services.meeting_schedule); its debrief notes are the meeting's shared notes.
    meeting_convener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="convened_sessions",
    )

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["starts_at"], name="slot_starts_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="slot_capacity_positive"),
            models.CheckConstraint(condition=Q(seats_taken__lte=models.F("capacity")), name="slot_never_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.showcase} — {timezone.localtime(self.starts_at):%b %-d, %Y %H:%M}"

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_past(self) -> bool:
        return self.starts_at <= timezone.now()

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def ical_uid(self) -> str:
        return f"showcase-slot-{self.pk}@{_ical_domain()}"

    @property
    def is_principals_meeting(self) -> bool:
        return self.meeting_convener_id is not None

    @property
    def takes_decisions(self) -> bool:
        """Requests are approved while the session is to come, on and of a published showcase."""
        return self.showcase.is_published and not self.is_cancelled and not self.is_past

    def can_convene(self, user: User) -> bool:
        """A district leader holds an upcoming session of a published showcase as a principals'
        meeting, or invites more principals to one."""
        return (
            user.is_authenticated
            and user.role in CONVENE_ROLES
            and self.showcase.is_published
            and not self.is_cancelled
            and not self.is_past
        )

    def meeting_candidates(self) -> UserQuerySet:
        """Who may be invited to this session as a principals' meeting: active principals of
        the other schools (the host school's own principals host it)."""
        return (
            User.objects.active()
            .filter(role__in=MEETING_INVITEE_ROLES)
            .exclude(school_id=self.showcase.host_school_id)
            .select_related("school")
            .order_by("school__name", "last_name", "first_name", "pk")
        )

    @property
    def check_in_open(self) -> bool:
        """Visitors are checked in from the day of the session on, unless it was cancelled."""
        return not self.is_cancelled and timezone.localtime(self.starts_at).date() <= timezone.localdate()

    @property
    def is_checked_in(self) -> bool:
        """Whether the host has recorded who came (attended or no-show) for anyone."""
        return self.attendance_taken_at is not None

    @property
    def seats_filled(self) -> int:
        """Seats of visitors who came once the host checked them in; until then, the approved seats."""
        return self.seats_attended if self.is_checked_in else self.seats_taken

    def can_check_in(self, user: User) -> bool:
        """Those who manage the showcase check visitors in, from the day of the session."""
        return self.check_in_open and self.showcase.can_manage(user)

    def can_message(self, user: User) -> bool:
        """Those who manage the showcase write to its approved visitors while the session is on."""
        return not self.is_cancelled and self.showcase.can_manage(user)

    def request_refusal(self, user: User) -> str | None:
        """Why `user` may not ask for seats in this session, or None if they may: it must be
        open (published, not cancelled, not started) and not their own school's."""
        showcase = self.showcase
        if not showcase.is_published or self.is_cancelled:
            return "This session is not open for requests."
        if self.is_past:
            return "This session has already started; requests are closed."
        if user.pk == showcase.host_id or (user.school_id is not None and user.school_id == showcase.host_school_id):
            return "This is your own school's showcase."
        if self.is_principals_meeting:
            return "This session is a principals' meeting: its seats are by invitation."
        return None

    def can_request(self, user: User) -> bool:
        """Whether `user` may ask for seats in this session (a request of their own already
        there is refused by the request itself)."""
        return self.request_refusal(user) is None

    def can_debrief(self, user: User) -> bool:
        """Those who manage the showcase write a session's debrief notes, and the leader who
        holds it as a principals' meeting (the notes are the meeting's)."""
        return self.showcase.can_manage(user) or (user.is_authenticated and user.pk == self.meeting_convener_id)

    def can_read_debrief(self, user: User, *, attended: bool) -> bool:
        """A session's debrief is read by those who write it and by its approved visitors
        (`attended`: `user` holds an approved request for this session)."""
        return attended or self.can_debrief(user)


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the host"
    APPROVED = "approved", "Approved"
    WAITLISTED = "waitlisted", "On the waiting list"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class Attendance(models.TextChoices):
    """Whether an approved visitor came, as the host checked them in on the day."""

    UNRECORDED = "", "Not recorded"
    ATTENDED = "attended", "Attended"
    NO_SHOW = "no_show", "No-show"


ACTIVE_REQUEST_STATUSES = [RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.WAITLISTED]
# Requests waiting for the host's decision.
WAITING_REQUEST_STATUSES = [RequestStatus.PENDING, RequestStatus.WAITLISTED]


class VisitRequestQuerySet(models.QuerySet["VisitRequest"]):
    def visible_to(self, user: User) -> VisitRequestQuerySet:
        """The one access rule for visit requests: seen by the requester (on a showcase they
        may see) and by those who manage the showcase."""
        if not user.is_authenticated:
            return self.none()
        seen = self.filter(slot__showcase__in=Showcase.objects.visible_to(user))
        return seen.filter(Q(requester=user) | Q(slot__showcase__in=Showcase.objects.manageable_by(user)))

    def active(self) -> VisitRequestQuerySet:
        """Pending, approved or on the waiting list: the people told when a session changes or is cancelled."""
        return self.filter(status__in=ACTIVE_REQUEST_STATUSES)

    def approved(self) -> VisitRequestQuerySet:
        return self.filter(status=RequestStatus.APPROVED)

    def awaiting_decision_by(self, user: User) -> VisitRequestQuerySet:
        """Requests waiting for `user`'s decision: pending, for an upcoming session still on,
        of a published showcase they host or run (their inbox, the count in the navigation)."""
        if not can_host(user):
            return self.none()
        return self.filter(
            status=RequestStatus.PENDING,
            slot__cancelled_at__isnull=True,
            slot__starts_at__gt=timezone.now(),
            slot__showcase__in=Showcase.objects.run_by(user).published(),
        )

    def with_waitlist_place(self) -> VisitRequestQuerySet:
        """Annotate `waitlist_place`: for a request on the waiting list, its place in the order
        seats are offered (first come, first served, as services._promote_waitlist takes them)."""
        ahead = (
            VisitRequest.objects.filter(slot=OuterRef("slot"), status=RequestStatus.WAITLISTED)
            .filter(
                Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
            )
            .order_by()
            .values("slot")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(waitlist_place=Coalesce(Subquery(ahead), 0) + 1)


class VisitRequest(models.Model):
    slot = models.ForeignKey(VisitSlot, on_delete=models.CASCADE, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="visit_requests")
    seats = models.PositiveSmallIntegerField("party size", default=1, help_text="How many people, you included.")
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    message = models.TextField("what you hope to learn", blank=True)
    host_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    # iCalendar SEQUENCE for the visitor's calendar entry: raised on every change.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    attendance = models.CharField(
        max_length=10, choices=Attendance.choices, blank=True, default=Attendance.UNRECORDED, editable=False
    )
    # The one reminder to reflect, a few days after the visit: set when it is claimed, so never sent twice.
    reflection_reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Seated by the leader holding a principals' meeting, without asking.
    invited = models.BooleanField(default=False, editable=False)

    objects = VisitRequestQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="request_seats_positive"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="request_status_valid"),
            models.CheckConstraint(condition=Q(attendance__in=Attendance.values), name="request_attendance_valid"),
            models.UniqueConstraint(
                fields=["slot", "requester"],
                condition=Q(status__in=ACTIVE_REQUEST_STATUSES),
                name="request_one_active_per_person_and_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requester} → {self.slot} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REQUEST_STATUSES

    @property
    def is_waiting(self) -> bool:
        """Waiting for the host's decision: pending or on the waiting list."""
        return self.status in WAITING_REQUEST_STATUSES

    @property
    def is_approved(self) -> bool:
        return self.status == RequestStatus.APPROVED

    @property
    def is_waitlisted(self) -> bool:
        return self.status == RequestStatus.WAITLISTED

    @property
    def waitlist_position(self) -> int | None:
        """Its place on the waiting list (1 is offered the next seat), when it is on it and
        was read through VisitRequestQuerySet.with_waitlist_place."""
        place = getattr(self, "waitlist_place", None)
        return place if self.is_waitlisted and isinstance(place, int) else None

    @property
    def waitlist_place_label(self) -> str:
        """Where a waiting visitor stands, e.g. "2nd on the waiting list"."""
        place = self.waitlist_position
        return f"{ordinal(place)} on the waiting list" if place is not None else ""

    @property
    def attended(self) -> bool:
        return self.attendance == Attendance.ATTENDED

    @property
    def is_no_show(self) -> bool:
        return self.attendance == Attendance.NO_SHOW

    @property
    def reflection_open(self) -> bool:
        """A reflection is recorded once the approved visit has taken place."""
        return self.is_approved and self.slot.is_past

    def is_requested_by(self, user: User) -> bool:
        """Only the requester withdraws a request or reflects on the visit."""
        return user.pk == self.requester_id

    def can_decide(self, user: User) -> bool:
        """Those who manage the showcase approve or decline a request."""
        return self.slot.showcase.can_manage(user)

    @property
    def ical_uid(self) -> str:
        return f"showcase-visit-{self.pk}@{_ical_domain()}"


class VisitorReflection(models.Model):
    """After the visit: what a visitor noticed (evidence, not judgement) and what they will try."""

    visit_request = models.OneToOneField(VisitRequest, on_delete=models.CASCADE, related_name="reflection")
    noticed = models.TextField("what I noticed", help_text="Evidence you saw or heard, not judgement.")
    will_try = models.TextField("what I will try", blank=True)
    practice = models.ForeignKey(
        "practices.Practice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="linked practice",
    )
    # "I'm trying this": the adoption the reflection recorded, read on the debrief with its current status.
    adoption = models.ForeignKey(
        "practices.Adoption", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Reflection by {self.visit_request.requester}"


class SessionMessage(models.Model):
    """A message the host sent to everyone approved for a session: one e-mail each, kept for the record."""

    slot = models.ForeignKey(VisitSlot, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=150)
    body = models.TextField("message")
    recipients = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} ({self.slot})"


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A secret address for someone's personal calendar subscription; reset makes a new one."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    def reset(self) -> None:
        self.token = _new_token()
        self.created_at = timezone.now()
        self.save(update_fields=["token", "created_at"])


def with_visitor_count(slots: models.QuerySet[VisitSlot]) -> models.QuerySet[VisitSlot]:
    """Annotate `visitor_count`: each session's active requests (VisitRequestQuerySet.active),
    the people told if it is cancelled or changed."""
    return slots.annotate(
        visitor_count=models.Count("requests", filter=models.Q(requests__status__in=ACTIVE_REQUEST_STATUSES))
    )


def _ical_domain() -> str:
    return urlsplit(settings.PORTAL_BASE_URL).hostname or "portal"
