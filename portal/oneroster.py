"""OneRoster 1.1 and 1.2 bulk CSV import: the district's schools and the people the portal holds.

An export is a folder or a .zip holding `orgs.csv`, `users.csv`, optionally `manifest.csv`,
and in OneRoster 1.2 `roles.csv` (1.2 moved each person's role and org out of `users.csv`).
Every file is read by `portal.lib.csvfile`, so every problem is named as `FILE row N, column C`,
and nothing is written unless every row is fine.

What becomes what:

- An org of type `school` is a school, matched by `sourcedId` (on the first import, a school
  without one whose name is the same, ignoring case, takes it). New schools get a provisional
  profile (`NEW_SCHOOL_PROFILE`): OneRoster has no level, enrollment, FRL share or locale, so
  they are listed "to complete" until staff fill them in. The district org is not a school.
- `teacher` at a school is a teacher; `administrator` (1.1), `principal` or `siteAdministrator`
  (1.2) at a school is a principal, and at the district org is the district office, as is
  `districtAdministrator` (1.2) wherever it is placed. New district-office people get the
  district role asked for (district leader by default); someone already in the district office
  keeps their role, since OneRoster cannot tell a leader from staff.
- Everyone else is skipped without error and counted by role: students, guardians, parents,
  relatives (the portal has no place for them), aides, proctors, counselors and system
  administrators (none is a teacher or an administrator of a school in OneRoster's sense).
- A person's school is the first of their `orgSourcedIds` (1.1), or the org of their primary
  role in `roles.csv` (1.2).
- People are keyed by `sourcedId`, so a changed e-mail updates the same person. The first
  import finds people already in the portal by e-mail, ignoring case, and records their
  `sourcedId`; so does a full export for someone whose old `sourcedId` it no longer holds (a
  district that changed information systems exports everyone under new ones).
- `status=tobedeleted` and `enabledUser=false` deactivate; in a full (bulk) export, as the
  manifest's `file.users` says (bulk when there is no manifest), anyone with a `sourcedId` who is
  missing, or is no longer a teacher or administrator, is deactivated too. A delta export
  deactivates no one it does not name. Nobody is ever deleted.

Reading a zip never writes its members to disk; names that could point outside a folder, too
many members, members that unpack to more than `MAX_MEMBER_BYTES`, and suspicious compression
ratios are refused before anything is read.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import secrets
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from io import BytesIO
from lzma import LZMAError
from pathlib import Path, PurePosixPath

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django_tasks import task

from portal.jobs import enqueue_on_commit
from portal.lib.csvfile import (
    BOM,
    CONTROL_CHARACTER,
    NOT_UTF8,
    CsvError,
    CsvRow,
    RowError,
    decode_upload,
    has_control_character,
    read_rows,
    sniff_delimiter,
)
from portal.lib.names import NamePool
from portal.models import (
    DISTRICT_ROLES,
    PENDING_MAX_AGE,
    PREVIEW_VALID_FOR,
    Locale,
    OneRosterRun,
    OneRosterRunStatus,
    Role,
    RosterImport,
    RosterImportKind,
    School,
    SchoolLevel,
    User,
)
from portal.services import _unique_username, invitations_send
from portal.signals import people_moved

logger = logging.getLogger(__name__)

# -- The files ----------------------------------------------------------------------------

MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
USERS = "users.csv"
ROLES = "roles.csv"
FILES = (MANIFEST, ORGS, USERS, ROLES)

MANIFEST_COLUMNS = ["propertyName", "value"]
ORG_REQUIRED = ["sourcedId", "name", "type"]
ORG_OPTIONAL = ["status", "dateLastModified", "identifier", "parentSourcedId"]
USER_REQUIRED = ["sourcedId", "givenName", "familyName"]
# 1.1's columns, then those 1.2 added; `role` and `orgSourcedIds` are required without roles.csv.
USER_OPTIONAL = [
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
ROLE_REQUIRED = ["userSourcedId", "role", "orgSourcedId"]
ROLE_OPTIONAL = ["sourcedId", "status", "dateLastModified", "roleType", "beginDate", "endDate", "userProfileSourcedId"]
# OneRoster lets a file carry extension columns, named `metadata.` something.
EXTENSION_PREFIX = "metadata."

BULK, DELTA, ABSENT = "bulk", "delta", "absent"
ACTIVE, TO_BE_DELETED = "active", "tobedeleted"
# "inactive" is OneRoster 1.0's word for what 1.1 calls tobedeleted.
STATUSES = {"": ACTIVE, ACTIVE: ACTIVE, TO_BE_DELETED: TO_BE_DELETED, "inactive": TO_BE_DELETED}
ORG_TYPES = {"district", "school", "department", "local", "state", "national"}

# Role values, compared without regard to case, mapped to what the portal makes of them.
TEACHER = "teacher"
SCHOOL_ADMINISTRATORS = {"administrator", "principal", "siteadministrator"}
DISTRICT_ADMINISTRATORS = {"districtadministrator"}
SKIPPED_ROLES = {
    "student",
    "guardian",
    "parent",
    "relative",
    "aide",
    "proctor",
    "counselor",
    "systemadministrator",
}
KNOWN_ROLES = {TEACHER, *SCHOOL_ADMINISTRATORS, *DISTRICT_ADMINISTRATORS, *SKIPPED_ROLES}
# As the specification spells them, for pages and messages.
ROLE_NAMES = {role.lower(): role for role in ["siteAdministrator", "districtAdministrator", "systemAdministrator"]}
# District roles the import may give a new district-office person.
DISTRICT_ROLE_CHOICES = [(Role.DISTRICT_LEADER, "District leader"), (Role.DISTRICT_STAFF, "District staff")]

# OneRoster has none of these; a new school starts with them and is listed "to complete".
NEW_SCHOOL_PROFILE: dict[str, object] = {
    "level": SchoolLevel.OTHER,
    "enrollment": 0,
    "frl_percent": 0,
    "locale": Locale.SUBURB,
}

# -- Limits -------------------------------------------------------------------------------

MAX_ZIP_BYTES = 30 * 1024 * 1024
MAX_MEMBER_BYTES = 150 * 1024 * 1024
MAX_MEMBERS = 500
# CSV text compresses about ten to one; a member packed far tighter than that is a zip bomb.
MAX_RATIO = 200
RATIO_CHECKED_FROM = 1024 * 1024
SOURCED_ID_MAX_LENGTH = User._meta.get_field("sourced_id").max_length or 0
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length or 0
NAME_MAX_LENGTH = User._meta.get_field("first_name").max_length or 0
SCHOOL_NAME_MAX_LENGTH = School._meta.get_field("name").max_length or 0
SLUG_MAX_LENGTH = School._meta.get_field("slug").max_length or 0


# -- Reading an export --------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """The CSV files of one export, as text, by file name; and what it was called."""

    name: str
    sha256: str
    texts: dict[str, str]


def _refuse(name: str, message: str) -> CsvError:
    return CsvError([RowError(name, 0, "", message)])


def _unsafe_member_name(name: str) -> bool:
    """A member name that could point outside the folder it is unpacked in."""
    path = PurePosixPath(name)
    return (
        "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name) is not None
        or ".." in path.parts
    )


def export_from_zip(data: bytes, name: str) -> Export:
    """The CSV files of a zipped export; raises CsvError when the zip is unsafe or unreadable."""
    if len(data) > MAX_ZIP_BYTES:
        raise _refuse(name, f"is larger than {MAX_ZIP_BYTES // (1024 * 1024)} MB")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _refuse(name, "is not a zip file") from None
    except NotImplementedError:  # its directory asks for a newer zip format than Python reads
        raise _refuse(name, "uses a zip format that cannot be unpacked; zip the export again") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise _refuse(name, f"holds more than {MAX_MEMBERS} files; a OneRoster export has at most a few dozen")
        for member in members:
            if _unsafe_member_name(member.filename):
                raise _refuse(name, f"holds a file named {member.filename!r}, which points outside the export")
        names = [member.filename for member in members]
        if len(set(names)) != len(names):
            raise _refuse(name, "holds two files with the same name")
        texts: dict[str, str] = {}
        for member in members:
            # Names are read in any case: a file renamed on Windows may be Users.csv.
            filename = member.filename.lower()
            if filename not in FILES:
                continue  # other OneRoster files (classes, enrollments…) say nothing the portal keeps
            if filename in texts:
                raise _refuse(name, f"holds {filename} twice, in different capitals")
            texts[filename] = _read_member(archive, member, name)
        nested = sorted({PurePosixPath(n).name.lower() for n in names} & {ORGS, USERS} - texts.keys())
        if nested:
            raise _refuse(
                name, f"holds {' and '.join(nested)} in a folder; OneRoster files belong at the top of the zip"
            )
    return Export(name=name, sha256=hashlib.sha256(data).hexdigest(), texts=texts)


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> str:
    where = f"{name}: {member.filename}"
    if member.flag_bits & 0x1:
        raise _refuse(where, "is encrypted; export it without a password")
    if member.file_size > MAX_MEMBER_BYTES:
        raise _refuse(where, f"unpacks to more than {MAX_MEMBER_BYTES // (1024 * 1024)} MB")
    if member.file_size > RATIO_CHECKED_FROM and member.file_size > MAX_RATIO * max(member.compress_size, 1):
        raise _refuse(where, "is packed far tighter than any CSV file; it looks like a zip bomb")
    try:
        # The sizes in the zip's directory may lie: read no more than the limit whatever they say.
        with archive.open(member) as stream:
            raw = stream.read(MAX_MEMBER_BYTES + 1)
    # A damaged member fails in its decompressor: zlib and lzma raise errors of their own.
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
        LZMAError,
    ):
        raise _refuse(where, "cannot be unpacked") from None
    if len(raw) > MAX_MEMBER_BYTES:
        raise _refuse(where, f"unpacks to more than {MAX_MEMBER_BYTES // (1024 * 1024)} MB")
    return _decode(raw, member.filename)


def _decode(raw: bytes, filename: str) -> str:
    try:
        return decode_upload(raw)
    except UnicodeDecodeError:
        raise _refuse(filename, NOT_UTF8) from None


def export_from_path(path: Path) -> Export:
    """The CSV files of an export in a folder or a .zip file; raises CsvError naming what is wrong."""
    if path.is_dir():
        texts: dict[str, str] = {}
        digest = hashlib.sha256()
        in_any_case = {child.name.lower(): child for child in sorted(path.iterdir()) if child.name.lower() in FILES}
        for filename in FILES:
            member = in_any_case.get(filename, path / filename)
            if not member.is_file():
                continue
            if member.stat().st_size > MAX_MEMBER_BYTES:
                raise _refuse(filename, f"is larger than {MAX_MEMBER_BYTES // (1024 * 1024)} MB")
            raw = member.read_bytes()
            digest.update(filename.encode() + b"\0" + raw + b"\0")
            texts[filename] = _decode(raw, filename)
        return Export(name=path.name, sha256=digest.hexdigest(), texts=texts)
    if not path.is_file():
        raise _refuse(str(path), "no such folder or file")
    if path.stat().st_size > MAX_ZIP_BYTES:
        raise _refuse(path.name, f"is larger than {MAX_ZIP_BYTES // (1024 * 1024)} MB")
    return export_from_zip(path.read_bytes(), path.name)


# -- What an import does, shown before and after --------------------------------------------


@dataclass
class PersonLine:
    """A person as the preview names them."""

    name: str
    email: str
    role: str
    school: str
    sourced_id: str
    reason: str = ""


@dataclass
class PersonChange:
    name: str
    email: str
    sourced_id: str
    changes: list[tuple[str, str, str]]  # (what, before, after)


# Schools to complete named in a summary; the preview and the OneRoster page list them all.
SUMMARY_SCHOOLS = 10


@dataclass
class OneRosterResult:
    """What an import does (a dry run: would do). Every list is complete; pages show the first few."""

    file_name: str
    version: str
    users_mode: str
    dry_run: bool
    schools_added: list[str] = field(default_factory=list)
    schools_renamed: list[tuple[str, str]] = field(default_factory=list)
    schools_linked: list[str] = field(default_factory=list)
    schools_to_complete: list[str] = field(default_factory=list)
    people_added: list[PersonLine] = field(default_factory=list)
    people_changed: list[PersonChange] = field(default_factory=list)
    people_linked: list[PersonLine] = field(default_factory=list)
    people_deactivated: list[PersonLine] = field(default_factory=list)
    people_not_added: list[PersonLine] = field(default_factory=list)
    skipped_by_role: Counter[str] = field(default_factory=Counter)
    record: RosterImport | None = None

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by_role.values())

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.schools_added
            or self.schools_renamed
            or self.schools_linked
            or self.people_added
            or self.people_changed
            or self.people_linked
            or self.people_deactivated
        )

    def fingerprint(self) -> str:
        """What the import does, as a digest: a confirmation imports only if it does what its
        preview showed."""
        done = (
            self.users_mode,
            self.schools_added,
            self.schools_renamed,
            self.schools_linked,
            self.people_added,
            self.people_changed,
            self.people_linked,
            self.people_deactivated,
        )
        return hashlib.sha256(repr(done).encode()).hexdigest()

    def skipped_text(self) -> str:
        if not self.skipped_by_role:
            return "none"
        return ", ".join(f"{count:,} {role}" for role, count in sorted(self.skipped_by_role.items()))

    def summary(self) -> str:
        version = f"OneRoster {self.version}" if self.version else "OneRoster"
        lines = [
            f"{version}, {'full export' if self.users_mode == BULK else 'changes only'}.",
            f"Schools: {len(self.schools_added)} added, {len(self.schools_renamed)} renamed, "
            f"{len(self.schools_linked)} matched by name.",
            f"People: {len(self.people_added)} added, {len(self.people_changed)} changed, "
            f"{len(self.people_linked)} matched by e-mail, {len(self.people_deactivated)} deactivated, "
            f"{len(self.people_not_added)} not added.",
            f"Skipped: {self.skipped_text()}.",
        ]
        if self.schools_to_complete:
            names = ", ".join(self.schools_to_complete[:SUMMARY_SCHOOLS])
            more = len(self.schools_to_complete) - SUMMARY_SCHOOLS
            if more > 0:
                names += f" and {more:,} more"
            lines.append(f"Schools to complete (level, enrollment, FRL %, locale): {names}.")
        return "\n".join(lines)


# -- Parsing ------------------------------------------------------------------------------


@dataclass
class _Org:
    sourced_id: str
    name: str
    type: str
    status: str


@dataclass
class _RoleOf:
    """Where a person's role was read, and what it says."""

    role: str  # lower case
    org: str  # sourcedId of the org the role is held at
    file: str
    row: int
    org_column: str


