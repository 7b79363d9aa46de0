import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.models import Role, School, User
from tests.factories import SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def test_teacher_without_school_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="lost", email="lost@example.org", role=Role.TEACHER, school=None)


def test_district_leader_needs_no_school():
    leader = User.objects.create(username="lead", email="lead@example.org", role=Role.DISTRICT_LEADER)
    assert leader.school is None


def test_clean_explains_missing_school():
    user = User(username="p", email="p@example.org", role=Role.PRINCIPAL)
    with pytest.raises(ValidationError) as caught:
        user.full_clean()
    assert "must belong to a school" in str(caught.value)


def test_email_is_unique_whatever_its_case(school):
    TeacherFactory(email="Ada@Example.org", school=school)
    with pytest.raises(IntegrityError), transaction.atomic():
        TeacherFactory(username="ada2", email="ada@example.org", school=school)


def test_school_frl_percent_above_100_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        SchoolFactory(frl_percent=101)


def test_school_bands():
    school = School(enrollment=299, frl_percent=26)
    assert school.enrollment_band == "small"
    assert school.frl_band == "mid_low"
    school.enrollment, school.frl_percent = 1000, 100
    assert (school.enrollment_band, school.frl_band) == ("very_large", "high")
    assert school.get_enrollment_band_display() == "1,000 or more students"


def test_district_staff_role_grants_admin_and_other_roles_do_not(school):
    staff = User.objects.create(username="s", email="s@example.org", role=Role.DISTRICT_STAFF)
    teacher = TeacherFactory(school=school)
    assert staff.is_staff and staff.has_perm("portal.change_school") and staff.has_module_perms("portal")
    assert not staff.has_perm("auth.change_group")
    assert not teacher.is_staff and not teacher.has_perm("portal.change_school")


def test_createsuperuser_gets_a_district_office_role():
    admin = User.objects.create_superuser("root", "root@example.org", "pw-long-enough-123")
    assert admin.role == Role.DISTRICT_STAFF and admin.is_superuser
