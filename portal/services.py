"""Workflows that touch several models: roster import and invitations."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import TaskResultStatus, task

from portal.jobs import enqueue_on_commit
from portal.lib.csvfile import CONTROL_CHARACTER, CsvError, CsvRow, RowError, has_control_character, read_rows
from portal.lib.mail import portal_email, send_quietly
from portal.lib.names import NamePool
from portal.models import (
    DISTRICT_ROLES,
    DeliveryStatus,
    Locale,
    MailDelivery,
    MailKind,
    Role,
    RosterImport,
    RosterImportKind,
    School,
    SchoolLevel,
    User,
)

SCHOOL_COLUMNS = ["slug", "name", "level", "enrollment", "frl_percent", "locale"]
USER_COLUMNS = ["email", "first_name", "last_name", "role", "school"]
USER_OPTIONAL_COLUMNS = ["username"]
SLUG_MAX_LENGTH = School._meta.get_field("slug").max_length or 0
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length or 0
# The largest number PostgreSQL's integer column holds.
ENROLLMENT_MAX = 2_147_483_647


@dataclass
class _Person:
    """One row of the people file, checked."""

    row: int
    email: str
    first_name: str
    last_name: str
    role: str
    school: str  # the school's slug; empty for district-office roles
    username: str  # empty: made from the e-mail address


@dataclass
class RosterResult:
    schools_created: int = 0
    schools_updated: int = 0
    users_created: int = 0
    users_updated: int = 0
    invited: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"Schools: {self.schools_created} added, {self.schools_updated} updated. "
            f"People: {self.users_created} added, {self.users_updated} updated. "
            f"Invitations sent: {len(self.invited)}."
        )


def _normalise_choice(value: str) -> str:
    return re.sub(r"[\s\-/]+", "_", value.strip().lower()).replace("k_8", "k8").replace("k_12", "k12")


def _whole_number(value: str, *, lowest: int, highest: int) -> int:
    cleaned = value.replace(",", "").removesuffix("%").strip()
    if not re.fullmatch(r"\d+", cleaned):
        raise ValueError("must be a whole number")
    # Past 19 digits it is out of range anyway, and Python refuses to read very long numbers.
    number = int(cleaned) if len(cleaned) <= 19 else highest + 1
    if not lowest <= number <= highest:
        raise ValueError(f"must be between {lowest:,} and {highest:,}")
    return number


def _parse_schools(rows: list[CsvRow], filename: str, errors: list[RowError]) -> dict[str, dict[str, object]]:
    """Each school's field values by slug."""
    parsed: dict[str, dict[str, object]] = {}
    for number, values in rows:
        school: dict[str, object] = {}
        slug = values.get("slug", "").lower()
        try:
            validate_slug(slug)
        except ValidationError:
            errors.append(
                RowError(filename, number, "slug", f"{slug!r} is not a valid slug (letters, numbers, hyphens)")
            )
        if len(slug) > SLUG_MAX_LENGTH:
            errors.append(RowError(filename, number, "slug", f"is longer than {SLUG_MAX_LENGTH} characters"))
        if slug in parsed:
            errors.append(RowError(filename, number, "slug", f"{slug!r} appears twice in this file"))
        name = values.get("name", "")
        if not name:
            errors.append(RowError(filename, number, "name", "is required"))
        elif has_control_character(name):
            errors.append(RowError(filename, number, "name", CONTROL_CHARACTER))
        elif len(name) > 200:
            errors.append(RowError(filename, number, "name", "is longer than 200 characters"))
        school["name"] = name
        for column, choices in (("level", SchoolLevel), ("locale", Locale)):
            value = _normalise_choice(values.get(column, ""))
            if value not in choices.values:
                errors.append(
                    RowError(
                        filename,
                        number,
                        column,
                        f"{values.get(column, '')!r} is not one of {', '.join(choices.values)}",
                    )
                )
            school[column] = value
        for column, highest in (("enrollment", ENROLLMENT_MAX), ("frl_percent", 100)):
            try:
                school[column] = _whole_number(values.get(column, ""), lowest=0, highest=highest)
            except ValueError as problem:
                errors.append(RowError(filename, number, column, f"{values.get(column, '')!r} {problem}"))
        parsed[slug] = school
    return parsed


