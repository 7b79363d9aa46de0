"""Visit workflows, each in one transaction.

Locks are always taken in one order, by every path that changes a showcase, its sessions
or their seats: first the showcase's row, then its sessions' rows by primary key, then
visit requests' rows by primary key (`_lock_showcase`, `_lock_slots`, `_lock_session`).
With one order no two paths can wait for each other (no deadlocks); with the showcase's
row first, requests, approvals, cancellations and the host's edits of one showcase take
turns, so a session's seat count is always read and written under its locks and no mix
of them can overbook it. Locking queries never join (`of=("self",)`), so they lock only
the rows named here. Seat counts change only with F() expressions under these locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.forms import BaseInlineFormSet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from portal.lib.mail import portal_email, send_quietly
from portal.models import User
from portal.naming import display_name
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from practices.models import AdoptionStatus, Practice
from practices.services import adoption_record
from showcases.calendar import visit_ics
from showcases.forms import (
    CANCELLED_SESSION,
    ShowcaseForm,
    VisitSlotForm,
    capacity_refusal,
    cohort_refusal,
    party_refusal,
    school_only_refusal,
    session_times_refusal,
    start_refusal,
)
from showcases.models import (
    ACTIVE_REQUEST_STATUSES,
    Attendance,
    RequestStatus,
    SessionMessage,
    Showcase,
    ShowcaseStatus,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
)
from showcases.signals import session_changed_send

# What a host may change about a session; its seat count, cancellation, calendar sequence
# and debrief belong to their own workflows and are never written by an edit.
SLOT_DETAILS = ("starts_at", "ends_at", "capacity", "location", "notes")


def _lock_showcase(showcase_id: int) -> Showcase:
    """The first lock of every change to a showcase, its sessions or their seats."""
    return Showcase.objects.select_for_update(no_key=True, of=("self",)).get(pk=showcase_id)


def _lock_slots(showcase: Showcase, **conditions: object) -> list[VisitSlot]:
    """A showcase's sessions, locked by primary key once the showcase is locked."""
    slots = list(
        VisitSlot.objects.select_for_update(no_key=True, of=("self",))
        .filter(showcase=showcase, **conditions)
        .order_by("pk")
    )
    for slot in slots:
        slot.showcase = showcase
    return slots


def _lock_session(slot_id: int) -> VisitSlot:
    """One session, locked after its showcase (whose row is attached, locked too)."""
    showcase_id = VisitSlot.objects.filter(pk=slot_id).values_list("showcase_id", flat=True).get()
    showcase = _lock_showcase(showcase_id)
    (slot,) = _lock_slots(showcase, pk=slot_id)
    return slot


def _lock_visit(visit: VisitRequest) -> VisitRequest:
    return VisitRequest.objects.select_for_update(no_key=True, of=("self",)).get(pk=visit.pk)


class Notice(Enum):
    """The visit e-mails: the template in templates/showcases/email/, the subject (with the
    showcase's title), whether it goes to the host (else to the visitor), and whether it
    carries the visit's calendar file."""

    REQUESTED = ("new_request", "New visit request for “{title}”", True, False)
    APPROVED = ("approved", "Your visit to “{title}” is confirmed", False, True)
    WAITLISTED = ("waitlisted", "You are on the waiting list for “{title}”", False, False)
    PROMOTED = ("promoted", "A seat opened up: your visit to “{title}” is confirmed", False, True)
    DECLINED = ("declined", "Your visit request for “{title}”", False, False)
    CANCELLED_BY_HOST = ("cancelled", "Cancelled: your visit to “{title}”", False, True)
    CANCELLED_BY_VISITOR = ("visitor_cancelled", "A visitor cancelled for “{title}”", True, False)
    REMINDER = ("reminder", "Tomorrow: your visit to “{title}”", False, False)
    DEBRIEF_INVITATION = ("debrief_invitation", "How was your visit to “{title}”?", False, False)
    SESSION_CHANGED = ("session_changed", "Changed: your visit to “{title}”", False, True)
    SESSION_CHANGED_WAITING = ("session_changed", "Changed: the session you asked to visit at “{title}”", False, False)
    MOVED_TO_WAITLIST = ("moved_to_waitlist", "Your seats for “{title}” moved to the waiting list", False, True)
    VISIT_CANCELLED = ("own_cancellation", "Cancelled as you asked: your visit to “{title}”", False, True)
    REQUEST_WITHDRAWN = ("own_cancellation", "Withdrawn as you asked: your request for “{title}”", False, False)
    MEETING_INVITATION = ("meeting_invitation", "Principals' meeting: your seat at “{title}”", False, True)
    MEETING_SCHEDULED = ("meeting_scheduled", "Your session of “{title}” is a principals' meeting", True, False)
    REFLECTION_REMINDER = ("reflection_reminder", "What did you notice at “{title}”?", False, False)

    def __init__(self, template: str, subject: str, to_host: bool, with_calendar: bool) -> None:
        self.template = template
        self.subject = subject
        self.to_host = to_host
        self.with_calendar = with_calendar


