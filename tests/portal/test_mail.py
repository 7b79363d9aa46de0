"""Every e-mail goes through portal.lib.mail: one-line subjects, and a failed send never breaks
the action it reports, which is already saved."""

from collections.abc import Sequence

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from portal import services as portal_services
from portal.forms import PortalPasswordResetForm
from portal.lib.mail import SUBJECT_MAX_LENGTH, send_quietly
from portal.models import User
from portal.notifications import services as notification_services
from practices.models import Adoption
from showcases.models import VisitRequest
from tests.factories import PracticeFactory, ShowcaseFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    """A mail backend that fails in a way no mail server error looks like."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise RuntimeError("the mail library broke")


def test_a_subject_with_line_breaks_is_sent_on_one_line():
    assert send_quietly(EmailMessage("Visit\r\n  to\nroom 12\t now", "Body", to=["a@example.org"]))
    assert mail.outbox[0].subject == "Visit to room 12 now"


def test_a_very_long_subject_is_cut():
    assert send_quietly(EmailMessage("word " * 200, "Body", to=["a@example.org"]))
    assert len(mail.outbox[0].subject) <= SUBJECT_MAX_LENGTH


def test_any_failure_is_logged_not_raised(settings, caplog):
    settings.EMAIL_BACKEND = "tests.portal.test_mail.BrokenBackend"
    with caplog.at_level("ERROR", logger="portal.lib.mail"):
        assert send_quietly(EmailMessage("Hello", "Body", to=["a@example.org"])) is False
    assert any("Could not send e-mail 'Hello'" in record.getMessage() for record in caplog.records)


def test_a_message_that_fails_to_build_is_logged_not_raised(caplog):
    def build() -> EmailMessage:
        raise ValueError("a template failed")

    with caplog.at_level("ERROR", logger="portal.lib.mail"):
        assert send_quietly(build) is False
    assert any("Could not send e-mail" in record.getMessage() for record in caplog.records)


def test_a_showcase_title_with_a_line_break_does_not_break_requests_to_visit_it(
    as_user, principal, other_teacher, django_capture_on_commit_callbacks
):
    showcase = ShowcaseFactory(host=principal, title="Student-led\nconferences", status="published")
    slot = VisitSlotFactory(showcase=showcase)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(
            f"/showcases/sessions/{slot.pk}/request/", {f"slot{slot.pk}-seats": "1", f"slot{slot.pk}-message": ""}
        )
    assert response.status_code == 302
    assert VisitRequest.objects.filter(slot=slot, requester=other_teacher).exists()
    (message,) = mail.outbox
    assert message.subject == "New visit request for “Student-led conferences”"


def test_a_broken_mail_library_does_not_turn_a_saved_adoption_into_an_error(
    as_user, teacher, other_teacher, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.portal.test_mail.BrokenBackend"
    practice = PracticeFactory(author=teacher)
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level("ERROR", logger="portal.lib.mail"):
        response = as_user(other_teacher).post(f"/practices/{practice.pk}/adopt/", {"adoption-status": "trying"})
    assert response.status_code == 302
    assert Adoption.objects.filter(practice=practice, user=other_teacher).exists()
    assert any("Could not send e-mail" in record.getMessage() for record in caplog.records)


def test_password_reset_mail_goes_through_the_portal_and_survives_a_broken_mail_library(
    client, teacher, settings, caplog
):
    settings.EMAIL_BACKEND = "tests.portal.test_mail.BrokenBackend"
    form = PortalPasswordResetForm({"email": teacher.email})
    assert form.is_valid()
    with caplog.at_level("ERROR", logger="portal.lib.mail"):
        form.save(domain_override="portal.example.org")
    assert any("Could not send e-mail" in record.getMessage() for record in caplog.records)


def test_an_invitation_that_fails_to_build_is_logged_and_the_others_still_go(teacher, principal, monkeypatch, caplog):
    real = portal_services.password_setup_url

    def failing_for_teacher(*, user: User) -> str:
        if user == teacher:
            raise RuntimeError("token generator broke")
        return real(user=user)

    monkeypatch.setattr(portal_services, "password_setup_url", failing_for_teacher)
    with caplog.at_level("ERROR", logger="portal.lib.mail"):
        assert portal_services.invitations_send(users=[teacher, principal]) == 1
    assert [message.to for message in mail.outbox] == [[principal.email]]
    assert any("Could not send e-mail" in record.getMessage() for record in caplog.records)


def test_a_notice_to_an_author_that_fails_to_build_does_not_break_the_saved_adoption(
    as_user, teacher, other_teacher, monkeypatch, django_capture_on_commit_callbacks
):
    def broken_template(*args: object, **kwargs: object) -> str:
        raise RuntimeError("template broke")

    monkeypatch.setattr(notification_services, "render_to_string", broken_template)
    practice = PracticeFactory(author=teacher)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(f"/practices/{practice.pk}/adopt/", {"adoption-status": "trying"})
    assert response.status_code == 302
    assert Adoption.objects.filter(practice=practice, user=other_teacher).exists()
    assert mail.outbox == []
