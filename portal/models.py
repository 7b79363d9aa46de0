from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class SchoolLevel(models.TextChoices):
    ELEMENTARY = "elementary", "Elementary"
    MIDDLE = "middle", "Middle"
    HIGH = "high", "High"
    K8 = "k8", "K-8"
    K12 = "k12", "K-12"
    OTHER = "other", "Other"


class Locale(models.TextChoices):
    CITY = "city", "City"
    SUBURB = "suburb", "Suburb"
    TOWN = "town", "Town"
    RURAL = "rural", "Rural"


# Segment bands, defined once: "schools like mine", survey segments and the
# dashboards all group schools by these. Each band is (key, label, lowest value).
ENROLLMENT_BANDS: list[tuple[str, str, int]] = [
    ("small", "Fewer than 300 students", 0),
    ("medium", "300–599 students", 300),
    ("large", "600–999 students", 600),
    ("very_large", "1,000 or more students", 1000),
]
FRL_BANDS: list[tuple[str, str, int]] = [
    ("low", "0–25% free/reduced lunch", 0),
    ("mid_low", "26–50% free/reduced lunch", 26),
    ("mid_high", "51–75% free/reduced lunch", 51),
    ("high", "76–100% free/reduced lunch", 76),
]


def band_for(value: int, bands: list[tuple[str, str, int]]) -> str:
    """The key of the highest band whose lowest value is at or below `value`."""
    key = bands[0][0]
    for band_key, _label, lowest in bands:
        if value >= lowest:
            key = band_key
    return key


def band_label(key: str, bands: list[tuple[str, str, int]]) -> str:
    return next(label for band_key, label, _lowest in bands if band_key == key)


