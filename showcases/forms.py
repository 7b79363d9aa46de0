from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.http import QueryDict
from django.utils import timezone

from portal.forms import IdChoiceField, IdMultipleChoiceField, validate_plausible_date
from portal.models import School, SchoolLevel, User, UserQuerySet
from portal.naming import display_name
from practices.models import Practice, Visibility
from showcases.models import (
    Attendance,
    SessionMessage,
    Showcase,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
    with_visitor_count,
)

CANCELLED_SESSION = (
    "This session has been cancelled, so it can no longer be changed. "
    "Put its details back as they were, or add a new session."
)


def capacity_refusal(*, taken: int, capacity: int, freed: int = 0, choosing: bool = True) -> str | None:
    """Why a session may not have `capacity` seats while `taken` are approved and parties
    holding `freed` of them are chosen to move to the waiting list, or None if it may (said by
    the form and the save alike). `choosing`: whether the page lets the host choose whom to
    move (the edit page does; the admin does not)."""
    if capacity >= taken - freed:
        return None
    if not choosing:
        return f"{taken} seats are already approved; cancel visits before lowering it below {taken}."
    short = taken - freed - capacity
    chosen = f" and those ticked hold {freed}" if freed else ""
    return (
        f"{taken} seats are already approved{chosen}. To have {capacity}, tick below whom to move to the "
        f"waiting list, {short} more seat{'' if short == 1 else 's'} in all, or keep at least {taken - freed} seats."
    )


def cohort_refusal(*, needed: int, seats_left: int, capacity: int) -> str:
    """Why the principals chosen cannot all be seated (said by the form and the save alike)."""
    return (
        f"The principals chosen need {needed} seat{'' if needed == 1 else 's'}, but only {seats_left} of the "
        f"session's {capacity} seats are free. Invite fewer principals, or add seats to the session first."
    )


def party_refusal(*, seats: int, capacity: int) -> str | None:
    """Why a party of `seats` may not ask for a session of `capacity` seats, or None if it may
    (said by the form and the request alike)."""
    if seats <= capacity:
        return None
    return f"This session has {capacity} seat{'' if capacity == 1 else 's'} in all; your party of {seats} is larger."


def session_times_refusal(starts: datetime, ends: datetime) -> str | None:
    """Why a session may not run from `starts` to `ends`, or None if it may (said by the form and
    the save alike)."""
    return "The session must end after it starts." if ends <= starts else None


def start_refusal(starts: datetime) -> str | None:
    """Why a session may not be set or moved to start at `starts`, or None if it may: never in the
    past, where nobody could request it and check-in and debriefs would open at once (said by the
    form and the save alike; a session that took place keeps its time)."""
    return "Choose a time in the future." if starts <= timezone.now() else None


def _remember_initial(form: forms.BaseForm) -> None:
    """Send each field's value as the page showed it along with what is typed, so an edit
    can tell (in `changed_data`) what this person changed from what others changed since."""
    for field in form.fields.values():
        field.show_hidden_initial = True


def school_only_refusal(titles: list[str]) -> str:
    """Why these entries cannot be linked to a showcase (said by the form and the save alike)."""
    named = ", ".join(f"“{title}”" for title in titles)
    verb, pronoun = ("is", "it") if len(titles) == 1 else ("are", "them")
    return (
        f"{named} {verb} shared only within your school, so visitors from other schools could not open "
        f"{pronoun}. Share {pronoun} with the whole district first, or leave {pronoun} out."
    )


class LinkablePracticesField(IdMultipleChoiceField):
    """The entries a host may link: those every visitor may open. An entry the host may see
    but that is shared only within the school (`school_only`) is refused saying why."""

    school_only: QuerySet[Practice] = Practice.objects.none()

    def clean(self, value: Any) -> QuerySet[Any]:
        ids = [pk for pk in value if _looks_like_id(pk)] if isinstance(value, list | tuple) else []
        if ids:
            titles = list(self.school_only.filter(pk__in=ids).order_by("title").values_list("title", flat=True))
            if titles:
                raise forms.ValidationError(school_only_refusal(titles), code="school_only")
        return super().clean(value)


def _looks_like_id(value: object) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) < 19


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
        field_classes = {"practices": LinkablePracticesField}

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
            practices = cast(LinkablePracticesField, self.fields["practices"])
            own_school = Practice.objects.visible_to(user).published().filter(school_id=user.school_id)
            practices.queryset = own_school.filter(visibility=Visibility.DISTRICT).order_by("title")
            practices.school_only = own_school.exclude(visibility=Visibility.DISTRICT)
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


