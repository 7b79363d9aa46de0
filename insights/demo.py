"""The demo district's history, so that its dashboards show something to act on.

On top of the other apps' demo content: eighteen months of practices shared across the
schools, where openness varies by school and over time. A few schools share openly from the
start, some learn to, and some rarely share what did not work (as the "Look Both Ways" study
found of most systems); three share nothing yet. Colleagues at other schools adopt some of
them. Everyone on the demo roster joined before the first survey cycle, so each cycle's
response rate has the people it invited.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import reversion
from django.db import transaction
from django.utils import timezone

from portal.models import Role, User
from practices.models import Adoption, AdoptionStatus, Failure, Iteration, Practice, Status, Visibility
from practices.services import practice_refresh_derived

STORY_DAYS = 540
ROSTER_SINCE_DAYS = 600  # the demo roster was loaded before the first survey cycle opened

# How often a school's entries document what did not work: at the start of the story, and now.
OPEN, LEARNING, POLISHED, STEADY = (0.6, 0.8), (0.1, 0.6), (0.05, 0.1), (0.3, 0.4)
PROFILES = {
    "maple-grove-elementary": OPEN,
    "riverside-middle": LEARNING,
    "lincoln-high": POLISHED,
    "cedar-ridge-elementary": STEADY,
    "harbor-view-k8": OPEN,
    "prairie-wind-elementary": LEARNING,
    "north-valley-high": POLISHED,
    "eastside-middle": LEARNING,
    "willow-creek-k12": STEADY,
    "summit-elementary": POLISHED,
    "brookside-middle": STEADY,
    "oak-hollow-elementary": LEARNING,
    "lakeshore-elementary": POLISHED,
    "pine-bluff-elementary": OPEN,
    "meadowbrook-elementary": STEADY,
    "hillcrest-elementary": LEARNING,
    "granite-falls-middle": POLISHED,
    "westwood-middle": POLISHED,
    "jefferson-middle": OPEN,
    "roosevelt-high": LEARNING,
    "valley-view-high": POLISHED,
    "sunrise-k8": STEADY,
    "bayside-k8": LEARNING,
}
# These schools have shared nothing yet: the dashboard lists them.
SILENT = {"pathways-academy", "river-bend-high", "frontier-k12"}

# (title, what it is, what it is for)
IDEAS = [
    (
        "Number talks to open every math lesson",
        "Ten minutes of mental math with strategies shared aloud.",
        "Build number sense and the habit of explaining reasoning.",
    ),
    (
        "Peer feedback protocol for writing drafts",
        "Pairs trade drafts and give one glow and one grow with a sentence frame.",
        "More revision before the teacher reads the draft.",
    ),
    (
        "Student-led morning meetings",
        "Students run greeting, share and activity from a rotating job chart.",
        "A calm start to the day that students own.",
    ),
    (
        "Restorative conversations after referrals",
        "A short structured conversation before a student returns to class.",
        "Fewer repeat referrals and a repaired relationship.",
    ),
    (
        "Vocabulary walls built by students",
        "Students add words with a drawing and an example sentence.",
        "Academic vocabulary that students use in writing.",
    ),
    (
        "Weekly data huddles for grade teams",
        "Fifteen minutes on one common assessment, one decision each week.",
        "Act on data while it is still fresh.",
    ),
    (
        "Family conferences led by students",
        "Students present a portfolio and a goal to their families.",
        "Families hear about learning from the learner.",
    ),
    (
        "Retrieval practice quizzes",
        "Three low-stakes questions on older content at the start of class.",
        "Knowledge that lasts past the unit test.",
    ),
    (
        "Project units with community partners",
        "A six-week project with a local organisation as the audience.",
        "Work that matters beyond the classroom.",
    ),
    (
        "Reading buddies across grades",
        "Older students read weekly with a younger partner.",
        "Fluency for both and belonging for the younger ones.",
    ),
    (
        "Goal-setting conferences each quarter",
        "Five minutes with each student to set and review one goal.",
        "Students who know what they are working towards.",
    ),
    (
        "Choice libraries for independent reading",
        "Classroom libraries students help choose, with daily reading time.",
        "More reading by students who rarely read for pleasure.",
    ),
    (
        "Sentence stems for academic talk",
        "Posted stems and a routine for partner talk in every subject.",
        "All students talking, English learners included.",
    ),
    (
        "Math journals for explaining reasoning",
        "A weekly entry explaining one solution in words and pictures.",
        "Reasoning that shows on open-response items.",
    ),
    (
        "Newcomer welcome routines",
        "A buddy, a visual schedule and a first-week check-in for new arrivals.",
        "Newcomers who feel at home in their first month.",
    ),
    (
        "Station rotation in science",
        "Three stations: teacher-led, hands-on and practice, every week.",
        "Small-group time with the teacher for every student.",
    ),
    (
        "Bell-ringer problems from the last test",
        "Each class opens with an item students missed most.",
        "Close gaps from assessments without a reteach unit.",
    ),
    (
        "Growth portfolios in art",
        "Students keep early and late work side by side with reflections.",
        "Students who see their own progress.",
    ),
    (
        "Co-planning time for inclusion classrooms",
        "General and special educators plan one lesson a week together.",
        "Lessons designed for every learner from the start.",
    ),
    (
        "Exit interviews with seniors",
        "Counselors ask each senior what helped and what did not.",
        "A school that hears what its graduates learned.",
    ),
]

ITERATION_ROWS = [
    ("First month", "Tried it with one class.", "Students needed clearer routines.", "Added a visual checklist."),
    ("After the first unit", "Ran it with every class.", "It took longer than planned.", "Cut it to one part a day."),
    (
        "Second term",
        "Asked students what to change.",
        "They wanted more choice.",
        "Let them pick between two versions.",
    ),
]
FAILURE_ROWS = [
    (
        "Running it every day.",
        "Students lost interest by the third week.",
        "Too much of the same thing.",
        "Twice a week keeps it fresh.",
    ),
    (
        "Grading it.",
        "Students played it safe instead of trying.",
        "A grade made it high-stakes.",
        "Keep it ungraded and say so.",
    ),
    (
        "Starting it mid-year without telling families.",
        "Families were confused by the new homework.",
        "Nobody explained why.",
        "Send a short note before starting.",
    ),
]


def _roster_joined_before_the_cycles() -> None:
    since = timezone.now() - timedelta(days=ROSTER_SINCE_DAYS)
    User.objects.filter(date_joined__gt=since).update(date_joined=since)


@transaction.atomic
def seed_district_story(*, rng: random.Random) -> int:
    """Add the history once (a second run adds nothing); returns the practices it added."""
    _roster_joined_before_the_cycles()
    titles = [title for title, _summary, _intent in IDEAS]
    if Practice.objects.filter(title__startswith=titles[0]).exists():
        return 0
    teachers: dict[str, list[User]] = {}
    for teacher in User.objects.filter(role=Role.TEACHER, is_active=True).select_related("school").order_by("username"):
        if teacher.school is not None:
            teachers.setdefault(teacher.school.slug, []).append(teacher)
    now = timezone.now()
    made: list[Practice] = []
    with reversion.create_revision():
        for slug, (start, end) in PROFILES.items():
            authors = teachers.get(slug)
            if not authors:
                continue
            for n in range(rng.randint(3, 6)):
                # More sharing lately than at the start.
                days_ago = int((1 - rng.random() ** 0.7) * STORY_DAYS) + 1
                share = start + (end - start) * (1 - days_ago / STORY_DAYS)
                title, summary, intent = IDEAS[(len(made) * 7 + n) % len(IDEAS)]
                author = authors[n % len(authors)]
                school = author.school
                if school is None:
                    continue
                published_at = now - timedelta(days=days_ago, hours=rng.randint(0, 8))
                practice = Practice.objects.create(
                    title=f"{title} at {school}",
                    summary=summary,
                    intent=intent,
                    description=f"{summary} We describe the routine step by step in the attached plan.",
                    context=f"{school}: {school.get_level_display().lower()} classrooms.",
                    impact="Teachers report more students taking part; we are collecting work samples.",
                    school=school,
                    author=author,
                    status=Status.PUBLISHED,
                    visibility=Visibility.SCHOOL if rng.random() < 0.1 else Visibility.DISTRICT,
                    published_at=published_at,
                    created_at=published_at - timedelta(days=2),
                    updated_at=published_at,
                )
                iterations = ITERATION_ROWS[: rng.choice([0, 1, 2, 3] if share > 0.3 else [0, 0, 1, 2])]
                failures = FAILURE_ROWS[: rng.randint(1, 2)] if rng.random() < share else []
                for position, (when, tried, observed, changed) in enumerate(iterations, start=1):
                    Iteration.objects.create(
                        practice=practice, position=position, when=when, tried=tried, observed=observed, changed=changed
                    )
                for position, (tried, happened, why, lesson) in enumerate(failures, start=1):
                    Failure.objects.create(
                        practice=practice,
                        position=position,
                        tried=tried,
                        what_happened=happened,
                        why=why,
                        lesson=lesson,
                    )
                practice_refresh_derived(practice)
                made.append(practice)
        reversion.set_comment("Demo data")
    _adopt(made, teachers, rng=rng, now=now)
    return len(made)


def _adopt(practices: list[Practice], teachers: dict[str, list[User]], *, rng: random.Random, now: datetime) -> None:
    """Colleagues at other schools try some of them, more often those that say what did not work."""
    everyone = [teacher for slug, pool in teachers.items() if slug not in SILENT for teacher in pool]
    statuses = [AdoptionStatus.TRYING, AdoptionStatus.ADOPTED, AdoptionStatus.STOPPED]
    for practice in practices:
        if practice.visibility != Visibility.DISTRICT:
            continue
        chance = 0.7 if practice.failure_count else 0.35
        for _ in range(3):
            if rng.random() > chance:
                continue
            adopter = rng.choice(everyone)
            if adopter.school_id == practice.school_id or practice.published_at is None:
                continue
            days = max(0, (now - practice.published_at).days)
            adoption, created = Adoption.objects.get_or_create(
                practice=practice,
                user=adopter,
                defaults={"school": adopter.school, "status": rng.choice(statuses), "notes": "Started with one class."},
            )
            if created:
                Adoption.objects.filter(pk=adoption.pk).update(
                    created_at=practice.published_at + timedelta(days=rng.randint(0, min(days, 120)))
                )
