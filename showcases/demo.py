"""Demo showcases: past ones with debriefs, upcoming ones with requests and waiting lists."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from portal.models import Role, User
from practices.models import Practice
from showcases.models import RequestStatus, Showcase, ShowcaseStatus, VisitorReflection, VisitRequest, VisitSlot

TOPICS = [
    ("Student-led conferences", "How do students describe their own progress to their families?"),
    ("Exit tickets and next-day regrouping", "What do teachers do differently the day after an exit ticket?"),
    ("Ninth-grade attendance check-ins", "How do adults respond when a ninth grader misses a day?"),
    ("Teacher learning walks", "What evidence of think-pair-share do you see, and who is talking?"),
    ("Claim–evidence–reasoning in science labs", "How do students use data when they explain a claim?"),
    ("Newcomer buddy week", "How does a newcomer find help in their first week?"),
]

LARGE_SHOWCASE_COUNT = 2_000
LARGE_REQUEST_COUNT = 20_000


def _at(day_offset: int, hour: int) -> datetime:
    """A school day: weekend dates move on to the Monday."""
    day = timezone.localdate() + timedelta(days=day_offset)
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _showcase(host: User, index: int, practices: list[Practice]) -> Showcase:
    title, question = TOPICS[index % len(TOPICS)]
    showcase = Showcase.objects.create(
        host=host,
        host_school=host.school,
        title=f"{title} at {host.school.name}",
        description=f"Visitors see {title.lower()} in three classrooms and talk with students and teachers about how it grew.",
        impact="Family attendance at conferences rose from 46% to 81%; students set and revisit their own goals.",
        evidence="Conference sign-in sheets, student goal sheets, family survey results.",
        focus_question=question,
        what_visitors_see="Two classrooms in the first hour, a student panel, then a debrief in the library.",
        status=ShowcaseStatus.PUBLISHED,
        auto_approve=index % 2 == 0,
    )
    showcase.practices.set(practices[:1])
    return showcase


@transaction.atomic
def seed_showcases(*, rng: random.Random) -> int:
    if Showcase.objects.exists():
        return Showcase.objects.count()
    principals = list(
        User.objects.filter(role=Role.PRINCIPAL, school__isnull=False).select_related("school").order_by("username")
    )
    named = {
        u.username: u for u in User.objects.filter(username__in=["principal", "principal2", "teacher", "teacher2"])
    }
    hosts = [named[n] for n in ("principal", "principal2") if n in named] + [
        p for p in principals if p.username not in named
    ][:4]
    visitors = list(
        User.objects.filter(role__in=[Role.PRINCIPAL, Role.TEACHER], is_active=True)
        .select_related("school")
        .order_by("username")
    )
    for index, host in enumerate(hosts):
        practices = list(Practice.objects.filter(school=host.school, status="published")[:1])
        showcase = _showcase(host, index, practices)
        past = VisitSlot.objects.create(
            showcase=showcase,
            starts_at=_at(-20 - index, 9),
            ends_at=_at(-20 - index, 11),
            capacity=6,
            location="Main office, then the library",
            debrief_notes="Visitors saw students lead their conferences with confidence; the next step is preparing younger students earlier.",
            debriefed_at=timezone.now() - timedelta(days=19),
            debrief_invites_sent_at=timezone.now() - timedelta(days=19),
        )
        upcoming = VisitSlot.objects.create(
            showcase=showcase,
            starts_at=_at(7 + index * 3, 9),
            ends_at=_at(7 + index * 3, 11),
            capacity=4,
            location="Front office",
            notes="Park in the visitor lot; sign in at the office.",
        )
        guests = [v for v in visitors if v.school_id != host.school_id]
        rng.shuffle(guests)
        for n, guest in enumerate(guests[:4]):
            visit = VisitRequest.objects.create(
                slot=past,
                requester=guest,
                seats=1,
                status=RequestStatus.APPROVED,
                decided_at=past.starts_at - timedelta(days=5),
                message="Hoping to start this next term.",
            )
            past.seats_taken += 1
            if n < 3:
                VisitorReflection.objects.create(
                    visit_request=visit,
                    noticed="Students named a goal and showed the work that proves progress; families asked follow-up questions.",
                    will_try="A short goal card for our advisory next month.",
                    practice=practices[0] if practices else None,
                )
        past.save(update_fields=["seats_taken"])
        # Upcoming: four seats. Auto-approved sessions fill up and start a waiting list;
        # the others have requests waiting for the host.
        for n, guest in enumerate(guests[4:9]):
            if showcase.auto_approve:
                status = RequestStatus.APPROVED if n < 4 else RequestStatus.WAITLISTED
            else:
                status = RequestStatus.APPROVED if n < 2 else RequestStatus.PENDING
            VisitRequest.objects.create(
                slot=upcoming, requester=guest, seats=1, status=status, message="Our school is starting this."
            )
            if status == RequestStatus.APPROVED:
                upcoming.seats_taken += 1
        upcoming.save(update_fields=["seats_taken"])
    return Showcase.objects.count()


def seed_showcases_large(*, rng: random.Random) -> int:
    """District scale for benchmarks: LARGE_SHOWCASE_COUNT showcases, LARGE_REQUEST_COUNT requests."""
    existing = Showcase.objects.count()
    if existing >= LARGE_SHOWCASE_COUNT:
        return existing
    principals = list(User.objects.filter(role=Role.PRINCIPAL, school__isnull=False).values_list("pk", "school_id"))
    visitors = list(User.objects.filter(role=Role.TEACHER).values_list("pk", "school_id"))
    to_make = LARGE_SHOWCASE_COUNT - existing
    per_showcase = max((LARGE_REQUEST_COUNT - VisitRequest.objects.count()) // to_make, 2)
    with transaction.atomic():
        showcases = Showcase.objects.bulk_create(
            [
                Showcase(
                    host_id=host_id,
                    host_school_id=school_id,
                    title=f"{TOPICS[n % len(TOPICS)][0]} ({existing + n + 1})",
                    description="Visitors see the practice in classrooms.",
                    impact="Measurable gains for students.",
                    evidence="Student work and data.",
                    focus_question=TOPICS[n % len(TOPICS)][1],
                    status=ShowcaseStatus.PUBLISHED,
                )
                for n, (host_id, school_id) in enumerate(rng.choice(principals) for _ in range(to_make))
            ],
            batch_size=1000,
        )
        # Each session is full: all but one request approved, the last one waiting.
        starts = [_at(rng.randint(-300, 120), rng.choice([8, 9, 13])) for _ in showcases]
        slots = VisitSlot.objects.bulk_create(
            [
                VisitSlot(
                    showcase=showcase,
                    starts_at=start,
                    ends_at=start + timedelta(hours=2),
                    capacity=per_showcase - 1,
                    seats_taken=per_showcase - 1,
                    location="Front office",
                )
                for showcase, start in zip(showcases, starts, strict=True)
            ],
            batch_size=1000,
        )
        requests = [
            VisitRequest(
                slot=slot,
                requester_id=user_id,
                seats=1,
                status=RequestStatus.APPROVED if n < per_showcase - 1 else RequestStatus.WAITLISTED,
            )
            for slot in slots
            for n, (user_id, _school) in enumerate(rng.sample(visitors, per_showcase))
        ]
        VisitRequest.objects.bulk_create(requests, batch_size=2000)
    return Showcase.objects.count()
