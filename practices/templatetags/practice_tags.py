from django import template

from portal.models import User
from portal.naming import person_label
from practices.filters import like_mine_reasons
from practices.models import Practice
from practices.search import Passage

register = template.Library()


@register.simple_tag(takes_context=True)
def byline(context: template.Context, practice: Practice) -> str:
    """The author as the reader of the page may see them: "Anonymous colleague" on an
    anonymous entry, unless the reader is its author or district staff."""
    return person_label(practice.author, reader=context["request"].user, anonymous=practice.anonymous)


@register.simple_tag(takes_context=True)
def like_mine(context: template.Context, practice: Practice) -> str:
    """What the entry's school has in common with the reader's ("same level, similar size")."""
    reader = context["request"].user
    if not isinstance(reader, User) or reader.school is None:
        return ""
    return like_mine_reasons(reader.school, practice.school)


@register.simple_tag(takes_context=True)
def matched_passage(context: template.Context, practice: Practice) -> Passage | None:
    """The passage a search matched in `practice`, when the page is a search."""
    passages: dict[int, Passage] = context.get("passages") or {}
    return passages.get(practice.pk)
