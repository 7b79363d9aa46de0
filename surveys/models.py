from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from portal.models import ENROLLMENT_BANDS, FRL_BANDS, Locale, Role, SchoolLevel, User

# Who may do what in the leadership survey. Each rule is one of these sets, read by views
# (`role_required`), services and templates (through `SurveyAccess`) alike.
# Who answers the survey.
SURVEY_ROLES = [Role.PRINCIPAL, Role.DISTRICT_LEADER]
# Who sees the cycles and their dashboards: teachers do not see the leadership survey at all.
DASHBOARD_ROLES = [Role.PRINCIPAL, Role.DISTRICT_LEADER, Role.DISTRICT_STAFF]
# Who downloads the figures (summary.csv) and the anonymised answers (export.csv).
DOWNLOAD_ROLES = [Role.DISTRICT_LEADER, Role.DISTRICT_STAFF]
# Who imports responses and undoes imports, and keeps the cycles in the administration.
IMPORT_ROLES = [Role.DISTRICT_STAFF]
# Who reads the comments: the form tells respondents, and the dashboard shows them, from this.
COMMENT_READERS = [Role.DISTRICT_LEADER]
# Whose own answers, as they are now, the dashboard shows beside the district's.
OWN_ANSWERS_ROLES = [Role.PRINCIPAL]

MIN_GROUP = 5  # groups smaller than this are never shown


@dataclass(frozen=True)
class SurveyAccess:
    """What one person may do in the leadership survey, from the role sets above; pages read
    these flags instead of roles."""

    can_answer: bool
    can_see_dashboard: bool
    can_download: bool
    can_import: bool
    can_read_comments: bool
    sees_own_answers: bool

    @classmethod
    def of(cls, user: User | AnonymousUser | None) -> SurveyAccess:
        role = user.role if isinstance(user, User) and user.is_active else None
        return cls(
            can_answer=role in SURVEY_ROLES,
            can_see_dashboard=role in DASHBOARD_ROLES,
            can_download=role in DOWNLOAD_ROLES,
            can_import=role in IMPORT_ROLES,
            can_read_comments=role in COMMENT_READERS,
            sees_own_answers=role in OWN_ANSWERS_ROLES,
        )


def comment_audience() -> str:
    """The readers of comments as the form names them ("district leaders")."""
    names = [f"{Role(role).label.lower()}s" for role in COMMENT_READERS]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def comment_help_text() -> str:
    return (
        f"Read only by {comment_audience()}, without your name, and only once figures with at least "
        f"{MIN_GROUP} responses are released."
    )


class CycleQuerySet(models.QuerySet["Cycle"]):
    def visible_to(self, user: User | AnonymousUser) -> CycleQuerySet:
        """The leadership survey is for principals and the district office (DASHBOARD_ROLES)."""
        if not SurveyAccess.of(user).can_see_dashboard:
            return self.none()
        return self.all()

    def open_on(self, day: date) -> CycleQuerySet:
        return self.filter(opens_on__lte=day, closes_on__gte=day)


