"""Markdown typed by people, rendered to HTML through an allow-list sanitizer.

Markdown may contain raw HTML; nh3 (the ammonia sanitizer) keeps only the tags and
attributes below, drops scripts and event handlers, and allows only http, https and
mailto links, so nothing a user types can run in a reader's browser.
"""

import threading
from functools import lru_cache

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "del", "ins", "mark", "sub", "sup",
    "ul", "ol", "li", "blockquote", "code", "pre", "hr",
    "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set(), "ol": {"start"}}
# Headings typed as # or ## become level 3 and below, under the page's own headings.
HEADING_SHIFT = {"<h1>": "<h3>", "</h1>": "</h3>", "<h2>": "<h4>", "</h2>": "</h4>"}


# Texts whose HTML each process keeps: a page shows the same entries to many readers, and
# drawing Markdown was a quarter of a practice page's time. The HTML depends on the text alone.
RENDERED_KEPT = 2048
# Longer texts are drawn each time rather than kept (a few very long texts could fill the memory).
LONGEST_KEPT = 5_000

# One converter per thread: building one costs more than converting a short text, and a
# converter holds the state of the text it converts, so threads do not share one.
_converters = threading.local()


def _converter() -> markdown_lib.Markdown:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown_lib.Markdown(extensions=["sane_lists", "tables"], output_format="html")
        _converters.markdown = converter
    return converter


def render_markdown(text: str) -> SafeString:
    if not text:
        return SafeString("")
    cleaned = _kept_html(text) if len(text) <= LONGEST_KEPT else _html(text)
    # Safe to mark: nh3 has sanitised it against the allow-list.
    return mark_safe(cleaned)  # noqa: S308  # nosec B308 B703


@lru_cache(maxsize=RENDERED_KEPT)
def _kept_html(text: str) -> str:
    return _html(text)


def _html(text: str) -> str:
    html = _converter().reset().convert(text)
    for old, new in HEADING_SHIFT.items():
        html = html.replace(old, new)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned
