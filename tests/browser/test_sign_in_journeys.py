import re

import pytest
from django.core import mail

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("name", ["teacher", "principal", "leader", "staff"])
def test_each_role_signs_in_reaches_home_and_signs_out(journey, request, name):
    user = request.getfixturevalue(name)
    journey.sign_in(user.username, TEST_PASSWORD)
    page = journey.page
    assert page.get_by_role("heading", level=1).inner_text() == f"Welcome, {user.first_name}"
    assert user.get_role_display() in page.locator(".role-badge").inner_text()
    journey.sign_out()
    assert page.url.endswith("/accounts/login/")
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_wrong_password_is_explained_and_username_kept(journey, teacher):
    journey.goto("/accounts/login/")
    journey.page.get_by_label("Username or e-mail").fill("teacher")
    journey.page.get_by_label("Password").fill("not-my-password")
    journey.page.get_by_role("button", name="Sign in").click()
    journey.check()
    assert (
        journey.page.get_by_role("alert").inner_text().startswith("That username or e-mail and password do not match")
    )
    assert journey.page.get_by_label("Username or e-mail").input_value() == "teacher"


def test_password_reset_end_to_end(journey, teacher):
    page = journey.page
    journey.goto("/accounts/login/")
    page.get_by_role("link", name=re.compile("Forgotten your password")).click()
    journey.check()
    page.get_by_label("Email").fill(teacher.email)
    page.get_by_role("button", name="Send the link").click()
    journey.check()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+/", str(mail.outbox[0].body))
    assert link is not None, mail.outbox[0].body
    page.goto(link.group(0))
    journey.check()
    page.get_by_label("New password", exact=False).first.fill("lantern-harbor-93")
    page.get_by_label("New password confirmation").fill("lantern-harbor-93")
    page.get_by_role("button", name="Save password").click()
    journey.check()
    assert page.get_by_role("heading", name="Password saved").is_visible()

    journey.sign_in(teacher.email, "lantern-harbor-93")
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Tamika"


def test_skip_link_is_the_first_keyboard_stop_and_moves_to_main(journey, teacher):
    journey.sign_in("teacher", TEST_PASSWORD)
    page = journey.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_staff_imports_a_roster_in_the_browser(journey, staff, tmp_path):
    schools = tmp_path / "schools.csv"
    users = tmp_path / "people.csv"
    schools.write_text("slug,name,level,enrollment,frl_percent,locale\noak,Oak Elementary,elementary,300,40,town\n")
    users.write_text("email,first_name,last_name,role,school\nada@district.org,Ada,Lovelace,teacher,oaks\n")
    page = journey.page
    journey.sign_in("staff", TEST_PASSWORD)
    page.get_by_role("link", name="Roster import").click()
    journey.check()
    page.get_by_label("Schools file (CSV)").set_input_files(str(schools))
    page.get_by_label("People file (CSV)").set_input_files(str(users))
    page.get_by_role("button", name="Check and import").click()
    journey.check()
    assert "people.csv row 2, column school" in page.get_by_role("alert").inner_text()

    users.write_text("email,first_name,last_name,role,school\nada@district.org,Ada,Lovelace,teacher,oak\n")
    page.get_by_label("Schools file (CSV)").set_input_files(str(schools))
    page.get_by_label("People file (CSV)").set_input_files(str(users))
    page.get_by_role("button", name="Check and import").click()
    journey.check()
    assert "Roster imported" in page.get_by_role("status").inner_text()
