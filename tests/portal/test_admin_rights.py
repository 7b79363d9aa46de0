"""District staff run the admin, but cannot take over accounts with more rights than their own
(superusers) or act as another admin (other district staff), by any way in."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.lib.csvfile import CsvError
from portal.models import Role, User
from portal.services import roster_import
from tests.factories import TEST_PASSWORD, StaffFactory, TeacherFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "taken-over-account-77"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@district.example.org", TEST_PASSWORD)


@pytest.fixture
def other_staff(db):
    return StaffFactory(username="staff2", first_name="Ines", last_name="Moreau")


@pytest.fixture
def superuser_teacher(school):
    """A superuser who also teaches: the role is not what gives the rights."""
    user = TeacherFactory(username="rootteacher", school=school)
    user.is_superuser = True
    user.save()
    return user


ADMINS = ["superuser", "other_staff", "superuser_teacher"]


def _change_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "school": user.school_id or "",
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("name", ADMINS)
def test_staff_cannot_set_the_password_of_an_admin_account(as_user, staff, request, name):
    target = request.getfixturevalue(name)
    client = as_user(staff)
    url = f"/admin/portal/user/{target.pk}/password/"
    assert client.get(url).status_code == 403
    response = client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert not target.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("name", ADMINS)
def test_staff_cannot_change_an_admin_accounts_email_or_deactivate_it(as_user, staff, request, name):
    target = request.getfixturevalue(name)
    client = as_user(staff)
    url = f"/admin/portal/user/{target.pk}/change/"
    response = client.post(url, _change_form(target, email="attacker@example.org", is_active=""))
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.email != "attacker@example.org" and target.is_active


@pytest.mark.parametrize("name", ADMINS)
def test_staff_see_an_admin_account_read_only(as_user, staff, request, name):
    target = request.getfixturevalue(name)
    page = as_user(staff).get(f"/admin/portal/user/{target.pk}/change/").content.decode()
    assert target.username in page
    assert 'name="email"' not in page and 'name="_save"' not in page


def test_bulk_deactivation_leaves_admin_accounts_alone(as_user, staff, superuser, other_staff, teacher):
    client = as_user(staff)
    response = client.post(
        "/admin/portal/user/",
        {"action": "deactivate", "_selected_action": [superuser.pk, other_staff.pk, teacher.pk, staff.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 people deactivated" in page
    assert "2 not deactivated: only a superuser can change an account that runs the admin" in page
    active = dict(User.objects.values_list("username", "is_active"))
    assert active == {"root": True, "staff2": True, "teacher": False, "staff": True}


def test_staff_still_manage_teachers_and_their_passwords(as_user, staff, teacher):
    client = as_user(staff)
    response = client.post(
        f"/admin/portal/user/{teacher.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.check_password(NEW_PASSWORD)
    response = client.post(f"/admin/portal/user/{teacher.pk}/change/", _change_form(teacher, last_name="Lee"))
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.last_name == "Lee"


def test_staff_edit_their_own_account_but_not_their_role(as_user, staff):
    client = as_user(staff)
    response = client.post(
        f"/admin/portal/user/{staff.pk}/change/", _change_form(staff, first_name="Sam", role="teacher")
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.first_name, staff.role) == ("Sam", Role.DISTRICT_STAFF)


def test_staff_cannot_make_someone_district_staff(as_user, staff, leader, school):
    client = as_user(staff)
    response = client.post(f"/admin/portal/user/{leader.pk}/change/", _change_form(leader, role="district_staff"))
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    leader.refresh_from_db()
    assert leader.role == Role.DISTRICT_LEADER and not leader.is_staff
    added = client.post(
        "/admin/portal/user/add/",
        {
            "username": "newadmin",
            "email": "newadmin@example.org",
            "first_name": "New",
            "last_name": "Admin",
            "role": "district_staff",
            "school": "",
            "usable_password": "false",
        },
    )
    assert added.status_code == 200
    assert not User.objects.filter(username="newadmin").exists()
    assert "Only a superuser can make someone district staff" in client.get("/admin/portal/user/add/").content.decode()


def test_staff_cannot_hand_out_superuser_rights_or_permissions(as_user, staff, teacher):
    client = as_user(staff)
    response = client.post(
        f"/admin/portal/user/{teacher.pk}/change/", _change_form(teacher, is_superuser="on", user_permissions=[1])
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert not teacher.is_superuser and not teacher.user_permissions.exists()


def test_a_superuser_manages_every_account(as_user, superuser, staff, leader):
    client = as_user(superuser)
    response = client.post(
        f"/admin/portal/user/{staff.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    response = client.post(f"/admin/portal/user/{leader.pk}/change/", _change_form(leader, role="district_staff"))
    assert response.status_code == 302
    leader.refresh_from_db()
    assert leader.role == Role.DISTRICT_STAFF and leader.is_staff


# --- The roster import ---------------------------------------------------------------------

NO_SCHOOLS = "slug,name,level,enrollment,frl_percent,locale\n"


def _users(*rows: str) -> str:
    return "email,first_name,last_name,role,school,username\n" + "".join(row + "\n" for row in rows)


def test_a_staff_import_cannot_change_a_superuser(staff, superuser, school):
    text = _users(f"{superuser.email},Mallory,Root,teacher,maple-grove,")
    with pytest.raises(CsvError, match="runs the admin: only a superuser can change it"):
        roster_import(schools_text=NO_SCHOOLS, users_text=text, by=staff)
    superuser.refresh_from_db()
    assert superuser.last_name != "Root"


def test_a_staff_import_cannot_take_a_superusers_username_for_another_address(staff, superuser):
    text = _users("attacker@example.org,Mallory,Evil,district_leader,,root")
    with pytest.raises(CsvError, match="'root' belongs to someone else"):
        roster_import(schools_text=NO_SCHOOLS, users_text=text, by=staff)


def test_a_staff_import_may_list_admin_accounts_unchanged(staff, other_staff, teacher):
    text = _users(
        f"{other_staff.email.upper()},{other_staff.first_name},{other_staff.last_name},district_staff,,",
        f"{teacher.email},{teacher.first_name},Renamed,teacher,maple-grove,",
    )
    result = roster_import(schools_text=NO_SCHOOLS, users_text=text, by=staff)
    assert result.users_updated == 1
    teacher.refresh_from_db()
    assert teacher.last_name == "Renamed"


def test_a_staff_import_cannot_make_someone_district_staff(staff, teacher):
    for row in (
        f"{teacher.email},{teacher.first_name},{teacher.last_name},district_staff,,",
        "new@example.org,New,Admin,district staff,,",
    ):
        with pytest.raises(CsvError, match="only a superuser can make someone district staff"):
            roster_import(schools_text=NO_SCHOOLS, users_text=_users(row), by=staff)
    assert not User.objects.filter(email="new@example.org").exists()
    teacher.refresh_from_db()
    assert teacher.role == Role.TEACHER


def test_a_superuser_or_the_command_line_may_import_district_staff(superuser, teacher, db):
    row = f"{teacher.email},{teacher.first_name},{teacher.last_name},district_staff,,"
    roster_import(schools_text=NO_SCHOOLS, users_text=_users(row), by=superuser)
    teacher.refresh_from_db()
    assert teacher.role == Role.DISTRICT_STAFF
    roster_import(schools_text=NO_SCHOOLS, users_text=_users("new@example.org,New,Admin,district_staff,,"))
    assert User.objects.get(email="new@example.org").is_staff


def test_the_import_page_applies_the_staff_members_rights(as_user, staff, superuser):
    response = as_user(staff).post(
        "/roster/import/",
        {
            "schools_file": SimpleUploadedFile("s.csv", NO_SCHOOLS.encode()),
            "users_file": SimpleUploadedFile(
                "u.csv", _users(f"{superuser.email},Mallory,Root,district_leader,,").encode()
            ),
        },
    )
    assert response.status_code == 400
    assert "only a superuser can change it" in response.content.decode()