@dataclass
class _UserRow:
    row: int
    sourced_id: str
    status: str
    enabled: bool
    first_name: str
    last_name: str
    email: str
    username: str
    file: str = USERS  # roles.csv for someone only a role row names


def _line(person: _UserRow, reason: str) -> PersonLine:
    return PersonLine(
        f"{person.first_name} {person.last_name}".strip(), person.email, "", "", person.sourced_id, reason
    )


def _leaving_reason(person: _UserRow) -> str:
    return "to be deleted" if person.status == TO_BE_DELETED else "disabled (enabledUser=false)"


def _columns(text: str, optional: list[str]) -> list[str]:
    """The optional columns, with the file's own extension columns (`metadata.…`) added."""
    first_line = text.removeprefix(BOM).split("\n", 1)[0]
    try:
        header = next(csv.reader([first_line], delimiter=sniff_delimiter(text)), [])
    except csv.Error:  # a header cell too long to read: reading the file names the problem
        return optional
    extensions = [name.strip() for name in header if name.strip().startswith(EXTENSION_PREFIX)]
    return [*optional, *extensions]


def _read(
    texts: dict[str, str], filename: str, required: list[str], optional: list[str], errors: list[RowError]
) -> list[CsvRow]:
    text = texts[filename]
    return read_rows(text, filename, required=required, optional=_columns(text, optional), errors=errors)


