from unittest import mock

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_missing_page_is_a_friendly_404(as_user, teacher):
    response = as_user(teacher).get("/no-such-page/")
    assert response.status_code == 404
    assert b"We could not find that page" in response.content
    assert b"Skip to main content" in response.content


def test_database_outage_gives_a_503_page_not_a_traceback(as_user, teacher):
    client = as_user(teacher)
    client.raise_request_exception = False
    with mock.patch("insights.views.render", side_effect=OperationalError("could not connect to server")):
        response = client.get("/")
    assert response.status_code == 503
    assert b"Back in a moment" in response.content
    assert response["Retry-After"] == "10"


def test_other_errors_give_a_friendly_500_page(as_user, teacher):
    client = as_user(teacher)
    client.raise_request_exception = False
    with mock.patch("insights.views.render", side_effect=RuntimeError("boom")):
        response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"boom" not in response.content


def test_an_error_caused_by_the_database_going_away_is_a_503(as_user, teacher):
    client = as_user(teacher)
    client.raise_request_exception = False

    def fail(*args, **kwargs):
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError as error:
            raise RuntimeError("while rendering") from error

    with mock.patch("insights.views.render", side_effect=fail):
        response = client.get("/")
    assert response.status_code == 503
