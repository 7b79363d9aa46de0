"""The debrief closes the loop: the host sees who has reflected, "I'm trying this" links to the
adoption, and each visitor who has not reflected is reminded once, a few days after the visit."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from practices.models import Adoption, AdoptionStatus, Visibility
from showcases.models import Attendance, RequestStatus, VisitorReflection, VisitRequest
from showcases.services import (
    REFLECTION_REMINDER_AFTER,
    REFLECTION_REMINDER_UNTIL,
    reflection_reminders_send,
    reflection_save,
)
from tests.factories import PracticeFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


def _visited(principal, requester, *, ended_ago=timedelta(days=4), **fields):
    ended = timezone.now() - ended_ago
    slot = VisitSlotFactory(
        showcase__host=principal,
        showcase__title="Student-led conferences",
        starts_at=ended - timedelta(hours=2),
        ends_at=ended,
    )
    return VisitRequest.objects.create(slot=slot, requester=requester, status=RequestStatus.APPROVED, **fields)


# -- Who has reflected


def test_host_sees_which_visitors_have_reflected(as_user, principal, other_teacher, other_school):
    visit = _visited(principal, other_teacher)
    quiet = VisitRequest.objects.create(
        slot=visit.slot,
        requester=TeacherFactory(school=other_school, first_name="Ana", last_name="Lima"),
        status=RequestStatus.APPROVED,
    )
    VisitRequest.objects.create(
        slot=visit.slot,
        requester=TeacherFactory(school=other_school, first_name="Bo", last_name="Chen"),
        status=RequestStatus.APPROVED,
        attendance=Attendance.NO_SHOW,
    )
    VisitorReflection.objects.create(visit_request=visit, noticed="Students named goals.")
    quiet.reflection_reminder_sent_at = timezone.now()
    quiet.save()
    page = as_user(principal).get(f"/showcases/sessions/{visit.slot_id}/debrief/").content.decode()
    reflected = page.split('id="h-reflected"')[1]
    assert "Kenji Yamamoto, Riverside Middle School — <strong>reflected</strong>" in reflected
    assert "Ana Lima, Riverside Middle School — not yet" in reflected and "(reminded " in reflected
    assert "Bo Chen, Riverside Middle School — no-show" in reflected


def test_visitors_do_not_get_the_follow_up_list(as_user, principal, other_teacher):
    visit = _visited(principal, other_teacher)
    page = as_user(other_teacher).get(f"/showcases/sessions/{visit.slot_id}/debrief/").content.decode()
    assert 'id="h-reflected"' not in page


def test_debrief_runs_the_same_queries_whatever_the_visitors(as_user, principal, other_teacher, other_school):
    """Session, user, the session, its visitors with their reflections, linked entries and
    adoptions, and which linked entries the reader may open."""
    practice = PracticeFactory(author=principal)
    visit = _visited(principal, other_teacher)
    visit.slot.showcase.practices.add(practice)
    client = as_user(principal)

    def count() -> int:
        client.get(f"/showcases/sessions/{visit.slot_id}/debrief/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/showcases/sessions/{visit.slot_id}/debrief/").status_code == 200
        return len(queries)

    reflection_save(visit=visit, noticed="Goals.", will_try="Cards.", practice=practice, trying=True)
    few = count()
    for _ in range(4):
        more = VisitRequest.objects.create(
            slot=visit.slot, requester=TeacherFactory(school=other_school), status=RequestStatus.APPROVED
        )
        reflection_save(visit=more, noticed="Goals.", will_try="Cards.", practice=practice, trying=True)
    assert count() == few


# -- "I'm trying this" links to the adoption


def test_trying_this_links_the_reflection_to_the_adoption(as_user, principal, other_teacher):
    practice = PracticeFactory(author=principal, title="Goal cards")
    visit = _visited(principal, other_teacher)
    visit.slot.showcase.practices.add(practice)
    response = as_user(other_teacher).post(
        f"/showcases/requests/{visit.pk}/reflect/",
        {"noticed": "Students named goals.", "will_try": "Goal cards.", "practice": str(practice.pk), "trying": "on"},
    )
    assert response.status_code == 302
    adoption = Adoption.objects.get()
    assert (adoption.practice, adoption.user, adoption.status) == (practice, other_teacher, AdoptionStatus.TRYING)
    assert VisitorReflection.objects.get().adoption == adoption
    # The debrief shows the adoption as it stands now.
    adoption.status = AdoptionStatus.ADOPTED
    adoption.save()
    page = as_user(principal).get(f"/showcases/sessions/{visit.slot_id}/debrief/").content.decode()
    assert f'<dt>Trying it</dt><dd><a href="/practices/{practice.pk}/#h-trying-list">Adopted</a>' in page


def test_a_reflection_without_trying_links_no_adoption(principal, other_teacher):
    practice = PracticeFactory(author=principal)
    visit = _visited(principal, other_teacher)
    reflection = reflection_save(visit=visit, noticed="Goals.", will_try="", practice=practice, trying=False)
    assert reflection.adoption is None and not Adoption.objects.exists()


def test_editing_the_reflection_keeps_one_adoption(principal, other_teacher):
    practice = PracticeFactory(author=principal)
    visit = _visited(principal, other_teacher)
    reflection_save(visit=visit, noticed="Goals.", will_try="Cards.", practice=practice, trying=True)
    reflection = reflection_save(
        visit=visit, noticed="Goals, again.", will_try="Cards.", practice=practice, trying=True
    )
    assert Adoption.objects.count() == 1 and reflection.adoption == Adoption.objects.get()


def test_an_adoption_of_an_entry_the_reader_may_not_open_is_not_shown(as_user, principal, other_teacher):
    hidden = PracticeFactory(author=other_teacher, title="Riverside notes", visibility=Visibility.SCHOOL)
    visit = _visited(principal, other_teacher)
    adoption = Adoption.objects.create(practice=hidden, user=other_teacher, status=AdoptionStatus.TRYING)
    VisitorReflection.objects.create(visit_request=visit, noticed="Goals.", practice=hidden, adoption=adoption)
    page = as_user(principal).get(f"/showcases/sessions/{visit.slot_id}/debrief/").content.decode()
    assert "Riverside notes" not in page and "Trying it" not in page


# -- One reminder to reflect


def test_one_reminder_to_reflect_a_few_days_after_the_visit(principal, other_teacher, mailoutbox):
    visit = _visited(principal, other_teacher)
    assert reflection_reminders_send() == 1
    assert reflection_reminders_send() == 0
    (message,) = mailoutbox
    assert message.to == [other_teacher.email]
    assert message.subject == "What did you notice at “Student-led conferences”?"
    assert f"/showcases/requests/{visit.pk}/reflect/" in message.body
    visit.refresh_from_db()
    assert visit.reflection_reminder_sent_at is not None


@pytest.mark.parametrize(
    "case",
    ["too soon", "too long ago", "reflected", "no-show", "not approved", "cancelled session", "already reminded"],
)
def test_no_reminder_to_reflect_when_it_is_not_due(principal, other_teacher, mailoutbox, case):
    ended_ago = {
        "too soon": REFLECTION_REMINDER_AFTER - timedelta(hours=1),
        "too long ago": REFLECTION_REMINDER_UNTIL + timedelta(days=1),
    }.get(case, timedelta(days=4))
    visit = _visited(principal, other_teacher, ended_ago=ended_ago)
    if case == "reflected":
        VisitorReflection.objects.create(visit_request=visit, noticed="Goals.")
    elif case == "no-show":
        VisitRequest.objects.filter(pk=visit.pk).update(attendance=Attendance.NO_SHOW)
    elif case == "not approved":
        VisitRequest.objects.filter(pk=visit.pk).update(status=RequestStatus.CANCELLED)
    elif case == "cancelled session":
        visit.slot.cancelled_at = timezone.now()
        visit.slot.save()
    elif case == "already reminded":
        VisitRequest.objects.filter(pk=visit.pk).update(reflection_reminder_sent_at=timezone.now())
    assert reflection_reminders_send() == 0
    assert mailoutbox == []


def test_the_daily_command_sends_reminders_to_reflect_once(principal, other_teacher, mailoutbox, capsys):
    _visited(principal, other_teacher)
    call_command("send_visit_reminders")
    call_command("send_visit_reminders")
    reminders = [message for message in mailoutbox if message.subject.startswith("What did you notice")]
    assert len(reminders) == 1
    assert "1 reminder(s) to reflect" in capsys.readouterr().out