def _modes(texts: dict[str, str], errors: list[RowError]) -> tuple[str, dict[str, str]]:
    """The OneRoster version and each file's mode (bulk, delta, absent): from the manifest, or
    bulk for every file there is when the export has none."""
    present = {filename: (BULK if filename in texts else ABSENT) for filename in (ORGS, USERS, ROLES)}
    if MANIFEST not in texts:
        return "", present
    rows = read_rows(texts[MANIFEST], MANIFEST, required=MANIFEST_COLUMNS, errors=errors)
    version = ""
    modes = dict.fromkeys(present, ABSENT)
    for number, values in rows:
        prop, value = values.get("propertyName", ""), values.get("value", "")
        if prop == "oneroster.version":
            version = value[:10]
            continue
        filename = prop.removeprefix("file.") + ".csv"
        if not prop.startswith("file.") or filename not in modes:
            continue
        mode = value.lower()
        if mode not in (BULK, DELTA, ABSENT):
            errors.append(RowError(MANIFEST, number, "value", f"{value!r} is not one of bulk, delta, absent"))
        elif mode == ABSENT and filename in texts:
            errors.append(RowError(MANIFEST, number, "value", f"says {filename} is absent, but the export holds it"))
        elif mode != ABSENT and filename not in texts:
            errors.append(RowError(MANIFEST, number, "value", f"says {filename} is {mode}, but the export has none"))
        modes[filename] = mode
    for filename in (ORGS, USERS, ROLES):
        if modes[filename] == ABSENT and filename in texts:
            modes[filename] = BULK  # a file the manifest does not list is read as it stands
    return version, modes


def _status(value: str, filename: str, number: int, errors: list[RowError]) -> str:
    status = STATUSES.get(value.lower())
    if status is None:
        errors.append(RowError(filename, number, "status", f"{value!r} is not one of active, tobedeleted"))
        return ACTIVE
    return status


def _parse_orgs(rows: list[CsvRow], errors: list[RowError]) -> dict[str, _Org]:
    orgs: dict[str, _Org] = {}
    for number, values in rows:
        sourced_id = values.get("sourcedId", "")
        if not sourced_id:
            errors.append(RowError(ORGS, number, "sourcedId", "is required"))
        elif len(sourced_id) > SOURCED_ID_MAX_LENGTH:
            errors.append(RowError(ORGS, number, "sourcedId", f"is longer than {SOURCED_ID_MAX_LENGTH} characters"))
        elif sourced_id in orgs:
            errors.append(RowError(ORGS, number, "sourcedId", f"{sourced_id!r} appears twice in this file"))
        org_type = values.get("type", "")
        if org_type.lower() not in ORG_TYPES and not org_type.startswith("ext:"):
            errors.append(RowError(ORGS, number, "type", f"{org_type!r} is not one of {', '.join(sorted(ORG_TYPES))}"))
        name = values.get("name", "")
        status = _status(values.get("status", ""), ORGS, number, errors)
        if org_type.lower() == "school" and status == ACTIVE:
            if not name:
                errors.append(RowError(ORGS, number, "name", "is required"))
            elif has_control_character(name):
                errors.append(RowError(ORGS, number, "name", CONTROL_CHARACTER))
            elif len(name) > SCHOOL_NAME_MAX_LENGTH:
                errors.append(RowError(ORGS, number, "name", f"is longer than {SCHOOL_NAME_MAX_LENGTH} characters"))
        orgs.setdefault(sourced_id, _Org(sourced_id, name, org_type.lower(), status))
    return orgs


def _role_value(value: str, filename: str, number: int, column: str, errors: list[RowError]) -> str:
    role = value.lower()
    if role not in KNOWN_ROLES and not role.startswith("ext:"):
        errors.append(RowError(filename, number, column, f"{value!r} is not a OneRoster role"))
    return role