def _send(visit: VisitRequest, notice: Notice, extra: dict[str, object] | None = None) -> None:
    """Send `notice` about `visit` (its slot, showcase, host and requester loaded); `extra`
    goes into the e-mail's context (a reason, what changed)."""
    showcase = visit.slot.showcase
    context = {
        "visit": visit,
        "slot": visit.slot,
        "showcase": showcase,
        "portal_name": settings.PORTAL_NAME,
        "showcase_url": settings.PORTAL_BASE_URL + showcase.get_absolute_url(),
        "my_visits_url": settings.PORTAL_BASE_URL + reverse("showcases:my_visits"),
        "reflect_url": settings.PORTAL_BASE_URL + reverse("showcases:reflect", args=[visit.pk]),
        "debrief_url": settings.PORTAL_BASE_URL + reverse("showcases:debrief", args=[visit.slot_id]),
        **(extra or {}),
    }
    to = [showcase.host.email if notice.to_host else visit.requester.email]
    send_quietly(
        lambda: portal_email(
            notice.subject.format(title=showcase.title),
            render_to_string(f"showcases/email/{notice.template}.txt", context),
            to=to,
            attachments=[("visit.ics", visit_ics(visit), "text/calendar; charset=utf-8")]
            if notice.with_calendar
            else [],
        )
    )


def _with_people(visits: QuerySet[VisitRequest]) -> QuerySet[VisitRequest]:
    """What an e-mail about a visit reads: its session, showcase, host school, host and requester."""
    return visits.select_related(
        "slot", "slot__showcase", "slot__showcase__host", "slot__showcase__host_school", "requester"
    )


# The visit e-mails that are also notices in the visitor's list at /notifications/ (their
# e-mail is the visit e-mail itself, with its calendar file, so the notice sends none).
IN_APP_NOTICES: dict[Notice, NotificationKind] = {
    Notice.APPROVED: NotificationKind.REQUEST_DECISION,
    Notice.WAITLISTED: NotificationKind.REQUEST_DECISION,
    Notice.DECLINED: NotificationKind.REQUEST_DECISION,
    Notice.CANCELLED_BY_HOST: NotificationKind.REQUEST_DECISION,
    Notice.MOVED_TO_WAITLIST: NotificationKind.REQUEST_DECISION,
    Notice.SESSION_CHANGED: NotificationKind.REQUEST_DECISION,
    Notice.SESSION_CHANGED_WAITING: NotificationKind.REQUEST_DECISION,
    Notice.MEETING_INVITATION: NotificationKind.REQUEST_DECISION,
    Notice.PROMOTED: NotificationKind.WAITLIST_PROMOTION,
}


def _notify(visit: VisitRequest, notice: Notice, **extra: object) -> None:
    """Queue `notice` about `visit`, sent once the transaction commits; `extra` goes into the
    e-mail's context. A decision or change for the visitor is also a notice in their list."""
    visit = _with_people(VisitRequest.objects.filter(pk=visit.pk)).get()
    kind = IN_APP_NOTICES.get(notice)
    if kind is not None:
        notify(
            recipient=visit.requester,
            kind=kind,
            text=notice.subject.format(title=visit.slot.showcase.title),
            url=reverse("showcases:my_visits"),
            about=visit,
            email=False,
        )
    transaction.on_commit(lambda: _send(visit, notice, extra))


def _take_seats(slot: VisitSlot, visit: VisitRequest) -> bool:
    if slot.seats_left < visit.seats:
        return False
    VisitSlot.objects.filter(pk=slot.pk).update(seats_taken=F("seats_taken") + visit.seats, sequence=F("sequence") + 1)
    slot.seats_taken += visit.seats
    session_changed_send(slot)
    return True


def _promote_waitlist(slot: VisitSlot) -> list[int]:
    """Give freed seats to the waiting list, first come first served, skipping parties that do
    not fit; the requests seated, by primary key."""
    promoted: list[int] = []
    for waiting in slot.requests.filter(status=RequestStatus.WAITLISTED).order_by("created_at", "pk"):
        if slot.seats_left == 0:
            break
        if _take_seats(slot, waiting):
            waiting.status = RequestStatus.APPROVED
            waiting.decided_at = timezone.now()
            waiting.sequence += 1
            waiting.save(update_fields=["status", "decided_at", "sequence"])
            _notify(waiting, Notice.PROMOTED)
            promoted.append(waiting.pk)
    return promoted


