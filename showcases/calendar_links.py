"""Links that add a visit to a web calendar, beside the .ics file, and the feed's webcal:// address.

Times are given in UTC (the trailing Z), so the calendar shows them in the reader's own time
zone whatever the portal's is. Values are percent-encoded with %20 for spaces: Outlook on the
web shows a "+" as it is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from django.conf import settings

from showcases.models import VisitRequest

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR = "https://outlook.live.com/calendar/0/deeplink/compose"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _details(visit: VisitRequest) -> dict[str, str]:
    slot = visit.slot
    showcase = slot.showcase
    address = f"{settings.PORTAL_BASE_URL}{showcase.get_absolute_url()}"
    notes = f"Focus question: {showcase.focus_question}\n\n{slot.notes}".strip()
    return {
        "title": f"Showcase visit: {showcase.title} ({showcase.host_school.name})",
        "location": f"{showcase.host_school.name} — {slot.location}",
        "description": f"{notes}\n\n{address}",
    }


def google_calendar_url(visit: VisitRequest) -> str:
    """calendar.google.com's "add event" template, with UTC start/end as YYYYMMDDTHHMMSSZ."""
    details = _details(visit)
    dates = "/".join(f"{_utc(moment):%Y%m%dT%H%M%SZ}" for moment in (visit.slot.starts_at, visit.slot.ends_at))
    query = {
        "action": "TEMPLATE",
        "text": details["title"],
        "dates": dates,
        "details": details["description"],
        "location": details["location"],
    }
    return f"{GOOGLE_CALENDAR}?{urlencode(query, quote_via=quote)}"


def outlook_calendar_url(visit: VisitRequest) -> str:
    """Outlook on the web's compose deeplink, with UTC start/end in ISO 8601."""
    details = _details(visit)
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": details["title"],
        "startdt": f"{_utc(visit.slot.starts_at):%Y-%m-%dT%H:%M:%SZ}",
        "enddt": f"{_utc(visit.slot.ends_at):%Y-%m-%dT%H:%M:%SZ}",
        "body": details["description"],
        "location": details["location"],
    }
    return f"{OUTLOOK_CALENDAR}?{urlencode(query, quote_via=quote)}"


def webcal_url(feed_url: str) -> str:
    """The same feed address with the webcal:// scheme, which calendar apps open as a subscription."""
    parts = urlsplit(feed_url)
    return urlunsplit(("webcal", parts.netloc, parts.path, parts.query, ""))