def _roles_from_users(rows: list[CsvRow], errors: list[RowError]) -> dict[str, _RoleOf]:
    """OneRoster 1.1: each person's role, and their first org, from users.csv."""
    roles: dict[str, _RoleOf] = {}
    for number, values in rows:
        if STATUSES.get(values.get("status", "").lower()) == TO_BE_DELETED:
            # A row that only says "delete" may leave the rest blank; its role, if any, is counted.
            role = values.get("role", "").lower()
            if role in KNOWN_ROLES:
                roles[values.get("sourcedId", "")] = _RoleOf(role, "", USERS, number, "orgSourcedIds")
            continue
        orgs = [org.strip() for org in values.get("orgSourcedIds", "").split(",") if org.strip()]
        role = _role_value(values.get("role", ""), USERS, number, "role", errors)
        roles[values.get("sourcedId", "")] = _RoleOf(role, orgs[0] if orgs else "", USERS, number, "orgSourcedIds")
    return roles


def _roles_from_roles_file(rows: list[CsvRow], errors: list[RowError]) -> dict[str, _RoleOf]:
    """OneRoster 1.2: each person's primary role (or their first, when none is primary) from roles.csv."""
    roles: dict[str, _RoleOf] = {}
    primary: set[str] = set()
    for number, values in rows:
        if _status(values.get("status", ""), ROLES, number, errors) == TO_BE_DELETED:
            continue
        user = values.get("userSourcedId", "")
        if not user:
            errors.append(RowError(ROLES, number, "userSourcedId", "is required"))
            continue
        role = _role_value(values.get("role", ""), ROLES, number, "role", errors)
        role_type = values.get("roleType", "").lower()
        if role_type not in ("", "primary", "secondary"):
            errors.append(
                RowError(ROLES, number, "roleType", f"{values.get('roleType')!r} is not primary or secondary")
            )
        org = values.get("orgSourcedId", "")
        if not org:
            errors.append(RowError(ROLES, number, "orgSourcedId", "is required"))
        if user in primary or (user in roles and role_type != "primary"):
            continue
        roles[user] = _RoleOf(role, org, ROLES, number, "orgSourcedId")
        if role_type == "primary":
            primary.add(user)
    return roles


def _parse_users(rows: list[CsvRow], errors: list[RowError]) -> dict[str, _UserRow]:
    users: dict[str, _UserRow] = {}
    for number, values in rows:
        sourced_id = values.get("sourcedId", "")
        if not sourced_id:
            errors.append(RowError(USERS, number, "sourcedId", "is required"))
            continue
        if len(sourced_id) > SOURCED_ID_MAX_LENGTH:
            errors.append(RowError(USERS, number, "sourcedId", f"is longer than {SOURCED_ID_MAX_LENGTH} characters"))
            continue
        if sourced_id in users:
            errors.append(RowError(USERS, number, "sourcedId", f"{sourced_id!r} appears twice in this file"))
            continue
        enabled = values.get("enabledUser", "").lower()
        if enabled not in ("", "true", "false"):
            errors.append(RowError(USERS, number, "enabledUser", f"{values.get('enabledUser')!r} is not true or false"))
        users[sourced_id] = _UserRow(
            row=number,
            sourced_id=sourced_id,
            status=_status(values.get("status", ""), USERS, number, errors),
            enabled=enabled != "false",
            first_name=values.get("givenName", ""),
            last_name=values.get("familyName", ""),
            email=values.get("email", "").lower(),
            username=values.get("username", ""),
        )
    return users


def _check_person(person: _UserRow, errors: list[RowError]) -> None:
    """What the portal needs of someone it will hold: a name and a work e-mail address."""
    for column, value in (("givenName", person.first_name), ("familyName", person.last_name)):
        if not value:
            errors.append(RowError(USERS, person.row, column, "is required"))
        elif has_control_character(value):
            errors.append(RowError(USERS, person.row, column, CONTROL_CHARACTER))
        elif len(value) > NAME_MAX_LENGTH:
            errors.append(RowError(USERS, person.row, column, f"is longer than {NAME_MAX_LENGTH} characters"))
    if not person.email:
        errors.append(RowError(USERS, person.row, "email", "is required for a teacher or an administrator"))
        return
    try:
        validate_email(person.email)
    except ValidationError:
        errors.append(RowError(USERS, person.row, "email", f"{person.email!r} is not a valid e-mail address"))
    if len(person.email) > EMAIL_MAX_LENGTH:
        errors.append(RowError(USERS, person.row, "email", f"is longer than {EMAIL_MAX_LENGTH} characters"))


# -- The import ---------------------------------------------------------------------------


@dataclass
class _Target:
    """Where the portal places one person of the export."""

    role: str  # a Role, or DISTRICT for the district office
    school: str  # the school's sourcedId; empty for the district office


DISTRICT = "district"


@dataclass(frozen=True)
class _Skip:
    """Why someone of the export has no place in the portal."""

    reason: str
    counted: bool  # a role the portal does not hold, counted by role; else someone it cannot place, listed

    def __str__(self) -> str:
        return self.reason


def _is_skipped_role(role: str) -> bool:
    return role in SKIPPED_ROLES or role.startswith("ext:")


# What of an account the preview shows, and what the import writes.
_SHOWN = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "E-mail"),
    ("role", "Role"),
    ("school", "School"),
    ("is_active", "Active"),
]
_LOADED = [
    "pk",
    "username",
    "email",
    "first_name",
    "last_name",
    "role",
    "school_id",
    "is_active",
    "is_staff",
    "is_superuser",
    "sourced_id",
]
_WRITTEN = ["first_name", "last_name", "email", "role", "school", "is_active", "is_staff", "sourced_id"]


