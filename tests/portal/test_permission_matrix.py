"""Who may do what: every address, sent by an anonymous visitor and by each persona, with GET and,
where it takes one, with POST, and the answer expected of each. A POST's row also says what it
changes in the database: a redirect means the change was made, any other answer (a refusal, the
form again with its errors) means the database is as it was, unless the row names who changes it
(signing out redirects everyone to sign in). Every answer carries the security headers.

The personas: the author of the entries (a teacher at the host school), the principal of that
school (who hosts the showcase), a district leader, district staff, and a teacher of another
school (who asked to visit). An anonymous visitor is sent to sign in everywhere but the pages
marked `login_not_required`.

One table, `MATRIX`, holds every rule. A URL added without a row fails
`test_every_url_is_in_the_matrix`; one that takes a POST without its POST row fails
`test_every_post_address_has_its_post_row`.
"""

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

import pytest
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpResponse, HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from reversion.models import Version

from portal.models import OneRosterRun, OneRosterRunStatus, School, User
from portal.notifications.models import Notification, NotificationKind, NotificationSettings
from portal.notifications.services import notify, unsubscribe_token
from portal.oneroster import oneroster_run_check, oneroster_run_start
from practices.models import (
    Adoption,
    AdoptionStatus,
    Collection,
    CollectionItem,
    CollectionSharing,
    Failure,
    Follow,
    Practice,
    Question,
    Status,
    Visibility,
)
from practices.services import adoption_record
from showcases.models import (
    Attendance,
    CalendarFeed,
    RequestStatus,
    SessionMessage,
    Showcase,
    ShowcaseStatus,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
)
from surveys.models import Cycle, ImportBatch, Response
from surveys.services import IMPORT_COLUMNS, responses_import
from tests.factories import TEST_PASSWORD, PracticeFactory, PrincipalFactory, TeacherFactory, VisitSlotFactory
from tests.portal.helpers import assert_security_headers
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db

SIGN_IN: Final = "sign in"
"""The answer to an anonymous visitor: a redirect to the sign-in page."""

Expected = int | Literal["sign in"]
Objects = dict[str, Any]

PERSONAS = ("anonymous", "teacher", "principal", "leader", "staff", "other_teacher")


def row(*answers: Expected) -> dict[str, Expected]:
    """The answers, in the order of PERSONAS."""
    return dict(zip(PERSONAS, answers, strict=True))


def signed_in_all(status: Expected) -> dict[str, Expected]:
    """The same answer for every persona signed in; an anonymous visitor is sent to sign in."""
    return row(SIGN_IN, *[status] * (len(PERSONAS) - 1))


ALL_200 = signed_in_all(200)
POST_ONLY = signed_in_all(405)


@dataclass(frozen=True)
class Post:
    expected: dict[str, Expected]
    data: Callable[[Objects], dict[str, Any]]
    effect: Callable[[Objects], object]
    """What the POST would change, read before and after it."""
    changed_by: frozenset[str] | None = None
    """Who changes it; when not given, those answered with a redirect (302)."""


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    get: dict[str, Expected]
    post: Post | None = None


def _unconfigured_provider(name: str, path: str) -> Route:
    """A single sign-on address of a provider that is not configured: not found, whatever is sent."""
    not_found: dict[str, Expected] = dict.fromkeys(PERSONAS, 404)
    return Route(name, path, not_found, Post(not_found, lambda o: {}, lambda o: Session.objects.count()))


def _count(model: type[Model], **filters: Any) -> int:
    return model._default_manager.filter(**filters).count()


