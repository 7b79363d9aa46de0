from __future__ import annotations

from typing import Any

from django import forms

from portal.notifications.models import EMAIL_TOPICS, NotificationSettings


class EmailTopicsForm(forms.Form):
    topics = forms.MultipleChoiceField(
        label="Also send me an e-mail for",
        choices=EMAIL_TOPICS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Everything also stays in your notifications here. Every e-mail has a link to stop that kind.",
    )

    def __init__(self, *args: Any, current: NotificationSettings, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"topics": [topic for topic, _label in EMAIL_TOPICS if current.emails(topic)]})
        super().__init__(*args, **kwargs)
