import csv
import io
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from portal import forms
from portal.lib.csvfile import CsvError
from portal.models import Role, RosterImport, RosterImportKind, School, User
from portal.services import roster_import

pytestmark = pytest.mark.django_db

SCHOOLS = """slug,name,level,enrollment,frl_percent,locale
oak-elementary,Oak Elementary,elementary,410,62,city
pine-high,Pine High School,High,"1,200",35%,suburb
"""
USERS = """email,first_name,last_name,role,school
ada@district.org,Ada,Lovelace,teacher,oak-elementary
grace@district.org,Grace,Hopper,Principal,pine-high
edsger@district.org,Edsger,Dijkstra,district leader,
"""


def test_import_creates_schools_and_people_and_invites_them(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = roster_import(schools_text=SCHOOLS, users_text=USERS)
    assert (result.schools_created, result.users_created) == (2, 3)
    pine = School.objects.get(slug="pine-high")
    assert (pine.level, pine.enrollment, pine.frl_percent, pine.locale) == ("high", 1200, 35, "suburb")
    grace = User.objects.get(email="grace@district.org")
    assert (grace.role, grace.school, grace.username) == (Role.PRINCIPAL, pine, "grace")
    assert not grace.has_usable_password()
    assert User.objects.get(email="edsger@district.org").role == Role.DISTRICT_LEADER
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        ["ada@district.org", "grace@district.org", "edsger@district.org"]
    )