def _showcase_form(o: Objects, **fields: str) -> dict[str, str]:
    starts = (timezone.localtime() + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
    ends = (timezone.localtime() + timedelta(days=9, hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "Student-led conferences",
        "description": "Students lead.",
        "impact": "More families come.",
        "evidence": "Sign-in sheets.",
        "focus_question": "How do students talk?",
        "host_school": str(o["host_school"]),
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-starts_at": starts,
        "slots-0-ends_at": ends,
        "slots-0-capacity": "5",
        "slots-0-location": "Library",
        "action": "publish",
        **fields,
    }


def _quiet_showcase_form(o: Objects, **fields: str) -> dict[str, str]:
    showcase = Showcase.objects.get(pk=o["quiet_showcase"])
    slot = showcase.slots.get()
    return {
        "title": showcase.title,
        "description": showcase.description,
        "impact": showcase.impact,
        "evidence": showcase.evidence,
        "focus_question": showcase.focus_question,
        "host_school": str(showcase.host_school_id),
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "1",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-id": str(slot.pk),
        "slots-0-starts_at": timezone.localtime(slot.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "slots-0-ends_at": timezone.localtime(slot.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "slots-0-capacity": str(slot.capacity),
        "slots-0-location": slot.location,
        **fields,
    }


def _survey_text(position: str = "3") -> str:
    cells = dict.fromkeys(IMPORT_COLUMNS, "") | {"role": "principal", "q1_position": position}
    return ",".join(IMPORT_COLUMNS) + "\n" + ",".join(cells[column] for column in IMPORT_COLUMNS) + "\n"


def _survey_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("old.csv", _survey_text("4").encode())


def _roster_files() -> dict[str, SimpleUploadedFile]:
    schools = "slug,name,level,enrollment,frl_percent,locale\noak,Oak Elementary,elementary,410,62,city\n"
    users = "email,first_name,last_name,role,school\nada@district.org,Ada,Lovelace,teacher,oak\n"
    return {
        "schools_file": SimpleUploadedFile("schools.csv", schools.encode()),
        "users_file": SimpleUploadedFile("users.csv", users.encode()),
    }


def _oneroster_zip() -> dict[str, SimpleUploadedFile | str]:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("orgs.csv", "sourcedId,name,type\noak-1,Oak Elementary,school\n")
        files.writestr(
            "users.csv",
            "sourcedId,enabledUser,orgSourcedIds,role,givenName,familyName,email\n"
            "t-1,true,oak-1,teacher,Ada,Lovelace,ada@district.org\n",
        )
    upload = SimpleUploadedFile("export.zip", archive.getvalue(), content_type="application/zip")
    return {"export_file": upload, "district_role": "district_leader"}


def _visit_is(status: str) -> Callable[[Objects], object]:
    return lambda o: _count(VisitRequest, pk=o["pending"], status=status)


# The entry is the teacher's, shared with the whole district; the school-only entry is the
# teacher's too, shared with their school; the showcase is the principal's, and the teacher of
# another school has an approved visit to its next session, attended one past session, and waits
# for an answer to a request. Columns: anonymous, teacher, principal, leader, staff, other_teacher.
MATRIX: list[Route] = [
    Route("home", "/", ALL_200),
    Route("healthz", "/healthz", row(200, 200, 200, 200, 200, 200)),
    Route("district_dashboard", "/dashboard/", row(SIGN_IN, 403, 200, 200, 200, 403)),
    Route("district_report", "/dashboard/report.pdf", row(SIGN_IN, 403, 200, 200, 200, 403)),
    Route("school", "/schools/maple-grove/", ALL_200),
    Route(
        "roster_import",
        "/roster/import/",
        row(SIGN_IN, 403, 403, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 403, 403, 302, 403),
            lambda o: _roster_files(),
            lambda o: _count(School, slug="oak"),
        ),
    ),
    # The upload starts a run (a job checks it) and leads to its page; the run is its starter's
    # alone; the confirmation has a job import it.
    Route(
        "roster_import_oneroster",
        "/roster/import/oneroster/",
        row(SIGN_IN, 403, 403, 403, 200, 403),
        Post(row(SIGN_IN, 403, 403, 403, 302, 403), lambda o: _oneroster_zip(), lambda o: _count(OneRosterRun)),
    ),
    Route(
        "roster_import_oneroster_run",
        "/roster/import/oneroster/{oneroster_run}/",
        row(SIGN_IN, 403, 403, 403, 200, 403),
    ),
    Route(
        "roster_import_oneroster_confirm",
        "/roster/import/oneroster/{oneroster_run}/confirm/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 403, 403, 403, 302, 403),
            lambda o: {"fingerprint": OneRosterRun.objects.get(pk=o["oneroster_run"]).fingerprint},
            lambda o: _count(OneRosterRun, status=OneRosterRunStatus.IMPORTING),
        ),
    ),
    # -- Practices
    Route("practices:list", "/practices/", ALL_200),
    Route("practices:mine", "/practices/mine/", ALL_200),
    Route(
        "practices:create",
        "/practices/new/",
        row(SIGN_IN, 200, 200, 403, 403, 200),
        Post(
            row(SIGN_IN, 302, 302, 403, 403, 302),
            lambda o: practice_post(title="A new entry"),
            lambda o: _count(Practice, title="A new entry"),
        ),
    ),
    Route("practices:detail", "/practices/{practice}/", ALL_200),
    Route(
        "practices:edit",
        "/practices/{practice}/edit/",
        row(SIGN_IN, 200, 403, 403, 403, 403),
        Post(
            row(SIGN_IN, 302, 403, 403, 403, 403),
            lambda o: practice_post(title="Edited by someone"),
            lambda o: _count(Practice, pk=o["practice"], title="Edited by someone"),
        ),
    ),
    Route(
        "practices:adapt",
        "/practices/{practice}/adapt/",
        row(SIGN_IN, 403, 200, 403, 403, 200),
        Post(
            row(SIGN_IN, 403, 302, 403, 403, 302),
            lambda o: practice_post(title="An adaptation", adaptation_changes="Shorter."),
            lambda o: _count(Practice, title="An adaptation", adapted_from=o["practice"]),
        ),
    ),
    Route("practices:history", "/practices/{practice}/history/", ALL_200),
    Route(
        "practices:restore",
        "/practices/{practice}/history/{version}/restore/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 403, 403, 403, 403),
            lambda o: {},
            lambda o: Version.objects.get_for_object_reference(Practice, o["practice"]).count(),
        ),
    ),
    Route(
        "practices:adopt",
        "/practices/{practice}/adopt/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 403, 302, 302, 302, 302),
            lambda o: {"adoption-status": "trying", "adoption-notes": "Week one."},
            lambda o: _count(Adoption, practice=o["practice"], status=AdoptionStatus.TRYING),
        ),
    ),
    Route(
        "practices:archive",
        "/practices/{practice}/archive/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 302, 403, 302, 403),
            lambda o: {"reason": "Out of date."},
            lambda o: _count(Practice, pk=o["practice"], status=Status.ARCHIVED),
        ),
    ),
    Route(
        "practices:unarchive",
        "/practices/{archived}/unarchive/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 302, 403, 302, 403),
            lambda o: {},
            lambda o: _count(Practice, pk=o["archived"], status=Status.ARCHIVED),
        ),
    ),
    Route(
        "practices:feature",
        "/practices/{practice}/feature/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 403, 403, 302, 302, 403),
            lambda o: {"note": "Clear steps and honest failures."},
            lambda o: _count(Practice, pk=o["practice"], featured_at__isnull=False),
        ),
    ),
    Route("practices:attachment", "/practices/{practice}/attachments/{attachment}/", ALL_200),
    # The other teacher stopped trying the entry: only they turn that report into what did not
    # work on their adaptation; nobody else finds the report.
    Route(
        "practices:report_failure",
        "/practices/{practice}/reports/{stopped_report}/to-failure/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 404, 404, 404, 404, 302),
            lambda o: {"adaptation": o["adaptation"]},
            lambda o: _count(Failure, practice=o["adaptation"]),
        ),
    ),
    # An entry shared with its school only is not found outside it.
    Route("practices:detail", "/practices/{school_practice}/", row(SIGN_IN, 200, 200, 404, 200, 404)),
    Route(
        "practices:edit",
        "/practices/{school_practice}/edit/",
        row(SIGN_IN, 200, 403, 404, 403, 404),
        Post(
            row(SIGN_IN, 302, 403, 404, 403, 404),
            lambda o: practice_post(title="Edited by someone", visibility=Visibility.SCHOOL),
            lambda o: _count(Practice, pk=o["school_practice"], title="Edited by someone"),
        ),
    ),
    Route(
        "practices:adapt",
        "/practices/{school_practice}/adapt/",
        row(SIGN_IN, 403, 200, 404, 403, 404),
        Post(
            row(SIGN_IN, 403, 302, 404, 403, 404),
            lambda o: practice_post(title="An adaptation", adaptation_changes="Shorter.", visibility=Visibility.SCHOOL),
            lambda o: _count(Practice, title="An adaptation", adapted_from=o["school_practice"]),
        ),
    ),
    Route("practices:history", "/practices/{school_practice}/history/", row(SIGN_IN, 200, 200, 404, 200, 404)),
    Route(
        "practices:attachment",
        "/practices/{school_practice}/attachments/{school_attachment}/",
        row(SIGN_IN, 200, 200, 404, 200, 404),
    ),
    Route(
        "practices:adopt",
        "/practices/{school_practice}/adopt/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 403, 302, 404, 302, 404),
            lambda o: {"adoption-status": "trying"},
            lambda o: _count(Adoption, practice=o["school_practice"]),
        ),
    ),
    Route(
        "practices:archive",
        "/practices/{school_practice}/archive/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 302, 404, 302, 404),
            lambda o: {"reason": "Duplicate"},
            lambda o: _count(Practice, pk=o["school_practice"], status=Status.ARCHIVED),
        ),
    ),
    Route(
        "practices:feature",
        "/practices/{school_practice}/feature/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 403, 403, 404, 302, 404),
            lambda o: {"note": "Great"},
            lambda o: _count(Practice, pk=o["school_practice"], featured_at__isnull=False),
        ),
    ),
    # Questions to the teacher (the author); the other teacher asked one.
    Route(
        "practices:questions",
        "/practices/{practice}/questions/",
        ALL_200,
        Post(
            row(SIGN_IN, 403, 302, 302, 302, 302),
            lambda o: {"question-text": "How long does it take?"},
            lambda o: _count(Question, practice=o["practice"]),
        ),
    ),
    Route(
        "practices:questions",
        "/practices/{school_practice}/questions/",
        row(SIGN_IN, 200, 200, 404, 200, 404),
        Post(
            row(SIGN_IN, 403, 302, 404, 302, 404),
            lambda o: {"question-text": "Why?"},
            lambda o: _count(Question, practice=o["school_practice"]),
        ),
    ),
    Route(
        "practices:question_answer",
        "/practices/{practice}/questions/{question}/answer/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 403, 403, 403, 403),
            lambda o: {f"answer-{o['question']}-answer": "Five minutes."},
            lambda o: _count(Question, pk=o["question"], answered_at__isnull=False),
        ),
    ),
    Route(
        "practices:question_hide",
        "/practices/{practice}/questions/{question}/hide/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 403, 403, 302, 403),
            lambda o: {},
            lambda o: _count(Question, pk=o["question"], hidden_at__isnull=False),
        ),
    ),
    # Saving the entry into a collection: anyone who may see it, into a new collection of their own.
    Route(
        "practices:save",
        "/practices/{practice}/save/",
        ALL_200,
        Post(
            signed_in_all(302),
            lambda o: {"collection": "", "new_name": "Matrix picks"},
            lambda o: _count(Collection, name="Matrix picks"),
        ),
    ),
    Route(
        "practices:save",
        "/practices/{school_practice}/save/",
        row(SIGN_IN, 200, 200, 404, 200, 404),
        Post(
            row(SIGN_IN, 302, 302, 404, 302, 404),
            lambda o: {"collection": "", "new_name": "Matrix picks"},
            lambda o: _count(Collection, name="Matrix picks"),
        ),
    ),
    # -- Collections: the teacher's private one, and the teacher's team one with the other teacher in it.
    Route("collections:list", "/collections/", ALL_200),
    Route(
        "collections:create",
        "/collections/new/",
        ALL_200,
        Post(
            signed_in_all(302),
            lambda o: {"name": "Matrix collection", "sharing": "private"},
            lambda o: _count(Collection, name="Matrix collection"),
        ),
    ),
    Route("collections:detail", "/collections/{collection}/", row(SIGN_IN, 200, 404, 404, 404, 404)),
    Route("collections:detail", "/collections/{team_collection}/", row(SIGN_IN, 200, 404, 404, 404, 200)),
    Route(
        "collections:edit",
        "/collections/{team_collection}/edit/",
        row(SIGN_IN, 200, 404, 404, 404, 403),
        Post(
            row(SIGN_IN, 302, 404, 404, 404, 403),
            lambda o: {"name": "Renamed", "sharing": "private"},
            lambda o: _count(Collection, name="Renamed"),
        ),
    ),
    Route(
        "collections:delete",
        "/collections/{team_collection}/delete/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 404, 404, 404, 403), lambda o: {}, lambda o: _count(Collection, pk=o["team_collection"])
        ),
    ),
    Route(
        "collections:item",
        "/collections/{team_collection}/items/{team_item}/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 404, 404, 404, 302),
            lambda o: {f"item-{o['team_item']}-note": "Changed"},
            lambda o: _count(CollectionItem, note="Changed"),
        ),
    ),
    # Following from an entry: anyone who may see it; the teacher's own follow is theirs to stop.
    Route(
        "practices:follow",
        "/practices/{practice}/follow/",
        ALL_200,
        Post(
            signed_in_all(302),
            lambda o: {"what": "practice"},
            lambda o: _count(Follow, practice=o["practice"]),
        ),
    ),
    Route(
        "practices:follow",
        "/practices/{school_practice}/follow/",
        row(SIGN_IN, 200, 200, 404, 200, 404),
        Post(
            row(SIGN_IN, 302, 302, 404, 302, 404),
            lambda o: {"what": "practice"},
            lambda o: _count(Follow, practice=o["school_practice"]),
        ),
    ),
    Route(
        "practices:unfollow",
        "/practices/follows/{follow}/delete/",
        POST_ONLY,
        Post(row(SIGN_IN, 302, 404, 404, 404, 404), lambda o: {}, lambda o: _count(Follow, pk=o["follow"])),
    ),
    # -- Showcases
    Route("showcases:list", "/showcases/", ALL_200),
    Route(
        "showcases:create",
        "/showcases/new/",
        row(SIGN_IN, 403, 200, 200, 403, 403),
        Post(
            row(SIGN_IN, 403, 302, 302, 403, 403),
            _showcase_form,
            lambda o: _count(Showcase, title="Student-led conferences"),
        ),
    ),
    Route("showcases:month", "/showcases/calendar/", ALL_200),
    Route("showcases:my_visits", "/showcases/visits/", ALL_200),
    Route("showcases:hosting", "/showcases/hosting/", ALL_200),
    # Only the address with a person's secret token opens their feed, signed in or not.
    Route("showcases:calendar_feed", "/showcases/calendar.ics", row(404, 404, 404, 404, 404, 404)),
    Route(
        "showcases:calendar_feed_reset",
        "/showcases/calendar/reset/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 302, 302, 302, 302),
            lambda o: {},
            lambda o: sorted(CalendarFeed.objects.values_list("token", flat=True)),
        ),
    ),
    Route("showcases:detail", "/showcases/{showcase}/", ALL_200),
    Route(
        "showcases:edit",
        "/showcases/{showcase}/edit/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            # Sent without its sessions: a showcase keeps at least one, so the form comes back.
            row(SIGN_IN, 403, 400, 403, 400, 403),
            lambda o: _showcase_form(o, title="Renamed", **{"slots-TOTAL_FORMS": "0"}),
            lambda o: _count(Showcase, title="Renamed"),
        ),
    ),
    # A showcase with one session and no visitors yet, its form sent back as the page showed it.
    Route(
        "showcases:edit",
        "/showcases/{quiet_showcase}/edit/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 302, 403, 302, 403),
            lambda o: _quiet_showcase_form(o, title="Renamed"),
            lambda o: _count(Showcase, pk=o["quiet_showcase"], title="Renamed"),
        ),
    ),
    # Cancelling asks first, on a page of its own; only the POST from that page (with
    # `confirm`) cancels, and a POST without it shows the page and changes nothing.
    Route(
        "showcases:cancel",
        "/showcases/{showcase}/cancel/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 302, 403, 302, 403),
            lambda o: {"confirm": "yes", "reason": "The building is closed for repairs."},
            lambda o: _count(Showcase, pk=o["showcase"], status=ShowcaseStatus.CANCELLED),
        ),
    ),
    Route(
        "showcases:cancel",
        "/showcases/{showcase}/cancel/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 200, 403, 200, 403),
            lambda o: {},
            lambda o: _count(Showcase, pk=o["showcase"], status=ShowcaseStatus.CANCELLED),
        ),
    ),
    Route(
        "showcases:request",
        "/showcases/sessions/{slot}/request/",
        POST_ONLY,
        Post(
            # The host school's own people, and a visitor already booked, get the form with the reason.
            row(SIGN_IN, 400, 400, 302, 302, 400),
            lambda o: {f"slot{o['slot']}-seats": "1", f"slot{o['slot']}-message": "Hello"},
            lambda o: _count(VisitRequest, slot=o["slot"]),
        ),
    ),
    Route(
        "showcases:slot_cancel",
        "/showcases/sessions/{slot}/cancel/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 302, 403, 302, 403),
            lambda o: {"confirm": "yes"},
            lambda o: _count(VisitSlot, pk=o["slot"], cancelled_at__isnull=False),
        ),
    ),
    Route(
        "showcases:slot_cancel",
        "/showcases/sessions/{slot}/cancel/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 200, 403, 200, 403),
            lambda o: {"reason": "Snow day."},
            lambda o: _count(VisitSlot, pk=o["slot"], cancelled_at__isnull=False),
        ),
    ),
    # A district leader holds a session as a principals' meeting, seating a principal of another school.
    Route(
        "showcases:meeting",
        "/showcases/sessions/{slot}/meeting/",
        row(SIGN_IN, 403, 403, 200, 403, 403),
        Post(
            row(SIGN_IN, 403, 403, 302, 403, 403),
            lambda o: {"principals": str(PrincipalFactory(school=School.objects.get(slug="riverside")).pk)},
            lambda o: _count(VisitRequest, slot=o["slot"], invited=True),
        ),
    ),
    # Before the session: its visitors read what the host will write after it.
    Route(
        "showcases:debrief",
        "/showcases/sessions/{slot}/debrief/",
        row(SIGN_IN, 404, 200, 404, 200, 200),
        # Notes are written once the session has started: before, the host is sent back.
        Post(
            row(SIGN_IN, 404, 302, 404, 302, 403),
            lambda o: {"debrief_notes": "Students led well."},
            lambda o: _count(VisitSlot, pk=o["slot"], debrief_notes="Students led well."),
            changed_by=frozenset(),
        ),
    ),
    Route(
        "showcases:debrief",
        "/showcases/sessions/{past_slot}/debrief/",
        row(SIGN_IN, 404, 200, 404, 200, 200),
        Post(
            row(SIGN_IN, 404, 302, 404, 302, 403),
            lambda o: {"debrief_notes": "Students led well."},
            lambda o: _count(VisitSlot, pk=o["past_slot"], debrief_notes="Students led well."),
        ),
    ),
    # Before the visit, the visitor is sent back to it; after it, they write what they noticed.
    Route(
        "showcases:reflect",
        "/showcases/requests/{visit}/reflect/",
        row(SIGN_IN, 404, 403, 404, 403, 302),
        Post(
            row(SIGN_IN, 404, 403, 404, 403, 302),
            lambda o: {"noticed": "Goal cards.", "will_try": "Them."},
            lambda o: _count(VisitorReflection, visit_request=o["visit"]),
            changed_by=frozenset(),
        ),
    ),
    Route(
        "showcases:reflect",
        "/showcases/requests/{attended}/reflect/",
        row(SIGN_IN, 404, 403, 404, 403, 200),
        Post(
            row(SIGN_IN, 404, 403, 404, 403, 302),
            lambda o: {"noticed": "Goal cards.", "will_try": "Them."},
            lambda o: _count(VisitorReflection, visit_request=o["attended"]),
        ),
    ),
    # The request waiting for an answer is the other teacher's: they may cancel it, not approve it.
    Route(
        "showcases:approve",
        "/showcases/requests/{pending}/approve/",
        POST_ONLY,
        Post(row(SIGN_IN, 404, 302, 404, 302, 403), lambda o: {"note": "Welcome."}, _visit_is(RequestStatus.APPROVED)),
    ),
    Route(
        "showcases:decline",
        "/showcases/requests/{pending}/decline/",
        POST_ONLY,
        Post(row(SIGN_IN, 404, 302, 404, 302, 403), lambda o: {"note": "Full."}, _visit_is(RequestStatus.DECLINED)),
    ),
    Route(
        "showcases:request_cancel",
        "/showcases/requests/{pending}/cancel/",
        row(SIGN_IN, 404, 403, 404, 403, 200),
        Post(row(SIGN_IN, 404, 403, 404, 403, 302), lambda o: {"confirm": "yes"}, _visit_is(RequestStatus.CANCELLED)),
    ),
    Route(
        "showcases:request_cancel",
        "/showcases/requests/{pending}/cancel/",
        row(SIGN_IN, 404, 403, 404, 403, 200),
        Post(row(SIGN_IN, 404, 403, 404, 403, 200), lambda o: {}, _visit_is(RequestStatus.CANCELLED)),
    ),
    # Someone else's request: the other teacher neither runs the showcase nor asked.
    Route(
        "showcases:approve",
        "/showcases/requests/{strangers}/approve/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 404, 302, 404, 302, 404),
            lambda o: {},
            lambda o: _count(VisitRequest, pk=o["strangers"], status=RequestStatus.APPROVED),
        ),
    ),
    Route(
        "showcases:request_cancel",
        "/showcases/requests/{strangers}/cancel/",
        row(SIGN_IN, 404, 403, 404, 403, 404),
        Post(
            row(SIGN_IN, 404, 403, 404, 403, 404),
            lambda o: {"confirm": "yes"},
            lambda o: _count(VisitRequest, pk=o["strangers"], status=RequestStatus.CANCELLED),
        ),
    ),
    Route(
        "showcases:visit_calendar",
        "/showcases/requests/{visit}/calendar.ics",
        row(SIGN_IN, 404, 200, 404, 200, 200),
    ),
    # The host's attendee list, check-in and messages: those who manage the showcase only.
    Route("showcases:attendees_csv", "/showcases/{showcase}/attendees.csv", row(SIGN_IN, 403, 200, 403, 200, 403)),
    Route(
        "showcases:attendance",
        "/showcases/sessions/{past_slot}/attendance/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 302, 403, 302, 403),
            lambda o: {f"slot{o['past_slot']}-visit-{o['attended']}": "attended"},
            lambda o: _count(VisitRequest, pk=o["attended"], attendance=Attendance.ATTENDED),
        ),
    ),
    Route(
        "showcases:message",
        "/showcases/sessions/{slot}/message/",
        row(SIGN_IN, 403, 200, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 302, 403, 302, 403),
            lambda o: {"subject": "Parking", "body": "Park on Elm Street."},
            lambda o: _count(SessionMessage, slot=o["slot"]),
        ),
    ),
    # -- Surveys
    Route("surveys:list", "/surveys/", row(SIGN_IN, 403, 200, 200, 200, 403)),
    Route(
        "surveys:respond",
        "/surveys/{cycle}/respond/",
        row(SIGN_IN, 403, 200, 200, 403, 403),
        Post(
            row(SIGN_IN, 403, 302, 302, 403, 403),
            lambda o: {"q1_position": "2", "q1_priority": "high"},
            lambda o: _count(Response),
        ),
    ),
    Route("surveys:dashboard", "/surveys/{cycle}/dashboard/", row(SIGN_IN, 403, 200, 200, 200, 403)),
    Route(
        "surveys:import_undo",
        "/surveys/{cycle}/imports/{import_batch}/undo/",
        row(SIGN_IN, 403, 403, 403, 405, 403),
        Post(
            row(SIGN_IN, 403, 403, 403, 302, 403),
            lambda o: {},
            lambda o: _count(ImportBatch, pk=o["import_batch"], undone_at__isnull=False),
        ),
    ),
    Route("surveys:summary_csv", "/surveys/{cycle}/summary.csv", row(SIGN_IN, 403, 403, 200, 200, 403)),
    Route("surveys:report", "/surveys/{cycle}/report.pdf", row(SIGN_IN, 403, 200, 200, 200, 403)),
    Route("surveys:export_csv", "/surveys/{cycle}/export.csv", row(SIGN_IN, 403, 403, 200, 200, 403)),
    Route(
        "surveys:import",
        "/surveys/{cycle}/import/",
        row(SIGN_IN, 403, 403, 403, 200, 403),
        Post(
            row(SIGN_IN, 403, 403, 403, 302, 403),
            lambda o: {"file": _survey_file()},
            lambda o: _count(Response),
        ),
    ),
    # -- Notifications: the teacher has one, about the entry.
    Route("notifications:list", "/notifications/", ALL_200),
    Route(
        "notifications:read_all",
        "/notifications/read/",
        POST_ONLY,
        Post(
            signed_in_all(302),
            lambda o: {},
            lambda o: _count(Notification, read_at__isnull=True),
            changed_by=frozenset({"teacher"}),
        ),
    ),
    Route(
        "notifications:open",
        "/notifications/{notice}/open/",
        POST_ONLY,
        Post(
            row(SIGN_IN, 302, 404, 404, 404, 404),
            lambda o: {},
            lambda o: _count(Notification, read_at__isnull=True),
        ),
    ),
    Route(
        "notifications:settings",
        "/notifications/settings/",
        ALL_200,
        Post(
            signed_in_all(302),
            lambda o: {"topics": [NotificationKind.QUESTION]},
            lambda o: sorted((s.user_id, tuple(s.email_off)) for s in NotificationSettings.objects.all()),
        ),
    ),
    # The teacher's link to stop one kind of e-mail works for whoever holds it, signed in or not
    # (a mail program posts it without cookies); opened in a browser it only asks.
    Route(
        "notifications:unsubscribe",
        "/notifications/unsubscribe/{unsubscribe}/",
        row(200, 200, 200, 200, 200, 200),
        Post(
            row(200, 200, 200, 200, 200, 200),
            lambda o: {"List-Unsubscribe": "One-Click"},
            lambda o: sorted((s.user_id, tuple(s.email_off)) for s in NotificationSettings.objects.all()),
            changed_by=frozenset(PERSONAS),
        ),
    ),
    # -- Accounts
    Route(
        "login",
        "/accounts/login/",
        row(200, 302, 302, 302, 302, 302),
        # Someone signed in is sent on; a visitor who signs in starts a session.
        Post(
            row(302, 302, 302, 302, 302, 302),
            lambda o: {"username": "teacher", "password": TEST_PASSWORD},
            lambda o: Session.objects.count(),
            changed_by=frozenset({"anonymous"}),
        ),
    ),
    Route(
        "logout",
        "/accounts/logout/",
        POST_ONLY,
        Post(
            signed_in_all(SIGN_IN),
            lambda o: {},
            lambda o: Session.objects.count(),
            changed_by=frozenset(PERSONAS) - {"anonymous"},
        ),
    ),
    Route(
        "password_change",
        "/accounts/password_change/",
        ALL_200,
        Post(
            row(SIGN_IN, 302, 302, 302, 302, 302),
            lambda o: {
                "old_password": TEST_PASSWORD,
                "new_password1": "a-new-pass-9876",
                "new_password2": "a-new-pass-9876",
            },
            lambda o: sorted(User.objects.values_list("password", flat=True)),
        ),
    ),
    Route("password_change_done", "/accounts/password_change/done/", ALL_200),
    Route(
        "password_reset",
        "/accounts/password_reset/",
        row(200, 200, 200, 200, 200, 200),
        # Anyone may ask; the answer never says whether the address has an account.
        Post(
            row(302, 302, 302, 302, 302, 302),
            lambda o: {"email": "nobody@schools.example.org"},
            lambda o: User.objects.count(),
            changed_by=frozenset(),
        ),
    ),
    Route("password_reset_done", "/accounts/password_reset/done/", row(200, 200, 200, 200, 200, 200)),
    Route(
        "password_reset_confirm",
        "/accounts/reset/MQ/bad-token/",
        row(200, 200, 200, 200, 200, 200),
        # A link that is not valid sets no password, whatever is sent.
        Post(
            row(200, 200, 200, 200, 200, 200),
            lambda o: {"new_password1": "a-new-pass-9876", "new_password2": "a-new-pass-9876"},
            lambda o: sorted(User.objects.values_list("password", flat=True)),
        ),
    ),
    Route("password_reset_complete", "/accounts/reset/done/", row(200, 200, 200, 200, 200, 200)),
    # -- Single sign-on: no provider is configured here, so their addresses are not found
    # (tests/portal/test_sso.py signs in through a real provider).
    _unconfigured_provider("google_login", "/accounts/google/login/"),
    _unconfigured_provider("google_callback", "/accounts/google/login/callback/"),
    _unconfigured_provider("microsoft_login", "/accounts/microsoft/login/"),
    _unconfigured_provider("microsoft_callback", "/accounts/microsoft/login/callback/"),
    _unconfigured_provider("clever_login", "/accounts/clever/login/"),
    _unconfigured_provider("clever_callback", "/accounts/clever/login/callback/"),
    _unconfigured_provider("openid_connect_login", "/accounts/oidc/district/login/"),
    _unconfigured_provider("openid_connect_callback", "/accounts/oidc/district/login/callback/"),
    # The admin's own sign-in while passwords are on; district staff are sent on to the admin.
    Route(
        "admin_sign_in",
        "/admin/login/",
        row(200, 200, 200, 200, 302, 200),
        # A wrong password is the form again, and signs nobody in.
        Post(
            row(200, 200, 200, 200, 200, 200),
            lambda o: {"username": "nobody", "password": "not-the-password"},
            lambda o: Session.objects.count(),
        ),
    ),
]


