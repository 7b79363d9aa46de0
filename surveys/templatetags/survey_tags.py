from django import template

from surveys.dashboard import x_of

register = template.Library()


@register.filter
def pct(value: object) -> str:
    return "—" if value is None else f"{value}%"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


@register.filter
def mul(value: int, factor: int) -> int:
    return int(value) * int(factor)


@register.filter
def tick_x(position: str) -> float:
    return x_of(float(position))
