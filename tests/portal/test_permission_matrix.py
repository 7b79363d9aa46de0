"""Every URL, tried by every persona, with the security headers checked on each answer.

A URL added without an entry here fails `test_every_url_is_in_the_matrix`.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from reversion.models import Version

from showcases.models import VisitRequest
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
