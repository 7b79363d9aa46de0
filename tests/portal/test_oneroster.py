"""OneRoster 1.1 and 1.2 bulk CSV import: the command, the service and the browser's preview
and confirmation. Exports are built here, as a district's information system writes them."""

import csv
import io
import re
import threading
import time
import zipfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal import oneroster
from portal.lib.csvfile import CsvError
from portal.models import (
    PREVIEW_VALID_FOR,
    RUN_STUCK_AFTER,
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
from portal.oneroster import Export, export_from_path, export_from_zip, oneroster_import
from tests.factories import LeaderFactory, SchoolFactory, StaffFactory, TeacherFactory
from tests.portal.test_jobs import database_queue  # noqa: F401 (a fixture: jobs wait in the database for a worker)

pytestmark = pytest.mark.django_db

ORG_COLUMNS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
USER_COLUMNS_11 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
USER_COLUMNS_12 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
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
ROLE_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]

ORGS = [
    {"sourcedId": "district-1", "name": "Lakeside Unified", "type": "district"},
    {"sourcedId": "school-oak", "name": "Oak Elementary", "type": "school", "parentSourcedId": "district-1"},
    {"sourcedId": "school-pine", "name": "Pine High School", "type": "school", "parentSourcedId": "district-1"},
]


def person(sourced_id: str, role: str, orgs: str, given: str, family: str, email: str, **more: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "enabledUser": "true",
        "role": role,
        "orgSourcedIds": orgs,
        "username": email.split("@")[0],
        "givenName": given,
        "familyName": family,
        "email": email,
        **more,
    }


ADA = person("t-ada", "teacher", "school-oak", "Ada", "Lovelace", "ada@district.org")
# Two orgs: the first is the school.
ALAN = person("t-alan", "teacher", "school-pine,school-oak", "Alan", "Turing", "alan@district.org")
GRACE = person("a-grace", "administrator", "school-pine", "Grace", "Hopper", "grace@district.org")
EDSGER = person("a-edsger", "administrator", "district-1", "Edsger", "Dijkstra", "edsger@district.org")
KIM = person("s-kim", "student", "school-oak", "Kim", "Student", "", grades="03")
LEE = person("s-lee", "student", "school-pine", "Lee", "Student", "", grades="10")
PAT = person("g-pat", "guardian", "school-oak", "Pat", "Parent", "pat@home.example")
PEOPLE = [ADA, ALAN, GRACE, EDSGER, KIM, LEE, PAT]


