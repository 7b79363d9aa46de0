"""Hostile input: a clear 4xx or a message next to the field, never a 5xx or the
"back in a moment" page.

PostgreSQL refuses text with a NUL character; a wrapper around every query here refuses it
too, so these tests find such leaks on SQLite as well. Lengths and number ranges are
enforced by PostgreSQL itself: run them there too.
"""

from __future__ import annotations

import copy
import importlib
import io
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django import db
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.core.signals import got_request_exception
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from reversion.models import Version

from portal.models import School, User
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify, unsubscribe_token
from portal.oneroster import oneroster_run_check, oneroster_run_start
from practices.models import Adoption, AdoptionReport, Collection, CollectionItem, Follow, Practice, Question
from showcases.models import CalendarFeed, VisitorReflection, VisitRequest, VisitSlot
from surveys.models import Cycle
from surveys.services import responses_import
from tests.factories import FailureFactory, IterationFactory, VisitSlotFactory
from tests.portal.test_oneroster import files as oneroster_files
from tests.portal.test_oneroster import zipped
from tests.practices.helpers import practice_post

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse  # what the test client answers, as the stubs name it

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


def _refuse_nul(execute, sql, params, many, context):
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


def _quiet_client(user=None) -> Client:
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
    assert response.status_code == 400, path
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
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


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


def test_a_linked_entry_id_no_database_holds_is_a_message_next_to_the_field(principal, leader):
    for person in (principal, leader):
        client = _quiet_client(person)
        data = browser_payload(client, "/showcases/new/")
        data.update({"practices": ["99999999999999999999"], "host_school": ["99999999999999999999"]})
        response = client.post("/showcases/new/", data)
        assert response.status_code == 400


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


def _roster_upload(staff, schools: str | bytes, users: str | bytes):
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
            driver.sqlite_errorcode = int(code)
            wrapper_class: type[Exception] = db.OperationalError
        else:
            # The driver ships no type stubs: loaded by name, its classes found by name.
            driver_class = getattr(importlib.import_module("psycopg2"), kind)
            driver = type(kind, (driver_class,), {"pgcode": code or None})(message)
            wrapper_class = getattr(db, kind)
        error = wrapper_class(message)
        error.__cause__ = driver
    client = _quiet_client(teacher)
    with mock.patch("practices.views.render", side_effect=error):
        response = client.get("/practices/")
    assert response.status_code == status
    assert (b"Back in a moment" in response.content) is (status == 503)


# -- Every address, every persona, hostile values -----------------------------------------
#
# Every URL pattern is walked (portal.urls and all it includes, the admin too) and its path
# parameters are filled with objects of a small district. Then, as an anonymous visitor, a
# teacher, a teacher of another school, a principal, a district leader and district staff:
# - GET: each query parameter the view reads (recorded while it answers, plus those its
#   page's links and GET forms use) gets hostile values alone, and all of them together;
# - POST: every form the pages render is sent as a browser would fill it in, with each
#   field in turn given hostile values of its kind, and with every field hostile at once.
# No answer may be a 5xx or the "back in a moment" page. Each request runs in a savepoint
# that is rolled back, so every request meets the same district.