def _names(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _names(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}"


def test_every_url_is_in_the_matrix():
    names = {name for name in _names(get_resolver().url_patterns) if not name.startswith("admin:")}
    assert names - {route.name for route in MATRIX} == set(), "add the new URL to MATRIX with its answer per persona"
    assert {route.name for route in MATRIX} - names == set()


def test_every_post_only_address_has_its_post_row():
    """Addresses that answer only POST. (Pages whose form posts back to them are found while
    the matrix is walked: their GET answer holds such a form.)"""
    post_only = {route.name for route in MATRIX if set(route.get.values()) - {SIGN_IN} == {405}}
    for route in MATRIX:
        if route.name in post_only:
            assert route.post is not None, f"{route.path}: add its POST row"


_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
# Writes a page may make when shown: the session (a signed-in visit refreshes it).
_READ_ONLY_EXCEPTIONS = ("django_session",)


def _writes(queries: CaptureQueriesContext) -> bool:
    """Whether showing a page wrote to the database (beyond the session)."""
    return any(
        _WRITE.match(query["sql"]) and not any(table in query["sql"] for table in _READ_ONLY_EXCEPTIONS)
        for query in queries.captured_queries
    )


_POST_FORM = re.compile(r"<form\b[^>]*\bmethod=\"post\"[^>]*>", re.IGNORECASE)
_ACTION = re.compile(r"\baction=\"([^\"]*)\"", re.IGNORECASE)


def _posts_back(response: HttpResponseBase, path: str) -> bool:
    """Whether the page holds a form that posts to the page's own address."""
    if not isinstance(response, HttpResponse) or response.status_code != 200:
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    for form in _POST_FORM.findall(response.content.decode()):
        action = _ACTION.search(form)
        if action is None or action.group(1) in ("", path) or action.group(1).split("?")[0] == path:
            return True
    return False


def _post_to_a_page(path: str, get_answer: Expected, persona: User | None) -> Expected:
    """What a POST to an address that takes none gets: an anonymous visitor is sent to sign
    in; a role the view does not let in is refused first (`role_required`); anyone else is
    told the method is not allowed, before any object is fetched."""
    if get_answer == SIGN_IN:
        return SIGN_IN
    roles = getattr(resolve(path).func, "required_roles", None)
    return 403 if roles is not None and (persona is None or persona.role not in roles) else 405


@pytest.fixture
def objects(teacher, principal, staff, other_teacher, other_school, settings, tmp_path) -> Objects:
    settings.MEDIA_ROOT = tmp_path
    author = Client()
    author.force_login(teacher)
    author.post("/practices/new/", practice_post())
    practice = Practice.objects.get()
    attachment = practice.attachments.create(
        file=ContentFile(b"%PDF-1.4", name="a.pdf"),
        original_name="a.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_by=teacher,
    )
    school_practice = PracticeFactory(author=teacher, title="Our hallway routine", visibility=Visibility.SCHOOL)
    school_attachment = school_practice.attachments.create(
        file=ContentFile(b"%PDF-1.4 test", name="plan.pdf"),
        original_name="plan.pdf",
        content_type="application/pdf",
        size=13,
        uploaded_by=teacher,
    )
    archived = PracticeFactory(author=teacher, title="Archived by its author", status=Status.ARCHIVED)
    archived.archived_by = teacher
    archived.save(update_fields=["archived_by"])

    slot = VisitSlotFactory(showcase__host=principal, seats_taken=1)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    past = VisitSlotFactory(
        showcase=slot.showcase,
        starts_at=timezone.now() - timedelta(hours=3),
        ends_at=timezone.now() - timedelta(hours=1),
        seats_taken=1,
    )
    attended = VisitRequest.objects.create(slot=past, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    pending_slot = VisitSlotFactory(showcase=slot.showcase)
    pending = VisitRequest.objects.create(slot=pending_slot, requester=other_teacher, seats=1)
    quiet = VisitSlotFactory(showcase__host=principal, showcase__title="Family maths night")
    strangers = VisitRequest.objects.create(slot=pending_slot, requester=TeacherFactory(school=other_school), seats=1)

    notice = notify(
        recipient=teacher, kind=NotificationKind.ADOPTION, text="Trying it", url="/practices/", about=practice
    )
    assert notice is not None
    stopped = adoption_record(practice=practice, user=other_teacher, status=AdoptionStatus.STOPPED, notes="Long.")
    adaptation = PracticeFactory(author=other_teacher, adapted_from=practice, lineage_root=practice)
    question = Question.objects.create(practice=practice, asker=other_teacher, text="How long?")
    collection = Collection.objects.create(owner=teacher, name="Mine")
    CollectionItem.objects.create(collection=collection, practice=practice)
    team_collection = Collection.objects.create(owner=teacher, name="Team", sharing=CollectionSharing.TEAM)
    team_collection.members.add(other_teacher)
    team_item = CollectionItem.objects.create(collection=team_collection, practice=practice)
    follow = Follow.objects.create(user=teacher, school=teacher.school)
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        name="Now", slug="now", opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=1)
    )
    import_batch = responses_import(cycle=cycle, text=_survey_text(), filename="earlier.csv").batch
    assert import_batch is not None
    version = Version.objects.get_for_object(practice).first()
    assert version is not None
    export = _oneroster_zip()["export_file"]
    assert isinstance(export, SimpleUploadedFile)
    oneroster_run = oneroster_run_start(
        by=staff, data=export.read(), file_name="export.zip", district_role="district_leader"
    )
    oneroster_run_check.call(oneroster_run.pk)
    return {
        "oneroster_run": oneroster_run.pk,
        "import_batch": import_batch.pk,
        "practice": practice.pk,
        "version": version.pk,
        "attachment": attachment.pk,
        "school_practice": school_practice.pk,
        "school_attachment": school_attachment.pk,
        "archived": archived.pk,
        "showcase": slot.showcase.pk,
        "host_school": slot.showcase.host_school_id,
        "slot": slot.pk,
        "visit": visit.pk,
        "past_slot": past.pk,
        "attended": attended.pk,
        "pending": pending.pk,
        "strangers": strangers.pk,
        "quiet_showcase": quiet.showcase.pk,
        "cycle": cycle.slug,
        "notice": notice.pk,
        "follow": follow.pk,
        "collection": collection.pk,
        "team_collection": team_collection.pk,
        "team_item": team_item.pk,
        "question": question.pk,
        "stopped_report": stopped.reports.get().pk,
        "adaptation": adaptation.pk,
        "unsubscribe": unsubscribe_token(teacher, NotificationKind.ADOPTION),
    }


