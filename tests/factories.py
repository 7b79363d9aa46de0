import factory
from django.contrib.auth.hashers import make_password

from portal.models import Role, School, User

TEST_PASSWORD = "correct-horse-battery"


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")
    level = "elementary"
    enrollment = 400
    frl_percent = 50
    locale = "city"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@schools.example.org")
    role = Role.TEACHER
    school = factory.SubFactory(SchoolFactory)
    password = factory.LazyFunction(lambda: make_password(TEST_PASSWORD))


class TeacherFactory(UserFactory):
    role = Role.TEACHER


class PrincipalFactory(UserFactory):
    role = Role.PRINCIPAL


class LeaderFactory(UserFactory):
    role = Role.DISTRICT_LEADER
    school = None


class StaffFactory(UserFactory):
    role = Role.DISTRICT_STAFF
    school = None
