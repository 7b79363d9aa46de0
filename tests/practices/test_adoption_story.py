"""The adoption story: each report back is kept as a dated timeline, the author hears of each step,
and "stopped, and why" can become what did not work on the reporter's adaptation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.notifications.models import Notification, NotificationKind
from practices.models import Adoption, AdoptionReport, AdoptionStatus, Failure, Practice, Visibility
from practices.services import adoption_record
from tests.factories import PracticeFactory, TeacherFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(teacher):
    return PracticeFactory(author=teacher, title="Exit tickets", visibility=Visibility.DISTRICT)


def _report(client, practice, status, notes=""):
    return client.post(f"/practices/{practice.pk}/adopt/", {"adoption-status": status, "adoption-notes": notes})


def test_each_report_is_kept_as_a_dated_timeline(as_user, teacher, other_teacher, published):
    client = as_user(other_teacher)
    assert _report(client, published, "trying", "Period 2 first.").status_code == 302
    AdoptionReport.objects.update(created_at=timezone.now() - timedelta(days=30))
    _report(client, published, "adopted", "All my classes now.")
    adoption = Adoption.objects.get()
    assert adoption.status == AdoptionStatus.ADOPTED and adoption.notes == "All my classes now."
    assert [(r.status, r.notes) for r in adoption.reports.all()] == [
        ("trying", "Period 2 first."),
        ("adopted", "All my classes now."),
    ]
    for page in (
        as_user(teacher).get(f"/practices/{published.pk}/").content.decode(),
        client.get("/practices/mine/").content.decode(),
    ):
        assert "Period 2 first." in page and "All my classes now." in page
        assert page.index("Period 2 first.") < page.index("All my classes now.")
        assert timezone.localtime(timezone.now() - timedelta(days=30)).strftime("%b %-d, %Y") in page


def test_the_author_hears_of_each_step(as_user, other_teacher, published, django_capture_on_commit_callbacks):
    client = as_user(other_teacher)
    with django_capture_on_commit_callbacks(execute=True):
        _report(client, published, "trying")
        _report(client, published, "stopped", "The tickets took ten minutes we did not have.")
    texts = list(Notification.objects.order_by("created_at", "pk").values_list("text", flat=True))
    assert texts == [
        "Kenji Yamamoto at Riverside Middle School is trying your practice “Exit tickets”",
        "Kenji Yamamoto at Riverside Middle School stopped trying your practice “Exit tickets”: "
        "“The tickets took ten minutes we did not have.”",
    ]
    assert Notification.objects.filter(recipient=published.author, kind=NotificationKind.ADOPTION).count() == 2
    assert [message.subject for message in mail.outbox] == texts


def test_the_same_step_sent_again_adds_nothing(as_user, other_teacher, published):
    client = as_user(other_teacher)
    _report(client, published, "trying", "Week one.")
    _report(client, published, "trying", "Week one.")
    assert AdoptionReport.objects.count() == 1
    assert Notification.objects.count() == 1


def test_stopping_invites_a_failure_on_my_adaptation(as_user, other_teacher, published):
    client = as_user(other_teacher)
    _report(client, published, "stopped", "Ten minutes we did not have.")
    client.post(
        f"/practices/{published.pk}/adapt/",
        practice_post(title="Shorter exit tickets", adaptation_changes="Two questions."),
    )
    adaptation = Practice.objects.get(title="Shorter exit tickets")
    report = AdoptionReport.objects.get()
    page = client.get("/practices/mine/").content.decode()
    assert "Add as what did not work" in page and "Shorter exit tickets" in page
    response = client.post(
        f"/practices/{published.pk}/reports/{report.pk}/to-failure/", {"adaptation": str(adaptation.pk)}
    )
    assert response.status_code == 302 and response["Location"] == adaptation.get_absolute_url()
    failure = Failure.objects.get(practice=adaptation)
    assert failure.why == "Ten minutes we did not have."
    report.refresh_from_db()
    assert report.failure == failure
    adaptation.refresh_from_db()
    assert adaptation.failure_count == 1 and "Ten minutes we did not have" in adaptation.search_document
    assert "Ten minutes we did not have." in client.get(adaptation.get_absolute_url()).content.decode()
    # Once only.
    again = client.post(f"/practices/{published.pk}/reports/{report.pk}/to-failure/", {"adaptation": adaptation.pk})
    assert again.status_code == 403
    assert "Add as what did not work" not in client.get("/practices/mine/").content.decode()


def test_only_the_reporter_turns_a_report_into_a_failure_and_only_on_their_adaptation(
    as_user, principal, other_teacher, published
):
    _report(as_user(other_teacher), published, "stopped", "Too long.")
    report = AdoptionReport.objects.get()
    mine = PracticeFactory(author=principal, adapted_from=published, lineage_root=published)
    theirs = PracticeFactory(author=other_teacher, adapted_from=published, lineage_root=published)
    path = f"/practices/{published.pk}/reports/{report.pk}/to-failure/"
    assert as_user(principal).post(path, {"adaptation": mine.pk}).status_code == 404
    # The reporter names someone else's adaptation: refused, nothing added.
    response = as_user(other_teacher).post(path, {"adaptation": mine.pk})
    assert response.status_code == 302 and response["Location"] == "/practices/mine/"
    assert not Failure.objects.exists()
    assert as_user(other_teacher).post(path, {"adaptation": theirs.pk}).status_code == 302
    assert Failure.objects.get().practice == theirs


def test_a_report_that_is_not_stopping_stays_a_report(as_user, other_teacher, published):
    client = as_user(other_teacher)
    _report(client, published, "trying")
    adaptation = PracticeFactory(author=other_teacher, adapted_from=published, lineage_root=published)
    report = AdoptionReport.objects.get()
    path = f"/practices/{published.pk}/reports/{report.pk}/to-failure/"
    assert client.post(path, {"adaptation": adaptation.pk}).status_code == 403


def test_without_an_adaptation_the_invitation_starts_one_with_the_failure_filled_in(
    as_user, principal, other_teacher, published
):
    client = as_user(other_teacher)
    _report(client, published, "stopped", "Our periods are too short.")
    report = AdoptionReport.objects.get()
    page = client.get("/practices/mine/").content.decode()
    link = f"/practices/{published.pk}/adapt/?from_report={report.pk}"
    assert f'href="{link}"' in page
    form = client.get(link).content.decode()
    assert "Our periods are too short." in form
    # Someone else's report, or nonsense, fills in nothing.
    assert "Our periods are too short." not in as_user(principal).get(link).content.decode()
    assert client.get(f"/practices/{published.pk}/adapt/?from_report=x%00").status_code in (200, 400)


def test_my_practices_runs_a_fixed_number_of_queries(as_user, other_teacher, school):
    """Session, user, my entries, my adoptions with their timelines (one query), my adaptations of
    them: fixed, whatever the number of adoptions and reports."""
    client = as_user(other_teacher)

    def tried(n):
        for _ in range(n):
            practice = PracticeFactory(author=TeacherFactory(school=school))
            for status in ("trying", "adopted", "stopped"):
                adoption_record(practice=practice, user=other_teacher, status=status, notes=status)

    def count():
        client.get("/practices/mine/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/practices/mine/").status_code == 200
        return len(queries)

    tried(1)
    few = count()
    tried(6)
    assert count() == few <= 7


def test_an_adoption_recorded_without_reports_shows_its_latest_step(as_user, teacher, other_teacher, published):
    """Adoptions kept before timelines (or imported) show their one known step, which cannot be
    turned into a failure (there is no report to point at)."""
    Adoption.objects.create(
        practice=published, user=other_teacher, school=other_teacher.school, status="stopped", notes="Too long."
    )
    page = as_user(teacher).get(f"/practices/{published.pk}/").content.decode()
    assert "Stopped" in page and "Too long." in page
    PracticeFactory(author=other_teacher, adapted_from=published, lineage_root=published)
    mine = as_user(other_teacher).get("/practices/mine/").content.decode()
    assert "Too long." in mine and "Add as what did not work" not in mine


def test_a_report_under_my_name_never_goes_to_my_anonymous_adaptation(as_user, other_teacher, published):
    """The report shows with the reporter's name on the original's page: the same words on an
    anonymous adaptation would tell its readers who wrote it."""
    client = as_user(other_teacher)
    _report(client, published, "stopped", "Ten minutes we did not have.")
    anonymous = PracticeFactory(
        author=other_teacher, adapted_from=published, lineage_root=published, anonymous=True, title="Quiet tickets"
    )
    report = AdoptionReport.objects.get()
    page = client.get("/practices/mine/").content.decode()
    assert "Add as what did not work" not in page and f'<option value="{anonymous.pk}"' not in page
    response = client.post(f"/practices/{published.pk}/reports/{report.pk}/to-failure/", {"adaptation": anonymous.pk})
    assert response.status_code == 302 and response["Location"] == "/practices/mine/"
    assert not Failure.objects.exists()
    # Starting a new adaptation with it filled in says so before the writer chooses to be anonymous.
    form = client.get(f"/practices/{published.pk}/adapt/?from_report={report.pk}").content.decode()
    assert "under your name" in form
