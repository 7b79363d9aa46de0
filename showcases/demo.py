"""Demo showcases: past ones with debriefs, upcoming ones with requests and waiting lists."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.lib.bulkload import BatchWriter, insert_rows, next_id, reset_sequences
from portal.models import Role, User
from practices.models import Practice, Status
from showcases.models import RequestStatus, Showcase, ShowcaseStatus, VisitorReflection, VisitRequest, VisitSlot


@dataclass(frozen=True)
class Topic:
    """What a demo showcase shows, written for the demo practice whose title starts with `practice`."""

    practice: str
    title: str
    question: str
    impact: str
    evidence: str
    debrief: str
    noticed: str
    will_try: str


TOPICS = [
    Topic(
        "Student-led conferences",
        "Student-led conferences",
        "How do students describe their own progress to their families?",
        "Family attendance at conferences rose from 46% to 81%; students set and revisit their own goals.",
        "Conference sign-in sheets, student goal sheets, family survey results.",
        "Visitors saw students lead their conferences with confidence; the next step is preparing younger students earlier.",
        "Students named a goal and showed the work that proves progress; families asked follow-up questions.",
        "A short goal card for our advisory next month.",
    ),
    Topic(
        "Exit tickets",
        "Exit tickets and next-day regrouping",
        "What do teachers do differently the day after an exit ticket?",
        "Students re-taught the next day closed the gap on the unit test: 68% to 84% meeting the standard.",
        "Exit tickets sorted into three piles, next-day group lists, unit test results by group.",
        "Visitors asked how teachers find ten minutes for regrouping; the team will share its sorting routine in writing.",
        "The sort took four minutes; the next morning's groups were on the board before students arrived.",
        "One question per lesson in seventh-grade math, sorted the same day.",
    ),
    Topic(
        "Attendance check-in",
        "Ninth-grade attendance check-ins",
        "How do adults respond when a ninth grader misses a day?",
        "Chronic absence among ninth graders fell from 27% to 16% over two years.",
        "Daily attendance by advisory, check-in logs, the two-year absence trend.",
        "Visitors wanted the phone script; the host shared it and the call log template.",
        "Every absent student had a call and a face-to-face check-in within a day; students knew who would ask.",
        "A same-day call from the advisory teacher, starting with our ninth graders.",
    ),
    Topic(
        "Teacher learning walks",
        "Teacher learning walks",
        "What evidence of think-pair-share do you see, and who is talking?",
        "Share of lessons with students talking for a third of the time rose from 20% to 55% in a year.",
        "Walk notes with one focus each, talk tallies, teacher reflections.",
        "Visitors noted the single focus kept the walk from feeling like an evaluation; they asked for the tally sheet.",
        "Teachers visited each other in pairs for ten minutes and wrote down only what students said.",
        "Monthly walks with one focus, no names on the notes.",
    ),
    Topic(
        "Lab notebooks",
        "Claim–evidence–reasoning in science labs",
        "How do students use data when they explain a claim?",
        "Lab reports citing their own data rose from 1 in 3 to 3 in 4 between fall and spring.",
        "Lab notebooks from fall and spring, the CER rubric, scored samples.",
        "Visitors saw students argue over a data point; next year the team starts CER in sixth grade.",
        "Students pointed at their own tables when they disagreed, and changed their claim when the data did not fit.",
        "The CER sentence frames in our eighth-grade labs.",
    ),
    Topic(
        "Newcomer buddy week",
        "Newcomer buddy week",
        "How does a newcomer find help in their first week?",
        "Newcomers reporting they knew who to ask for help after a week: 9 in 10, up from 4 in 10.",
        "First-week surveys of newcomers, buddy logs, counselor referrals.",
        "Visitors met two buddies and a newcomer; they asked how buddies are chosen and trained.",
        "Buddies walked newcomers to every class and introduced them to one adult per day.",
        "A buddy for every student who joins after September.",
    ),
    Topic(
        "Math talks",
        "Number strings to open math class",
        "How do students explain a strategy that is not their own?",
        "Students explaining a classmate's strategy in their own words rose from 15% to 60% of talks observed.",
        "Recorded number strings, talk observation notes, student strategy posters.",
        "Visitors tried a number string themselves; the host will share the sequence for the first month.",
        "The teacher recorded every strategy on the board and asked students to compare two of them.",
        "A five-minute number string three mornings a week in fourth grade.",
    ),
    Topic(
        "Reading conferences",
        "Reading conferences with a one-page tracker",
        "What does a teacher ask next, and how does the tracker show it?",
        "Students meeting their reading goal by the second conference: 70%, up from 45%.",
        "The one-page trackers, goal-setting notes, reading level checks across the year.",
        "Visitors asked how often each student is seen; the answer is every eight school days, tracked on one page.",
        "Each conference ended with one goal written on the tracker in the student's words.",
        "The one-page tracker for our fifth-grade classes.",
    ),
]


def _topic_for(practice: Practice) -> Topic | None:
    return next((topic for topic in TOPICS if practice.title.startswith(topic.practice)), None)


LARGE_SHOWCASE_COUNT = 2_000
LARGE_REQUEST_COUNT = 20_000


def _at(day_offset: int, hour: int) -> datetime:
    """A school day: weekend dates move on to the Monday."""
    day = timezone.localdate() + timedelta(days=day_offset)
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _showcase(host: User, index: int, topic: Topic, practice: Practice) -> Showcase:
    """A showcase of `practice`, hosted by a principal of its school."""
    school = practice.school
    showcase = Showcase.objects.create(
        host=host,
        host_school=school,
        title=f"{topic.title} at {school.name}",
        description=f"Visitors see {topic.title[0].lower()}{topic.title[1:]} in classrooms and talk with students and teachers about how it grew.",
        impact=topic.impact,
        evidence=topic.evidence,
        focus_question=topic.question,
        what_visitors_see="Two classrooms in the first hour, a student panel, then a debrief in the library.",
        status=ShowcaseStatus.PUBLISHED,
        auto_approve=index % 2 == 0,
    )
    showcase.practices.set([practice])
    return showcase


def _hosts_and_practices() -> list[tuple[User, Topic, Practice]]:
    """Up to six principals of different schools, each showing a practice of their own
    school, on a topic not shown yet where they can: the named demo principals first."""
    principals = sorted(
        User.objects.filter(role=Role.PRINCIPAL, school__isnull=False),
        key=lambda user: (user.username not in ("principal", "principal2"), user.username),
    )
    practices = list(Practice.objects.filter(status=Status.PUBLISHED).select_related("school").order_by("title"))
    chosen: list[tuple[User, Topic, Practice]] = []
    shown: set[str] = set()
    schools: set[int] = set()
    for host in principals:
        if host.school_id in schools or len(chosen) == 6:
            continue
        own = [
            (practice, topic)
            for practice in practices
            if practice.school_id == host.school_id and (topic := _topic_for(practice)) is not None
        ]
        # A topic not shown yet if the school has one; else its own version of a shown one.
        own.sort(key=lambda pair: pair[1].title in shown)
        if own:
            practice, topic = own[0]
            chosen.append((host, topic, practice))
            shown.add(topic.title)
            schools.add(practice.school_id)
    return chosen


@transaction.atomic
def seed_showcases(*, rng: random.Random) -> int:
    if Showcase.objects.exists():
        return Showcase.objects.count()
    visitors = list(
        User.objects.filter(role__in=[Role.PRINCIPAL, Role.TEACHER], is_active=True)
        .select_related("school")
        .order_by("username")
    )
    for index, (host, topic, practice) in enumerate(_hosts_and_practices()):
        showcase = _showcase(host, index, topic, practice)
        past = VisitSlot.objects.create(
            showcase=showcase,
            starts_at=_at(-20 - index, 9),
            ends_at=_at(-20 - index, 11),
            capacity=6,
            location="Main office, then the library",
            debrief_notes=topic.debrief,
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
                    noticed=topic.noticed,
                    will_try=topic.will_try,
                    practice=practice,
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
                    title=f"{TOPICS[n % len(TOPICS)].title} ({existing + n + 1})",
                    description="Visitors see the practice in classrooms.",
                    impact="Measurable gains for students.",
                    evidence="Student work and data.",
                    focus_question=TOPICS[n % len(TOPICS)].question,
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


# The largest US district, in the large scale's proportions: one session per showcase, ten
# requests each.
XL_SHOWCASE_COUNT = 20_000
XL_REQUEST_COUNT = 200_000
XL_BATCH = 2_000


def seed_showcases_xl(*, rng: random.Random, showcases: int | None = None, requests: int | None = None) -> int:
    """The largest scale, streamed like the large one is built: each showcase has one full
    session (every seat but one approved, the last request waiting), in batches of plain
    rows (COPY on PostgreSQL). Adds showcases up to `showcases` in all."""
    showcases = XL_SHOWCASE_COUNT if showcases is None else showcases
    requests = XL_REQUEST_COUNT if requests is None else requests
    existing = Showcase.objects.count()
    if existing >= showcases:
        return existing
    principals = list(User.objects.filter(role=Role.PRINCIPAL, school__isnull=False).values_list("pk", "school_id"))
    visitors = list(User.objects.filter(role=Role.TEACHER).values_list("pk", flat=True))
    to_make = showcases - existing
    per_showcase = max((requests - VisitRequest.objects.count()) // to_make, 2)
    first_showcase, first_slot = next_id(Showcase), next_id(VisitSlot)
    with BatchWriter() as writer:
        for start in range(0, to_make, XL_BATCH):
            rows, slots, visits = [], [], []
            for offset in range(start, min(start + XL_BATCH, to_make)):
                host_id, school_id = rng.choice(principals)
                topic = TOPICS[offset % len(TOPICS)]
                showcase_id, slot_id = first_showcase + offset, first_slot + offset
                rows.append(
                    (
                        showcase_id,
                        host_id,
                        school_id,
                        f"{topic.title} ({existing + offset + 1})",
                        "Visitors see the practice in classrooms.",
                        "Measurable gains for students.",
                        "Student work and data.",
                        topic.question,
                        ShowcaseStatus.PUBLISHED,
                    )
                )
                starts = _at(rng.randint(-300, 120), rng.choice([8, 9, 13]))
                slots.append(
                    (slot_id, showcase_id, starts, starts + timedelta(hours=2), per_showcase - 1, per_showcase - 1)
                )
                visits += [
                    (
                        slot_id,
                        user_id,
                        1,
                        RequestStatus.APPROVED if n < per_showcase - 1 else RequestStatus.WAITLISTED,
                    )
                    for n, user_id in enumerate(rng.sample(visitors, per_showcase))
                ]
            writer.write(partial(_write_batch, rows, slots, visits))
    reset_sequences(Showcase, VisitSlot)
    return Showcase.objects.count()


def _write_batch(rows: list[tuple[Any, ...]], slots: list[tuple[Any, ...]], visits: list[tuple[Any, ...]]) -> None:
    insert_rows(
        Showcase,
        ("id", "host_id", "host_school_id", "title", "description", "impact", "evidence", "focus_question", "status"),
        rows,
    )
    insert_rows(
        VisitSlot,
        ("id", "showcase_id", "starts_at", "ends_at", "capacity", "seats_taken", "location"),
        ((*slot, "Front office") for slot in slots),
    )
    insert_rows(VisitRequest, ("slot_id", "requester_id", "seats", "status"), visits)