def _parse_users(
    rows: list[CsvRow],
    filename: str,
    known_slugs: set[str],
    errors: list[RowError],
) -> dict[str, _Person]:
    """Each person by e-mail address, in lower case."""
    parsed: dict[str, _Person] = {}
    usernames_in_file: dict[str, str] = {}
    for number, values in rows:
        email = values.get("email", "").lower()
        try:
            validate_email(email)
        except ValidationError:
            errors.append(RowError(filename, number, "email", f"{email!r} is not a valid e-mail address"))
        if len(email) > EMAIL_MAX_LENGTH:
            errors.append(RowError(filename, number, "email", f"is longer than {EMAIL_MAX_LENGTH} characters"))
        if email in parsed:
            errors.append(RowError(filename, number, "email", f"{email!r} appears twice in this file"))
        for column in ("first_name", "last_name"):
            value = values.get(column, "")
            if not value:
                errors.append(RowError(filename, number, column, "is required"))
            elif has_control_character(value):
                errors.append(RowError(filename, number, column, CONTROL_CHARACTER))
            elif len(value) > 150:
                errors.append(RowError(filename, number, column, "is longer than 150 characters"))
        role = _normalise_choice(values.get("role", ""))
        if role not in Role.values:
            errors.append(
                RowError(filename, number, "role", f"{values.get('role', '')!r} is not one of {', '.join(Role.values)}")
            )
        slug = values.get("school", "").lower()
        if slug and slug not in known_slugs:
            errors.append(
                RowError(filename, number, "school", f"no school with slug {slug!r} in the schools file or the portal")
            )
        elif not slug and role in Role.values and role not in DISTRICT_ROLES:
            errors.append(RowError(filename, number, "school", f"is required for a {Role(role).label.lower()}"))
        elif slug and role in DISTRICT_ROLES:
            errors.append(
                RowError(
                    filename,
                    number,
                    "school",
                    f"must be empty for a {Role(role).label.lower()}: district-office roles belong to no school",
                )
            )
        username = values.get("username", "")
        if username:
            if not re.fullmatch(r"[\w.@+-]{1,150}", username):
                errors.append(
                    RowError(
                        filename, number, "username", f"{username!r} may only contain letters, digits and @ . + - _"
                    )
                )
            elif usernames_in_file.get(username.lower(), email) != email:
                errors.append(RowError(filename, number, "username", f"{username!r} appears twice in this file"))
            usernames_in_file[username.lower()] = email
        parsed[email] = _Person(
            row=number,
            email=email,
            first_name=values.get("first_name", ""),
            last_name=values.get("last_name", ""),
            role=role,
            school=slug,
            username=username,
        )
    return parsed


def _unique_username(base: str, taken: NamePool) -> str:
    """A username nobody has, made from `base` (the part of an address before the @)."""
    return taken.claim(re.sub(r"[^\w.@+-]", "", base)[:140] or "user")


def roster_import(
    *,
    schools_text: str,
    users_text: str,
    schools_filename: str = "schools.csv",
    users_filename: str = "users.csv",
    by: User | None = None,
) -> RosterResult:
    """Validate every row of both files, then apply all of them or none.

    Schools are matched by slug and people by e-mail (in any case), so re-running an
    export updates instead of duplicating. New people get an e-mail with a link to
    set their own password.

    `by` is the person importing (None: an operator on the command line). They may change
    only accounts they may manage (`User.can_manage`: a row for an account that runs the
    admin must leave it as it is unless they are a superuser) and give only roles they may
    give (district staff: superusers only). The import is recorded as a `RosterImport`, in its
    own transaction.
    """
    errors: list[RowError] = []
    school_rows = read_rows(schools_text, schools_filename, required=SCHOOL_COLUMNS, errors=errors)
    user_rows = read_rows(
        users_text, users_filename, required=USER_COLUMNS, optional=USER_OPTIONAL_COLUMNS, errors=errors
    )
    if errors:
        raise CsvError(errors)

    schools = _parse_schools(school_rows, schools_filename, errors)
    known_slugs = set(schools) | set(School.objects.values_list("slug", flat=True))
    people = _parse_users(user_rows, users_filename, known_slugs, errors)

    existing_users: dict[str, User] = {
        user.email.lower(): user
        for user in User.objects.select_related("school")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=list(people))
    }
    wanted_usernames = [person.username.lower() for person in people.values() if person.username]
    owners = dict(
        User.objects.annotate(username_lower=Lower("username"))
        .filter(username_lower__in=wanted_usernames)
        .values_list("username_lower", "email")
    )
    for email, person in people.items():
        owner = owners.get(person.username.lower())
        if owner is not None and owner != email:
            errors.append(
                RowError(users_filename, person.row, "username", f"{person.username!r} belongs to someone else")
            )
        if by is not None:
            errors.extend(_rights_errors(by, existing_users.get(email), person, users_filename))
    if errors:
        raise CsvError(sorted(errors, key=lambda error: (error.file, error.row)))

    result = RosterResult()
    with transaction.atomic():
        school_by_slug = {
            school.slug: school for school in School.objects.select_for_update().filter(slug__in=known_slugs)
        }
        for slug, values in schools.items():
            school = school_by_slug.get(slug)
            if school is None:
                school_by_slug[slug] = School.objects.create(slug=slug, **values)
                result.schools_created += 1
            else:
                for name, value in values.items():
                    setattr(school, name, value)
                school.save()
                result.schools_updated += 1

        # Names given in the file are spoken for, even by rows further down.
        taken_usernames = NamePool(
            [
                *User.objects.values_list("username", flat=True),
                *(person.username for person in people.values() if person.username),
            ]
        )
        invited: list[User] = []
        for email, person in people.items():
            user = existing_users.get(email)
            school = school_by_slug[person.school] if person.school else None
            if user is None:
                user = User(
                    email=email, username=person.username or _unique_username(email.split("@")[0], taken_usernames)
                )
                user.set_unusable_password()
                result.users_created += 1
                invited.append(user)
            elif by is not None and not by.can_manage(user):
                continue  # unchanged (checked above): an account that runs the admin, left alone
            else:
                if person.username:
                    user.username = person.username
                result.users_updated += 1
            user.first_name = person.first_name
            user.last_name = person.last_name
            user.role = person.role
            user.school = school
            user.save()
        result.invited = [user.email for user in invited]
        # Recorded with the import, as the OneRoster import is: the roster pages and the admin list both.
        RosterImport.objects.create(
            by=by,
            kind=RosterImportKind.PORTAL_CSV,
            file_name=f"{schools_filename} + {users_filename}"[:255],
            schools_added=result.schools_created,
            schools_updated=result.schools_updated,
            people_added=result.users_created,
            people_updated=result.users_updated,
            summary=result.summary(),
        )
        # Queued in this transaction: the invitations go if the import is saved, and only then.
        invitations_send(users=invited)
    return result


