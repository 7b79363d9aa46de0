from django import template

from portal.models import User
from portal.naming import display_name, person_label

register = template.Library()


@register.simple_tag(takes_context=True)
def name_of(context: template.Context, person: User, anonymous: bool = False) -> str:
    """`person` named as the signed-in reader of the page may see them (portal.naming)."""
    return person_label(person, reader=context["request"].user, anonymous=anonymous)


@register.filter(name="display_name")
def display_name_filter(person: User) -> str:
    """The name of someone who is never anonymous in this place (a host, a visitor, an
    importer), written the portal's one way (portal.naming)."""
    return display_name(person)