# `make test` sends every hostile value to all of a page's parameters and form fields at once;
# FUZZ_DEPTH=full (a few minutes) also sends them to each parameter and each field alone.
FULL = os.environ.get("FUZZ_DEPTH") == "full"
ROLES = ["anonymous", "teacher", "other_teacher", "principal", "leader", "staff"]
LONG = "Lorem ipsum dolor sit amet " * 7_600  # about 200 KB
UNICODE = "Ünïcødé ✓ 𝔘 👩🏽‍🏫 \u202eltr\u202c ١٢٣ ＡＢＣ"
HUGE = "99999999999999999999"
SEVERAL = ["1", "2", "x"]  # the parameter sent three times
# Every kind of hostile value, sent to all the parameters of a page at once.
HOSTILE: list[str | list[str]] = [
    NUL,
    f"a{NUL}b",
    LONG,
    UNICODE,
    "",
    "-1",
    HUGE,
    "2147483648",
    "9" * 5000,
    "1e309",
    "9999-12-31",
    "0001-01-01",
    "2024-02-30",
    "9999-12-31T23:59",
    SEVERAL,
]
# Sent to each parameter alone.
SHARP: list[str | list[str]] = [f"a{NUL}b", LONG, "-1", HUGE, "9999-12-31", "0001-01-01", SEVERAL]
# Sent to each form field alone, by the kind of input it is.
BY_KIND: dict[str, list[str | list[str]]] = {
    "text": [f"a{NUL}b", LONG],
    "number": ["-1", HUGE, "2147483648", "32768", "1e309", "9" * 5000],
    "date": ["9999-12-31", "0001-01-01", "2024-02-30", "99999-01-01"],
    "datetime-local": ["9999-12-31T23:59", "0001-01-01T00:00", "2024-02-30T10:00", "9999-12-31 23:59:59"],
    "choice": [f"a{NUL}b", "no-such-choice", HUGE, "-1", SEVERAL],
    "hidden": [f"a{NUL}b", "", "-1", HUGE, "9" * 5000, LONG, SEVERAL],
}
TEXT_KINDS = {"text", "textarea", "email", "password", "search", "url", "tel"}
# Parameters every admin list understands, tried when a view reads the whole query.
ADMIN_PARAMETERS = ["q", "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"]
PROBE = "fuzz-probe"
ADMIN = "/admin/"
# Sent to each parameter of an admin page alone (the admin's many filters make a long list).
ADMIN_ALONE: list[str | list[str]] = ["", HUGE, "9999-12-31", "0001-01-01", LONG]


def kind_of(field_: Field) -> str:
    if field_.kind in TEXT_KINDS:
        return "text"
    return field_.kind if field_.kind in BY_KIND else "hidden"


def hostile_files(name: str) -> Iterator[SimpleUploadedFile]:
    """Uploads that are not what they claim to be."""
    yield SimpleUploadedFile(f"{name}.csv", b"slug,name\x00\n\x00,\x00\n")
    yield SimpleUploadedFile(f"{name}.csv", b"email,first_name\n" + b"a" * 200_000 + b",b\n")
    yield SimpleUploadedFile(f"{name}.csv", b"\xff\xfe\x00\xd8 not utf-8")
    yield SimpleUploadedFile(f"{name}.csv", b"")
    yield SimpleUploadedFile(f"{name}.pdf", b"%PDF-1.4 and then nothing")
    yield SimpleUploadedFile(f"{'n' * 300}.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


@pytest.fixture
def district(teacher, principal, leader, staff, other_teacher, settings, tmp_path) -> dict[str, object]:
    """One of everything a path can name."""
    settings.MEDIA_ROOT = tmp_path
    author = Client()
    author.force_login(teacher)
    author.post("/practices/new/", practice_post(tags="reading, math"))
    practice = Practice.objects.get()
    IterationFactory(practice=practice)
    FailureFactory(practice=practice)
    attachment = practice.attachments.create(
        file=ContentFile(b"%PDF-1.4", name="a.pdf"),
        original_name="a.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_by=teacher,
    )
    adoption = Adoption.objects.create(
        practice=practice, user=other_teacher, school=other_teacher.school, status="stopped"
    )
    report = AdoptionReport.objects.create(adoption=adoption, status="stopped", notes="Too long.")
    now = timezone.now()
    future = VisitSlotFactory(showcase__host=principal)
    future.showcase.practices.add(practice)
    past = VisitSlotFactory(
        showcase=future.showcase, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1), seats_taken=1
    )
    pending = VisitRequest.objects.create(slot=future, requester=other_teacher, seats=1, status="pending")
    attended = VisitRequest.objects.create(slot=past, requester=other_teacher, seats=1, status="approved")
    VisitorReflection.objects.create(visit_request=attended, noticed="Goal cards.", practice=practice)
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        name="Now", slug="now", opens_on=today - timedelta(days=1), closes_on=today + timedelta(days=1)
    )
    columns = SURVEY_HEADER.split(",")
    answered = ",".join({"role": "principal", "q1_position": "3"}.get(column, "") for column in columns)
    earlier = responses_import(cycle=cycle, text=f"{SURVEY_HEADER}\n{answered}\n")
    CalendarFeed.objects.create(user=teacher)
    question = Question.objects.create(practice=practice, asker=other_teacher, text="How long?")
    collection = Collection.objects.create(owner=teacher, name="Team", sharing="team")
    collection.members.add(other_teacher)
    item = CollectionItem.objects.create(collection=collection, practice=practice, note="Try it")
    follow = Follow.objects.create(user=teacher, school=teacher.school)
    notice = notify(recipient=teacher, kind=NotificationKind.ADOPTION, text="Trying it", url="/practices/")
    oneroster_run = oneroster_run_start(
        by=staff, data=zipped(oneroster_files()), file_name="export.zip", district_role="district_leader"
    )
    oneroster_run_check.call(oneroster_run.pk)  # its preview, to confirm
    return {
        "oneroster_run": oneroster_run,
        "import_batch": earlier.batch,
        "practice": practice,
        "version": Version.objects.get_for_object(practice).first(),
        "attachment": attachment,
        "showcase": future.showcase,
        "future_slot": future,
        "past_slot": past,
        "pending": pending,
        "attended": attended,
        "cycle": cycle,
        "notice": notice,
        "follow": follow,
        "collection": collection,
        "item": item,
        "question": question,
        "report": report,
        "unsubscribe": unsubscribe_token(teacher, NotificationKind.ADOPTION),
        "users": {
            "teacher": teacher,
            "other_teacher": other_teacher,
            "principal": principal,
            "leader": leader,
            "staff": staff,
        },
    }