def oneroster_import(
    *,
    export: Export,
    by: User | None = None,
    district_role: str = Role.DISTRICT_LEADER,
    dry_run: bool = False,
    expected: str | None = None,
) -> OneRosterResult:
    """Check every row of the export, then apply all of them, or none (a dry run: none, ever).

    `expected` is the fingerprint of the preview being confirmed (`OneRosterResult.fingerprint`):
    when the import would now do anything else, it raises PreviewOutdated and writes nothing.

    `by` is the person importing (None: an operator on the command line). Like the roster
    import, they may change only accounts they may manage (`User.can_manage`) and give only
    roles they may give; a row that would do otherwise is an error, and so is a full export
    that would deactivate such an account. Returns what was (or would be) done; a real import
    is recorded as a `RosterImport`, in the same transaction.
    """
    if district_role not in DISTRICT_ROLES:
        raise ValueError(f"district_role must be one of {DISTRICT_ROLES}")
    if by is not None and not by.can_give_role(district_role):
        raise PermissionDenied("Only a superuser can make people district staff.")

    errors: list[RowError] = []
    texts = export.texts
    version, modes = _modes(texts, errors)
    if USERS not in texts:
        errors.append(RowError(USERS, 0, "", "the export has no users.csv"))
    if ORGS not in texts and MANIFEST not in texts:
        errors.append(RowError(ORGS, 0, "", "the export has no orgs.csv"))
    if errors:
        raise CsvError(errors)

    with_roles_file = ROLES in texts
    org_rows = _read(texts, ORGS, ORG_REQUIRED, ORG_OPTIONAL, errors) if ORGS in texts else []
    user_required = USER_REQUIRED if with_roles_file else [*USER_REQUIRED, "role", "orgSourcedIds"]
    user_optional = [name for name in USER_OPTIONAL if name not in user_required]
    user_rows = _read(texts, USERS, user_required, user_optional, errors)
    role_rows = _read(texts, ROLES, ROLE_REQUIRED, ROLE_OPTIONAL, errors) if with_roles_file else []
    if errors:
        raise CsvError(errors)

    orgs = _parse_orgs(org_rows, errors)
    people = _parse_users(user_rows, errors)
    role_of = _roles_from_roles_file(role_rows, errors) if with_roles_file else _roles_from_users(user_rows, errors)

    result = OneRosterResult(file_name=export.name, version=version, users_mode=modes[USERS] or BULK, dry_run=dry_run)

    def planned() -> _Plan:
        plan = _Plan(result=result, orgs=orgs, by=by, district_role=district_role, errors=errors)
        plan.plan_schools()
        plan.plan_people(people, role_of, full_export=modes[USERS] == BULK)
        if errors:
            raise CsvError(sorted(errors, key=lambda error: (error.file, error.row, error.column)))
        return plan

    if dry_run:
        planned()
        return result
    try:
        with transaction.atomic():
            # Worked out and written while no other import runs, so that each sees what the one
            # before it wrote, and a confirmation does what its preview showed or nothing.
            _hold_import_lock()
            plan = planned()
            if expected is not None and result.fingerprint() != expected:
                raise PreviewOutdated(result)
            plan.write(export)
    except IntegrityError:
        # Checked above against what the portal held: someone changed it meanwhile.
        raise _refuse(
            export.name, "the roster changed while this import ran (another import?); nothing was imported: try again"
        ) from None
    return result


class PreviewOutdated(Exception):
    """The roster changed since the preview being confirmed: `result` is what the import does now."""

    def __init__(self, result: OneRosterResult) -> None:
        super().__init__("the roster changed since the preview")
        self.result = result


# Any number, the same for every import: the PostgreSQL advisory lock imports take turns by.
_IMPORT_LOCK = 0x0E_2057E2


