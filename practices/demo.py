"""Believable demo practices: intent, iterations, failures, adaptations, adoptions, features."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypedDict

import reversion
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from portal.lib.bulkload import BatchWriter, indexes_set_aside, insert_rows, next_id, reset_sequences
from portal.models import Role, SchoolLevel, User
from portal.naming import display_name
from portal.notifications.models import Notification, NotificationKind
from practices.models import (
    Adoption,
    AdoptionReport,
    AdoptionStatus,
    Collection,
    CollectionItem,
    CollectionSharing,
    Facet,
    Failure,
    Follow,
    Iteration,
    Practice,
    Question,
    Status,
    Visibility,
    tag_names_text,
)
from practices.search import remember_words
from practices.services import adoption_notice_text, practice_refresh_derived

# (when, tried, observed, changed)
IterationRow = tuple[str, str, str, str]
# (tried, what happened, why, lesson)
FailureRow = tuple[str, str, str, str]


class BankEntry(TypedDict):
    title: str
    summary: str
    intent: str
    description: str
    context: str
    depends_on: str
    core: str
    adaptable: str
    impact: str
    tags: list[str]
    subjects: list[str]
    grades: list[str]
    evidence: list[str]
    iterations: list[IterationRow]
    failures: list[FailureRow]


BANK: list[BankEntry] = [
    {
        "title": "Exit tickets that change tomorrow's lesson",
        "summary": "Three-question exit tickets, sorted in five minutes after class into re-teach, practice and extend groups for the next day.",
        "intent": "Catch misconceptions the same day, so students who are lost in fractions are not still lost a week later. Aimed at the middle third of the class, who rarely ask for help.",
        "description": "1. In the last four minutes, students answer three questions on a half sheet: one routine, one that targets the day's likely misconception, one stretch.\n2. I sort the sheets into three piles before I leave.\n3. The next day opens with 12 minutes in three groups: re-teach with me, paired practice, or an extension task.",
        "context": "Grade 4 and 5 math, 26–30 students, 60-minute blocks, no devices needed.",
        "depends_on": "A consistent 60-minute block and questions written in advance for each unit.",
        "core": "Sort the same day. Act on it the next morning. Keep it to three questions.",
        "adaptable": "The format (paper, forms, whiteboards), the group tasks, and how often you run it.",
        "impact": "Unit assessment scores on fractions rose from 61% to 74% proficient over two units; the share of students scoring below 40% halved.",
        "tags": ["formative assessment", "math", "small groups"],
        "subjects": ["mathematics"],
        "grades": ["3-5"],
        "evidence": ["assessment-data", "student-work"],
        "iterations": [
            (
                "September",
                "Five-question tickets, graded and returned.",
                "Took 40 minutes a night; I fell behind within two weeks.",
                "Cut to three questions and stopped grading: sorting only.",
            ),
            (
                "October",
                "Three questions, sorted into two piles.",
                "Two piles hid the students who were almost there.",
                "Added a third pile and a 12-minute regrouping at the start of class.",
            ),
            (
                "January",
                "Students self-sort by answering a confidence question.",
                "Self-ratings matched my sort about 70% of the time.",
                "Kept my sort as the decision, used their rating as a conversation starter.",
            ),
        ],
        "failures": [
            (
                "Using the exit ticket as a grade.",
                "Students copied from neighbours and the data stopped meaning anything.",
                "A grade made it high-stakes; students protected themselves instead of showing confusion.",
                "Keep exit tickets ungraded and say so every time.",
            ),
        ],
    },
    {
        "title": "Attendance check-in circles for ninth graders",
        "summary": "A five-minute advisory check-in with a named adult for students who missed two or more days in the first month of high school.",
        "intent": "Reduce chronic absence in the transition year, when a missed week quietly becomes a missed semester. For ninth graders flagged by early attendance data.",
        "description": "Each flagged student is matched with one adult who checks in at the door of advisory three mornings a week, asks one open question, and calls home after any absence the same day.",
        "context": "Comprehensive high school, 1,600 students, advisory of 20 minutes daily.",
        "depends_on": "A daily attendance report by 9:30 and adults who volunteer rather than are assigned.",
        "core": "Same adult every time; call home the same day.",
        "adaptable": "Which students are flagged, the question asked, whether it runs in advisory or homeroom.",
        "impact": "Chronic absence among flagged ninth graders fell from 31% to 19% over the year; students named their adult in spring surveys.",
        "tags": ["attendance", "advisory", "ninth grade", "relationships"],
        "subjects": ["whole-school", "social-emotional-learning"],
        "grades": ["9-12"],
        "evidence": ["attendance-behaviour", "student-voice"],
        "iterations": [
            (
                "Fall 2024",
                "Counselors ran check-ins for 80 students.",
                "Counselors could not keep up; check-ins dropped to weekly.",
                "Recruited 25 volunteer adults with three or four students each.",
            ),
            (
                "Winter 2024",
                "Volunteers checked in at lunch.",
                "Lunch was noisy and students avoided being seen.",
                "Moved to the advisory door, before the day starts.",
            ),
        ],
        "failures": [
            (
                "Texting families an automated absence message.",
                "Families ignored it; some complained it felt like surveillance.",
                "No relationship behind the message.",
                "A call from a named adult works; automation does not replace it.",
            ),
            (
                "Rewarding perfect attendance with prizes.",
                "Students who were already attending won; flagged students disengaged.",
                "It rewarded the wrong group.",
                "Recognise improvement, not perfection.",
            ),
        ],
    },
    {
        "title": "Reading conferences with a one-page tracker",
        "summary": "Four-minute one-to-one reading conferences during independent reading, logged on a single page per student.",
        "intent": "Give every student a personal reading goal and a weekly conversation about it, especially quiet readers who fall through whole-class instruction.",
        "description": "While the class reads independently, I hold four-minute conferences with five or six students. Each conference: listen to a page, one compliment, one teaching point, one goal written on the student's tracker.",
        "context": "Second grade, 22 students, 30 minutes of independent reading daily; classroom library levelled loosely.",
        "depends_on": "Students able to read independently for 20 minutes, which takes about six weeks of building stamina.",
        "core": "One teaching point per conference, written down where the student can see it.",
        "adaptable": "Length, how you pick students, paper or digital trackers.",
        "impact": "Running records show 17 of 22 students met or exceeded their mid-year benchmark, up from 11 the year before.",
        "tags": ["reading", "conferring", "literacy"],
        "subjects": ["english-language-arts"],
        "grades": ["k-2"],
        "evidence": ["assessment-data", "observation"],
        "iterations": [
            (
                "August",
                "Ten-minute conferences.",
                "I reached each student only every two weeks.",
                "Cut to four minutes with a strict routine.",
            ),
            (
                "November",
                "Trackers kept in my binder.",
                "Students forgot their goals between conferences.",
                "Trackers now live in each student's book bin.",
            ),
            (
                "February",
                "Peer conferences on Fridays.",
                "Partners used the compliment-teaching point language on their own.",
                "Kept Friday peer conferences and taught the language explicitly.",
            ),
        ],
        "failures": [
            (
                "Conferring while also running a guided reading group.",
                "Both were rushed and the class got loud.",
                "Too many moving parts at once.",
                "Pick one: conferences or guided groups in a given block.",
            ),
        ],
    },
    {
        "title": "Lab notebooks with claim–evidence–reasoning",
        "summary": "Every lab ends with a claim, the evidence that supports it and the reasoning that links them, scored with a four-point rubric students helped write.",
        "intent": "Move students from describing what happened in a lab to arguing from evidence, the skill the state science assessment and college labs both ask for.",
        "description": "Students keep a bound lab notebook. After each investigation they write a claim, two pieces of evidence from their data, and reasoning that names the science idea. Peers score with the rubric before I do.",
        "context": "Seventh-grade science, 50-minute periods, shared lab materials across three classes.",
        "depends_on": "Labs designed to produce data students can argue from, not recipe labs.",
        "core": "Claim, evidence, reasoning — in that order, every lab.",
        "adaptable": "Notebook format, rubric wording, how often peers score.",
        "impact": "Share of students scoring 3 or 4 on reasoning rose from 22% in September to 58% in April.",
        "tags": ["science", "argumentation", "writing across the curriculum"],
        "subjects": ["science"],
        "grades": ["6-8"],
        "evidence": ["student-work", "assessment-data"],
        "iterations": [
            (
                "Quarter 1",
                "CER once per unit, as a test question.",
                "Students froze; reasoning was a restatement of the claim.",
                "Moved CER into every lab, low stakes.",
            ),
            (
                "Quarter 2",
                "Sentence starters for reasoning.",
                "Writing improved but became formulaic.",
                "Faded the starters after four labs.",
            ),
        ],
        "failures": [
            (
                "Typing notebooks on shared laptops.",
                "Half the period went to logging in and finding files.",
                "Device logistics in a lab room.",
                "Paper notebooks for labs; devices for research only.",
            ),
        ],
    },
    {
        "title": "Student-led conferences in place of parent nights",
        "summary": "Students lead a 20-minute conference with their family, presenting work they chose and their own goals.",
        "intent": "Raise family attendance at conferences and give students ownership of their learning story, especially families who rarely come to school.",
        "description": "Students prepare a portfolio of three pieces with reflections over two weeks of advisory. At the conference they present; the teacher joins for the last five minutes.",
        "context": "K–8 school, 540 students, 83% free or reduced lunch; many families work evenings.",
        "depends_on": "Flexible scheduling including early mornings and a Saturday slot; interpreters booked in advance.",
        "core": "The student speaks first and chooses the work.",
        "adaptable": "Portfolio format, length, how many conferences run at once in a room.",
        "impact": "Family attendance at conferences rose from 46% to 81%; students' goal-setting scores on our SEL survey rose.",
        "tags": ["family engagement", "student agency", "portfolios"],
        "subjects": ["whole-school"],
        "grades": ["k-2", "3-5", "6-8"],
        "evidence": ["attendance-behaviour", "student-voice"],
        "iterations": [
            (
                "Year 1",
                "Only grades 6–8.",
                "Older students loved it; teachers of younger grades asked to join.",
                "Extended to all grades with simpler portfolios for K–2.",
            ),
            (
                "Year 2",
                "Three families per room at once.",
                "Rooms got loud; families could not hear.",
                "Two per room and used the library and gym.",
            ),
        ],
        "failures": [
            (
                "Evening-only conference slots.",
                "Attendance barely moved.",
                "Many families work evenings.",
                "Offer mornings and a Saturday slot.",
            ),
            (
                "Scripted presentations students memorised.",
                "Students recited and families could not ask questions.",
                "The script took ownership away.",
                "Use a prompt card, not a script.",
            ),
        ],
    },
    {
        "title": "Math talks: number strings to open class",
        "summary": "A ten-minute string of related problems students solve mentally and explain, to build flexible strategies.",
        "intent": "Build number sense and the habit of explaining reasoning, for students who rely on a single memorised procedure.",
        "description": "I write one problem at a time; students solve mentally, show a thumb when ready, and share strategies I record as a poster. Each problem builds on the last.",
        "context": "Sixth-grade math, inclusion classes with co-teacher.",
        "depends_on": "A culture where wrong answers are discussed without embarrassment.",
        "core": "Mental solving and students explaining, not the teacher.",
        "adaptable": "The strings, length, how strategies are recorded.",
        "impact": "Students using more than one strategy on the district fluency check rose from 30% to 64%.",
        "tags": ["math", "number sense", "discourse"],
        "subjects": ["mathematics"],
        "grades": ["6-8", "3-5"],
        "evidence": ["observation", "assessment-data"],
        "iterations": [
            (
                "Fall",
                "Daily number strings of eight problems.",
                "Too long; attention faded after five.",
                "Cut to four or five problems.",
            ),
            (
                "Spring",
                "Students wrote their own strings.",
                "Stronger students made strings too hard for peers.",
                "Pair writing, teacher checks the string first.",
            ),
        ],
        "failures": [
            (
                "Calling on hands only.",
                "The same five students explained every day.",
                "Confident students dominated.",
                "Use turn-and-talk before sharing, then cold-call warmly.",
            ),
        ],
    },
    {
        "title": "Newcomer buddy week for English learners",
        "summary": "Newly arrived English learners spend their first week with a trained student buddy who speaks their language when possible.",
        "intent": "Help newcomers feel safe and oriented in their first week, so they attend and participate sooner.",
        "description": "The counselor pairs each newcomer with a buddy from a trained pool. The buddy walks the schedule, eats lunch with them and introduces them to two teachers a day.",
        "context": "Middle school with 40 languages spoken; newcomers arrive all year.",
        "depends_on": "A pool of trained buddies and a counselor who owns the pairing.",
        "core": "A named buddy for the whole first week.",
        "adaptable": "Training, length beyond a week, language matching.",
        "impact": "First-month attendance of newcomers rose from 84% to 95%; newcomers reported knowing an adult to ask for help.",
        "tags": ["english learners", "belonging", "peer support"],
        "subjects": ["english-learners", "social-emotional-learning"],
        "grades": ["6-8"],
        "evidence": ["attendance-behaviour", "student-voice"],
        "iterations": [
            (
                "Semester 1",
                "Buddies picked by teachers on the day.",
                "Unprepared buddies abandoned newcomers by Wednesday.",
                "Built a trained pool with a one-hour training.",
            ),
        ],
        "failures": [
            (
                "Matching only by language.",
                "Some pairs had nothing else in common and drifted apart.",
                "Language alone did not build connection.",
                "Match on interests too; language is a bonus.",
            ),
        ],
    },
    {
        "title": "Teacher learning walks with a single focus",
        "summary": "Small groups of teachers visit three classrooms for ten minutes each, looking only for evidence on one agreed question.",
        "intent": "Let teachers learn from colleagues' classrooms without the feeling of evaluation, building a shared picture of practice across the school.",
        "description": "Monthly, four teachers and a coach choose a focus question, visit three classrooms, note evidence (not judgement), and debrief for 20 minutes. Hosts get a thank-you note with what visitors noticed.",
        "context": "Elementary school of 420 students; coverage from the principal and coach.",
        "depends_on": "Coverage for visiting teachers and trust that notes are never used for evaluation.",
        "core": "One focus question and evidence, not judgement.",
        "adaptable": "Group size, frequency, how hosts are chosen.",
        "impact": "Teachers report trying a colleague's strategy after 70% of walks; observed use of think-pair-share doubled.",
        "tags": ["professional learning", "instructional rounds", "collaboration"],
        "subjects": ["whole-school"],
        "grades": ["adult"],
        "evidence": ["observation"],
        "iterations": [
            (
                "Fall",
                "Open-ended walks: 'what do you notice?'",
                "Debriefs drifted into opinions about colleagues.",
                "Introduced one focus question per walk.",
            ),
            (
                "Winter",
                "Principal joined every walk.",
                "Teachers were guarded with the principal present.",
                "Principal covers classes instead of walking.",
            ),
        ],
        "failures": [
            (
                "Sharing walk notes in the staff newsletter.",
                "Hosts felt exposed and volunteers dried up.",
                "Public notes felt like evaluation.",
                "Notes go only to the host, as a thank-you.",
            ),
        ],
    },
]


def _facets() -> dict[str, Facet]:
    return {facet.slug: facet for facet in Facet.objects.all()}


def _text_fields(entry: BankEntry) -> dict[str, str]:
    """The entry's text as a practice's fields."""
    return {
        "title": entry["title"],
        "summary": entry["summary"],
        "intent": entry["intent"],
        "description": entry["description"],
        "context": entry["context"],
        "depends_on": entry["depends_on"],
        "core_elements": entry["core"],
        "adaptable_elements": entry["adaptable"],
        "impact": entry["impact"],
    }


def _iterations(practice: Practice, rows: list[IterationRow]) -> list[Iteration]:
    return [
        Iteration(practice=practice, position=position, when=when, tried=tried, observed=observed, changed=changed)
        for position, (when, tried, observed, changed) in enumerate(rows, start=1)
    ]


def _failures(practice: Practice, rows: list[FailureRow]) -> list[Failure]:
    return [
        Failure(practice=practice, position=position, tried=tried, what_happened=happened, why=why, lesson=lesson)
        for position, (tried, happened, why, lesson) in enumerate(rows, start=1)
    ]


def _add(
    practice: Practice,
    entry: BankEntry,
    facets: dict[str, Facet],
    *,
    iterations: list[IterationRow],
    failures: list[FailureRow],
) -> None:
    # Saved one by one, so each row joins the demo's revision in the history.
    for row in [*_iterations(practice, iterations), *_failures(practice, failures)]:
        row.save()
    practice.facets.set(
        [facets[slug] for slug in entry["subjects"] + entry["grades"] + entry["evidence"] if slug in facets]
    )
    practice.tags.set(entry["tags"])
    practice_refresh_derived(practice)


def _practice_from(entry: BankEntry, *, author: User, published_at: datetime, **overrides: Any) -> Practice:
    if author.school is None:
        raise ValueError(f"{author} writes no practices: they have no school.")
    fields: dict[str, Any] = {
        **_text_fields(entry),
        "school": author.school,
        "author": author,
        "status": Status.PUBLISHED,
        "visibility": Visibility.DISTRICT,
        "published_at": published_at,
        "created_at": published_at - timedelta(days=3),
        "updated_at": published_at,
    }
    fields.update(overrides)
    return Practice.objects.create(**fields)


@transaction.atomic
def seed_practices(*, rng: random.Random) -> int:
    """The small demo: each bank entry at a school that fits it, adaptations elsewhere, adoptions."""
    if Practice.objects.exists():
        return 0
    facets = _facets()
    now = timezone.now()
    teachers = list(
        User.objects.filter(role=Role.TEACHER, is_active=True).select_related("school").order_by("username")
    )
    named = {
        user.username: user for user in User.objects.filter(username__in=["teacher", "teacher2", "principal", "leader"])
    }
    by_level: dict[str, list[User]] = {}
    for teacher in teachers:
        if teacher.school is not None:
            by_level.setdefault(teacher.school.level, []).append(teacher)

    preferred_level = [
        SchoolLevel.ELEMENTARY,
        SchoolLevel.HIGH,
        SchoolLevel.ELEMENTARY,
        SchoolLevel.MIDDLE,
        SchoolLevel.K8,
        SchoolLevel.MIDDLE,
        SchoolLevel.MIDDLE,
        SchoolLevel.ELEMENTARY,
    ]
    created = []
    with reversion.create_revision():
        for index, entry in enumerate(BANK):
            if index == 0 and "teacher" in named:
                author = named["teacher"]
            elif index == 7 and "principal" in named:
                author = named["principal"]
            else:
                pool = by_level.get(preferred_level[index]) or teachers
                author = pool[index % len(pool)]
            published_at = now - timedelta(days=200 - index * 20)
            practice = _practice_from(
                entry,
                author=author,
                published_at=published_at,
                anonymous=index == 4,
                visibility=Visibility.SCHOOL if index == 6 else Visibility.DISTRICT,
            )
            _add(practice, entry, facets, iterations=entry["iterations"], failures=entry["failures"])
            created.append((practice, published_at))
        reversion.set_comment("Demo data")

    # Adaptations across schools, with what was changed and why.
    adaptations = [
        (
            0,
            "teacher2",
            "We teach in 45-minute periods, so the regrouping moved to the last ten minutes of the next day.",
        ),
        (0, None, "Used mini-whiteboards instead of paper so sorting happens during class."),
        (
            2,
            None,
            "Our third graders run the conferences in pairs twice a week; I confer with the students furthest behind.",
        ),
        (5, "teacher2", "Added a written reflection at the end because our students needed more writing practice."),
    ]
    for offset, (source_index, username, change) in enumerate(adaptations):
        original, original_published_at = created[source_index]
        adapter = named.get(username) if username else None
        if adapter is None:
            others = [t for t in teachers if t.school_id != original.school_id]
            adapter = others[(offset * 7) % len(others)]
        entry = BANK[source_index]
        adaptation = _practice_from(
            entry,
            author=adapter,
            published_at=original_published_at + timedelta(days=30 + offset * 9),
            title=f"{entry['title']} — {adapter.school} version",
            adapted_from=original,
            lineage_root=original.lineage_root or original,
            adaptation_changes=change,
        )
        _add(adaptation, entry, facets, iterations=entry["iterations"][:1], failures=entry["failures"][:1])

    # A draft in progress and adoptions reported back.
    drafter = named.get("teacher", teachers[0])
    if drafter.school is not None:
        Practice.objects.create(
            title="Restorative circles after recess conflicts",
            summary="Work in progress.",
            school=drafter.school,
            author=drafter,
            status=Status.DRAFT,
        )
    statuses = [
        AdoptionStatus.TRYING,
        AdoptionStatus.ADOPTED,
        AdoptionStatus.TRYING,
        AdoptionStatus.STOPPED,
        AdoptionStatus.ADOPTED,
    ]
    for index, (practice, published_at) in enumerate(created):
        others = [t for t in teachers if t.school_id != practice.school_id]
        for n in range(index % 4 + 1):
            adopter = others[(index * 5 + n * 3) % len(others)]
            _adoption_story(
                practice,
                adopter,
                statuses[(index + n) % len(statuses)],
                started=published_at + timedelta(days=14 + n * 5),
                rng=rng,
            )
    _conversations(created=[practice for practice, _published_at in created], named=named, now=now)
    leader = named.get("leader")
    for (practice, _published_at), note in (
        (created[1], "Cut chronic absence among ninth graders by a third, and documented what did not work."),
        (created[7], "A model for learning from colleagues without evaluation."),
    ):
        practice.featured_at = now - timedelta(days=10)
        practice.featured_by = leader
        practice.featured_note = note
        practice.save(update_fields=["featured_at", "featured_by", "featured_note"])
    return Practice.objects.count()


# What colleagues report back, step by step: (status, notes).
STORY_STEPS: dict[str, list[tuple[str, str]]] = {
    AdoptionStatus.TRYING: [(AdoptionStatus.TRYING, "Started with one class to see how students take to it.")],
    AdoptionStatus.ADOPTED: [
        (AdoptionStatus.TRYING, "Started with one class to see how students take to it."),
        (AdoptionStatus.TRYING, "Week three: shortened it to fit our periods; students ask for it now."),
        (AdoptionStatus.ADOPTED, "Now in all my classes. Kept the core, changed the timing."),
    ],
    AdoptionStatus.STOPPED: [
        (AdoptionStatus.TRYING, "Started with one class to see how students take to it."),
        (
            AdoptionStatus.STOPPED,
            "Stopped after four weeks: our 45-minute periods left no time to regroup the next day, and "
            "students stopped taking the tickets seriously once nothing came of them.",
        ),
    ],
}


def _adoption_story(practice: Practice, adopter: User, status: str, *, started: datetime, rng: random.Random) -> None:
    """An adoption with its dated timeline of reports, as a colleague reported back over weeks."""
    steps = STORY_STEPS[status]
    adoption, created = Adoption.objects.get_or_create(
        practice=practice,
        user=adopter,
        defaults={"school": adopter.school, "status": steps[-1][0], "notes": steps[-1][1]},
    )
    if not created:
        return
    AdoptionReport.objects.bulk_create(
        AdoptionReport(
            adoption=adoption, status=step, notes=notes, created_at=started + timedelta(days=n * rng.randint(8, 20))
        )
        for n, (step, notes) in enumerate(steps)
    )
    Adoption.objects.filter(pk=adoption.pk).update(updated_at=started + timedelta(days=len(steps) * 10))


def _conversations(*, created: list[Practice], named: dict[str, User], now: datetime) -> None:
    """Questions and answers (one to an anonymous author, answered as "the author"), collections
    private and shared, follows, and the notices people would have had. Written directly: a demo
    sends nobody an e-mail."""
    teacher, teacher2, principal = named.get("teacher"), named.get("teacher2"), named.get("principal")
    if teacher is None or teacher2 is None or principal is None:
        return
    exit_tickets, anonymous_entry, conferences = created[0], created[4], created[2]
    asked = [
        (
            exit_tickets,
            teacher2,
            "How long does the sorting take you once the tickets are in?",
            "About five minutes: I sort while they pack up, and only into three piles.",
        ),
        (
            anonymous_entry,
            teacher,
            "Did you tell families about the change before you started?",
            "Yes, a short note home the week before, and we answered questions at the open house.",
        ),
        (conferences, teacher2, "What do the other students do while you confer?", ""),
    ]
    for practice, asker, text, answer in asked:
        Question.objects.get_or_create(
            practice=practice,
            asker=asker,
            text=text,
            defaults={
                "asked_at": now - timedelta(days=6),
                "answer": answer,
                "answered_at": now - timedelta(days=4) if answer else None,
            },
        )
    private, _created = Collection.objects.get_or_create(
        owner=teacher, name="Try next semester", defaults={"description": "Ideas for the spring term."}
    )
    team, _created = Collection.objects.get_or_create(
        owner=teacher,
        name="Grade 4 math PLC",
        defaults={"description": "What our PLC is trying this year.", "sharing": CollectionSharing.TEAM},
    )
    team.members.add(teacher2, principal)
    school_wide, _created = Collection.objects.get_or_create(
        owner=principal,
        name="Our school's starting points",
        defaults={"sharing": CollectionSharing.SCHOOL, "school": principal.school},
    )
    for collection, practice, note in [
        (private, created[5], "Ask about the reflection prompts."),
        (private, created[3], ""),
        (team, exit_tickets, "Our starting point: compare with the Riverside version."),
        (team, created[1], "Could work for our attendance goal."),
        (school_wide, created[2], "Read before the staff meeting."),
    ]:
        CollectionItem.objects.get_or_create(
            collection=collection, practice=practice, defaults={"note": note, "added_by": collection.owner}
        )
    tag = Tag.objects.filter(name="formative assessment").first()
    for target in (
        {"tag": tag} if tag is not None else None,
        {"school": teacher2.school},
        {"person": teacher2},
        {"practice": created[2]},
    ):
        if target is not None:
            Follow.objects.get_or_create(user=teacher, **target)
    notices = [
        Notification(
            recipient=exit_tickets.author,
            kind=NotificationKind.QUESTION,
            text=f"{display_name(teacher2)} at {teacher2.school} asked about your practice “{exit_tickets.title}”",
            url=reverse("practices:questions", args=[exit_tickets.pk]),
            about_type=Practice._meta.label_lower,
            about_id=exit_tickets.pk,
            created_at=now - timedelta(days=6),
            read_at=now - timedelta(days=5),
        ),
        Notification(
            recipient=teacher,
            kind=NotificationKind.ANSWER,
            text=f"The author answered your question about “{anonymous_entry.title}”",
            url=reverse("practices:questions", args=[anonymous_entry.pk]),
            about_type=Practice._meta.label_lower,
            about_id=anonymous_entry.pk,
            created_at=now - timedelta(days=4),
        ),
    ]
    for adoption in Adoption.objects.filter(practice=exit_tickets).select_related("user", "user__school"):
        notices.append(
            Notification(
                recipient=exit_tickets.author,
                kind=NotificationKind.ADOPTION,
                text=adoption_notice_text(
                    practice=exit_tickets,
                    status=adoption.status,
                    notes=adoption.notes,
                    actor=adoption.user,
                    reader=exit_tickets.author,
                ),
                url=exit_tickets.get_absolute_url(),
                about_type=Practice._meta.label_lower,
                about_id=exit_tickets.pk,
                created_at=adoption.updated_at,
            )
        )
    if not Notification.objects.filter(recipient__in=[teacher, exit_tickets.author]).exists():
        Notification.objects.bulk_create(notices)


LARGE_PRACTICE_COUNT = 50_000
LARGE_ITERATION_COUNT = 150_000
LARGE_FAILURE_COUNT = 60_000


def _bulk_inputs() -> tuple[list[Facet], list[tuple[int, int]], list[Tag]]:
    """What the bulk seeders draw from: the facets, each teacher with their school, and the
    bank's tags (made when missing)."""
    facets = list(Facet.objects.all())
    teachers = list(User.objects.filter(role=Role.TEACHER).values_list("pk", "school_id"))
    tags = [
        Tag.objects.get_or_create(name=name, defaults={"slug": name.replace(" ", "-")})[0]
        for name in sorted({t for e in BANK for t in e["tags"]})
    ]
    return facets, teachers, tags