class VisitorChoiceField(IdMultipleChoiceField):
    """Approved parties of a session, named as their host reads them."""

    def label_from_instance(self, obj: Any) -> str:
        visit = cast(VisitRequest, obj)
        school = f", {visit.requester.school.name}" if visit.requester.school else ""
        return f"{display_name(visit.requester)}{school}: {visit.seats} seat{'' if visit.seats == 1 else 's'}"


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
        if self.instance.pk is not None:
            # Asked for when the seats typed are fewer than those approved: never moved silently.
            self.fields["to_waitlist"] = VisitorChoiceField(
                queryset=self.instance.requests.approved()
                .select_related("requester", "requester__school")
                .order_by("-created_at", "-pk"),
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label="Move to the waiting list",
                help_text="Each is told by e-mail and their calendar entry is cancelled; "
                "if seats open again, the waiting list is offered them in order.",
            )

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and capacity < 1:
            raise forms.ValidationError("A session needs at least one seat.")
        return capacity

    def show_waitlist_choice(self) -> bool:
        """Whether to ask whom to move to the waiting list: the seats typed are fewer than
        those approved (or someone is already ticked)."""
        if "to_waitlist" not in self.fields or not self.is_bound or not self.instance.seats_taken:
            return False
        return "capacity" in self.errors or bool(self["to_waitlist"].value())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        refusal = session_times_refusal(starts, ends) if starts and ends else None
        if refusal is not None:
            self.add_error("ends_at", refusal)
        too_early = start_refusal(starts) if starts and "starts_at" in self.changed_data else None
        if too_early is not None:
            self.add_error("starts_at", too_early)
        capacity = cleaned.get("capacity")
        if self.instance.pk is not None and capacity is not None and "capacity" not in self.errors:
            moving = cleaned.get("to_waitlist") or []
            refusal = capacity_refusal(
                taken=self.instance.seats_taken, capacity=capacity, freed=sum(visit.seats for visit in moving)
            )
            if refusal is not None:
                self.add_error("capacity", refusal)
        if self.instance.is_cancelled and self.has_changed():
            raise forms.ValidationError(CANCELLED_SESSION)
        return cleaned


class BaseVisitSlotFormSet(BaseInlineFormSet[VisitSlot, Showcase, VisitSlotForm]):
    """A showcase's sessions. A saved one may be removed until it starts: one that never had
    a request is deleted, one with visitors cancelled (they are told), as its box says."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", with_visitor_count(VisitSlot.objects.all()))
        super().__init__(*args, **kwargs)

    def add_fields(self, form: VisitSlotForm, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" not in form.fields:
            return
        slot = form.instance
        if slot.pk is None or slot.is_cancelled or slot.is_past:
            del form.fields["DELETE"]
            return
        visitors = getattr(slot, "visitor_count", 0)
        form.fields["DELETE"].label = (
            f"Cancel this session: its {visitors} visitor{'' if visitors == 1 else 's'} will be told by e-mail"
            if visitors
            else "Remove this session"
        )


VisitSlotFormSet = inlineformset_factory(
    Showcase,
    VisitSlot,
    form=VisitSlotForm,
    formset=BaseVisitSlotFormSet,
    extra=1,
    can_delete=True,
    can_delete_extra=False,
    min_num=1,
    validate_min=True,
    max_num=20,
    # A forged row count builds at most this many forms (Django's default allows 1,000 more).
    absolute_max=20,
)


# "Add another session", "same time next week" and "remove" post the form back without
# JavaScript; these are their `action` values (the last two end with the row's index).
ADD_SESSION = "add_session"
DUPLICATE_SESSION = "duplicate_session:"
REMOVE_SESSION = "remove_session:"
MAX_SESSIONS = 20
_ROW_KEY = re.compile(r"^(initial-)?slots-(\d{1,2})-(.+)$")
_SESSION_DETAILS = ("starts_at", "ends_at", "capacity", "location", "notes")


def _small_number(value: object) -> int | None:
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None


def _a_week_later(value: str) -> str:
    """A datetime-local value seven days on (the same time of day), or blank if it is none."""
    try:
        return (datetime.fromisoformat(value) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    except (ValueError, OverflowError):
        return ""


def session_rows_change(data: QueryDict, action: str) -> tuple[QueryDict, str] | None:
    """The showcase form's data with a session added, copied a week later or removed, as
    `action` asks, and what was done, to tell the host; None when `action` is none of them.
    Only a session not saved yet is removed here (a saved one has its "remove" box)."""
    total = _small_number(data.get("slots-TOTAL_FORMS"))
    saved = _small_number(data.get("slots-INITIAL_FORMS"))
    if total is None or saved is None or total > MAX_SESSIONS:
        return None
    changed = data.copy()
    if action == ADD_SESSION or action.startswith(DUPLICATE_SESSION):
        if total >= MAX_SESSIONS:
            return changed, f"A showcase has at most {MAX_SESSIONS} sessions."
        source = _small_number(action.removeprefix(DUPLICATE_SESSION)) if action != ADD_SESSION else None
        if action != ADD_SESSION and (source is None or source >= total):
            return None
        for name in _SESSION_DETAILS:
            value = data.get(f"slots-{source}-{name}", "") if source is not None else ""
            changed[f"slots-{total}-{name}"] = _a_week_later(value) if name.endswith("_at") and value else value
            changed[f"initial-slots-{total}-{name}"] = ""
        changed["slots-TOTAL_FORMS"] = str(total + 1)
        if source is None:
            return changed, f"Session {total + 1} added below: fill in its details."
        return changed, f"Session {total + 1} added: session {source + 1} a week later. Check its details."
    if action.startswith(REMOVE_SESSION):
        index = _small_number(action.removeprefix(REMOVE_SESSION))
        if index is None or not saved <= index < total:
            return None
        if total == 1:
            return changed, "A showcase needs at least one session."
        # Every row from the one removed on is taken out, then those after it put back one place up.
        moved: dict[str, list[str]] = {}
        for key in list(changed):
            match = _ROW_KEY.match(key)
            if match is None or int(match[2]) < index:
                continue
            values = changed.pop(key)
            if int(match[2]) > index:
                moved[f"{match[1] or ''}slots-{int(match[2]) - 1}-{match[3]}"] = values
        for key, values in moved.items():
            changed.setlist(key, values)
        changed["slots-TOTAL_FORMS"] = str(total - 1)
        return changed, f"Session {index + 1} removed."
    return None


class ConfirmCancelForm(forms.Form):
    """The confirmation asked before cancelling a session, a showcase or one's own seats."""

    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="It goes into the e-mail to everyone told.",
    )
    # Sent by the confirmation page's form; a POST without it shows that page instead.
    confirm = forms.BooleanField(required=False, initial=True, widget=forms.HiddenInput)

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()

    def confirmed(self) -> bool:
        return self.is_valid() and bool(self.cleaned_data["confirm"])