def visit_request_create(*, slot: VisitSlot, requester: User, seats: int, message: str = "") -> VisitRequest:
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        showcase = slot.showcase
        errors: dict[str, str] = {}
        refusal = slot.request_refusal(requester)
        if refusal is not None:
            errors["__all__"] = refusal
        elif slot.requests.filter(requester=requester, status__in=ACTIVE_REQUEST_STATUSES).exists():
            errors["__all__"] = "You already have a request for this session."
        too_many = party_refusal(seats=seats, capacity=slot.capacity)
        if too_many is not None:
            errors["seats"] = too_many
        if errors:
            raise ValidationError(errors)
        visit = VisitRequest(slot=slot, requester=requester, seats=seats, message=message)
        waitlisted = slot.seats_left < seats or slot.requests.filter(status=RequestStatus.WAITLISTED).exists()
        if waitlisted:
            visit.status = RequestStatus.WAITLISTED
        elif showcase.auto_approve:
            visit.status = RequestStatus.APPROVED
            visit.decided_at = timezone.now()
            visit.sequence = 1
        visit.save()
        if visit.is_approved:
            _take_seats(slot, visit)
            _notify(visit, Notice.APPROVED)
        elif visit.is_waitlisted:
            _notify(visit, Notice.WAITLISTED)
        _notify(visit, Notice.REQUESTED)
    return visit


def visit_request_approve(*, visit: VisitRequest, note: str = "") -> VisitRequest:
    with transaction.atomic():
        slot = _lock_session(visit.slot_id)
        visit = _lock_visit(visit)
        if not visit.is_waiting:
            raise ValidationError("Only a waiting request can be approved.")
        if not slot.takes_decisions:
            raise ValidationError(
                "This session is no longer open: it has started, or it or its showcase was cancelled."
            )
        visit.host_note = note or visit.host_note
        if _take_seats(slot, visit):
            visit.status = RequestStatus.APPROVED
            visit.decided_at = timezone.now()
            visit.sequence += 1
            visit.save(update_fields=["status", "decided_at", "host_note", "sequence"])
            _notify(visit, Notice.APPROVED)
        elif visit.status == RequestStatus.PENDING:
            visit.status = RequestStatus.WAITLISTED
            visit.save(update_fields=["status", "host_note"])
            _notify(visit, Notice.WAITLISTED)
    return visit


def visit_request_decline(*, visit: VisitRequest, note: str) -> VisitRequest:
    with transaction.atomic():
        _lock_session(visit.slot_id)
        visit = _lock_visit(visit)
        if not visit.is_waiting:
            raise ValidationError("Only a waiting request can be declined.")
        visit.status = RequestStatus.DECLINED
        visit.host_note = note
        visit.decided_at = timezone.now()
        visit.save(update_fields=["status", "host_note", "decided_at"])
        _notify(visit, Notice.DECLINED)
    return visit


def visit_request_cancel(*, visit: VisitRequest, reason: str = "") -> VisitRequest:
    """The visitor withdraws; an approved party's seats go to the waiting list. The host is
    told (with the visitor's reason, if they gave one), and the visitor gets a copy; one who
    held a seat gets the cancellation of the event in their calendar."""
    with transaction.atomic():
        slot = _lock_session(visit.slot_id)
        visit = _lock_visit(visit)
        if not visit.is_active:
            raise ValidationError("This request is no longer active.")
        was_approved = visit.is_approved
        visit.status = RequestStatus.CANCELLED
        visit.sequence += 1
        visit.save(update_fields=["status", "sequence"])
        if was_approved:
            VisitSlot.objects.filter(pk=slot.pk).update(
                seats_taken=F("seats_taken") - visit.seats, sequence=F("sequence") + 1
            )
            slot.seats_taken -= visit.seats
            session_changed_send(slot)
            _promote_waitlist(slot)
        _notify(visit, Notice.CANCELLED_BY_VISITOR, reason=reason)
        _notify(
            visit,
            Notice.VISIT_CANCELLED if was_approved else Notice.REQUEST_WITHDRAWN,
            reason=reason,
            had_seat=was_approved,
        )
    return visit


