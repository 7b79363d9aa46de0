"""Small real files for upload tests, with the author details a camera, a PDF writer or
an office suite would leave in them."""

import io
import zipfile

from PIL import Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

AUTHOR = "Dana Whitfield"
ARTIST, IMAGE_DESCRIPTION, ORIENTATION, GPS_IFD = 0x013B, 0x010E, 0x0112, 0x8825
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>{AUTHOR}</dc:creator></rdf:Description>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def camera_exif(*, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ARTIST] = AUTHOR
    exif[IMAGE_DESCRIPTION] = f"Photo by {AUTHOR}"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (40.0, 26.0, 46.0), "W", (79.0, 58.0, 56.0)
    return exif


def jpeg_bytes(*, size: tuple[int, int] = (60, 30), orientation: int = 1) -> bytes:
    """A photo wider than tall as stored, with EXIF (Artist, GPS), XMP and a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=camera_exif(orientation=orientation), xmp=XMP, comment=f"by {AUTHOR}".encode())
    return out.getvalue()


def png_bytes() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", AUTHOR)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 255, 128)).save(out, "PNG", pnginfo=info, exif=camera_exif())
    return out.getvalue()


def pdf_bytes(*, with_photo: bool = False, with_comment: bool = False) -> bytes:
    """A one-page PDF with /Author, /Creator, /Producer and XMP naming its author; optionally
    a photo (with its EXIF) on the page and a comment signed by the author."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 100)
    writer.add_metadata({"/Author": AUTHOR, "/Creator": f"Word for {AUTHOR}", "/Producer": f"{AUTHOR}'s PDF maker"})
    writer.xmp_metadata = XMP
    if with_photo:
        photo = EncodedStreamObject()
        photo._data = jpeg_bytes()  # a DCTDecode stream stores the JPEG file as it is
        photo.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(60),
                NameObject("/Height"): NumberObject(30),
                NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/Filter"): NameObject("/DCTDecode"),
            }
        )
        resources = DictionaryObject({NameObject("/Im0"): writer._add_object(photo)})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): resources})
        content = DecodedStreamObject()
        content.set_data(b"q 60 0 0 30 10 10 cm /Im0 Do Q")
        page[NameObject("/Contents")] = writer._add_object(content)
    if with_comment:
        comment = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Text"),
                NameObject("/Rect"): ArrayObject(
                    [NumberObject(10), NumberObject(10), NumberObject(30), NumberObject(30)]
                ),
                NameObject("/T"): TextStringObject(AUTHOR),
                NameObject("/Contents"): TextStringObject("Try this with exit tickets."),
            }
        )
        page[NameObject("/Annots")] = ArrayObject([writer._add_object(comment)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Default Extension="jpeg" ContentType="image/jpeg"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/comments.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
<Override PartName="/docProps/app.xml"
 ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
</Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2"
 Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
<Relationship Id="rId3"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>
</Relationships>"""
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
DOCUMENT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W}><w:body>
<w:p><w:r><w:t>Exit tickets: three questions on a half sheet.</w:t></w:r></w:p>
<w:p><w:ins w:id="1" w:author="{AUTHOR}" w:date="2025-01-01T00:00:00Z"><w:r><w:t>Added later.</w:t></w:r></w:ins></w:p>
</w:body></w:document>"""
COMMENTS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:comments {W}><w:comment w:id="0" w:author="{AUTHOR}" w:initials="DW">
<w:p><w:r><w:t>Check the rubric.</w:t></w:r></w:p></w:comment></w:comments>"""
CORE = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>Exit tickets</dc:title><dc:creator>{AUTHOR}</dc:creator><cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy>
<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:created></cp:coreProperties>"""
APP = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">
<Application>Microsoft Office Word</Application><Company>{AUTHOR} Tutoring</Company><Manager>{AUTHOR}</Manager>
</Properties>"""


def docx_bytes() -> bytes:
    """A Word document whose properties, comment, tracked change and photo name its author."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", ROOT_RELS)
        package.writestr("word/document.xml", DOCUMENT)
        package.writestr("word/comments.xml", COMMENTS)
        package.writestr("word/media/image1.jpeg", jpeg_bytes(orientation=6))
        package.writestr("docProps/core.xml", CORE)
        package.writestr("docProps/app.xml", APP)
    return out.getvalue()


ODT_META = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 office:version="1.3"><office:meta><meta:initial-creator>{AUTHOR}</meta:initial-creator>
<dc:creator>{AUTHOR}</dc:creator></office:meta></office:document-meta>"""
ODT_CONTENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 office:version="1.3"><office:body><office:text>
<text:p>Exit tickets<office:annotation><dc:creator>{AUTHOR}</dc:creator><text:p>Nice</text:p></office:annotation></text:p>
</office:text></office:body></office:document-content>"""
ODT_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def odt_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        package.writestr("META-INF/manifest.xml", ODT_MANIFEST)
        package.writestr("content.xml", ODT_CONTENT)
        package.writestr("meta.xml", ODT_META)
    return out.getvalue()