# Which object each path parameter of the portal's own pages names.
PORTAL_PARAMETERS: dict[str, dict[str, Callable[[dict], object]]] = {
    "practices:": {
        "pk": lambda d: d["practice"].pk,
        "version_id": lambda d: d["version"].pk,
        "attachment_id": lambda d: d["attachment"].pk,
        "report_id": lambda d: d["report"].pk,
        "follow_id": lambda d: d["follow"].pk,
        "question_id": lambda d: d["question"].pk,
    },
    "showcases:detail": {"pk": lambda d: d["showcase"].pk},
    "showcases:edit": {"pk": lambda d: d["showcase"].pk},
    "showcases:cancel": {"pk": lambda d: d["showcase"].pk},
    "showcases:request": {"slot_id": lambda d: d["future_slot"].pk},
    "showcases:slot_cancel": {"pk": lambda d: d["future_slot"].pk},
    "showcases:meeting": {"pk": lambda d: d["future_slot"].pk},
    "showcases:debrief": {"pk": lambda d: d["past_slot"].pk},
    "showcases:reflect": {"pk": lambda d: d["attended"].pk},
    "showcases:approve": {"pk": lambda d: d["pending"].pk},
    "showcases:decline": {"pk": lambda d: d["pending"].pk},
    "showcases:request_cancel": {"pk": lambda d: d["pending"].pk},
    "showcases:visit_calendar": {"pk": lambda d: d["attended"].pk},
    "showcases:attendees_csv": {"pk": lambda d: d["showcase"].pk},
    "showcases:attendance": {"pk": lambda d: d["past_slot"].pk},
    "showcases:message": {"pk": lambda d: d["future_slot"].pk},
    "surveys:import_undo": {"pk": lambda d: d["import_batch"].pk},
    "surveys:": {"slug": lambda d: d["cycle"].slug},
    "collections:": {"pk": lambda d: d["collection"].pk, "item_id": lambda d: d["item"].pk},
    "notifications:": {"pk": lambda d: d["notice"].pk, "token": lambda d: d["unsubscribe"]},
    "school": {"slug": lambda d: d["practice"].school.slug},
    "roster_import_oneroster_": {"pk": lambda d: d["oneroster_run"].pk},
    "password_reset_confirm": {"uidb64": lambda d: "MQ", "token": lambda d: "set-password"},
    "openid_connect_": {"provider_id": lambda d: "district"},
}
_GROUP = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\([^)]*\)")


def _walk(patterns: list, namespace: str = "", route: str = "") -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner, route + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name or ''}", route + str(entry.pattern)


