"""Hostile input: a clear 4xx or a message next to the field, never a 5xx or the
"back in a moment" page.

PostgreSQL refuses text with a NUL character; a wrapper around every query here refuses it
too, so these tests find such leaks on SQLite as well. Lengths and number ranges are
enforced by PostgreSQL itself: run them there too.
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass, field
from html.parser import HTMLParser
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django import db
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.models import School, User
from practices.models import Practice
from showcases.models import VisitSlot
from surveys.models import Cycle
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db

NUL = "\x00"


# -- Reading pages like a browser --------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str
    value: str
    sent: bool  # whether a browser sends it as the page stands
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)
    submits: list[tuple[str, str]] = field(default_factory=list)


class PageParser(HTMLParser):
    """The forms of a page, and the query parameter names its links use."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.link_parameters: set[str] = set()
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and "href" in a:
            parts = urlsplit(a["href"])
            if parts.query and parts.path in ("", self.page_path):
                self.link_parameters.update(key.split("=")[0] for key in parts.query.split("&"))
        elif tag == "form":
            self._form = Form(action=urlsplit(a.get("action") or self.page_path).path, method=a.get("method", "get"))
            self.forms.append(self._form)
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self._form.submits.append((a["name"], a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                self._form.fields.append(Field(a["name"], "choice", a.get("value", "on"), "checked" in a))
            elif kind not in ("button", "reset"):
                self._form.fields.append(Field(a["name"], kind, a.get("value", ""), True))
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            self._form.submits.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = Field(a["name"], "choice", "", True)
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a or len(self._select.options) == 1:
                self._select.value = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "textarea", "", True)
            self._form.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _refuse_nul(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    """What PostgreSQL's driver does with text holding a NUL, on every database."""
    rows = params if many else [params]
    for row in rows or []:
        values = row.values() if isinstance(row, dict) else row or []
        if any(isinstance(value, str) and NUL in value for value in values):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    return execute(sql, params, many, context)


# -- Hostile inputs found before: each a clear 4xx or a message, never a 5xx --------------


@pytest.fixture(autouse=True)
def _database_refuses_nul():
    """Every test here meets a database that refuses NUL in text, as PostgreSQL does."""
    with connection.execute_wrapper(_refuse_nul):
        yield


def _quiet_client(user=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def browser_payload(client: Client, path: str, action: str | None = None) -> dict[str, list[str]]:
    """What a browser sends for the first form of `path` that posts to `action`, as the page stands."""
    response = client.get(path)
    parser = PageParser(path)
    parser.feed(response.content.decode())
    form = next(f for f in parser.forms if f.method.lower() == "post" and f.action == (action or path))
    data: dict[str, list[str]] = {}
    for field_ in form.fields:
        if field_.sent and field_.kind != "file":
            data.setdefault(field_.name, []).append(field_.value)
    if form.submits:
        name, value = form.submits[0]
        data[name] = [value]
    return data


@pytest.mark.parametrize(
    "path",
    [
        "/practices/?tag=%00",
        "/practices/?q=exit%00tickets",
        "/practices/?school=%00",
        "/showcases/?tag=%00",
        "/showcases/calendar/?month=%00",
        "/dashboard/?download=%00",
        "/admin/practices/practice/?q=%00",
        "/practices/%00/",
    ],
)
def test_a_nul_character_in_the_address_is_a_400_with_a_message(staff, path):
    response = _quiet_client(staff).get(path)
    assert response.status_code in (400, 404), path
    if response.status_code == 400:
        assert b"NUL character" in response.content


def test_a_calendar_feed_token_with_a_nul_is_a_400_without_signing_in():
    response = _quiet_client().get("/showcases/calendar.ics?token=%00")
    assert response.status_code == 400
    assert b"NUL character" in response.content


def test_a_nul_character_in_a_form_field_is_a_400_and_nothing_is_saved(teacher):
    response = _quiet_client(teacher).post("/practices/new/", practice_post(title="Exit\x00tickets"))
    assert response.status_code == 400
    assert b"NUL character" in response.content
    assert not Practice.objects.exists()


def test_a_damaged_session_cookie_signs_the_visitor_out_instead_of_failing(teacher):
    client = _quiet_client(teacher)
    client.cookies["sessionid"] = "damaged\x00session-key"
    response = client.get("/practices/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "10000-01", "2024-13"])
def test_a_month_beyond_the_calendar_shows_this_month_with_a_message(teacher, month):
    response = _quiet_client(teacher).get(f"/showcases/calendar/?month={month}")
    assert response.status_code == 200
    assert response.context["first"] == timezone.localdate().replace(day=1)
    assert "Choose a month as YYYY-MM between 1900 and 2999" in response.content.decode()


@pytest.mark.parametrize("query", ["end=9999-12-31", "start=0001-01-01", "start=9999-12-31&end=9999-12-31"])
def test_dashboard_dates_beyond_the_calendar_are_a_message_next_to_the_field(leader, principal, query):
    for person in (leader, principal):
        response = _quiet_client(person).get(f"/dashboard/?{query}")
        assert response.status_code == 200
        assert "Enter a date between 1900 and 2999." in response.content.decode()


def test_showcase_list_dates_beyond_the_calendar_are_a_message_next_to_the_field(teacher):
    response = _quiet_client(teacher).get("/showcases/?date_from=0001-01-01&date_to=9999-12-31")
    assert response.status_code == 200
    assert response.content.decode().count("Enter a date between 1900 and 2999.") == 2


def test_a_session_at_the_end_of_the_calendar_is_a_message_next_to_the_field(principal):
    client = _quiet_client(principal)
    data = browser_payload(client, "/showcases/new/")
    data.update(
        {
            "title": ["Student-led conferences"],
            "description": ["Students lead."],
            "impact": ["More families come."],
            "evidence": ["Sign-in sheets."],
            "focus_question": ["How do students talk?"],
            "slots-0-starts_at": ["9999-12-31T23:00"],
            "slots-0-ends_at": ["9999-12-31T23:59"],
            "slots-0-capacity": ["5"],
            "slots-0-location": ["Library"],
        }
    )
    response = client.post("/showcases/new/", data)
    assert response.status_code == 400
    assert "Enter a date between 1900 and 2999." in response.content.decode()
    assert not VisitSlot.objects.exists()


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (", ".join(f"{'long tag ' * 8}{n}" for n in range(30)), "Keep each tag to 50 characters"),
        (", ".join(f"t{n}" for n in range(10_000)), "Use at most 20 tags; this has 10000."),
        (", ".join(f"{'tag' * 9}{n:02}" for n in range(20)), "Together the tags may have at most 500 characters"),
    ],
)
def test_tags_the_database_cannot_hold_are_a_message_next_to_the_field(teacher, tags, message):
    response = _quiet_client(teacher).post("/practices/new/", practice_post(tags=tags))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert tags[:200] in response.content.decode()  # what was typed comes back
    assert not Practice.objects.exists()


def test_twenty_short_tags_are_kept(teacher):
    tags = ", ".join(f"tag {n}" for n in range(20))
    response = _quiet_client(teacher).post("/practices/new/", practice_post(tags=tags))
    assert response.status_code == 302
    assert Practice.objects.get().tags.count() == 20


def test_a_practice_of_a_million_different_words_is_saved_and_found(teacher):
    """PostgreSQL refuses a search vector over 1 MB; the searched text is capped below it."""
    words = " ".join(f"w{n:x}q" for n in range(150_000))
    response = _quiet_client(teacher).post("/practices/new/", practice_post(description=words, impact=words))
    assert response.status_code == 302
    practice = Practice.objects.get()
    assert len(practice.search_document) <= 100_000
    assert _quiet_client(teacher).get("/practices/?q=Exit+tickets").context["page"].object_list == [practice]


def test_a_junk_row_count_with_add_another_comes_back_as_the_form(teacher):
    data = practice_post(action="add_iterations")
    data["iterations-TOTAL_FORMS"] = "9" * 5000
    response = _quiet_client(teacher).post("/practices/new/", data)
    assert response.status_code == 200
    assert not Practice.objects.exists()


def test_a_forged_row_count_builds_no_more_rows_than_the_page_allows(teacher):
    data = practice_post()
    data["iterations-TOTAL_FORMS"] = "2147483648"
    response = _quiet_client(teacher).post("/practices/new/", data)
    assert response.status_code == 400
    assert len(response.context["iterations"].forms) <= 30
    assert not Practice.objects.exists()


def test_a_facet_id_no_database_holds_is_a_message_next_to_the_field(teacher):
    response = _quiet_client(teacher).post("/practices/new/", {**practice_post(), "subjects": "99999999999999999999"})
    assert response.status_code == 400
    assert "is not a valid value" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=" + "word+" * 2000, "Search for at most 200 characters."),
        ("created_at__year=99999999999999999999", "created_at__year must be a number of at most four digits."),
        ("created_at__gte=9999-12-31", "created_at__gte must be a date between 1900 and 2999."),
        ("_to_field=", "The _to_field parameter is empty."),
    ],
)
def test_an_admin_list_asked_what_it_cannot_answer_is_a_400_naming_the_parameter(staff, query, message):
    for path in ("/admin/practices/practice/", f"/admin/portal/user/{staff.pk}/change/"):
        response = _quiet_client(staff).get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.content.decode()


