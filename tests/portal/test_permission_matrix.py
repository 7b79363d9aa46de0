"""Every URL, tried by every persona, with the security headers checked on each answer.

A URL added without an entry here fails `test_every_url_is_in_the_matrix`.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from reversion.models import Version

from showcases.models import CalendarFeed, VisitRequest
from surveys.models import Cycle
from tests.factories import VisitSlotFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["teacher", "principal", "leader", "staff", "other_teacher"]
ALL_200 = dict.fromkeys(PERSONAS, 200)
ALL_405 = dict.fromkeys(PERSONAS, 405)


def row(*codes: int) -> dict[str, int]:
    return dict(zip(PERSONAS, codes, strict=True))


# name: (path template, expected status per persona for a GET)
MATRIX = {
    "home": ("/", ALL_200),
    "healthz": ("/healthz", ALL_200),
    "district_dashboard": ("/dashboard/", row(403, 200, 200, 200, 403)),
    "roster_import": ("/roster/import/", row(403, 403, 403, 200, 403)),
    "practices:list": ("/practices/", ALL_200),
    "practices:mine": ("/practices/mine/", ALL_200),
    "practices:create": ("/practices/new/", row(200, 200, 403, 403, 200)),
    "practices:detail": ("/practices/{practice}/", ALL_200),
    "practices:edit": ("/practices/{practice}/edit/", row(200, 403, 403, 403, 403)),
    "practices:adapt": ("/practices/{practice}/adapt/", row(403, 200, 403, 403, 200)),
    "practices:history": ("/practices/{practice}/history/", ALL_200),
    "practices:restore": ("/practices/{practice}/history/{version}/restore/", ALL_405),
    "practices:adopt": ("/practices/{practice}/adopt/", ALL_405),
    "practices:archive": ("/practices/{practice}/archive/", ALL_405),
    "practices:unarchive": ("/practices/{practice}/unarchive/", ALL_405),
    "practices:feature": ("/practices/{practice}/feature/", ALL_405),
    "practices:attachment": ("/practices/{practice}/attachments/{attachment}/", ALL_200),
    "showcases:list": ("/showcases/", ALL_200),
    "showcases:create": ("/showcases/new/", row(403, 200, 200, 403, 403)),
    "showcases:month": ("/showcases/calendar/", ALL_200),
    "showcases:my_visits": ("/showcases/visits/", ALL_200),
    "showcases:hosting": ("/showcases/hosting/", ALL_200),
    "showcases:calendar_feed": ("/showcases/calendar.ics", dict.fromkeys(PERSONAS, 404)),
    "showcases:calendar_feed_reset": ("/showcases/calendar/reset/", ALL_405),
    "showcases:detail": ("/showcases/{showcase}/", ALL_200),
    "showcases:edit": ("/showcases/{showcase}/edit/", row(403, 200, 403, 200, 403)),
    "showcases:cancel": ("/showcases/{showcase}/cancel/", ALL_405),
    "showcases:request": ("/showcases/sessions/{slot}/request/", ALL_405),
    "showcases:slot_cancel": ("/showcases/sessions/{slot}/cancel/", ALL_405),
    "showcases:debrief": ("/showcases/sessions/{slot}/debrief/", row(404, 200, 404, 200, 200)),
    "showcases:reflect": ("/showcases/requests/{visit}/reflect/", row(404, 403, 404, 403, 302)),
    "showcases:approve": ("/showcases/requests/{visit}/approve/", ALL_405),
    "showcases:decline": ("/showcases/requests/{visit}/decline/", ALL_405),
    "showcases:request_cancel": ("/showcases/requests/{visit}/cancel/", ALL_405),
    "showcases:visit_calendar": ("/showcases/requests/{visit}/calendar.ics", row(404, 200, 404, 200, 200)),
    "surveys:list": ("/surveys/", row(403, 200, 200, 200, 403)),
    "surveys:respond": ("/surveys/{cycle}/respond/", row(403, 200, 200, 403, 403)),
    "surveys:dashboard": ("/surveys/{cycle}/dashboard/", row(403, 200, 200, 200, 403)),
    "surveys:summary_csv": ("/surveys/{cycle}/summary.csv", row(403, 403, 200, 200, 403)),
    "surveys:export_csv": ("/surveys/{cycle}/export.csv", row(403, 403, 200, 200, 403)),
    "surveys:import": ("/surveys/{cycle}/import/", row(403, 403, 403, 200, 403)),
    "login": ("/accounts/login/", dict.fromkeys(PERSONAS, 302)),
    "logout": ("/accounts/logout/", ALL_405),
    "password_change": ("/accounts/password_change/", ALL_200),
    "password_change_done": ("/accounts/password_change/done/", ALL_200),
    "password_reset": ("/accounts/password_reset/", ALL_200),
    "password_reset_done": ("/accounts/password_reset/done/", ALL_200),
    "password_reset_confirm": ("/accounts/reset/MQ/bad-token/", ALL_200),
    "password_reset_complete": ("/accounts/reset/done/", ALL_200),
}


def _names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _names(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}"


def test_every_url_is_in_the_matrix():
    names = {name for name in _names(get_resolver().url_patterns) if not name.startswith("admin:")}
    assert names - set(MATRIX) == set(), "add the new URL to MATRIX with its expected answer per persona"
    assert set(MATRIX) - names == set()


@pytest.fixture
def objects(teacher, principal, other_teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.test import Client

    from tests.practices.helpers import practice_post

    author = Client()
    author.force_login(teacher)
    author.post("/practices/new/", practice_post())
    from practices.models import Practice

    practice = Practice.objects.get()
    attachment = practice.attachments.create(
        file=ContentFile(b"%PDF-1.4", name="a.pdf"),
        original_name="a.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_by=teacher,
    )
    slot = VisitSlotFactory(showcase__host=principal)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        name="Now", slug="now", opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=1)
    )
    return {
        "practice": practice.pk,
        "version": Version.objects.get_for_object(practice).first().pk,
        "attachment": attachment.pk,
        "showcase": slot.showcase.pk,
        "slot": slot.pk,
        "visit": visit.pk,
        "cycle": cycle.slug,
    }


@pytest.mark.parametrize("name", PERSONAS)
def test_every_url_answers_each_persona_as_expected_with_security_headers(as_user, request, objects, name):
    client = as_user(request.getfixturevalue(name))
    unexpected = []
    for url_name, (template, expected) in MATRIX.items():
        path = template.format(**objects)
        response = client.get(path)
        if response.status_code != expected[name]:
            unexpected.append(f"{url_name} {path}: {response.status_code}, expected {expected[name]}")
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert "camera=()" in response["Permissions-Policy"], path
        if response.get("Content-Type", "").startswith("text/html"):
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
    assert unexpected == []


@pytest.mark.parametrize(
    "url_name",
    [
        name
        for name in MATRIX
        if name
        not in {
            "healthz",
            "login",
            "logout",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
            "showcases:calendar_feed",
        }
    ],
)
def test_anonymous_visitor_is_sent_to_sign_in(client, objects, url_name):
    path = MATRIX[url_name][0].format(**objects)
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path


# -- POST: who may change what -------------------------------------------------------------
#
# Every address that accepts a POST, sent by each persona with what its form would send, with
# the answer and the change in the database expected of each. Each POST runs in a savepoint
# that is rolled back, so every persona meets the same objects.


@pytest.fixture
def post_objects(objects, teacher, principal, other_teacher):
    from practices.models import Practice
    from showcases.models import Showcase

    practice = Practice.objects.get(pk=objects["practice"])
    slot = VisitRequest.objects.get(pk=objects["visit"]).slot
    past = VisitSlotFactory(
        showcase=slot.showcase,
        starts_at=timezone.now() - timedelta(hours=3),
        ends_at=timezone.now() - timedelta(hours=1),
        seats_taken=1,
    )
    attended = VisitRequest.objects.create(slot=past, requester=other_teacher, seats=1, status="approved")
    slot.seats_taken = 1
    slot.save(update_fields=["seats_taken"])
    pending_slot = VisitSlotFactory(showcase=slot.showcase)
    pending = VisitRequest.objects.create(slot=pending_slot, requester=other_teacher, seats=1, status="pending")
    archived = Practice.objects.create(
        title="Archived by its author",
        school=teacher.school,
        author=teacher,
        status="archived",
        visibility="district",
        archived_by=teacher,
        published_at=timezone.now(),
    )
    return {
        **objects,
        "pending": pending.pk,
        "attended": attended.pk,
        "past_slot": past.pk,
        "pending_slot": pending_slot.pk,
        "archived": archived.pk,
        "showcase_obj": Showcase.objects.get(pk=objects["showcase"]),
        "practice_obj": practice,
    }


def _practice_status(pk):  # type: ignore[no-untyped-def]
    from practices.models import Practice

    return Practice.objects.filter(pk=pk).values_list("status", "featured_at", "title").first()


def _visit_status(pk):  # type: ignore[no-untyped-def]
    return VisitRequest.objects.get(pk=pk).status


def _count(model_path: str, **filters):  # type: ignore[no-untyped-def]
    from django.apps import apps

    return apps.get_model(model_path).objects.filter(**filters).count()


def _practice_form(**fields: str) -> dict[str, str]:
    from tests.practices.helpers import practice_post

    return practice_post(**fields)


def _showcase_form(o: dict) -> dict[str, str]:
    starts = (timezone.localtime() + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
    ends = (timezone.localtime() + timedelta(days=9, hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": "Student-led conferences",
        "description": "Students lead.",
        "impact": "More families come.",
        "evidence": "Sign-in sheets.",
        "focus_question": "How do students talk?",
        "host_school": str(o["showcase_obj"].host_school_id),
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-starts_at": starts,
        "slots-0-ends_at": ends,
        "slots-0-capacity": "5",
        "slots-0-location": "Library",
        "action": "publish",
    }


PRACTICE_EFFECT = lambda o: _practice_status(o["practice"])  # noqa: E731
# name: (path, data, what it changes, expected status per persona (teacher, principal, leader,
# staff, other_teacher), and whether the change happens for that persona)
POST_MATRIX = {
    "practices:create": (
        "/practices/new/",
        lambda o: _practice_form(title="A new entry"),
        lambda o: _count("practices.Practice", title="A new entry"),
        row(302, 302, 403, 403, 302),
    ),
    "practices:edit": (
        "/practices/{practice}/edit/",
        lambda o: _practice_form(title="Edited by someone"),
        PRACTICE_EFFECT,
        row(302, 403, 403, 403, 403),
    ),
    "practices:adapt": (
        "/practices/{practice}/adapt/",
        lambda o: _practice_form(title="An adaptation", adaptation_changes="Shorter."),
        lambda o: _count("practices.Practice", title="An adaptation"),
        row(403, 302, 403, 403, 302),
    ),
    "practices:restore": (
        "/practices/{practice}/history/{version}/restore/",
        lambda o: {},
        lambda o: _count("reversion.Version"),
        row(302, 403, 403, 403, 403),
    ),
    "practices:adopt": (
        "/practices/{practice}/adopt/",
        lambda o: {"adoption-status": "trying", "adoption-notes": "Week one."},
        lambda o: _count("practices.Adoption", practice_id=o["practice"]),
        row(403, 302, 302, 302, 302),
    ),
    "practices:archive": (
        "/practices/{practice}/archive/",
        lambda o: {"reason": "Out of date."},
        PRACTICE_EFFECT,
        row(302, 302, 403, 302, 403),
    ),
    "practices:unarchive": (
        "/practices/{archived}/unarchive/",
        lambda o: {},
        lambda o: _practice_status(o["archived"]),
        row(302, 302, 403, 302, 403),
    ),
    "practices:feature": (
        "/practices/{practice}/feature/",
        lambda o: {"note": "Clear steps and honest failures."},
        PRACTICE_EFFECT,
        row(403, 403, 302, 302, 403),
    ),
    "showcases:create": (
        "/showcases/new/",
        _showcase_form,
        lambda o: _count("showcases.Showcase"),
        row(403, 302, 302, 403, 403),
    ),
    "showcases:edit": (
        "/showcases/{showcase}/edit/",
        lambda o: {**_showcase_form(o), "title": "Renamed", "slots-TOTAL_FORMS": "0"},
        lambda o: _count("showcases.Showcase", title="Renamed"),
        row(403, 400, 403, 400, 403),
    ),
    "showcases:cancel": (
        "/showcases/{showcase}/cancel/",
        lambda o: {},
        lambda o: _count("showcases.Showcase", status="cancelled"),
        row(403, 302, 403, 302, 403),
    ),
    "showcases:request": (
        "/showcases/sessions/{slot}/request/",
        lambda o: {f"slot{o['slot']}-seats": "1", f"slot{o['slot']}-message": "Hello"},
        lambda o: _count("showcases.VisitRequest", slot_id=o["slot"]),
        # The host school's own people, and a visitor already booked, are refused with the form.
        row(400, 400, 302, 302, 400),
    ),
    "showcases:slot_cancel": (
        "/showcases/sessions/{slot}/cancel/",
        lambda o: {},
        lambda o: _count("showcases.VisitSlot", pk=o["slot"], cancelled_at__isnull=False),
        row(403, 302, 403, 302, 403),
    ),
    "showcases:debrief": (
        "/showcases/sessions/{past_slot}/debrief/",
        lambda o: {"debrief_notes": "Students led well."},
        lambda o: _count("showcases.VisitSlot", pk=o["past_slot"], debrief_notes="Students led well."),
        row(404, 302, 404, 302, 403),
    ),
    "showcases:reflect": (
        "/showcases/requests/{attended}/reflect/",
        lambda o: {"noticed": "Goal cards.", "will_try": "Them."},
        lambda o: _count("showcases.VisitorReflection"),
        row(404, 403, 404, 403, 302),
    ),
    "showcases:approve": (
        "/showcases/requests/{pending}/approve/",
        lambda o: {"note": "Welcome."},
        lambda o: _visit_status(o["pending"]),
        row(404, 302, 404, 302, 403),
    ),
    "showcases:decline": (
        "/showcases/requests/{pending}/decline/",
        lambda o: {"note": "Full."},
        lambda o: _visit_status(o["pending"]),
        row(404, 302, 404, 302, 403),
    ),
    "showcases:request_cancel": (
        "/showcases/requests/{pending}/cancel/",
        lambda o: {},
        lambda o: _visit_status(o["pending"]),
        row(404, 403, 404, 403, 302),
    ),
    "showcases:calendar_feed_reset": (
        "/showcases/calendar/reset/",
        lambda o: {},
        lambda o: sorted(CalendarFeed.objects.values_list("token", flat=True)),
        row(302, 302, 302, 302, 302),
    ),
    "surveys:respond": (
        "/surveys/{cycle}/respond/",
        lambda o: {"q1_position": "2", "q1_priority": "high"},
        lambda o: _count("surveys.Response"),
        row(403, 302, 302, 403, 403),
    ),
    "surveys:import": (
        "/surveys/{cycle}/import/",
        lambda o: {"file": _survey_file()},
        lambda o: _count("surveys.Response"),
        row(403, 403, 403, 302, 403),
    ),
    "roster_import": (
        "/roster/import/",
        lambda o: _roster_files(),
        lambda o: _count("portal.School", slug="oak"),
        row(403, 403, 403, 302, 403),
    ),
    "logout": ("/accounts/logout/", lambda o: {}, lambda o: None, row(302, 302, 302, 302, 302)),
    "password_change": (
        "/accounts/password_change/",
        lambda o: {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
        lambda o: None,
        row(200, 200, 200, 200, 200),
    ),
}
# Whether the change happens, per persona; where the expected status is 2xx/3xx and the
# address changes something, it does, unless listed here.
NO_CHANGE = {
    ("showcases:request", "teacher"),
    ("showcases:request", "principal"),
    ("showcases:request", "other_teacher"),
    ("showcases:edit", "principal"),
    ("showcases:edit", "staff"),
}


def _survey_file():  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    from surveys.services import IMPORT_COLUMNS

    row_values = dict.fromkeys(IMPORT_COLUMNS, "")
    row_values.update({"role": "principal", "q1_position": "3"})
    text = ",".join(IMPORT_COLUMNS) + "\n" + ",".join(row_values[c] for c in IMPORT_COLUMNS) + "\n"
    return SimpleUploadedFile("old.csv", text.encode())


def _roster_files():  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    schools = "slug,name,level,enrollment,frl_percent,locale\noak,Oak Elementary,elementary,410,62,city\n"
    users = "email,first_name,last_name,role,school\nada@district.org,Ada,Lovelace,teacher,oak\n"
    return {
        "schools_file": SimpleUploadedFile("schools.csv", schools.encode()),
        "users_file": SimpleUploadedFile("users.csv", users.encode()),
    }


def test_every_post_address_is_in_the_post_matrix():
    """Addresses that answer only POST, and pages whose form posts back to them."""
    post_only = {name for name, (_path, codes) in MATRIX.items() if set(codes.values()) == {405}}
    forms = {"practices:create", "practices:edit", "practices:adapt", "showcases:create", "showcases:edit"}
    forms |= {"showcases:debrief", "showcases:reflect", "surveys:respond", "surveys:import", "roster_import"}
    assert (post_only | forms | {"password_change"}) - set(POST_MATRIX) == set(), "add it to POST_MATRIX"


@pytest.mark.parametrize("name", PERSONAS)
def test_every_post_answers_each_persona_as_expected_and_changes_only_what_it_may(as_user, request, post_objects, name):
    from django.db import transaction

    client = as_user(request.getfixturevalue(name))
    unexpected = []
    for url_name, (template, data, effect, expected) in POST_MATRIX.items():
        path = template.format(**post_objects)
        session = client.cookies.get("sessionid")
        with transaction.atomic():
            before = effect(post_objects)
            response = client.post(path, data(post_objects))
            changed = effect(post_objects) != before
            transaction.set_rollback(True)
        if session is not None:
            client.cookies["sessionid"] = session.value
        should_change = expected[name] < 400 and (url_name, name) not in NO_CHANGE and effect(post_objects) is not None
        if response.status_code != expected[name] or changed != should_change:
            unexpected.append(
                f"{url_name} {path}: {response.status_code} (expected {expected[name]}), "
                f"{'changed' if changed else 'unchanged'} (expected {'a change' if should_change else 'none'})"
            )
    assert unexpected == []
