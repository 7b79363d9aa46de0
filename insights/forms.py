from typing import Any

from django import forms

from portal.forms import PlausibleDateField
from portal.models import SchoolLevel


class DashboardFilterForm(forms.Form):
    start = PlausibleDateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = PlausibleDateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(label="School level", required=False, choices=[("", "All levels"), *SchoolLevel.choices])

    def __init__(self, *args: Any, one_school: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if one_school:
            # A principal's dashboard covers their own school: there is no level to choose.
            del self.fields["level"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", "The end date must be on or after the start date.")
        return cleaned