def _admin_value(route: str, parameter: str, district: dict) -> object:
    """An object of the model an admin address is about (a made-up one if there is none)."""
    if parameter == "app_label":
        return "practices"
    if parameter == "url":
        return "no-such-page/"
    if parameter == "content_type_id":
        return ContentType.objects.get_for_model(Practice).pk
    if parameter == "version_id":
        return district["version"].pk
    parts = route.split("/")
    try:
        model = apps.get_model(parts[1], parts[2])
    except (LookupError, ValueError, IndexError):
        model = Practice
    first = model._default_manager.order_by("pk").first()
    return first.pk if first is not None else 999_999


def every_path(district: dict) -> list[str]:
    """A concrete path for every URL pattern, its parameters filled from the district."""
    paths = []
    for name, route in _walk(get_resolver().url_patterns):
        unnamed = iter(["object_id", "version_id"])

        def fill(match: re.Match, name: str = name, route: str = route, unnamed: Iterator[str] = unnamed) -> str:
            parameter = match.group(1) or match.group(2) or ("version_id" if "recover/" in route else next(unnamed))
            if name.startswith("admin:"):
                return str(_admin_value(route, parameter, district))
            for prefix, parameters in PORTAL_PARAMETERS.items():
                if name.startswith(prefix) and parameter in parameters:
                    return str(parameters[parameter](district))
            raise AssertionError(f"say which object {parameter!r} of {name} ({route}) names, in PORTAL_PARAMETERS")

        paths.append("/" + _GROUP.sub(fill, route).replace("^", "").replace("$", ""))
    return paths


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """The names the view looks up in request.GET or request.POST; "*" when it reads them all."""
    read: set[str] = set()
    # Reading everything is what middleware and the test client do; it says nothing of the view.
    not_the_view = ("portal/middleware.py", "django/middleware/", "django/test/", "django/http/")

    def reading_all(method: Callable) -> Callable:
        def wrapper(self, *args, **kwargs):
            if not any(part in sys._getframe(1).f_code.co_filename for part in not_the_view):
                read.add("*")
            return method(self, *args, **kwargs)

        return wrapper

    def reading_one(method: Callable) -> Callable:
        def wrapper(self, key, *args, **kwargs):
            if isinstance(key, str):
                read.add(key)
            return method(self, key, *args, **kwargs)

        return wrapper

    # On QueryDict only: request.GET and request.POST (the URL resolver keeps MultiValueDicts too).
    patches = [
        mock.patch.object(QueryDict, name, reading_one(getattr(MultiValueDict, name)))
        for name in ("__getitem__", "get", "getlist")
    ]
    patches.append(mock.patch.object(QueryDict, "__contains__", reading_one(dict.__contains__), create=True))
    patches += [
        mock.patch.object(QueryDict, name, reading_all(getattr(MultiValueDict, name)))
        for name in ("items", "lists", "dict")
    ]
    for patch in patches:
        patch.start()
    try:
        yield read
    finally:
        for patch in reversed(patches):
            patch.stop()


class Fuzzer:
    """Sends requests as each persona, each in a rolled-back savepoint, and keeps the failures."""

    def __init__(self, district: dict) -> None:
        self.clients: dict[str, Client] = {"anonymous": Client(raise_request_exception=False)}
        for role, user in district["users"].items():
            self.clients[role] = Client(raise_request_exception=False)
            self.clients[role].force_login(user)
        self.failures: list[str] = []
        self.requests = 0
        self._errors: list[BaseException | None] = []

    @contextmanager
    def running(self) -> Iterator[Fuzzer]:
        def keep(sender, request=None, **kwargs):
            self._errors.append(sys.exc_info()[1])

        got_request_exception.connect(keep)
        try:
            yield self
        finally:
            got_request_exception.disconnect(keep)

    def send(self, role: str, method: str, path: str, data: dict | None = None) -> _MonkeyPatchedWSGIResponse:
        client = self.clients[role]
        cookies = copy.deepcopy(client.cookies)
        self._errors.clear()
        self.requests += 1
        with transaction.atomic():
            response = client.get(path, data) if method == "GET" else client.post(path, data or {})
            transaction.set_rollback(True)
        client.cookies = cookies
        outage = not response.streaming and b"Back in a moment" in response.content
        if response.status_code >= 500 or outage:
            shown = {
                key: (value if len(str(value)) < 60 else f"{str(value)[:40]!r}…") for key, value in (data or {}).items()
            }
            error = f" {type(self._errors[-1]).__name__}: {str(self._errors[-1])[:300]}" if self._errors else ""
            self.failures.append(f"{role} {method} {path} {shown} -> {response.status_code}{error}")
        return response