def seed_practices_large(*, rng: random.Random) -> int:
    """District scale for benchmarks, with bulk inserts. Each entry carries what the portal
    would store for it: its search document, tags as text and counts are built as a save
    builds them, from the rows inserted with it. (Their words are the small demo's, already in
    the search's word list.)"""
    practices, iterations, failures = LARGE_PRACTICE_COUNT, LARGE_ITERATION_COUNT, LARGE_FAILURE_COUNT
    existing = Practice.objects.count()
    if existing >= practices:
        return existing
    facets, teachers, tags = _bulk_inputs()
    content_type = ContentType.objects.get_for_model(Practice)
    now = timezone.now()
    batch = 2000
    to_make = practices - existing
    per_practice_iterations = iterations / practices
    per_practice_failures = failures / practices
    made = 0
    while made < to_make:
        size = min(batch, to_make - made)
        rows: list[Practice] = []
        iteration_rows: list[Iteration] = []
        failure_rows: list[Failure] = []
        facet_links: list[tuple[Practice, list[Facet]]] = []
        tag_links: list[tuple[Practice, list[Tag]]] = []
        for n in range(size):
            entry = BANK[(existing + made + n) % len(BANK)]
            author_id, school_id = teachers[rng.randrange(len(teachers))]
            published = now - timedelta(days=rng.randint(0, 1000), minutes=rng.randint(0, 1440))
            n_iter = int(per_practice_iterations) + (1 if rng.random() < per_practice_iterations % 1 else 0)
            n_fail = int(per_practice_failures) + (1 if rng.random() < per_practice_failures % 1 else 0)
            status = Status.PUBLISHED if rng.random() < 0.9 else rng.choice([Status.DRAFT, Status.ARCHIVED])
            chosen_facets = rng.sample(facets, 3)
            chosen_tags = rng.sample(tags, 2)
            text = _text_fields(entry) | {"title": f"{entry['title']} ({existing + made + n + 1})"}
            practice = Practice(
                **text,
                school_id=school_id,
                author_id=author_id,
                status=status,
                visibility=Visibility.DISTRICT if rng.random() < 0.8 else Visibility.SCHOOL,
                anonymous=rng.random() < 0.1,
                published_at=published if status != Status.DRAFT else None,
                created_at=published - timedelta(days=2),
                updated_at=published,
                tag_names=tag_names_text(tag.name for tag in chosen_tags),
                iteration_count=n_iter,
                failure_count=n_fail,
            )
            its = _iterations(practice, [entry["iterations"][i % len(entry["iterations"])] for i in range(n_iter)])
            fails = _failures(practice, [entry["failures"][i % len(entry["failures"])] for i in range(n_fail)])
            practice.search_document = practice.build_search_document(
                facets=chosen_facets, iterations=its, failures=fails
            )
            rows.append(practice)
            iteration_rows += its
            failure_rows += fails
            facet_links.append((practice, chosen_facets))
            tag_links.append((practice, chosen_tags))
        with transaction.atomic():
            # The practices get their ids here, which their iterations and failures then take.
            Practice.objects.bulk_create(rows)
            Iteration.objects.bulk_create(iteration_rows, batch_size=5000)
            Failure.objects.bulk_create(failure_rows, batch_size=5000)
            Practice.facets.through.objects.bulk_create(
                [
                    Practice.facets.through(practice_id=p.pk, facet_id=f.pk)
                    for p, chosen_facets in facet_links
                    for f in chosen_facets
                ],
                batch_size=5000,
                ignore_conflicts=True,
            )
            TaggedItem.objects.bulk_create(
                [
                    TaggedItem(content_type=content_type, object_id=p.pk, tag=t)
                    for p, chosen_tags in tag_links
                    for t in chosen_tags
                ],
                batch_size=5000,
            )
        made += size
    return Practice.objects.count()


