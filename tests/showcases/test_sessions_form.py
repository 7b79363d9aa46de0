"""Sessions on the showcase form, as hosts need them: add another, copy one a week later,
remove one. Without JavaScript each button posts the form back and the page returns with the
change made and everything typed kept (nothing saved yet); with it, static/js/showcase-form.js
does the same at once. Removing a saved session that has visitors cancels it and tells them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from showcases.models import RequestStatus, Showcase, VisitRequest, VisitSlot
from showcases.services import slot_cancel, visit_request_approve, visit_request_create
from tests.factories import ShowcaseFactory, TeacherFactory, VisitSlotFactory
from tests.showcases.test_edits import _FormFields, _opened_form

pytestmark = pytest.mark.django_db


def _at(days: int, hour: int) -> str:
    return (timezone.localtime() + timedelta(days=days)).replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def _new_showcase(**sessions: str) -> dict[str, str]:
    """The new-showcase form as a browser sends it, its questionnaire filled in, with `sessions`
    (slots-N-field: value) and as many rows as they name."""
    rows = {int(key.split("-")[1]) for key in sessions} or {0}
    data = {
        "title": "Student-led conferences",
        "description": "Students lead.",
        "impact": "Attendance doubled.",
        "evidence": "Sign-in sheets.",
        "focus_question": "How do students talk about learning?",
        "slots-TOTAL_FORMS": str(max(rows) + 1),
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
    }
    for index in range(max(rows) + 1):
        for name in ("starts_at", "ends_at", "capacity", "location", "notes"):
            data[f"initial-slots-{index}-{name}"] = ""
    return data | sessions


def _page_form(response) -> dict[str, list[str]]:
    """The showcase form as the page returned it, ready to send again."""
    parser = _FormFields()
    parser.feed(response.content.decode())
    (fields,) = [form for form in parser.forms if any(name == "slots-TOTAL_FORMS" for name, _value in form)]
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def test_add_another_session_without_javascript_keeps_everything_typed(as_user, principal):
    data = _new_showcase(**{"slots-0-starts_at": _at(7, 9), "slots-0-location": "Room 12"}) | {"action": "add_session"}
    response = as_user(principal).post("/showcases/new/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="slots-TOTAL_FORMS" value="2"' in page
    assert "Session 2 added below" in page
    assert 'value="Student-led conferences"' in page and 'value="Room 12"' in page
    assert 'id="session-1"' in page
    assert not Showcase.objects.exists()


def test_same_time_next_week_copies_a_session_seven_days_later_then_both_are_saved(as_user, principal):
    host = as_user(principal)
    typed = {
        "slots-0-starts_at": _at(7, 9),
        "slots-0-ends_at": _at(7, 11),
        "slots-0-capacity": "6",
        "slots-0-location": "Library",
        "slots-0-notes": "Park behind the gym.",
    }
    response = host.post("/showcases/new/", _new_showcase(**typed) | {"action": "duplicate_session:0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="{_at(14, 9)}"' in page and f'value="{_at(14, 11)}"' in page
    assert "Session 2 added: session 1 a week later" in page
    data = _page_form(response) | {"action": ["publish"]}
    assert host.post("/showcases/new/", data).status_code == 302
    first, second = VisitSlot.objects.order_by("starts_at")
    assert second.starts_at - first.starts_at == timedelta(days=7)
    assert (second.capacity, second.location, second.notes) == (6, "Library", "Park behind the gym.")


def test_removing_a_new_session_moves_the_later_ones_up(as_user, principal):
    typed = {f"slots-{n}-location": f"Room {n}" for n in range(3)}
    response = as_user(principal).post("/showcases/new/", _new_showcase(**typed) | {"action": "remove_session:1"})
    assert response.status_code == 200
    data = _page_form(response)
    assert data["slots-TOTAL_FORMS"] == ["2"]
    assert (data["slots-0-location"], data["slots-1-location"]) == (["Room 0"], ["Room 2"])
    assert "slots-2-location" not in data


def test_removing_a_session_does_not_depend_on_the_order_fields_are_sent_in(as_user, principal):
    typed = {f"slots-{n}-location": f"Room {n}" for n in reversed(range(3))}
    data = _new_showcase(**typed) | {"action": "remove_session:0"}
    response = as_user(principal).post("/showcases/new/", dict(reversed(list(data.items()))))
    fields = _page_form(response)
    assert (fields["slots-0-location"], fields["slots-1-location"]) == (["Room 1"], ["Room 2"])


def test_the_last_session_is_not_removed(as_user, principal):
    response = as_user(principal).post("/showcases/new/", _new_showcase() | {"action": "remove_session:0"})
    assert response.status_code == 200
    assert "A showcase needs at least one session." in response.content.decode()


def test_a_showcase_has_at_most_twenty_sessions(as_user, principal):
    data = _new_showcase(**{f"slots-{n}-location": "Hall" for n in range(20)}) | {"action": "add_session"}
    response = as_user(principal).post("/showcases/new/", data)
    assert "A showcase has at most 20 sessions." in response.content.decode()
    assert 'name="slots-TOTAL_FORMS" value="20"' in response.content.decode()


@pytest.mark.parametrize(
    "action", ["duplicate_session:99", "remove_session:x", "duplicate_session:", "remove_session:-1", "add_sessions"]
)
def test_a_row_action_no_session_can_take_is_an_ordinary_save(as_user, principal, action):
    response = as_user(principal).post("/showcases/new/", _new_showcase() | {"action": action})
    assert response.status_code == 400  # the empty session is asked for
    assert "This field is required." in response.content.decode()


def test_enter_in_a_field_saves_instead_of_copying_a_session(as_user, principal):
    """Browsers submit with the form's first button when Enter is pressed in a field."""
    page = as_user(principal).get("/showcases/new/").content.decode()
    form = page[page.index('<form method="post" novalidate>') :]
    first_button = form[form.index("<button") : form.index(">", form.index("<button")) + 1]
    assert 'value="publish"' in first_button


