"""Attachments are stored without the details that name their author: an anonymous entry's
photo or handout must not say who made it. Each file goes in through the practice form and
comes back out through the attachment view, as a reader would download it."""

import contextlib
import io
import zipfile
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader, PdfWriter

from portal.lib import uploads
from portal.lib.uploads import CLEANED_TYPES, UnreadableUpload, strip_metadata
from practices.forms import ALLOWED_UPLOADS
from practices.models import Attachment, Practice
from tests.factories import PracticeFactory
from tests.practices.helpers import THREE_ITERATIONS, TWO_FAILURES, practice_post
from tests.practices.sample_files import (
    ARTIST,
    AUTHOR,
    GPS_IFD,
    camera_exif,
    docx_bytes,
    jpeg_bytes,
    odt_bytes,
    pdf_bytes,
    png_bytes,
)

pytestmark = pytest.mark.django_db

NAME = AUTHOR.encode()
SURNAME = AUTHOR.split()[-1].encode()


@pytest.fixture
def post_anonymously(as_user, teacher, settings, tmp_path):
    """Post an anonymous entry with one file; return the client and what the form answered."""
    settings.MEDIA_ROOT = tmp_path
    client = as_user(teacher)

    def post(name: str, content: bytes, **fields: str):
        data = practice_post(anonymous="on", iterations=THREE_ITERATIONS, failures=TWO_FAILURES, **fields)
        data["attachments"] = SimpleUploadedFile(name, content)
        return client, client.post("/practices/new/", data)

    return post


def download(client, name: str) -> bytes:
    attachment = Attachment.objects.get(original_name=name)
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert attachment.size == len(content)
    return content


def test_photo_loses_artist_gps_xmp_and_comment_and_stays_upright(post_anonymously):
    original = jpeg_bytes(size=(60, 30), orientation=6)  # stored sideways, shown rotated
    assert NAME in original
    client, response = post_anonymously("field trip.jpg", original)
    assert response.status_code == 302
    content = download(client, "field trip.jpg")
    assert NAME not in content and SURNAME not in content
    with Image.open(io.BytesIO(content)) as photo:
        assert photo.format == "JPEG"
        assert photo.size == (30, 60)  # the rotation is applied to the pixels
        exif = photo.getexif()
        assert ARTIST not in exif and not exif.get_ifd(GPS_IFD)
        assert "xmp" not in photo.info and "comment" not in photo.info
        pixel = photo.convert("RGB").getpixel((15, 30))
        assert isinstance(pixel, tuple)
        red, green, blue = pixel
        assert red > 150 and green < 80 and blue < 80


def test_pdf_loses_document_information_xmp_and_comment_author(post_anonymously):
    original = pdf_bytes(with_photo=True, with_comment=True)
    assert NAME in original
    client, response = post_anonymously("handout.pdf", original)
    assert response.status_code == 302
    content = download(client, "handout.pdf")
    assert NAME not in content and SURNAME not in content
    reader = PdfReader(io.BytesIO(content))
    assert not reader.metadata
    assert reader.xmp_metadata is None
    page = reader.pages[0]
    assert len(reader.pages) == 1 and page.mediabox.width == 200
    # pypdf types a page's entries as any PDF object; here they are dictionaries and arrays.
    entries: Any = page
    photo = entries["/Resources"]["/XObject"]["/Im0"].get_object()
    assert photo.decode_as_image().size == (60, 30)
    comment = entries["/Annots"][0].get_object()
    assert comment["/Contents"] == "Try this with exit tickets." and "/T" not in comment


