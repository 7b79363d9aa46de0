from collections.abc import Iterable, Mapping

from django import template
from django.utils.safestring import SafeString

from portal.models import User
from portal.naming import person_label
from practices.cards import render_cards, render_filter_panel
from practices.filters import PracticeFilter
from practices.models import Practice
from practices.search import Passage

register = template.Library()


@register.simple_tag(takes_context=True)
def byline(context: template.Context, practice: Practice) -> str:
    """The author as the reader of the page may see them: "Anonymous colleague" on an
    anonymous entry, unless the reader is its author or district staff."""
    return person_label(practice.author, reader=context["request"].user, anonymous=practice.anonymous)


@register.simple_tag(takes_context=True)
def practice_cards(
    context: template.Context,
    practices: Iterable[Practice],
    likeness: bool = False,
    passages: Mapping[int, Passage] | None = None,
) -> SafeString:
    """The cards of a list of practices as the page's reader sees them (`likeness`: with what
    each entry's school has in common with the reader's; `passages`: what a search matched)."""
    reader: User = context["request"].user
    return render_cards(practices, reader=reader, likeness=likeness, passages=passages)


@register.simple_tag(takes_context=True)
def filter_panel(context: template.Context, practice_filter: PracticeFilter) -> SafeString:
    """The practice list's filters but its search box."""
    return render_filter_panel(practice_filter, cleared=bool(context["request"].GET))