class School(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, help_text="Short identifier used in roster files and URLs.")
    level = models.CharField(max_length=12, choices=SchoolLevel.choices)
    enrollment = models.PositiveIntegerField(help_text="Number of students enrolled.")
    frl_percent = models.PositiveSmallIntegerField(
        "FRL %",
        validators=[MaxValueValidator(100)],
        help_text="Share of students on free or reduced-price lunch, 0–100.",
    )
    locale = models.CharField(max_length=8, choices=Locale.choices)
    sourced_id = models.CharField(
        "OneRoster sourcedId",
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="The school's identifier in the district's OneRoster exports; set by the OneRoster import.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(sourced_id=""), name="school_sourced_id_not_empty"),
            models.CheckConstraint(condition=models.Q(enrollment__gte=0), name="school_enrollment_not_negative"),
            models.CheckConstraint(
                condition=models.Q(frl_percent__gte=0, frl_percent__lte=100), name="school_frl_percent_0_100"
            ),
            models.CheckConstraint(condition=models.Q(level__in=SchoolLevel.values), name="school_level_valid"),
            models.CheckConstraint(condition=models.Q(locale__in=Locale.values), name="school_locale_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def enrollment_band(self) -> str:
        return band_for(self.enrollment, ENROLLMENT_BANDS)

    @property
    def frl_band(self) -> str:
        return band_for(self.frl_percent, FRL_BANDS)

    def get_enrollment_band_display(self) -> str:
        return band_label(self.enrollment_band, ENROLLMENT_BANDS)

    def get_frl_band_display(self) -> str:
        return band_label(self.frl_band, FRL_BANDS)


def school_asked_for(path: str, value: str) -> models.Q:
    """The rows whose school (at `path`) a filter's text asks for: a school's own slug (old links,
    the school pages' links) means that school alone; anything else is part of a name."""
    value = value.strip()
    is_slug = models.Exists(School.objects.filter(slug=value))
    return models.Q(**{f"{path}__slug": value}) | (~is_slug & models.Q(**{f"{path}__name__icontains": value}))


class Role(models.TextChoices):
    TEACHER = "teacher", "Teacher"
    PRINCIPAL = "principal", "Principal"
    DISTRICT_LEADER = "district_leader", "District leader"
    DISTRICT_STAFF = "district_staff", "District staff"


SCHOOL_ROLES = [Role.TEACHER, Role.PRINCIPAL]
DISTRICT_ROLES = [Role.DISTRICT_LEADER, Role.DISTRICT_STAFF]
# Who imports the roster (and reaches the administration from the navigation).
ROSTER_ROLES = [Role.DISTRICT_STAFF]

# Apps whose admin district staff run (schools, people, survey cycles, moderation).
STAFF_ADMIN_APPS = {"portal", "practices", "showcases", "surveys", "taggit", "axes"}


# Accounts that run the admin: district staff, and superusers whatever their role.
ADMIN_ACCOUNTS = models.Q(is_superuser=True) | models.Q(is_staff=True) | models.Q(role=Role.DISTRICT_STAFF)


class UserQuerySet(models.QuerySet["User"]):
    def active(self) -> UserQuerySet:
        return self.filter(is_active=True)

    def manageable_by(self, actor: User) -> UserQuerySet:
        """The accounts `actor` may change: edit, set a password for, deactivate, import over.

        A superuser may change anyone. Anyone else (district staff run the admin) may change
        their own account and accounts that do not run the admin, never a superuser's or
        another district staff member's: taking over such an account would give them rights
        they do not have, or let them act under someone else's name. `User.can_manage` is
        this rule for one account.
        """
        if actor.is_superuser:
            return self.all()
        return self.exclude(ADMIN_ACCOUNTS & ~models.Q(pk=actor.pk))


class PortalUserManager(UserManager["User"]):
    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def active(self) -> UserQuerySet:
        return self.get_queryset().active()

    def manageable_by(self, actor: User) -> UserQuerySet:
        return self.get_queryset().manageable_by(actor)

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("role", Role.DISTRICT_STAFF)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    email = models.EmailField("e-mail address")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TEACHER)
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
        help_text="Required for teachers and principals; empty for district-office roles.",
    )
    sourced_id = models.CharField(
        "OneRoster sourcedId",
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="The person's identifier in the district's OneRoster exports; set by the OneRoster import.",
    )

    objects: ClassVar[PortalUserManager] = PortalUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(condition=~models.Q(sourced_id=""), name="user_sourced_id_not_empty"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=models.Q(role__in=DISTRICT_ROLES) | models.Q(school__isnull=False),
                name="user_school_required_for_school_roles",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=SCHOOL_ROLES) | models.Q(school__isnull=True),
                name="user_district_office_has_no_school",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()
        errors: dict[str, str] = {}
        role = self.get_role_display().lower()
        if self.role in SCHOOL_ROLES and self.school_id is None:
            errors["school"] = f"A {role} must belong to a school."
        elif self.role in DISTRICT_ROLES and self.school_id is not None:
            errors["school"] = f"A {role} works for the whole district, not one school: leave the school empty."
        # Said here in words; the database's case-insensitive constraint would only give its name.
        others = User._default_manager.exclude(pk=self.pk).annotate(email_lower=Lower("email"))
        if self.email and others.filter(email_lower=self.email).exists():
            errors["email"] = "Someone else already has this e-mail address."
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        # District staff run the admin; nobody else gets in through the role.
        if self.role == Role.DISTRICT_STAFF:
            self.is_staff = True
        elif not self.is_superuser:
            self.is_staff = False
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("home")

    @property
    def is_teacher(self) -> bool:
        return self.role == Role.TEACHER

    @property
    def is_principal(self) -> bool:
        return self.role == Role.PRINCIPAL

    @property
    def is_district_leader(self) -> bool:
        return self.role == Role.DISTRICT_LEADER

    @property
    def is_district_staff(self) -> bool:
        return self.role == Role.DISTRICT_STAFF

    @property
    def is_district_office(self) -> bool:
        return self.role in DISTRICT_ROLES

    @property
    def runs_the_admin(self) -> bool:
        return self.is_superuser or self.is_staff or self.role == Role.DISTRICT_STAFF

    def can_manage(self, other: User) -> bool:
        """Whether this person may change `other`'s account (UserQuerySet.manageable_by for one account)."""
        return self.is_superuser or other.pk == self.pk or not other.runs_the_admin

    def can_give_role(self, role: str) -> bool:
        """Only superusers make someone district staff: the role opens the admin."""
        return self.is_superuser or role != Role.DISTRICT_STAFF

    def has_perm(self, perm: str, obj: models.Model | None = None) -> bool:
        if self.is_active and self.is_district_staff and perm.split(".", 1)[0] in STAFF_ADMIN_APPS:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_district_staff and app_label in STAFF_ADMIN_APPS:
            return True
        return super().has_module_perms(app_label)


