"""The navigation shows each person the links their role opens, read from the apps' rules."""

import pytest

pytestmark = pytest.mark.django_db

LINKS = {"Leadership survey": "/surveys/", "Dashboard": "/dashboard/", "Roster import": "/roster/import/"}

EXPECTED = {
    "teacher": set(),
    "principal": {"Leadership survey", "Dashboard"},
    "leader": {"Leadership survey", "Dashboard"},
    "staff": {"Leadership survey", "Dashboard", "Roster import"},
}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_each_role_sees_the_links_it_may_open(as_user, request, persona):
    client = as_user(request.getfixturevalue(persona))
    page = client.get("/practices/").content.decode()
    shown = {name for name, url in LINKS.items() if f'href="{url}"' in page}
    assert shown == EXPECTED[persona]
    for name in shown:
        assert client.get(LINKS[name]).status_code == 200, name
