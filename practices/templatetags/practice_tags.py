from django import template

from practices.models import Practice

register = template.Library()


@register.simple_tag(takes_context=True)
def byline(context: template.Context, practice: Practice) -> str:
    """The author's name, or 'Anonymous …' when the entry is anonymous and the viewer may not know."""
    return practice.author_label(context["request"].user)