def test_the_page_enhances_with_its_own_script_and_a_session_template(as_user, principal, client):
    page = as_user(principal).get("/showcases/new/").content.decode()
    assert '<script src="/static/js/showcase-form.js" defer></script>' in page
    assert '<template id="slots-template">' in page and "slots-__prefix__-starts_at" in page
    assert "data-add-session" in page and "data-duplicate-session" in page


# Saved sessions: removed with their box; one with visitors is cancelled and they are told.


@pytest.fixture
def showcase(principal):
    showcase = ShowcaseFactory(host=principal, title="Conferences")
    VisitSlotFactory(showcase=showcase, location="Main office")
    VisitSlotFactory(showcase=showcase, location="Library", starts_at=timezone.now() + timedelta(days=14))
    return showcase


def test_a_session_without_requests_is_removed(as_user, principal, showcase):
    quiet = showcase.slots.get(location="Library")
    form = _opened_form(as_user(principal), showcase)
    assert "Remove this session" in as_user(principal).get(f"/showcases/{showcase.pk}/edit/").content.decode()
    form["slots-1-DELETE"] = ["on"]
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert not VisitSlot.objects.filter(pk=quiet.pk).exists()
    assert showcase.slots.count() == 1


def test_removing_a_session_with_visitors_cancels_it_and_tells_them(
    as_user, principal, showcase, other_teacher, django_capture_on_commit_callbacks
):
    slot = showcase.slots.get(location="Main office")
    visit = visit_request_approve(visit=visit_request_create(slot=slot, requester=other_teacher, seats=1))
    page = as_user(principal).get(f"/showcases/{showcase.pk}/edit/").content.decode()
    assert "Cancel this session: its 1 visitor will be told by e-mail" in page
    form = _opened_form(as_user(principal), showcase)
    form["slots-0-DELETE"] = ["on"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    slot.refresh_from_db()
    assert slot.is_cancelled and slot.seats_taken == 0
    assert VisitRequest.objects.get(pk=visit.pk).status == RequestStatus.CANCELLED
    (message,) = mail.outbox
    assert message.to == [other_teacher.email]
    assert Calendar.from_ical(message.attachments[0][1])["METHOD"] == "CANCEL"


def test_past_and_cancelled_sessions_have_no_remove_box(as_user, principal, showcase):
    past = showcase.slots.get(location="Main office")
    past.starts_at = timezone.now() - timedelta(days=2)
    past.ends_at = past.starts_at + timedelta(hours=1)
    past.save()
    slot_cancel(slot=showcase.slots.get(location="Library"))
    page = as_user(principal).get(f"/showcases/{showcase.pk}/edit/").content.decode()
    assert "slots-0-DELETE" not in page and "slots-1-DELETE" not in page
    form = _opened_form(as_user(principal), showcase)
    form["slots-0-DELETE"] = ["on"]  # forged: ignored
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert VisitSlot.objects.filter(pk=past.pk, cancelled_at__isnull=True).exists()


def test_the_edit_page_does_not_grow_with_sessions_and_visitors(
    as_user, principal, showcase, other_school, django_assert_max_num_queries
):
    """Session and user, the showcase, the entries it may link (two queries), the sessions with
    their visitor counts (one query), the navigation's count: the same for two sessions or
    eight with visitors."""
    client = as_user(principal)
    client.get(f"/showcases/{showcase.pk}/edit/")
    for _ in range(6):
        slot = VisitSlotFactory(showcase=showcase)
        for _ in range(2):
            visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=1)
    with django_assert_max_num_queries(7):
        assert client.get(f"/showcases/{showcase.pk}/edit/").status_code == 200
