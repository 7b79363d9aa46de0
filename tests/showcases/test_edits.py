"""Editing a showcase writes what the host changed and nothing else: never the seats taken,
a cancellation, or what someone else changed since the page was opened; and it never links
an entry its visitors cannot open."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from practices.models import Facet, FacetKind
from showcases.forms import ShowcaseForm, VisitSlotForm, VisitSlotFormSet
from showcases.models import RequestStatus, Showcase, VisitorReflection, VisitRequest, VisitSlot
from showcases.services import showcase_cancel, showcase_save, slot_cancel, visit_request_approve, visit_request_create
from tests.factories import PracticeFactory, PrincipalFactory, ShowcaseFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """What a browser would send for each POST form of a page (without its buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._in_form = False
        self._textarea = False
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._in_form = True
            self.forms.append([])
        if not self._in_form:
            return
        fields = self.forms[-1]
        if tag == "input" and "name" in attrs and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            fields.append((attrs["name"], attrs.get("value") or ("on" if attrs.get("type") == "checkbox" else "")))
        elif tag == "textarea" and "name" in attrs:
            self._textarea = True
            fields.append((attrs["name"], ""))
        elif tag == "select" and "name" in attrs:
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            fields.append((self._select, attrs.get("value") or ""))

    def handle_data(self, data):
        if self._textarea:
            name, value = self.forms[-1][-1]
            self.forms[-1][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            # Browsers drop the line break that follows <textarea>.
            name, value = self.forms[-1][-1]
            self.forms[-1][-1] = (name, value.removeprefix("\n"))
            self._textarea = False
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def _opened_form(client, showcase) -> dict[str, list[str]]:
    """The edit page as the host opened it, as form data to change and send later."""
    page = client.get(f"/showcases/{showcase.pk}/edit/")
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    (fields,) = [form for form in parser.forms if any(name == "slots-TOTAL_FORMS" for name, _value in form)]
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data | {"action": ["publish"]}


@pytest.fixture
def showcase(principal):
    showcase = ShowcaseFactory(host=principal, auto_approve=False, title="Conferences")
    VisitSlotFactory(showcase=showcase, capacity=5, location="Main office")
    return showcase


def _approve_seats(slot: VisitSlot, school, count: int) -> list[VisitRequest]:
    return [
        visit_request_approve(visit=visit_request_create(slot=slot, requester=TeacherFactory(school=school), seats=1))
        for _ in range(count)
    ]


@pytest.fixture
def while_saving(monkeypatch):
    """Run something once while the edit request is under way: after the forms have read
    the rows, before they are saved, as a concurrent request would."""

    def arrange(action) -> None:
        clean = VisitSlotForm.clean
        pending = [action]

        def clean_then_act(form):
            cleaned = clean(form)
            while pending:
                pending.pop()()
            return cleaned

        monkeypatch.setattr(VisitSlotForm, "clean", clean_then_act)

    return arrange


def test_seats_approved_while_an_edit_is_saved_are_kept(as_user, principal, showcase, other_school, while_saving):
    slot = showcase.slots.get()
    form = _opened_form(as_user(principal), showcase)
    form["slots-0-location"] = ["Room 114"]
    while_saving(lambda: _approve_seats(slot, other_school, 3))
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    slot.refresh_from_db()
    assert (slot.location, slot.seats_taken) == ("Room 114", 3)
    assert slot.requests.filter(status=RequestStatus.APPROVED).count() == 3


def test_a_session_cancelled_while_an_edit_is_saved_stays_cancelled(
    as_user, principal, showcase, other_school, while_saving
):
    slot = showcase.slots.get()
    visits = _approve_seats(slot, other_school, 2)
    form = _opened_form(as_user(principal), showcase)
    form["slots-0-location"] = ["Room 114"]
    while_saving(lambda: slot_cancel(slot=slot))
    response = as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert "This session has been cancelled" in response.content.decode()
    slot.refresh_from_db()
    assert slot.is_cancelled and slot.seats_taken == 0 and slot.location == "Main office"
    assert {visit.status for visit in VisitRequest.objects.filter(pk__in=[v.pk for v in visits])} == {"cancelled"}


def test_changing_a_session_cancelled_meanwhile_is_refused_next_to_it_and_keeps_the_form(as_user, principal, showcase):
    slot = showcase.slots.get()
    form = _opened_form(as_user(principal), showcase)
    slot_cancel(slot=slot)
    form["slots-0-location"] = ["Room 114"]
    form["title"] = ["Conferences, led by students"]
    response = as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "This session has been cancelled, so it can no longer be changed." in page
    assert 'value="Room 114"' in page and 'value="Conferences, led by students"' in page
    slot.refresh_from_db()
    assert slot.is_cancelled and slot.location == "Main office"
    assert Showcase.objects.get().title == "Conferences"


def test_a_cancelled_session_is_shown_read_only_and_saving_the_page_leaves_it_cancelled(as_user, principal, showcase):
    slot = showcase.slots.get()
    slot_cancel(slot=slot)
    host = as_user(principal)
    page = host.get(f"/showcases/{showcase.pk}/edit/").content.decode()
    assert "Session 1 (cancelled)" in page and "readonly" in page
    assert host.post(f"/showcases/{showcase.pk}/edit/", _opened_form(host, showcase)).status_code == 302
    slot.refresh_from_db()
    assert slot.is_cancelled


def test_two_hosts_editing_at_once_keep_each_others_changes(as_user, principal, school, showcase):
    colleague = PrincipalFactory(school=school)
    slot = showcase.slots.get()
    principal_form = _opened_form(as_user(principal), showcase)
    colleague_form = _opened_form(as_user(colleague), showcase)
    principal_form["title"] = ["Conferences, led by students"]
    principal_form["slots-0-capacity"] = ["8"]
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", principal_form).status_code == 302
    colleague_form["slots-0-location"] = ["Room 114"]
    colleague_form["evidence"] = ["Conference sign-in sheets."]
    assert as_user(colleague).post(f"/showcases/{showcase.pk}/edit/", colleague_form).status_code == 302
    showcase.refresh_from_db()
    slot.refresh_from_db()
    assert (showcase.title, showcase.evidence) == ("Conferences, led by students", "Conference sign-in sheets.")
    assert (slot.capacity, slot.location) == (8, "Room 114")


def test_session_end_is_checked_against_a_start_moved_meanwhile(as_user, principal, school, showcase):
    colleague = PrincipalFactory(school=school)
    slot = showcase.slots.get()
    moved_start = timezone.localtime(slot.starts_at).replace(second=0, microsecond=0) + timedelta(hours=3)
    colleague_form = _opened_form(as_user(colleague), showcase)
    principal_form = _opened_form(as_user(principal), showcase)
    colleague_form["slots-0-starts_at"] = [moved_start.strftime("%Y-%m-%dT%H:%M")]
    colleague_form["slots-0-ends_at"] = [(moved_start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")]
    assert as_user(colleague).post(f"/showcases/{showcase.pk}/edit/", colleague_form).status_code == 302
    # The principal, from the page opened before, only shortens the session: it would now end before it starts.
    principal_form["slots-0-ends_at"] = [(moved_start - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")]
    response = as_user(principal).post(f"/showcases/{showcase.pk}/edit/", principal_form)
    assert response.status_code == 400
    assert 'id="id_slots-0-ends_at_error"' in response.content.decode()
    slot.refresh_from_db()
    assert slot.starts_at == moved_start


def _posted(showcase, slot, *, title: str = "", capacity: str = "") -> dict[str, str]:
    """The edit form as sent by a client that does not say what the page showed."""
    return {
        "title": title or showcase.title,
        "description": showcase.description,
        "impact": showcase.impact,
        "evidence": showcase.evidence,
        "focus_question": showcase.focus_question,
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "1",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "20",
        "slots-0-id": str(slot.pk),
        "slots-0-starts_at": timezone.localtime(slot.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "slots-0-ends_at": timezone.localtime(slot.ends_at).strftime("%Y-%m-%dT%H:%M"),
        "slots-0-capacity": capacity or str(slot.capacity),
        "slots-0-location": slot.location,
    }


def test_capacity_below_seats_taken_meanwhile_is_an_error_next_to_the_field(principal, showcase, other_school):
    """The form checks the row it read; the save checks again under the lock, after seats were taken."""
    slot = showcase.slots.get()
    data = _posted(showcase, slot, capacity="2")
    form = ShowcaseForm(data, instance=showcase, user=principal)
    slots = VisitSlotFormSet(data, instance=showcase, prefix="slots")
    assert form.is_valid() and slots.is_valid()
    _approve_seats(slot, other_school, 3)
    with pytest.raises(ValidationError):
        showcase_save(form=form, slots=slots, user=principal, publish=True)
    assert "3 seats are already approved" in slots.forms[0].errors["capacity"][0]
    slot.refresh_from_db()
    assert (slot.capacity, slot.seats_taken) == (5, 3)


def test_edit_of_a_showcase_cancelled_meanwhile_is_refused(principal, showcase):
    data = _posted(showcase, showcase.slots.get(), title="New title")
    form = ShowcaseForm(data, instance=showcase, user=principal)
    slots = VisitSlotFormSet(data, instance=showcase, prefix="slots")
    assert form.is_valid() and slots.is_valid()
    showcase_cancel(showcase=Showcase.objects.get(pk=showcase.pk))
    with pytest.raises(ValidationError):
        showcase_save(form=form, slots=slots, user=principal, publish=True)
    assert "has been cancelled" in form.non_field_errors()[0]
    assert Showcase.objects.get().status == "cancelled"


def test_edit_raises_the_calendar_sequence_of_the_session_and_its_visitors(as_user, principal, showcase, other_school):
    slot = showcase.slots.get()
    (visit,) = _approve_seats(slot, other_school, 1)
    slot.refresh_from_db()
    visit.refresh_from_db()
    form = _opened_form(as_user(principal), showcase)
    form["slots-0-location"] = ["Room 114"]
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert VisitSlot.objects.get().sequence == slot.sequence + 1
    assert VisitRequest.objects.get().sequence == visit.sequence + 1


def test_leader_edit_shows_the_host_school_chosen(as_user, leader, school):
    showcase = ShowcaseFactory(host=leader, host_school=school)
    VisitSlotFactory(showcase=showcase)
    form = _opened_form(as_user(leader), showcase)
    assert form["host_school"] == [str(school.pk)]
    form["title"] = ["Principals' meeting"]
    assert as_user(leader).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert Showcase.objects.get().host_school == school


# School-only entries stay in their school.


def test_host_may_link_only_entries_shared_with_the_whole_district(as_user, principal, showcase):
    shared = PracticeFactory(author=principal, title="Shared conferences", visibility="district")
    school_only = PracticeFactory(author=principal, title="Our own notes", visibility="school")
    host = as_user(principal)
    page = host.get(f"/showcases/{showcase.pk}/edit/").content.decode()
    assert "Shared conferences" in page and "Our own notes" not in page
    form = _opened_form(host, showcase)
    form["practices"] = [str(shared.pk), str(school_only.pk)]
    response = host.post(f"/showcases/{showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert 'id="id_practices_error"' in response.content.decode()
    assert not showcase.practices.exists()
    form["practices"] = [str(shared.pk)]
    assert host.post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert list(showcase.practices.all()) == [shared]


def test_host_links_and_unlinks_entries_keeping_links_made_meanwhile(as_user, principal, showcase):
    first, second, third = (PracticeFactory(author=principal, title=f"Entry {n}") for n in (1, 2, 3))
    showcase.practices.add(first)
    form = _opened_form(as_user(principal), showcase)
    showcase.practices.add(second)  # linked by someone else after the page was opened
    form["practices"] = [str(third.pk)]  # the host unticks the first and ticks the third
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert set(showcase.practices.all()) == {second, third}


@pytest.mark.parametrize(("reader", "sees"), [("teacher", True), ("principal", True), ("other_teacher", False)])
def test_read_first_lists_only_entries_the_reader_may_open(as_user, request, principal, showcase, reader, sees):
    school_only = PracticeFactory(author=principal, title="Our own notes", visibility="school")
    shared = PracticeFactory(author=principal, title="Shared conferences")
    showcase.practices.add(school_only, shared)
    page = as_user(request.getfixturevalue(reader)).get(f"/showcases/{showcase.pk}/").content.decode()
    assert "Shared conferences" in page
    assert ("Our own notes" in page) is sees
    assert (f"/practices/{school_only.pk}/" in page) is sees


def test_debrief_names_a_linked_entry_only_to_readers_who_may_open_it(as_user, principal, other_teacher, other_school):
    past = timezone.now() - timedelta(hours=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    visitor_own = PracticeFactory(author=other_teacher, title="Riverside goal cards", visibility="school")
    visit = VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status="approved")
    VisitorReflection.objects.create(visit_request=visit, noticed="Students named goals.", practice=visitor_own)
    host_page = as_user(principal).get(f"/showcases/sessions/{slot.pk}/debrief/").content.decode()
    assert "Students named goals." in host_page and "Riverside goal cards" not in host_page
    visitor_page = as_user(other_teacher).get(f"/showcases/sessions/{slot.pk}/debrief/").content.decode()
    assert "Riverside goal cards" in visitor_page


@pytest.mark.parametrize("search", [{"tag": "secret-topic"}, {"subject": "math"}])
def test_list_filters_do_not_match_through_a_school_only_entry(
    as_user, principal, teacher, other_teacher, showcase, search
):
    facet = Facet.objects.get_or_create(kind=FacetKind.SUBJECT, slug="math", defaults={"name": "Math"})[0]
    school_only = PracticeFactory(author=principal, title="Our own notes", visibility="school")
    school_only.tags.add("secret-topic")
    school_only.facets.add(facet)
    showcase.practices.add(school_only)
    titles = lambda client: [s.title for s in client.get("/showcases/", search).context["showcases"]]  # noqa: E731
    assert titles(as_user(other_teacher)) == []
    assert titles(as_user(teacher)) == ["Conferences"]


def test_nonsense_in_what_the_page_showed_unlinks_nothing(as_user, principal, showcase):
    linked = PracticeFactory(author=principal, title="Entry 1")
    showcase.practices.add(linked)
    form = _opened_form(as_user(principal), showcase)
    form["initial-practices"] = ["99999999999999999999999", "x", str(linked.pk + 1000)]
    form["practices"] = [str(linked.pk)]
    assert as_user(principal).post(f"/showcases/{showcase.pk}/edit/", form).status_code == 302
    assert list(showcase.practices.all()) == [linked]


@pytest.mark.parametrize("nonsense", ["99999999999999999999999", "-1", "x", "2024-13-45 25:61"])
@pytest.mark.parametrize("host", ["principal", "leader"])
def test_nonsense_in_any_shown_value_is_a_change_and_never_a_server_error(as_user, request, school, host, nonsense):
    """Every value counts as changed, the empty extra session too, so it is asked for (400)."""
    user = request.getfixturevalue(host)
    showcase = ShowcaseFactory(host=user, host_school=school)
    VisitSlotFactory(showcase=showcase, capacity=5)
    form = _opened_form(as_user(user), showcase)
    for name in [name for name in form if name.startswith("initial-")]:
        form[name] = [nonsense]
    response = as_user(user).post(f"/showcases/{showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert VisitSlot.objects.get().capacity == 5


def test_a_digit_python_cannot_read_in_what_the_form_showed_is_not_a_server_error(as_user, principal):
    """ "²" passes str.isdigit() but not int()."""
    form = ShowcaseForm({"initial-practices": ["²", "9" * 30, "3"]}, user=principal)
    assert form.practices_before() == {3}
