"""Notifications: the list and its unread count, what also comes by e-mail, one-click unsubscribe
(RFC 8058) without signing in, and the weekly digest."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.notifications import services
from portal.notifications.models import DIGEST, Notification, NotificationKind, NotificationSettings
from portal.notifications.services import DigestItem, DigestSection, notify
from practices.models import Visibility
from tests.factories import PracticeFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def _tell(recipient, text="Kenji Yamamoto is trying your practice “Exit tickets”", **kwargs):
    kwargs.setdefault("kind", NotificationKind.ADOPTION)
    kwargs.setdefault("url", "/practices/")
    return notify(recipient=recipient, text=text, **kwargs)


def _unsubscribe_link(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    match = re.fullmatch(r"<https?://[^/]+(/notifications/unsubscribe/[^>]+/)>", header)
    assert match, header
    return match.group(1)


def test_a_notice_shows_in_the_list_and_the_navigation_counts_it(as_user, teacher):
    client = as_user(teacher)
    assert "nav-badge" not in client.get("/").content.decode()
    _tell(teacher)
    _tell(teacher, text="Someone asked a question", kind=NotificationKind.QUESTION)
    page = client.get("/notifications/").content.decode()
    assert "Kenji Yamamoto is trying your practice “Exit tickets”" in page
    assert "Someone asked a question" in page
    assert '<span class="nav-badge">2</span><span class="visually-hidden"> unread</span>' in page


def test_opening_a_notice_marks_it_read_and_goes_to_its_page(as_user, teacher):
    notice = _tell(teacher, url="/practices/mine/")
    client = as_user(teacher)
    assert client.get(f"/notifications/{notice.pk}/open/").status_code == 405
    response = client.post(f"/notifications/{notice.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/practices/mine/"
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert "nav-badge" not in client.get("/notifications/").content.decode()


def test_a_notice_pointing_elsewhere_stays_in_the_portal(as_user, teacher):
    notice = _tell(teacher, url="https://example.com/phish")
    assert as_user(teacher).post(f"/notifications/{notice.pk}/open/")["Location"] == "/notifications/"


def test_mark_all_read(as_user, teacher):
    _tell(teacher)
    _tell(teacher)
    client = as_user(teacher)
    assert client.post("/notifications/read/").status_code == 302
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_someone_elses_notice_is_not_found(as_user, teacher, other_teacher):
    notice = _tell(teacher)
    assert as_user(other_teacher).post(f"/notifications/{notice.pk}/open/").status_code == 404
    assert "Exit tickets" not in as_user(other_teacher).get("/notifications/").content.decode()
    assert Notification.objects.get().read_at is None


def test_a_notice_about_an_entry_the_reader_may_not_see_is_never_sent(teacher, other_teacher):
    kept_in_school = PracticeFactory(author=teacher, visibility=Visibility.SCHOOL)
    assert _tell(other_teacher, about=kept_in_school) is None
    assert not Notification.objects.exists()


def test_a_notice_about_an_entry_hidden_since_leaves_the_list_the_count_and_the_mail(
    as_user, teacher, other_teacher, django_capture_on_commit_callbacks
):
    practice = PracticeFactory(author=teacher, title="Hallway routine")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = _tell(other_teacher, text="“Hallway routine” changed", about=practice)
    practice.visibility = Visibility.SCHOOL
    practice.save()
    for callback in callbacks:
        callback()
    assert mail.outbox == []
    client = as_user(other_teacher)
    page = client.get("/notifications/").content.decode()
    assert "Hallway routine" not in page and "nav-badge" not in page
    assert client.post(f"/notifications/{notice.pk}/open/").status_code == 404


def test_nobody_inactive_is_told_anything(teacher):
    teacher.is_active = False
    teacher.save()
    assert _tell(teacher) is None


def test_a_notice_comes_by_email_with_a_one_click_unsubscribe_link(teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _tell(teacher)
    (message,) = mail.outbox
    assert message.to == [teacher.email]
    assert message.subject == "Kenji Yamamoto is trying your practice “Exit tickets”"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = _unsubscribe_link(message)
    assert link in message.body


def test_the_one_click_post_works_without_signing_in_or_a_csrf_token(teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _tell(teacher)
    link = _unsubscribe_link(mail.outbox[0])
    # As a mail program sends it (RFC 8058): no cookies, no token, just this body.
    mail_program = Client(enforce_csrf_checks=True)
    response = mail_program.post(link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "You will no longer get e-mails" in response.content.decode()
    assert NotificationSettings.objects.get(user=teacher).email_off == [NotificationKind.ADOPTION]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _tell(teacher)
        _tell(teacher, kind=NotificationKind.ANSWER, text="The author answered")
    # Only that kind stops; the list still has both.
    assert [message.subject for message in mail.outbox] == ["The author answered"]
    assert Notification.objects.filter(recipient=teacher).count() == 3


def test_opening_the_link_in_a_browser_asks_first_and_changes_nothing(teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _tell(teacher)
    link = _unsubscribe_link(mail.outbox[0])
    page = Client().get(link)
    assert page.status_code == 200
    assert "Stop these e-mails?" in page.content.decode()
    assert not NotificationSettings.objects.filter(user=teacher).exclude(email_off=[]).exists()
    # The page's own button posts to the same link, also without a token.
    assert '<form method="post">' in page.content.decode()


@pytest.mark.parametrize("token", ["nonsense", "WzEsImRpZ2VzdCJd:forged:signature"])
def test_a_damaged_link_says_so(token):
    response = Client().post(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_a_link_for_an_unknown_topic_or_person_does_nothing(teacher):
    for token in (
        services.signing.dumps([teacher.pk, "nonsense"], salt=services.UNSUBSCRIBE_SALT),
        services.signing.dumps([999_999, DIGEST], salt=services.UNSUBSCRIBE_SALT),
    ):
        assert Client().post(f"/notifications/unsubscribe/{token}/").status_code == 400
    assert not NotificationSettings.objects.exists()


def test_choosing_what_comes_by_email(as_user, teacher, django_capture_on_commit_callbacks):
    client = as_user(teacher)
    page = client.get("/notifications/settings/").content.decode()
    assert "Answers to my questions" in page and "weekly digest" in page
    response = client.post("/notifications/settings/", {"topics": [NotificationKind.QUESTION, DIGEST]})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        _tell(teacher)
        _tell(teacher, kind=NotificationKind.QUESTION, text="A question")
    assert [message.subject for message in mail.outbox] == ["A question"]


def test_an_unknown_topic_is_a_message_next_to_the_field(as_user, teacher):
    response = as_user(teacher).post("/notifications/settings/", {"topics": ["everything"]})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_notice_list_runs_a_fixed_number_of_queries(as_user, teacher):
    """Session, user, the page's count, its rows, the unread count: fixed, whatever the number of notices."""
    client = as_user(teacher)
    practice = PracticeFactory(author=TeacherFactory())
    _tell(teacher, about=practice)
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as few:
        client.get("/notifications/")
    for n in range(40):
        _tell(teacher, text=f"Notice {n}", about=practice if n % 2 else None)
    client.get("/notifications/")
    with CaptureQueriesContext(connection) as many:
        client.get("/notifications/")
    assert len(few) == len(many) <= 6