def test_an_admin_list_still_filters_and_searches(staff, teacher):
    client = _quiet_client(staff)
    assert client.get("/admin/portal/user/?q=teacher&is_active__exact=1").status_code == 200
    assert client.get("/admin/practices/practice/?created_at__year=2026").status_code == 200


ROSTER_SCHOOLS = "slug,name,level,enrollment,frl_percent,locale\noak,Oak Elementary,elementary,410,62,city\n"
ROSTER_USERS = "email,first_name,last_name,role,school\nada@district.org,Ada,Lovelace,teacher,oak\n"


def _roster_upload(staff, schools: str | bytes, users: str | bytes):  # type: ignore[no-untyped-def]
    def as_file(name: str, text: str | bytes) -> SimpleUploadedFile:
        return SimpleUploadedFile(name, text if isinstance(text, bytes) else text.encode())

    return _quiet_client(staff).post(
        "/roster/import/",
        {"schools_file": as_file("schools.csv", schools), "users_file": as_file("users.csv", users)},
    )


@pytest.mark.parametrize(
    ("schools", "users", "error"),
    [
        (
            ROSTER_SCHOOLS,
            ROSTER_USERS.replace("ada@", "a" * 290 + "@"),
            "users.csv row 2, column email: is longer than 254 characters",
        ),
        (ROSTER_SCHOOLS.replace(",410,", ",99999999999,"), ROSTER_USERS, "must be between 0 and 2,147,483,647"),
        (ROSTER_SCHOOLS.replace(",410,", f",{'9' * 5000},"), ROSTER_USERS, "schools.csv row 2, column enrollment:"),
        (
            ROSTER_SCHOOLS.replace("oak,", "o" * 81 + ","),
            ROSTER_USERS.replace(",oak", "," + "o" * 81),
            "schools.csv row 2, column slug: is longer than 80 characters",
        ),
        (
            ROSTER_SCHOOLS.replace("Oak Elementary", "Oak\x00"),
            ROSTER_USERS,
            "schools.csv row 2, column name: contains a NUL character",
        ),
        (ROSTER_SCHOOLS.replace("Oak Elementary", "O" * 200_000), ROSTER_USERS, "schools.csv row 2"),
    ],
)
def test_roster_rows_the_database_cannot_hold_are_named_by_row_and_column(staff, schools, users, error):
    response = _roster_upload(staff, schools, users)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not User.objects.filter(email__endswith="district.org").exists()


