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


# The district dashboard's bar charts (templates/insights/dashboard.html) still draw with
# these: 0 to 100% between y=170 (0%) and y=20 (100%), bars 44 apart.
@register.filter
def mul(value: int, factor: int) -> int:
    return int(value) * int(factor)


@register.filter
def bar_h(percentage: float | None) -> float:
    return round(float(percentage or 0) * 1.5, 1)


@register.filter
def bar_y(percentage: float | None) -> float:
    return round(170 - float(percentage or 0) * 1.5, 1)
