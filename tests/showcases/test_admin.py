"""District staff changing a showcase or a session in the admin write only what they changed:
seats approved, and cancellations made, while the admin page was being saved stay."""

import pytest
from django.utils import timezone

from showcases.admin import ShowcaseAdmin, VisitSlotAdmin
from showcases.models import RequestStatus, Showcase, VisitSlot
from showcases.services import showcase_cancel, visit_request_approve, visit_request_create
from tests.factories import TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(principal):
    return VisitSlotFactory(showcase__host=principal, showcase__title="Conferences", capacity=5, location="Main office")


@pytest.fixture
def after_loading(monkeypatch):
    """Run something once the admin has read the object it is changing, as a concurrent request would."""

    def arrange(admin_class, action) -> None:
        get_object = admin_class.get_object

        def get_object_then_act(self, request, object_id, from_field=None):
            found = get_object(self, request, object_id, from_field)
            if request.method == "POST":
                action()
            return found

        monkeypatch.setattr(admin_class, "get_object", get_object_then_act)

    return arrange


def _approve_seats(slot, school, count):
    for _ in range(count):
        visit_request_approve(visit=visit_request_create(slot=slot, requester=TeacherFactory(school=school), seats=1))


def _split(moment) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def _slot_fields(slot, prefix: str = "", **changes) -> dict[str, str]:
    starts, ends = _split(slot.starts_at), _split(slot.ends_at)
    fields = {
        "starts_at_0": starts[0],
        "starts_at_1": starts[1],
        "ends_at_0": ends[0],
        "ends_at_1": ends[1],
        "capacity": str(slot.capacity),
        "location": slot.location,
        "notes": slot.notes,
    } | changes
    return {f"{prefix}{name}": value for name, value in fields.items()}


def test_session_changed_in_the_admin_keeps_seats_approved_meanwhile(as_user, staff, slot, other_school, after_loading):
    after_loading(VisitSlotAdmin, lambda: _approve_seats(slot, other_school, 3))
    data = _slot_fields(slot, location="Room 114") | {"showcase": str(slot.showcase_id), "debrief_notes": ""}
    response = as_user(staff).post(f"/admin/showcases/visitslot/{slot.pk}/change/", data)
    assert response.status_code == 302
    slot.refresh_from_db()
    assert (slot.location, slot.seats_taken) == ("Room 114", 3)


def test_admin_cannot_lower_seats_below_those_approved_meanwhile(as_user, staff, slot, other_school, after_loading):
    after_loading(VisitSlotAdmin, lambda: _approve_seats(slot, other_school, 3))
    data = _slot_fields(slot, capacity="2") | {"showcase": str(slot.showcase_id), "debrief_notes": ""}
    response = as_user(staff).post(f"/admin/showcases/visitslot/{slot.pk}/change/", data)
    assert response.status_code == 200
    assert "3 seats are already approved" in response.content.decode()
    slot.refresh_from_db()
    assert (slot.capacity, slot.seats_taken) == (5, 3)
    assert slot.requests.filter(status=RequestStatus.APPROVED).count() == 3


def test_showcase_saved_in_the_admin_stays_cancelled_when_cancelled_meanwhile(as_user, staff, slot, after_loading):
    showcase = slot.showcase
    after_loading(ShowcaseAdmin, lambda: showcase_cancel(showcase=Showcase.objects.get(pk=showcase.pk)))
    data = {
        "host_school": str(showcase.host_school_id),
        "host": str(showcase.host_id),
        "title": "Conferences, led by students",
        "description": showcase.description,
        "impact": showcase.impact,
        "evidence": showcase.evidence,
        "focus_question": showcase.focus_question,
        "what_visitors_see": "",
        "status": "published",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "1",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "1000",
        "slots-0-id": str(slot.pk),
        "slots-0-showcase": str(showcase.pk),
    } | _slot_fields(slot, prefix="slots-0-")
    response = as_user(staff).post(f"/admin/showcases/showcase/{showcase.pk}/change/", data)
    assert response.status_code == 302
    showcase.refresh_from_db()
    assert (showcase.title, showcase.status) == ("Conferences, led by students", "cancelled")
    assert VisitSlot.objects.get().is_cancelled


def test_staff_cannot_delete_an_approved_request_and_leave_its_seats_counted(as_user, staff, slot, other_school):
    visit = visit_request_create(slot=slot, requester=TeacherFactory(school=other_school), seats=2)
    visit_request_approve(visit=visit)
    response = as_user(staff).post(f"/admin/showcases/visitrequest/{visit.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    slot.refresh_from_db()
    assert slot.seats_taken == 2 and slot.requests.get().status == RequestStatus.APPROVED


def test_staff_cannot_delete_a_session_with_its_visitors_in_the_admin(as_user, staff, slot, other_school):
    _approve_seats(slot, other_school, 1)
    response = as_user(staff).post(f"/admin/showcases/visitslot/{slot.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert VisitSlot.objects.filter(pk=slot.pk).exists() and slot.requests.count() == 1


def test_the_showcase_admin_offers_no_delete_and_no_status_that_skips_telling_visitors(as_user, staff, slot):
    client = as_user(staff)
    page = client.get(f"/admin/showcases/showcase/{slot.showcase.pk}/change/").content.decode()
    assert 'name="status"' not in page
    assert "slots-0-DELETE" not in page
    assert client.post(f"/admin/showcases/showcase/{slot.showcase.pk}/delete/", {"post": "yes"}).status_code == 403