def _payloads(form: Form, mutate: bool) -> Iterator[dict[str, list]]:
    """What a browser sends for `form` as it stands, then with hostile values: each field in
    turn (when `mutate`), and every field at once."""
    base: dict[str, list] = {}
    for field_ in form.fields:
        if field_.sent and field_.kind != "file":
            base.setdefault(field_.name, []).append(field_.value)
    variants = [dict(base, **{name: [value]}) for name, value in form.submits] or [base]
    yield from variants
    names = {field_.name: field_ for field_ in form.fields if field_.name != "csrfmiddlewaretoken"}
    if mutate:
        for name, field_ in names.items():
            if field_.kind == "file":
                for upload in hostile_files(name):
                    yield dict(variants[0], **{name: [upload]})
                continue
            for value in BY_KIND[kind_of(field_)]:
                yield dict(variants[0], **{name: value if isinstance(value, list) else [value]})
    for value in SHARP if form.action.startswith(ADMIN) else HOSTILE:
        hostile = {name: (value if isinstance(value, list) else [value]) for name in names}
        yield dict(variants[0], **hostile)


def test_every_page_survives_hostile_parameters_and_form_fields_as_every_persona(district):
    fuzzer = Fuzzer(district)
    paths = every_path(district)
    forms: dict[str, dict[tuple, Form]] = {path: {} for path in paths}
    fuzzed: set[tuple[str, frozenset[str], int]] = set()
    with fuzzer.running():
        # GET: the parameters each view reads.
        for role in ROLES:
            for path in paths:
                with recording_reads() as read:
                    page = fuzzer.send(role, "GET", path, {PROBE: "1"})
                if "*" in read or page.status_code == 302:
                    # A view that reads the whole query may refuse one it does not know.
                    page = fuzzer.send(role, "GET", path)
                parser = PageParser(path)
                if page.get("Content-Type", "").startswith("text/html") and not page.streaming:
                    parser.feed(page.content.decode())
                for form in parser.forms:
                    if form.method.lower() == "post":
                        shape = (tuple(sorted(f.name for f in form.fields)), tuple(form.submits))
                        forms.setdefault(form.action, {}).setdefault(shape, form)
                parameters = read - {"*", PROBE, "csrfmiddlewaretoken"}
                if "*" in read:
                    parameters |= set(ADMIN_PARAMETERS) | parser.link_parameters
                for form in parser.forms:
                    if form.method.lower() == "get" and form.action == path:
                        parameters |= {field_.name for field_ in form.fields}
                # Personas the view answers alike (same status, same parameters read) share one round.
                key = (path, frozenset(parameters), page.status_code)
                if not parameters or key in fuzzed:
                    continue
                fuzzed.add(key)
                together, alone = (SHARP, ADMIN_ALONE) if path.startswith(ADMIN) else (HOSTILE, SHARP)
                for value in together:
                    fuzzer.send(role, "GET", path, dict.fromkeys(parameters, value))
                for parameter in sorted(parameters) if FULL else []:
                    for value in alone:
                        fuzzer.send(role, "GET", path, {parameter: value})
        # POST: every form, and an empty one to every address.
        mutated: set[tuple[str, tuple]] = set()
        for role in ROLES:
            for action, shapes in forms.items():
                if action.startswith(ADMIN):
                    continue  # the admin's forms are Django's own, and staff's; their GET pages are fuzzed above
                fuzzer.send(role, "POST", action, {})
                for shape, form in shapes.items():
                    with recording_reads() as read:
                        response = fuzzer.send(role, "POST", action, next(_payloads(form, mutate=False)))
                    read.discard("csrfmiddlewaretoken")
                    key = (action, frozenset(read), response.status_code)
                    if not read or key in fuzzed:
                        continue  # refused before any field is read, or answered alike for another persona
                    fuzzed.add(key)
                    mutate = FULL and (action, shape) not in mutated
                    mutated.add((action, shape))
                    for data in _payloads(form, mutate):
                        fuzzer.send(role, "POST", action, data)
    print(f"{fuzzer.requests} requests")
    assert fuzzer.failures == []