def table(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({column: row.get(column, "") for column in columns} for row in rows)
    return out.getvalue()


def files(
    people: list[dict[str, str]] = PEOPLE, orgs: list[dict[str, str]] = ORGS, users_mode: str | None = None
) -> dict[str, str]:
    texts = {"orgs.csv": table(ORG_COLUMNS, orgs), "users.csv": table(USER_COLUMNS_11, people)}
    if users_mode is not None:
        texts["manifest.csv"] = (
            "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.1\r\n"
            f"file.orgs,bulk\r\nfile.users,{users_mode}\r\nfile.enrollments,absent\r\n"
        )
    return texts


def zipped(texts: Mapping[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in texts.items():
            archive.writestr(name, text)
    return out.getvalue()


def run(texts: dict[str, str], **options) -> oneroster.OneRosterResult:
    return oneroster_import(export=Export("export.zip", "0" * 64, texts), **options)


def counts() -> tuple[int, int, int, int, int]:
    return (
        School.objects.count(),
        User.objects.count(),
        User.objects.filter(is_active=True).count(),
        User.objects.exclude(sourced_id=None).count(),
        RosterImport.objects.count(),
    )


def write_folder(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# -- What becomes what ------------------------------------------------------------------


def test_an_export_places_teachers_and_administrators_and_skips_students_and_guardians(
    tmp_path, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_oneroster", write_folder(tmp_path / "export", files()), stdout=out)

    oak, pine = School.objects.get(sourced_id="school-oak"), School.objects.get(sourced_id="school-pine")
    assert School.objects.count() == 2, "the district org is not a school"
    assert (oak.name, oak.slug) == ("Oak Elementary", "oak-elementary")
    # OneRoster has no level, enrollment, FRL share or locale: the school starts provisional.
    assert (pine.level, pine.enrollment, pine.frl_percent, pine.locale) == ("other", 0, 0, "suburb")
    ada, alan = User.objects.get(sourced_id="t-ada"), User.objects.get(sourced_id="t-alan")
    assert (ada.role, ada.school, ada.email, ada.username) == (Role.TEACHER, oak, "ada@district.org", "ada")
    assert (alan.role, alan.school) == (Role.TEACHER, pine), "the first of several orgs is the school"
    grace = User.objects.get(sourced_id="a-grace")
    assert (grace.role, grace.school) == (Role.PRINCIPAL, pine)
    edsger = User.objects.get(sourced_id="a-edsger")
    assert (edsger.role, edsger.school, edsger.is_staff) == (Role.DISTRICT_LEADER, None, False)
    assert not User.objects.filter(sourced_id__in=["s-kim", "s-lee", "g-pat"]).exists()
    assert not ada.has_usable_password()
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        ["ada@district.org", "alan@district.org", "grace@district.org", "edsger@district.org"]
    )

    record = RosterImport.objects.get()
    assert (record.by, record.kind, record.file_name) == (None, RosterImportKind.ONEROSTER_BULK, "export")
    assert (record.schools_added, record.people_added, record.people_deactivated, record.people_skipped) == (2, 4, 0, 3)
    assert "2 student" in record.summary and "1 guardian" in record.summary
    text = out.getvalue()
    assert "Skipped: 1 guardian, 2 student." in text
    assert "Schools to complete (level, enrollment, FRL %, locale): Oak Elementary, Pine High School." in text


def test_the_same_export_zipped_imports_alike(tmp_path):
    path = tmp_path / "lakeside.zip"
    path.write_bytes(zipped(files()))
    call_command("import_oneroster", path, stdout=io.StringIO())
    assert set(User.objects.values_list("sourced_id", flat=True)) == {"t-ada", "t-alan", "a-grace", "a-edsger"}
    assert RosterImport.objects.get().file_name == "lakeside.zip"


def test_district_administrators_can_be_made_district_staff_instead(tmp_path):
    call_command(
        "import_oneroster",
        write_folder(tmp_path / "export", files()),
        "--district-role",
        "staff",
        stdout=io.StringIO(),
    )
    edsger = User.objects.get(sourced_id="a-edsger")
    assert (edsger.role, edsger.is_staff) == (Role.DISTRICT_STAFF, True)


def test_someone_already_in_the_district_office_keeps_their_role():
    run(files(), district_role=Role.DISTRICT_STAFF)
    run(files())  # leader by default: only for people new to the portal
    assert User.objects.get(sourced_id="a-edsger").role == Role.DISTRICT_STAFF


def test_oneroster_1_2_roles_file_places_people_by_their_primary_role():
    people = [
        {"sourcedId": "u-1", "enabledUser": "true", "givenName": "Mae", "familyName": "Jemison", "email": "mae@d.org"},
        {"sourcedId": "u-2", "enabledUser": "true", "givenName": "Sally", "familyName": "Ride", "email": "sally@d.org"},
        {"sourcedId": "u-3", "enabledUser": "true", "givenName": "Katherine", "familyName": "Johnson",
         "email": "kj@d.org"},
        {"sourcedId": "u-4", "enabledUser": "true", "givenName": "Neil", "familyName": "Armstrong", "email": ""},
        {"sourcedId": "u-5", "enabledUser": "true", "givenName": "Chris", "familyName": "Hadfield", "email": "ch@d.org"},
    ]  # fmt: skip
    roles = [
        {"sourcedId": "r-1", "userSourcedId": "u-1", "roleType": "primary", "role": "principal",
         "orgSourcedId": "school-oak"},
        {"sourcedId": "r-2", "userSourcedId": "u-2", "roleType": "secondary", "role": "teacher",
         "orgSourcedId": "school-oak"},
        {"sourcedId": "r-3", "userSourcedId": "u-2", "roleType": "primary", "role": "siteAdministrator",
         "orgSourcedId": "school-pine"},
        {"sourcedId": "r-4", "userSourcedId": "u-3", "roleType": "primary", "role": "districtAdministrator",
         "orgSourcedId": "school-oak"},
        {"sourcedId": "r-5", "userSourcedId": "u-4", "roleType": "primary", "role": "student",
         "orgSourcedId": "school-oak"},
        {"sourcedId": "r-6", "userSourcedId": "u-5", "roleType": "primary", "role": "aide",
         "orgSourcedId": "school-pine"},
    ]  # fmt: skip
    texts = {
        "manifest.csv": "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\n",
        "orgs.csv": table(ORG_COLUMNS, ORGS),
        "users.csv": table(USER_COLUMNS_12, people),
        "roles.csv": table(ROLE_COLUMNS, roles),
    }
    result = run(texts)
    oak, pine = School.objects.get(sourced_id="school-oak"), School.objects.get(sourced_id="school-pine")
    placed = {user.sourced_id: (user.role, user.school) for user in User.objects.all()}
    assert placed == {
        "u-1": (Role.PRINCIPAL, oak),
        "u-2": (Role.PRINCIPAL, pine),  # the primary role wins over the earlier secondary one
        "u-3": (Role.DISTRICT_LEADER, None),
    }
    assert dict(result.skipped_by_role) == {"student": 1, "aide": 1}
    assert result.version == "1.2"


def test_a_1_2_role_value_in_users_csv_works():
    people = [
        person("p-1", "principal", "school-oak", "Mary", "Jackson", "mary@district.org"),
        person("p-2", "siteAdministrator", "school-pine", "Dorothy", "Vaughan", "dorothy@district.org"),
        person("p-3", "districtAdministrator", "district-1", "Annie", "Easley", "annie@district.org"),
    ]
    run(files(people))
    assert dict(User.objects.values_list("sourced_id", "role")) == {
        "p-1": Role.PRINCIPAL,
        "p-2": Role.PRINCIPAL,
        "p-3": Role.DISTRICT_LEADER,
    }


def test_a_teacher_whose_first_org_is_not_a_school_is_listed_not_added():
    result = run(files([person("t-x", "teacher", "district-1,school-oak", "Roving", "Teacher", "rt@district.org")]))
    assert not User.objects.exists()
    assert [line.reason for line in result.people_not_added] == ["a teacher at a district org, which is not a school"]


def test_extension_columns_are_accepted():
    texts = files()
    texts["orgs.csv"] = table([*ORG_COLUMNS, "metadata.state"], [{**org, "metadata.state": "WA"} for org in ORGS])
    run(texts)
    assert School.objects.count() == 2


# -- Re-imports ---------------------------------------------------------------------------


def test_a_changed_email_updates_the_same_person():
    run(files())
    ada = User.objects.get(sourced_id="t-ada")
    changed = {**ADA, "email": "ada.lovelace@district.org", "familyName": "King", "orgSourcedIds": "school-pine"}
    result = run(files([changed, ALAN, GRACE, EDSGER]))
    again = User.objects.get(sourced_id="t-ada")
    assert again.pk == ada.pk
    assert (again.email, again.last_name, again.school, again.username) == (
        "ada.lovelace@district.org",
        "King",
        School.objects.get(sourced_id="school-pine"),
        "ada",
    )
    [change] = result.people_changed
    assert set(change.changes) == {
        ("E-mail", "ada@district.org", "ada.lovelace@district.org"),
        ("Last name", "Lovelace", "King"),
        ("School", "Oak Elementary", "Pine High School"),
    }
    assert User.objects.count() == 4


def test_a_full_export_deactivates_leavers_and_never_deletes():
    run(files())
    hired_by_hand = TeacherFactory(school=School.objects.get(sourced_id="school-oak"))
    result = run(files([ADA, GRACE, EDSGER, KIM]))
    alan = User.objects.get(sourced_id="t-alan")
    assert not alan.is_active
    assert [(line.name, line.reason) for line in result.people_deactivated] == [
        ("Alan Turing", "not in this full export")
    ]
    # Only people an import brought are the export's to remove.
    hired_by_hand.refresh_from_db()
    assert hired_by_hand.is_active
    assert RosterImport.objects.latest("pk").people_deactivated == 1


def test_a_delta_export_deactivates_nobody_it_does_not_name():
    run(files())
    renamed = {**ADA, "givenName": "Augusta"}
    result = run(files([renamed], users_mode="delta"))
    assert User.objects.filter(is_active=True).count() == 4
    assert User.objects.get(sourced_id="t-ada").first_name == "Augusta"
    assert result.people_deactivated == []
    assert RosterImport.objects.latest("pk").kind == RosterImportKind.ONEROSTER_DELTA


@pytest.mark.parametrize("mode", ["bulk", "delta"])
def test_to_be_deleted_and_disabled_people_are_deactivated(mode):
    run(files())
    leaving = {"sourcedId": "t-alan", "status": "tobedeleted"}  # a delete row may leave the rest blank
    disabled = {**GRACE, "enabledUser": "false"}
    result = run(files([ADA, leaving, disabled, EDSGER], users_mode=mode))
    assert dict(User.objects.values_list("sourced_id", "is_active")) == {
        "t-ada": True,
        "t-alan": False,
        "a-grace": False,
        "a-edsger": True,
    }
    assert sorted(line.reason for line in result.people_deactivated) == [
        "disabled (enabledUser=false)",
        "to be deleted",
    ]
    assert User.objects.count() == 4


def test_someone_who_comes_back_is_active_again():
    run(files())
    run(files([ADA, GRACE, EDSGER]))
    result = run(files())
    assert User.objects.get(sourced_id="t-alan").is_active
    assert [change.changes for change in result.people_changed] == [[("Active", "no", "yes")]]


def test_someone_who_becomes_an_aide_is_deactivated_and_counted():
    run(files())
    result = run(files([ADA, {**ALAN, "role": "aide"}, GRACE, EDSGER]))
    assert not User.objects.get(sourced_id="t-alan").is_active
    assert result.skipped_by_role["aide"] == 1


def test_a_school_keeps_its_profile_and_follows_its_new_name():
    run(files())
    School.objects.filter(sourced_id="school-oak").update(level="elementary", enrollment=420, frl_percent=61)
    renamed = [dict(org, name="Oak Grove Elementary") if org["sourcedId"] == "school-oak" else org for org in ORGS]
    result = run(files(orgs=renamed))
    oak = School.objects.get(sourced_id="school-oak")
    assert (oak.name, oak.slug, oak.level, oak.enrollment, oak.frl_percent) == (
        "Oak Grove Elementary",
        "oak-elementary",
        "elementary",
        420,
        61,
    )
    assert result.schools_renamed == [("Oak Elementary", "Oak Grove Elementary")]
    assert result.schools_to_complete == ["Pine High School"], "a school whose profile was filled in is complete"


def test_the_first_import_finds_people_by_email_and_schools_by_name():
    oak = SchoolFactory(name="Oak Elementary", slug="oak", level=SchoolLevel.ELEMENTARY, locale=Locale.CITY)
    ada = TeacherFactory(email="ada@district.org", username="ada.l", school=oak, first_name="Ada", last_name="Lovelace")
    result = run(files([{**ADA, "email": "Ada@District.ORG"}]))
    ada.refresh_from_db()
    oak.refresh_from_db()
    assert (ada.sourced_id, ada.username, ada.school) == ("t-ada", "ada.l", oak)
    assert (oak.sourced_id, oak.level) == ("school-oak", SchoolLevel.ELEMENTARY)
    assert User.objects.count() == 1
    assert [line.name for line in result.people_linked] == ["Ada Lovelace"]
    assert result.schools_linked == ["Oak Elementary"]


def test_new_usernames_are_unique():
    TeacherFactory(username="ada")
    run(files([ADA]))
    assert User.objects.get(sourced_id="t-ada").username == "ada2"


def test_two_people_may_trade_email_addresses():
    run(files())
    run(files([{**ADA, "email": "alan@district.org"}, {**ALAN, "email": "ada@district.org"}, GRACE, EDSGER]))
    assert User.objects.get(sourced_id="t-ada").email == "alan@district.org"
    assert User.objects.get(sourced_id="t-alan").email == "ada@district.org"


def test_a_full_export_under_new_sourced_ids_moves_each_person_to_their_new_key():
    """A district that changes information systems exports everyone under new sourcedIds. In a
    full export, someone whose old key is gone and whose address comes with a new key is the
    same person: they keep their account and take the new key (listed with before and after),
    instead of every row being an error nobody in the portal can fix."""
    run(files([ADA, ALAN]))
    ada = User.objects.get(sourced_id="t-ada")
    result = run(files([{**ADA, "sourcedId": "ic-1001"}, ALAN]))
    assert [(change.sourced_id, change.changes) for change in result.people_changed] == [
        ("ic-1001", [("sourcedId", "t-ada", "ic-1001")])
    ]
    assert result.people_added == [] and result.people_deactivated == []
    ada.refresh_from_db()
    assert (ada.sourced_id, ada.is_active) == ("ic-1001", True)


def test_an_export_of_changes_under_a_new_sourced_id_is_still_an_error():
    """A delta does not say whether the old key is gone: the address's holder stays theirs."""
    run(files([ADA, ALAN]))
    with pytest.raises(CsvError, match=re.escape("'ada@district.org' belongs to 'ada'")):
        run(files([{**ADA, "sourcedId": "ic-1001"}], users_mode="delta"))
    with pytest.raises(CsvError, match=re.escape("'ada@district.org' belongs to 'ada'")):
        run(files([{**ADA, "sourcedId": "ic-1001"}, ADA]))


def test_an_email_someone_else_keeps_is_an_error():
    TeacherFactory(username="ada.old", email="ada@district.org", sourced_id="somebody-else")
    with pytest.raises(CsvError) as failure:
        run(files([ADA], users_mode="delta"))
    assert [str(error) for error in failure.value.errors] == [
        "users.csv row 2, column email: 'ada@district.org' belongs to 'ada.old', whom this export names by "
        "another sourcedId or not at all"
    ]


# -- Dry runs and errors --------------------------------------------------------------------


def test_a_dry_run_shows_the_changes_and_writes_nothing(tmp_path):
    run(files())
    before = counts()
    changed = {**ADA, "email": "ada.king@district.org"}
    out = io.StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command(
            "import_oneroster", write_folder(tmp_path / "export", files([changed, GRACE])), "--dry-run", stdout=out
        )
    assert counts() == before
    assert User.objects.get(sourced_id="t-ada").email == "ada@district.org"
    writes = [q["sql"] for q in queries.captured_queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]
    assert writes == []
    text = out.getvalue()
    assert "E-mail 'ada@district.org' → 'ada.king@district.org'" in text
    assert "Alan Turing <alan@district.org>: not in this full export" in text
    assert "Dry run: nothing was changed." in text


def test_errors_name_file_row_and_column_and_nothing_is_written(tmp_path):
    orgs = [*ORGS, {"sourcedId": "x-1", "name": "Somewhere", "type": "campus"}]
    people = [ADA, {**ALAN, "email": "not-an-address"}, {**GRACE, "orgSourcedIds": "school-elm"}, KIM]
    errors = io.StringIO()
    with pytest.raises(CommandError, match=re.escape("Nothing was imported: 3 problems found.")):
        call_command(
            "import_oneroster",
            write_folder(tmp_path / "export", files(people, orgs)),
            stderr=errors,
            stdout=io.StringIO(),
        )
    assert errors.getvalue().splitlines() == [
        "orgs.csv row 5, column type: 'campus' is not one of department, district, local, national, school, state",
        "users.csv row 3, column email: 'not-an-address' is not a valid e-mail address",
        "users.csv row 4, column orgSourcedIds: no org 'school-elm' in orgs.csv or the portal",
    ]
    assert counts() == (0, 0, 0, 0, 0)


def test_a_missing_column_and_a_bad_manifest_are_named():
    texts = files()
    texts["users.csv"] = texts["users.csv"].replace("givenName", "firstName")
    texts["manifest.csv"] = "propertyName,value\nfile.users,full\n"
    with pytest.raises(CsvError) as failure:
        run(texts)
    assert [str(error) for error in failure.value.errors] == [
        "manifest.csv row 2, column value: 'full' is not one of bulk, delta, absent",
    ]
    del texts["manifest.csv"]
    with pytest.raises(CsvError) as failure:
        run(texts)
    assert "users.csv row 1, column givenName: required column is missing" in str(failure.value)


def test_a_teacher_needs_a_name_and_an_email_but_a_student_does_not():
    with pytest.raises(CsvError) as failure:
        run(files([{**ADA, "email": "", "givenName": ""}, KIM]))
    assert [str(error) for error in failure.value.errors] == [
        "users.csv row 2, column email: is required for a teacher or an administrator",
        "users.csv row 2, column givenName: is required",
    ]


def test_names_with_control_characters_are_refused():
    """A line break or a terminal's escape in a name would break e-mails, calendar files and the
    command's own output."""
    orgs = [*ORGS, {"sourcedId": "school-elm", "name": "Elm\rSchool", "type": "school"}]
    with pytest.raises(CsvError) as failure:
        run(
            files(
                [{**ADA, "givenName": "Ada\x1b]8;;https://evil.example\x07"}, {**ALAN, "familyName": "Tu\nring"}], orgs
            )
        )
    problem = "contains a line break or another control character"
    assert [str(error) for error in failure.value.errors] == [
        f"orgs.csv row 5, column name: {problem}",
        f"users.csv row 2, column givenName: {problem}",
        f"users.csv row 3, column familyName: {problem}",
    ]


def test_teachers_without_an_email_are_each_named_once_not_as_sharing_one():
    with pytest.raises(CsvError) as failure:
        run(files([{**ADA, "email": ""}, {**ALAN, "email": ""}]))
    assert [str(error) for error in failure.value.errors] == [
        "users.csv row 2, column email: is required for a teacher or an administrator",
        "users.csv row 3, column email: is required for a teacher or an administrator",
    ]


def test_many_people_and_schools_with_the_same_name_get_numbered_usernames_and_slugs():
    """Thousands of one stem (a blank username and the same e-mail name, the same school name)
    are numbered in turn, within the length of a slug."""
    orgs = [
        *ORGS,
        *({"sourcedId": f"school-{n}", "name": "Lincoln " + "x" * 90, "type": "school"} for n in range(1200)),
    ]
    people = [
        person(f"t-{n}", "teacher", "school-oak", "Ann", "Lee", f"teacher@school{n}.example.org") for n in range(1200)
    ]
    for row in people:
        row["username"] = ""
    run(files(people, orgs))
    usernames = set(User.objects.filter(sourced_id__startswith="t-").values_list("username", flat=True))
    assert len(usernames) == 1200 and {"teacher", "teacher2", "teacher1200"} <= usernames
    slugs = set(
        School.objects.filter(sourced_id__startswith="school-")
        .exclude(sourced_id__in=["school-oak", "school-pine"])
        .values_list("slug", flat=True)
    )
    assert len(slugs) == 1200 and max(len(slug) for slug in slugs) <= oneroster.SLUG_MAX_LENGTH


def test_the_same_sourced_id_twice_is_an_error():
    with pytest.raises(
        CsvError, match=re.escape("users.csv row 3, column sourcedId: 't-ada' appears twice in this file")
    ):
        run(files([ADA, ADA]))


# -- Who may change what --------------------------------------------------------------------


def test_a_non_superuser_import_cannot_change_an_account_that_runs_the_admin():
    importer = StaffFactory(email="importer@district.org")
    colleague = StaffFactory(email="grace@district.org", first_name="G", last_name="H", sourced_id="a-grace")
    with pytest.raises(CsvError) as failure:
        run(files([ADA, GRACE]), by=importer)
    assert f"users.csv row 3, column sourcedId: {colleague.username!r} runs the admin" in str(failure.value)
    assert not User.objects.filter(sourced_id="t-ada").exists()
    superuser = StaffFactory(is_superuser=True)
    run(files([ADA, GRACE]), by=superuser)
    colleague.refresh_from_db()
    assert (colleague.role, colleague.is_staff) == (Role.PRINCIPAL, False)


def test_a_non_superuser_import_cannot_deactivate_an_account_that_runs_the_admin():
    importer = StaffFactory()
    StaffFactory(username="chief", sourced_id="a-chief")
    with pytest.raises(CsvError, match="'chief' runs the admin and would be deactivated"):
        run(files(), by=importer)


def test_only_a_superuser_makes_district_staff():
    with pytest.raises(PermissionDenied):
        run(files(), by=StaffFactory(), district_role=Role.DISTRICT_STAFF)


# -- Unsafe zips ----------------------------------------------------------------------------


def test_a_name_pointing_outside_the_export_is_refused():
    data = zipped({**files(), "../../portal/settings.py": "x"})
    with pytest.raises(CsvError, match=r"holds a file named '../../portal/settings.py', which points outside"):
        export_from_zip(data, "evil.zip")


@pytest.mark.parametrize("name", ["/etc/passwd", "C:/windows/win.ini", "a\\..\\b.csv"])
def test_other_unsafe_names_are_refused(name):
    with pytest.raises(CsvError, match="points outside the export"):
        export_from_zip(zipped({**files(), name: "x"}), "evil.zip")


def test_a_zip_bomb_is_refused():
    data = zipped({**files(), "users.csv": b"\0" * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(
        CsvError, match=re.escape("users.csv: is packed far tighter than any CSV file; it looks like a zip bomb")
    ):
        export_from_zip(data, "bomb.zip")


def test_a_member_larger_than_the_limit_is_refused_even_if_the_directory_lies(monkeypatch):
    monkeypatch.setattr(oneroster, "MAX_MEMBER_BYTES", 1000)
    monkeypatch.setattr(oneroster, "RATIO_CHECKED_FROM", 10**9)
    texts = files([person(f"t-{n}", "teacher", "school-oak", "A", "B", f"a{n}@d.org") for n in range(50)])
    with pytest.raises(CsvError, match=re.escape("users.csv: unpacks to more than")):
        export_from_zip(zipped(texts), "big.zip")


def test_too_large_a_zip_and_not_a_zip_are_refused(tmp_path, monkeypatch):
    with pytest.raises(CsvError, match="is not a zip file"):
        export_from_zip(b"sourcedId,name\n", "export.zip")
    monkeypatch.setattr(oneroster, "MAX_ZIP_BYTES", 100)
    with pytest.raises(CsvError, match="is larger than"):
        export_from_zip(zipped(files()), "export.zip")
    with pytest.raises(CsvError, match="no such folder or file"):
        export_from_path(tmp_path / "nowhere")


def test_a_file_that_is_not_utf8_is_named():
    with pytest.raises(CsvError, match=re.escape("users.csv: not UTF-8 text")):
        export_from_zip(zipped({"orgs.csv": "x", "users.csv": b"\xff\xfe\x00n"}), "export.zip")


# -- Speed ----------------------------------------------------------------------------------


def _teachers(count: int) -> list[dict[str, str]]:
    return [
        person(f"t-{n}", "teacher", "school-oak", "Test", f"Teacher{n}", f"t{n}@district.org") for n in range(count)
    ]


def _queries(people: list[dict[str, str]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        run(files(people, users_mode="delta"))
    return len(queries)


def test_the_import_runs_a_constant_number_of_queries_whatever_the_export_size():
    """A real export holds thousands of people: they are matched and written in bulk. Bulk
    inserts and updates are split only at the database's parameter limit (999 on SQLite), so a
    few more batches on SQLite, never a query per row; the same count on PostgreSQL."""
    run(files([]))  # the schools, so that each run below adds people only
    small = _queries(_teachers(10))
    large = _queries(
        [{**row, "sourcedId": "new-" + row["sourcedId"], "email": "new." + row["email"]} for row in _teachers(200)]
    )
    allowance = 0 if connection.vendor == "postgresql" else 10
    assert small <= large <= small + allowance
    # A re-import that changes each of the 200 writes them in bulk too.
    renamed = [
        {**row, "sourcedId": "new-" + row["sourcedId"], "email": "new." + row["email"], "familyName": "Renamed"}
        for row in _teachers(200)
    ]
    assert _queries(renamed) <= small + allowance


# -- In the browser -------------------------------------------------------------------------


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def jobs(django_capture_on_commit_callbacks):
    """Sends a request and runs the jobs it enqueues, as the immediate backend does once the
    request's change commits (a test's own transaction never does)."""

    def sending(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return sending


def _upload(client, texts, **data):
    upload = SimpleUploadedFile("lakeside.zip", zipped(texts), content_type="application/zip")
    return client.post("/roster/import/oneroster/", {"export_file": upload, "district_role": "district_leader", **data})


def _page(started: OneRosterRun) -> str:
    return f"/roster/import/oneroster/{started.pk}/"


def _uploaded(client, jobs, texts) -> tuple[OneRosterRun, str]:
    """Upload an export and let its check run: the run, and its page."""
    response = jobs(_upload, client, texts)
    started = OneRosterRun.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == _page(started), "POST, redirect, GET"
    started.refresh_from_db()
    return started, client.get(response["Location"]).content.decode()


def _fingerprint(page: str) -> str:
    found = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page)
    assert found is not None, "the preview has a confirmation form"
    return found.group(1)


def _confirm(client, jobs, started: OneRosterRun, page: str):
    return jobs(client.post, f"{_page(started)}confirm/", {"fingerprint": _fingerprint(page)})


def test_staff_upload_an_export_see_its_preview_then_import_it(staff, as_user, uploads, jobs):
    run(files([ADA, ALAN]))
    client = as_user(staff)
    assert b'href="/roster/import/oneroster/"' in client.get("/roster/import/").content

    started, text = _uploaded(client, jobs, files([{**ADA, "email": "ada.king@district.org"}, GRACE, KIM, PAT]))
    assert (started.by, started.file_name, started.status) == (staff, "lakeside.zip", OneRosterRunStatus.PREVIEWED)
    assert "Nothing has changed yet" in text
    assert "ada@district.org" in text and "ada.king@district.org" in text  # before and after
    assert "Grace Hopper" in text  # added
    assert "not in this full export" in text  # Alan, deactivated
    assert "1 guardian, 1 student" in text
    assert 'http-equiv="refresh"' not in text, "a preview waits for its reader"
    assert User.objects.get(sourced_id="t-ada").email == "ada@district.org", "nothing is written by the preview"
    assert RosterImport.objects.count() == 1, "a preview is not an import"
    assert f'href="{_page(started)}"' in client.get("/roster/import/oneroster/").content.decode(), "to go back to it"

    done = _confirm(client, jobs, started, text)
    assert done.status_code == 302 and done["Location"] == _page(started)
    assert User.objects.get(sourced_id="t-ada").email == "ada.king@district.org"
    assert not User.objects.get(sourced_id="t-alan").is_active
    record = RosterImport.objects.latest("pk")
    assert (record.by, record.file_name, record.people_added, record.people_deactivated) == (
        staff,
        "lakeside.zip",
        1,
        1,
    )
    started.refresh_from_db()
    assert (started.status, started.record) == (OneRosterRunStatus.IMPORTED, record)
    result_page = client.get(done["Location"]).content.decode()
    assert "OneRoster export imported." in result_page and "Pine High School" in result_page  # to complete
    listed = client.get("/roster/import/").content.decode()
    assert "lakeside.zip" in listed and "Samuel Okafor" in listed
    assert RosterImport.objects.count() == 2
    assert list((uploads / oneroster.PENDING_FOLDER).iterdir()) == [], "the upload is not kept once imported"


def test_an_export_sent_to_the_roster_page_goes_the_oneroster_way(staff, as_user, uploads, jobs):
    """A OneRoster zip is imported at /roster/import/ as on its own page; a zip put where a CSV
    file goes is refused next to its field, naming what to do."""
    client = as_user(staff)
    upload = SimpleUploadedFile("lakeside.zip", zipped(files([ADA, GRACE])), content_type="application/zip")
    response = jobs(client.post, "/roster/import/", {"export_file": upload, "district_role": "district_leader"})
    started = OneRosterRun.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == _page(started)
    assert "Nothing has changed yet" in client.get(response["Location"]).content.decode()
    as_csv = SimpleUploadedFile("users.csv", zipped(files([ADA])), content_type="text/csv")
    schools = SimpleUploadedFile("schools.csv", b"slug,name,level,enrollment,frl_percent,locale\n")
    response = client.post("/roster/import/", {"schools_file": schools, "users_file": as_csv})
    assert response.status_code == 400
    assert "This is a zip file, not a CSV file." in response.content.decode()
    assert not User.objects.filter(sourced_id="t-ada").exists()
    # Both kinds at once: neither is taken for the other, nothing is imported.
    upload.seek(0)
    schools.seek(0)
    users = SimpleUploadedFile("users.csv", b"email,first_name,last_name,role,school\n")
    runs = OneRosterRun.objects.count()
    response = client.post(
        "/roster/import/",
        {"export_file": upload, "district_role": "district_leader", "schools_file": schools, "users_file": users},
    )
    assert response.status_code == 400
    assert "Send either a OneRoster export or the two CSV files, not both" in response.content.decode()
    assert OneRosterRun.objects.count() == runs


def test_a_confirmation_sent_twice_imports_once(staff, as_user, uploads, jobs):
    """A double click sends the confirmation twice: the second finds the run importing or imported,
    and leads to its page."""
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files([ADA, GRACE]))
    first, second = _confirm(client, jobs, started, text), _confirm(client, jobs, started, text)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == _page(started)
    assert RosterImport.objects.count() == 1
    assert User.objects.filter(sourced_id="a-grace").count() == 1


def test_the_import_job_run_twice_imports_once(staff, as_user, uploads, jobs):
    """A worker may run a job again (a retry, a second worker): the run is marked imported in the
    import's own transaction, and the job imports only a run still importing."""
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files([ADA, GRACE]))
    # Confirmed; its job waits in the queue.
    client.post(f"{_page(started)}confirm/", {"fingerprint": _fingerprint(text)})
    started.refresh_from_db()
    assert started.status == OneRosterRunStatus.IMPORTING
    assert "Importing…" in client.get(_page(started)).content.decode()
    assert oneroster.oneroster_run_import.call(started.pk) == "imported"
    assert oneroster.oneroster_run_import.call(started.pk) == "done already"
    assert oneroster.oneroster_run_check.call(started.pk) == "done already"
    assert RosterImport.objects.count() == 1
    assert User.objects.filter(sourced_id="a-grace").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL")
def test_two_workers_running_the_same_import_job_at_once_import_once(settings, tmp_path):
    """The database queue may hand one job to two workers (a worker thought dead comes back): the
    second waits for the first's lock on the run, then finds it imported."""
    settings.MEDIA_ROOT = tmp_path
    staff = StaffFactory()
    started = oneroster.oneroster_run_start(
        by=staff, data=zipped(files([ADA, GRACE])), file_name="lakeside.zip", district_role=Role.DISTRICT_LEADER
    )
    OneRosterRun.objects.filter(pk=started.pk, status=OneRosterRunStatus.PREVIEWED).update(
        status=OneRosterRunStatus.IMPORTING
    )
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work():
        try:
            barrier.wait()
            outcomes.append(oneroster.oneroster_run_import.call(started.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done already", "imported"]
    assert RosterImport.objects.count() == 1
    assert User.objects.filter(sourced_id="a-grace").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent requests need PostgreSQL")
def test_a_confirmation_sent_twice_at_the_same_moment_imports_once(settings, tmp_path):
    """Two confirmations of one preview racing each other (a double click on a slow network): one
    takes the run, the other finds it taken; both lead to its page, and the import runs once."""
    settings.MEDIA_ROOT = tmp_path
    staff = StaffFactory()
    client = Client()
    client.force_login(staff)
    client.post(
        "/roster/import/oneroster/",
        {
            "export_file": SimpleUploadedFile("lakeside.zip", zipped(files([ADA, GRACE]))),
            "district_role": "district_leader",
        },
    )
    started = OneRosterRun.objects.get()
    assert started.status == OneRosterRunStatus.PREVIEWED, "the immediate backend checked it once the upload committed"
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def confirm():
        tab = Client()  # a test client is not shared between threads
        tab.force_login(staff)
        try:
            barrier.wait()
            answers.append(tab.post(f"{_page(started)}confirm/", {"fingerprint": started.fingerprint}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302]
    assert RosterImport.objects.count() == 1
    assert User.objects.filter(sourced_id="a-grace").count() == 1
    started.refresh_from_db()
    assert started.status == OneRosterRunStatus.IMPORTED


def test_a_run_is_seen_and_confirmed_only_by_whoever_uploaded_it(staff, as_user, uploads, jobs):
    started, text = _uploaded(as_user(staff), jobs, files())
    other = as_user(StaffFactory())
    assert other.get(_page(started)).status_code == 404
    assert _page(started) not in other.get("/roster/import/oneroster/").content.decode()
    assert _confirm(other, jobs, started, text).status_code == 404
    assert as_user(LeaderFactory()).get(_page(started)).status_code == 403
    assert RosterImport.objects.count() == 0 and not User.objects.filter(sourced_id="t-ada").exists()
    started.refresh_from_db()
    assert started.status == OneRosterRunStatus.PREVIEWED


def test_a_preview_is_confirmed_only_within_its_time(staff, as_user, uploads, jobs):
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files())
    shown_at = timezone.now() - timedelta(seconds=oneroster.PENDING_MAX_AGE + 5)
    OneRosterRun.objects.filter(pk=started.pk).update(status_at=shown_at)
    expired = _confirm(client, jobs, started, text)
    assert expired.status_code == 400
    page = expired.content.decode()
    assert "This preview has expired" in page
    assert 'name="export_file"' in page, "the upload form, to start again"
    assert 'name="fingerprint"' not in page
    assert RosterImport.objects.count() == 0 and not User.objects.filter(sourced_id="t-ada").exists()
    assert not (uploads / started.stored).exists(), "nobody may confirm it any more: its upload is deleted"


def test_a_confirmation_of_another_preview_than_the_last_is_refused(staff, as_user, uploads, jobs):
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files())
    refused = _confirm(client, jobs, started, text.replace(started.fingerprint, "0" * 64))
    assert refused.status_code == 409
    assert _fingerprint(refused.content.decode()) == started.fingerprint, "the preview to confirm"
    assert RosterImport.objects.count() == 0


def test_a_confirmation_imports_only_what_its_preview_showed(staff, as_user, uploads, jobs):
    """Someone else's import (or an edit in the admin) between the preview and its confirmation
    would make the import do what nobody saw: the run shows the new preview instead, to confirm again."""
    run(files([ADA, ALAN]))
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files([ADA, ALAN, GRACE]))
    assert "Grace Hopper" in text
    # Meanwhile another import deactivates Alan; confirming the old preview would bring him back unseen.
    run(files([ADA]))
    outdated = _confirm(client, jobs, started, text)
    assert outdated.status_code == 302
    assert not User.objects.get(sourced_id="t-alan").is_active, "nothing was imported"
    assert not User.objects.filter(sourced_id="a-grace").exists()
    assert RosterImport.objects.count() == 2
    page = client.get(outdated["Location"]).content.decode()
    assert "The roster changed since your preview" in page
    # The new preview says what importing does now, and its own confirmation does it.
    assert "Alan Turing" in page and "Active" in page
    assert _fingerprint(page) != _fingerprint(text)
    assert _confirm(client, jobs, started, text).status_code == 409, "the old preview stays outdated"
    assert _confirm(client, jobs, started, page).status_code == 302
    assert User.objects.get(sourced_id="t-alan").is_active and User.objects.filter(sourced_id="a-grace").exists()
    assert RosterImport.objects.count() == 3
    assert list((uploads / oneroster.PENDING_FOLDER).iterdir()) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_confirmations_at_once_import_one_and_find_the_other_outdated():
    """Two staff confirm previews of different exports at the same moment: imports take turns,
    so the second sees what the first wrote, and does not write what its preview did not show."""
    run(files([ADA]))
    exports = [files([ADA, GRACE]), files([ADA, ALAN])]
    previews = [run(texts, dry_run=True).fingerprint() for texts in exports]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm(texts, fingerprint):
        try:
            barrier.wait()
            run(texts, expected=fingerprint)
            outcomes.append("imported")
        except oneroster.PreviewOutdated:
            outcomes.append("outdated")
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=pair) for pair in zip(exports, previews, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["imported", "outdated"]
    assert RosterImport.objects.count() == 2
    assert User.objects.filter(sourced_id__in=["a-grace", "t-alan"]).count() == 1


def test_an_export_with_problems_is_listed_by_file_row_and_column(staff, as_user, uploads, jobs):
    started, text = _uploaded(as_user(staff), jobs, files([{**ADA, "email": "nope"}]))
    assert started.status == OneRosterRunStatus.REFUSED
    assert "users.csv row 2, column email: &#x27;nope&#x27; is not a valid e-mail address" in text
    assert 'name="export_file"' in text and 'name="fingerprint"' not in text
    assert list((uploads / oneroster.PENDING_FOLDER).iterdir()) == [], "a refused upload is not kept"
    assert RosterImport.objects.count() == 0


def test_an_export_with_thousands_of_problems_lists_the_first_and_counts_the_rest(staff, as_user, uploads, jobs):
    """An export whose every row has the same problem (no e-mail addresses at all) would make a
    page of megabytes: the run keeps the first problems and how many more (the command lists all)."""
    people = [
        {**person(f"t-{n}", "teacher", "school-oak", "Ann", "Lee", ""), "username": f"ann{n}"} for n in range(600)
    ]
    _started, text = _uploaded(as_user(staff), jobs, files(people))
    assert "Nothing was imported: 600 problems found." in text
    assert "users.csv row 2, column email: is required" in text
    assert text.count("column email: is required") == CsvError.SHOWN
    assert f"… and {600 - CsvError.SHOWN} more problems" in text


def test_an_unsafe_zip_is_refused_in_the_browser(staff, as_user, uploads, jobs):
    started, text = _uploaded(as_user(staff), jobs, {**files(), "../escape.csv": "x"})
    assert started.status == OneRosterRunStatus.REFUSED
    assert "points outside the export" in text


def _damaged(method: int) -> bytes:
    """A zip whose directory is sound but whose users.csv does not decompress."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, text in {**files(), "users.csv": "sourcedId,givenName,familyName\n" * 500}.items():
            archive.writestr(name, text)
    data = bytearray(buffer.getvalue())
    member = zipfile.ZipFile(buffer).getinfo("users.csv")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    for offset in range(start + 12, start + 40):  # past LZMA's properties, into the packed text
        data[offset] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA])
def test_a_damaged_zip_is_refused_in_the_browser_naming_the_file(staff, as_user, uploads, jobs, method):
    """Its decompressor's own error is not an unexpected one: the page says which file cannot
    be unpacked, and to upload it again."""
    client = as_user(staff)
    upload = SimpleUploadedFile("damaged.zip", _damaged(method), content_type="application/zip")
    response = jobs(
        client.post, "/roster/import/oneroster/", {"export_file": upload, "district_role": "district_leader"}
    )
    started = OneRosterRun.objects.get()
    assert started.status == OneRosterRunStatus.REFUSED
    page = client.get(response["Location"]).content.decode()
    assert "damaged.zip: users.csv: cannot be unpacked" in page and 'name="export_file"' in page
    assert "unexpected error" not in page


def test_a_zip_of_a_format_too_new_to_unpack_is_refused_in_the_browser(staff, as_user, uploads, jobs):
    data = bytearray(zipped(files()))
    central = data.index(b"PK\x01\x02")
    data[central + 6] = 100  # the version needed to extract: 10.0
    client = as_user(staff)
    upload = SimpleUploadedFile("newer.zip", bytes(data), content_type="application/zip")
    response = jobs(
        client.post, "/roster/import/oneroster/", {"export_file": upload, "district_role": "district_leader"}
    )
    assert OneRosterRun.objects.get().status == OneRosterRunStatus.REFUSED
    page = client.get(response["Location"]).content.decode()
    assert "newer.zip: uses a zip format that cannot be unpacked; zip the export again" in page


def test_a_header_cell_too_long_to_read_is_named_in_the_browser(staff, as_user, uploads, jobs):
    texts = files()
    texts["users.csv"] = texts["users.csv"].replace("sourcedId", "sourcedId" + "x" * 200_000, 1)
    started, text = _uploaded(as_user(staff), jobs, texts)
    assert started.status == OneRosterRunStatus.REFUSED
    assert "users.csv row 1: a cell is longer than" in text and "unexpected error" not in text


def test_only_a_superuser_chooses_district_staff_in_the_browser(staff, as_user, uploads):
    response = _upload(as_user(staff), files(), district_role="district_staff")
    assert response.status_code == 400
    assert "Only a superuser can make people district staff." in response.content.decode()
    assert not OneRosterRun.objects.exists()


def test_an_upload_that_is_not_a_zip_is_a_message_next_to_the_field(staff, as_user, uploads):
    upload = SimpleUploadedFile("users.csv", b"sourcedId,givenName\n1,Ada\n")
    response = as_user(staff).post(
        "/roster/import/oneroster/", {"export_file": upload, "district_role": "district_leader"}
    )
    assert response.status_code == 400
    assert "The file is not a zip file." in response.content.decode()


def test_a_run_being_checked_says_so_refreshes_and_says_when_it_seems_stuck(staff, as_user, uploads):
    client = as_user(staff)
    response = _upload(client, files())  # its check waits in the queue
    started = OneRosterRun.objects.get()
    assert started.status == OneRosterRunStatus.CHECKING
    page = client.get(response["Location"]).content.decode()
    # Without JavaScript the page reloads itself; with it, a same-origin script asks for news
    # without reloading (a self-reloading page is what axe's meta-refresh rule refuses).
    head = page.split("</head>")[0]
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in head
    assert head.count('http-equiv="refresh"') == 1, "only inside <noscript>"
    assert f'data-run-poll="{_page(started)}" data-poll-seconds="5"' in page
    assert re.search(r'<script src="[^"]*/js/run-status\.js" defer></script>', page)
    assert 'role="status"' in page and "Checking the export…" in page and "It waits for its turn." in page
    assert f'href="{_page(started)}">Refresh</a>' in page
    assert f'href="{_page(started)}?refresh=off">Stop refreshing</a>' in page
    still = client.get(_page(started), {"refresh": "off"}).content.decode()
    assert "Checking the export…" in still and 'http-equiv="refresh"' not in still
    assert "data-run-poll" not in still and "run-status.js" not in still

    long_ago = timezone.now() - RUN_STUCK_AFTER - timedelta(minutes=1)
    OneRosterRun.objects.filter(pk=started.pk).update(status_at=long_ago)
    stuck = client.get(_page(started)).content.decode()
    assert "This is taking far longer than it should" in stuck and 'http-equiv="refresh"' not in stuck
    assert "data-run-poll" not in stuck
    assert RosterImport.objects.count() == 0


def test_a_kept_upload_is_deleted_once_no_run_needs_it(staff, as_user, uploads, jobs, monkeypatch):
    """An upload holds the district's people: it is kept while a job or a confirmation may read
    it, and deleted by the next upload once its preview has expired."""
    client = as_user(staff)
    waiting, _text = _uploaded(client, jobs, files())
    expired, _text = _uploaded(client, jobs, files([ADA]))
    shown_at = timezone.now() - timedelta(seconds=oneroster.PENDING_MAX_AGE + 60)
    OneRosterRun.objects.filter(pk=expired.pk).update(status_at=shown_at)
    later = time.time() + oneroster.PENDING_MAX_AGE + 120
    monkeypatch.setattr(time, "time", lambda: later)  # what the kept files' names are dated by
    _upload(client, files([GRACE]))
    kept = {f"{oneroster.PENDING_FOLDER}/{path.name}" for path in (uploads / oneroster.PENDING_FOLDER).iterdir()}
    assert waiting.stored in kept
    assert expired.stored not in kept
    assert len(kept) == 2, "the new upload is kept for its check"


@pytest.mark.django_db(transaction=True)
def test_with_the_database_queue_a_worker_checks_and_imports_once_and_an_unconfirmed_upload_is_deleted(
    staff,
    as_user,
    uploads,
    database_queue,  # noqa: F811
):
    """In production jobs wait in the database for `manage.py db_worker`. Nothing is checked or
    imported before the worker runs; a job run twice does its work once; and an upload whose
    preview nobody confirms is deleted once it expires, though nobody uploads again."""
    client = as_user(staff)
    checked = client.get(_upload(client, files([ADA]))["Location"])
    waiting = OneRosterRun.objects.get()
    assert checked.status_code == 200 and "Checking the export…" in checked.content.decode()
    assert waiting.status == OneRosterRunStatus.CHECKING
    database_queue()
    oneroster.oneroster_run_check.enqueue(waiting.pk)  # a job run twice
    database_queue()
    waiting.refresh_from_db()
    assert waiting.status == OneRosterRunStatus.PREVIEWED and not User.objects.filter(sourced_id="t-ada").exists()

    confirmed, text = _uploaded_with_worker(client, database_queue, files([GRACE]))
    assert client.post(f"{_page(confirmed)}confirm/", {"fingerprint": _fingerprint(text)}).status_code == 302
    assert "Importing…" in client.get(_page(confirmed)).content.decode()
    assert not User.objects.filter(sourced_id="a-grace").exists(), "the worker imports"
    database_queue()
    oneroster.oneroster_run_import.enqueue(confirmed.pk)
    database_queue()
    assert RosterImport.objects.count() == 1 and User.objects.filter(sourced_id="a-grace").count() == 1
    assert not (uploads / confirmed.stored).exists()

    # Half an hour later, the forgotten preview's upload goes; nothing else was left behind.
    assert (uploads / waiting.stored).exists()
    OneRosterRun.objects.filter(pk=waiting.pk).update(status_at=timezone.now() - PREVIEW_VALID_FOR)
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    database_queue()
    assert list((uploads / oneroster.PENDING_FOLDER).iterdir()) == []
    assert "This preview has expired" in client.get(_page(waiting)).content.decode()
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def _uploaded_with_worker(client, run_worker, texts) -> tuple[OneRosterRun, str]:
    response = _upload(client, texts)
    run_worker()
    started = OneRosterRun.objects.latest("pk")
    return started, client.get(response["Location"]).content.decode()


def _broken(**options):
    raise RuntimeError("the disk is full")


def test_a_check_that_stops_on_an_unexpected_error_marks_the_run_failed(staff, as_user, uploads, jobs, monkeypatch):
    monkeypatch.setattr(oneroster, "oneroster_import", _broken)
    started, text = _uploaded(as_user(staff), jobs, files())
    assert started.status == OneRosterRunStatus.FAILED
    assert "The check stopped on an unexpected error. Nothing was imported." in text
    assert "the disk is full" not in text, "the error's details are for the log"
    assert 'http-equiv="refresh"' not in text and 'name="export_file"' in text
    assert list((uploads / oneroster.PENDING_FOLDER).iterdir()) == []


def test_an_import_that_stops_on_an_unexpected_error_marks_the_run_failed_and_writes_nothing(
    staff, as_user, uploads, jobs, monkeypatch
):
    client = as_user(staff)
    started, text = _uploaded(client, jobs, files())
    # Everything is written but the invitations when this fails: all of it is rolled back.
    monkeypatch.setattr(oneroster, "invitations_send", _broken)
    done = _confirm(client, jobs, started, text)
    assert done.status_code == 302
    started.refresh_from_db()
    assert (started.status, started.record) == (OneRosterRunStatus.FAILED, None)
    assert (
        "The import stopped on an unexpected error. Nothing was imported."
        in client.get(_page(started)).content.decode()
    )
    assert counts() == (0, 1, 1, 0, 0)


def test_the_page_of_a_run_runs_a_few_queries_whatever_the_export_size(
    staff, as_user, uploads, jobs, django_assert_max_num_queries
):
    """A run keeps what its page shows (the counts and the first 100 of each list) in its own row:
    the page reads the session, the reader, and that row with its import's record, never the
    people, whatever their number."""
    client = as_user(staff)
    started, _text = _uploaded(client, jobs, files(_teachers(300)))
    with django_assert_max_num_queries(3):
        page = client.get(_page(started)).content.decode()
    assert "People added (300)" in page and "… and 200 more." in page
    _confirm(client, jobs, started, page)
    with django_assert_max_num_queries(3):
        page = client.get(_page(started)).content.decode()
    assert "OneRoster export imported." in page and "People: 300 added" in page


def test_the_admin_lists_imports_and_changes_none(staff, as_user):
    run(files())
    client = as_user(staff)
    record = RosterImport.objects.get()
    assert "export.zip" in client.get("/admin/portal/rosterimport/").content.decode()
    assert client.get(f"/admin/portal/rosterimport/{record.pk}/change/").status_code == 200
    client.post(f"/admin/portal/rosterimport/{record.pk}/change/", {"file_name": "other.zip"})
    record.refresh_from_db()
    assert record.file_name == "export.zip"
    assert client.get("/admin/portal/rosterimport/add/").status_code == 403
    assert client.post(f"/admin/portal/rosterimport/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RosterImport.objects.count() == 1


def test_file_names_in_capitals_are_read_as_the_export_names_them(tmp_path):
    """Renamed on Windows, or written so by an information system: Users.csv is users.csv."""
    texts = {"Orgs.csv": files()["orgs.csv"], "USERS.CSV": files()["users.csv"]}
    assert export_from_zip(zipped(texts), "caps.zip").texts.keys() == {"orgs.csv", "users.csv"}
    assert export_from_path(write_folder(tmp_path / "caps", texts)).texts.keys() == {"orgs.csv", "users.csv"}
    with pytest.raises(CsvError, match=r"holds users\.csv twice"):
        export_from_zip(zipped({**texts, "users.csv": files()["users.csv"]}), "twice.zip")


def test_files_in_a_folder_of_the_zip_are_named():
    data = zipped({f"lakeside/{name}": text for name, text in files().items()})
    with pytest.raises(CsvError, match=re.escape("holds orgs.csv and users.csv in a folder")):
        export_from_zip(data, "nested.zip")


def test_a_summary_names_the_first_schools_to_complete_and_counts_the_rest():
    orgs = [{"sourcedId": f"school-{n:02}", "name": f"School {n:02}", "type": "school"} for n in range(12)]
    result = run(files([], orgs))
    assert result.summary().splitlines()[-1] == (
        "Schools to complete (level, enrollment, FRL %, locale): School 00, School 01, School 02, School 03, "
        "School 04, School 05, School 06, School 07, School 08, School 09 and 2 more."
    )
    assert len(result.schools_to_complete) == 12


def test_a_1_2_delta_may_change_only_someones_role():
    run(files([ADA]))
    texts = {
        "manifest.csv": "propertyName,value\noneroster.version,1.2\nfile.orgs,absent\nfile.users,delta\nfile.roles,delta\n",
        "users.csv": table(USER_COLUMNS_12, []),
        "roles.csv": table(
            ROLE_COLUMNS,
            [{"userSourcedId": "t-ada", "roleType": "primary", "role": "principal", "orgSourcedId": "school-pine"}],
        ),
    }
    result = run(texts)
    ada = User.objects.get(sourced_id="t-ada")
    assert (ada.role, ada.school, ada.email) == (
        Role.PRINCIPAL,
        School.objects.get(sourced_id="school-pine"),
        "ada@district.org",
    )
    assert [change.changes for change in result.people_changed] == [
        [("Role", "Teacher", "Principal"), ("School", "Oak Elementary", "Pine High School")]
    ]