def band_range(value: int, bands: list[tuple[str, str, int]]) -> tuple[int, int | None]:
    """The [lowest, next band's lowest) range of the band `value` falls in."""
    key = band_for(value, bands)
    lowests = [lowest for _key, _label, lowest in bands]
    index = [band_key for band_key, _label, _lowest in bands].index(key)
    return lowests[index], lowests[index + 1] if index + 1 < len(lowests) else None


def school_similarity(school: School, prefix: str = "school__") -> models.Expression:
    """How many of level, enrollment band, FRL band and locale a row's school shares with `school` (0–4)."""

    def in_band(field: str, value: int, bands: list[tuple[str, str, int]]) -> models.Q:
        lowest, upper = band_range(value, bands)
        condition = models.Q(**{f"{prefix}{field}__gte": lowest})
        if upper is not None:
            condition &= models.Q(**{f"{prefix}{field}__lt": upper})
        return condition

    conditions = [
        models.Q(**{f"{prefix}level": school.level}),
        in_band("enrollment", school.enrollment, ENROLLMENT_BANDS),
        in_band("frl_percent", school.frl_percent, FRL_BANDS),
        models.Q(**{f"{prefix}locale": school.locale}),
    ]
    total: models.Expression = models.Value(0)
    for condition in conditions:
        total = total + models.Case(models.When(condition, then=models.Value(1)), default=models.Value(0))
    return models.ExpressionWrapper(total, output_field=models.IntegerField())


class RosterImportKind(models.TextChoices):
    ONEROSTER_BULK = "oneroster_bulk", "OneRoster, full export"
    ONEROSTER_DELTA = "oneroster_delta", "OneRoster, changes only"
    PORTAL_CSV = "portal_csv", "Portal CSV (schools + people)"


class RosterImport(models.Model):
    """One import that changed the roster: who ran it, when, from which file, and what it did.
    A dry run or a preview is not recorded; the import and its record are one transaction."""

    by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when it was run on the command line.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=RosterImportKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField("file SHA-256", max_length=64, blank=True)
    schools_added = models.PositiveIntegerField(default=0)
    schools_updated = models.PositiveIntegerField(default=0)
    people_added = models.PositiveIntegerField(default=0)
    people_updated = models.PositiveIntegerField(default=0)
    people_deactivated = models.PositiveIntegerField(default=0)
    people_skipped = models.PositiveIntegerField(
        default=0, help_text="Rows for people the portal does not hold: students, guardians and the like."
    )
    summary = models.TextField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=RosterImportKind.values), name="roster_import_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


# How long a OneRoster preview may be confirmed, in seconds: after that the roster may have moved on.
PENDING_MAX_AGE = 30 * 60
PREVIEW_VALID_FOR = timedelta(seconds=PENDING_MAX_AGE)
# A check or an import waiting or running longer than this has most likely stopped (a worker
# killed mid-job, a job lost): its page says so instead of waiting forever. Generous: an export
# of 5,000 staff and 40,000 students and guardians imports in seconds (the README's "Speed").
RUN_STUCK_AFTER = timedelta(hours=1)


class OneRosterRunStatus(models.TextChoices):
    CHECKING = "checking", "Checking the export"
    PREVIEWED = "previewed", "Preview ready"
    REFUSED = "refused", "Problems found"
    IMPORTING = "importing", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"


class OneRosterRunQuerySet(models.QuerySet["OneRosterRun"]):
    def started_by(self, user: User) -> OneRosterRunQuerySet:
        """The runs `user` may see: their own. An upload holds the district's people; only whoever
        uploaded it follows and confirms it."""
        return self.filter(by=user)

    def needing_upload(self) -> OneRosterRunQuerySet:
        """Runs whose kept upload a job or a confirmation may still read."""
        now = timezone.now()
        working = models.Q(
            status__in=[OneRosterRunStatus.CHECKING, OneRosterRunStatus.IMPORTING],
            status_at__gte=now - RUN_STUCK_AFTER,
        )
        waiting = models.Q(status=OneRosterRunStatus.PREVIEWED, status_at__gte=now - PREVIEW_VALID_FOR)
        return self.filter(working | waiting)


