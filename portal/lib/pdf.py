"""PDF documents drawn on the server from an HTML template, with WeasyPrint.

A report's template carries its own styles and draws its charts as inline SVG, which
WeasyPrint keeps as vector graphics. Nothing is fetched while drawing: an address in a
report (a style sheet, an image, a link someone typed) is never opened by the server.
WeasyPrint needs Pango and HarfBuzz from the system (see the README).
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

# WeasyPrint logs each step of every document at INFO; its warnings still come through.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def pdf_bytes(html: str) -> bytes:
    # Imported when a report is drawn: loading WeasyPrint parses its style sheets, which every
    # other request and command would pay for.
    from weasyprint import HTML  # noqa: PLC0415  # a heavy import, needed only for reports
    from weasyprint.urls import URLFetcher  # noqa: PLC0415  # as above

    class NothingFetched(URLFetcher):
        def fetch(self, url: str, headers: object = None) -> None:
            raise ValueError(f"a report loads nothing from outside itself: {url[:80]}")

    document: bytes = HTML(string=html, url_fetcher=NothingFetched()).write_pdf()
    return document


def pdf_response(request: HttpRequest, template: str, context: dict[str, Any], filename: str) -> HttpResponse:
    """The template drawn as a PDF download; `filename` is chosen by the code, never by the reader."""
    response = HttpResponse(pdf_bytes(render_to_string(template, context, request=request)))
    response["Content-Type"] = "application/pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
