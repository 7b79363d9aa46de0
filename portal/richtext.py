"""Markdown typed by people, rendered to HTML through an allow-list sanitizer.

Markdown may contain raw HTML; nh3 (the ammonia sanitizer) keeps only the tags and
attributes below, drops scripts and event handlers, and allows only http, https and
mailto links, so nothing a user types can run in a reader's browser.
"""

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


def render_markdown(text: str) -> SafeString:
    if not text:
        return SafeString("")
    html = markdown_lib.markdown(text, extensions=["sane_lists", "tables"], output_format="html")
    for old, new in HEADING_SHIFT.items():
        html = html.replace(old, new)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    # Safe to mark: nh3 has just sanitised it against the allow-list.
    return mark_safe(cleaned)  # noqa: S308  # nosec B308 B703