def _hold_import_lock() -> None:
    """Until the transaction ends, make any other import wait."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK])
    # SQLite: transactions begin IMMEDIATE (settings), so they take turns already.


class _Plan:
    """The import worked out against what the portal holds, in a constant number of queries
    whatever the export's size, then written in bulk."""

    def __init__(
        self,
        *,
        result: OneRosterResult,
        orgs: dict[str, _Org],
        by: User | None,
        district_role: str,
        errors: list[RowError],
    ) -> None:
        self.result = result
        self.orgs = orgs
        self.by = by
        self.district_role = district_role
        self.errors = errors
        self.schools = list(School.objects.all())
        self.school_by_sourced_id = {school.sourced_id: school for school in self.schools if school.sourced_id}
        self.school_by_pk = {school.pk: school for school in self.schools}
        self.new_schools: list[School] = []
        self.changed_schools: list[School] = []
        self.new_people: list[User] = []
        self.changed_people: list[User] = []
        # People of the portal this import moves to another school (their pks).
        self.moved_people: list[int] = []
        self.by_email: dict[str, User] = {}
        self.linked: set[int] = set()
        # People who take a new sourcedId: their old one, by account.
        self.old_keys: dict[int, str] = {}
        # Keyed by id() of the account: the row that adds or changes it, for error messages.
        self.row_of: dict[int, _UserRow] = {}
        self.renamed_emails: set[int] = set()

    # -- Schools

    def plan_schools(self) -> None:
        by_name: dict[str, list[School]] = {}
        for unlinked in self.schools:
            if not unlinked.sourced_id:
                by_name.setdefault(unlinked.name.lower(), []).append(unlinked)
        slugs = NamePool((known.slug for known in self.schools), separator="-")
        for org in self.orgs.values():
            if org.type != "school" or org.status != ACTIVE:
                continue  # the portal never deletes a school: one to be deleted is left as it is
            school: School | None = self.school_by_sourced_id.get(org.sourced_id)
            if school is None and len(by_name.get(org.name.lower(), [])) == 1:
                school = by_name.pop(org.name.lower())[0]
                school.sourced_id = org.sourced_id
                self.school_by_sourced_id[org.sourced_id] = school
                self.result.schools_linked.append(school.name)
                self.changed_schools.append(school)
            if school is None:
                school = School(name=org.name, slug=_unique_slug(org.name, slugs), sourced_id=org.sourced_id)
                for name, value in NEW_SCHOOL_PROFILE.items():
                    setattr(school, name, value)
                self.school_by_sourced_id[org.sourced_id] = school
                self.new_schools.append(school)
                self.result.schools_added.append(school.name)
            elif school.name != org.name:
                self.result.schools_renamed.append((school.name, org.name))
                school.name = org.name
                if school not in self.changed_schools:
                    self.changed_schools.append(school)
        self.result.schools_to_complete = sorted(
            school.name for school in self.school_by_sourced_id.values() if _is_incomplete(school)
        )

    def _org_kind(self, sourced_id: str) -> str:
        """ "school", "district", another org type, or "" when neither the export nor the portal knows it."""
        org = self.orgs.get(sourced_id)
        if org is not None:
            if org.type == "school" and sourced_id not in self.school_by_sourced_id:
                return "removed school"  # to be deleted, and not in the portal
            return org.type
        return "school" if sourced_id in self.school_by_sourced_id else ""

    def _target(self, found: _RoleOf) -> _Target | _Skip:
        """Where a role places someone, or why it does not."""
        role = found.role
        if _is_skipped_role(role):
            return _Skip(ROLE_NAMES.get(role, role), counted=True)
        if role not in KNOWN_ROLES:
            return _Skip(role, counted=False)  # named as an error when it was read
        kind = self._org_kind(found.org)
        if not kind:
            message = f"no org {found.org!r} in orgs.csv or the portal" if found.org else "is required"
            self.errors.append(RowError(found.file, found.row, found.org_column, message))
            return _Skip("an org nobody knows", counted=False)
        if role in DISTRICT_ADMINISTRATORS or (role in SCHOOL_ADMINISTRATORS and kind == "district"):
            return _Target(DISTRICT, "")
        if kind == "removed school":
            return _Skip("their school is to be deleted", counted=False)
        if kind != "school":
            who = "a teacher" if role == TEACHER else "an administrator"
            return _Skip(f"{who} at a {kind} org, which is not a school", counted=False)
        return _Target(Role.TEACHER if role == TEACHER else Role.PRINCIPAL, found.org)

    # -- People

    def plan_people(self, people: dict[str, _UserRow], role_of: dict[str, _RoleOf], *, full_export: bool) -> None:
        accounts = list(User.objects.only(*_LOADED))
        by_sourced_id = {user.sourced_id: user for user in accounts if user.sourced_id}
        self.by_email = {user.email.lower(): user for user in accounts}
        taken_usernames = NamePool(user.username for user in accounts)
        # A role row for someone in the portal whom users.csv does not name: a delta's role change.
        rows = dict(people)
        for sourced_id in role_of.keys() - people.keys():
            if sourced_id in by_sourced_id:
                role_row = role_of[sourced_id]
                rows[sourced_id] = _UserRow(role_row.row, sourced_id, ACTIVE, True, "", "", "", "", file=role_row.file)
        emails_in_file: dict[str, int] = {}
        for sourced_id, person in rows.items():
            user = by_sourced_id.get(sourced_id)
            linking = False
            if user is None and person.email:
                match = self.by_email.get(person.email)
                # Someone without a key yet; or, in a full export, someone whose old key is gone
                # (the district changed information systems): the address says who they are.
                rekeyed = bool(match and match.sourced_id and full_export and match.sourced_id not in rows)
                if match is not None and (not match.sourced_id or rekeyed) and match.pk not in self.linked:
                    user, linking = match, True
                    self.linked.add(match.pk)
                    if rekeyed and match.sourced_id:
                        self.old_keys[match.pk] = match.sourced_id
            found = role_of.get(sourced_id)
            leaving = person.status == TO_BE_DELETED or not person.enabled
            target = None if leaving or found is None else self._target(found)
            if (isinstance(target, _Skip) and target.counted) or (leaving and found and _is_skipped_role(found.role)):
                role = found.role if found else ""
                self.result.skipped_by_role[ROLE_NAMES.get(role, role)] += 1
            if leaving or isinstance(target, _Skip):
                if user is not None:
                    reason = _leaving_reason(person) if leaving else f"their role is now {target}"
                    self._deactivate(user, reason, person, linking=linking)
                elif isinstance(target, _Skip) and not target.counted:
                    self.result.people_not_added.append(_line(person, str(target)))
                continue
            if person.file == USERS:
                _check_person(person, self.errors)
                if person.email and person.email in emails_in_file:
                    self.errors.append(
                        RowError(
                            USERS, person.row, "email", f"is also on row {emails_in_file[person.email]} of this file"
                        )
                    )
                emails_in_file.setdefault(person.email, person.row)
            if user is not None:
                if linking:
                    user.sourced_id = sourced_id
                self._change(user, person, target, linking=linking)
            elif target is not None:
                self._add(person, target, taken_usernames)
            else:
                self.result.people_not_added.append(_line(person, "no role in this export"))
        self._check_emails()
        if full_export:
            for user in accounts:
                if user.sourced_id and user.sourced_id not in rows:
                    self._deactivate(user, "not in this full export", None, linking=False)

    def _deactivate(self, user: User, reason: str, person: _UserRow | None, *, linking: bool) -> None:
        if not user.is_active:
            return  # nothing to do, and an account no longer used is left unlinked
        if self.by is not None and not self.by.can_manage(user):
            self._refuse_change(user, person, f"would be deactivated ({reason})")
        if linking and person is not None:
            user.sourced_id = person.sourced_id
        user.is_active = False
        self._written(user, person)
        self.result.people_deactivated.append(
            PersonLine(
                str(user), user.email, user.get_role_display(), self._school_name(user), user.sourced_id or "", reason
            )
        )

    def _written(self, user: User, person: _UserRow | None) -> None:
        self.changed_people.append(user)
        if person is not None:
            self.row_of[id(user)] = person

    def _refuse_change(self, user: User, person: _UserRow | None, what: str) -> None:
        message = f"{user.username!r} runs the admin and {what}: only a superuser can change this account"
        if person is None:
            self.errors.append(RowError(USERS, 0, "", message))
        else:
            self.errors.append(
                RowError(person.file, person.row, "sourcedId" if person.file == USERS else "userSourcedId", message)
            )

    def _add(self, person: _UserRow, target: _Target, taken_usernames: NamePool) -> None:
        role = self.district_role if target.role == DISTRICT else target.role
        school = self.school_by_sourced_id.get(target.school) if target.school else None
        user = User(
            username=_unique_username((person.username or person.email).split("@")[0], taken_usernames),
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            role=role,
            school=school,
            sourced_id=person.sourced_id,
        )
        # What set_unusable_password() stores, from one call to the system's randomness instead of
        # forty: for tens of thousands of new people it was most of the import's time.
        user.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
        _as_saved(user)
        self.new_people.append(user)
        self.row_of[id(user)] = person
        self.result.people_added.append(
            PersonLine(str(user), user.email, Role(role).label, school.name if school else "", person.sourced_id)
        )

    def _change(self, user: User, person: _UserRow, target: _Target | None, *, linking: bool) -> None:
        # Asked of the account as it is: a new role may be one that does not run the admin.
        may_change = self.by is None or self.by.can_manage(user)
        before = self._shown(user)
        school_before = user.school_id
        if person.file == USERS:  # a role row alone leaves the name and e-mail as they are
            user.first_name, user.last_name, user.email = person.first_name, person.last_name, person.email
        if target is not None and target.role == DISTRICT:
            # OneRoster cannot tell a district leader from district staff: someone in the district
            # office keeps their role.
            user.role = user.role if user.role in DISTRICT_ROLES else self.district_role
            user.school = None
        elif target is not None:
            user.role = target.role
            user.school = self.school_by_sourced_id[target.school]
        user.is_active = True
        _as_saved(user)
        after = self._shown(user)
        changes = [(label, before[name], after[name]) for name, label in _SHOWN if before[name] != after[name]]
        if user.pk in self.old_keys:
            changes.insert(0, ("sourcedId", self.old_keys[user.pk], person.sourced_id))
        if not changes and not linking:
            return
        if not may_change:
            self._refuse_change(user, person, "this row would change it")
        self._written(user, person)
        now_at = user.school
        if (now_at.pk if now_at is not None else None) != school_before or (now_at is not None and now_at.pk is None):
            self.moved_people.append(user.pk)  # to another school, or to one this import adds
        if changes:
            self.result.people_changed.append(PersonChange(str(user), user.email, person.sourced_id, changes))
        else:
            self.result.people_linked.append(
                PersonLine(str(user), user.email, user.get_role_display(), self._school_name(user), person.sourced_id)
            )

    def _school_name(self, user: User) -> str:
        # A school added by this import is not saved yet: its account holds it, with no id.
        school = self.school_by_pk.get(user.school_id) if user.school_id is not None else user.school
        return school.name if school is not None else ""

    def _shown(self, user: User) -> dict[str, str]:
        return {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.get_role_display(),
            "school": self._school_name(user),
            "is_active": "yes" if user.is_active else "no",
        }

    def _check_emails(self) -> None:
        """Each e-mail address stays with one person: an address someone else holds is free only
        when this import gives that person another one."""
        final_email = {user.pk: user.email for user in self.changed_people}
        for user in [*self.new_people, *self.changed_people]:
            holder = self.by_email.get(user.email)
            if holder is None or holder.pk == user.pk:
                continue
            if holder.pk in final_email and final_email[holder.pk] != user.email:
                self.renamed_emails.add(holder.pk)
                continue
            person = self.row_of.get(id(user))
            self.errors.append(
                RowError(
                    USERS,
                    person.row if person is not None else 0,
                    "email",
                    f"{user.email!r} belongs to {holder.username!r}, whom this export names by another sourcedId "
                    "or not at all",
                )
            )

    # -- Writing

    def write(self, export: Export) -> None:
        result = self.result
        School.objects.bulk_create(self.new_schools)
        School.objects.bulk_update(self.changed_schools, ["name", "sourced_id"])
        if self.renamed_emails:
            # Two people trade addresses (or pass one along): free them first, as the unique
            # index on e-mail is checked row by row.
            moving = [user for user in self.changed_people if user.pk in self.renamed_emails]
            placeholders = [User(pk=user.pk, email=f"{user.pk}@renaming.invalid") for user in moving]
            User.objects.bulk_update(placeholders, ["email"])
        User.objects.bulk_update(self.changed_people, _WRITTEN)
        User.objects.bulk_create(self.new_people)
        if self.moved_people:
            # bulk_update sends no post_save: figures kept per school hear of the moves here.
            people_moved.send(sender=User, people=sorted(self.moved_people))
        result.record = RosterImport.objects.create(
            by=self.by,
            kind=RosterImportKind.ONEROSTER_BULK if result.users_mode == BULK else RosterImportKind.ONEROSTER_DELTA,
            file_name=export.name[:255],
            file_sha256=export.sha256,
            schools_added=len(result.schools_added),
            schools_updated=len(self.changed_schools),
            people_added=len(result.people_added),
            people_updated=len(result.people_changed) + len(result.people_linked),
            people_deactivated=len(result.people_deactivated),
            people_skipped=result.skipped,
            summary=result.summary(),
        )
        # Last, in this transaction, as the roster import does: the invitations go with the import or not at all.
        invitations_send(users=self.new_people)


