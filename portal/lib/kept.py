"""Pieces of pages drawn once and kept in the cache: cards, filter panels.

Nothing kept is ever deleted: a piece's key is a digest of every value it shows, of its
template's source (read each time, so a template edited while the server runs counts too), of
the active time zone (dates are drawn in it) and of the active language. Whatever changes what a
piece shows makes a new key, and an old key simply goes unread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django import forms
from django.core.cache import cache
from django.template import Engine
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString


def kept_keys(kind: str, template: str, values: Iterable[object]) -> list[str]:
    """The cache keys of what `template` draws from each of `values` (each value holds everything
    the piece shows: its `repr` is digested)."""
    source = Engine.get_default().get_template(template).source
    context = (
        hashlib.sha256(source.encode()).hexdigest(),
        timezone.get_current_timezone_name(),
        translation.get_language(),
    )
    return [f"{kind}:{hashlib.sha256(repr((context, value)).encode()).hexdigest()}" for value in values]


def kept_html(kind: str, template: str, value: object, draw: Callable[[], str], seconds: int) -> SafeString:
    """What `draw` draws with `template` from `value`, from the cache when it was drawn before."""
    [key] = kept_keys(kind, template, [value])
    html: str | None = cache.get(key)
    if html is None:
        html = draw()
        cache.set(key, html, seconds)
    # Drawn by the template (autoescaped); kept as it was drawn.
    return SafeString(html)  # nosec B703


def kept_filter_panel(
    kind: str,
    template: str,
    form: forms.Form,
    context: Mapping[str, Any],
    *,
    fields: Iterable[str],
    cleared: bool,
    seconds: int,
) -> SafeString:
    """A list's filter panel, drawn once per set of choices, chosen values and errors of `fields`.
    No list offers a select of every school (a district has many, and drawing their options cost
    more than the rest of the page): a school is found by part of its name, typed. `cleared`:
    whether the page offers to clear what was chosen."""
    values: list[Any] = [cleared]
    for name in fields:
        field = form[name]
        choices = getattr(field.field.widget, "choices", ())
        values.append(
            (
                name,
                [(str(value), str(label)) for value, label in choices],
                field.value(),
                [str(e) for e in field.errors],
            )
        )

    def draw() -> str:
        return render_to_string(template, {**context, "cleared": cleared})

    return kept_html(kind, template, values, draw, seconds)