def _answer(response: HttpResponseBase) -> Expected:
    if response.status_code == 302 and response["Location"].startswith("/accounts/login/"):
        return SIGN_IN
    return response.status_code


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", PERSONAS)
def test_every_address_answers_each_persona_as_the_matrix_says(request, objects, name, method):
    """Each request runs in a savepoint that is rolled back: every row meets the same objects."""
    client = Client()
    persona = None if name == "anonymous" else request.getfixturevalue(name)
    if persona is not None:
        client.force_login(persona)
    unexpected = []
    for route in MATRIX:
        path = route.path.format(**objects)
        session = client.cookies.get("sessionid")
        with transaction.atomic():
            if method == "GET":
                expected, should_change = route.get[name], False
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path)
                changed = _writes(queries)
                if route.post is None and _posts_back(response, path):
                    unexpected.append(f"GET {path} ({route.name}): its page posts back; add its POST row")
            elif route.post is None:
                # A page that only shows something refuses a POST and changes nothing.
                expected, should_change = _post_to_a_page(path, route.get[name], persona), False
                response, changed = client.post(path, {}), False
            else:
                expected = route.post.expected[name]
                changed_by = route.post.changed_by
                should_change = name in changed_by if changed_by is not None else expected == 302
                before = route.post.effect(objects)
                response = client.post(path, route.post.data(objects))
                changed = route.post.effect(objects) != before
            transaction.set_rollback(True)
        if session is not None:
            client.cookies["sessionid"] = session.value
        assert_security_headers(response, path)
        if response.get("Content-Type", "").startswith("text/html"):
            assert "script-src 'self'" in response["Content-Security-Policy"], path
        if _answer(response) != expected or changed != should_change:
            unexpected.append(
                f"{method} {path} ({route.name}): {_answer(response)}, expected {expected}; "
                f"{'changed' if changed else 'unchanged'}, expected {'a change' if should_change else 'none'}"
            )
    assert unexpected == []