class PrincipalChoiceField(IdMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        person = cast(User, obj)
        school = person.school
        return (
            f"{display_name(person)}, {school.name} ({school.get_level_display()})" if school else display_name(person)
        )


class MeetingFilterForm(forms.Form):
    level = forms.ChoiceField(label="School level", required=False, choices=[("", "Every level"), *SchoolLevel.choices])


class MeetingForm(forms.Form):
    """A principals' meeting: the principals invited (seated without asking) and a note to them."""

    principals = PrincipalChoiceField(
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Principals to invite",
        error_messages={"required": "Choose at least one principal to invite."},
    )
    note = forms.CharField(
        label="Note to the invitees",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent with the invitation: the agenda, what to read before the visit.",
    )

    def __init__(self, *args: Any, slot: VisitSlot, candidates: UserQuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot = slot
        cast(PrincipalChoiceField, self.fields["principals"]).queryset = candidates

    def clean_principals(self) -> UserQuerySet:
        chosen = self.cleaned_data["principals"]
        needed = len(chosen)
        if needed > self.slot.seats_left:
            raise forms.ValidationError(
                cohort_refusal(needed=needed, seats_left=self.slot.seats_left, capacity=self.slot.capacity)
            )
        return chosen


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
        refusal = party_refusal(seats=seats, capacity=self.slot.capacity)
        if refusal is not None:
            raise forms.ValidationError(refusal)
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


class AttendanceForm(forms.Form):
    """Check-in: attended or no-show for each approved visitor of a session, one radio group each."""

    def __init__(self, *args: Any, visits: list[VisitRequest], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visits = visits
        for visit in visits:
            self.fields[self.field_name(visit)] = forms.TypedChoiceField(
                choices=Attendance.choices,
                required=False,
                empty_value=Attendance.UNRECORDED,
                initial=visit.attendance,
                widget=forms.RadioSelect,
            )

    @staticmethod
    def field_name(visit: VisitRequest) -> str:
        return f"visit-{visit.pk}"

    def rows(self) -> list[tuple[VisitRequest, forms.BoundField]]:
        """Each visitor with their radio group, in the order of the list."""
        return [(visit, self[self.field_name(visit)]) for visit in self.visits]

    def marks(self) -> dict[int, Attendance]:
        """What the host recorded, by visit request."""
        return {visit.pk: Attendance(self.cleaned_data[self.field_name(visit)]) for visit in self.visits}


class SessionMessageForm(forms.ModelForm):
    class Meta:
        model = SessionMessage
        fields = ["subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}
        help_texts = {
            "subject": "The e-mail's subject; the showcase's title is added.",
            "body": "Each approved visitor gets their own e-mail: nobody sees the others' addresses.",
        }

    def clean_subject(self) -> str:
        return " ".join(self.cleaned_data["subject"].split())
