import io
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from practices.models import Attachment, Practice
from tests.factories import TEST_PASSWORD, PracticeFactory
from tests.practices.helpers import THREE_ITERATIONS, TWO_FAILURES, practice_post
from tests.practices.sample_files import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db

PDF_BYTES = pdf_bytes()
PNG_BYTES = png_bytes()
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _assert_everything_kept(page: str) -> None:
    for row in THREE_ITERATIONS + TWO_FAILURES:
        for key, value in row.items():
            if key != "ORDER":
                assert value.replace('"', "&quot;") in page, value
    assert "Three questions on a half sheet." in page
    assert "Catch misconceptions the same day." in page


def test_missing_title_comes_back_with_every_typed_value(as_user, teacher):
    data = practice_post(title="", iterations=THREE_ITERATIONS, failures=TWO_FAILURES)
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_title_error"' in page
    _assert_everything_kept(page)
    assert not Practice.objects.exists()


def test_oversize_attachment_is_refused_and_everything_typed_comes_back(as_user, teacher, settings):
    settings.PRACTICE_ATTACHMENT_MAX_BYTES = 1024
    data = practice_post(iterations=THREE_ITERATIONS, failures=TWO_FAILURES)
    data["attachments"] = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * 2150, content_type="application/pdf")
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "“big.pdf” is 2.1\xa0KB; files can be at most 1.0\xa0KB." in page
    assert "attach them again" in page
    _assert_everything_kept(page)
    assert not Practice.objects.exists() and not Attachment.objects.exists()


def test_disguised_attachment_is_refused(as_user, teacher):
    data = practice_post(iterations=THREE_ITERATIONS, failures=TWO_FAILURES)
    data["attachments"] = SimpleUploadedFile("lesson-plan.pdf", EXE_BYTES, content_type="application/pdf")
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "“lesson-plan.pdf” is not a PDF, image or Office document (its content looks like EXE)" in page
    _assert_everything_kept(page)


def test_a_name_that_disagrees_with_the_content_is_refused(as_user, teacher):
    data = practice_post()
    data["attachments"] = SimpleUploadedFile("photo.pdf", PNG_BYTES, content_type="application/pdf")
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    assert "is named like a .pdf but its content is a PNG image" in response.content.decode()


def test_good_attachments_are_stored_under_generated_names_and_served_only_through_the_view(
    as_user, teacher, other_teacher, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    data = practice_post(visibility="school")
    data["attachments"] = [
        SimpleUploadedFile("Rubric (final).pdf", PDF_BYTES, content_type="application/pdf"),
        SimpleUploadedFile("board.png", PNG_BYTES, content_type="image/png"),
    ]
    client = as_user(teacher)
    assert client.post("/practices/new/", data).status_code == 302
    practice = Practice.objects.get()
    rubric = practice.attachments.get(original_name="Rubric (final).pdf")
    assert rubric.content_type == "application/pdf"
    assert re.fullmatch(r"practice-attachments/\d{4}/\d{2}/[0-9a-f]{32}\.pdf", rubric.file.name or "")
    response = client.get(f"/practices/{practice.pk}/attachments/{rubric.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages) == 1
    assert as_user(other_teacher).get(f"/practices/{practice.pk}/attachments/{rubric.pk}/").status_code == 404


def test_removed_attachments_are_hidden_but_kept(as_user, teacher, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = as_user(teacher)
    data = practice_post()
    data["attachments"] = SimpleUploadedFile("a.pdf", PDF_BYTES)
    client.post("/practices/new/", data)
    practice = Practice.objects.get()
    attachment = practice.attachments.get()
    edit = practice_post(remove_attachments=str(attachment.pk))
    assert client.post(f"/practices/{practice.pk}/edit/", edit).status_code == 302
    attachment.refresh_from_db()
    assert attachment.removed_at is not None
    assert client.get(f"/practices/{practice.pk}/attachments/{attachment.pk}/").status_code == 404
    assert "a.pdf" not in client.get(f"/practices/{practice.pk}/").content.decode()


@pytest.mark.parametrize("field", ["title", "summary", "description", "intent", "context", "impact", "tags"])
def test_script_payloads_in_any_field_are_inert(as_user, teacher, field):
    data = practice_post(
        **{field: f"Typed {SCRIPT}"},
        iterations=[{"tried": SCRIPT, "observed": SCRIPT, "ORDER": "1"}],
        failures=[{"tried": SCRIPT, "why": SCRIPT, "ORDER": "1"}],
    )
    client = as_user(teacher)
    assert client.post("/practices/new/", data).status_code == 302
    practice = Practice.objects.get()
    for path in [
        f"/practices/{practice.pk}/",
        "/practices/",
        f"/practices/{practice.pk}/history/",
        f"/practices/{practice.pk}/edit/",
    ]:
        page = client.get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", ""), path


def test_markdown_links_keep_only_safe_schemes(as_user, teacher):
    practice = PracticeFactory(
        author=teacher, description="[safe](https://example.org) [bad](javascript:alert(1)) **bold**"
    )
    page = as_user(teacher).get(f"/practices/{practice.pk}/").content.decode()
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">safe</a>' in page
    assert "javascript:" not in page
    assert "<strong>bold</strong>" in page


def test_expired_session_keeps_what_was_typed(client, teacher):
    client.force_login(teacher)
    client.get("/practices/new/")
    Session.objects.all().delete()
    data = practice_post(title="Long entry", iterations=THREE_ITERATIONS, failures=TWO_FAILURES)
    response = client.post("/practices/new/", data)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=/practices/new/")

    signed_in = client.post(
        "/accounts/login/?next=/practices/new/",
        {"username": "teacher", "password": TEST_PASSWORD, "next": "/practices/new/"},
    )
    assert signed_in.url == "/practices/new/"
    page = client.get("/practices/new/").content.decode()
    assert "what you typed before signing in again" in page
    assert 'value="Long entry"' in page
    _assert_everything_kept(page)
    assert not Practice.objects.exists()
    # Shown once: the next visit starts empty.
    assert 'value="Long entry"' not in client.get("/practices/new/").content.decode()