def _cancel_locked_slot(slot: VisitSlot, reason: str = "") -> None:
    """Cancel a session whose showcase and own row are locked; everyone with an active request
    is told, with the host's reason if they gave one."""
    affected = list(slot.requests.filter(status__in=ACTIVE_REQUEST_STATUSES).order_by("pk"))
    VisitSlot.objects.filter(pk=slot.pk).update(cancelled_at=timezone.now(), seats_taken=0, sequence=F("sequence") + 1)
    session_changed_send(slot)
    for visit in affected:
        visit.status = RequestStatus.CANCELLED
        visit.sequence += 1
        visit.save(update_fields=["status", "sequence"])
        _notify(visit, Notice.CANCELLED_BY_HOST, reason=reason)


def slot_cancel(*, slot: VisitSlot, reason: str = "") -> VisitSlot:
    """The host cancels a session: everyone with an active request is told."""
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        if not slot.is_cancelled:
            _cancel_locked_slot(slot, reason)
            slot.refresh_from_db()
    return slot


def showcase_cancel(*, showcase: Showcase, reason: str = "") -> Showcase:
    """Cancel the showcase and its upcoming sessions; everyone with a request for one is told."""
    with transaction.atomic():
        showcase = _lock_showcase(showcase.pk)
        if showcase.is_cancelled:
            return showcase
        for slot in _lock_slots(showcase, cancelled_at__isnull=True, starts_at__gt=timezone.now()):
            _cancel_locked_slot(slot, reason)
        showcase.status = ShowcaseStatus.CANCELLED
        showcase.save(update_fields=["status", "updated_at"])
    return showcase


def _slot_problems(
    slot: VisitSlot, changes: dict[str, object], *, freed: int = 0, choosing: bool = False
) -> dict[str, str]:
    """What stops these changes to a locked session, checked against its current row: the
    form saw the row as it was before the lock, and a concurrent approval or edit may have
    changed it since. `freed`: the seats of approved parties chosen to move to the waiting
    list; `choosing`: whether the form lets the host choose them."""
    if not changes:
        return {}
    if slot.is_cancelled:
        return {"__all__": CANCELLED_SESSION}
    problems: dict[str, str] = {}
    capacity = changes.get("capacity", slot.capacity)
    if isinstance(capacity, int):
        refusal = capacity_refusal(taken=slot.seats_taken, capacity=capacity, freed=freed, choosing=choosing)
        if refusal is not None:
            problems["capacity"] = refusal
    starts, ends = changes.get("starts_at", slot.starts_at), changes.get("ends_at", slot.ends_at)
    too_early = start_refusal(starts) if "starts_at" in changes and isinstance(starts, datetime) else None
    if too_early is not None:
        problems["starts_at"] = too_early
    times = session_times_refusal(starts, ends) if isinstance(starts, datetime) and isinstance(ends, datetime) else None
    if times is not None:
        problems["ends_at" if "ends_at" in changes else "starts_at"] = times
    return problems


# The details a visitor's calendar event shows: a change to one updates the event.
EVENT_DETAILS = {"starts_at", "ends_at", "location", "notes"}
DETAIL_LABELS = {"starts_at": "Starts", "ends_at": "Ends", "capacity": "Seats", "location": "Where", "notes": "Notes"}


def _detail_text(name: str, value: object) -> str:
    """A session detail as the e-mail about a change shows it."""
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "D, M j, Y, g:i a T")
    if name == "capacity":
        return f"{value} seat{'' if value == 1 else 's'}"
    return " ".join(str(value).split()) or "(none)"


def _describe_changes(slot: VisitSlot, changes: dict[str, object]) -> list[tuple[str, str, str]]:
    """What changed, as (label, before, after), in the order the form shows the details."""
    return [
        (DETAIL_LABELS[name], _detail_text(name, getattr(slot, name)), _detail_text(name, changes[name]))
        for name in SLOT_DETAILS
        if name in changes and getattr(slot, name) != changes[name]
    ]


