"""Names that must be unique (usernames, slugs), made from a stem and a number when taken."""

from __future__ import annotations

from collections.abc import Iterable


class NamePool:
    """Names nobody holds yet: the stem itself, else the stem and the first free number
    ("ada", "ada2", "ada3"…; with `separator="-"`, "oak-2"), compared without regard to case.

    Each name costs about one lookup however many share a stem: the pool remembers where each
    stem's numbers are up to. (Trying "ada2", "ada3"… from the start for every new name made an
    export of thousands of people with the same stem take minutes.)
    """

    def __init__(self, taken: Iterable[str], *, separator: str = "") -> None:
        self.taken = {name.lower() for name in taken}
        self.separator = separator
        self._next_number: dict[str, int] = {}

    def claim(self, stem: str) -> str:
        """A free name made from `stem`, which is then taken."""
        key = stem.lower()
        number = self._next_number.get(key, 1)
        candidate = stem if number == 1 else f"{stem}{self.separator}{number}"
        while candidate.lower() in self.taken:
            number += 1
            candidate = f"{stem}{self.separator}{number}"
        self._next_number[key] = number + 1
        self.taken.add(candidate.lower())
        return candidate