def test_the_navigation_count_costs_no_query_once_counted(as_user, teacher):
    _tell(teacher)
    client = as_user(teacher)
    client.get("/practices/mine/")
    with CaptureQueriesContext(connection) as counted:
        client.get("/practices/mine/")
    assert not any("portal_notification" in query["sql"] for query in counted.captured_queries)


# -- The weekly digest ----------------------------------------------------------------------------


@pytest.fixture
def digest_of_news(monkeypatch):
    """A feature's part of the digest: one item for everyone, dated so the test can move time."""
    published = {"at": timezone.now()}

    def news(user, since):
        if published["at"] < since:
            return []
        return [
            DigestSection("New from schools like yours", [DigestItem("Exit tickets at Riverside", "/practices/1/")])
        ]

    monkeypatch.setattr(services, "_DIGEST_BUILDERS", [news])
    return published


def test_the_digest_goes_once_a_week_with_a_one_click_unsubscribe(teacher, digest_of_news):
    now = timezone.now()
    assert services.digests_send(now=now) == 1
    (message,) = mail.outbox
    assert message.to == [teacher.email]
    assert "Exit tickets at Riverside" in message.body and "/practices/1/" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A second run the same week sends nothing.
    assert services.digests_send(now=now + timedelta(hours=1)) == 0
    # Next week there is nothing new: nothing is sent.
    assert services.digests_send(now=now + timedelta(days=7)) == 0
    digest_of_news["at"] = now + timedelta(days=13)
    assert services.digests_send(now=now + timedelta(days=14)) == 1
    link = _unsubscribe_link(mail.outbox[-1])
    assert (
        Client(enforce_csrf_checks=True)
        .post(link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        .status_code
        == 200
    )
    digest_of_news["at"] = now + timedelta(days=20)
    assert services.digests_send(now=now + timedelta(days=21)) == 0


def test_the_command_sends_the_digests(teacher, digest_of_news):
    out = StringIO()
    call_command("send_digests", stdout=out)
    assert out.getvalue().strip() == "Sent 1 digest."
    assert len(mail.outbox) == 1


def test_nobody_inactive_or_without_an_address_gets_a_digest(teacher, other_teacher, digest_of_news):
    teacher.is_active = False
    teacher.save()
    other_teacher.email = ""
    other_teacher.save()
    assert services.digests_send() == 0
