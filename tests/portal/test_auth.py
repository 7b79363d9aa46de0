import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_with_username_lands_on_home(client, teacher):
    response = client.post("/accounts/login/", {"username": "teacher", "password": TEST_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Welcome, Tamika" in response.content


def test_sign_in_with_email_in_any_case(client, teacher):
    response = client.post("/accounts/login/", {"username": teacher.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"


def test_wrong_password_shows_an_error_and_keeps_the_username(client, teacher):
    response = client.post("/accounts/login/", {"username": "teacher", "password": "wrong"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert b'value="teacher"' in response.content


def test_inactive_person_cannot_sign_in(client, teacher):
    teacher.is_active = False
    teacher.save()
    response = client.post("/accounts/login/", {"username": "teacher", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failed_sign_in_is_logged_with_account_and_address(client, teacher, caplog):
    with caplog.at_level("WARNING", logger="portal.signin"):
        client.post("/accounts/login/", {"username": teacher.email.upper(), "password": "wrong"})
    assert any(
        "teacher" in record.getMessage() and "127.0.0.1" in record.getMessage() and record.name == "portal.signin"
        for record in caplog.records
    )


def test_logout_refuses_get_and_signs_out_on_post(client, teacher):
    client.force_login(teacher)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_session_expiry_is_pushed_on_by_activity(client, teacher, settings):
    client.force_login(teacher)
    first = client.get("/")
    cookie = first.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    # Within the touch interval nothing is written...
    assert settings.SESSION_COOKIE_NAME not in client.get("/").cookies
    # ...after it, the next request renews the expiry.
    session = client.session
    session["_last_touch"] -= 3600
    session.save()
    renewed = client.get("/")
    assert int(renewed.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) == settings.SESSION_COOKIE_AGE


def test_session_ends_after_the_idle_timeout(client, teacher):
    client.force_login(teacher)
    client.get("/")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_password_change(client, teacher):
    client.force_login(teacher)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-brand-new-secret-9",
            "new_password2": "a-brand-new-secret-9",
        },
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.check_password("a-brand-new-secret-9")


def _link_from(message) -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body)
    assert found is not None, message.body
    return found.group(1)


def test_password_reset_by_email_end_to_end(client, teacher):
    response = client.post("/accounts/password_reset/", {"email": teacher.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [teacher.email]
    link = _link_from(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert b"Choose your password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "sunny-meadow-42x", "new_password2": "sunny-meadow-42x"}
    )
    assert done.status_code == 302
    assert client.post("/accounts/login/", {"username": "teacher", "password": "sunny-meadow-42x"}).status_code == 302


def test_password_reset_reaches_people_who_never_set_a_password(client, teacher):
    teacher.set_unusable_password()
    teacher.save()
    client.post("/accounts/password_reset/", {"email": teacher.email})
    assert len(mail.outbox) == 1


def test_password_reset_for_unknown_address_sends_nothing_and_reveals_nothing(client, teacher):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.org"}, follow=True)
    assert b"Check your e-mail" in response.content
    assert mail.outbox == []