# The largest US district, in the large scale's proportions (three iterations and 1.2
# failures an entry).
XL_PRACTICE_COUNT = 500_000
XL_ITERATION_COUNT = 1_500_000
XL_FAILURE_COUNT = 600_000
XL_BATCH = 5_000
# The full-text index of migration 0004, built again after a load (PostgreSQL).
SEARCH_INDEX = "CREATE INDEX IF NOT EXISTS practice_search_vector_gin ON practices_practice USING GIN (search_vector)"

PRACTICE_COLUMNS = (
    "id",
    "title",
    *(name for name in Practice.TEXT_FIELDS if name not in ("title", "adaptation_changes")),
    "school_id",
    "author_id",
    "status",
    "visibility",
    "anonymous",
    "published_at",
    "created_at",
    "updated_at",
    "tag_names",
    "search_document",
    "iteration_count",
    "failure_count",
)


def seed_practices_xl(
    *,
    rng: random.Random,
    practices: int | None = None,
    iterations: int | None = None,
    failures: int | None = None,
) -> int:
    """The largest scale, streamed: each batch of entries is drawn as plain rows, written with
    its iterations, failures, terms and tags (COPY on PostgreSQL), and let go. Each entry
    carries what a save would store for it: its search document (from which PostgreSQL
    generates the search vector), tags as text and its counts; the words of the entries join
    the search's word list. Adds entries up to `practices` in all, so a second run adds none."""
    practices = XL_PRACTICE_COUNT if practices is None else practices
    iterations = XL_ITERATION_COUNT if iterations is None else iterations
    failures = XL_FAILURE_COUNT if failures is None else failures
    existing = Practice.objects.count()
    if existing >= practices:
        return existing
    facets, teachers, tags = _bulk_inputs()
    content_type_id = ContentType.objects.get_for_model(Practice).pk
    # One unsaved entry per bank entry builds the documents: only its title and tags change.
    # The rows an entry may carry are built once too (the document reads only their text).
    templates = [Practice(**_text_fields(entry)) for entry in BANK]
    most_iterations = -(-iterations // practices)
    most_failures = -(-failures // practices)
    iteration_rows = [
        _iterations(template, [entry["iterations"][i % len(entry["iterations"])] for i in range(most_iterations)])
        for template, entry in zip(templates, BANK, strict=True)
    ]
    failure_rows = [
        _failures(template, [entry["failures"][i % len(entry["failures"])] for i in range(most_failures)])
        for template, entry in zip(templates, BANK, strict=True)
    ]
    for template, its, fails in zip(templates, iteration_rows, failure_rows, strict=True):
        template.tag_names = tag_names_text(tag.name for tag in tags)
        remember_words(template.build_search_document(facets=facets, iterations=its, failures=fails))

    now = timezone.now()
    per_iterations, per_failures = iterations / practices, failures / practices
    first_id = next_id(Practice)
    to_make = practices - existing
    # The full-text index is built once at the end; PostgreSQL computes each entry's search
    # vector (a generated column) from its document as the rows arrive.
    with indexes_set_aside(Practice, {"practice_search_vector_gin": SEARCH_INDEX}), BatchWriter() as writer:
        for start in range(0, to_make, XL_BATCH):
            entries, iteration_copy, failure_copy, facet_links, tag_links = [], [], [], [], []
            for offset in range(start, min(start + XL_BATCH, to_make)):
                pk, number = first_id + offset, existing + offset
                index = number % len(BANK)
                template = templates[index]
                author_id, school_id = teachers[rng.randrange(len(teachers))]
                published = now - timedelta(days=rng.randint(0, 1000), minutes=rng.randint(0, 1440))
                n_iter = int(per_iterations) + (1 if rng.random() < per_iterations % 1 else 0)
                n_fail = int(per_failures) + (1 if rng.random() < per_failures % 1 else 0)
                status = Status.PUBLISHED if rng.random() < 0.9 else rng.choice([Status.DRAFT, Status.ARCHIVED])
                chosen_facets = rng.sample(facets, 3)
                chosen_tags = rng.sample(tags, 2)
                template.title = f"{BANK[index]['title']} ({number + 1})"
                template.tag_names = tag_names_text(tag.name for tag in chosen_tags)
                its, fails = iteration_rows[index][:n_iter], failure_rows[index][:n_fail]
                entries.append(
                    (
                        pk,
                        template.title,
                        *(getattr(template, name) for name in PRACTICE_COLUMNS[2:10]),
                        school_id,
                        author_id,
                        status,
                        Visibility.DISTRICT if rng.random() < 0.8 else Visibility.SCHOOL,
                        rng.random() < 0.1,
                        published if status != Status.DRAFT else None,
                        published - timedelta(days=2),
                        published,
                        template.tag_names,
                        template.build_search_document(facets=chosen_facets, iterations=its, failures=fails),
                        n_iter,
                        n_fail,
                    )
                )
                iteration_copy += [(pk, it.position, it.when, it.tried, it.observed, it.changed) for it in its]
                failure_copy += [(pk, f.position, f.tried, f.what_happened, f.why, f.lesson) for f in fails]
                facet_links += [(pk, facet.pk) for facet in chosen_facets]
                tag_links += [(tag.pk, content_type_id, pk) for tag in chosen_tags]
            writer.write(partial(_write_batch, entries, iteration_copy, failure_copy, facet_links, tag_links))
    reset_sequences(Practice)
    return Practice.objects.count()


def _write_batch(
    entries: list[tuple[Any, ...]],
    iterations: list[tuple[Any, ...]],
    failures: list[tuple[Any, ...]],
    facet_links: list[tuple[int, int]],
    tag_links: list[tuple[int, int, int]],
) -> None:
    insert_rows(Practice, PRACTICE_COLUMNS, entries)
    insert_rows(Iteration, ("practice_id", "position", "when", "tried", "observed", "changed"), iterations)
    insert_rows(Failure, ("practice_id", "position", "tried", "what_happened", "why", "lesson"), failures)
    insert_rows(Practice.facets.through, ("practice_id", "facet_id"), facet_links)
    insert_rows(TaggedItem, ("tag_id", "content_type_id", "object_id"), tag_links)
