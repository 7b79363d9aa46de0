from datetime import timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from portal.models import Role, School, User
from practices.models import Status, Visibility

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


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "practices.Practice"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Practice {n}")
    summary = "A short summary."
    description = "How it works."
    intent = "What it is for."
    author = factory.SubFactory(TeacherFactory)
    school = factory.LazyAttribute(lambda practice: practice.author.school)
    status = Status.PUBLISHED
    visibility = Visibility.DISTRICT
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def refresh_search(practice, create, extracted, **kwargs):
        if create:
            practice.search_document = practice.build_search_document()
            practice.save(update_fields=["search_document"])


class IterationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "practices.Iteration"
        skip_postgeneration_save = True

    practice = factory.SubFactory(PracticeFactory)
    position = factory.Sequence(lambda n: n)
    tried = "Something we tried"
    observed = "What we saw"
    changed = "What we changed"

    @factory.post_generation
    def count_on_practice(row, create, extracted, **kwargs):
        if create:
            row.practice.refresh_counts()
            row.practice.save(update_fields=["iteration_count", "failure_count"])


class FailureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "practices.Failure"
        skip_postgeneration_save = True

    practice = factory.SubFactory(PracticeFactory)
    position = factory.Sequence(lambda n: n)
    tried = "Something that failed"
    what_happened = "It went badly"
    why = "Reasons"
    lesson = "A lesson"

    @factory.post_generation
    def count_on_practice(row, create, extracted, **kwargs):
        if create:
            row.practice.refresh_counts()
            row.practice.save(update_fields=["iteration_count", "failure_count"])


class ShowcaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "showcases.Showcase"

    host = factory.SubFactory(PrincipalFactory)
    host_school = factory.LazyAttribute(lambda showcase: showcase.host.school)
    title = factory.Sequence(lambda n: f"Showcase {n}")
    description = "Student-led conferences."
    impact = "Attendance at conferences doubled."
    evidence = "Sign-in sheets and family surveys."
    focus_question = "How do students talk about their own learning?"
    status = "published"


class VisitSlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "showcases.VisitSlot"

    showcase = factory.SubFactory(ShowcaseFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda slot: slot.starts_at + timedelta(hours=2))
    capacity = 5
    location = "Main office"
