"""The services refuse what their pages refuse, so no other caller (the admin, a command, a page
posted twice) gets round a rule, and each refusal is worded once for the page and the service."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from showcases.forms import VisitRequestForm, VisitSlotForm
from showcases.models import RequestStatus, VisitRequest, VisitSlot
from showcases.services import (
    showcase_cancel,
    slot_debrief,
    slot_details_save,
    visit_request_approve,
    visit_request_create,
)
from tests.factories import VisitSlotFactory
from tests.showcases import test_edits

pytestmark = pytest.mark.django_db


def test_the_debrief_is_refused_before_the_session_starts(principal):
    slot = VisitSlotFactory(showcase__host=principal)
    with pytest.raises(ValidationError, match="once the session has started"):
        slot_debrief(slot=slot, notes="Too early")
    slot.refresh_from_db()
    assert (slot.debrief_notes, slot.debriefed_at) == ("", None)


def test_the_debrief_page_says_why_when_posted_early(principal, as_user):
    slot = VisitSlotFactory(showcase__host=principal)
    response = as_user(principal).post(
        f"/showcases/sessions/{slot.pk}/debrief/", {"debrief_notes": "Early"}, follow=True
    )
    assert "opens once the session has started" in response.content.decode()
    slot.refresh_from_db()
    assert slot.debrief_notes == ""


@pytest.mark.parametrize("case", ["started", "showcase_cancelled"])
def test_a_request_for_a_session_no_longer_open_is_not_approved(principal, other_teacher, case):
    slot = VisitSlotFactory(showcase__host=principal, capacity=3)
    visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    if case == "started":
        slot.starts_at = timezone.now() - timedelta(hours=1)
        slot.ends_at = timezone.now() + timedelta(hours=1)
        slot.save()
    else:
        # The cancellation leaves sessions already held as they were; approve one of those.
        slot.starts_at = timezone.now() - timedelta(days=2)
        slot.ends_at = timezone.now() - timedelta(days=2, hours=-1)
        slot.save()
        showcase_cancel(showcase=slot.showcase)
    with pytest.raises(ValidationError):
        visit_request_approve(visit=visit)
    visit.refresh_from_db()
    slot.refresh_from_db()
    assert (visit.status, slot.seats_taken) == (RequestStatus.PENDING, 0)


def test_a_party_larger_than_the_session_is_refused_in_the_same_words_by_page_and_service(principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, capacity=2)
    form = VisitRequestForm({"seats": "3"}, slot=slot)
    assert not form.is_valid()
    with pytest.raises(ValidationError) as caught:
        visit_request_create(slot=slot, requester=other_teacher, seats=3)
    assert caught.value.message_dict["seats"] == form.errors["seats"]
    assert not VisitRequest.objects.exists()


def test_a_session_ending_before_it_starts_is_refused_in_the_same_words_by_page_and_service(principal):
    slot = VisitSlotFactory(showcase__host=principal)
    ends = slot.starts_at - timedelta(hours=1)
    form = VisitSlotForm(
        {"starts_at": slot.starts_at.strftime("%Y-%m-%dT%H:%M"), "ends_at": ends.strftime("%Y-%m-%dT%H:%M")},
        instance=slot,
    )
    assert not form.is_valid()
    with pytest.raises(ValidationError) as caught:
        slot_details_save(slot_id=slot.pk, changes={"ends_at": ends})
    assert caught.value.message_dict["ends_at"] == form.errors["ends_at"]


def _edit_page(client, showcase) -> dict[str, list[str]]:
    return test_edits._opened_form(client, showcase)


def test_a_saved_session_is_not_moved_into_the_past(as_user, principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, capacity=3)
    visit_request_approve(visit=visit_request_create(slot=slot, requester=other_teacher, seats=1))
    client = as_user(principal)
    form = _edit_page(client, slot.showcase)
    yesterday = timezone.localtime() - timedelta(days=1)
    form["slots-0-starts_at"] = [yesterday.strftime("%Y-%m-%dT%H:%M")]
    form["slots-0-ends_at"] = [(yesterday + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")]
    response = client.post(f"/showcases/{slot.showcase.pk}/edit/", form)
    assert response.status_code == 400
    assert 'id="id_slots-0-starts_at_error"' in response.content.decode()
    assert "Choose a time in the future." in response.content.decode()
    with pytest.raises(ValidationError) as caught:
        slot_details_save(slot_id=slot.pk, changes={"starts_at": yesterday, "ends_at": yesterday + timedelta(hours=1)})
    assert caught.value.message_dict["starts_at"] == ["Choose a time in the future."]
    assert VisitSlot.objects.get(pk=slot.pk).starts_at == slot.starts_at


def test_a_session_that_took_place_keeps_its_time_while_its_notes_change(as_user, principal):
    slot = VisitSlotFactory(
        showcase__host=principal,
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() - timedelta(days=1, hours=-2),
    )
    client = as_user(principal)
    form = _edit_page(client, slot.showcase)
    form["slots-0-notes"] = ["Sign in at the front desk."]
    assert client.post(f"/showcases/{slot.showcase.pk}/edit/", form).status_code == 302
    assert VisitSlot.objects.get(pk=slot.pk).notes == "Sign in at the front desk."


def test_the_showcase_page_offers_no_approval_once_the_session_has_started(as_user, principal, other_teacher):
    slot = VisitSlotFactory(showcase__host=principal, capacity=3)
    visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
    approve = f"/showcases/requests/{visit.pk}/approve/"
    assert approve in as_user(principal).get(slot.showcase.get_absolute_url()).content.decode()
    slot.starts_at = timezone.now() - timedelta(hours=1)
    slot.ends_at = timezone.now() + timedelta(hours=1)
    slot.save()
    assert approve not in as_user(principal).get(slot.showcase.get_absolute_url()).content.decode()