def _as_saved(user: User) -> None:
    """What `User.save` does to an account, for accounts written in bulk (which skips it)."""
    user.email = user.email.strip().lower()
    if user.role == Role.DISTRICT_STAFF:
        user.is_staff = True
    elif not user.is_superuser:
        user.is_staff = False


def _unique_slug(name: str, taken: NamePool) -> str:
    return taken.claim(slugify(name)[: SLUG_MAX_LENGTH - 7].strip("-") or "school")


def _is_incomplete(school: School) -> bool:
    return all(getattr(school, name) == value for name, value in NEW_SCHOOL_PROFILE.items())


def schools_to_complete() -> Iterable[School]:
    """Schools an import added whose profile nobody has filled in yet."""
    return School.objects.filter(sourced_id__isnull=False, **NEW_SCHOOL_PROFILE).order_by("name")


# -- An upload checked and imported by jobs ---------------------------------------------------
#
# A district of 75,000 staff takes longer to check and to import than a request may last. The
# browser's upload is kept in the uploads storage (shared by every app server and worker) under
# a random name, and a run (`OneRosterRun`) follows it: a job checks every row and keeps what
# importing would do; the person who uploaded it confirms that preview; a second job imports it.
# The run's page shows each step. Nothing in a request names a file.

PENDING_FOLDER = "oneroster-pending"
_PENDING_NAME = re.compile(rf"^{PENDING_FOLDER}/(\d+)-[0-9a-f]{{32}}\.zip$")
# People of each list a preview keeps, and its page shows; its counts cover them all.
PREVIEW_LINES = 100


def oneroster_run_start(*, by: User, data: bytes, file_name: str, district_role: str) -> OneRosterRun:
    """Keep an upload and have a job check it: the run says how the check goes, then what importing would do."""
    _pending_sweep()
    name = f"{PENDING_FOLDER}/{int(time.time())}-{secrets.token_hex(16)}.zip"
    stored = default_storage.save(name, ContentFile(data))
    with transaction.atomic():
        run = OneRosterRun.objects.create(by=by, file_name=file_name[:255], district_role=district_role, stored=stored)
        enqueue_on_commit(oneroster_run_check, run.pk)
    return run


def oneroster_run_confirm(*, run: OneRosterRun, by: User, fingerprint: str) -> bool:
    """Have a job import the run's upload as the preview confirmed (`fingerprint`) showed; once.

    Only whoever uploaded it confirms it, only the preview shown last, only within
    PENDING_MAX_AGE of its being shown, and only once: a second confirmation (a double click)
    finds the run importing already. Returns whether this one confirmed it; `run` is read again.
    """
    now = timezone.now()
    with transaction.atomic():
        confirmed = OneRosterRun.objects.filter(
            pk=run.pk,
            by=by,
            status=OneRosterRunStatus.PREVIEWED,
            fingerprint=fingerprint,
            status_at__gte=now - PREVIEW_VALID_FOR,
        ).update(status=OneRosterRunStatus.IMPORTING, status_at=now, started_at=None, outdated=False)
        if confirmed:
            enqueue_on_commit(oneroster_run_import, run.pk)
    run.refresh_from_db()
    if run.preview_expired:
        pending_export_forget(run.stored)  # nobody may confirm it any more
    return bool(confirmed)


@task()
def oneroster_run_check(run_pk: int) -> str:
    """Check every row of a run's upload, and keep what importing it would do or why it cannot.

    Run twice, it keeps one outcome: only a run still being checked is checked, and an outcome is
    kept only while it is. An unexpected error marks the run failed instead of leaving it
    checking forever.
    """
    run = _run_begun(run_pk, OneRosterRunStatus.CHECKING)
    if run is None:
        return "done already"
    try:
        result = oneroster_import(export=_kept_export(run), by=run.by, district_role=run.district_role, dry_run=True)
    except CsvError as failure:
        return _run_stopped(run, OneRosterRunStatus.REFUSED, _problems(failure))
    except Exception:
        logger.exception("Checking the OneRoster upload of run %s failed", run.pk)
        return _run_stopped(run, OneRosterRunStatus.FAILED, _failure("The check stopped on an unexpected error."))
    if _run_moved(run, OneRosterRunStatus.CHECKING, **_previewed(result)):
        _forget_when_expired(run.pk)
    return "previewed"


