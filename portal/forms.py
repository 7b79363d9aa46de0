import csv
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from io import BytesIO, StringIO
from typing import Any, NamedTuple

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.db.models.functions import Lower
from django.template.loader import render_to_string

from portal.lib.csvfile import CsvError, decode_upload, sniff_delimiter
from portal.lib.mail import portal_email, send_quietly
from portal.models import Role, User
from portal.oneroster import DISTRICT_ROLE_CHOICES, MAX_ZIP_BYTES


class LoginForm(auth_forms.AuthenticationForm):
    username = auth_forms.UsernameField(
        label="Username or e-mail",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )


class PortalPasswordResetForm(auth_forms.PasswordResetForm):
    def get_users(self, email: str) -> Iterator[User]:
        """Also reach people who were invited but never set a password.

        Django skips accounts with an unusable password; on this portal that is
        exactly the state of someone added by a roster import whose invitation
        expired, and they need this form to get in.
        """
        user_model = get_user_model()
        return (
            user
            for user in user_model._default_manager.annotate(email_lower=Lower("email")).filter(
                email_lower=email.strip().lower(), is_active=True
            )
        )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Sent the portal's one way (portal.lib.mail): a one-line subject, and a failure logged."""
        send_quietly(
            lambda: portal_email(
                render_to_string(subject_template_name, context),
                render_to_string(email_template_name, context),
                to=[to_email],
            )
        )


# The dates a person may enter anywhere in the portal: wide enough for any school record,
# far enough from the calendar's ends that a day or a month either side still exists for
# Python and the database (9999-12-31 plus one day overflows).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def validate_plausible_date(value: date) -> None:
    """Refuse a date (or date and time) outside EARLIEST_DATE..LATEST_DATE."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise forms.ValidationError(
            "Enter a date between %(earliest)s and %(latest)s.",
            code="date_out_of_range",
            params={"earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year},
        )


class PlausibleDateField(forms.DateField):
    default_validators = [validate_plausible_date]

    def widget_attrs(self, widget: forms.Widget) -> dict[str, str]:
        return {**super().widget_attrs(widget), "min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat()}


def _is_id(value: object) -> bool:
    """Whether `value` could be a row id: digits, within what every database's integer holds
    (SQLite fails, a 500, on a larger number; PostgreSQL just finds nothing)."""
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 18


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose value no id can be is an unknown choice, not a failed query."""

    def to_python(self, value: Any) -> Model | None:
        if value not in self.empty_values and self.to_field_name is None and not _is_id(value):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField whose values no id can be are unknown choices, not a failed query."""

    def clean(self, value: Any) -> QuerySet[Any]:
        if isinstance(value, list | tuple) and self.to_field_name is None:
            for pk in value:
                if not _is_id(pk):
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super().clean(value)


class CsvUpload(NamedTuple):
    name: str
    text: str


class CsvFileField(forms.FileField):
    """An uploaded CSV file, cleaned to its name and text. The rows are read and checked
    by `portal.lib.csvfile.read_rows`, which names the row and column of any problem."""

    max_bytes = 5 * 1024 * 1024

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> CsvUpload | None:
        upload = super().clean(data, initial)
        if upload is None:
            return None
        if upload.size > self.max_bytes:
            raise forms.ValidationError("The file is larger than 5 MB.")
        raw = upload.read()
        if raw.startswith(b"PK\x03\x04"):
            raise forms.ValidationError(
                "This is a zip file, not a CSV file. A OneRoster export (.zip) is imported on the OneRoster page; "
                "otherwise save each sheet as “CSV UTF-8”."
            )
        try:
            return CsvUpload(upload.name, decode_upload(raw))
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None


class CsvUploadForm(forms.Form):
    """A form of CSV file fields whose rows an import checks. The view hands what the import
    refused to `add_csv_error`; `_upload_form.html` lists each problem by file, row and column."""

    csv_error: CsvError | None = None

    def add_csv_error(self, failure: CsvError) -> None:
        self.csv_error = failure


# People the page imports from the portal's CSV in one request (about ten seconds); a larger
# district imports its OneRoster export, checked and imported by jobs, or runs import_roster.
ROSTER_PAGE_MAX_PEOPLE = 20_000


class RosterImportForm(CsvUploadForm):
    schools_file = CsvFileField(
        label="Schools file (CSV)",
        help_text="Columns: slug, name, level, enrollment, frl_percent, locale. A header-only file is fine.",
    )
    users_file = CsvFileField(
        label="People file (CSV)",
        help_text=(
            "Columns: email, first_name, last_name, role, school (the school's slug), and optionally username. "
            f"Up to {ROSTER_PAGE_MAX_PEOPLE:,} people at a time."
        ),
    )

    def clean_users_file(self) -> CsvUpload | None:
        upload: CsvUpload | None = self.cleaned_data.get("users_file")
        if upload is None:
            return None
        # Read as read_rows reads it (the file's own line endings, its delimiter); a row it cannot
        # read ends the count, and read_rows then names that row.
        rows = csv.reader(StringIO(upload.text, newline=""), delimiter=sniff_delimiter(upload.text))
        people = -1  # the header
        try:
            for row in rows:
                people += any(cell.strip() for cell in row)
        except csv.Error:
            pass
        if people > ROSTER_PAGE_MAX_PEOPLE:
            raise forms.ValidationError(
                f"This file lists {people:,} people; this page imports up to {ROSTER_PAGE_MAX_PEOPLE:,} at a time, "
                "as a larger import would outlast the page. Import a district this size from its OneRoster export "
                "(checked and imported in the background), or with “python manage.py import_roster” on the server."
            )
        return upload


class ZipUpload(NamedTuple):
    name: str
    data: bytes


class ZipFileField(forms.FileField):
    """An uploaded .zip file, cleaned to its name and bytes. What is inside is checked by the
    import that reads it (`portal.oneroster.export_from_zip`), which refuses unsafe archives."""

    max_bytes = MAX_ZIP_BYTES

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> ZipUpload | None:
        upload = super().clean(data, initial)
        if upload is None:
            return None
        if upload.size > self.max_bytes:
            raise forms.ValidationError(f"The file is larger than {self.max_bytes // (1024 * 1024)} MB.")
        content = upload.read()
        if not zipfile.is_zipfile(BytesIO(content)):
            raise forms.ValidationError("The file is not a zip file. Upload the export as a .zip.")
        return ZipUpload(upload.name, content)


class OneRosterImportForm(CsvUploadForm):
    export_file = ZipFileField(
        label="OneRoster export (.zip)",
        help_text="The zip of a OneRoster 1.1 or 1.2 CSV export: orgs.csv, users.csv, and optionally manifest.csv "
        "and roles.csv. Nothing changes until you confirm the preview.",
    )
    district_role = forms.ChoiceField(
        label="Administrators at the district become",
        choices=DISTRICT_ROLE_CHOICES,
        initial=Role.DISTRICT_LEADER,
        help_text="For people new to the portal; someone already in the district office keeps their role. "
        "Only a superuser can choose district staff.",
    )

    def __init__(self, *args: Any, by: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.by = by

    def clean_district_role(self) -> str:
        role: str = self.cleaned_data["district_role"]
        if not self.by.can_give_role(role):
            raise forms.ValidationError("Only a superuser can make people district staff.")
        return role