def _write_slot(slot: VisitSlot, changes: dict[str, object], moving: list[VisitRequest] | None = None) -> None:
    """Write only the changed details of a locked session, and tell its visitors what changed.

    Its calendar sequence (and its approved visitors') is raised so calendars take the new
    details: approved visitors get the update of the event already in their calendar, those
    waiting an e-mail saying what changed. Approved parties the host chose to move (`moving`,
    locked) go to the waiting list, with the cancellation for their calendar; seats added go
    to the waiting list in order."""
    moving = moving or []
    described = _describe_changes(slot, changes)
    told = list(
        slot.requests.filter(status__in=ACTIVE_REQUEST_STATUSES).exclude(pk__in=[v.pk for v in moving]).order_by("pk")
    )
    freed = 0
    for visit in moving:
        visit.status = RequestStatus.WAITLISTED
        visit.sequence += 1
        visit.save(update_fields=["status", "sequence"])
        freed += visit.seats
    VisitSlot.objects.filter(pk=slot.pk).update(
        **changes, seats_taken=F("seats_taken") - freed, sequence=F("sequence") + 1
    )
    starts_before = slot.starts_at
    for name, value in changes.items():
        setattr(slot, name, value)
    slot.seats_taken -= freed
    session_changed_send(slot, starts_before=starts_before if slot.starts_at != starts_before else None)
    event_changed = bool(EVENT_DETAILS & changes.keys())
    if event_changed:
        slot.requests.filter(status=RequestStatus.APPROVED).update(sequence=F("sequence") + 1)
    promoted = set(_promote_waitlist(slot)) if "capacity" in changes and not moving else set()
    for visit in moving:
        _notify(visit, Notice.MOVED_TO_WAITLIST)
    if not described:
        return
    for visit in told:
        if visit.pk in promoted:
            continue  # their confirmation shows the new details
        if visit.is_approved:
            if event_changed:
                _notify(visit, Notice.SESSION_CHANGED, changes=described)
        else:
            _notify(visit, Notice.SESSION_CHANGED_WAITING, changes=described)


def _lock_moving(slot: VisitSlot, slot_form: VisitSlotForm) -> list[VisitRequest]:
    """The approved parties of a locked session the host chose to move to the waiting list,
    locked (after every session of the showcase), as they stand now."""
    chosen = [visit.pk for visit in slot_form.cleaned_data.get("to_waitlist") or []]
    if not chosen:
        return []
    return list(
        VisitRequest.objects.select_for_update(no_key=True, of=("self",))
        .filter(slot=slot, status=RequestStatus.APPROVED, pk__in=chosen)
        .order_by("pk")
    )


def _remove_locked_slot(slot: VisitSlot) -> None:
    """A session the host removed from the form: one that never had a request is deleted;
    one with visitors is cancelled, and they are told."""
    if not slot.requests.exists():
        slot.delete()
    elif not slot.is_cancelled:
        _cancel_locked_slot(slot)


def _changed_details(form: VisitSlotForm) -> dict[str, object]:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in SLOT_DETAILS}