class Cycle(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    opens_on = models.DateField()
    closes_on = models.DateField(help_text="The last day answers can be given or changed.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = CycleQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")),
                name="cycle_closes_after_opening",
                violation_error_message="A cycle must close on or after the day it opens.",
            ),
        ]
        # On PostgreSQL an exclusion constraint (migration 0003) also keeps cycles from overlapping.

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("surveys:dashboard", args=[self.slug])

    def clean(self) -> None:
        """Cycles never overlap: one cycle is open at a time, and each response belongs to it."""
        super().clean()
        if self.opens_on is None or self.closes_on is None:
            return
        if self.closes_on < self.opens_on:
            raise ValidationError({"closes_on": "A cycle must close on or after the day it opens."})
        other = (
            Cycle.objects.exclude(pk=self.pk)
            .filter(opens_on__lte=self.closes_on, closes_on__gte=self.opens_on)
            .order_by("opens_on")
            .first()
        )
        if other is not None:
            raise ValidationError(
                f"These dates overlap {other.name} ({other.opens_on:%b %-d, %Y} to {other.closes_on:%b %-d, %Y}). "
                "Cycles may not overlap: choose dates before or after it."
            )

    def is_open(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.opens_on <= day <= self.closes_on

    def is_closed(self, day: date | None = None) -> bool:
        return (day or timezone.localdate()) > self.closes_on


class Tension(models.Model):
    number = models.PositiveSmallIntegerField(unique=True, validators=[MinValueValidator(1), MaxValueValidator(7)])
    title = models.CharField(max_length=300)
    left_label = models.CharField(max_length=120)
    right_label = models.CharField(max_length=120)

    class Meta:
        ordering = ["number"]
        constraints = [models.CheckConstraint(condition=Q(number__gte=1, number__lte=7), name="tension_number_1_7")]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Response(models.Model):
    """One person's answers in one cycle, with a snapshot of their segment at submission."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="responses")
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey_responses"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    school_level = models.CharField(max_length=12, choices=SchoolLevel.choices, blank=True)
    enrollment_band = models.CharField(
        max_length=12, choices=[(k, label) for k, label, _ in ENROLLMENT_BANDS], blank=True
    )
    frl_band = models.CharField(max_length=12, choices=[(k, label) for k, label, _ in FRL_BANDS], blank=True)
    locale = models.CharField(max_length=8, choices=Locale.choices, blank=True)
    imported = models.BooleanField(default=False, editable=False)
    # The import that brought it in (undoing the import removes it), and that row's
    # fingerprint, so the same row imported again is found and skipped.
    import_batch = models.ForeignKey(
        "ImportBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="responses"
    )
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cycle", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "respondent"], name="response_one_per_person_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.cycle}"

    def snapshot(self, user: User) -> None:
        """Record the respondent's segment as it is now."""
        self.role = user.role
        school = user.school
        self.school_level = school.level if school else ""
        self.enrollment_band = school.enrollment_band if school else ""
        self.frl_band = school.frl_band if school else ""
        self.locale = school.locale if school else ""


class YesNo(models.TextChoices):
    """Whether the system has dedicated time and resources, as the form and import files spell it."""

    YES = "yes", "Yes"
    NO = "no", "No"


DEDICATED: dict[str, bool] = {YesNo.YES: True, YesNo.NO: False}


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AnswerValues(TypedDict):
    """One item's answer as a respondent gives it; None is a skipped part."""

    position: int | None
    dedicated_resources: bool | None
    priority: str | None
    comment: str


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    tension = models.ForeignKey(Tension, on_delete=models.PROTECT, related_name="answers")
    position = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    dedicated_resources = models.BooleanField(null=True, blank=True)
    priority = models.CharField(max_length=6, choices=Priority.choices, null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["tension__number"]
        constraints = [
            models.UniqueConstraint(fields=["response", "tension"], name="answer_one_per_tension"),
            models.CheckConstraint(
                condition=Q(position__isnull=True) | Q(position__gte=1, position__lte=5), name="answer_position_1_5"
            ),
            models.CheckConstraint(
                condition=Q(priority__isnull=True) | Q(priority__in=Priority.values), name="answer_priority_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response} — tension {self.tension_id}"


class ImportBatch(models.Model):
    """One import of a responses file into a cycle; undoing it removes its responses and nothing else."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="imports")
    filename = models.CharField(max_length=255)
    file_fingerprint = models.CharField(max_length=64)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)
    rows_imported = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0)
    blank_skipped = models.PositiveIntegerField(default=0)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    responses_removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.filename} into {self.cycle}"


class Release(models.Model):
    """The survey figures as released: pages show the latest release of a cycle, never
    the answers as they are now.

    A release is made once at least MIN_GROUP responses were added or removed since the
    previous one (edits ride along), and when the cycle closes, so comparing two
    releases never shows fewer than MIN_GROUP people; see `surveys.services.figures_release`.
    It keeps what its pages show (`figures`, `export`) and, while a later release may be
    compared with it, the frozen answers it was made from (`rows`).
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField()
    responses = models.PositiveIntegerField()
    closing = models.BooleanField(default=False, help_text="Made after the cycle closed: its final figures.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)  # never shown: it would date a response
    figures = models.JSONField()
    export = models.JSONField(null=True, blank=True)
    export_generalised = models.JSONField(null=True, blank=True)
    exported_ids = models.JSONField(default=list)
    response_ids = models.JSONField(default=list)
    rows = models.JSONField(null=True, blank=True)
    shown = models.JSONField(default=dict)

    class Meta:
        ordering = ["cycle", "number"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "number"], name="release_number_unique_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"Release {self.number} of {self.cycle}"

    @property
    def has_export(self) -> bool:
        return self.export is not None
