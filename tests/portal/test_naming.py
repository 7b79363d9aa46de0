"""How a person is named to each reader: the one rule behind bylines, histories, e-mails and exports."""

import pytest
from django.contrib.auth.models import AnonymousUser

from portal.naming import ANONYMOUS_LABEL, may_name, person_label
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db


def test_a_person_who_is_not_anonymous_is_named_to_everyone(teacher, other_teacher, leader):
    for reader in (teacher, other_teacher, leader, None, AnonymousUser()):
        assert person_label(teacher, reader=reader) == "Tamika Robinson"
        assert may_name(teacher, reader=reader, anonymous=False)


@pytest.mark.parametrize("name", ["principal", "leader", "other_teacher"])
def test_an_anonymous_person_is_not_named_to_colleagues_nor_the_district_office(request, teacher, name):
    reader = request.getfixturevalue(name)
    assert person_label(teacher, reader=reader, anonymous=True) == ANONYMOUS_LABEL
    assert not may_name(teacher, reader=reader, anonymous=True)


def test_an_anonymous_person_is_not_named_to_a_reader_without_an_account(teacher):
    for reader in (None, AnonymousUser()):
        assert person_label(teacher, reader=reader, anonymous=True) == ANONYMOUS_LABEL


def test_an_anonymous_person_sees_it_is_them(teacher):
    assert person_label(teacher, reader=teacher, anonymous=True) == "Anonymous (you)"


def test_district_staff_see_who_an_anonymous_person_is_and_that_others_do_not(teacher, staff):
    label = person_label(teacher, reader=staff, anonymous=True)
    assert "Tamika Robinson" in label and "only district staff" in label


def test_a_deactivated_staff_account_is_not_told(teacher, staff):
    staff.is_active = False
    assert person_label(teacher, reader=staff, anonymous=True) == ANONYMOUS_LABEL


def test_someone_without_a_full_name_is_named_by_username(db):
    person = TeacherFactory(username="jdoe", first_name="", last_name="")
    assert person_label(person, reader=None) == "jdoe"
