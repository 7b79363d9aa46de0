import pytest
from django.core import mail
from django.utils import timezone

from practices.models import Adoption, AdoptionStatus, Practice, Status, Visibility
from tests.factories import PracticeFactory, PrincipalFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(teacher):
    return PracticeFactory(author=teacher, title="Exit tickets", visibility=Visibility.DISTRICT)


def test_trying_a_practice_records_an_adoption_and_emails_the_author(
    as_user, other_teacher, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(other_teacher).post(
            f"/practices/{published.pk}/adopt/",
            {"adoption-status": "trying", "adoption-notes": "Starting with period 2."},
        )
    assert response.status_code == 302
    adoption = Adoption.objects.get()
    assert (adoption.user, adoption.school, adoption.status) == (
        other_teacher,
        other_teacher.school,
        AdoptionStatus.TRYING,
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [published.author.email]
    assert "Kenji Yamamoto at Riverside Middle School is trying your practice" in mail.outbox[0].body


def test_reporting_back_updates_the_same_adoption_and_tells_the_author_of_each_step(
    as_user, other_teacher, published, django_capture_on_commit_callbacks
):
    client = as_user(other_teacher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/practices/{published.pk}/adopt/", {"adoption-status": "trying"})
        client.post(
            f"/practices/{published.pk}/adopt/", {"adoption-status": "adopted", "adoption-notes": "All classes now."}
        )
    assert Adoption.objects.get().status == AdoptionStatus.ADOPTED
    assert len(mail.outbox) == 2
    page = client.get(f"/practices/{published.pk}/").content.decode()
    assert "All classes now." in page and "adopted" in page
    assert "All classes now." in client.get("/practices/mine/").content.decode()


def test_authors_cannot_adopt_their_own_practice(as_user, teacher, published):
    assert as_user(teacher).post(f"/practices/{published.pk}/adopt/", {"adoption-status": "trying"}).status_code == 403


def test_adapting_prefills_and_keeps_lineage_and_tells_the_original_author(
    as_user, other_teacher, published, django_capture_on_commit_callbacks
):
    client = as_user(other_teacher)
    form = client.get(f"/practices/{published.pk}/adapt/").content.decode()
    assert 'value="Exit tickets (adapted at Riverside Middle School)"' in form
    assert "What we changed and why" in form
    missing = client.post(f"/practices/{published.pk}/adapt/", practice_post(title="Our version"))
    assert missing.status_code == 400
    assert "Say what you changed from the original" in missing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/practices/{published.pk}/adapt/",
            practice_post(title="Our version", adaptation_changes="45-minute periods, so we regroup at the end."),
        )
    assert done.status_code == 302
    adaptation = Practice.objects.get(title="Our version")
    assert (adaptation.adapted_from, adaptation.lineage_root_id, adaptation.school) == (
        published,
        published.pk,
        other_teacher.school,
    )
    assert len(mail.outbox) == 1 and "adaptation" in mail.outbox[0].body
    original_page = client.get(f"/practices/{published.pk}/").content.decode()
    assert "Adaptations across schools" in original_page and "Our version" in original_page
    adaptation_page = client.get(f"/practices/{adaptation.pk}/").content.decode()
    assert "Adapted from" in adaptation_page and "Exit tickets" in adaptation_page


def test_adapter_sees_when_the_original_changed_after_adapting(as_user, other_teacher, published):
    adaptation = PracticeFactory(author=other_teacher, adapted_from=published, lineage_root=published)
    client = as_user(other_teacher)
    assert "The original has changed" not in client.get(f"/practices/{adaptation.pk}/").content.decode()
    published.updated_at = timezone.now()
    published.save()
    assert (
        "The original has changed since you adapted it" in client.get(f"/practices/{adaptation.pk}/").content.decode()
    )


def test_adaptation_of_a_hidden_original_does_not_reveal_it(as_user, teacher, other_teacher, principal):
    original = PracticeFactory(author=teacher, visibility=Visibility.SCHOOL, title="Secret original")
    adaptation = PracticeFactory(
        author=principal, adapted_from=original, lineage_root=original, title="Public adaptation"
    )
    page = as_user(other_teacher).get(f"/practices/{adaptation.pk}/").content.decode()
    assert "Secret original" not in page
    assert "a practice not shared with you" in page


def test_principal_archives_with_a_reason_the_author_sees(as_user, principal, teacher, published):
    response = as_user(principal).post(
        f"/practices/{published.pk}/archive/", {"reason": "Duplicates the reading entry."}
    )
    assert response.status_code == 302
    published.refresh_from_db()
    assert published.status == Status.ARCHIVED and published.archived_by == principal
    client = as_user(teacher)
    assert "Duplicates the reading entry." in client.get(f"/practices/{published.pk}/").content.decode()
    assert "Duplicates the reading entry." in client.get("/practices/mine/").content.decode()
    assert "Exit tickets" not in client.get("/practices/").content.decode()
    # The author cannot undo a principal's archive, nor edit it meanwhile.
    assert client.post(f"/practices/{published.pk}/unarchive/").status_code == 403
    assert client.get(f"/practices/{published.pk}/edit/").status_code == 302
    assert as_user(principal).post(f"/practices/{published.pk}/unarchive/").status_code == 302
    published.refresh_from_db()
    assert published.status == Status.PUBLISHED


def test_the_author_cannot_archive_again_to_take_over_a_principals_archive(as_user, principal, teacher, published):
    as_user(principal).post(f"/practices/{published.pk}/archive/", {"reason": "Duplicates the reading entry."})
    client = as_user(teacher)
    assert client.post(f"/practices/{published.pk}/archive/", {"reason": "Mine now"}).status_code == 403
    assert client.post(f"/practices/{published.pk}/unarchive/").status_code == 403
    published.refresh_from_db()
    assert (published.status, published.archived_by, published.archived_reason) == (
        Status.ARCHIVED,
        principal,
        "Duplicates the reading entry.",
    )
    page = client.get(f"/practices/{published.pk}/").content.decode()
    assert f'action="/practices/{published.pk}/archive/"' not in page


def test_author_archives_and_brings_back_their_own(as_user, teacher, published):
    client = as_user(teacher)
    client.post(f"/practices/{published.pk}/archive/", {"reason": "Out of date"})
    published.refresh_from_db()
    assert published.status == Status.ARCHIVED
    client.post(f"/practices/{published.pk}/unarchive/")
    published.refresh_from_db()
    assert published.status == Status.PUBLISHED


def test_archiving_needs_a_reason(as_user, principal, published):
    as_user(principal).post(f"/practices/{published.pk}/archive/", {"reason": ""})
    published.refresh_from_db()
    assert published.status == Status.PUBLISHED


def test_principal_of_another_school_cannot_archive(as_user, other_school, published):
    other_principal = PrincipalFactory(school=other_school)
    assert as_user(other_principal).post(f"/practices/{published.pk}/archive/", {"reason": "x"}).status_code == 403


def test_leader_features_a_model_of_excellence_shown_on_home(as_user, leader, teacher, published):
    response = as_user(leader).post(f"/practices/{published.pk}/feature/", {"note": "Small win worth copying."})
    assert response.status_code == 302
    published.refresh_from_db()
    assert published.is_featured and published.featured_note == "Small win worth copying."
    client = as_user(teacher)
    assert "Model of Excellence" in client.get(f"/practices/{published.pk}/").content.decode()
    home = client.get("/").content.decode()
    assert "Models of Excellence" in home and "Exit tickets" in home
    as_user(leader).post(f"/practices/{published.pk}/feature/", {"action": "unfeature"})
    published.refresh_from_db()
    assert not published.is_featured
