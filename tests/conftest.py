"""Personas every view is tried with, and shared fixtures."""

from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client

from portal.models import School, User
from tests.factories import LeaderFactory, PrincipalFactory, SchoolFactory, StaffFactory, TeacherFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def school(db) -> School:
    return SchoolFactory(
        name="Maple Grove Elementary",
        slug="maple-grove",
        level="elementary",
        enrollment=420,
        frl_percent=68,
        locale="city",
    )


@pytest.fixture
def other_school(db) -> School:
    return SchoolFactory(
        name="Riverside Middle School",
        slug="riverside",
        level="middle",
        enrollment=780,
        frl_percent=30,
        locale="suburb",
    )


@pytest.fixture
def teacher(school) -> User:
    return TeacherFactory(username="teacher", first_name="Tamika", last_name="Robinson", school=school)


@pytest.fixture
def principal(school) -> User:
    return PrincipalFactory(username="principal", first_name="Marcus", last_name="Hughes", school=school)


@pytest.fixture
def leader(db) -> User:
    return LeaderFactory(username="leader", first_name="Priya", last_name="Patel")


@pytest.fixture
def staff(db) -> User:
    return StaffFactory(username="staff", first_name="Samuel", last_name="Okafor")


@pytest.fixture
def other_teacher(other_school) -> User:
    return TeacherFactory(username="teacher2", first_name="Kenji", last_name="Yamamoto", school=other_school)


PERSONAS = ["teacher", "principal", "leader", "staff", "other_teacher"]


@pytest.fixture
def as_user() -> Callable[[User], Client]:
    """A new test client signed in as the user, each call: two personas in one test are two clients."""

    def sign_in(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture(params=PERSONAS)
def persona(request) -> tuple[str, User]:
    """Each signed-in persona in turn, by name."""
    return request.param, request.getfixturevalue(request.param)
