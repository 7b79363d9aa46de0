from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from portal.forms import CsvFileField, CsvUploadForm
from surveys.models import DEDICATED, Answer, AnswerValues, Priority, Tension, YesNo, comment_help_text

SKIP = ""
ANSWER_PARTS = ("position", "resources", "priority")


@dataclass(frozen=True)
class Section:
    """One tension of the form, with its place among them ("3 of 7")."""

    tension: Tension
    number: int
    count: int
    fields: list[forms.BoundField]

    @property
    def progress(self) -> str:
        return f"{self.number} of {self.count}"

    @property
    def has_errors(self) -> bool:
        return any(field.errors for field in self.fields)


def position_choices(tension: Tension) -> list[tuple[str, str]]:
    return [
        ("1", f"1 — strongly {tension.left_label}"),
        ("2", f"2 — leaning {tension.left_label}"),
        ("3", "3 — balanced between the two"),
        ("4", f"4 — leaning {tension.right_label}"),
        ("5", f"5 — strongly {tension.right_label}"),
        (SKIP, "Skip this question"),
    ]


def _resources_choice(dedicated: bool | None) -> str:
    return SKIP if dedicated is None else (YesNo.YES if dedicated else YesNo.NO)


class ResponseForm(forms.Form):
    """The seven tensions; every item may be skipped."""

    def __init__(
        self, *args: Any, tensions: list[Tension], answers: dict[int, Answer] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tensions = tensions
        answers = answers or {}
        for tension in tensions:
            answer = answers.get(tension.pk)
            k = tension.number
            self.fields[f"q{k}_position"] = forms.ChoiceField(
                label=f"Where does your system stand between {tension.left_label} and {tension.right_label}?",
                choices=position_choices(tension),
                widget=forms.RadioSelect,
                required=False,
                initial=str(answer.position) if answer and answer.position else SKIP,
            )
            self.fields[f"q{k}_resources"] = forms.ChoiceField(
                label="Has your system dedicated time and resources to this?",
                choices=[*YesNo.choices, (SKIP, "Skip")],
                widget=forms.RadioSelect,
                required=False,
                initial=_resources_choice(answer.dedicated_resources) if answer else SKIP,
            )
            self.fields[f"q{k}_priority"] = forms.ChoiceField(
                label="How high a priority is it?",
                choices=[*Priority.choices, (SKIP, "Skip")],
                widget=forms.RadioSelect,
                required=False,
                initial=(answer.priority or SKIP) if answer else SKIP,
            )
            self.fields[f"q{k}_comment"] = forms.CharField(
                label="Comment",
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=answer.comment if answer else "",
                help_text=comment_help_text(),
            )

    def sections(self) -> list[Section]:
        count = len(self.tensions)
        return [
            Section(
                tension,
                index,
                count,
                [self[f"q{tension.number}_{part}"] for part in (*ANSWER_PARTS, "comment")],
            )
            for index, tension in enumerate(self.tensions, start=1)
        ]

    def answer_values(self) -> dict[int, AnswerValues]:
        values: dict[int, AnswerValues] = {}
        for tension in self.tensions:
            k = tension.number
            position = self.cleaned_data[f"q{k}_position"]
            resources = self.cleaned_data[f"q{k}_resources"]
            values[tension.pk] = {
                "position": int(position) if position else None,
                "dedicated_resources": DEDICATED.get(resources),
                "priority": self.cleaned_data[f"q{k}_priority"] or None,
                "comment": self.cleaned_data[f"q{k}_comment"].strip(),
            }
        return values


class ImportForm(CsvUploadForm):
    file = CsvFileField(
        label="Responses file (CSV)",
        help_text="Columns as in the README; blank cells are skipped items.",
    )