@task()
def oneroster_run_import(run_pk: int) -> str:
    """Import a run's upload as its confirmed preview showed: all of it or nothing, and once.

    The run is marked imported in the import's own transaction, and only a run still importing
    is imported (its row locked meanwhile), so a job run twice, or by two workers, imports once.
    When the roster changed since the preview, nothing is written and the run shows the new
    preview, to be confirmed again. An unexpected error rolls the import back and marks the
    run failed.
    """
    run = _run_begun(run_pk, OneRosterRunStatus.IMPORTING)
    if run is None:
        return "done already"
    try:
        with transaction.atomic():
            # Held until the import commits: another job for this run waits, then finds it imported.
            still_importing = OneRosterRun.objects.select_for_update().filter(
                pk=run.pk, status=OneRosterRunStatus.IMPORTING
            )
            if still_importing.first() is None:
                return "done already"
            try:
                result = oneroster_import(
                    export=_kept_export(run), by=run.by, district_role=run.district_role, expected=run.fingerprint
                )
            except PreviewOutdated as outdated:
                if _run_moved(run, OneRosterRunStatus.IMPORTING, outdated=True, **_previewed(outdated.result)):
                    _forget_when_expired(run.pk)
                return "outdated"
            _run_moved(run, OneRosterRunStatus.IMPORTING, status=OneRosterRunStatus.IMPORTED, record=result.record)
    except CsvError as failure:  # the portal changed since the preview in a way this export cannot follow
        return _run_stopped(run, OneRosterRunStatus.REFUSED, _problems(failure))
    except Exception:
        logger.exception("Importing the OneRoster upload of run %s failed", run.pk)
        return _run_stopped(run, OneRosterRunStatus.FAILED, _failure("The import stopped on an unexpected error."))
    pending_export_forget(run.stored)
    return "imported"


@task()
def oneroster_run_forget(run_pk: int) -> str:
    """Delete a run's kept upload once no job or confirmation may read it (its preview expired
    unconfirmed): it holds the district's people, and nobody may come back for it."""
    run = OneRosterRun.objects.filter(pk=run_pk).first()
    if run is None:
        return "gone"
    if OneRosterRun.objects.needing_upload().filter(pk=run_pk).exists():
        return "still needed"
    pending_export_forget(run.stored)
    return "forgotten"


def _forget_when_expired(run_pk: int) -> None:
    """Have the run's upload deleted just after its preview expires, with a queue that runs jobs
    later (the database's); elsewhere the next upload deletes it (`_pending_sweep`)."""
    if oneroster_run_forget.get_backend().supports_defer:
        # A minute past the end, so that a confirmation taken at the last second has moved it on.
        later = timezone.now() + PREVIEW_VALID_FOR + timedelta(minutes=1)
        oneroster_run_forget.using(run_after=later).enqueue(run_pk)


def run_preview(result: OneRosterResult) -> dict[str, object]:
    """What the preview page shows of an import, as a run keeps it (JSON): every count, the
    schools by name, and the first PREVIEW_LINES people of each list."""

    def part(items: list[PersonLine] | list[PersonChange]) -> dict[str, object]:
        shown = [asdict(item) for item in items[:PREVIEW_LINES]]
        return {"count": len(items), "shown": shown, "more": max(0, len(items) - PREVIEW_LINES)}

    return {
        "file_name": result.file_name,
        "version": result.version,
        "full_export": result.users_mode == BULK,
        "changes_anything": result.changes_anything,
        "schools_added": result.schools_added,
        "schools_renamed": [list(names) for names in result.schools_renamed],
        "schools_linked": result.schools_linked,
        "schools_to_complete": result.schools_to_complete,
        "skipped": result.skipped,
        "skipped_by_role": sorted(result.skipped_by_role.items()),
        "added": part(result.people_added),
        "changed": part(result.people_changed),
        "linked": part(result.people_linked),
        "deactivated": part(result.people_deactivated),
        "not_added": part(result.people_not_added),
    }


def _previewed(result: OneRosterResult) -> dict[str, object]:
    return {"status": OneRosterRunStatus.PREVIEWED, "preview": run_preview(result), "fingerprint": result.fingerprint()}


def _problems(failure: CsvError) -> dict[str, object]:
    """Why nothing was imported, as the page lists it: the first problems, and how many more."""
    return {"summary": failure.summary, "shown": [str(error) for error in failure.shown], "more": failure.more}


def _failure(what: str) -> dict[str, object]:
    return {"summary": f"{what} Nothing was imported.", "shown": [], "more": 0}


def _run_begun(run_pk: int, status: str) -> OneRosterRun | None:
    """The run, marked begun, when it still waits for the step `status` names; None when it does not."""
    if not OneRosterRun.objects.filter(pk=run_pk, status=status).update(started_at=timezone.now()):
        return None
    return OneRosterRun.objects.select_related("by").get(pk=run_pk)


def _run_moved(run: OneRosterRun, current: str, /, **fields: object) -> bool:
    """Set `fields` on the run if its status is still `current`: a step done twice leaves one outcome."""
    return bool(OneRosterRun.objects.filter(pk=run.pk, status=current).update(status_at=timezone.now(), **fields))


def _run_stopped(run: OneRosterRun, status: str, problems: dict[str, object]) -> str:
    """End a run that imported nothing, saying why; its upload is no longer needed."""
    _run_moved(run, run.status, status=status, problems=problems)
    pending_export_forget(run.stored)
    return str(status)


def _kept_export(run: OneRosterRun) -> Export:
    try:
        with default_storage.open(run.stored, "rb") as kept:
            data = kept.read()
    except OSError:  # swept: the run stopped, or its preview expired long ago
        raise _refuse(run.file_name, "is no longer kept; upload it again") from None
    return export_from_zip(data, run.file_name)


def pending_export_forget(stored: str) -> None:
    if _PENDING_NAME.match(stored):
        default_storage.delete(stored)


def _pending_sweep() -> None:
    """Delete kept uploads no run needs any more: a preview not confirmed in time, a run that
    stopped without forgetting its upload (a worker killed), an upload whose run was never saved."""
    try:
        _folders, names = default_storage.listdir(PENDING_FOLDER)
    except OSError:
        return
    oldest = time.time() - PENDING_MAX_AGE - 60
    needed = set(OneRosterRun.objects.needing_upload().values_list("stored", flat=True))
    for name in names:
        stored = f"{PENDING_FOLDER}/{name}"
        found = _PENDING_NAME.match(stored)
        if found and int(found.group(1)) < oldest and stored not in needed:
            default_storage.delete(stored)