@pytest.mark.parametrize("image_format", ["PNG", "GIF", "WEBP"])
def test_other_images_lose_their_metadata(post_anonymously, image_format):
    if image_format == "PNG":
        original = png_bytes()
    else:
        out = io.BytesIO()
        frames = [Image.new("RGB", (12, 12), colour) for colour in ("red", "green")]
        options = {"exif": camera_exif(), "xmp": b"<x>" + NAME + b"</x>"} if image_format == "WEBP" else {}
        frames[0].save(
            out, image_format, save_all=True, append_images=frames[1:], duration=[40, 80], comment=NAME, **options
        )
        original = out.getvalue()
    assert NAME in original
    name = f"board.{image_format.lower()}"
    client, response = post_anonymously(name, original)
    assert response.status_code == 302
    content = download(client, name)
    assert NAME not in content
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == image_format
        assert ARTIST not in image.getexif()
        if image_format != "PNG":
            assert getattr(image, "n_frames", 1) == 2  # the animation is kept


def test_word_document_loses_its_properties_and_the_names_on_comments_and_changes(post_anonymously):
    client, response = post_anonymously("Lesson plan.docx", docx_bytes())
    assert response.status_code == 302
    content = download(client, "Lesson plan.docx")
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        assert package.testzip() is None
        parts = {name: package.read(name) for name in package.namelist()}
    for name, part in parts.items():
        assert SURNAME not in part, name
        if name.endswith((".xml", ".rels")):
            ElementTree.fromstring(part)  # noqa: S314 - still well-formed; the file is our own output
    assert b"Exit tickets: three questions on a half sheet." in parts["word/document.xml"]
    assert b"Added later." in parts["word/document.xml"]
    assert b"Check the rubric." in parts["word/comments.xml"]
    with Image.open(io.BytesIO(parts["word/media/image1.jpeg"])) as photo:
        assert dict(photo.getexif()) == {0x0112: 6}  # only the orientation, as Word shows it