@pytest.mark.parametrize(
    ("schools", "users", "error"),
    [
        (ROSTER_SCHOOLS.replace(",410,", ",99999999999,"), ROSTER_USERS, "column enrollment"),
        (ROSTER_SCHOOLS.replace("Oak Elementary", "Oak\x00"), ROSTER_USERS, "contains a NUL character"),
        (ROSTER_SCHOOLS, ROSTER_USERS.replace("Lovelace", "L" * 200_000), "users.csv row 2"),
    ],
)
def test_the_roster_command_names_such_rows_too(tmp_path, schools, users, error):
    (tmp_path / "schools.csv").write_text(schools)
    (tmp_path / "users.csv").write_text(users)
    errors = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_roster", tmp_path / "schools.csv", tmp_path / "users.csv", stderr=errors)
    assert error in errors.getvalue()
    assert not School.objects.filter(slug="oak").exists()


SURVEY_HEADER = "respondent,role,school_level,enrollment_band,frl_band,locale," + ",".join(
    f"q{k}_{part}" for k in range(1, 8) for part in ("position", "resources", "priority", "comment")
)


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (
            ",principal,,,,,3,yes,high," + "c" * 2001 + ",,,," + ",,,," * 5,
            "column q1_comment: is longer than 2,000 characters",
        ),
        (",principal,,,,,3,yes,high,a\x00b" + ",,,," * 6, "column q1_comment: contains a NUL character"),
        (",principal,,,,,3,yes,high," + "c" * 200_000 + ",,,," * 6, "row 2"),
    ],
)
def test_survey_rows_that_cannot_be_kept_are_named_by_row_and_column(staff, tmp_path, row, error):
    cycle = Cycle.objects.create(
        name="Fall", slug="fall", opens_on=timezone.localdate(), closes_on=timezone.localdate()
    )
    text = f"{SURVEY_HEADER}\n{row}\n"
    response = _quiet_client(staff).post(
        "/surveys/fall/import/", {"file": SimpleUploadedFile("old.csv", text.encode())}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    (tmp_path / "old.csv").write_text(text)
    errors = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_survey_responses", "fall", tmp_path / "old.csv", stderr=errors)
    assert error in errors.getvalue()
    assert not cycle.responses.exists()


def test_a_survey_file_over_5_mb_is_a_message_next_to_the_field(staff):
    Cycle.objects.create(name="Fall", slug="fall", opens_on=timezone.localdate(), closes_on=timezone.localdate())
    big = SimpleUploadedFile("old.csv", SURVEY_HEADER.encode() + b"\n" + b"," * (5 * 1024 * 1024))
    response = _quiet_client(staff).post("/surveys/fall/import/", {"file": big})
    assert response.status_code == 400
    assert "The file is larger than 5 MB." in response.content.decode()


# -- What is an outage ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (db.DataError("value too long for type character varying(254)"), 500),
        (db.IntegrityError("duplicate key value violates unique constraint"), 500),
        (db.ProgrammingError("column does not exist"), 500),
        (ValueError("A string literal cannot contain NUL (0x00) characters."), 500),
        ("OperationalError:57014:canceling statement due to statement timeout", 500),
        ("OperationalError:54000:string is too long for tsvector", 500),
        ("OperationalError:40P01:deadlock detected", 500),
        ("OperationalError::server closed the connection unexpectedly", 503),
        ("OperationalError:57P01:terminating connection due to administrator command", 503),
        ("OperationalError:08006:connection failure", 503),
        ("InterfaceError::connection already closed", 503),
        ("sqlite:5:database is locked", 500),
        ("sqlite:14:unable to open database file", 503),
    ],
)
def test_only_a_lost_database_connection_is_the_back_in_a_moment_page(teacher, error, status):
    if isinstance(error, str):
        kind, code, message = error.split(":", 2)
        if kind == "sqlite":
            driver = sqlite3.OperationalError(message)
            driver.sqlite_errorcode = int(code)  # type: ignore[attr-defined]
            wrapper_class: type[Exception] = db.OperationalError
        else:
            import psycopg2

            driver_class = getattr(psycopg2, kind)
            driver = type(kind, (driver_class,), {"pgcode": code or None})(message)
            wrapper_class = getattr(db, kind)
        error = wrapper_class(message)
        error.__cause__ = driver
    client = _quiet_client(teacher)
    with mock.patch("practices.views.render", side_effect=error):
        response = client.get("/practices/")
    assert response.status_code == status
    assert (b"Back in a moment" in response.content) is (status == 503)