def slot_details_check(*, slot_id: int, changes: dict[str, object]) -> dict[str, str]:
    """Lock a session (its showcase first) until the caller's transaction ends, and say what
    stops these changes to its details, by field. For forms that validate and save in one
    transaction, such as the admin's: checked here, the changes cannot be stopped later."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("slot_details_check holds its locks for the caller's transaction; call it inside one.")
    return _slot_problems(_lock_session(slot_id), changes)


def slot_details_save(*, slot_id: int, changes: dict[str, object]) -> VisitSlot:
    """Change a session's details (SLOT_DETAILS only) under its locks, never its seats,
    cancellation or sequence as read before; ValidationError by field if they cannot be."""
    unknown = changes.keys() - set(SLOT_DETAILS)
    if unknown:
        raise ValueError(f"Not a session detail: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        slot = _lock_session(slot_id)
        problems = _slot_problems(slot, changes)
        if problems:
            raise ValidationError({field: [problem] for field, problem in problems.items()})
        if changes:
            _write_slot(slot, changes)
            slot.refresh_from_db()
    return slot


def showcase_save(
    *, form: ShowcaseForm, slots: BaseInlineFormSet[VisitSlot, Showcase, VisitSlotForm], user: User, publish: bool
) -> Showcase:
    """Save the one-page questionnaire and its sessions: a new showcase, or the host's edit.

    An edit writes only the fields the host changed, under the showcase's lock and then its
    sessions' locks (the order every booking path takes), and never a session's seat count,
    cancellation or sequence as read before: an edit racing with approvals, cancellations
    and other edits neither overbooks a session, nor undoes a cancellation, nor brings back
    values someone else has changed. What only the lock can tell (a capacity below the
    seats taken by now, a session cancelled meanwhile) is added to the forms as errors and
    ValidationError is raised, with nothing saved.

    Every visitor of a session whose details change is told (_write_slot). A session the host
    removed is deleted if it never had a request, and cancelled with notices if it had; the
    approved parties the host chose to move to the waiting list, when cutting seats below
    those approved, are locked and counted again under the same locks.
    """
    with transaction.atomic():
        if form.instance.pk is None:
            return _showcase_create(form=form, slots=slots, user=user, publish=publish)
        showcase = _lock_showcase(form.instance.pk)
        current = {slot.pk: slot for slot in _lock_slots(showcase)}
        if showcase.is_cancelled:
            form.add_error(None, "This showcase has been cancelled, so it can no longer be changed.")
        edits: list[tuple[VisitSlot, dict[str, object], list[VisitRequest]]] = []
        added: list[VisitSlotForm] = []
        removed: list[VisitSlot] = []
        deleted = slots.deleted_forms
        for slot_form in slots.forms:
            if not slot_form.has_changed():
                continue
            if slot_form.instance.pk is None:
                added.append(slot_form)
                continue
            slot = current.get(slot_form.instance.pk)
            if slot_form in deleted:
                if slot is not None:
                    removed.append(slot)
                continue
            if slot is None:
                slot_form.add_error(None, "This session has been removed meanwhile.")
                continue
            changes = _changed_details(slot_form)
            moving = _lock_moving(slot, slot_form) if "capacity" in changes else []
            problems = _slot_problems(slot, changes, freed=sum(visit.seats for visit in moving), choosing=True)
            for field, problem in problems.items():
                slot_form.add_error(None if field == "__all__" else field, problem)
            edits.append((slot, changes, moving))
        _check_practices(form)
        if not form.is_valid() or not slots.is_valid():
            raise ValidationError("The showcase changed meanwhile; see the marked fields.")
        fields = [name for name in form.changed_data if name in form.DETAILS]
        for name in fields:
            setattr(showcase, name, form.cleaned_data[name])
        if "host_school" in form.changed_data:
            showcase.host_school = form.cleaned_data["host_school"]
            fields.append("host_school")
        if publish and showcase.is_draft:
            showcase.status = ShowcaseStatus.PUBLISHED
            fields.append("status")
        showcase.save(update_fields=[*fields, "updated_at"])
        if "practices" in form.changed_data:
            _change_practices(showcase, form)
        for slot in removed:
            _remove_locked_slot(slot)
        for slot, changes, moving in edits:
            if changes:
                _write_slot(slot, changes, moving)
        for slot_form in added:
            slot_form.instance.showcase = showcase
            slot_form.save()
    return showcase


def _showcase_create(
    *, form: ShowcaseForm, slots: BaseInlineFormSet[VisitSlot, Showcase, VisitSlotForm], user: User, publish: bool
) -> Showcase:
    _check_practices(form)
    if not form.is_valid():
        raise ValidationError("An entry chosen can no longer be linked; see the marked field.")
    showcase: Showcase = form.save(commit=False)
    # Its author hosts it, at their own school unless they chose one (as a district leader does).
    showcase.host = user
    if "host_school" in form.cleaned_data:
        showcase.host_school = form.cleaned_data["host_school"]
    elif user.school_id is not None:
        showcase.host_school_id = user.school_id
    showcase.status = ShowcaseStatus.PUBLISHED if publish else ShowcaseStatus.DRAFT
    showcase.save()
    form.save_m2m()
    slots.instance = showcase
    slots.save()
    return showcase


def _check_practices(form: ShowcaseForm) -> None:
    """Every entry linked to a showcase is one every visitor may open: published and shared with
    the whole district. The form offers only those; an entry made school-only since the page
    was shown is refused here, saying why, next to the field."""
    chosen = form.cleaned_data.get("practices")
    if not chosen:
        return
    open_to_all = set(Practice.objects.visible_to_all_at(None).published().values_list("pk", flat=True))
    refused = sorted(practice.title for practice in chosen if practice.pk not in open_to_all)
    if refused:
        form.add_error("practices", school_only_refusal(refused))


def _change_practices(showcase: Showcase, form: ShowcaseForm) -> None:
    """Link and unlink what the host ticked and unticked, leaving links others made meanwhile."""
    chosen = {practice.pk for practice in form.cleaned_data["practices"]}
    before = form.practices_before()
    if before is None:
        showcase.practices.set(chosen)
        return
    linked = set(showcase.practices.values_list("pk", flat=True))
    showcase.practices.add(*(chosen - before - linked))
    # Only links that exist: `before` comes from the browser.
    showcase.practices.remove(*((before - chosen) & linked))


def meeting_schedule(*, slot: VisitSlot, convener: User, principals: list[User], note: str = "") -> list[VisitRequest]:
    """Hold a session as a principals' meeting: seat every principal invited, without their
    asking (an approved visit each, one seat; a request of theirs already waiting is
    approved), all or none, within the seats left under the session's lock, so the cohort
    never overbooks it. The invitees get the calendar invitation (with `note`), and the host
    is told who comes. Principals already seated are left as they are; the visits seated now
    are returned."""
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        if not slot.can_convene(convener):
            raise ValidationError(
                {
                    "__all__": "This session can no longer be held as a principals' meeting: it has started, "
                    "or it or its showcase was cancelled."
                }
            )
        chosen = {principal.pk for principal in principals}
        invitable = set(slot.meeting_candidates().filter(pk__in=chosen).values_list("pk", flat=True))
        if chosen - invitable:
            raise ValidationError(
                {"principals": "Only active principals of other schools than the host's can be invited."}
            )
        current = {
            visit.requester_id: visit
            for visit in VisitRequest.objects.select_for_update(no_key=True, of=("self",))
            .filter(slot=slot, requester_id__in=chosen, status__in=ACTIVE_REQUEST_STATUSES)
            .order_by("pk")
        }
        visits = [
            current.get(pk) or VisitRequest(slot=slot, requester_id=pk, seats=1)
            for pk in sorted(chosen)
            if pk not in current or not current[pk].is_approved
        ]
        needed = sum(visit.seats for visit in visits)
        if needed > slot.seats_left:
            raise ValidationError(
                {"principals": cohort_refusal(needed=needed, seats_left=slot.seats_left, capacity=slot.capacity)}
            )
        now = timezone.now()
        for visit in visits:
            visit.status = RequestStatus.APPROVED
            visit.invited = True
            visit.decided_at = now
            visit.sequence += 1
            visit.save()
            _take_seats(slot, visit)
        if not slot.is_principals_meeting:
            VisitSlot.objects.filter(pk=slot.pk).update(meeting_convener=convener)
            slot.meeting_convener = convener
        convener_name = display_name(convener)
        for visit in visits:
            _notify(visit, Notice.MEETING_INVITATION, note=note, convener=convener_name)
        if visits:
            named = {principal.pk: principal for principal in principals}
            cohort = [_name_with_school(named[visit.requester_id]) for visit in visits]
            _notify(visits[0], Notice.MEETING_SCHEDULED, convener=convener_name, cohort=cohort)
    return visits


def _name_with_school(person: User) -> str:
    return f"{display_name(person)}, {person.school.name}" if person.school else display_name(person)


DEBRIEF_NOT_YET = "The debrief opens once the session has started."


def slot_debrief(*, slot: VisitSlot, notes: str) -> VisitSlot:
    """Write a session's debrief notes, from its start on."""
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        if not slot.is_past:
            raise ValidationError(DEBRIEF_NOT_YET)
        slot.debrief_notes = notes
        slot.debriefed_at = timezone.now()
        slot.save(update_fields=["debrief_notes", "debriefed_at"])
    return slot


