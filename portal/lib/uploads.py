"""Uploaded files without the details that name their author.

A photo carries EXIF (camera owner, Artist, GPS position, dates), XMP and comments; a PDF
its document information (/Author, /Creator, /Producer) and XMP streams; an Office or
OpenDocument file its core properties (creator, last modified by), company and manager,
comment and tracked-change authors. An entry posted anonymously would name its author
through any of them, so every stored upload goes through `strip_metadata` first:

- Images (JPEG, PNG, GIF, WebP) are decoded and encoded again with nothing but their pixels,
  colour profile, transparency, resolution and animation timing; the EXIF orientation is
  applied to the pixels first, so photos stay upright.
- PDFs are rewritten without document information, XMP streams (of the document, its pages
  and its images), application data (/PieceInfo) and the author names of comments; JPEG
  images inside lose their EXIF, XMP and comment segments, without being encoded again.
- Office (docx, xlsx, pptx) and OpenDocument (odt, ods, odp) files keep their content; their
  document properties are blanked, the names on comments and tracked changes emptied, and
  the JPEG and PNG images inside lose their metadata segments and chunks.

A file that cannot be read raises `UnreadableUpload`, whose message is meant for the person
who sent it.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageOps, ImageSequence
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

# Decoded size of an image, counting every frame of an animation: at four bytes a pixel this
# bounds the memory one upload may take while it is cleaned (a 48-megapixel photo fits).
MAX_IMAGE_PIXELS = 60_000_000
# Frames of an animation: each costs time and memory of its own, however small.
MAX_FRAMES = 1_000
# What an Office or OpenDocument file may unpack to, and how many parts it may have: more
# than any real document, far less than a zip bomb.
MAX_PACKAGE_BYTES = 300 * 1024 * 1024
MAX_PACKAGE_PARTS = 10_000

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
PDF = "application/pdf"
OOXML = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
CLEANED_TYPES = {*PIL_FORMATS, PDF, *OOXML, *OPENDOCUMENT}

# How the image looks, nothing about who made it or where.
KEPT_IMAGE_INFO = ("icc_profile", "transparency", "dpi")
JPEG_QUALITY = 90
WEBP_QUALITY = 90


class UnreadableUpload(ValueError):
    """The file cannot be read as what its content says it is; the message says why."""


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """The file without the details that could name its author; raises UnreadableUpload."""
    if content_type in PIL_FORMATS:
        return _clean_image(data, content_type)
    if content_type == PDF:
        return _clean_pdf(data)
    if content_type in OOXML:
        return _clean_package(data, _clean_ooxml_part)
    if content_type in OPENDOCUMENT:
        return _clean_package(data, _clean_opendocument_part)
    raise ValueError(f"No way to remove the metadata of {content_type} files.")


def carries_metadata(data: bytes, content_type: str) -> bool:
    """Whether cleaning the file could remove anything. Only images are checked, since
    encoding them again loses a little quality each time; the other cleaners leave the
    content as it is, so running them again is harmless. Raises UnreadableUpload."""
    if content_type == "image/jpeg":
        return strip_jpeg_segments(data, keep_orientation=False) != data
    if content_type == "image/png":
        return strip_png_chunks(data) != data
    if content_type in PIL_FORMATS:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return bool(image.getexif()) or any(key in image.info for key in ("exif", "xmp", "comment"))
        except Exception:  # as in _clean_image
            raise UnreadableUpload("the image is damaged or incomplete") from None
    return True


# Images ------------------------------------------------------------------------------------


def _clean_image(data: bytes, content_type: str) -> bytes:
    expected = PIL_FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            # Pillow warns of oversized or slightly damaged data (truncated EXIF); the checks
            # below and the errors it raises decide, and the warnings would only fill the logs.
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                # A JPEG with extra pictures (depth maps, previews) opens as MPO: only the
                # main picture is kept, the others may carry their own EXIF.
                if image.format != expected and not (expected == "JPEG" and image.format == "MPO"):
                    raise UnreadableUpload("its content is not the image it seems to be")
                animated = expected != "JPEG" and getattr(image, "n_frames", 1) > 1
                frame_count: int = getattr(image, "n_frames", 1) if animated else 1
                if frame_count > MAX_FRAMES:
                    raise UnreadableUpload(f"it has more than {MAX_FRAMES} frames. Attach a shorter animation")
                _check_pixels(image.width * image.height * frame_count, animated=animated)
                loop = image.info.get("loop")
                frames = [_bare_frame(frame) for frame in ImageSequence.Iterator(image)] if animated else []
                if not animated:
                    frames = [_bare_frame(image)]
            return _encode_image(frames, expected, loop=loop, lossless=_is_lossless_webp(data))
    except UnreadableUpload:
        raise
    except Image.DecompressionBombError:
        _check_pixels(MAX_IMAGE_PIXELS + 1, animated=False)
        raise
    except Exception:  # a decoder on untrusted bytes: any failure means unreadable
        raise UnreadableUpload("the image is damaged or incomplete") from None


def _check_pixels(pixels: int, *, animated: bool) -> None:
    if pixels > MAX_IMAGE_PIXELS:
        raise UnreadableUpload(
            f"it is too large to process (more than {MAX_IMAGE_PIXELS // 1_000_000} million pixels"
            f"{' over all its frames' if animated else ''}). Attach a smaller copy"
        )


def _bare_frame(frame: Image.Image) -> Image.Image:
    """The frame upright, with only the information that changes how it looks."""
    frame.load()  # WebP reads a frame's duration as it decodes it
    duration = frame.info.get("duration")
    try:
        upright = ImageOps.exif_transpose(frame)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        # EXIF too damaged to tell the orientation; browsers show such pictures as stored.
        upright = frame.copy()
    kept: dict[str | tuple[int, int], Any] = {key: upright.info[key] for key in KEPT_IMAGE_INFO if key in upright.info}
    if duration is not None:
        kept["duration"] = duration
    upright.info = kept
    return upright


def _encode_image(frames: list[Image.Image], image_format: str, *, loop: object, lossless: bool) -> bytes:
    first = frames[0]
    options: dict[str, object] = {}
    if image_format == "JPEG":
        if first.mode not in ("L", "RGB", "CMYK"):
            first = first.convert("RGB")
        options = {"quality": JPEG_QUALITY}
    elif image_format == "WEBP":
        options = {"lossless": True} if lossless else {"quality": WEBP_QUALITY}
    for key in ("icc_profile", "dpi"):
        if key in first.info:
            options[key] = first.info[key]
    if len(frames) > 1:
        options["save_all"] = True
        options["append_images"] = frames[1:]
        options["duration"] = [frame.info.get("duration", 100) for frame in frames]
        if loop is not None:
            options["loop"] = loop
    out = io.BytesIO()
    first.save(out, image_format, **options)
    return out.getvalue()


def _is_lossless_webp(data: bytes) -> bool:
    """Whether a WebP file's (first) picture is lossless, to keep drawings and screenshots sharp."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    position = 12
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        if chunk == b"VP8L":
            return True
        if chunk == b"VP8 ":
            return False
        if chunk == b"ANMF":
            # An animation frame: its picture follows a 16-byte frame header.
            return data[position + 24 : position + 28] == b"VP8L"
        position += 8 + size + (size & 1)
    return False


