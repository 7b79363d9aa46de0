"""Practice cards and the list's filter panel, drawn once and kept in the cache.

Drawing them was most of a list page's time. Nothing kept is ever deleted: a card's key is a
digest of every value the card shows, as this reader may see it (the byline, the counts of what
this reader may open, what the entry's school has in common with the reader's), so an edit, an
archive, a change of audience or anonymity, new tags, a renamed school or author, a new
adoption each make a new key, and a card drawn for one reader is shown to another only where it
reads the same for them. The passage a search matched in changes with each search: it is put in
the kept card's slot, never kept with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal.lib.kept import kept_filter_panel, kept_keys
from portal.models import User
from portal.naming import person_label
from practices.filters import PracticeFilter, like_mine_reasons
from practices.models import TAGS, Practice, Visibility
from practices.search import Passage

CARD_TEMPLATE = "practices/_card.html"
PANEL_TEMPLATE = "practices/_filters.html"
# Kept keys only go stale (a new version has a new key), so they may live long; the panel's
# choices come from vocabularies that change in the admin, so it is kept for less.
CARD_SECONDS = 24 * 60 * 60
PANEL_SECONDS = 60 * 60
# Where a search's passage goes in a kept card. Everything a person wrote is escaped in the card,
# so no entry can hold this comment.
PASSAGE_SLOT = SafeString("<!--passage-->")
# Lists prefetch a card's tags into a list: the tags' manager would build a queryset per entry.
CARD_TAGS = Prefetch(TAGS, to_attr="card_tags")
# The fields of the filter panel, whose choices and chosen values say how it is drawn.
PANEL_FIELDS = (
    "sort",
    "has_failures",
    "has_evolution",
    "featured",
    "subject",
    "grade",
    "evidence",
    "level",
    "tag",
    "school",
)


@dataclass(frozen=True)
class Card:
    """Every value a card shows, as its reader may see it."""

    pk: int
    title: str
    status: str
    school_name: str
    school_level: str
    byline: str
    published_at: datetime | None
    featured: bool
    failure_count: int
    iteration_count: int
    adaptation_count: int
    adoption_count: int
    school_only: bool
    likeness: str
    summary: str
    adaptation: bool
    adaptation_changes: str
    tags: tuple[str, ...]


def card_of(practice: Practice, reader: User, *, likeness: bool = False) -> Card:
    """The card of `practice` for `reader` (its tags prefetched, best with CARD_TAGS, its counts
    annotated by `Practice.objects.with_counts(reader)`; a list without them shows none)."""
    school = practice.school
    reader_school = reader.school if likeness else None
    return Card(
        pk=practice.pk,
        title=practice.title,
        status=practice.status,
        school_name=school.name,
        school_level=str(school.get_level_display()),
        byline=person_label(practice.author, reader=reader, anonymous=practice.anonymous),
        published_at=practice.published_at,
        featured=practice.featured_at is not None,
        failure_count=practice.failure_count,
        iteration_count=practice.iteration_count,
        adaptation_count=getattr(practice, "adaptation_count", 0),
        adoption_count=getattr(practice, "adoption_count", 0),
        school_only=practice.visibility == Visibility.SCHOOL,
        likeness=like_mine_reasons(reader_school, school) if reader_school is not None else "",
        summary=practice.summary,
        adaptation=practice.adapted_from_id is not None,
        adaptation_changes=practice.adaptation_changes,
        tags=tuple(tag.name for tag in _tags(practice)),
    )


def _tags(practice: Practice) -> Iterable[Any]:
    prefetched: list[Any] | None = getattr(practice, "card_tags", None)
    return practice.tags.all() if prefetched is None else prefetched


def _passage_html(passage: Passage | None) -> str:
    if passage is None:
        return ""
    return format_html(
        '<p class="passage"><span class="passage-part">Matched in {}:</span> {}</p>',
        passage.part.lower(),
        passage.html,
    )


def render_cards(
    practices: Iterable[Practice],
    *,
    reader: User,
    likeness: bool = False,
    passages: Mapping[int, Passage] | None = None,
) -> SafeString:
    """The cards of `practices`, each from the cache when it was drawn before as it reads now."""
    practices = list(practices)
    cards = [card_of(practice, reader, likeness=likeness) for practice in practices]
    keys = kept_keys("practices:card", CARD_TEMPLATE, cards)
    kept: dict[str, tuple[str, str]] = cache.get_many(keys)
    drawn: dict[str, tuple[str, str]] = {}
    parts: list[str] = []
    for practice, card, key in zip(practices, cards, keys, strict=True):
        halves = kept.get(key) or drawn.get(key)
        if halves is None:
            html = render_to_string(
                CARD_TEMPLATE, {"card": card, "url": practice.get_absolute_url(), "passage_slot": PASSAGE_SLOT}
            )
            head, _slot, tail = html.partition(PASSAGE_SLOT)
            halves = drawn[key] = (head, tail)
        parts += [halves[0], _passage_html((passages or {}).get(practice.pk)), halves[1]]
    if drawn:
        cache.set_many(drawn, CARD_SECONDS)
    # Drawn by the card's template (autoescaped) and format_html; nothing else is joined in.
    return SafeString("".join(parts))  # nosec B703


def render_filter_panel(practice_filter: PracticeFilter, *, cleared: bool) -> SafeString:
    """The filter panel's fields (all but the search box), drawn once per set of choices and
    chosen values. `cleared`: whether the page offers to clear what was chosen."""
    return kept_filter_panel(
        "practices:filters",
        PANEL_TEMPLATE,
        practice_filter.form,
        {"filter": practice_filter},
        fields=PANEL_FIELDS,
        cleared=cleared,
        seconds=PANEL_SECONDS,
    )