def reflection_save(
    *, visit: VisitRequest, noticed: str, will_try: str, practice: Practice | None, trying: bool
) -> VisitorReflection:
    """A visitor's reflection; "I'm trying this" also records an Adoption of the linked practice."""
    with transaction.atomic():
        reflection, _created = VisitorReflection.objects.update_or_create(
            visit_request=visit, defaults={"noticed": noticed, "will_try": will_try, "practice": practice}
        )
        if trying and practice is not None and practice.author_id != visit.requester_id:
            adoption = adoption_record(
                practice=practice, user=visit.requester, status=AdoptionStatus.TRYING, notes=will_try
            )
            if reflection.adoption_id != adoption.pk:
                reflection.adoption = adoption
                reflection.save(update_fields=["adoption"])
    return reflection


def reminders_send(*, now: datetime | None = None) -> tuple[int, int]:
    """Reminders the day before a visit, and debrief invitations after it. Safe to run twice:
    each one is claimed with a conditional update before it is sent, so nothing goes out twice.
    The claim commits before the mail goes out, so no row stays locked while a mail server answers."""
    now = now or timezone.now()
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    reminders = 0
    due = VisitRequest.objects.filter(
        status=RequestStatus.APPROVED,
        reminder_sent_at__isnull=True,
        slot__cancelled_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__date__lte=tomorrow,
    ).values_list("pk", flat=True)
    for pk in list(due):
        if VisitRequest.objects.filter(pk=pk, reminder_sent_at__isnull=True).update(reminder_sent_at=now) != 1:
            continue
        _send(_with_people(VisitRequest.objects.filter(pk=pk)).get(), Notice.REMINDER)
        reminders += 1
    invitations = 0
    ended = VisitSlot.objects.filter(
        ends_at__lte=now, cancelled_at__isnull=True, debrief_invites_sent_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(ended):
        if (
            VisitSlot.objects.filter(pk=pk, debrief_invites_sent_at__isnull=True).update(debrief_invites_sent_at=now)
            != 1
        ):
            continue
        for visit in _with_people(VisitRequest.objects.filter(slot_id=pk, status=RequestStatus.APPROVED)):
            _send(visit, Notice.DEBRIEF_INVITATION)
            invitations += 1
    return reminders, invitations


# A visitor who has not reflected is reminded once, this long after the visit ended, and not
# for visits older than REFLECTION_REMINDER_UNTIL (say, when the reminders are first switched on).
REFLECTION_REMINDER_AFTER = timedelta(days=3)
REFLECTION_REMINDER_UNTIL = timedelta(days=30)


def reflection_reminders_send(*, now: datetime | None = None) -> int:
    """Remind approved visitors who have not reflected, a few days after the visit, once each
    (not those checked in as no-shows). Each reminder is claimed with a conditional update
    that commits before the mail goes out, so running this twice, or on two machines at
    once, sends each reminder once."""
    now = now or timezone.now()
    due = VisitRequest.objects.filter(
        status=RequestStatus.APPROVED,
        reflection_reminder_sent_at__isnull=True,
        reflection__isnull=True,
        slot__cancelled_at__isnull=True,
        slot__ends_at__lte=now - REFLECTION_REMINDER_AFTER,
        slot__ends_at__gt=now - REFLECTION_REMINDER_UNTIL,
    ).exclude(attendance=Attendance.NO_SHOW)
    sent = 0
    for pk in list(due.values_list("pk", flat=True)):
        claimed = VisitRequest.objects.filter(pk=pk, reflection_reminder_sent_at__isnull=True).update(
            reflection_reminder_sent_at=now
        )
        if claimed != 1:
            continue
        _send(_with_people(VisitRequest.objects.filter(pk=pk)).get(), Notice.REFLECTION_REMINDER)
        sent += 1
    return sent


def slot_attendance_record(*, slot: VisitSlot, marks: Mapping[int, Attendance]) -> VisitSlot:
    """Check visitors in: attended, no-show or not recorded, for approved visits of the session
    (`marks` by visit request). The session keeps the seats of the parties who came, and when
    its attendance was first taken, which the district dashboard counts as seats filled."""
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        if not slot.check_in_open:
            raise ValidationError(
                "This session was cancelled." if slot.is_cancelled else "Check-in opens on the day of the session."
            )
        visits = list(
            VisitRequest.objects.select_for_update(no_key=True, of=("self",))
            .filter(slot=slot, status=RequestStatus.APPROVED, pk__in=list(marks))
            .order_by("pk")
        )
        for visit in visits:
            if visit.attendance != marks[visit.pk]:
                visit.attendance = marks[visit.pk]
                visit.save(update_fields=["attendance"])
        approved = VisitRequest.objects.filter(slot=slot, status=RequestStatus.APPROVED)
        recorded = approved.exclude(attendance=Attendance.UNRECORDED).exists()
        attended = approved.filter(attendance=Attendance.ATTENDED).aggregate(seats=Sum("seats"))["seats"] or 0
        taken_at = (slot.attendance_taken_at or timezone.now()) if recorded else None
        VisitSlot.objects.filter(pk=slot.pk).update(attendance_taken_at=taken_at, seats_attended=attended)
        slot.attendance_taken_at, slot.seats_attended = taken_at, attended
        session_changed_send(slot)
    return slot


def _send_session_message(message: SessionMessage, visit: VisitRequest) -> None:
    showcase = visit.slot.showcase
    context = {
        "message": message,
        "visit": visit,
        "slot": visit.slot,
        "showcase": showcase,
        "portal_name": settings.PORTAL_NAME,
        "showcase_url": settings.PORTAL_BASE_URL + showcase.get_absolute_url(),
    }
    send_quietly(
        lambda: portal_email(
            f"{message.subject} — “{showcase.title}”",
            render_to_string("showcases/email/session_message.txt", context),
            to=[visit.requester.email],
        )
    )


def slot_message_send(*, slot: VisitSlot, sender: User, subject: str, body: str) -> SessionMessage:
    """Write to everyone approved for a session: one e-mail each (nobody sees the others'
    addresses), sent once the message is recorded."""
    with transaction.atomic():
        slot = _lock_session(slot.pk)
        if slot.is_cancelled:
            raise ValidationError("This session was cancelled; its visitors have been told.")
        visits = list(_with_people(VisitRequest.objects.filter(slot=slot, status=RequestStatus.APPROVED)))
        if not visits:
            raise ValidationError("Nobody is approved for this session yet, so there is nobody to write to.")
        message = SessionMessage.objects.create(
            slot=slot, sender=sender, subject=subject, body=body, recipients=len(visits)
        )
        for visit in visits:
            transaction.on_commit(partial(_send_session_message, message, visit))
    return message