# -- The admin --------------------------------------------------------------------------------------


def _sample(pattern: str) -> str:
    """A concrete path for a route or regex pattern."""
    path = re.sub(r"<int:\w+>", "1", pattern)
    path = re.sub(r"<(?:\w+:)?\w+>", "sample", path)
    path = re.sub(r"\(\?P<\w+>([^)|]+)(\|[^)]*)?\)", lambda m: m.group(1) if m.group(1).isalnum() else "1", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern)


ADMIN_URLS = sorted({(name, _sample(pattern)) for name, pattern in _walk(get_resolver().url_patterns)})
ADMIN_URLS = [(name, path) for name, path in ADMIN_URLS if name.startswith("admin:") and name != "admin:login"]


def test_the_walk_found_the_admin_pages():
    assert {"admin:index", "admin:portal_user_changelist"} <= {name for name, _path in ADMIN_URLS}


@pytest.mark.parametrize("persona", ["anonymous", "teacher", "principal", "leader", "other_teacher"])
def test_only_district_staff_reach_the_admin(request, persona):
    """Every admin page sends an anonymous visitor, and anyone who does not run the admin,
    to sign in (the admin's own sign-in, or the portal's)."""
    client = Client()
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    unexpected = []
    # Signing out of the admin gives access to nothing: it sends anyone back to the admin's door.
    for name, path in [(name, path) for name, path in ADMIN_URLS if name != "admin:logout"]:
        response = client.get(path)
        if response.status_code != 302 or not response["Location"].startswith(("/admin/login/", "/accounts/login/")):
            unexpected.append(f"{name} {path}: {response.status_code} {response.get('Location', '')}")
    assert unexpected == []
