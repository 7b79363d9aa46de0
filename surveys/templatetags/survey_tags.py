from typing import Any

from django import template

from surveys.stats import Figures

register = template.Library()


@register.filter
def pct(value: object) -> str:
    return "—" if value is None else f"{value}%"


@register.filter
def reason(figures: Figures, part: str) -> str:
    """Why a part of a tension's figures is not shown."""
    return figures.reason(part)


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: object) -> object:
    return mapping.get(key) if mapping else None