def _row_changes(user: User, person: _Person) -> bool:
    school = user.school.slug if user.school is not None else ""
    return (user.first_name, user.last_name, user.role, school) != (
        person.first_name,
        person.last_name,
        person.role,
        person.school,
    ) or bool(person.username and person.username != user.username)


def _rights_errors(by: User, user: User | None, person: _Person, filename: str) -> list[RowError]:
    """What in one row `by` may not do: change an account they may not manage, or give a role they may not give."""
    errors = []
    if user is not None and not by.can_manage(user) and _row_changes(user, person):
        errors.append(
            RowError(
                filename,
                person.row,
                "email",
                f"{user.email!r} is an account that runs the admin: only a superuser can change it",
            )
        )
    elif not by.can_give_role(person.role) and (user is None or user.role != person.role):
        errors.append(RowError(filename, person.row, "role", "only a superuser can make someone district staff"))
    return errors


def password_setup_url(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.PORTAL_BASE_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


# Invitations built and queued by one job: a large import is shared between workers.
INVITATIONS_PER_JOB = 500


def invitations_send(*, users: Iterable[User]) -> int:
    """E-mail each person a link to choose their own password.

    Each invitation is recorded as queued with the change that invites them (so staff see it
    queued, then sent or failed), and built and sent by jobs outside the request, a few hundred
    people to a job, however many the import brought. Says how many are on their way, or, when
    the jobs ran at once (the immediate backend, outside a transaction), how many went.
    """
    deliveries = MailDelivery.objects.bulk_create(
        [MailDelivery(kind=MailKind.INVITATION, person=user, to=user.email) for user in users]
    )
    keys = [str(delivery.key) for delivery in deliveries]
    queued = 0
    for start in range(0, len(keys), INVITATIONS_PER_JOB):
        batch = keys[start : start + INVITATIONS_PER_JOB]
        result = enqueue_on_commit(invitations_deliver, batch)
        if result is not None and result.is_finished:
            queued += (result.return_value or 0) if result.status == TaskResultStatus.SUCCESSFUL else 0
        else:
            queued += len(batch)
    return queued


@task()
def invitations_deliver(keys: list[str]) -> int:
    """Build and send the invitations queued under `keys` (invitations_send); say how many are
    on their way. Run twice, it builds each invitation once: one built has its subject. Someone
    deactivated since they were queued is not invited."""
    waiting = MailDelivery.objects.invitations().filter(
        key__in=keys, status=DeliveryStatus.QUEUED, subject="", person__isnull=False
    )
    waiting.filter(person__is_active=False).update(
        status=DeliveryStatus.FAILED, status_at=timezone.now(), error="Deactivated before the invitation was sent."
    )
    return sum(
        send_quietly(partial(_invitation, delivery.person), delivery=delivery)
        for delivery in waiting.filter(person__is_active=True).select_related("person").order_by("pk")
        if delivery.person is not None
    )


def _invitation(user: User) -> EmailMessage:
    context = {
        "user": user,
        "portal_name": settings.PORTAL_NAME,
        "setup_url": password_setup_url(user=user),
        "login_url": settings.PORTAL_BASE_URL + reverse("login"),
        "reset_url": settings.PORTAL_BASE_URL + reverse("password_reset"),
        "valid_days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600),
    }
    return portal_email(
        f"Welcome to {settings.PORTAL_NAME}: set your password",
        render_to_string("registration/invitation_email.txt", context),
        to=[user.email],
    )
