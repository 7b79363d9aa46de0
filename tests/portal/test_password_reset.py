"""Password reset is limited per hour, and known and unknown addresses get the same answer in the same time."""

import re

import pytest
from django.core import mail
from django.test import RequestFactory
from django.urls import resolve

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"


def _page(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _view_only(email: str):
    """Run the reset view the way a server does, stopping before it closes the response."""
    request = RequestFactory().post(RESET, {"email": email})
    vars(request)["_dont_enforce_csrf_checks"] = True  # as Django's test client marks its requests
    return resolve(RESET).func(request)


def test_known_and_unknown_addresses_get_the_same_answer(client, teacher):
    known = client.post(RESET, {"email": teacher.email}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.org"}, follow=True)
    assert [url for url, _ in known.redirect_chain] == [url for url, _ in unknown.redirect_chain]
    assert known.status_code == unknown.status_code == 200
    assert _page(known) == _page(unknown)
    assert [message.to for message in mail.outbox] == [[teacher.email]]


@pytest.mark.parametrize("known", [True, False])
def test_nothing_is_looked_up_or_sent_before_the_answer_has_gone_out(teacher, known, django_assert_num_queries):
    """The time to answer cannot depend on the account: the view does no query at all, and
    the e-mail goes once the server has sent the answer and closes it."""
    email = teacher.email.upper() if known else "nobody@example.org"
    with django_assert_num_queries(0):
        response = _view_only(email)
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert mail.outbox == []
    response.close()
    assert [message.to for message in mail.outbox] == ([[teacher.email]] if known else [])


def test_a_mail_server_failure_after_the_answer_is_logged_not_raised(teacher, settings, caplog):
    settings.EMAIL_BACKEND = "tests.portal.test_password_reset.BrokenBackend"
    response = _view_only(teacher.email)
    assert response.status_code == 302
    with caplog.at_level("ERROR"):
        response.close()
    assert any("reset" in record.getMessage().lower() or record.exc_info for record in caplog.records)


class BrokenBackend:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages) -> int:
        raise OSError("mail server down")


def test_one_address_gets_at_most_the_hourly_number_of_emails(client, teacher, settings):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 3
    for spelling in [teacher.email, teacher.email.upper(), f" {teacher.email} ", teacher.email, teacher.email]:
        response = client.post(RESET, {"email": spelling})
        # The answer never changes, so the limit does not tell whether the address is known.
        assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 3


def test_one_network_address_is_asked_to_wait_after_the_hourly_number_of_requests(client, teacher, settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 4
    for number in range(4):
        assert client.post(RESET, {"email": f"someone{number}@example.org"}).status_code == 302
    refused = client.post(RESET, {"email": teacher.email})
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many requests for a new password" in page
    assert f'value="{teacher.email}"' in page
    assert mail.outbox == []
    # Another network is not affected.
    assert client.post(RESET, {"email": teacher.email}, REMOTE_ADDR="198.51.100.20").status_code == 302
    assert len(mail.outbox) == 1


def test_behind_a_load_balancer_the_limit_is_per_client_not_per_balancer(client, teacher, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 2
    for number in range(2):
        client.post(RESET, {"email": f"x{number}@example.org"}, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert client.post(RESET, {"email": "y@example.org"}, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert client.post(RESET, {"email": "y@example.org"}, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 302


def test_an_invalid_address_keeps_what_was_typed(client):
    response = client.post(RESET, {"email": "not an address"})
    assert response.status_code == 400
    assert 'value="not an address"' in response.content.decode()