class OneRosterRun(models.Model):
    """A OneRoster export uploaded in the browser, on its way through jobs: checked (its preview
    kept), then, once its uploader confirms that preview, imported.

    A run is not an import: a preview changes nothing, and a run that was refused, failed or never
    confirmed changed nothing. Only an import that changed the roster is a `RosterImport`, written
    in the import's own transaction and linked here as `record`.
    """

    by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    district_role = models.CharField(max_length=20, choices=Role.choices)
    stored = models.CharField(max_length=255, help_text="Where the upload is kept until it is imported or refused.")
    status = models.CharField(max_length=10, choices=OneRosterRunStatus.choices, default=OneRosterRunStatus.CHECKING)
    created_at = models.DateTimeField(default=timezone.now)
    status_at = models.DateTimeField(default=timezone.now, help_text="When the status was last set.")
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When a job began the current check or import; empty while it waits."
    )
    # What the import would do (portal.oneroster.run_preview): counts, schools, the first people of each list.
    preview = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Of the preview shown, to be confirmed.")
    outdated = models.BooleanField(
        default=False, help_text="The roster changed since the preview that was confirmed: this is a new one."
    )
    # Why nothing was imported, as a page lists it: {"summary", "shown", "more"}.
    problems = models.JSONField(default=dict, blank=True)
    record = models.OneToOneField(
        RosterImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="The import."
    )

    objects = OneRosterRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OneRosterRunStatus.values), name="oneroster_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_working(self) -> bool:
        """A job is checking or importing it, or will."""
        return self.status in (OneRosterRunStatus.CHECKING, OneRosterRunStatus.IMPORTING)

    @property
    def is_stuck(self) -> bool:
        return self.is_working and self.status_at < timezone.now() - RUN_STUCK_AFTER

    @property
    def preview_expired(self) -> bool:
        return self.status == OneRosterRunStatus.PREVIEWED and self.status_at < timezone.now() - PREVIEW_VALID_FOR

    def can_confirm(self, user: User) -> bool:
        """Whether `user` may confirm the preview now: their own, shown and not expired."""
        return self.by_id == user.pk and self.status == OneRosterRunStatus.PREVIEWED and not self.preview_expired


class MailKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    NOTICE = "notice", "Notice"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class MailDeliveryQuerySet(models.QuerySet["MailDelivery"]):
    def invitations(self) -> MailDeliveryQuerySet:
        return self.filter(kind=MailKind.INVITATION)


class MailDelivery(models.Model):
    """One e-mail on its way (portal.lib.mail): queued with the change it reports, then sent or
    failed once a worker has tried it. Its key names it to the jobs that send it, which send it
    once: a delivery marked sent is never sent again. An invitation names the person invited, so
    staff see whether theirs went."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=MailKind.choices, default=MailKind.NOTICE)
    person = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mail_deliveries",
        help_text="The person invited, for an invitation.",
    )
    to = models.CharField("to", max_length=1000, blank=True)
    subject = models.CharField(max_length=255, blank=True, help_text="Empty until the message is built.")
    # The message as built (portal.lib.mail.message_data); emptied once sent.
    message = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_at = models.DateTimeField(default=timezone.now, help_text="When it was queued, sent or given up.")
    error = models.CharField(max_length=500, blank=True, help_text="Why the last attempt failed.")

    objects = MailDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = "e-mail delivery"
        verbose_name_plural = "e-mail deliveries"
        ordering = ["-queued_at", "-pk"]
        indexes = [models.Index(fields=["person", "kind", "-queued_at"], name="mail_delivery_person_kind")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=MailKind.values), name="mail_delivery_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="mail_delivery_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to or self.person}: {self.get_status_display()}"


# Notifications keep their models beside their services (portal/notifications); importing them
# here registers them with the app.
from portal.notifications.models import Notification, NotificationSettings  # noqa: E402, F401
