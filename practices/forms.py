from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import Any, cast

import filetype
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.forms import inlineformset_factory
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.utils import ErrorDict
from django.template.defaultfilters import filesizeformat
from taggit.forms import TagWidget

from portal.forms import IdChoiceField, IdMultipleChoiceField
from portal.lib.uploads import UnreadableUpload, strip_metadata
from portal.models import User
from practices.models import (
    TAG_NAMES_MAX_LENGTH,
    Adoption,
    AdoptionStatus,
    Attachment,
    Collection,
    CollectionSharing,
    Facet,
    FacetKind,
    Failure,
    Iteration,
    Practice,
    Question,
    Visibility,
)

# What may be attached, by the type read from the file's content, and the file
# name endings that type may carry. A name that disagrees with the content is refused.
# Each type is one whose author details portal.lib.uploads can remove.
ALLOWED_UPLOADS: dict[str, tuple[str, set[str]]] = {
    "application/pdf": ("PDF", {".pdf"}),
    "image/png": ("PNG image", {".png"}),
    "image/jpeg": ("JPEG image", {".jpg", ".jpeg"}),
    "image/gif": ("GIF image", {".gif"}),
    "image/webp": ("WebP image", {".webp"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("Word document", {".docx"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("Excel workbook", {".xlsx"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("PowerPoint deck", {".pptx"}),
    "application/vnd.oasis.opendocument.text": ("OpenDocument text", {".odt"}),
    "application/vnd.oasis.opendocument.spreadsheet": ("OpenDocument spreadsheet", {".ods"}),
    "application/vnd.oasis.opendocument.presentation": ("OpenDocument presentation", {".odp"}),
}
# Older Office formats keep the author and the last editor in a binary property set that
# cannot be blanked safely, so they are refused with a pointer to the current format.
LEGACY_OFFICE = {
    "application/msword": ("Word", ".docx"),
    "application/vnd.ms-excel": ("Excel", ".xlsx"),
    "application/vnd.ms-powerpoint": ("PowerPoint", ".pptx"),
}


class FormAction(StrEnum):
    """What the buttons of the practice pages send as `action` (their values in the templates)."""

    PUBLISH = "publish"
    DRAFT = "draft"
    UNFEATURE = "unfeature"
    UNHIDE = "unhide"
    REMOVE = "remove"
    UNFOLLOW = "unfollow"


MAX_ATTACHMENTS_PER_SAVE = 10
MAX_TAGS = 20
# Room below the tag table's 100 characters for the suffix taggit adds to a clashing slug.
MAX_TAG_LENGTH = 50


def validate_tag_names(names: list[str]) -> list[str]:
    """Tags that fit the database: each short, not too many, and together within the
    practice's stored tag list (kept for the history), or a ValidationError saying which."""
    too_long = [name for name in names if len(name) > MAX_TAG_LENGTH]
    if too_long:
        raise forms.ValidationError(
            f"Keep each tag to {MAX_TAG_LENGTH} characters; “{too_long[0][:MAX_TAG_LENGTH]}…” is longer."
        )
    if len(names) > MAX_TAGS:
        raise forms.ValidationError(f"Use at most {MAX_TAGS} tags; this has {len(names)}.")
    if len(", ".join(names)) > TAG_NAMES_MAX_LENGTH:
        raise forms.ValidationError(
            f"Together the tags may have at most {TAG_NAMES_MAX_LENGTH} characters; use fewer or shorter ones."
        )
    return names


def detect_upload_type(upload: UploadedFile) -> str:
    """The MIME type of an upload, read from its content; raises ValidationError if not allowed."""
    name = upload.name or "file"
    suffix = PurePath(name).suffix.lower()
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is not None and kind.mime in LEGACY_OFFICE:
        program, current = LEGACY_OFFICE[kind.mime]
        raise forms.ValidationError(
            f"“{name}” is in an older {program} format, which keeps the author's name in a way the portal "
            f"cannot remove. Save it as {current} in {program} (File, Save As) and attach that."
        )
    if kind is None or kind.mime not in ALLOWED_UPLOADS:
        found = f" (its content looks like {kind.extension.upper()})" if kind is not None else ""
        raise forms.ValidationError(
            f"“{name}” is not a PDF, image or Office document{found}. Attach PDF, PNG, JPEG, GIF, WebP, "
            "Word, Excel, PowerPoint or OpenDocument files."
        )
    label, suffixes = ALLOWED_UPLOADS[kind.mime]
    if suffix not in suffixes:
        raise forms.ValidationError(
            f"“{name}” is named like a {suffix or 'file without an ending'} but its content is a {label}. "
            "Rename it or attach the right file."
        )
    return kind.mime


class CleanedUpload(SimpleUploadedFile):
    """An upload as it is stored, with the type read from its content."""

    def __init__(self, name: str, content: bytes, content_type: str) -> None:
        super().__init__(name, content, content_type=content_type)
        self.detected_type = content_type


def clean_upload(upload: UploadedFile, content_type: str) -> CleanedUpload:
    """The upload as it is stored: without the details that could name its author (EXIF,
    document properties, comment authors; see portal.lib.uploads). Its name stays as the
    author gave it. Raises ValidationError, naming the file, if it cannot be read."""
    upload.seek(0)
    try:
        data = strip_metadata(upload.read(), content_type)
    except UnreadableUpload as error:
        raise forms.ValidationError(f"“{upload.name}” could not be read: {error}.") from None
    return CleanedUpload(upload.name or "file", data, content_type)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class FacetChoiceField(IdMultipleChoiceField):
    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(
            queryset=Facet.objects.filter(kind=kind), widget=forms.CheckboxSelectMultiple, required=False, **kwargs
        )


PUBLISH_REQUIRED = ["summary", "description", "intent"]


class NeededToPublishField(forms.CharField):
    """Optional in a draft, needed to publish: _form_field.html says so next to the field."""

    publish_required = True


class PracticeForm(forms.ModelForm):
    subjects = FacetChoiceField(FacetKind.SUBJECT, label="Subjects")
    grade_bands = FacetChoiceField(FacetKind.GRADE_BAND, label="Grade bands")
    evidence_kinds = FacetChoiceField(
        FacetKind.EVIDENCE, label="Kinds of evidence", help_text="What shows the impact on students?"
    )
    attachments = MultipleFileField(
        label="Attach files",
        help_text="PDF, images or Office documents, up to {size} each. Student work, handouts, slides, data. "
        "Author names, camera details and locations inside the files are removed; file names are shown as they are.",
    )
    remove_attachments = IdMultipleChoiceField(
        queryset=Attachment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Remove attachments",
    )

    class Meta:
        model = Practice
        fields = [*Practice.TEXT_FIELDS, "tags", "visibility", "anonymous"]
        field_classes = {name: NeededToPublishField for name in [*PUBLISH_REQUIRED, "adaptation_changes"]}
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 2}),
            "visibility": forms.RadioSelect,
            "tags": TagWidget(attrs={"list": "tag-suggestions", "autocomplete": "off"}),
        }

    def __init__(self, *args: Any, publishing: bool = False, adapting: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.publishing = publishing
        self.adapting = adapting or bool(self.instance.adapted_from_id)
        self.fields["attachments"].help_text = self.fields["attachments"].help_text.format(
            size=filesizeformat(settings.PRACTICE_ATTACHMENT_MAX_BYTES)
        )
        audience = cast(forms.ChoiceField, self.fields["visibility"])
        audience.choices = Visibility.choices
        original = self.instance.adapted_from if self.instance.adapted_from_id else None
        if original is not None and original.is_school_only:
            # An adaptation starts from the original's words and title: one kept in its school stays there.
            audience.choices = [(Visibility.SCHOOL, Visibility.SCHOOL.label)]
            audience.help_text = "The original is shared with your school only, so its adaptation is too."
        if not self.adapting:
            del self.fields["adaptation_changes"]
        if self.instance.pk:
            removable = cast(IdMultipleChoiceField, self.fields["remove_attachments"])
            removable.queryset = self.instance.attachments.filter(removed_at__isnull=True)
            facets = list(self.instance.facets.all())
            for name, kind in (
                ("subjects", FacetKind.SUBJECT),
                ("grade_bands", FacetKind.GRADE_BAND),
                ("evidence_kinds", FacetKind.EVIDENCE),
            ):
                self.initial.setdefault(name, [facet.pk for facet in facets if facet.kind == kind])
        else:
            del self.fields["remove_attachments"]

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_tags(self) -> list[str]:
        return validate_tag_names(self.cleaned_data.get("tags") or [])

    def clean_attachments(self) -> list[CleanedUpload]:
        files = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS_PER_SAVE:
            raise forms.ValidationError(f"Attach at most {MAX_ATTACHMENTS_PER_SAVE} files at a time.")
        limit = settings.PRACTICE_ATTACHMENT_MAX_BYTES
        errors = []
        cleaned = []
        for upload in files:
            if upload.size > limit:
                errors.append(
                    f"“{upload.name}” is {filesizeformat(upload.size)}; files can be at most {filesizeformat(limit)}."
                )
                continue
            try:
                cleaned.append(clean_upload(upload, detect_upload_type(upload)))
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return cleaned

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.publishing:
            for name in PUBLISH_REQUIRED:
                if not (cleaned.get(name) or "").strip() and name not in self.errors:
                    self.add_error(name, "Needed to publish. You can save a draft without it.")
            if self.adapting and not (cleaned.get("adaptation_changes") or "").strip():
                self.add_error("adaptation_changes", "Say what you changed from the original, and why, to publish.")
        return cleaned

    def selected_facets(self) -> list[Facet]:
        return [
            *self.cleaned_data.get("subjects", []),
            *self.cleaned_data.get("grade_bands", []),
            *self.cleaned_data.get("evidence_kinds", []),
        ]


class RowForm(forms.ModelForm):
    """One iteration or failure. A row whose every field was left empty is ignored: a new one
    is not saved and a saved one is removed, so extra rows never block a save. A row that has
    something written says what else it is missing (the formset names the row)."""

    CONTENT_FIELDS: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.CONTENT_FIELDS:
            field = self.fields[name]
            field.error_messages["required"] = f"{str(field.label).capitalize()} is missing."

    def is_blank(self) -> bool:
        """Whether the person wrote nothing in this row (spaces count as nothing)."""
        if not self.is_bound:
            return False
        for name in self.CONTENT_FIELDS:
            value = self.fields[name].widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if str(value or "").strip():
                return False
        return True

    def has_changed(self) -> bool:
        # A blank row counts as untouched even when a script numbered its position.
        return not self.is_blank() and super().has_changed()

    def full_clean(self) -> None:
        if self.is_blank():
            # Nothing to check; the formset skips it as if its Remove box were ticked, which
            # removes it if it was saved before.
            self._errors = ErrorDict()
            self.cleaned_data = {DELETION_FIELD_NAME: True}
            return
        super().full_clean()

    @property
    def is_removed(self) -> bool:
        """Whether the formset leaves this row out: Remove ticked, or left blank."""
        return bool(self.is_bound and self.errors is not None and self.cleaned_data.get(DELETION_FIELD_NAME))


class IterationForm(RowForm):
    CONTENT_FIELDS = ("when", "tried", "observed", "changed")

    class Meta:
        model = Iteration
        fields = ["when", "tried", "observed", "changed"]
        widgets = {
            "tried": forms.Textarea(attrs={"rows": 3}),
            "observed": forms.Textarea(attrs={"rows": 3}),
            "changed": forms.Textarea(attrs={"rows": 3}),
        }


class FailureForm(RowForm):
    CONTENT_FIELDS = ("tried", "what_happened", "why", "lesson")

    class Meta:
        model = Failure
        fields = ["tried", "what_happened", "why", "lesson"]
        widgets = {
            "tried": forms.Textarea(attrs={"rows": 3}),
            "what_happened": forms.Textarea(attrs={"rows": 3}),
            "why": forms.Textarea(attrs={"rows": 3}),
            "lesson": forms.Textarea(attrs={"rows": 3}),
        }


@dataclass(frozen=True)
class RowError:
    """A problem in one row, said with the row's name ("Iteration 2: what we tried is missing.")."""

    anchor: str
    message: str


class OrderedInlineFormSet(forms.BaseInlineFormSet):
    """Rows can be removed and put in order; the order is saved as each row's position.
    Rows left empty are ignored (RowForm); `row_errors` names the row of each problem."""

    # What a row is called on the page, numbered as the page numbers them ("Iteration 2").
    row_name = "Row"

    def add_fields(self, form: forms.ModelForm[Any], index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ORDER"].label = "Position"
        form.fields["ORDER"].widget.attrs.update({"min": 1, "class": "order-input"})
        form.fields["DELETE"].label = "Remove"

    def row_errors(self) -> list[RowError]:
        """Every problem of every row, each naming its row as the page shows it."""
        found: list[RowError] = []
        if not self.is_bound:
            return found
        for number, form in enumerate(self.forms, start=1):
            if isinstance(form, RowForm) and form.is_removed:
                continue
            for name, errors in form.errors.items():
                anchor = f"#{form[name].id_for_label}" if name in form.fields else f"#{self.prefix}"
                for error in errors:
                    message = str(error)
                    found.append(RowError(anchor, f"{self.row_name} {number}: {message[:1].lower()}{message[1:]}"))
        return found


def _ordered_formset(
    model: type[Iteration | Failure], form: type[RowForm], row_name: str
) -> type[OrderedInlineFormSet]:
    # The factory makes a subclass of the formset class it is given; the stubs only know its base.
    formset = cast(
        type[OrderedInlineFormSet],
        inlineformset_factory(
            Practice,
            model,
            form=form,
            formset=OrderedInlineFormSet,
            extra=1,
            can_delete=True,
            can_order=True,
            max_num=30,
            validate_max=True,
            # A forged row count builds at most this many forms (Django's default allows 1,000 more).
            absolute_max=30,
        ),
    )
    formset.row_name = row_name
    return formset


IterationFormSet = _ordered_formset(Iteration, IterationForm, "Iteration")
FailureFormSet = _ordered_formset(Failure, FailureForm, "Failure")


class AdoptionForm(forms.ModelForm):
    class Meta:
        model = Adoption
        fields = ["status", "notes"]
        widgets = {"status": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status = cast(forms.ChoiceField, self.fields["status"])
        status.choices = AdoptionStatus.choices
        status.label = "Where you are with it"
        self.fields["notes"].help_text = (
            "How it is going: what you kept, what you changed, what you noticed. If you stopped, say what did "
            "not work and why: that is what colleagues learn most from, and it can become a “What did not work” "
            "entry on your adaptation. Each report is kept with its date; the author hears of each one."
        )


class ReportToFailureForm(forms.Form):
    """Which of the reporter's own adaptations of a practice a report of stopping goes to."""

    adaptation = IdChoiceField(queryset=Practice.objects.none(), label="Your adaptation", empty_label=None)

    def __init__(self, *args: Any, adaptations: QuerySet[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(IdChoiceField, self.fields["adaptation"]).queryset = adaptations


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="The author sees this.",
    )


class FeatureForm(forms.Form):
    note = forms.CharField(
        label="Why this is a Model of Excellence",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        help_text="Shown with the badge: celebrate what this practice does well.",
    )


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "maxlength": 2000})}
        help_texts = {
            "text": "The author is told and answers here. Answered questions show on the practice, with your name."
        }

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        if len(text) > 2000:
            raise forms.ValidationError(f"Keep a question to 2,000 characters; this one has {len(text):,}.")
        return text


class AnswerForm(forms.Form):
    answer = forms.CharField(label="Your answer", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)


# How many colleagues a team collection names at most.
MAX_TEAM = 100


def _names_in(text: str) -> list[str]:
    return [name for name in (part.strip() for part in text.replace("\n", ",").replace(";", ",").split(",")) if name]


class CollectionForm(forms.ModelForm):
    team = forms.CharField(
        label="Team members",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a team collection: colleagues' e-mail addresses or usernames, separated by commas.",
    )

    class Meta:
        model = Collection
        fields = ["name", "description", "sharing"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "sharing": forms.RadioSelect}

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        sharing = cast(forms.ChoiceField, self.fields["sharing"])
        sharing.choices = [
            (value, label)
            for value, label in CollectionSharing.choices
            if value != CollectionSharing.SCHOOL or owner.school_id is not None
        ]
        if self.instance.pk and not self.is_bound:
            self.initial["team"] = ", ".join(
                member.email or member.username for member in self.instance.members.order_by("email", "username")
            )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        others = Collection.objects.filter(owner=self.owner, name__iexact=name).exclude(pk=self.instance.pk)
        if name and others.exists():
            raise forms.ValidationError(f"You already have a collection named “{name}”.")
        return name

    def clean_team(self) -> list[User]:
        names = _names_in(self.cleaned_data.get("team") or "")
        if len(names) > MAX_TEAM:
            raise forms.ValidationError(f"Name at most {MAX_TEAM} colleagues; this names {len(names)}.")
        lowered = {name.lower() for name in names if len(name) <= 254}
        found = list(
            User.objects.active()
            .annotate(email_lower=Lower("email"), username_lower=Lower("username"))
            .filter(Q(email_lower__in=lowered) | Q(username_lower__in=lowered))
        )
        known = {person.email.lower() for person in found} | {person.username.lower() for person in found}
        unknown = [name for name in names if name.lower() not in known]
        if unknown:
            raise forms.ValidationError(f"Nobody active in the portal is known as: {', '.join(unknown)}.")
        return [person for person in found if person.pk != self.owner.pk]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("sharing") == CollectionSharing.TEAM and not cleaned.get("team") and "team" not in self.errors:
            self.add_error("team", "Name at least one colleague, or choose who else can see it.")
        return cleaned


class SaveToCollectionForm(forms.Form):
    collection = IdChoiceField(
        queryset=Collection.objects.none(), required=False, label="Save to", empty_label="A new collection"
    )
    new_name = forms.CharField(label="Name of the new collection", max_length=120, required=False)
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you saved it: what to try, what to ask, who it suits.",
    )

    def __init__(self, *args: Any, user: User, collections: QuerySet[Collection], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        cast(IdChoiceField, self.fields["collection"]).queryset = collections

    def clean_new_name(self) -> str:
        return " ".join(self.cleaned_data["new_name"].split())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = cleaned.get("new_name")
        if cleaned.get("collection") is None and "collection" not in self.errors:
            if not name:
                self.add_error("new_name", "Choose one of your collections, or name a new one.")
            elif Collection.objects.filter(owner=self.user, name__iexact=name).exists():
                self.add_error("new_name", f"You already have a collection named “{name}”: choose it above.")
        return cleaned


class CollectionItemForm(forms.Form):
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
