"""Practices linked to a showcase are ones every visitor can open: an entry shared only within the
school is refused, by the form and by the save, with a message that says why."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practices.models import Practice, Visibility
from showcases.forms import ShowcaseForm, VisitSlotFormSet
from showcases.models import Showcase
from showcases.services import showcase_save
from tests.factories import PracticeFactory

pytestmark = pytest.mark.django_db

WHY = "shared only within your school, so visitors from other schools could not open it"


def _post(**extra):
    starts = timezone.localtime() + timedelta(days=7)
    return {
        "title": "Student-led conferences",
        "description": "Students lead.",
        "impact": "Attendance doubled.",
        "evidence": "Sign-in sheets.",
        "focus_question": "How do students talk about learning?",
        "action": "publish",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "slots-0-ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "slots-0-capacity": "5",
        "slots-0-location": "Office",
        **extra,
    }


def test_a_school_only_entry_is_refused_saying_why_and_what_was_typed_stays(as_user, principal):
    school_only = PracticeFactory(author=principal, title="Our hallway routine", visibility=Visibility.SCHOOL)
    shared = PracticeFactory(author=principal, title="Goal cards")
    response = as_user(principal).post("/showcases/new/", _post(practices=[str(school_only.pk), str(shared.pk)]))
    assert response.status_code == 400
    errors = response.context["form"].errors["practices"]
    assert errors == [
        "“Our hallway routine” is shared only within your school, so visitors from other schools could not open "
        "it. Share it with the whole district first, or leave it out."
    ]
    page = response.content.decode()
    assert 'id="id_practices_error"' in page and WHY in page
    assert 'value="Student-led conferences"' in page
    assert not Showcase.objects.exists()


def test_several_school_only_entries_are_named_together(as_user, principal):
    first = PracticeFactory(author=principal, title="Alpha", visibility=Visibility.SCHOOL)
    second = PracticeFactory(author=principal, title="Beta", visibility=Visibility.SCHOOL)
    response = as_user(principal).post("/showcases/new/", _post(practices=[str(second.pk), str(first.pk)]))
    (error,) = response.context["form"].errors["practices"]
    assert error.startswith("“Alpha”, “Beta” are shared only within your school") and "open them" in error


def test_an_entry_the_host_may_not_see_is_an_unknown_choice_and_not_named(as_user, principal, other_teacher):
    hidden = PracticeFactory(author=other_teacher, title="Riverside secret", visibility=Visibility.SCHOOL)
    response = as_user(principal).post("/showcases/new/", _post(practices=[str(hidden.pk)]))
    assert response.status_code == 400
    assert "Riverside secret" not in response.content.decode()


def test_an_entry_made_school_only_after_the_form_was_checked_is_refused_by_the_save(principal):
    practice = PracticeFactory(author=principal, title="Goal cards")
    form = ShowcaseForm(_post(practices=[str(practice.pk)]), user=principal)
    slots = VisitSlotFormSet(_post(), instance=form.instance, prefix="slots")
    assert form.is_valid() and slots.is_valid()
    Practice.objects.filter(pk=practice.pk).update(visibility=Visibility.SCHOOL)
    with pytest.raises(ValidationError):
        showcase_save(form=form, slots=slots, user=principal, publish=True)
    assert WHY in form.errors["practices"][0]
    assert not Showcase.objects.exists()


def test_an_edit_linking_an_entry_made_school_only_meanwhile_is_refused(principal):
    practice = PracticeFactory(author=principal, title="Goal cards")
    showcase = Showcase.objects.create(
        host=principal,
        host_school=principal.school,
        title="Conferences",
        description="d",
        impact="i",
        evidence="e",
        focus_question="q",
    )
    data = _post(practices=[str(practice.pk)], title="Conferences", **{"slots-TOTAL_FORMS": "1"})
    form = ShowcaseForm(data, instance=showcase, user=principal)
    slots = VisitSlotFormSet(data, instance=showcase, prefix="slots")
    assert form.is_valid() and slots.is_valid()
    Practice.objects.filter(pk=practice.pk).update(visibility=Visibility.SCHOOL)
    with pytest.raises(ValidationError):
        showcase_save(form=form, slots=slots, user=principal, publish=True)
    assert WHY in form.errors["practices"][0]
    assert not showcase.practices.exists()
