from django import template

from portal.models import User
from portal.naming import person_label

register = template.Library()


@register.simple_tag(takes_context=True)
def name_of(context: template.Context, person: User, anonymous: bool = False) -> str:
    """`person` named as the signed-in reader of the page may see them (portal.naming)."""
    return person_label(person, reader=context["request"].user, anonymous=anonymous)
