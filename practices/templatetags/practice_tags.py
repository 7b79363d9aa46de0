from django import template

from portal.naming import person_label
from practices.models import Practice

register = template.Library()


@register.simple_tag(takes_context=True)
def byline(context: template.Context, practice: Practice) -> str:
    """The author as the reader of the page may see them: "Anonymous colleague" on an
    anonymous entry, unless the reader is its author or district staff."""
    return person_label(practice.author, reader=context["request"].user, anonymous=practice.anonymous)