# JPEG and PNG bytes, cleaned without decoding (images inside PDFs and Office files) -------

_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_JPEG_KEPT_APPS = {0xE0, 0xEE}  # JFIF, Adobe (how the colours are stored)
_JPEG_IN_SCAN = {0x00, *range(0xD0, 0xD8)}  # a stuffed 0xFF byte, restart markers
_ORIENTATION = 0x0112


def strip_jpeg_segments(data: bytes, *, keep_orientation: bool) -> bytes:
    """A JPEG's bytes without EXIF, XMP, IPTC, comments, vendor segments and the extra
    pictures after its end; the colour profile stays. With keep_orientation, a minimal EXIF
    holding only the orientation replaces the original, so the picture is shown the same way.
    Raises UnreadableUpload if the bytes are not a JPEG."""
    if data[:2] != b"\xff\xd8":
        raise UnreadableUpload("an image inside it is damaged")
    out = bytearray(b"\xff\xd8")
    header_end = len(out)  # where an EXIF segment goes: after SOI and JFIF
    orientation = None
    position = 2
    length = len(data)
    while position < length:
        if data[position] != 0xFF:
            raise UnreadableUpload("an image inside it is damaged")
        while position < length and data[position] == 0xFF:
            position += 1  # fill bytes
        if position >= length:
            break
        marker = data[position]
        position += 1
        if marker == 0xD9:
            break
        if marker in _JPEG_STANDALONE:
            out += bytes((0xFF, marker))
            continue
        size = struct.unpack(">H", data[position : position + 2])[0] if position + 2 <= length else 0
        if size < 2 or position + size > length:
            raise UnreadableUpload("an image inside it is damaged")
        segment = data[position - 2 : position + size]
        body = data[position + 2 : position + size]
        position += size
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00") and keep_orientation:
            orientation = _exif_orientation(body[6:]) or orientation
        is_metadata = 0xE0 <= marker <= 0xEF or marker == 0xFE
        if not is_metadata or marker in _JPEG_KEPT_APPS or (marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00")):
            out += segment
            if marker == 0xE0 and header_end == 2:
                header_end = len(out)
        if marker == 0xDA:
            # Entropy-coded data runs to the next marker that is not a stuffed byte or a restart.
            start = position
            while position + 1 < length and not (data[position] == 0xFF and data[position + 1] not in _JPEG_IN_SCAN):
                position += 1
            if position + 1 >= length:
                position = length  # no end marker: keep what there is, as viewers do
            out += data[start:position]
    if orientation not in (None, 1):
        exif = Image.Exif()
        exif[_ORIENTATION] = orientation
        payload = b"Exif\x00\x00" + exif.tobytes()
        out[header_end:header_end] = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out += b"\xff\xd9"
    return bytes(out)


def _exif_orientation(tiff: bytes) -> int | None:
    exif = Image.Exif()
    try:
        exif.load(tiff)
    except (OSError, ValueError, SyntaxError, struct.error):
        return None
    value = exif.get(_ORIENTATION)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that make up the picture or change how it looks; text, EXIF, times and private
# chunks are left out.
_PNG_KEPT_CHUNKS = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"bKGD", b"pHYs", b"cICP", b"mDCV", b"cLLI", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def strip_png_chunks(data: bytes) -> bytes:
    """A PNG's bytes with only the chunks that draw the picture; raises UnreadableUpload."""
    if not data.startswith(_PNG_SIGNATURE):
        raise UnreadableUpload("an image inside it is damaged")
    out = bytearray(_PNG_SIGNATURE)
    position = len(_PNG_SIGNATURE)
    while position + 12 <= len(data):
        size = struct.unpack(">I", data[position : position + 4])[0]
        chunk = data[position + 4 : position + 8]
        end = position + 12 + size
        if end > len(data):
            break
        if chunk in _PNG_KEPT_CHUNKS:
            out += data[position:end]
        position = end
        if chunk == b"IEND":
            return bytes(out)
    raise UnreadableUpload("an image inside it is incomplete")


def _clean_embedded_image(data: bytes, *, keep_orientation: bool) -> bytes:
    if data.startswith(b"\xff\xd8"):
        return strip_jpeg_segments(data, keep_orientation=keep_orientation)
    if data.startswith(_PNG_SIGNATURE):
        return strip_png_chunks(data)
    return data


# PDF ---------------------------------------------------------------------------------------

# Keys that hold data about the document's making rather than its content: XMP streams
# (on the catalogue, pages, images, fonts) and the private data of the application that saved it.
_PDF_DROPPED_KEYS = ("/Metadata", "/PieceInfo")


def _clean_pdf(data: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # any failure to decrypt means we cannot read it
                opened = False
            if not opened:
                raise UnreadableUpload("it is protected by a password. Attach a copy saved without one")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        writer.xmp_metadata = None
        _scrub_pdf_objects(writer.root_object)
        _drop_unreferenced(writer)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except UnreadableUpload:
        raise
    except RecursionError:
        raise UnreadableUpload("the PDF is nested too deeply to read") from None
    except Exception:  # a parser on untrusted bytes: any failure means unreadable
        raise UnreadableUpload("the PDF is damaged or incomplete") from None


def _scrub_pdf_objects(root: DictionaryObject) -> None:
    """Walk every object reachable from the catalogue once, removing what names the author."""
    seen: set[int] = set()
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key in _PDF_DROPPED_KEYS:
                item.pop(key, None)
            # A comment's /T is its author's name; a form field's /T is the field's name.
            if "/Rect" in item and "/Subtype" in item and item.get("/Subtype") != "/Widget":
                item.pop("/T", None)
            if isinstance(item, StreamObject) and item.get("/Subtype") == "/Image":
                _clean_pdf_jpeg(item)
            stack.extend(value for key, value in item.items() if key != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _clean_pdf_jpeg(stream: StreamObject) -> None:
    filters = stream.get("/Filter")
    if filters == "/DCTDecode" or (isinstance(filters, ArrayObject) and list(filters) == ["/DCTDecode"]):
        # The stored bytes are the JPEG file itself; pypdf's set_data would re-encode them.
        StreamObject.set_data(stream, strip_jpeg_segments(stream._data, keep_orientation=False))


def _drop_unreferenced(writer: PdfWriter) -> None:
    """Objects no longer reachable (the old document information, XMP streams) are not written.
    Each pass frees the objects only the previous pass's objects referred to."""
    while True:
        before = sum(obj is None for obj in writer._objects)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        if sum(obj is None for obj in writer._objects) == before:
            return


# Office and OpenDocument -------------------------------------------------------------------

_BLANK_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    b' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_BLANK_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"'
    b' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>'
)
_APP_PERSONAL = re.compile(rb"<(Company|Manager|HyperlinkBase)>[^<]*</\1>")
_QUOTED = rb"(\"[^\"]*\"|'[^']*')"
# Names and accounts on comments, tracked changes and co-authoring, wherever they appear:
# w:author and w:initials (Word), userName (shared workbooks), w15:userId and providerId.
_PERSON_ATTRIBUTES = re.compile(rb"(\s(?:\w+:)?(?:author|initials|userId|providerId|userName)=)" + _QUOTED)
# Elements that describe a person (Excel's persons, PowerPoint's comment authors, shared-
# workbook users): their name and displayName too. A table's displayName elsewhere stays.
_PERSON_ELEMENT = re.compile(rb"<(?:\w+:)?(?:person|cmAuthor|author|userInfo)\s[^>]*>")
_PERSON_NAME = re.compile(rb"(\s(?:\w+:)?(?:name|displayName)=)" + _QUOTED)
# Person names as element text: Excel comment authors, OpenDocument creators of comments and
# changes, SharePoint people fields in custom XML.
_PERSON_TEXT = re.compile(
    rb"<((?:\w+:)?(?:author|creator|initial-creator|creator-initials|DisplayName|AccountId))>[^<]*</\1>"
)
_ODF_VERSION = re.compile(rb'office:version="([0-9.]{1,10})"')
_ODF_PRINTER = re.compile(
    rb'(<config:config-item config:name="Printer(?:Name|Setup)" config:type="[^"]*">)[^<]*(</config:config-item>)'
)


def _blank_people(xml: bytes) -> bytes:
    xml = _PERSON_ATTRIBUTES.sub(rb'\1""', xml)
    xml = _PERSON_ELEMENT.sub(lambda match: _PERSON_NAME.sub(rb'\1""', match.group(0)), xml)
    return _PERSON_TEXT.sub(rb"<\1></\1>", xml)


def _clean_ooxml_part(name: str, content: bytes) -> bytes:
    lowered = name.lower()
    if lowered == "docprops/core.xml":
        return _BLANK_CORE
    if lowered == "docprops/custom.xml":
        return _BLANK_CUSTOM
    if lowered == "docprops/app.xml":
        return _APP_PERSONAL.sub(rb"<\1></\1>", content)
    if lowered.endswith(".xml") and lowered.startswith(("word/", "xl/", "ppt/", "customxml/")):
        return _blank_people(content)
    return _clean_embedded_image(content, keep_orientation=True)


def _clean_opendocument_part(name: str, content: bytes) -> bytes:
    if name == "META-INF/manifest.xml" and b"encryption-data" in content:
        raise UnreadableUpload("it is protected by a password. Attach a copy saved without one")
    if name == "meta.xml":
        version = _ODF_VERSION.search(content)
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            b' office:version="'
            + (version.group(1) if version else b"1.2")
            + b'"><office:meta/></office:document-meta>'
        )
    if name == "settings.xml":
        return _ODF_PRINTER.sub(rb"\1\2", content)
    if name.endswith(".xml"):
        return _blank_people(content)
    return _clean_embedded_image(content, keep_orientation=True)


def _clean_package(data: bytes, clean_part: Callable[[str, bytes], bytes]) -> bytes:
    """A zip package with each part cleaned, in the same order and compression (OpenDocument
    needs its uncompressed `mimetype` first)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            parts = package.infolist()
            if len(parts) > MAX_PACKAGE_PARTS:
                raise UnreadableUpload("it has too many parts to read")
            out = io.BytesIO()
            unpacked = 0
            with zipfile.ZipFile(out, "w") as cleaned:
                for part in parts:
                    if part.flag_bits & 0x1:
                        raise UnreadableUpload("it is protected by a password. Attach a copy saved without one")
                    with package.open(part) as stream:
                        content = stream.read(MAX_PACKAGE_BYTES - unpacked + 1)
                    unpacked += len(content)
                    if unpacked > MAX_PACKAGE_BYTES:
                        raise UnreadableUpload("it unpacks to more than a document could hold")
                    if not part.is_dir():
                        content = clean_part(part.filename, content)
                    entry = zipfile.ZipInfo(part.filename, date_time=part.date_time)
                    entry.compress_type = part.compress_type
                    entry.external_attr = part.external_attr
                    cleaned.writestr(entry, content)
            return out.getvalue()
    except UnreadableUpload:
        raise
    except Exception:  # an unpacker on untrusted bytes (zlib, zipfile): any failure means unreadable
        raise UnreadableUpload("the document is damaged or incomplete") from None
