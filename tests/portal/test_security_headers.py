"""Every kind of answer carries the security headers, not only the pages: static files
(served by WhiteNoise before most middleware runs), the error pages of the middleware
itself (a bad host, a malformed body, the database gone while the session is saved),
downloads and the health check."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from showcases.models import CalendarFeed, VisitRequest
from surveys.models import Cycle
from tests.factories import PracticeFactory, VisitSlotFactory
from tests.portal.helpers import assert_security_headers

pytestmark = pytest.mark.django_db


def test_static_file_found_by_the_finders_carries_the_headers(settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/css/portal.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert_security_headers(response)


def test_collected_static_file_carries_the_headers(settings, tmp_path):
    """As in production: collected, hashed and compressed files, served from STATIC_ROOT."""
    settings.DEBUG = False
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--no-input", verbosity=0)
    url = staticfiles_storage.url("css/portal.css")
    assert url != "/static/css/portal.css"
    client = Client()
    for encoding in ("", "gzip"):
        response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
        assert response.status_code == 200
        assert_security_headers(response)
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert not_modified.status_code == 304
    assert_security_headers(not_modified)


def test_request_for_a_host_not_allowed_gets_the_400_page_with_headers():
    response = Client().get("/healthz", HTTP_HOST="portal.attacker.example")
    assert response.status_code == 400
    assert b"We could not read that request" in response.content
    assert_security_headers(response)


def test_malformed_form_body_gets_the_400_page_with_headers():
    response = Client().post(
        "/accounts/login/", data=b"--x\r\nnot a form", content_type="multipart/form-data; boundary="
    )
    assert response.status_code == 400
    assert b"We could not read that request" in response.content
    assert_security_headers(response)


def test_too_many_form_fields_get_the_400_page_with_headers(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = Client().post("/accounts/login/", {f"field{n}": "x" for n in range(20)})
    assert response.status_code == 400
    assert b"We could not read that request" in response.content
    assert_security_headers(response)


def test_forbidden_page_carries_the_headers(as_user, teacher):
    response = as_user(teacher).get("/dashboard/")
    assert response.status_code == 403
    assert_security_headers(response)


def test_missing_page_carries_the_headers(as_user, teacher):
    response = as_user(teacher).get("/no-such-page/")
    assert response.status_code == 404
    assert_security_headers(response)


def test_server_error_page_carries_the_headers(as_user, teacher):
    client = as_user(teacher)
    client.raise_request_exception = False
    with mock.patch("insights.views.render", side_effect=RuntimeError("boom")):
        response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert_security_headers(response)


def test_database_lost_while_saving_the_session_gives_the_503_page_with_headers(as_user, teacher):
    """The session is saved by middleware that sits outside the page's own middleware."""
    client = as_user(teacher)
    client.raise_request_exception = False
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.save",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = client.get("/")
    assert response.status_code == 503
    assert b"Back in a moment" in response.content
    assert_security_headers(response)


def test_health_check_carries_the_headers_up_and_down():
    client = Client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_security_headers(response)
    with mock.patch("portal.views.connection.cursor", side_effect=OperationalError("gone")):
        down = client.get("/healthz")
    assert down.status_code == 503
    assert_security_headers(down)


def test_attachment_download_carries_the_headers(as_user, teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    practice = PracticeFactory(author=teacher, school=teacher.school)
    attachment = practice.attachments.create(
        file=ContentFile(b"%PDF-1.4", name="a.pdf"),
        original_name="a.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_by=teacher,
    )
    response = as_user(teacher).get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert_security_headers(response)


def test_csv_download_carries_the_headers(as_user, leader):
    today = timezone.localdate()
    Cycle.objects.create(name="Now", slug="now", opens_on=today - timedelta(days=1), closes_on=today)
    response = as_user(leader).get("/surveys/now/summary.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert_security_headers(response)


def test_calendar_files_carry_the_headers(as_user, principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal)
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    response = as_user(other_teacher).get(f"/showcases/requests/{visit.pk}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert_security_headers(response)
    feed = CalendarFeed.objects.create(user=other_teacher)
    subscription = Client().get(f"/showcases/calendar.ics?token={feed.token}")
    assert subscription.status_code == 200
    assert_security_headers(subscription)
