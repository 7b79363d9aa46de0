"""Choice widgets rendered in Python.

Django's own templates include one template per option (and another for its attributes),
which makes a school list of a few hundred options the slowest part of a filter page. These
tags write the same markup directly.
"""

from collections.abc import Callable

from django import template
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def _grouped(widget: dict, group_open: str, group_close: SafeString, option_html: Callable[[dict], str]) -> str:
    """Every option of the widget, each optgroup wrapped in `group_open`/`group_close`."""
    parts: list[str] = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html(group_open, group_name))
        parts.extend(option_html(option) for option in group_choices)
        if group_name:
            parts.append(group_close)
    return format_html_join("\n", "{}", ((part,) for part in parts))


def _select_option(option: dict) -> str:
    return format_html(
        '<option value="{}"{}>{}</option>', str(option["value"]), flatatt(option["attrs"]), option["label"]
    )


def _input_option(option: dict) -> str:
    value = "" if option["value"] is None else format_html(' value="{}"', str(option["value"]))
    field = format_html(
        '<input type="{}" name="{}"{}{}>', option["type"], option["name"], value, flatatt(option["attrs"])
    )
    if option.get("wrap_label"):
        label_for = option["attrs"].get("id")
        field = format_html(
            "<label{}>{} {}</label>", flatatt({"for": label_for} if label_for else {}), field, option["label"]
        )
    return format_html("<div>{}</div>", field)


@register.simple_tag
def select_options(widget: dict) -> str:
    return _grouped(widget, '<optgroup label="{}">', SafeString("</optgroup>"), _select_option)


@register.simple_tag
def input_options(widget: dict) -> str:
    return _grouped(widget, "<div><label>{}</label>", SafeString("</div>"), _input_option)