def test_opendocument_text_loses_its_creator(post_anonymously):
    client, response = post_anonymously("Lesson plan.odt", odt_bytes())
    assert response.status_code == 302
    content = download(client, "Lesson plan.odt")
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        first = package.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        for name in package.namelist():
            assert SURNAME not in package.read(name), name
        assert b"Exit tickets" in package.read("content.xml")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", jpeg_bytes()[:200]),
        ("handout.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\nnot a pdf at all"),
        ("board.png", png_bytes()[:60]),
        ("plan.docx", docx_bytes()[:-30]),  # no central directory
    ],
    ids=["jpeg", "pdf", "png", "docx"],
)
def test_damaged_file_gets_a_form_error_and_everything_typed_comes_back(post_anonymously, name, content):
    _client, response = post_anonymously(name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"“{name}” could not be read:" in page
    assert "Three questions on a half sheet." in page
    assert THREE_ITERATIONS[0]["tried"] in page and TWO_FAILURES[0]["lesson"] in page
    assert not Practice.objects.exists() and not Attachment.objects.exists()


def test_password_protected_pdf_is_refused_with_a_reason(post_anonymously):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    _client, response = post_anonymously("locked.pdf", out.getvalue())
    assert response.status_code == 400
    assert "“locked.pdf” could not be read: it is protected by a password." in response.content.decode()


def test_image_too_large_to_process_is_refused_before_it_is_decoded(post_anonymously):
    out = io.BytesIO()
    Image.new("1", (10_000, 7_000)).save(out, "PNG")  # 70 million pixels in a few kilobytes
    _client, response = post_anonymously("poster.png", out.getvalue())
    assert response.status_code == 400
    assert "“poster.png” could not be read: it is too large to process" in response.content.decode()


def test_animation_with_too_many_frames_is_refused(post_anonymously, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FRAMES", 2)
    out = io.BytesIO()
    frames = [Image.new("RGB", (4, 4), colour) for colour in ("red", "green", "blue")]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    _client, response = post_anonymously("dance.gif", out.getvalue())
    assert response.status_code == 400
    assert "“dance.gif” could not be read: it has more than 2 frames." in response.content.decode()


def test_older_office_format_is_refused_with_the_format_to_use(post_anonymously):
    legacy_word = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"\xec\xa5\xc1\x00" + b"\x00" * 600
    _client, response = post_anonymously("plan.doc", legacy_word)
    assert response.status_code == 400
    page = response.content.decode()
    assert "“plan.doc” is in an older Word format" in page and "Save it as .docx" in page
    assert not Attachment.objects.exists()


def test_the_file_name_the_author_chose_is_kept(post_anonymously):
    client, response = post_anonymously("Exit ticket rubric (final).pdf", pdf_bytes())
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Exit ticket rubric (final).pdf"
    assert (
        'filename="Exit ticket rubric (final).pdf"' in client.get(attachment.get_absolute_url())["Content-Disposition"]
    )


def test_every_accepted_type_has_its_metadata_removed():
    assert set(ALLOWED_UPLOADS) <= CLEANED_TYPES


def test_command_cleans_attachments_stored_before_and_leaves_the_rest_listed(
    teacher, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    practice = PracticeFactory(author=teacher, school=teacher.school, anonymous=True)

    def stored(name: str, content: bytes, content_type: str) -> Attachment:
        return practice.attachments.create(
            file=ContentFile(content, name=name),
            original_name=name,
            content_type=content_type,
            size=len(content),
            uploaded_by=teacher,
        )

    photo = stored("photo.jpg", jpeg_bytes(orientation=6), "image/jpeg")
    handout = stored("handout.pdf", pdf_bytes(with_comment=True), "application/pdf")
    legacy = stored("old.doc", b"\xd0\xcf\x11\xe0" + NAME, "application/msword")
    old_photo_name = photo.file.name
    assert old_photo_name
    out, err = io.StringIO(), io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("strip_attachment_metadata", stdout=out, stderr=err)
    assert "2 cleaned, 0 had nothing to remove, 1 left as they are" in out.getvalue()
    assert f"“old.doc” (attachment {legacy.pk}): a application/msword file cannot be cleaned" in err.getvalue()
    for attachment in (photo, handout):
        attachment.refresh_from_db()
        with attachment.file.open("rb") as cleaned:
            content = cleaned.read()
        assert NAME not in content and attachment.size == len(content)
    assert not default_storage.exists(old_photo_name)
    with Image.open(photo.file.path) as upright:
        assert upright.size == (30, 60)
    cleaned_photo_name = photo.file.name
    again = io.StringIO()
    call_command("strip_attachment_metadata", stdout=again, stderr=io.StringIO())
    # The photo is not encoded a second time; the PDF is rewritten, which loses nothing.
    assert "1 cleaned, 1 had nothing to remove, 1 left as they are" in again.getvalue()
    photo.refresh_from_db()
    assert photo.file.name == cleaned_photo_name


def _animated(image_format: str) -> bytes:
    out = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(out, image_format, save_all=True, append_images=frames[1:], duration=[40, 80])
    return out.getvalue()


SAMPLES = {
    "image/jpeg": jpeg_bytes(),
    "image/png": png_bytes(),
    "image/gif": _animated("GIF"),
    "image/webp": _animated("WEBP"),
    "application/pdf": pdf_bytes(with_photo=True, with_comment=True),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": docx_bytes(),
    "application/vnd.oasis.opendocument.text": odt_bytes(),
}


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content_type=st.sampled_from(sorted(SAMPLES)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=40)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_damaged_files_are_unreadable_never_a_crash(content_type, edits, cut):
    """Bytes overwritten, inserted or cut off anywhere: the cleaner either cleans the file or
    says it cannot read it; nothing else may escape (that would be a 500)."""
    data = bytearray(SAMPLES[content_type])
    for where, junk in edits:
        at = int(where * len(data))
        data[at : at + len(junk) // 2] = junk
    if cut is not None:
        del data[int(cut * len(data)) :]
    with contextlib.suppress(UnreadableUpload):
        strip_metadata(bytes(data), content_type)
