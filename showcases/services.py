"""Visit workflows. Every change to a session's seats happens inside one transaction
holding the session's row lock (SELECT … FOR UPDATE on PostgreSQL), so concurrent
requests, approvals and cancellations can never overbook it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.mail import send_quietly
from portal.models import User
from showcases.calendar import visit_ics
from showcases.models import (
    ACTIVE_REQUEST_STATUSES,
    RequestStatus,
    Showcase,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
)


def _locked_slot(slot_id: int) -> VisitSlot:
    return (
        VisitSlot.objects.select_for_update()
        .select_related("showcase", "showcase__host_school", "showcase__host")
        .get(pk=slot_id)
    )


def _send(visit: VisitRequest, template: str, subject: str, *, to: list[str], with_calendar: bool = False) -> None:
    context = {
        "visit": visit,
        "slot": visit.slot,
        "showcase": visit.slot.showcase,
        "portal_name": settings.PORTAL_NAME,
        "showcase_url": settings.PORTAL_BASE_URL + visit.slot.showcase.get_absolute_url(),
        "my_visits_url": settings.PORTAL_BASE_URL + reverse("showcases:my_visits"),
        "reflect_url": settings.PORTAL_BASE_URL + reverse("showcases:reflect", args=[visit.pk]),
    }
    message = EmailMessage(subject, render_to_string(f"showcases/email/{template}.txt", context), to=to)
    if with_calendar:
        message.attach("visit.ics", visit_ics(visit), "text/calendar; charset=utf-8")
    send_quietly(message)


def _notify(visit: VisitRequest, event: str) -> None:
    """Queue the e-mail for `event`, sent once the transaction commits."""
    visit = VisitRequest.objects.select_related(
        "slot", "slot__showcase", "slot__showcase__host", "slot__showcase__host_school", "requester"
    ).get(pk=visit.pk)
    title = visit.slot.showcase.title
    requester = [visit.requester.email]
    messages = {
        "requested": ("new_request", f"New visit request for “{title}”", [visit.slot.showcase.host.email], False),
        "approved": ("approved", f"Your visit to “{title}” is confirmed", requester, True),
        "waitlisted": ("waitlisted", f"You are on the waiting list for “{title}”", requester, False),
        "promoted": ("promoted", f"A seat opened up: your visit to “{title}” is confirmed", requester, True),
        "declined": ("declined", f"Your visit request for “{title}”", requester, False),
        "cancelled_by_host": ("cancelled", f"Cancelled: your visit to “{title}”", requester, True),
        "cancelled_by_visitor": (
            "visitor_cancelled",
            f"A visitor cancelled for “{title}”",
            [visit.slot.showcase.host.email],
            False,
        ),
    }
    template, subject, to, with_calendar = messages[event]
    transaction.on_commit(lambda: _send(visit, template, subject, to=to, with_calendar=with_calendar))


def _take_seats(slot: VisitSlot, visit: VisitRequest) -> bool:
    if slot.seats_left < visit.seats:
        return False
    VisitSlot.objects.filter(pk=slot.pk).update(seats_taken=F("seats_taken") + visit.seats, sequence=F("sequence") + 1)
    slot.seats_taken += visit.seats
    return True


def _promote_waitlist(slot: VisitSlot) -> None:
    """Give freed seats to the waiting list, first come first served, skipping parties that do not fit."""
    for waiting in slot.requests.filter(status=RequestStatus.WAITLISTED).order_by("created_at", "pk"):
        if slot.seats_left == 0:
            break
        if _take_seats(slot, waiting):
            waiting.status = RequestStatus.APPROVED
            waiting.decided_at = timezone.now()
            waiting.sequence += 1
            waiting.save(update_fields=["status", "decided_at", "sequence"])
            _notify(waiting, "promoted")


def visit_request_create(*, slot: VisitSlot, requester: User, seats: int, message: str = "") -> VisitRequest:
    with transaction.atomic():
        slot = _locked_slot(slot.pk)
        showcase = slot.showcase
        errors: dict[str, str] = {}
        if showcase.status != "published" or slot.is_cancelled:
            errors["__all__"] = "This session is not open for requests."
        elif slot.is_past:
            errors["__all__"] = "This session has already started; requests are closed."
        elif requester.pk == showcase.host_id or (
            requester.school_id and requester.school_id == showcase.host_school_id
        ):
            errors["__all__"] = "This is your own school's showcase."
        elif slot.requests.filter(requester=requester, status__in=ACTIVE_REQUEST_STATUSES).exists():
            errors["__all__"] = "You already have a request for this session."
        if seats > slot.capacity:
            errors["seats"] = f"This session has {slot.capacity} seat{'s' if slot.capacity != 1 else ''} in all."
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
        if visit.status == RequestStatus.APPROVED:
            _take_seats(slot, visit)
            _notify(visit, "approved")
        elif visit.status == RequestStatus.WAITLISTED:
            _notify(visit, "waitlisted")
        _notify(visit, "requested")
    return visit


def visit_request_approve(*, visit: VisitRequest, note: str = "") -> VisitRequest:
    with transaction.atomic():
        slot = _locked_slot(visit.slot_id)
        visit = VisitRequest.objects.select_for_update().get(pk=visit.pk)
        if visit.status not in (RequestStatus.PENDING, RequestStatus.WAITLISTED):
            raise ValidationError("Only a waiting request can be approved.")
        visit.host_note = note or visit.host_note
        if _take_seats(slot, visit):
            visit.status = RequestStatus.APPROVED
            visit.decided_at = timezone.now()
            visit.sequence += 1
            visit.save(update_fields=["status", "decided_at", "host_note", "sequence"])
            _notify(visit, "approved")
        elif visit.status == RequestStatus.PENDING:
            visit.status = RequestStatus.WAITLISTED
            visit.save(update_fields=["status", "host_note"])
            _notify(visit, "waitlisted")
    return visit


def visit_request_decline(*, visit: VisitRequest, note: str) -> VisitRequest:
    with transaction.atomic():
        _locked_slot(visit.slot_id)
        visit = VisitRequest.objects.select_for_update().get(pk=visit.pk)
        if visit.status not in (RequestStatus.PENDING, RequestStatus.WAITLISTED):
            raise ValidationError("Only a waiting request can be declined.")
        visit.status = RequestStatus.DECLINED
        visit.host_note = note
        visit.decided_at = timezone.now()
        visit.save(update_fields=["status", "host_note", "decided_at"])
        _notify(visit, "declined")
    return visit


def visit_request_cancel(*, visit: VisitRequest) -> VisitRequest:
    """The visitor withdraws; an approved party's seats go to the waiting list."""
    with transaction.atomic():
        slot = _locked_slot(visit.slot_id)
        visit = VisitRequest.objects.select_for_update().get(pk=visit.pk)
        if not visit.is_active:
            raise ValidationError("This request is no longer active.")
        was_approved = visit.status == RequestStatus.APPROVED
        visit.status = RequestStatus.CANCELLED
        visit.sequence += 1
        visit.save(update_fields=["status", "sequence"])
        if was_approved:
            VisitSlot.objects.filter(pk=slot.pk).update(
                seats_taken=F("seats_taken") - visit.seats, sequence=F("sequence") + 1
            )
            slot.seats_taken -= visit.seats
            _promote_waitlist(slot)
        _notify(visit, "cancelled_by_visitor")
    return visit


