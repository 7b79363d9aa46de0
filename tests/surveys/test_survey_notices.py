"""The leadership survey's opening and closing notices: once each, to those asked to answer,
the closing one only to those whose answers are not in."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from portal.notifications.models import Notification, NotificationKind
from surveys.models import Cycle, Response
from surveys.services import CLOSING_NOTICE_DAYS, survey_notices_send
from tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db


def _kinds(user):
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_an_open_cycle_is_announced_once_to_principals_and_leaders(
    cycle, principal, leader, teacher, staff, as_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_notices_send() == (2, 0)
        assert survey_notices_send() == (0, 0)
    assert _kinds(principal) == [NotificationKind.SURVEY_OPEN]
    assert _kinds(leader) == [NotificationKind.SURVEY_OPEN]
    assert _kinds(teacher) == [] and _kinds(staff) == []
    notice = Notification.objects.get(recipient=principal)
    assert notice.url == f"/surveys/{cycle.slug}/respond/"
    assert cycle.name in notice.text
    # By e-mail too, by default, once each.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([principal.email, leader.email])
    page = as_user(principal).get("/notifications/")
    assert cycle.name in page.content.decode()


def test_closing_reminder_goes_once_and_only_to_those_who_have_not_answered(cycle, principal, leader):
    today = cycle.closes_on - timedelta(days=CLOSING_NOTICE_DAYS)
    assert survey_notices_send(today=today) == (2, 0)  # not yet in the last days
    Response.objects.create(cycle=cycle, respondent=leader, role=leader.role)
    last_days = cycle.closes_on - timedelta(days=CLOSING_NOTICE_DAYS - 1)
    assert survey_notices_send(today=last_days) == (0, 1)
    assert survey_notices_send(today=cycle.closes_on) == (0, 0)
    assert _kinds(principal) == [NotificationKind.SURVEY_CLOSING, NotificationKind.SURVEY_OPEN]
    assert _kinds(leader) == [NotificationKind.SURVEY_OPEN]


def test_no_open_cycle_no_notices_and_inactive_people_are_not_told(principal):
    today = timezone.localdate()
    Cycle.objects.create(
        name="Past", slug="past", opens_on=today - timedelta(days=30), closes_on=today - timedelta(days=1)
    )
    assert survey_notices_send() == (0, 0)
    Cycle.objects.create(name="Now", slug="now", opens_on=today, closes_on=today + timedelta(days=20))
    principal.is_active = False
    principal.save()
    assert survey_notices_send() == (0, 0)
    assert not Notification.objects.exists()


def test_a_teacher_never_sees_a_survey_notice_even_if_one_was_written_for_them(cycle, as_user):
    teacher = TeacherFactory()
    Notification.objects.create(
        recipient=teacher,
        kind=NotificationKind.SURVEY_OPEN,
        text="open",
        url="/",
        about_type="surveys.cycle",
        about_id=cycle.pk,
    )
    assert Notification.objects.visible_to(teacher).count() == 0


def test_the_daily_command_sends_them(cycle, principal, capsys):
    call_command("send_survey_notices")
    assert "Sent 1 notice(s)" in capsys.readouterr().out
    assert _kinds(principal) == [NotificationKind.SURVEY_OPEN]
