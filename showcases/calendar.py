"""iCalendar files for visits: attached to e-mails, downloadable, and a personal feed.

Times are written in UTC. A visit is sent as an invitation (METHOD:REQUEST, the visitor
its attendee); a change reuses the event's UID with a higher SEQUENCE, and a cancellation is
sent with METHOD:CANCEL and STATUS:CANCELLED, so calendars update the entry they already
have instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from icalendar import Calendar, Event, vCalAddress, vText

from portal.naming import display_name
from showcases.models import VisitRequest, VisitSlot


def _calendar(method: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.PORTAL_NAME}//Showcase visits//EN")
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def _event(slot: VisitSlot, *, uid: str, sequence: int, cancelled: bool, summary: str) -> Event:
    showcase = slot.showcase
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.now(tz=UTC))
    event.add("dtstart", slot.starts_at.astimezone(UTC))
    event.add("dtend", slot.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("location", vText(f"{showcase.host_school.name} — {slot.location}"))
    event.add(
        "description",
        f"Focus question: {showcase.focus_question}\n\n{slot.notes}\n\n{settings.PORTAL_BASE_URL}{showcase.get_absolute_url()}".strip(),
    )
    event.add("url", f"{settings.PORTAL_BASE_URL}{showcase.get_absolute_url()}")
    organizer = vCalAddress(f"mailto:{showcase.host.email}")
    organizer.params["cn"] = vText(display_name(showcase.host))
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _visit_cancelled(visit: VisitRequest) -> bool:
    """A visit is off the calendar unless it is approved and its session still on."""
    return not visit.is_approved or visit.slot.is_cancelled


def visit_event(visit: VisitRequest) -> Event:
    event = _event(
        visit.slot,
        uid=visit.ical_uid,
        sequence=visit.sequence,
        cancelled=_visit_cancelled(visit),
        summary=f"Showcase visit: {visit.slot.showcase.title} ({visit.slot.showcase.host_school.name})",
    )
    attendee = vCalAddress(f"mailto:{visit.requester.email}")
    attendee.params["cn"] = vText(display_name(visit.requester))
    attendee.params["role"] = "REQ-PARTICIPANT"
    attendee.params["partstat"] = "DECLINED" if _visit_cancelled(visit) else "ACCEPTED"
    attendee.params["rsvp"] = "FALSE"
    event.add("attendee", attendee)
    return event


def hosting_event(slot: VisitSlot) -> Event:
    return _event(
        slot,
        uid=slot.ical_uid,
        sequence=slot.sequence,
        cancelled=slot.is_cancelled or slot.showcase.is_cancelled,
        summary=f"Hosting showcase: {slot.showcase.title} ({slot.seats_taken} of {slot.capacity} seats taken)",
    )


def visit_ics(visit: VisitRequest) -> bytes:
    """One visit, as sent with the e-mail that confirms, changes or cancels it: an invitation
    (REQUEST) while the visitor holds a seat, a cancellation (CANCEL) once they do not."""
    calendar = _calendar("CANCEL" if _visit_cancelled(visit) else "REQUEST")
    calendar.add_component(visit_event(visit))
    return calendar.to_ical()


def feed_ics(visits: Iterable[VisitRequest], slots: Iterable[VisitSlot]) -> bytes:
    """Someone's subscription: their approved visits and the sessions they host."""
    calendar = _calendar(None)
    calendar.add("x-wr-calname", f"{settings.PORTAL_NAME}: showcase visits")
    for visit in visits:
        calendar.add_component(visit_event(visit))
    for slot in slots:
        calendar.add_component(hosting_event(slot))
    return calendar.to_ical()
