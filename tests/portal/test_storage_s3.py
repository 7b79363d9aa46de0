"""Uploads in S3-compatible storage: with STORAGE_S3_BUCKET set, an attachment posted through the
practice form is stored in the bucket (cleaned of the details that name its author, as on disk),
and read back only through the attachment view, after its access check: a reader who may see the
entry downloads it, one who may not gets a 404 and never the bucket's address.

The S3 server is moto's, in server mode, started here on loopback: every request below is real
S3 over HTTP, as django-storages and boto3 send it."""

import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from practices.models import Attachment
from tests.practices.helpers import practice_post
from tests.practices.sample_files import AUTHOR, jpeg_bytes

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "portal" / "settings.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """The address of an S3-compatible server (moto) on loopback, for this module's tests."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(endpoint, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def settings_from_environment(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, Any]:
    """The settings portal/settings.py makes from these environment variables."""
    for name in ("STORAGE_S3_BUCKET", "STORAGE_S3_ENDPOINT_URL", "STORAGE_S3_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.fixture
def bucket(s3_server, settings, monkeypatch, tmp_path) -> str:
    """A new, empty bucket, and the portal's uploads going to it as the settings configure them."""
    name = f"portal-{uuid.uuid4().hex[:12]}"
    create = urllib.request.Request(f"{s3_server}/{name}", method="PUT")  # noqa: S310  # our own loopback server
    with urllib.request.urlopen(create, timeout=10) as answer:  # noqa: S310  # our own loopback server
        assert answer.status == 200
    configured = settings_from_environment(
        monkeypatch,
        STORAGE_S3_BUCKET=name,
        STORAGE_S3_ENDPOINT_URL=s3_server,
        STORAGE_S3_ACCESS_KEY_ID="portal-test",
        STORAGE_S3_SECRET_ACCESS_KEY="portal-test-secret",
        STORAGE_S3_REGION="us-east-1",
    )
    settings.STORAGES = configured["STORAGES"]
    # Anything written to disk instead would land here.
    settings.MEDIA_ROOT = tmp_path
    return name


def _bucket_object(name: str) -> bytes:
    """The object as stored in the bucket, read with the portal's credentials."""
    with default_storage.open(name) as stored:
        return bytes(stored.read())


def _unsigned_get(s3_server: str, bucket: str, name: str) -> int:
    """The answer to a request for the object by its address alone, without credentials."""
    try:
        with urllib.request.urlopen(f"{s3_server}/{bucket}/{name}", timeout=10) as answer:  # noqa: S310  # loopback
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.fixture
def posted(as_user, teacher, bucket) -> Attachment:
    """A photo naming its author, posted by the teacher through the practice form, shared with
    their school only."""
    data = practice_post(visibility="school")
    data["attachments"] = SimpleUploadedFile("field trip.jpg", jpeg_bytes())
    response = as_user(teacher).post("/practices/new/", data)
    assert response.status_code == 302
    return Attachment.objects.get(original_name="field trip.jpg")


def test_settings_use_the_bucket_when_one_is_named_and_the_disk_otherwise(monkeypatch):
    on_disk = settings_from_environment(monkeypatch)
    assert on_disk["STORAGES"]["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    in_bucket = settings_from_environment(
        monkeypatch, STORAGE_S3_BUCKET="uploads", STORAGE_S3_ENDPOINT_URL="https://s3.district.example.org"
    )
    storage = in_bucket["STORAGES"]["default"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "uploads"
    assert storage["OPTIONS"]["endpoint_url"] == "https://s3.district.example.org"
    assert storage["OPTIONS"]["file_overwrite"] is False
    assert "access_key" not in storage["OPTIONS"], "no keys: the machine's own credentials are used"


def test_settings_refuse_a_half_configured_bucket(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="STORAGE_S3_ENDPOINT_URL"):
        settings_from_environment(monkeypatch, STORAGE_S3_BUCKET="uploads", STORAGE_S3_ENDPOINT_URL="s3.example.org")
    with pytest.raises(ImproperlyConfigured, match="STORAGE_S3_SECRET_ACCESS_KEY"):
        settings_from_environment(monkeypatch, STORAGE_S3_BUCKET="uploads", STORAGE_S3_ACCESS_KEY_ID="key")


def test_an_attachment_posted_through_the_form_lands_in_the_bucket_without_its_author(
    posted, s3_server, bucket, settings
):
    assert type(storages["default"]).__name__ == "S3Storage"
    stored = _bucket_object(posted.file.name)
    assert posted.file.name.startswith("practice-attachments/") and posted.size == len(stored)
    assert AUTHOR.encode() not in stored
    with Image.open(default_storage.open(posted.file.name)) as photo:
        assert photo.format == "JPEG" and not photo.getexif()
    assert list(Path(settings.MEDIA_ROOT).iterdir()) == [], "nothing was written to the disk"
    assert _unsigned_get(s3_server, bucket, posted.file.name) == 403, "the object is private"


def test_a_reader_who_may_see_the_entry_downloads_it_through_the_view(as_user, principal, posted, s3_server, bucket):
    response = as_user(principal).get(posted.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == _bucket_object(posted.file.name)
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert 'filename="field trip.jpg"' in response["Content-Disposition"]


def test_a_reader_who_may_not_see_the_entry_gets_a_404_and_no_address_of_the_file(as_user, other_teacher, posted):
    response = as_user(other_teacher).get(posted.get_absolute_url())
    assert response.status_code == 404
    assert posted.file.name not in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, posted):
    response = client.get(posted.get_absolute_url())
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_file_missing_from_the_bucket_is_a_404(as_user, teacher, posted):
    default_storage.delete(posted.file.name)
    assert not default_storage.exists(posted.file.name)
    assert as_user(teacher).get(posted.get_absolute_url()).status_code == 404
