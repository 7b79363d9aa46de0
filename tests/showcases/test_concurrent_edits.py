"""Seats hold while a host edits the showcase and visitors ask, cancel and are approved,
all through real HTTP requests to a threaded server on PostgreSQL: every request runs in
its own thread with its own database connection, as under gunicorn, and the views hold
the locks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from portal.models import User
from showcases.models import RequestStatus, VisitRequest, VisitSlot
from showcases.services import visit_request_approve, visit_request_create
from tests.factories import PrincipalFactory, SchoolFactory, ShowcaseFactory, TeacherFactory, VisitSlotFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 5
CAPACITY = 5


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL feature; run with DATABASE_URL pointing at PostgreSQL")


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """One signed-in person's browser: a session cookie and a CSRF cookie with its token."""

    opener = build_opener(_NoRedirects)

    def __init__(self, base_url: str, user: User) -> None:
        client = Client()
        client.force_login(user)
        self.base_url = base_url
        self.session = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.csrf = get_random_string(32)

    def post(self, path: str, data: Mapping[str, str | list[str]] | None = None) -> int:
        body = urlencode({**(data or {}), "csrfmiddlewaretoken": self.csrf}, doseq=True).encode()
        request = Request(  # noqa: S310 (the live server's own http address)
            self.base_url + path,
            data=body,
            headers={
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session}; {settings.CSRF_COOKIE_NAME}={self.csrf}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except HTTPError as error:
            return error.code


def _run_together(jobs: list[Callable[[], int]]) -> list[int]:
    """Start every job at once; each answers the HTTP status it got (599: it raised)."""
    barrier = threading.Barrier(len(jobs))
    statuses = [599] * len(jobs)

    def run(index: int, job: Callable[[], int]) -> None:
        barrier.wait()
        statuses[index] = job()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _edit_form(showcase, slots: list[VisitSlot], *, title: str, location: str, capacity: int) -> dict[str, str]:
    """The edit form as the host's browser sends it, from a page opened before the round
    started: the first session's location and seats changed, and (as the page does) the
    values it showed alongside."""
    shown = {
        "title": showcase.title,
        "description": showcase.description,
        "impact": showcase.impact,
        "evidence": showcase.evidence,
        "focus_question": showcase.focus_question,
        "what_visitors_see": showcase.what_visitors_see,
        "auto_approve": str(showcase.auto_approve),
    }
    data = {**shown, "title": title, "action": "publish"}
    data |= {f"initial-{name}": value for name, value in shown.items()}
    data |= {
        "slots-TOTAL_FORMS": str(len(slots)),
        "slots-INITIAL_FORMS": str(len(slots)),
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
    }
    for index, slot in enumerate(slots):
        shown = {
            "starts_at": _local(slot.starts_at),
            "ends_at": _local(slot.ends_at),
            "capacity": str(slot.capacity),
            "location": slot.location,
            "notes": slot.notes,
        }
        typed = {**shown, "capacity": str(capacity), "location": location} if index == 0 else shown
        data |= {f"slots-{index}-{name}": value for name, value in typed.items()}
        data |= {f"initial-slots-{index}-{name}": value for name, value in shown.items()}
        data |= {f"slots-{index}-id": str(slot.pk), f"slots-{index}-showcase": str(showcase.pk)}
    return data


def _round(number: int, host: User, people: list[User], browsers: dict[int, Visitor]) -> list[str]:
    """One round on a new showcase of two sessions: each with three approved visitors and
    three waiting; then at once the host approves everyone waiting and sends four edits
    (one lowering the first session's seats to 3), half the approved visitors cancel, four
    more people ask, and in odd rounds the host cancels the second session."""
    showcase = ShowcaseFactory(host=host, status="published", auto_approve=False)
    start = timezone.now() + timedelta(days=3 + number)
    slots: list[VisitSlot] = [
        VisitSlotFactory(
            showcase=showcase,
            capacity=CAPACITY,
            starts_at=start + timedelta(days=day),
            ends_at=start + timedelta(days=day, hours=2),
        )
        for day in range(2)
    ]
    approved: list[VisitRequest] = []
    pending: list[VisitRequest] = []
    for index, slot in enumerate(slots):
        group = people[index * 6 : index * 6 + 6]
        approved += [
            visit_request_approve(visit=visit_request_create(slot=slot, requester=p, seats=1)) for p in group[:3]
        ]
        pending += [visit_request_create(slot=slot, requester=p, seats=1) for p in group[3:]]
    shown = [VisitSlot.objects.get(pk=slot.pk) for slot in slots]
    edits = [
        _edit_form(showcase, shown, title=f"Round {number}, edit {n}", location=f"Room {n}", capacity=capacity)
        for n, capacity in enumerate([CAPACITY, CAPACITY, 3, CAPACITY + 1])
    ]
    hosting = browsers[host.pk]
    jobs: list[Callable[[], int]] = [
        *(partial(hosting.post, f"/showcases/requests/{v.pk}/approve/") for v in pending),
        *(
            partial(browsers[v.requester_id].post, f"/showcases/requests/{v.pk}/cancel/", {"confirm": "yes"})
            for v in approved[::2]
        ),
        *(
            partial(browsers[p.pk].post, f"/showcases/sessions/{s.pk}/request/", {f"slot{s.pk}-seats": "1"})
            for p, s in zip(people[12:], slots * 2, strict=True)
        ),
        *(partial(hosting.post, f"/showcases/{showcase.pk}/edit/", data) for data in edits),
    ]
    if number % 2:
        jobs.append(partial(hosting.post, f"/showcases/sessions/{slots[1].pk}/cancel/", {"confirm": "yes"}))
    statuses = _run_together(jobs)

    problems = []
    if errors := [status for status in statuses if status >= 500]:
        problems.append(f"round {number}: {len(errors)} responses of 5xx")
    if unexpected := set(statuses) - {302, 400} - set(errors):
        problems.append(f"round {number}: unexpected statuses {sorted(unexpected)}")
    for slot in VisitSlot.objects.filter(showcase=showcase).order_by("pk"):
        seats = VisitRequest.objects.filter(slot=slot, status=RequestStatus.APPROVED).aggregate(n=Sum("seats"))["n"]
        if not slot.seats_taken == (seats or 0) <= slot.capacity:
            problems.append(
                f"round {number}: {seats} seats approved, {slot.seats_taken} counted, {slot.capacity} in all"
            )
        if slot.is_cancelled != (number % 2 == 1 and slot.pk == slots[1].pk):
            problems.append(f"round {number}: session {slot.pk} cancelled is {slot.is_cancelled}")
    showcase.refresh_from_db()
    if not showcase.title.startswith(f"Round {number}, edit "):
        problems.append(f"round {number}: no edit was saved")
    return problems


def test_host_edits_interleaved_with_approvals_cancellations_and_requests_never_overbook(live_server):
    host: User = PrincipalFactory(school=SchoolFactory())
    visitor_school = SchoolFactory()
    people: list[User] = [TeacherFactory(school=visitor_school) for _ in range(16)]
    browsers = {user.pk: Visitor(live_server.url, user) for user in [host, *people]}
    problems = [problem for number in range(ROUNDS) for problem in _round(number, host, people, browsers)]
    assert not problems, "\n".join(problems)
