"""Choice widgets rendered in Python.

Django's own templates include one template per option (and another for its attributes),
which makes a school list of a few hundred options the slowest part of a filter page. These
tags write the same markup directly.
"""

from django import template
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def select_options(widget: dict) -> SafeString:
    parts = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('<optgroup label="{}">', group_name))
        for option in group_choices:
            parts.append(
                format_html(
                    '<option value="{}"{}>{}</option>', str(option["value"]), flatatt(option["attrs"]), option["label"]
                )
            )
        if group_name:
            parts.append("</optgroup>")
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B703 B308 - every part is built by format_html


@register.simple_tag
def input_options(widget: dict) -> SafeString:
    parts = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html("<div><label>{}</label>", group_name))
        for option in group_choices:
            value = "" if option["value"] is None else format_html(' value="{}"', str(option["value"]))
            field = format_html(
                '<input type="{}" name="{}"{}{}>', option["type"], option["name"], value, flatatt(option["attrs"])
            )
            if option.get("wrap_label"):
                label_for = option["attrs"].get("id")
                field = format_html(
                    "<label{}>{} {}</label>", flatatt({"for": label_for} if label_for else {}), field, option["label"]
                )
            parts.append(format_html("<div>{}</div>", field))
        if group_name:
            parts.append("</div>")
    return mark_safe("\n".join(parts))  # noqa: S308  # nosec B703 B308 - every part is built by format_html