def slot_cancel(*, slot: VisitSlot) -> VisitSlot:
    """The host cancels a session: everyone with an active request is told."""
    with transaction.atomic():
        slot = _locked_slot(slot.pk)
        if slot.is_cancelled:
            return slot
        affected = list(slot.requests.filter(status__in=ACTIVE_REQUEST_STATUSES))
        VisitSlot.objects.filter(pk=slot.pk).update(
            cancelled_at=timezone.now(), seats_taken=0, sequence=F("sequence") + 1
        )
        for visit in affected:
            visit.status = RequestStatus.CANCELLED
            visit.sequence += 1
            visit.save(update_fields=["status", "sequence"])
            _notify(visit, "cancelled_by_host")
        slot.refresh_from_db()
    return slot


def showcase_cancel(*, showcase: Showcase) -> Showcase:
    with transaction.atomic():
        for slot in showcase.slots.filter(cancelled_at__isnull=True, starts_at__gt=timezone.now()):
            slot_cancel(slot=slot)
        showcase.status = "cancelled"
        showcase.save(update_fields=["status", "updated_at"])
    return showcase


def slot_debrief(*, slot: VisitSlot, notes: str) -> VisitSlot:
    slot.debrief_notes = notes
    slot.debriefed_at = timezone.now()
    slot.save(update_fields=["debrief_notes", "debriefed_at"])
    return slot


def reflection_save(*, visit: VisitRequest, noticed: str, will_try: str, practice, trying: bool) -> VisitorReflection:  # type: ignore[no-untyped-def]
    """A visitor's reflection; "I'm trying this" also records an Adoption of the linked practice."""
    from practices.services import adoption_record

    with transaction.atomic():
        reflection, _created = VisitorReflection.objects.update_or_create(
            visit_request=visit, defaults={"noticed": noticed, "will_try": will_try, "practice": practice}
        )
        if trying and practice is not None and practice.author_id != visit.requester_id:
            adoption_record(practice=practice, user=visit.requester, status="trying", notes=will_try)
    return reflection


def reminders_send(*, now=None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Reminders the day before a visit, and debrief invitations after it. Safe to run twice:
    each one is claimed with a conditional update before it is sent, so nothing goes out twice."""
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
        with transaction.atomic():
            if VisitRequest.objects.filter(pk=pk, reminder_sent_at__isnull=True).update(reminder_sent_at=now) != 1:
                continue
            visit = VisitRequest.objects.select_related(
                "slot__showcase__host_school", "slot__showcase__host", "requester"
            ).get(pk=pk)
            _send(
                visit, "reminder", f"Tomorrow: your visit to “{visit.slot.showcase.title}”", to=[visit.requester.email]
            )
            reminders += 1
    invitations = 0
    ended = VisitSlot.objects.filter(
        ends_at__lte=now, cancelled_at__isnull=True, debrief_invites_sent_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(ended):
        with transaction.atomic():
            if (
                VisitSlot.objects.filter(pk=pk, debrief_invites_sent_at__isnull=True).update(
                    debrief_invites_sent_at=now
                )
                != 1
            ):
                continue
            for visit in VisitRequest.objects.filter(slot_id=pk, status=RequestStatus.APPROVED).select_related(
                "slot__showcase__host_school", "slot__showcase__host", "requester"
            ):
                _send(
                    visit,
                    "debrief_invitation",
                    f"How was your visit to “{visit.slot.showcase.title}”?",
                    to=[visit.requester.email],
                )
                invitations += 1
    return reminders, invitations
