"""A person's role and school must agree, and every refusal is said in words, never as a
constraint's name or a 500: in the admin and in the roster import."""

import pytest
from django.db import IntegrityError, transaction

from portal.lib.csvfile import CsvError
from portal.models import Role, User
from portal.services import roster_import
from tests.factories import TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db

NO_SCHOOLS = "slug,name,level,enrollment,frl_percent,locale\n"


def _change_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "school": user.school_id or "",
        "is_active": "on",
    }
    data.update(changes)
    return data


def _errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.mark.parametrize("role", ["district_leader", "district_staff"])
def test_admin_refuses_a_district_office_role_with_a_school(as_user, request, school, role):
    acting = User.objects.create_superuser("root", "root@example.org", "pw-long-enough-123")
    target = request.getfixturevalue("leader")
    response = as_user(acting).post(
        f"/admin/portal/user/{target.pk}/change/", _change_form(target, role=role, school=school.pk)
    )
    assert response.status_code == 200
    assert _errors(response)["school"] == [
        f"A {Role(role).label.lower()} works for the whole district, not one school: leave the school empty."
    ]
    target.refresh_from_db()
    assert target.school is None


@pytest.mark.parametrize("role", ["teacher", "principal"])
def test_admin_refuses_a_school_role_without_a_school(as_user, staff, leader, role):
    response = as_user(staff).post(f"/admin/portal/user/{leader.pk}/change/", _change_form(leader, role=role))
    assert response.status_code == 200
    assert _errors(response)["school"] == [f"A {role} must belong to a school."]


def test_admin_says_in_words_that_an_email_is_taken_in_any_case(as_user, staff, teacher, leader):
    client = as_user(staff)
    response = client.post(
        f"/admin/portal/user/{leader.pk}/change/", _change_form(leader, email=f"  {teacher.email.upper()} ")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone else already has this e-mail address." in page
    assert "user_email_unique_ci" not in page and "Constraint" not in page
    added = client.post(
        "/admin/portal/user/add/",
        {
            "username": "newbie",
            "email": teacher.email.title(),
            "first_name": "New",
            "last_name": "Person",
            "role": "district_leader",
            "school": "",
            "usable_password": "false",
        },
    )
    assert added.status_code == 200
    assert "Someone else already has this e-mail address." in added.content.decode()
    assert "Constraint" not in added.content.decode()


def test_admin_refuses_a_username_that_differs_only_in_capitals(as_user, staff, teacher, leader):
    response = as_user(staff).post(f"/admin/portal/user/{leader.pk}/change/", _change_form(leader, username="Teacher"))
    assert response.status_code == 200
    assert "username" in _errors(response)
    leader.refresh_from_db()
    assert leader.username == "leader"


def test_roster_refuses_a_district_office_role_with_a_school(school):
    users = "email,first_name,last_name,role,school\nboss@district.org,Bo,Ss,district leader,maple-grove\n"
    with pytest.raises(CsvError) as caught:
        roster_import(schools_text=NO_SCHOOLS, users_text=users)
    assert [str(error) for error in caught.value.errors] == [
        "users.csv row 2, column school: must be empty for a district leader: district-office roles belong to no school"
    ]
    assert not User.objects.filter(email="boss@district.org").exists()


def test_roster_matches_an_address_stored_in_other_capitals(school):
    person = TeacherFactory(username="mixed", school=school)
    User.objects.filter(pk=person.pk).update(email="Mixed.Case@District.org")
    users = "email,first_name,last_name,role,school\nmixed.case@district.org,Mia,Xed,principal,maple-grove\n"
    result = roster_import(schools_text=NO_SCHOOLS, users_text=users)
    assert (result.users_created, result.users_updated) == (0, 1)
    person.refresh_from_db()
    assert (person.first_name, person.role) == ("Mia", Role.PRINCIPAL)


def test_roster_never_generates_a_username_given_to_a_later_row(school):
    users = (
        "email,first_name,last_name,role,school,username\n"
        "ada@district.org,Ada,Lovelace,teacher,maple-grove,\n"
        "bob@district.org,Bob,Builder,teacher,maple-grove,ada\n"
    )
    roster_import(schools_text=NO_SCHOOLS, users_text=users)
    assert User.objects.get(email="bob@district.org").username == "ada"
    assert User.objects.get(email="ada@district.org").username == "ada2"


def test_the_database_refuses_a_district_office_role_with_a_school(school):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role=Role.DISTRICT_LEADER, school=school)
