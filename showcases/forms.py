from __future__ import annotations

from django import forms
from django.forms import inlineformset_factory
from django.utils import timezone

from portal.models import School
from practices.models import Practice
from showcases.models import Showcase, VisitorReflection, VisitRequest, VisitSlot


class ShowcaseForm(forms.ModelForm):
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

    def __init__(self, *args, user, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if user.school_id is None:
            # A district leader hosting a principals' meeting chooses the school.
            self.fields["host_school"] = forms.ModelChoiceField(queryset=School.objects.all(), label="Host school")
            self.order_fields(["host_school", *self.Meta.fields])
            del self.fields["practices"]
        else:
            # The host's own school's published practices.
            self.fields["practices"].queryset = (
                Practice.objects.visible_to(user).published().filter(school_id=user.school_id).order_by("title")
            )
            self.fields["practices"].label = "Practice entries visitors can read first"
            self.fields["practices"].required = False


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

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and capacity < 1:
            raise forms.ValidationError("A session needs at least one seat.")
        if self.instance.pk and capacity < self.instance.seats_taken:
            raise forms.ValidationError(
                f"{self.instance.seats_taken} seats are already approved; cancel visits before lowering it."
            )
        return capacity

    def clean(self) -> dict:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The session must end after it starts.")
        if starts and not self.instance.pk and starts <= timezone.now():
            self.add_error("starts_at", "Choose a time in the future.")
        return cleaned


VisitSlotFormSet = inlineformset_factory(
    Showcase, VisitSlot, form=VisitSlotForm, extra=1, can_delete=False, min_num=1, validate_min=True, max_num=20
)


class VisitRequestForm(forms.ModelForm):
    class Meta:
        model = VisitRequest
        fields = ["seats", "message"]
        widgets = {"message": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, slot: VisitSlot, **kwargs) -> None:  # type: ignore[no-untyped-def]
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

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
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
        widgets = {"noticed": forms.Textarea(attrs={"rows": 4}), "will_try": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, showcase: Showcase, user, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = Practice.objects.visible_to(user).published().filter(showcases=showcase)
        self.fields["practice"].required = False
        self.fields["practice"].empty_label = "No linked practice"

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("trying") and not cleaned.get("practice"):
            self.add_error("practice", "Choose the practice you are trying.")
        return cleaned