def test_invitation_link_lets_a_new_person_set_a_password_and_sign_in(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        roster_import(schools_text=SCHOOLS, users_text=USERS)
    message = next(m for m in mail.outbox if m.to == ["ada@district.org"])
    found = re.search(r"http://127\.0\.0\.1:8000(/accounts/reset/\S+/)", str(message.body))
    assert found is not None
    form = client.get(found.group(1), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": "quiet-river-77", "new_password2": "quiet-river-77"})
    response = client.post("/accounts/login/", {"username": "ada@district.org", "password": "quiet-river-77"})
    assert response.status_code == 302


def test_invitation_never_contains_a_password(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        roster_import(schools_text=SCHOOLS, users_text=USERS)
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert not re.search(r"password\s*:", str(message.body), re.IGNORECASE)


def test_rerunning_updates_instead_of_duplicating(django_capture_on_commit_callbacks):
    roster_import(schools_text=SCHOOLS, users_text=USERS)
    changed = USERS.replace("Ada,Lovelace,teacher,oak-elementary", "Ada,King,teacher,pine-high")
    with django_capture_on_commit_callbacks(execute=True):
        result = roster_import(schools_text=SCHOOLS.replace("410", "455"), users_text=changed)
    assert (result.schools_created, result.schools_updated, result.users_created, result.users_updated) == (0, 2, 0, 3)
    assert School.objects.count() == 2 and User.objects.count() == 3
    ada = User.objects.get(email="ada@district.org")
    assert ada.school is not None and (ada.last_name, ada.school.slug) == ("King", "pine-high")
    assert School.objects.get(slug="oak-elementary").enrollment == 455
    assert mail.outbox == []


def test_one_bad_row_changes_nothing_and_names_row_and_column():
    bad_users = USERS + "alan@district.org,Alan,Turing,janitor,oak-elementary\n"
    with pytest.raises(CsvError) as caught:
        roster_import(schools_text=SCHOOLS, users_text=bad_users, users_filename="people.csv")
    assert [str(error) for error in caught.value.errors] == [
        "people.csv row 5, column role: 'janitor' is not one of teacher, principal, district_leader, district_staff"
    ]
    assert School.objects.count() == 0 and User.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("schools", "users", "expected"),
    [
        (
            SCHOOLS.replace("62,city", "162,city"),
            USERS,
            "schools.csv row 2, column frl_percent: '162' must be between 0 and 100",
        ),
        (
            SCHOOLS.replace("410", "four hundred"),
            USERS,
            "schools.csv row 2, column enrollment: 'four hundred' must be a whole number",
        ),
        (SCHOOLS.replace(",city", ",downtown"), USERS, "schools.csv row 2, column locale: 'downtown' is not one of"),
        (
            SCHOOLS + "oak-elementary,Oak Again,elementary,1,1,city\n",
            USERS,
            "schools.csv row 4, column slug: 'oak-elementary' appears twice",
        ),
        (
            SCHOOLS,
            USERS.replace("ada@district.org", "ada-at-district"),
            "users.csv row 2, column email: 'ada-at-district' is not a valid",
        ),
        (
            SCHOOLS,
            USERS.replace("teacher,oak-elementary", "teacher,"),
            "users.csv row 2, column school: is required for a teacher",
        ),
        (
            SCHOOLS,
            USERS.replace("oak-elementary", "elm-elementary"),
            "users.csv row 2, column school: no school with slug 'elm-elementary'",
        ),
        (
            SCHOOLS,
            USERS + "ADA@district.org,Ada,Twice,teacher,oak-elementary\n",
            "users.csv row 5, column email: 'ada@district.org' appears twice",
        ),
        (SCHOOLS.replace("locale", "locality"), USERS, "schools.csv row 1, column locale: required column is missing"),
        (SCHOOLS, USERS.replace("first_name", "firstname"), "users.csv row 1, column firstname: unknown column"),
        ("", USERS, "schools.csv row 1: the file is empty"),
        (
            SCHOOLS.replace("Oak Elementary", '"Oak\nElementary"'),
            USERS,
            "schools.csv row 2, column name: contains a line break or another control character",
        ),
        (
            SCHOOLS,
            USERS.replace("Ada,", "Ada\x1b[2J,"),
            "users.csv row 2, column first_name: contains a line break or another control character",
        ),
    ],
)
def test_each_kind_of_bad_value_is_reported_precisely(schools, users, expected):
    with pytest.raises(CsvError) as caught:
        roster_import(schools_text=schools, users_text=users)
    assert any(str(error).startswith(expected) for error in caught.value.errors), caught.value.errors
    assert User.objects.count() == 0


def test_all_problems_are_reported_at_once():
    users = USERS.replace("ada@district.org", "bad").replace("Principal", "boss")
    with pytest.raises(CsvError) as caught:
        roster_import(schools_text=SCHOOLS, users_text=users)
    assert [(e.row, e.column) for e in caught.value.errors] == [(2, "email"), (3, "role")]


def test_username_taken_by_someone_else_is_refused(teacher):
    users = "email,first_name,last_name,role,school,username\nnew@district.org,New,Person,teacher,maple-grove,teacher\n"
    with pytest.raises(CsvError, match=r"users\.csv row 2, column username: 'teacher' belongs to someone else"):
        roster_import(schools_text="slug,name,level,enrollment,frl_percent,locale\n", users_text=users)


def test_generated_usernames_do_not_clash(teacher):
    users = "email,first_name,last_name,role,school\nteacher@other.org,Second,Teacher,teacher,maple-grove\n"
    roster_import(schools_text="slug,name,level,enrollment,frl_percent,locale\n", users_text=users)
    assert User.objects.get(email="teacher@other.org").username == "teacher2"


def test_command_imports_files(tmp_path):
    (tmp_path / "schools.csv").write_text("\ufeff" + SCHOOLS, encoding="utf-8")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    call_command("import_roster", str(tmp_path / "schools.csv"), str(tmp_path / "users.csv"))
    assert User.objects.count() == 3


def test_command_reports_errors_and_changes_nothing(tmp_path, capsys):
    (tmp_path / "schools.csv").write_text(SCHOOLS.replace("62", "sixty"), encoding="utf-8")
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported: 1 problem"):
        call_command("import_roster", str(tmp_path / "schools.csv"), str(tmp_path / "users.csv"))
    assert "schools.csv row 2, column frl_percent" in capsys.readouterr().err
    assert School.objects.count() == 0


def _upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_staff_page_imports_uploaded_files(as_user, staff):
    client = as_user(staff)
    response = client.post(
        "/roster/import/",
        {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", USERS)},
        follow=True,
    )
    assert b"Roster imported" in response.content
    assert User.objects.filter(email="ada@district.org").exists()


def test_an_import_is_recorded_with_who_ran_it_the_files_and_the_counts(staff):
    roster_import(
        schools_text=SCHOOLS,
        users_text=USERS,
        schools_filename="schools-2026.csv",
        users_filename="people.csv",
        by=staff,
    )
    record = RosterImport.objects.get()
    assert (record.by, record.kind, record.file_name) == (
        staff,
        RosterImportKind.PORTAL_CSV,
        "schools-2026.csv + people.csv",
    )
    assert (record.schools_added, record.schools_updated, record.people_added, record.people_updated) == (2, 0, 3, 0)
    assert (record.people_deactivated, record.people_skipped) == (0, 0)
    assert record.summary == "Schools: 2 added, 0 updated. People: 3 added, 0 updated. Invitations sent: 3."

    roster_import(schools_text=SCHOOLS, users_text=USERS)  # the same files again, from the command line
    again = RosterImport.objects.latest("pk")
    assert (again.by, again.file_name) == (None, "schools.csv + users.csv")
    assert (again.schools_added, again.schools_updated, again.people_added, again.people_updated) == (0, 2, 0, 3)


def test_a_refused_import_records_nothing():
    with pytest.raises(CsvError):
        roster_import(schools_text=SCHOOLS, users_text=USERS.replace("teacher,oak", "tutor,oak"))
    assert RosterImport.objects.count() == 0


def test_the_roster_page_lists_csv_imports_with_the_oneroster_ones(as_user, staff):
    client = as_user(staff)
    client.post("/roster/import/", {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", USERS)})
    page = client.get("/roster/import/").content.decode()
    assert "Portal CSV (schools + people)" in page and "s.csv + u.csv" in page and "Samuel Okafor" in page
    assert "s.csv + u.csv" in client.get("/admin/portal/rosterimport/").content.decode()


def test_staff_page_lists_errors_and_imports_nothing(as_user, staff):
    client = as_user(staff)
    response = client.post(
        "/roster/import/",
        {
            "schools_file": _upload("s.csv", SCHOOLS),
            "users_file": _upload("u.csv", USERS.replace("teacher,oak", "tutor,oak")),
        },
    )
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content
    assert b"u.csv row 2, column role" in response.content
    assert not School.objects.filter(slug="oak-elementary").exists()


def test_the_page_sends_a_district_too_large_for_it_to_oneroster_and_imports_nothing(as_user, staff, monkeypatch):
    """A larger import would outlast the page; blank lines and quoted commas are no person."""
    monkeypatch.setattr(forms, "ROSTER_PAGE_MAX_PEOPLE", 4)
    client = as_user(staff)
    fits = USERS + '"alan@district.org",Alan,"Turing, Jr",teacher,oak-elementary\n\n'
    response = client.post(
        "/roster/import/",
        {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", fits)},
        follow=True,
    )
    assert b"Roster imported" in response.content
    too_many = fits + "kay@district.org,Kay,Sparck,teacher,oak-elementary\n"
    before = (User.objects.count(), RosterImport.objects.count())
    response = client.post(
        "/roster/import/", {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", too_many)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This file lists 5 people; this page imports up to 4 at a time" in page
    assert "Import a district this size from its OneRoster export" in page
    assert (User.objects.count(), RosterImport.objects.count()) == before


@pytest.mark.parametrize("line_end", ["\r", "\r\n"])
def test_the_count_reads_a_file_as_the_import_does(as_user, staff, monkeypatch, line_end):
    """Lone carriage returns (a Mac spreadsheet) and a cell that never closes its quote are
    counted, or named by row, as the import reads them; never a server error."""
    monkeypatch.setattr(forms, "ROSTER_PAGE_MAX_PEOPLE", 2)
    client = as_user(staff)
    over = USERS.replace("\n", line_end)
    response = client.post(
        "/roster/import/", {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", over)}
    )
    assert response.status_code == 400
    assert "This file lists 3 people; this page imports up to 2 at a time" in response.content.decode()
    open_quote = 'email,first_name,last_name,role,school\n"ada@district.org,' + "x" * 140_000 + "\n"
    response = client.post(
        "/roster/import/", {"schools_file": _upload("s.csv", SCHOOLS), "users_file": _upload("u.csv", open_quote)}
    )
    assert response.status_code == 400
    assert "u.csv row 2" in response.content.decode()
    assert not User.objects.filter(email="ada@district.org").exists()


def test_staff_page_rejects_a_file_that_is_not_utf8(as_user, staff):
    client = as_user(staff)
    response = client.post(
        "/roster/import/",
        {
            "schools_file": SimpleUploadedFile("s.csv", "slug,name\nécole,x\n".encode("utf-16")),
            "users_file": _upload("u.csv", USERS),
        },
    )
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


def _resave(text: str, delimiter: str) -> str:
    """The file as a spreadsheet saves it with another delimiter."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(csv.reader(io.StringIO(text)))
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_files_saved_with_semicolons_or_tabs_import_as_with_commas(as_user, staff, delimiter):
    response = as_user(staff).post(
        "/roster/import/",
        {
            "schools_file": _upload("s.csv", "\ufeff" + _resave(SCHOOLS, delimiter)),
            "users_file": _upload("u.csv", _resave(USERS, delimiter)),
        },
        follow=True,
    )
    assert b"Roster imported" in response.content
    pine = School.objects.get(slug="pine-high")
    assert (pine.enrollment, pine.frl_percent) == (1200, 35)
    assert User.objects.get(email="grace@district.org").school == pine


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_problems_in_a_semicolon_or_tab_file_name_row_and_column(as_user, staff, tmp_path, capsys, delimiter):
    users = _resave(USERS.replace("teacher,oak", "tutor,oak"), delimiter)
    page = as_user(staff).post(
        "/roster/import/",
        {"schools_file": _upload("s.csv", _resave(SCHOOLS, delimiter)), "users_file": _upload("u.csv", users)},
    )
    assert page.status_code == 400
    assert "u.csv row 2, column role: &#x27;tutor&#x27; is not one of" in page.content.decode()
    (tmp_path / "schools.csv").write_text(_resave(SCHOOLS.replace("62", "sixty"), delimiter), encoding="utf-8")
    (tmp_path / "users.csv").write_text(_resave(USERS, delimiter), encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported: 1 problem found"):
        call_command("import_roster", str(tmp_path / "schools.csv"), str(tmp_path / "users.csv"))
    assert "schools.csv row 2, column frl_percent: 'sixty' must be a whole number" in capsys.readouterr().err
    assert not School.objects.exists() and not User.objects.filter(email="ada@district.org").exists()


def test_staff_sees_the_import_page_with_the_format(as_user, staff):
    response = as_user(staff).get("/roster/import/")
    assert response.status_code == 200
    assert b"frl_percent" in response.content
