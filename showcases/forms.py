from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import inlineformset_factory
from django.utils import timezone

from portal.forms import IdChoiceField, IdMultipleChoiceField, validate_plausible_date
from portal.models import School, User
from practices.models import Practice, Visibility
from showcases.models import Showcase, VisitorReflection, VisitRequest, VisitSlot

CANCELLED_SESSION = (
    "This session has been cancelled, so it can no longer be changed. "
    "Put its details back as they were, or add a new session."
)


def _remember_initial(form: forms.BaseForm) -> None:
    """Send each field's value as the page showed it along with what is typed, so an edit
    can tell (in `changed_data`) what this person changed from what others changed since."""
    for field in form.fields.values():
        field.show_hidden_initial = True


class ShowcaseForm(forms.ModelForm):
    # The questionnaire's own columns, written by an edit only when changed.
    DETAILS = ("title", "description", "impact", "evidence", "focus_question", "what_visitors_see", "auto_approve")

    class Meta:
        model = Showcase
        fields = [
            "title",
            "description",
            "impact",
            "evidence",
            "focus_question",
            "what_visitors_see",
            "practices",
            "auto_approve",
        ]
        widgets = {"practices": forms.CheckboxSelectMultiple}
        field_classes = {"practices": IdMultipleChoiceField}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.school_id is None:
            # A district leader hosting a principals' meeting chooses the school.
            self.fields["host_school"] = IdChoiceField(queryset=School.objects.all(), label="Host school")
            if self.instance.host_school_id is not None:
                self.initial.setdefault("host_school", self.instance.host_school_id)
            self.order_fields(["host_school", *self.Meta.fields])
            del self.fields["practices"]
        else:
            # The host's own school's published practices that every visitor may open:
            # an entry shared only within the school would be a link visitors cannot follow.
            practices = cast(IdMultipleChoiceField, self.fields["practices"])
            practices.queryset = (
                Practice.objects.visible_to(user)
                .published()
                .filter(school_id=user.school_id, visibility=Visibility.DISTRICT)
                .order_by("title")
            )
            practices.label = "Practice entries visitors can read first"
            practices.help_text = "Only entries shared with the whole district can be linked."
            practices.required = False
        _remember_initial(self)

    def hidden_initial_practices(self) -> str:
        """The ticked entries as the page showed them (the template lays out the boxes itself)."""
        return self["practices"].as_hidden(only_initial=True)

    def practices_before(self) -> set[int] | None:
        """The entries that were ticked when the page was shown, or None when the form did not say."""
        name = self.add_initial_prefix("practices")
        if name not in self.data:
            return None
        values = self.fields["practices"].hidden_widget().value_from_datadict(self.data, self.files, name)
        return {
            int(value)
            for value in values or []
            if str(value).isascii() and str(value).isdigit() and len(str(value)) < 19
        }


class VisitSlotForm(forms.ModelForm):
    class Meta:
        model = VisitSlot
        fields = ["starts_at", "ends_at", "capacity", "location", "notes"]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"starts_at": "Starts", "ends_at": "Ends"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].validators.append(validate_plausible_date)
            if self.initial.get(name):
                # The page shows whole minutes; seconds kept here would count as a change.
                self.initial[name] = self.initial[name].replace(second=0, microsecond=0)
        if self.instance.is_cancelled:
            # Shown for the record; read-only fields are still sent, so they count as unchanged.
            for field in self.fields.values():
                field.widget.attrs["readonly"] = True
        _remember_initial(self)

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and capacity < 1:
            raise forms.ValidationError("A session needs at least one seat.")
        if self.instance.pk and capacity < self.instance.seats_taken:
            raise forms.ValidationError(
                f"{self.instance.seats_taken} seats are already approved; cancel visits before lowering it below {self.instance.seats_taken}."
            )
        return capacity

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The session must end after it starts.")
        if starts and not self.instance.pk and starts <= timezone.now():
            self.add_error("starts_at", "Choose a time in the future.")
        if self.instance.is_cancelled and self.has_changed():
            raise forms.ValidationError(CANCELLED_SESSION)
        return cleaned


VisitSlotFormSet = inlineformset_factory(
    Showcase,
    VisitSlot,
    form=VisitSlotForm,
    extra=1,
    can_delete=False,
    min_num=1,
    validate_min=True,
    max_num=20,
    # A forged row count builds at most this many forms (Django's default allows 1,000 more).
    absolute_max=20,
)


class VisitRequestForm(forms.ModelForm):
    class Meta:
        model = VisitRequest
        fields = ["seats", "message"]
        widgets = {"message": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, slot: VisitSlot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot = slot
        self.fields["seats"].widget.attrs.update({"min": 1, "max": slot.capacity})

    def clean_seats(self) -> int:
        seats = self.cleaned_data["seats"]
        if seats < 1:
            raise forms.ValidationError("A party is at least one person.")
        if seats > self.slot.capacity:
            raise forms.ValidationError(
                f"This session has {self.slot.capacity} seats in all; your party of {seats} is larger."
            )
        return seats


class HostNoteForm(forms.Form):
    note = forms.CharField(
        label="Note to the visitor", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )


class DebriefForm(forms.ModelForm):
    class Meta:
        model = VisitSlot
        fields = ["debrief_notes"]
        labels = {"debrief_notes": "Debrief notes"}
        help_texts = {
            "debrief_notes": "What visitors and hosts noticed together, and what the host school will take from it."
        }
        widgets = {"debrief_notes": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["debrief_notes"].required = True


class ReflectionForm(forms.ModelForm):
    trying = forms.BooleanField(
        label="I'm trying this practice",
        required=False,
        help_text="Records that you are trying the linked practice and tells its author.",
    )

    class Meta:
        model = VisitorReflection
        fields = ["noticed", "will_try", "practice"]
        field_classes = {"practice": IdChoiceField}
        widgets = {"noticed": forms.Textarea(attrs={"rows": 4}), "will_try": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, showcase: Showcase, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practice = cast(IdChoiceField, self.fields["practice"])
        practice.queryset = Practice.objects.visible_to(user).published().filter(showcases=showcase)
        practice.required = False
        practice.empty_label = "No linked practice"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("trying") and not cleaned.get("practice"):
            self.add_error("practice", "Choose the practice you are trying.")
        return cleaned
