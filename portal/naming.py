"""How a person is named to a given reader: the one rule for every page, e-mail, feed and export.

Someone who posts anonymously is named only to themselves and to district staff (who
moderate); everyone else reads "Anonymous colleague". Their school is still shown, as
the form promises. Anything that names a person to a reader asks here, so the rule
cannot drift between a byline, a history entry, an e-mail and an export.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from portal.models import User

ANONYMOUS_LABEL = "Anonymous colleague"


def display_name(person: User) -> str:
    """A person's name as the portal writes it, whoever reads it (for people who are never anonymous)."""
    return person.get_full_name() or person.username


def may_name(person: User, *, reader: User | AnonymousUser | None, anonymous: bool) -> bool:
    """Whether `reader` may learn who `person` is, where `person` acted anonymously or not.

    `reader` None is a reader without an account of their own (an export for the whole
    district), and AnonymousUser a visitor not signed in (a page's template): they learn
    no anonymous name.
    """
    if not anonymous:
        return True
    if not isinstance(reader, User) or not reader.is_active:
        return False
    return reader.pk == person.pk or reader.is_district_staff


def person_label(person: User, *, reader: User | AnonymousUser | None, anonymous: bool = False) -> str:
    """The name of `person` as `reader` may see it."""
    if not anonymous:
        return display_name(person)
    if reader is not None and reader.pk is not None and reader.pk == person.pk:
        return "Anonymous (you)"
    if may_name(person, reader=reader, anonymous=anonymous):
        return f"Anonymous ({display_name(person)}; only district staff see the name)"
    return ANONYMOUS_LABEL
